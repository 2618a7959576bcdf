"""Background training jobs: start, stop, the fair queue, abandoned pages, snapshots."""

import os
import threading
import time

import numpy as np
import pytest

from digitnet.jobs import shared
from digitnet.jobs.budget import check_affordable, limit_blas_threads
from digitnet.jobs.job import NICE, TrainingJob
from digitnet.jobs.slots import Slots
from digitnet.train import TrainConfig

limit_blas_threads(1)


@pytest.fixture(scope="module")
def small(mnist):
    """2,000 training and 500 validation images: fast, and still learnable."""
    return (
        mnist.train_images[:2000],
        mnist.train_labels[:2000],
        mnist.train_images[-500:],
        mnist.train_labels[-500:],
    )


def long_config(**kw):
    """A run that would take minutes: only stopped runs end it in time."""
    return TrainConfig(**{"hidden": (16,), "lr": 0.05, "epochs": 1000, "batch_size": 8, "n_val": 500, **kw})


def make_job(config, data, **kw) -> TrainingJob:
    """A job as the app makes one, with a heartbeat timeout long enough for a busy
    test machine (the heartbeat tests set their own)."""
    return TrainingJob(config, data, **{"heartbeat_timeout": 600.0, **kw})


# Seconds a test waits for a job to end or move on where the point is that it does, not how fast:
# generous, so that a loaded machine (a class's server, a CI runner) does not fail them.
JOINED = 15.0


def wait_for(predicate, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.01)
    return False


def test_a_job_trains_in_the_background_and_finishes(small):
    job = make_job(
        TrainConfig(hidden=(16,), lr=0.1, epochs=2, batch_size=64, n_val=500), small, slots=Slots(1)
    )
    assert job.start() is job and job.status in ("waiting", "running", "finished")
    assert job.join(20)
    snap = job.snapshot()
    assert snap.status == "finished" and snap.done and "Trained 2 epochs" in snap.message
    assert snap.history.steps == 2 * 32 == snap.progress.step  # ceil(2000 / 64) steps per epoch
    assert snap.history.epoch[-1] == pytest.approx(2.0)
    assert len(snap.history.val_accuracy) == 2 and snap.history.val_accuracy[-1] > 0.6
    assert snap.fraction == 1.0 and snap.seconds > 0
    assert job.result.net is job.net and job.net.accuracy(small[2].T, small[3]) > 0.6
    assert job.worker_exitcode == 0  # the worker process ended cleanly


def test_stop_takes_effect_within_half_a_second_and_keeps_the_weights(small):
    job = make_job(long_config(), small, slots=Slots(1))
    initial = job.net.params["W1"].copy()
    job.start()
    assert wait_for(
        lambda: job.snapshot().history.steps > 50, timeout=15
    )  # a worker process takes a moment to start
    job.stop()
    assert job.done and job.join(0), "Stop settles the job at once, without waiting for the worker"
    snap, net = job.snapshot(), job.net
    assert snap.status == "stopped" and "kept" in snap.message
    assert not np.array_equal(net.params["W1"], initial) and net.is_finite()  # what was learnt is kept
    assert job.wind_down(JOINED)  # the worker finishes its step and exits in the background...
    after = job.snapshot()
    assert after.status == "stopped" and after.message == snap.message
    assert after.history.steps == snap.history.steps and job.net is net  # ...changing nothing shown
    job.stop()  # twice, and after the end: harmless
    assert job.snapshot().status == "stopped"
    assert job.worker_exitcode == 0  # stopped, not killed: it exits cleanly


def test_starting_twice_starts_one_thread(small):
    slots = Slots(2)
    job = make_job(long_config(), small, slots=slots)
    job.start(), job.start()
    assert wait_for(lambda: job.running)
    assert slots.running == 1 and slots.waiting == 0
    job.stop()
    assert job.join(JOINED)


def three_jobs_one_slot(small):
    """Three long jobs started in order on one slot, once the first is running."""
    slots = Slots(1)
    jobs = [make_job(long_config(), small, slots=slots) for _ in range(3)]
    for job in jobs:
        job.start()
    assert wait_for(lambda: jobs[0].running)
    return slots, jobs


def test_queue_is_first_come_first_served_and_reports_positions(small):
    slots, (a, b, c) = three_jobs_one_slot(small)
    time.sleep(0.2)  # b and c must still be waiting, in order
    assert (b.status, c.status) == ("waiting", "waiting")
    assert (b.snapshot().ahead, c.snapshot().ahead) == (0, 1)
    assert a.snapshot().ahead is None
    a.stop()
    assert wait_for(lambda: b.running) and c.status == "waiting" and c.snapshot().ahead == 0
    b.stop()
    assert wait_for(lambda: c.running)
    c.stop()
    assert c.wind_down(JOINED) and slots.running == 0 and slots.waiting == 0


def test_stopping_a_waiting_job_removes_it_from_the_queue(small):
    slots, (a, b, c) = three_jobs_one_slot(small)
    b.stop()
    assert b.wind_down(JOINED)
    snap = b.snapshot()
    assert snap.status == "stopped" and "waiting" in snap.message and snap.history.steps == 0
    assert c.snapshot().ahead == 0 and slots.waiting == 1
    a.stop(), c.stop()
    assert a.wind_down(JOINED) and c.wind_down(JOINED) and slots.running == 0


def test_a_job_whose_page_is_gone_frees_its_slot(small):
    slots = Slots(1)
    gone = TrainingJob(long_config(), small, slots=slots, heartbeat_timeout=0.3).start()
    waiting = TrainingJob(long_config(), small, slots=slots, heartbeat_timeout=0.3).start()
    stop_beating = threading.Event()

    def page_open():  # the second page keeps beating, as the app's live fragment does
        while not stop_beating.is_set():
            waiting.beat()
            time.sleep(0.05)

    threading.Thread(target=page_open, daemon=True).start()
    assert wait_for(lambda: gone.done, timeout=10)
    assert (
        gone.abandoned
        and gone.snapshot().status == "stopped"
        and "page was closed" in gone.snapshot().message
    )
    assert wait_for(lambda: waiting.running, timeout=JOINED), "the slot was not freed"
    time.sleep(0.5)
    assert waiting.running  # beats keep it alive past the timeout
    stop_beating.set()
    assert wait_for(lambda: waiting.done, timeout=10) and waiting.abandoned
    assert slots.running == 0


def test_a_silent_page_that_is_still_connected_keeps_training(small):
    job = TrainingJob(long_config(), small, slots=Slots(1), heartbeat_timeout=0.1, alive=lambda: True).start()
    time.sleep(0.5)
    assert job.running and not job.abandoned
    job.stop()
    assert job.join(JOINED)


def test_a_waiting_job_whose_page_is_gone_leaves_the_queue(small):
    slots = Slots(1)
    a = make_job(long_config(), small, slots=slots).start()
    b = TrainingJob(long_config(), small, slots=slots, heartbeat_timeout=0.2).start()
    assert wait_for(lambda: b.done, timeout=JOINED) and b.abandoned and slots.waiting == 0
    a.stop()
    assert a.join(JOINED)


def test_divergence_is_reported_and_the_weights_stay_finite(small):
    job = make_job(
        TrainConfig(hidden=(10,), lr=10, epochs=5, batch_size=None, n_val=500), small, slots=Slots(1)
    ).start()
    assert job.join(10)
    snap = job.snapshot()
    assert snap.status == "diverged" and "learning rate 10" in snap.message
    assert job.net.is_finite()


def test_a_failing_training_frees_its_slot_and_says_why(small):
    slots = Slots(1)
    X, y, Xv, yv = small
    job = make_job(
        TrainConfig(hidden=(10,), epochs=1, n_val=500), (X[:, :100], y, Xv, yv), slots=slots
    ).start()
    assert job.join(5)
    assert job.snapshot().status == "failed" and job.snapshot().message.startswith("Training failed:")
    assert slots.running == 0


def test_snapshots_are_consistent_while_training(small):
    config = TrainConfig(hidden=(16,), lr=0.05, epochs=3, batch_size=16, n_val=500, eval_every=10)
    job = make_job(config, small, slots=Slots(1)).start()
    seen = 0
    while not job.done:
        snap = job.snapshot()
        c = snap.history
        assert len(c.epoch) == len(c.train_loss)
        assert len(c.val_epoch) == len(c.val_loss) == len(c.val_accuracy)
        if c.steps:
            assert snap.progress.step == c.steps  # the report and the curve are of the same instant
            assert np.all(np.diff(c.epoch) > 0)
            assert not c.val_epoch or c.val_epoch[-1] <= c.epoch[-1] + 1e-9  # no check beyond the last step
            seen += 1
        c.train_loss[:] = [-1] * c.steps  # a snapshot is a copy: scribbling on it changes nothing
        time.sleep(0.001)  # a page reads a few times a second, not in a busy loop
    assert seen > 3
    final = job.snapshot().history
    assert final.steps == 3 * 125 and min(final.train_loss) > 0
    assert len(final.val_loss) == 37 + 2  # every 10 steps, plus the ends of epochs 1 and 3 (steps 125, 375)


@pytest.mark.skipif(
    not hasattr(os, "nice") or not NICE,
    reason="priorities are a Unix feature (and DIGITNET_TRAINING_NICE=0 turns them off)",
)
def test_training_runs_in_its_own_process_at_a_lower_cpu_priority(small):
    job = make_job(long_config(lr=0.001), small, slots=Slots(1)).start()
    assert wait_for(lambda: job.snapshot().history.steps > 0, timeout=15)
    assert job.worker_pid not in (None, os.getpid())
    # 19 is the lowest priority there is: under `nice -n 10 pytest` the worker cannot go 10 lower
    lower = min(19, os.getpriority(os.PRIO_PROCESS, 0) + NICE)
    assert os.getpriority(os.PRIO_PROCESS, job.worker_pid) == lower
    if hasattr(os, "SCHED_IDLE"):  # Linux: a page's thread takes a core from a training at once
        assert os.sched_getscheduler(job.worker_pid) == os.SCHED_IDLE
    job.stop()
    assert job.join(JOINED)


def test_a_step_too_big_for_a_shared_machine_is_refused_in_a_sentence():
    check_affordable(TrainConfig(hidden=(10,), batch_size=None), 55000)  # the notes' full batch: fine
    with pytest.raises(ValueError, match="batch size of at most"):
        check_affordable(TrainConfig(hidden=(256, 128), batch_size=None), 55000)
    with pytest.raises(ValueError, match="too many to train"):
        check_affordable(TrainConfig(hidden=(4096,), batch_size=128), 55000)


def test_a_job_on_shared_data_trains_in_its_worker(small):
    X, y, Xv, yv = small
    views = shared.share({"X": X, "y": y, "Xv": Xv, "yv": yv})
    assert all(isinstance(shared.ref(a), shared.SharedRef) for a in views.values())
    job = make_job(
        TrainConfig(hidden=(16,), lr=0.1, epochs=1, batch_size=64, n_val=500),
        tuple(views.values()),
        slots=Slots(1),
    )
    assert job.start().join(30)
    assert job.snapshot().status == "finished" and job.net.accuracy(Xv.T, yv) > 0.5


@pytest.mark.skipif(os.name != "posix", reason="signals")
def test_a_worker_killed_from_outside_is_a_sentence_in_the_log_not_a_traceback(small, caplog):
    """The server stopping (or the system out of memory) kills the training process with a
    signal: not a bug of ours, so the log says it in a line; the page says the run failed."""
    import signal

    job = make_job(long_config(lr=0.001), small, slots=Slots(1)).start()
    assert wait_for(lambda: job.snapshot().history.steps > 0, timeout=15)
    with caplog.at_level("WARNING", logger="digitnet.jobs.job"):
        os.kill(job.worker_pid, signal.SIGTERM)
        assert job.join(JOINED)
    snap = job.snapshot()
    assert snap.status == "failed" and "ended unexpectedly (exit code -15)" in snap.message
    said = [r for r in caplog.records if "ended unexpectedly" in r.getMessage()]
    assert said and all(r.exc_info is None for r in said), said
