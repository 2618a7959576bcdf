"""Whose turn: with a class on one server, the runs a person is waiting for come first.

Every page's run is a thread of the same process, and Python runs one thread at a time,
switching between them every few milliseconds. Thirty students who draw at once would
each get a thirtieth of it: all thirty answers would come together at the end, after the
views and live charts that the other pages were redrawing meanwhile, and the thread that
sends the finished runs to the browsers would wait its turn among them all. So:

- at most SLOTS runs go at once, the others wait asleep (first come, first served);
- a run a person waits for (an answer to a stroke, a click's page) takes the next free
  slot before any background run (the view below the answer, a live panel's or the
  board's redraw);
- a background run also waits while another page's stroke is being read, and never
  longer than PATIENCE, after which it takes the next slot like any other.

Alone on the server, nothing ever waits. A stroke that never says its answer was drawn
(an exception, a rerun) holds nothing for longer than STALE seconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

SLOTS = 2  # runs at once: one would let a slow one (the test set's view) hold up every page
PATIENCE = 0.5  # s a background run gives way to other pages' answers, at most
STALE = 2.0  # s after which a stroke that never said its answer was drawn counts as drawn

_turns = threading.Condition()
_answers: dict[int, float] = {}  # page (the id of its Session) -> when its stroke came
_busy = 0  # runs under way
_urgent = 0  # runs a person waits for, waiting for a slot
_nested = threading.local()  # a run's nested fragments are part of it


def _answering(now: float) -> set[int]:
    """The pages whose stroke came less than STALE ago, its answer not drawn yet."""
    return {p for p, t in _answers.items() if now - t < STALE}


def answer_begins(page: int) -> None:
    """A stroke came (its callback): background runs give way until answer_ends."""
    now = time.monotonic()
    with _turns:
        for gone in _answers.keys() - _answering(now):  # pages that left meanwhile
            del _answers[gone]
        _answers[page] = now


def answering(page: int) -> bool:
    """Has this page's stroke come, its answer not drawn yet?"""
    with _turns:
        return page in _answering(time.monotonic())


def answer_ends(page: int) -> None:
    with _turns:
        if _answers.pop(page, None) is not None:
            _turns.notify_all()


def _may_go(page: int, urgent: bool, give_up: float) -> bool:
    if _busy >= SLOTS:
        return False
    now = time.monotonic()
    if urgent or now >= give_up:
        return True
    return _urgent == 0 and not _answering(now) - {page}


@contextmanager
def turn(page: int, urgent: bool) -> Iterator[None]:
    """Run the body when it is this run's turn (see above); `urgent`: a person waits for it."""
    global _busy, _urgent
    if getattr(_nested, "depth", 0):
        _nested.depth += 1
        try:
            yield
        finally:
            _nested.depth -= 1
        return
    with _turns:
        give_up = time.monotonic() + PATIENCE
        _urgent += urgent
        try:
            while not _may_go(page, urgent, give_up):
                left = give_up - time.monotonic()
                _turns.wait(left if left > 0 else None)  # woken when a run ends or an answer is drawn
        finally:
            _urgent -= urgent
            if urgent:
                _turns.notify_all()  # a background run may take the other free slot now
        _busy += 1
    _nested.depth = 1
    try:
        yield
    finally:
        _nested.depth = 0
        with _turns:
            _busy -= 1
            _turns.notify_all()


def background(page: int):
    """A run nobody is waiting for."""
    return turn(page, urgent=False)


def foreground(page: int):
    """A run a person is waiting for."""
    return turn(page, urgent=True)
