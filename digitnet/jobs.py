"""Background training for the app: one job per person, a fair queue for the machine.

A `TrainingJob` trains in a worker process, so that the page stays usable
while the network learns: a thread of the server waits for the job's turn,
starts the process and relays its reports, and the app reads a consistent
`snapshot()` of the curves a few times a second and predicts with `job.net`,
whose weights the worker sends a few times a second. `stop()` takes effect
before the next step.

Why processes and not threads: a small network's step is a few dozen tiny
NumPy calls, during which Python holds its global lock; two trainings in the
server's own process left its pages a fraction of one core, and drawings
waited seconds for their prediction. A worker has its own interpreter, runs at
a lower CPU priority than the server, and maps the shared MNIST arrays instead
of copying them (digitnet.shared).

Thirty students share one small server, so trainings take turns: `Slots` is a
process-wide first-come-first-served queue that lets at most `n` jobs train at
once (one per CPU core) and tells the others how many are ahead of them. Each
worker runs on one BLAS thread (`limit_blas_threads`), so one training cannot
take every core, and small matrices are faster on one thread anyway.

A job whose page was closed must not hold its slot: the app calls `beat()`
whenever it draws the page (a live fragment does so several times a second),
and a job not seen for `heartbeat_timeout` seconds stops itself, unless the
optional `alive()` says its page is still connected (a hidden browser tab
slows its timers down but is still there).

No Streamlit here: the tests drive jobs directly.
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
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import shared
from .network import Network, layer_sizes
from .train import History, Progress, TrainConfig, TrainResult

log = logging.getLogger(__name__)

HEARTBEAT_TIMEOUT = 25.0  # seconds without a beat after which a job's page is taken to be gone
# Training processes run at a lower CPU priority than the server (Unix "nice"), so
# that pages stay quick while the cores train; 0 turns this off.
NICE = int(os.environ.get("DIGITNET_TRAINING_NICE", "10") or 0)
POLL = 0.1  # seconds between checks of stop/heartbeat
STOP_GRACE = 10.0  # seconds a worker asked to stop may take before it is ended by force
_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)  # so that a worker imports this very digitnet
DONE = ("finished", "converged", "stopped", "diverged", "failed")


def limit_blas_threads(n: int = 1) -> None:
    """Run NumPy's BLAS on `n` threads for the whole process (set once at start-up).

    Trainings run side by side (one worker process each); with BLAS's default of
    one thread per core each would fight the others for every core. Measured here: one
    epoch of the notes' network took 15 s with two BLAS threads on a busy
    2-core machine and 0.1 s with one."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=n)  # stays in force: not used as a context manager


def default_slots() -> int:
    """Trainings at once: DIGITNET_TRAINING_SLOTS, else one per CPU core."""
    value = os.environ.get("DIGITNET_TRAINING_SLOTS", "")
    return max(1, int(value)) if value.isdigit() else max(1, os.cpu_count() or 1)


class Slots:
    """At most `n` trainings at once; the rest wait first come, first served."""

    def __init__(self, n: int):
        self.n = max(1, int(n))
        self._cond = threading.Condition()
        self._waiting: deque[object] = deque()
        self._running: set[int] = set()  # ids, so a finished job is not kept alive here

    def join(self, job: object) -> None:
        with self._cond:
            self._waiting.append(job)

    def wait_turn(self, job: object, timeout: float) -> bool:
        """Take a slot if `job` is first in line and one is free; else wait up to
        `timeout` seconds for that. True once the job holds a slot."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                if self._waiting and self._waiting[0] is job and len(self._running) < self.n:
                    self._waiting.popleft()
                    self._running.add(id(job))
                    self._cond.notify_all()  # the next in line may also fit
                    return True
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)

    def leave(self, job: object) -> None:
        """Give up the slot, or the place in the queue. Harmless if neither is held."""
        with self._cond:
            try:
                self._waiting.remove(job)
            except ValueError:
                pass
            self._running.discard(id(job))
            self._cond.notify_all()

    def ahead(self, job: object) -> int | None:
        """How many jobs wait before `job`; None if it is not waiting."""
        with self._cond:
            for i, other in enumerate(self._waiting):
                if other is job:
                    return i
            return None

    @property
    def running(self) -> int:
        with self._cond:
            return len(self._running)

    @property
    def waiting(self) -> int:
        with self._cond:
            return len(self._waiting)


SLOTS = Slots(default_slots())  # shared by every session of the app (one per process)


@dataclass(frozen=True)
class Curves:
    """The learning curves so far, as arrays that no longer change.

    The training loss is recorded after every step, the validation loss and
    accuracy at every check; a check never lies beyond the last step shown."""

    epoch: np.ndarray  # (n,) epochs done after each step, fractional
    train_loss: np.ndarray  # (n,) loss of that step's batch
    val_epoch: np.ndarray  # (k,)
    val_loss: np.ndarray  # (k,)
    val_accuracy: np.ndarray  # (k,)

    @property
    def steps(self) -> int:
        return len(self.train_loss)


@dataclass(frozen=True)
class Snapshot:
    """What the page shows about a job, read at one instant."""

    status: str  # "waiting", "running", or one of DONE
    message: str  # one sentence for a person ("" while running)
    ahead: int | None  # jobs waiting before this one (only while waiting)
    progress: Progress | None  # the last step's report
    curves: Curves
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
        slots: Slots = SLOTS,
        heartbeat_timeout: float = HEARTBEAT_TIMEOUT,
        alive: Callable[[], bool] | None = None,
    ):
        self.config = config
        self.net = Network.init(layer_sizes(config.hidden), config.seed)  # replaced as the worker learns
        self._data = data
        self._slots = slots
        self._timeout = heartbeat_timeout
        self._alive = alive
        self._lock = threading.Lock()  # guards everything a snapshot reads
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_beat = time.monotonic()
        self._status, self._message = "new", ""
        self._progress: Progress | None = None
        self._loss = np.empty(1024)  # grown by doubling; arrays, not lists, so a copy is one memcpy
        self._n = 0
        self._steps_per_epoch = 1.0
        self._val: tuple[list[float], list[float], list[float]] = ([], [], [])
        self._started = self._ended = None
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
        """Stop before the next step (or leave the queue). Harmless at any time, twice, or after the end."""
        self._stop.set()

    def beat(self) -> None:
        """The page is still open: keep going."""
        self._last_beat = time.monotonic()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread to end; True if it has."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.done

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
            n = self._n
            epoch = np.arange(1, n + 1) / self._steps_per_epoch
            curves = Curves(epoch, self._loss[:n].copy(), *(np.array(v, dtype=float) for v in self._val))
            status, message, progress = self._status, self._message, self._progress
            start, end = self._started, self._ended
        seconds = 0.0 if start is None else (end or time.perf_counter()) - start
        ahead = self._slots.ahead(self) if status == "waiting" else None
        return Snapshot(status, message, ahead, progress, curves, seconds)

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
        except Exception as e:  # a bug or out of memory: said on the page, logged in full, slot freed
            log.exception("training failed")
            status, message = "failed", f"Training failed: {e}"
        finally:
            self._slots.leave(self)
        self._end(status, message)

    def _wait_and_train(self) -> tuple[str, str]:
        while not self._slots.wait_turn(self, POLL):
            if self._should_stop():
                why = "the page was closed" if self.abandoned else "Stop was pressed"
                return "stopped", f"Stopped while waiting for a training slot ({why}); nothing was trained."
        with self._lock:
            self._status, self._started = "running", time.perf_counter()
        return self._watch_worker()

    def _watch_worker(self) -> tuple[str, str]:
        """Start the worker (digitnet.worker), relay its reports, pass on Stop."""
        worker = subprocess.Popen(
            [sys.executable, "-m", "digitnet.worker", str(NICE)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={
                **os.environ,
                "PYTHONPATH": os.pathsep.join(filter(None, [_PACKAGE_ROOT, os.environ.get("PYTHONPATH")])),
            },
        )
        self.worker_pid = worker.pid
        reports: queue.Queue = queue.Queue()
        threading.Thread(
            target=_read_reports, args=(worker.stdout, reports), name="digitnet-reports", daemon=True
        ).start()
        try:
            data = tuple(shared.ref(a) for a in self._data)
            pickle.dump((self.config, self.net.params, data), worker.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            worker.stdin.flush()
            stop_asked_at = None
            while True:
                if stop_asked_at is None and self._should_stop():
                    worker.stdin.close()  # the worker stops before its next step
                    stop_asked_at = time.monotonic()
                if stop_asked_at is not None and time.monotonic() - stop_asked_at > STOP_GRACE:
                    raise RuntimeError("the training process did not stop when asked")
                try:
                    report = reports.get(timeout=POLL)
                except queue.Empty:
                    continue
                if report is None:
                    raise RuntimeError(
                        f"the training process ended unexpectedly (exit code {worker.wait(1.0)})"
                    )
                kind, payload = report
                if kind == "progress":
                    steps, params = payload
                    for p in steps:
                        self._on_progress(p)
                    if params is not None:
                        # a new network, not new params in the old one: a prediction under way
                        # keeps the network it started with, never a mix of old and new layers
                        self.net = Network(self.net.sizes, params)
                elif kind == "done":
                    return self._result(*payload)
                else:  # "error": a sentence
                    raise RuntimeError(payload)
        finally:
            for stream in (worker.stdin, worker.stdout):
                try:
                    stream.close()
                except OSError:
                    pass
            try:
                worker.wait(1.0)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
            self.worker_exitcode = worker.returncode

    def _result(
        self, status: str, message: str, seconds: float, epochs: float, params: dict, history: History
    ) -> tuple[str, str]:
        self.net = Network(self.net.sizes, params)
        self.result = TrainResult(self.net, history, status, message, seconds, epochs)
        if status == "stopped" and self.abandoned:
            message = f"Stopped because the page was closed; {message[0].lower()}{message[1:]}"
        return status, message

    def _on_progress(self, p: Progress) -> None:
        with self._lock:
            if self._n == len(self._loss):
                self._loss = np.concatenate([self._loss, np.empty(len(self._loss))])
            self._loss[self._n] = p.train_loss
            self._n += 1
            self._steps_per_epoch = p.step / p.epoch if p.epoch else 1.0
            if p.val_loss is not None:
                for values, v in zip(self._val, (p.epoch, p.val_loss, p.val_accuracy)):
                    values.append(v)
            self._progress = p

    def _end(self, status: str, message: str) -> None:
        with self._lock:
            self._status, self._message = status, message
            self._ended = time.perf_counter()


def _read_reports(stream, reports: queue.Queue) -> None:
    """Unpickle a worker's reports as they come; None once it has gone quiet for good."""
    try:
        while True:
            reports.put(pickle.load(stream))
    except (EOFError, OSError, pickle.UnpicklingError, ValueError):
        reports.put(None)


# -- what one training may cost on a shared machine ---------------------------

MAX_STEP_FLOPS = 12e9  # ~0.4 s on one core: Stop and the live curves stay responsive


def check_affordable(config: TrainConfig, n_train: int) -> None:
    """Refuse, with a plain sentence, a training whose single step (or validation
    check) is too much work for one core: train() looks at Stop only between
    steps, and thirty students share the machine."""
    sizes = layer_sizes(config.hidden)
    weights = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    batch = n_train if config.batch_size is None else min(config.batch_size, n_train)
    if 2 * config.n_val * weights > MAX_STEP_FLOPS:  # forward pass over the validation set
        most = int(MAX_STEP_FLOPS / (2 * config.n_val))
        raise ValueError(
            f"A {'-'.join(map(str, sizes))} network has {weights:,} weights, too many to train on this shared computer "
            f"(at most about {most:,}): use fewer hidden units."
        )
    if 6 * batch * weights > MAX_STEP_FLOPS:  # forward and backward over one batch
        largest = int(MAX_STEP_FLOPS / (6 * weights))
        raise ValueError(
            f"One step over {batch:,} images through {weights:,} weights is too much work at once here "
            f"(Stop and the live curves would lag): choose a batch size of at most {largest:,}, or fewer hidden units."
        )
