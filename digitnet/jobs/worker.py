"""One training in its own process: `python -m digitnet.jobs.worker NICE`, started by a job.

It receives one Job on stdin, trains, and sends Reports, then Done or Failed, on
stdout (digitnet.jobs.protocol). A plain subprocess rather than multiprocessing:
under `streamlit run`, the script's module is registered as __main__, and
multiprocessing's "spawn" would run the whole app again in every worker.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import traceback

from ..network import Network, layer_sizes
from ..train import History, Progress, train
from . import shared
from .budget import limit_blas_threads
from .protocol import PARAMS_EVERY, REPORT_EVERY, Done, Failed, Report, receive, send


def yield_to_the_pages(nice: int) -> None:
    """Train on the CPU the server's pages leave. Unix: a lower priority (nice). Linux also:
    the idle scheduling class, so that a page's thread woken by a stroke takes a core from a
    training at once, not after its share. With a class on one server, the pages' threads
    wake a hundred times a second, each for a few milliseconds; among trainings that keep
    both cores busy, waiting for a core made a drawing's answer take seconds (issue 17,
    benchmarks/RESULTS.md)."""
    if hasattr(os, "nice"):
        try:
            os.nice(nice)
        except OSError:
            pass
    if hasattr(os, "SCHED_IDLE"):
        try:
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
        except OSError:
            pass


def main() -> None:
    reports = os.fdopen(os.dup(1), "wb")  # the reports keep the real stdout...
    os.dup2(2, 1)  # ...and anything else printed goes to stderr
    nice = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    if nice:
        yield_to_the_pages(nice)
    limit_blas_threads(1)  # one core per training

    job = receive(sys.stdin.buffer)
    stop = threading.Event()
    # os.read, not sys.stdin: a thread still blocked in a buffered read when the
    # process exits would hold its lock, and Python aborts at shutdown.
    threading.Thread(target=lambda: (os.read(sys.stdin.fileno(), 1), stop.set()), daemon=True).start()
    try:
        X, y, X_val, y_val = (shared.resolve(r) for r in job.data)
        net = Network(layer_sizes(job.config.hidden), job.params)
        reporter = _Reporter(reports, net)
        result = train(
            net, X, y, X_val, y_val, job.config, reporter.on_progress, stop.is_set, history=reporter.history
        )
        reporter.send()  # the last steps
        send(reports, Done(result.status, result.message, result.seconds, result.epochs, net.params))
    except Exception as e:  # said on the page by the server; the details go to the server's log
        traceback.print_exc()
        send(reports, Failed(f"{type(e).__name__}: {e}"))


class _Reporter:
    """Sends the curves since the last report every REPORT_EVERY seconds and at every
    check, with a copy of the weights every PARAMS_EVERY seconds."""

    def __init__(self, stream, net: Network):
        self.stream, self.net = stream, net
        self.history = History()  # train() appends to it
        self.progress: Progress | None = None
        self.sent_steps = self.sent_checks = 0
        self.last_report = self.last_params = 0.0

    def on_progress(self, p: Progress) -> None:
        self.progress = p
        now = time.monotonic()
        if now - self.last_report >= REPORT_EVERY or p.val_loss is not None:
            params = None
            if now - self.last_params >= PARAMS_EVERY:
                params, self.last_params = {k: v.copy() for k, v in self.net.params.items()}, now
            self.send(params)
            self.last_report = now

    def send(self, params=None) -> None:
        """The history since the last report (if anything is new), with `params` if given."""
        h = self.history
        if self.progress is None or h.steps == self.sent_steps:
            return
        send(self.stream, Report(self.progress, h.since(self.sent_steps, self.sent_checks), params))
        self.sent_steps, self.sent_checks = h.steps, h.checks


if __name__ == "__main__":
    main()
