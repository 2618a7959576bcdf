"""What survives a reload or a restart: this browser's runs and model in use, kept in
digitnet.store (SQLite) as they train and finish, and brought back when the page is opened again.

A training is written down by a thread of its own (`track`), once a second while it
runs and once at its end, so the board sees it live and its end is kept even if
the page has gone. A reload in the same browser (same token, ui/identity.py) finds
the runs again; one still training in this server process is picked up where it is.
"""

from __future__ import annotations

import logging
import threading
import time

import numpy as np
import streamlit as st

from digitnet import model_io, store
from digitnet.explain import bucket_means
from digitnet.jobs.job import Snapshot, TrainingJob
from digitnet.train import History

from . import identity
from .state import Model, Run, Session, gives_model, model_meta

log = logging.getLogger(__name__)

PROGRESS_EVERY = 1.0  # seconds between writes of a training's progress (the board reads them)
IDLE = 15.0  # a run whose progress has not been written for this long lost its page (a restart)
VAL_POINTS = 500  # a curve kept in the store: at most this many bucket means...
TRAIN_POINTS = 2000  # ... and this many for the training loss (a batch-1 run takes 55,000 steps an epoch)
NAME = "student_name"  # the "Your name" field's key

_live: dict[int, TrainingJob] = {}  # stored run id -> its job, while it trains in this process
_live_lock = threading.Lock()


def restore(s: Session) -> None:
    """Once per session: bring back this browser's runs and model (a reload, a restart)."""
    if s.restored:
        return
    s.restored = True
    db = store.default()
    found = db.find(store.key_of(identity.token()))
    if found is None:  # a new browser: it is registered when it first trains
        return
    s.student = found.id
    st.session_state.setdefault(NAME, found.name)
    db.end_interrupted(found.id, IDLE)
    for r in db.runs(found.id):
        with _live_lock:
            job = _live.get(r.id)
        run = Run(len(s.runs) + 1, r.settings, job if job is not None and not job.done else None, stored=r.id)
        if run.job is None:
            run.snapshot = _snapshot(r)
        s.runs.append(run)
    kept = db.model(found.id)
    if kept is not None:
        try:
            net, meta = model_io.load(kept[1])
            s.model = Model(net, meta, kept[0])
        except model_io.ModelFileError as e:  # not expected: the store wrote it; say so, keep the default
            s.notify(
                "warning", f"Your last model could not be brought back ({e}); you have the default model."
            )
    s.stored_model = s.model.version


def _snapshot(r: store.StoredRun) -> Snapshot:
    v, t = r.val, r.train

    def kept(part: dict, name: str) -> list[float]:
        return np.asarray(part.get(name, ()), dtype=float).tolist()

    # the store keeps the curves thinned to bucket means, by epoch: their step numbers are not kept
    curves = History(
        [],
        kept(t, "epoch"),
        kept(t, "train_loss"),
        [],
        kept(v, "val_epoch"),
        kept(v, "val_loss"),
        kept(v, "val_accuracy"),
    )
    status, message = r.status, r.message
    if status in store.ACTIVE:  # still training elsewhere (another server process): not followed here
        status, message = "stopped", "This run was still training when the page was reloaded."
    return Snapshot(status, message, None, None, curves, r.seconds)


def student(s: Session) -> int:
    """This browser's number in the store, registering it (with its name) if it is not
    there: on first use, or again after the teacher cleared the board (a new number then)."""
    db = store.default()
    me = db.student(store.key_of(identity.token()))
    name = str(st.session_state.get(NAME, "")).strip()
    if name and name != me.name:
        db.set_name(me.id, name)
    s.student = me.id
    return me.id


def name_changed() -> None:
    """The "Your name" field's callback: the board shows the new name at once."""
    from .state import session

    s = session()
    if s.student is not None:
        store.default().set_name(s.student, str(st.session_state.get(NAME, "")))


def track(s: Session, run: Run) -> None:
    """Write a run down as it starts, then (on a thread of its own) as it trains and when it ends."""
    try:
        who = student(s)
        db = store.default()
        run.stored = db.add_run(who, run.number, run.settings)
    except Exception:  # a full disk or a locked file must not stop the training: it is just not kept
        log.exception("could not keep run %s", run.number)
        return
    job = run.job
    with _live_lock:
        _live[run.stored] = job
    threading.Thread(
        target=_follow, args=(db, who, run.stored, job), name="digitnet-keep", daemon=True
    ).start()


def _follow(db: store.Store, who: int, rid: int, job: TrainingJob) -> None:
    try:
        while True:
            done = job.join(PROGRESS_EVERY)
            snap = job.snapshot()
            if not db.update_run(rid, who, **_fields(job, snap, done)) or done:
                return  # ended, or cleared by the teacher
    except Exception:
        log.exception("could not keep run %s's progress", rid)
    finally:
        with _live_lock:
            _live.pop(rid, None)
        db.close()


def _fields(job: TrainingJob, snap: Snapshot, done: bool) -> dict:
    c = snap.history
    val_epoch, val_loss = bucket_means(c.val_epoch, c.val_loss, VAL_POINTS)
    _, val_accuracy = bucket_means(c.val_epoch, c.val_accuracy, VAL_POINTS)
    fields = {
        "status": snap.status,
        "message": snap.message,
        "accuracy": float(c.val_accuracy[-1]) if len(c.val_accuracy) else None,
        "seconds": snap.seconds,
        "val": {"val_epoch": val_epoch, "val_loss": val_loss, "val_accuracy": val_accuracy},
    }
    if done:
        epoch, train_loss = bucket_means(c.epoch, c.train_loss, TRAIN_POINTS)
        fields["train"] = {"epoch": epoch, "train_loss": train_loss}
        if gives_model(snap):
            fields["weights"] = model_io.to_bytes(job.net, model_meta(job, snap, fields["accuracy"]))
    return fields


def save_model(s: Session) -> None:
    """Keep the model in use if it changed (a run ended, a file was loaded, Reset): a cheap
    check on every page run. The default model is kept as "none"; a model file too big
    for the student's share of the store is not kept (the runs matter more)."""
    m = s.model
    if m.version == s.stored_model:
        return
    s.stored_model = m.version
    if m.shared and s.student is None:
        return  # the default model of a browser that has kept nothing yet
    try:
        db = store.default()
        blob = None if m.shared else model_io.to_bytes(m.net, m.meta)
        if blob is not None and len(blob) > db.student_bytes // 2:
            return
        db.save_model(student(s), None if m.shared else m.name, blob)
    except Exception:
        log.exception("could not keep the model in use")


def wait_kept(timeout: float = 10.0) -> bool:
    """For tests: wait until every training of this process has been written down to its end."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with _live_lock:
            if not _live:
                return True
        time.sleep(0.05)
    return False
