"""The fair queue: at most `n` trainings at once on this machine, the rest first come, first served.

Thirty students share one small server, so trainings take turns: one `Slots` per
server process (machine_slots()) lets at most one job per CPU core train at once
and tells the others how many are ahead of them.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from collections import deque


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


def default_slots() -> int:
    """Trainings at once: DIGITNET_TRAINING_SLOTS, else one per CPU core."""
    value = os.environ.get("DIGITNET_TRAINING_SLOTS", "")
    return max(1, int(value)) if value.isdigit() else max(1, os.cpu_count() or 1)


@functools.cache
def machine_slots() -> Slots:
    """The slots every session of this server shares, made on first use (a worker never makes them)."""
    return Slots(default_slots())
