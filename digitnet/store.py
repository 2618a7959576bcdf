"""What must survive a reload or a restart: every student's runs and model in use, in one SQLite file.

The class is one experiment: each student's runs (settings, status, curves, final
weights) are written here as they train and finish, so that a reload in the same
browser brings them back, a restart of the server loses nothing, and the teacher's
board (several server processes may share one file) shows everyone's.

- One file, `digitnet.sqlite3`, in the data folder: `DIGITNET_DATA_DIR`, else
  `digitnet-data/` in the working directory (git ignores it).
- WAL mode and a busy timeout, so that several server processes read while one writes.
- The schema's version is `PRAGMA user_version`; `MIGRATIONS` are applied in order,
  each once, inside one write transaction (two processes starting together do not both migrate).
- One connection per thread (sqlite3 connections must stay on their thread); a
  thread's connection closes when the thread ends.
- Parameterised queries only. Arrays are stored as .npy files (an .npz of them), read
  back with allow_pickle=False: nothing in the store is ever unpickled.
- A student is known by the SHA-256 of a random token their browser keeps (see
  ui/identity.py), never by a display name; the raw token is not stored. Every
  write names the student, so no one changes another's runs.
- Each student has a size limit: past it, the oldest runs lose their weights first,
  then whole runs go.

No Streamlit here.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

FILE_NAME = "digitnet.sqlite3"
DEFAULT_DIR = "digitnet-data"  # in the working directory
BUSY_TIMEOUT_MS = 5000  # another process writing: wait this long before "database is locked"
STUDENT_MB = 20  # per student: about four runs of the largest network the app trains, with their curves
NAME_LENGTH = 40  # characters of a display name kept

# Each entry moves the schema from version i to i + 1 (PRAGMA user_version). Never edit one
# that has shipped: add the next.
MIGRATIONS = [
    """
    CREATE TABLE students (
        id INTEGER PRIMARY KEY,          -- order of arrival: "Student 1", "Student 2", ...
        key TEXT NOT NULL UNIQUE,        -- SHA-256 of the browser's token (never the token itself)
        name TEXT NOT NULL DEFAULT '',   -- "Your name", or '' for "Student <id>"
        model_name TEXT,                 -- the model in use ("run 3", "my.npz"); NULL: the default model
        model BLOB,                      -- its model file (digitnet.model_io bytes)
        created REAL NOT NULL,
        seen REAL NOT NULL
    );
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        student INTEGER NOT NULL REFERENCES students(id) ON DELETE CASCADE,
        number INTEGER NOT NULL,         -- the student's run 1, 2, ... (two tabs may both have a run 3)
        settings TEXT NOT NULL,          -- JSON: lr, epochs, batch_size, hidden, optimizer, seed, augment
        status TEXT NOT NULL,            -- waiting, running, finished, converged, stopped, diverged, failed
        message TEXT NOT NULL DEFAULT '',
        accuracy REAL,                   -- the last validation accuracy
        seconds REAL NOT NULL DEFAULT 0, -- training time so far
        val BLOB,                        -- .npz: val_epoch, val_loss, val_accuracy (the board reads these)
        train BLOB,                      -- .npz: epoch, train_loss (written when the run ends)
        weights BLOB,                    -- the final model file (digitnet.model_io bytes)
        started REAL NOT NULL,
        updated REAL NOT NULL
    );
    CREATE INDEX runs_student ON runs(student);
    CREATE INDEX runs_updated ON runs(updated);
    -- a counter of changes to what the board shows, so that it rereads only after one
    CREATE TABLE changes (n INTEGER NOT NULL);
    INSERT INTO changes VALUES (0);
    CREATE TRIGGER runs_added AFTER INSERT ON runs BEGIN UPDATE changes SET n = n + 1; END;
    CREATE TRIGGER runs_changed AFTER UPDATE ON runs BEGIN UPDATE changes SET n = n + 1; END;
    CREATE TRIGGER runs_deleted AFTER DELETE ON runs BEGIN UPDATE changes SET n = n + 1; END;
    CREATE TRIGGER renamed AFTER UPDATE OF name ON students BEGIN UPDATE changes SET n = n + 1; END;
    """,
]
VERSION = len(MIGRATIONS)
ACTIVE = ("waiting", "running")


def data_dir() -> Path:
    return Path(os.environ.get("DIGITNET_DATA_DIR") or Path.cwd() / DEFAULT_DIR)


def key_of(token: str) -> str:
    """What the store keeps of a browser's token: its SHA-256 (a copied database gives no tokens away)."""
    return hashlib.sha256(token.encode()).hexdigest()


def pack(arrays: dict[str, np.ndarray]) -> bytes:
    """Arrays as an .npz of .npy files: plain numbers, readable without pickle."""
    buffer = io.BytesIO()
    np.savez(buffer, **{name: np.asarray(a, dtype=np.float64) for name, a in arrays.items()})
    return buffer.getvalue()


def unpack(blob: bytes | None) -> dict[str, np.ndarray]:
    if not blob:
        return {}
    with np.load(io.BytesIO(blob), allow_pickle=False) as npz:
        return {name: npz[name] for name in npz.files}


@dataclass(frozen=True)
class Student:
    id: int
    name: str  # '' if none was given

    @property
    def label(self) -> str:
        return self.name or f"Student {self.id}"


@dataclass(frozen=True)
class StoredRun:
    id: int
    student: int
    student_name: str  # the display name, '' if none
    number: int
    settings: dict
    status: str
    message: str
    accuracy: float | None
    seconds: float
    val: dict[str, np.ndarray]  # val_epoch, val_loss, val_accuracy
    train: dict[str, np.ndarray]  # epoch, train_loss ({} on the board, which does not read them)
    weights: bytes | None  # None on the board, which never reads anyone's weights
    started: float
    updated: float

    @property
    def label(self) -> str:
        return self.student_name or f"Student {self.student}"


class Store:
    """The class's runs in the SQLite file at `path` (default: the data folder's)."""

    def __init__(self, path: str | Path | None = None, *, student_bytes: int | None = None):
        self.path = Path(path) if path else data_dir() / FILE_NAME
        mb = os.environ.get("DIGITNET_STUDENT_MB", "")
        self.student_bytes = student_bytes or int(float(mb or STUDENT_MB) * 2**20)
        self._local = threading.local()
        self._board: tuple[int, list[StoredRun]] | None = None  # the last board read, and what it was read at
        self._curves: dict[int, tuple[float, dict]] = {}  # run id -> (updated, its validation curves) read

    # -- the connection ---------------------------------------------------------

    def db(self) -> sqlite3.Connection:
        """This thread's connection, opened (and the schema brought up to date) on first use."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA journal_mode = WAL")  # readers do not wait for a writer
            conn.execute("PRAGMA synchronous = NORMAL")  # safe with WAL; a power cut may lose the last write
            conn.execute("PRAGMA foreign_keys = ON")
            _migrate(conn)
            self._local.conn = conn
        return conn

    def close(self) -> None:
        """Close this thread's connection (others close when their threads end)."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def _write(self, sql: str, params: tuple = ()) -> sqlite3.Cursor:
        return self.db().execute(sql, params)

    # -- students -----------------------------------------------------------------

    def student(self, key: str) -> Student:
        """The student of this key, registered on first sight (numbered in order of arrival)."""
        now = time.time()
        db = self.db()
        db.execute(
            "INSERT INTO students (key, created, seen) VALUES (?, ?, ?) "
            "ON CONFLICT(key) DO UPDATE SET seen = ?",
            (key, now, now, now),
        )
        row = db.execute("SELECT id, name FROM students WHERE key = ?", (key,)).fetchone()
        return Student(*row)

    def find(self, key: str) -> Student | None:
        """The student of this key if known (nothing is registered)."""
        row = self.db().execute("SELECT id, name FROM students WHERE key = ?", (key,)).fetchone()
        return None if row is None else Student(*row)

    def set_name(self, student: int, name: str) -> None:
        self._write("UPDATE students SET name = ? WHERE id = ?", (name.strip()[:NAME_LENGTH], student))

    def save_model(self, student: int, name: str | None, model: bytes | None) -> None:
        """The model in use; None: the default model."""
        self._write("UPDATE students SET model_name = ?, model = ? WHERE id = ?", (name, model, student))
        self._limit(student)

    def model(self, student: int) -> tuple[str, bytes] | None:
        row = self.db().execute("SELECT model_name, model FROM students WHERE id = ?", (student,)).fetchone()
        return None if row is None or row[1] is None else (row[0], row[1])

    # -- runs -------------------------------------------------------------------------

    def add_run(self, student: int, number: int, settings: dict, status: str = "waiting") -> int:
        now = time.time()
        cur = self._write(
            "INSERT INTO runs (student, number, settings, status, started, updated) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (student, number, json.dumps(settings), status, now, now),
        )
        return cur.lastrowid

    def update_run(
        self,
        run: int,
        student: int,
        *,
        status: str,
        message: str = "",
        accuracy: float | None = None,
        seconds: float = 0.0,
        val: dict[str, np.ndarray] | None = None,
        train: dict[str, np.ndarray] | None = None,
        weights: bytes | None = None,
    ) -> bool:
        """A run's progress, or its end (with `train` and `weights`). Only the student's own
        run is changed; False if there is none (the teacher cleared it)."""
        cur = self._write(
            "UPDATE runs SET status = ?, message = ?, accuracy = ?, seconds = ?, val = coalesce(?, val), "
            "train = coalesce(?, train), weights = coalesce(?, weights), updated = ? "
            "WHERE id = ? AND student = ?",
            (
                status,
                message,
                None if accuracy is None or not np.isfinite(accuracy) else float(accuracy),
                float(seconds),
                None if val is None else pack(val),
                None if train is None else pack(train),
                weights,
                time.time(),
                run,
                student,
            ),
        )
        if cur.rowcount and (train is not None or weights is not None):
            self._limit(student)
        return cur.rowcount > 0

    def runs(self, student: int) -> list[StoredRun]:
        """One student's runs with everything (for a reload), oldest first."""
        rows = self.db().execute(
            f"SELECT {_RUN_COLUMNS}, r.train, r.weights FROM runs r JOIN students s ON s.id = r.student "
            "WHERE r.student = ? ORDER BY r.started, r.id",
            (student,),
        )
        return [_run(row, row[-2], row[-1]) for row in rows]

    def board(self) -> list[StoredRun]:
        """Every run of the class for the board: settings, status, validation curves; no
        weights and no training loss (read a few times a second, so it reads little)."""
        key = self.db().execute("SELECT n FROM changes").fetchone()[0]
        cached = self._board  # shared by the process's threads: one read per change, however many boards
        if cached is not None and cached[0] == key:
            return cached[1]
        db = self.db()
        light = _RUN_COLUMNS.replace("r.val", "NULL")  # the curves are read apart, only where they changed
        rows = db.execute(
            f"SELECT {light} FROM runs r JOIN students s ON s.id = r.student ORDER BY r.started, r.id"
        )
        result, curves = [], {}
        for row in rows:
            rid, updated = row[0], row[-1]
            known = self._curves.get(rid)
            if known is None or known[0] != updated:
                known = (
                    updated,
                    unpack(db.execute("SELECT val FROM runs WHERE id = ?", (rid,)).fetchone()[0]),
                )
            curves[rid] = known
            result.append(_run(row, None, None, val=known[1]))
        self._board, self._curves = (key, result), curves
        return result

    def end_interrupted(self, student: int, idle: float) -> int:
        """Runs of this student still "running" or "waiting" with no news for `idle` seconds:
        their page went away before they ended (a reload, a crash). They are marked stopped."""
        cur = self._write(
            "UPDATE runs SET status = 'stopped', message = 'Stopped: the page was closed or reloaded "
            "before the run ended.' WHERE student = ? AND status IN (?, ?) AND updated < ?",
            (student, *ACTIVE, time.time() - idle),
        )
        return cur.rowcount

    # -- the teacher -------------------------------------------------------------------

    def clear(self) -> None:
        """Empty the board: every run and every student (the next class numbers from 1 again)."""
        db = self.db()
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("DELETE FROM runs")
            db.execute("DELETE FROM students")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def clear_older_than(self, seconds: float) -> int:
        """Forget runs not updated for `seconds`, and students with no runs left not seen
        for as long. Returns the number of runs forgotten."""
        cutoff = time.time() - seconds
        db = self.db()
        db.execute("BEGIN IMMEDIATE")
        try:
            n = db.execute("DELETE FROM runs WHERE updated < ?", (cutoff,)).rowcount
            db.execute(
                "DELETE FROM students WHERE seen < ? "
                "AND NOT EXISTS (SELECT 1 FROM runs WHERE student = students.id)",
                (cutoff,),
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return n

    # -- the size limit ------------------------------------------------------------------

    def used_bytes(self, student: int) -> int:
        return (
            self.db()
            .execute(
                "SELECT coalesce(length(model), 0) + coalesce((SELECT sum(coalesce(length(val), 0) + "
                "coalesce(length(train), 0) + coalesce(length(weights), 0)) FROM runs WHERE student = ?), 0) "
                "FROM students WHERE id = ?",
                (student, student),
            )
            .fetchone()[0]
        )

    def _limit(self, student: int) -> None:
        """Over the limit: the oldest runs' weights go first (their curves stay on the
        board), then the oldest runs; the newest run and the model in use are kept."""
        db = self.db()
        while self.used_bytes(student) > self.student_bytes:
            older = (
                "SELECT id FROM runs WHERE student = ? AND id != (SELECT max(id) FROM runs WHERE student = ?)"
            )
            oldest = db.execute(f"{older} AND weights IS NOT NULL ORDER BY id LIMIT 1", (student, student))
            row = oldest.fetchone()
            if row is not None:
                db.execute("UPDATE runs SET weights = NULL WHERE id = ?", row)
                continue
            row = db.execute(f"{older} ORDER BY id LIMIT 1", (student, student)).fetchone()
            if row is None:
                return  # the newest run and the model alone are over the limit: kept all the same
            db.execute("DELETE FROM runs WHERE id = ?", row)


_RUN_COLUMNS = (
    "r.id, r.student, s.name, r.number, r.settings, r.status, r.message, r.accuracy, r.seconds, r.val, "
    "r.started, r.updated"
)


def _run(row: tuple, train: bytes | None, weights: bytes | None, val: dict | None = None) -> StoredRun:
    rid, student, name, number, settings, status, message, accuracy, seconds, blob, started, updated = row[
        :12
    ]
    return StoredRun(
        rid,
        student,
        name,
        number,
        json.loads(settings),
        status,
        message,
        accuracy,
        seconds,
        unpack(blob) if val is None else val,
        unpack(train),
        weights,
        started,
        updated,
    )


def _migrate(conn: sqlite3.Connection) -> None:
    """Bring the schema to VERSION, one migration at a time, under a write lock (another
    process may be doing the same: it finds the work done)."""
    if conn.execute("PRAGMA user_version").fetchone()[0] == VERSION:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > VERSION:
            raise RuntimeError(
                f"the data folder's database is version {version}; this DigitNet knows {VERSION}"
            )
        for i in range(version, VERSION):
            for statement in _statements(MIGRATIONS[i]):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {i + 1}")  # a PRAGMA takes no parameters; an int from here
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _statements(script: str) -> list[str]:
    """A script's statements one by one (executescript would commit the transaction first);
    a trigger's body holds semicolons, so a piece ends only where SQLite says a statement is complete."""
    out, piece = [], ""
    for part in script.split(";"):
        piece += part + ";"
        if sqlite3.complete_statement(piece):
            if piece.strip(" \n;"):
                out.append(piece)
            piece = ""
    return out


_stores: dict[Path, Store] = {}
_stores_lock = threading.Lock()


def default() -> Store:
    """The store of the data folder in force (DIGITNET_DATA_DIR is read at every call: tests move it)."""
    path = data_dir().resolve() / FILE_NAME
    with _stores_lock:
        if path not in _stores:
            _stores[path] = Store(path)
        return _stores[path]
