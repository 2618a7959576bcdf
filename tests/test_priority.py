"""ui/priority.py: with a class on one server, the runs a person waits for come first."""

import threading
import time

import pytest

from ui import priority

ME, OTHER = 1, 2


@pytest.fixture(autouse=True)
def patient(monkeypatch):
    """Long enough that only the code's own waking, never the clock, can let a run go."""
    monkeypatch.setattr(priority, "PATIENCE", 30.0)
    monkeypatch.setattr(priority, "STALE", 60.0)
    yield
    priority._answers.clear()


def start(page: int, inside: threading.Event, leave: threading.Event | None = None, urgent: bool = False):
    def run():
        if urgent:
            priority.answer_begins(page)  # a stroke came: its callback
        with priority.turn(page, urgent):
            inside.set()
            if leave is not None:
                leave.wait(10)
            if urgent:
                priority.answer_ends(page)  # its answer is drawn

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def test_alone_a_background_run_starts_at_once():
    inside = threading.Event()
    start(ME, inside).join(5)
    assert inside.is_set()


def test_a_background_run_waits_for_another_pages_answer_and_starts_when_it_is_drawn():
    priority.answer_begins(OTHER)
    inside = threading.Event()
    t = start(ME, inside)
    assert not inside.wait(0.3), "began while another page's answer was being made"
    priority.answer_ends(OTHER)
    assert inside.wait(5), "did not begin once the answer was drawn"
    t.join(5)


def test_a_pages_own_answer_does_not_hold_back_its_own_background_runs():
    priority.answer_begins(ME)  # e.g. its answer's run was cut short by a rerun and never said it ended
    inside = threading.Event()
    start(ME, inside).join(5)
    assert inside.is_set()


def test_an_answer_that_never_ends_holds_background_runs_only_for_patience(monkeypatch):
    monkeypatch.setattr(priority, "PATIENCE", 0.2)
    priority.answer_begins(OTHER)
    inside = threading.Event()
    t0 = time.monotonic()
    start(ME, inside).join(5)
    assert inside.is_set() and time.monotonic() - t0 >= 0.2


def test_at_most_SLOTS_runs_at_once_and_a_waiting_answer_goes_before_a_waiting_background_run():
    leave = threading.Event()
    busy = [threading.Event() for _ in range(priority.SLOTS)]
    threads = [start(10 + i, e, leave) for i, e in enumerate(busy)]
    assert all(e.wait(5) for e in busy)
    background, answer, stop_answer = threading.Event(), threading.Event(), threading.Event()
    threads.append(start(20, background))
    time.sleep(0.1)  # the background run waits first
    threads.append(start(21, answer, stop_answer, urgent=True))
    assert not answer.wait(0.3) and not background.is_set(), "one more ran than SLOTS"
    leave.set()
    assert answer.wait(5), "the answer never got its turn"
    assert not background.wait(0.3), "the background run went before the answer was drawn"
    stop_answer.set()
    assert background.wait(5), "the background run never got its turn"
    for t in threads:
        t.join(5)
    assert priority._busy == 0 and priority._urgent == 0


def test_a_background_runs_nested_fragment_is_part_of_it_and_an_error_frees_its_place():
    with pytest.raises(RuntimeError):
        with priority.background(ME):
            with priority.background(ME):  # Look inside's own fragment, inside the tabs' run
                assert priority._busy == 1
            raise RuntimeError("a rerun or an exception ends the run")
    assert priority._busy == 0
    inside = threading.Event()
    start(OTHER, inside).join(5)
    assert inside.is_set()
