"""The store of runs (digitnet/store.py): a temporary SQLite file per test."""

from __future__ import annotations

import io
import sqlite3
import threading
import zipfile

import numpy as np
import pytest

from digitnet import store as store_module
from digitnet.model_io import load, to_bytes
from digitnet.network import Network
from digitnet.store import Store, key_of, pack, unpack

SETTINGS = {"lr": 0.1, "epochs": 3, "batch_size": 128, "hidden": "10", "optimizer": "sgd", "seed": 0}


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "class.sqlite3")
    yield s
    s.close()


def val(n=3, top=0.9):
    return {
        "val_epoch": np.arange(1, n + 1, dtype=float),
        "val_loss": np.linspace(2, 0.5, n),
        "val_accuracy": np.linspace(0.3, top, n),
    }


def test_the_schema_is_versioned_and_a_second_opening_migrates_nothing(store, tmp_path):
    store.db()
    conn = sqlite3.connect(tmp_path / "class.sqlite3")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == store_module.VERSION >= 1
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"students", "runs"} <= tables
    conn.close()
    again = Store(tmp_path / "class.sqlite3")
    again.student("k")  # opens, finds the version current, works
    again.close()


def test_a_newer_database_than_this_code_is_refused_with_a_sentence(tmp_path):
    path = tmp_path / "new.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {store_module.VERSION + 1}")
    conn.close()
    with pytest.raises(RuntimeError, match="version"):
        Store(path).db()


def test_the_data_folder_follows_DIGITNET_DATA_DIR(tmp_path, monkeypatch):
    monkeypatch.setenv("DIGITNET_DATA_DIR", str(tmp_path / "elsewhere"))
    s = store_module.default()
    s.student(key_of("t"))
    assert (tmp_path / "elsewhere" / store_module.FILE_NAME).is_file()
    monkeypatch.delenv("DIGITNET_DATA_DIR")
    assert store_module.data_dir() == store_module.Path.cwd() / store_module.DEFAULT_DIR


def test_students_are_numbered_in_order_of_arrival_and_known_again_by_their_key(store):
    a, b = store.student(key_of("token-a")), store.student(key_of("token-b"))
    assert (a.id, b.id) == (1, 2)
    assert (a.label, b.label) == ("Student 1", "Student 2")
    assert store.student(key_of("token-a")) == a
    assert store.find(key_of("token-c")) is None
    store.set_name(b.id, "  Ada Lovelace  ")
    assert store.find(key_of("token-b")).label == "Ada Lovelace"
    raw = store.db().execute("SELECT group_concat(key) FROM students").fetchone()[0]
    assert "token-a" not in raw  # only the hash of the browser's token is kept


def test_a_run_is_kept_with_its_settings_curves_and_weights(store):
    me = store.student(key_of("me"))
    run = store.add_run(me.id, 1, SETTINGS)
    assert store.board()[0].status == "waiting"
    assert store.update_run(run, me.id, status="running", accuracy=0.5, seconds=1.0, val=val(2, 0.5))
    net = Network.init((784, 10, 10), seed=0)
    weights = to_bytes(net, {"config": SETTINGS})
    train = {"epoch": np.array([0.5, 1.0]), "train_loss": np.array([2.0, 1.5])}
    assert store.update_run(
        run,
        me.id,
        status="finished",
        message="Done.",
        accuracy=0.9,
        seconds=2.5,
        val=val(),
        train=train,
        weights=weights,
    )
    (kept,) = store.runs(me.id)
    assert (kept.number, kept.settings, kept.status, kept.message) == (1, SETTINGS, "finished", "Done.")
    assert kept.accuracy == pytest.approx(0.9) and kept.seconds == pytest.approx(2.5)
    np.testing.assert_array_equal(kept.val["val_accuracy"], val()["val_accuracy"])
    np.testing.assert_array_equal(kept.train["train_loss"], [2.0, 1.5])
    restored, _ = load(kept.weights)
    np.testing.assert_array_equal(restored.params["W1"], net.params["W1"])


def test_the_board_shows_every_run_but_never_weights_and_rereads_only_after_a_change(store):
    a, b = store.student(key_of("a")), store.student(key_of("b"))
    ra = store.add_run(a.id, 1, {**SETTINGS, "lr": 0.01})
    store.add_run(b.id, 1, {**SETTINGS, "lr": 1.0})
    store.update_run(ra, a.id, status="finished", accuracy=0.8, val=val(), weights=b"weights")
    board = store.board()
    assert [(r.label, r.settings["lr"]) for r in board] == [("Student 1", 0.01), ("Student 2", 1.0)]
    assert all(r.weights is None and r.train == {} for r in board)
    assert store.board() is board  # nothing changed: the same read
    store.set_name(a.id, "Grace")
    assert store.board()[0].label == "Grace"
    store.update_run(ra, a.id, status="finished", accuracy=0.95, val=val(5, 0.95))
    assert list(store.board()[0].val["val_accuracy"]) == list(val(5, 0.95)["val_accuracy"])  # new curves read


def test_no_one_changes_another_students_run(store):
    owner, other = store.student(key_of("owner")), store.student(key_of("other"))
    run = store.add_run(owner.id, 1, SETTINGS)
    assert not store.update_run(run, other.id, status="failed", accuracy=0.0, weights=b"evil")
    (kept,) = store.runs(owner.id)
    assert kept.status == "waiting" and kept.weights is None
    assert store.runs(other.id) == []


def test_the_model_in_use_is_kept_and_forgotten_for_the_default(store):
    me = store.student(key_of("me"))
    assert store.model(me.id) is None
    store.save_model(me.id, "run 2", b"model bytes")
    assert store.model(me.id) == ("run 2", b"model bytes")
    store.save_model(me.id, None, None)
    assert store.model(me.id) is None


def test_clearing_the_board_forgets_every_run_and_a_cleared_run_is_not_brought_back(store):
    a = store.student(key_of("a"))
    run = store.add_run(a.id, 1, SETTINGS)
    store.clear()
    assert store.board() == []
    assert not store.update_run(run, a.id, status="running")  # the page still training finds it gone
    assert store.board() == []
    assert store.student(key_of("new")).id == 1  # the next class numbers from 1 again


def test_clearing_old_runs_keeps_the_recent_ones(store):
    a = store.student(key_of("a"))
    old, new = store.add_run(a.id, 1, SETTINGS), store.add_run(a.id, 2, SETTINGS)
    store.db().execute("UPDATE runs SET updated = updated - 7200 WHERE id = ?", (old,))
    assert store.clear_older_than(3600) == 1
    assert [r.id for r in store.board()] == [new]


def test_a_run_left_running_by_a_closed_page_is_marked_stopped(store):
    a = store.student(key_of("a"))
    stale, fresh = store.add_run(a.id, 1, SETTINGS, "running"), store.add_run(a.id, 2, SETTINGS, "running")
    store.db().execute("UPDATE runs SET updated = updated - 60 WHERE id = ?", (stale,))
    assert store.end_interrupted(a.id, idle=30) == 1
    status = {r.id: r.status for r in store.runs(a.id)}
    assert status == {stale: "stopped", fresh: "running"}


def test_past_the_size_limit_old_weights_go_first_then_old_runs(tmp_path):
    s = Store(tmp_path / "small.sqlite3", student_bytes=10_000)
    a, b = s.student(key_of("a")), s.student(key_of("b"))
    runs = [s.add_run(a.id, n, SETTINGS) for n in (1, 2, 3)]
    other = s.add_run(b.id, 1, SETTINGS)
    s.update_run(other, b.id, status="finished", weights=b"x" * 4000)
    for run in runs:
        s.update_run(run, a.id, status="finished", weights=b"x" * 4000)
    kept = {r.id: r.weights is not None for r in s.runs(a.id)}
    assert kept == {runs[0]: False, runs[1]: True, runs[2]: True}  # 12,000 bytes: the oldest weights went
    assert s.used_bytes(a.id) <= 10_000
    big = {"epoch": np.zeros(1000), "train_loss": np.zeros(1000)}  # 16 kB: alone over the limit
    s.update_run(runs[2], a.id, status="finished", train=big)
    (newest,) = s.runs(a.id)  # no weights left to drop: the older runs went, the newest stays whole
    assert newest.id == runs[2] and newest.weights == b"x" * 4000 and len(newest.train["epoch"]) == 1000
    assert [r.weights for r in s.runs(b.id)] == [b"x" * 4000]  # another student's runs are untouched
    s.close()


def test_arrays_are_stored_as_npy_and_never_unpickled():
    blob = pack({"a": np.arange(3)})
    assert zipfile.ZipFile(io.BytesIO(blob)).namelist() == ["a.npy"]
    np.testing.assert_array_equal(unpack(blob)["a"], [0, 1, 2])
    buffer = io.BytesIO()
    np.savez(buffer, a=np.array([{"code": "runs on load"}], dtype=object))
    with pytest.raises(ValueError, match="pickle"):
        unpack(buffer.getvalue())


def test_each_thread_has_its_own_connection_and_sees_the_others_writes(store):
    me = store.student(key_of("me"))
    seen: dict[str, object] = {}

    def other_thread():
        seen["conn"] = store.db()
        seen["run"] = store.add_run(me.id, 1, SETTINGS)
        store.close()

    t = threading.Thread(target=other_thread)
    t.start()
    t.join()
    assert seen["conn"] is not store.db()
    assert [r.id for r in store.runs(me.id)] == [seen["run"]]


def test_two_processes_writing_at_once_lose_nothing(tmp_path):
    """Two server processes share the file: WAL and the busy timeout let both write."""
    import subprocess
    import sys

    path = tmp_path / "shared.sqlite3"
    Store(path).db()
    code = (
        "import sys; from digitnet.store import Store, key_of\n"
        "s = Store(sys.argv[1]); me = s.student(key_of(sys.argv[2]))\n"
        "for n in range(100):\n"
        "    r = s.add_run(me.id, n, {}); s.update_run(r, me.id, status='finished', accuracy=0.5)\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code, str(path), who]) for who in ("a", "b")]
    assert [p.wait(60) for p in procs] == [0, 0]
    s = Store(path)
    assert len(s.board()) == 200 and all(r.status == "finished" for r in s.board())
    s.close()
