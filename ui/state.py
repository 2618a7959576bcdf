"""One person's things, kept in st.session_state: the model in use, every training
run with its curves, and the one-off messages to show. Nothing here is shared
between sessions except the default model's (read-only) weights."""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field

import numpy as np
import streamlit as st

from digitnet.explain import Evaluation
from digitnet.jobs.job import Snapshot, TrainingJob
from digitnet.network import Network
from digitnet.preprocess import Preprocessed

from . import resources

_versions = itertools.count(1)  # every model gets a number, so caches can be keyed on it


@dataclass
class Model:
    net: Network
    meta: dict
    name: str  # Markdown: "the default model", "run 3", a file's name as inline code (ui.text.code)
    version: int = field(default_factory=lambda: next(_versions))
    shared: bool = False  # the default model: its weights are read by every session

    @property
    def shape(self) -> str:
        return "-".join(map(str, self.net.sizes))


@dataclass
class Run:
    """A training run of this session. While it trains, `job` is set; once it has
    ended only its settings, result and curves are kept (not its thread)."""

    number: int
    settings: dict  # what the sidebar said: lr, epochs, batch_size, hidden, optimizer, seed, augment
    job: TrainingJob | None
    snapshot: Snapshot | None = None  # the last one read
    reset: bool = False  # stopped by Reset: its weights are not taken, whenever it ends
    stored: int | None = None  # its row in the store (ui/keep.py), once written there

    @property
    def label(self) -> str:
        s = self.settings
        return (
            f"run {self.number}: α={s['lr']:g}, hidden {s['hidden']}, batch {s['batch_size']}, "
            f"{s['optimizer']}"
        )

    @property
    def active(self) -> bool:
        return self.job is not None

    def beat_and_read(self) -> Snapshot:
        """Tell the job its page is still open (its heartbeat: a job not seen for a while
        stops itself), then take its snapshot; an ended run keeps its last one."""
        job = self.job  # read once: another run of the page may settle it meanwhile
        if job is not None:
            job.beat()
            self.snapshot = job.snapshot()
        return self.snapshot

    def final_val_accuracy(self) -> float | None:
        acc = self.snapshot.history.val_accuracy if self.snapshot else ()
        return float(acc[-1]) if len(acc) else None


@dataclass
class Notice:
    kind: str  # "success", "info", "warning" or "error"
    text: str
    where: str = "train"  # which part of the page it belongs to: "train" or "model"


@dataclass
class Session:
    model: Model
    runs: list[Run] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)  # shown once, then cleared
    last_run_notice: Notice | None = None  # how the last run ended, shown with its curves
    source: str = "canvas"  # the input changed last: "canvas" or "upload"
    # what the canvas (re)loads: Clear and Undo set a new value (an "edit" count in it makes it new)
    canvas_start: dict = field(default_factory=lambda: {"objects": [], "edit": 0})
    cleared: bool = False  # Clear or Undo pressed, the canvas has not sent its new drawing yet
    views_due: int | None = None  # the view below shows an older drawing: redraw it (ui/after.py)
    views_in_view: bool = True  # the view below is on the screen (the browser says, ui/after.py)
    first_run_done: bool = False  # the page has run once (that run leaves out the sidebar and the view)
    whole: bool = False  # the page's runs draw all of it: the browser painted the first, or it ran again
    in_whole_run: bool = False  # a run of the whole page is under way (not a fragment's alone)
    paces: tuple | None = None  # the fragments' timers the last whole run to its end set (ui/student.py)
    drawing: Preprocessed | None = None  # what the network is reading now
    upload_cache: tuple[str, object] | None = None  # (file id, Preprocessed or error sentence)
    evaluations: dict[int, Evaluation] = field(default_factory=dict)
    # what survives a reload (ui/keep.py): this browser's number in the store, once it has kept something
    student: int | None = None
    stored_model: int = 0  # the version of the model in use last written there
    restored: bool = False  # the store was read for this browser's earlier runs
    # a Stop callback and the live panel's timed rerun may both settle the same run
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def active_run(self) -> Run | None:
        return self.runs[-1] if self.runs and self.runs[-1].active else None

    @property
    def active_job(self) -> TrainingJob | None:
        """The active run's job, read once: another run of the page may settle it meanwhile."""
        run = self.active_run
        return None if run is None else run.job

    def live_net(self) -> tuple[Network, str]:
        """The weights to read drawings with: a training's as they are now, else the model's."""
        run = self.active_run
        job = None if run is None else run.job  # read once: the run may end meanwhile
        if job is not None and job.running:
            return job.net, f"run {run.number}, still training"
        return self.model.net, self.model.name

    def notify(self, kind: str, text: str, where: str = "train") -> None:
        self.notices.append(Notice(kind, text, where))

    def take_notices(self, where: str) -> list[Notice]:
        mine = [n for n in self.notices if n.where == where]
        self.notices = [n for n in self.notices if n.where != where]
        return mine


def default() -> Model:
    net, meta, problem = resources.default_model()
    name = "the default model" if problem is None else "an untrained network"  # say plainly what reads
    return Model(net, meta, name, version=0, shared=True)


def session() -> Session:
    if "digitnet" not in st.session_state:
        st.session_state["digitnet"] = Session(model=default())
    return st.session_state["digitnet"]


def settle(s: Session) -> bool:
    """If the active run has ended: keep its model (unless it diverged or failed),
    keep its curves, let its thread go. True if something changed."""
    run = s.active_run
    job = None if run is None else run.job
    if job is None:
        return False
    with s.lock:
        if run.job is not job:  # settled meanwhile by another run of the page
            return False
        snap = run.beat_and_read()
        if not snap.done:
            return False
        run.job = None
    kind = {"finished": "success", "converged": "success", "stopped": "warning"}.get(snap.status, "error")
    if run.reset:
        kind, text = (
            "info",
            f"Run {run.number} was stopped by Reset; your drawings are read by {s.model.name}.",
        )
    elif gives_model(snap):
        s.model = Model(job.net, model_meta(job, snap, run.final_val_accuracy()), f"run {run.number}")
        text = f"Run {run.number}: {snap.message} Your drawings are now read by this network."
    elif snap.status == "diverged":
        text = f"Run {run.number}: {snap.message} You keep {s.model.name}."
    else:
        text = f"Run {run.number}: {snap.message}"
    s.last_run_notice = Notice(kind, text)
    _forget_old_evaluations(s)
    return True


def gives_model(snap: Snapshot) -> bool:
    """Whether a run that ended leaves a network to use (not one that diverged, failed or never stepped)."""
    return snap.status in ("finished", "converged", "stopped") and snap.history.steps > 0


def model_meta(job: TrainingJob, snap: Snapshot, val_accuracy: float | None) -> dict:
    """What a run's model file says about how it was made."""
    return {
        "config": job.config.to_dict(),
        "status": snap.status,
        "val_accuracy": val_accuracy,
        "train_seconds": round(snap.seconds, 3),
        "epochs": round(float(snap.history.epoch[-1]), 3),
        "created_by": "DigitNet app",
    }


def _forget_old_evaluations(s: Session) -> None:
    s.evaluations = {v: e for v, e in s.evaluations.items() if v == s.model.version}


def val_accuracy_text(value: float | None) -> str:
    return "—" if value is None or not np.isfinite(value) else f"{value:.1%}"
