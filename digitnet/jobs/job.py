"""A `TrainingJob`: one person's training, run by a worker process for the server.

A thread of the server waits for the job's turn in the fair queue (slots.py),
starts the worker (worker.py), hands it the Job and relays its Reports
(protocol.py); the app reads a consistent `snapshot()` a few times a second and
predicts with `job.net`, a new Network every time the worker sends its weights.
`stop()` settles the job at once: from that instant its snapshot says "stopped",
with the curves and weights already received, and nothing changes them any more;
the worker stops before its next step and winds down in the background (its slot
is given back when it has exited).

A job whose page was closed must not hold its slot: the app calls `beat()`
whenever it draws the page (a live fragment does so several times a second),
and a job not seen for `heartbeat_timeout` seconds stops itself, unless the
optional `alive()` says its page is still connected (a hidden browser tab
slows its timers down but is still there).
"""

from __future__ import annotations

import logging
import os
import pickle
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..network import Network, layer_sizes
from ..train import History, Progress, TrainConfig, TrainResult, stopped_message
from . import shared, worker
from .protocol import Done, Failed, Job, Report, receive, send
from .slots import Slots, machine_slots

log = logging.getLogger(__name__)

HEARTBEAT_TIMEOUT = 25.0  # seconds without a beat after which a job's page is taken to be gone
# Training processes run at a lower CPU priority than the server (Unix "nice"), so
# that pages stay quick while the cores train; 0 turns this off.
NICE = int(os.environ.get("DIGITNET_TRAINING_NICE", "10") or 0)
CHECK_EVERY = 0.1  # seconds between the server thread's looks at Stop and the heartbeat
STOP_GRACE = 10.0  # seconds a worker asked to stop may take before it is ended by force
# on the worker's PYTHONPATH, so that it imports this very digitnet
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])
DONE = ("finished", "converged", "stopped", "diverged", "failed")
WAITING_STOPPED = "Stopped while waiting for a training slot ({why}); nothing was trained."
FIRST_STEP_STOPPED = "Stopped before the first step ({why}); nothing was trained."


class WorkerEnded(RuntimeError):
    """The training process was ended by a signal (a negative exit code): the server
    stopping with it, or the system out of memory. A sentence in the log, not a traceback."""


@dataclass(frozen=True)
class Snapshot:
    """What the page shows about a job, read at one instant."""

    status: str  # "waiting", "running", or one of DONE
    message: str  # one sentence for a person ("" while running)
    ahead: int | None  # jobs waiting before this one (only while waiting)
    progress: Progress | None  # the last step's report
    history: History  # the curves so far, a copy
    seconds: float  # since training (not waiting) began

    @property
    def done(self) -> bool:
        return self.status in DONE

    @property
    def fraction(self) -> float:
        p = self.progress
        return 0.0 if p is None or not p.total_steps else min(1.0, p.step / p.total_steps)


class TrainingJob:
    """One training run: a server thread that queues for a slot and watches the worker
    process; start, stop, snapshot, live net."""

    def __init__(
        self,
        config: TrainConfig,
        data: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],  # X_rows, y, X_val_rows, y_val
        *,
        slots: Slots | None = None,  # machine_slots() unless given
        heartbeat_timeout: float = HEARTBEAT_TIMEOUT,
        alive: Callable[[], bool] | None = None,
    ):
        self.config = config
        self.net = Network.init(layer_sizes(config.hidden), config.seed)  # replaced as the worker learns
        self._data = data
        self._slots = slots or machine_slots()
        self._timeout = heartbeat_timeout
        self._alive = alive
        self._lock = threading.Lock()  # guards everything a snapshot reads
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_beat = time.monotonic()
        self._status, self._message = "new", ""
        self._progress: Progress | None = None
        self._history = History()
        self._started = self._ended = None
        self._ended_event = threading.Event()
        self.abandoned = False
        self.result: TrainResult | None = None
        self.worker_pid: int | None = None  # the training process, once started
        self.worker_exitcode: int | None = None  # and how it ended (0: cleanly)

    # -- control (any thread) -------------------------------------------

    def start(self) -> TrainingJob:
        """Queue for a slot and train as soon as one is free. Starting twice is harmless."""
        with self._lock:
            if self._status != "new":
                return self
            self._status = "waiting"
        self.beat()
        self._slots.join(self)
        self._thread = threading.Thread(target=self._run, name="digitnet-training", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop now: the snapshot says "stopped" at once, with the curves and weights
        received so far (the page settles from them without waiting for the worker,
        whose last step or two are dropped). Harmless at any time, twice, or after the end."""
        with self._lock:
            self._stop.set()  # under the lock: the thread cannot start training after this
            if self._status == "waiting":
                self._settle("stopped", WAITING_STOPPED.format(why="Stop was pressed"))
            elif self._status == "running":
                p = self._progress
                self._settle(
                    "stopped",
                    stopped_message(p.step, p.epoch)
                    if p
                    else FIRST_STEP_STOPPED.format(why="Stop was pressed"),
                )

    def beat(self) -> None:
        """The page is still open: keep going."""
        self._last_beat = time.monotonic()

    def join(self, timeout: float | None = None) -> bool:
        """Wait until the job has ended (after Stop: at once); True if it has."""
        if self._thread is not None and not self.done:
            self._ended_event.wait(timeout)
        return self.done

    def wind_down(self, timeout: float | None = None) -> bool:
        """Wait for the server thread (and so the worker process) to be gone; True if it is."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self._thread is None or not self._thread.is_alive()

    @property
    def status(self) -> str:
        return self._status

    @property
    def done(self) -> bool:
        return self._status in DONE

    @property
    def running(self) -> bool:
        return self._status == "running"

    def snapshot(self) -> Snapshot:
        with self._lock:
            history = self._history.copy()
            status, message, progress = self._status, self._message, self._progress
            start, end = self._started, self._ended
        seconds = 0.0 if start is None else (end or time.perf_counter()) - start
        ahead = self._slots.ahead(self) if status == "waiting" else None
        return Snapshot(status, message, ahead, progress, history, seconds)

    # -- the thread --------------------------------------------------------

    def _gone(self) -> bool:
        """No beat for `heartbeat_timeout` seconds and no sign the page is still connected."""
        if time.monotonic() - self._last_beat <= self._timeout:
            return False
        if self._alive is not None:
            try:
                if self._alive():
                    return False
            except Exception:  # an unreachable runtime means the page is gone
                pass
        return True

    def _should_stop(self) -> bool:
        if self._stop.is_set():
            return True
        if self._gone():
            self.abandoned = True
            return True
        return False

    def _run(self) -> None:
        """The server-side thread of a job: wait for a slot, then start and watch the worker.
        The slot is given back before the job says it is done."""
        try:
            status, message = self._wait_and_train()
        except WorkerEnded as e:  # killed from outside (the server stopping, the OOM killer): no bug of ours
            log.warning("training ended: %s", e)
            status, message = "failed", f"Training failed: {e}"
        except Exception as e:  # a bug or out of memory: said on the page, logged in full, slot freed
            log.exception("training failed")
            status, message = "failed", f"Training failed: {e}"
        finally:
            self._slots.leave(self)
        self._end(status, message)

    def _wait_and_train(self) -> tuple[str, str]:
        while not self._slots.wait_turn(self, CHECK_EVERY):
            if self._should_stop():
                why = "the page was closed" if self.abandoned else "Stop was pressed"
                return "stopped", WAITING_STOPPED.format(why=why)
        with self._lock:
            if self._stop.is_set():  # Stop pressed as the slot came free: settled already
                return "stopped", WAITING_STOPPED.format(why="Stop was pressed")
            self._status, self._started = "running", time.perf_counter()
        return self._watch_worker()

    def _watch_worker(self) -> tuple[str, str]:
        """Start the worker, relay its reports, pass on Stop."""
        process = subprocess.Popen(
            [sys.executable, "-m", worker.__name__, str(NICE)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={
                **os.environ,
                "PYTHONPATH": os.pathsep.join(filter(None, [_PACKAGE_ROOT, os.environ.get("PYTHONPATH")])),
            },
        )
        self.worker_pid = process.pid
        messages: queue.Queue = queue.Queue()
        threading.Thread(
            target=_relay, args=(process.stdout, messages), name="digitnet-reports", daemon=True
        ).start()
        ending = 1.0  # seconds the worker may take to exit once the job has ended
        try:
            send(process.stdin, Job(self.config, self.net.params, tuple(shared.ref(a) for a in self._data)))
            stop_asked_at = None
            while True:
                if stop_asked_at is None and self._should_stop():
                    process.stdin.close()  # the worker stops before its next step
                    stop_asked_at = time.monotonic()
                    if self._progress is None:
                        # Not one step yet (the worker may still be starting, seconds on a busy
                        # machine): nothing to keep, so Stop answers now and the worker ends alone.
                        ending = None
                        why = "the page was closed" if self.abandoned else "Stop was pressed"
                        return "stopped", FIRST_STEP_STOPPED.format(why=why)
                if stop_asked_at is not None and time.monotonic() - stop_asked_at > STOP_GRACE:
                    raise RuntimeError("the training process did not stop when asked")
                try:
                    message = messages.get(timeout=CHECK_EVERY)
                except queue.Empty:
                    continue
                match message:
                    case Report():
                        self._on_report(message)
                    case Done():
                        return self._finish(message)
                    case Failed():
                        raise RuntimeError(message.sentence)
                    case None:
                        code = process.wait(1.0)
                        raise (WorkerEnded if code is not None and code < 0 else RuntimeError)(
                            f"the training process ended unexpectedly (exit code {code})"
                        )
        finally:
            if ending is None:
                threading.Thread(target=self._reap, args=(process, STOP_GRACE), daemon=True).start()
            else:
                self._reap(process, ending)

    def _reap(self, process: subprocess.Popen, wait: float) -> None:
        """Let the worker exit (its stdin closed asks it to), ended by force after `wait` seconds."""
        try:
            process.stdin.close()
        except OSError:
            pass
        try:
            process.wait(wait)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        try:
            process.stdout.close()
        except OSError:
            pass
        self.worker_exitcode = process.returncode

    def _on_report(self, report: Report) -> None:
        with self._lock:
            if self.done:  # settled by Stop: the curves and weights stay as the page showed them
                return
            self._history.extend(report.history)
            self._progress = report.progress
            if report.params is not None:
                # a new network, not new params in the old one: a prediction under way
                # keeps the network it started with, never a mix of old and new layers
                self.net = Network(self.net.sizes, report.params)

    def _finish(self, done: Done) -> tuple[str, str]:
        with self._lock:
            if not self.done:  # (settled by Stop: its net is the one the page already took)
                self.net = Network(self.net.sizes, done.params)
            history = self._history.copy()
        self.result = TrainResult(self.net, history, done.status, done.message, done.seconds, done.epochs)
        message = done.message
        if done.status == "stopped" and self.abandoned:
            message = f"Stopped because the page was closed; {message[0].lower()}{message[1:]}"
        return done.status, message

    def _end(self, status: str, message: str) -> None:
        with self._lock:
            if not self.done:  # Stop settled it already: that is what the page showed
                self._settle(status, message)

    def _settle(self, status: str, message: str) -> None:
        """The job's end as the page sees it (called with the lock held)."""
        self._status, self._message = status, message
        self._ended = time.perf_counter()
        self._ended_event.set()


def _relay(stream, messages: queue.Queue) -> None:
    """Pass on a worker's messages as they come; None once it has gone quiet for good."""
    try:
        while True:
            messages.put(receive(stream))
    except (EOFError, OSError, pickle.UnpicklingError, ValueError):
        messages.put(None)
