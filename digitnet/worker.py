"""One training in its own process: `python -m digitnet.worker`, started by digitnet.jobs.

It reads one job from stdin (pickled: config, initial weights, the data or
notes of where it lies in shared memory), trains, and writes pickled reports
to stdout: ("progress", (steps, weights or None)) every POLL seconds, then
("done", ...) or ("error", sentence). Anything arriving on stdin afterwards,
or stdin closing, asks it to stop before the next step, so a worker never
outlives the server that started it.

A plain subprocess rather than multiprocessing: under `streamlit run`, the
script's module is registered as __main__, and multiprocessing's "spawn" would
run the whole app again in every worker.
"""

from __future__ import annotations

import os
import pickle
import sys
import threading
import time

from . import shared
from .jobs import limit_blas_threads
from .network import Network, layer_sizes
from .train import Progress, train

POLL = 0.1  # seconds between progress reports
PARAMS_EVERY = 0.25  # seconds between copies of the weights (the page predicts with them)


def main() -> None:
    reports = os.fdopen(os.dup(1), "wb")  # the reports keep the real stdout...
    os.dup2(2, 1)  # ...and anything else printed goes to stderr

    def send(message) -> None:
        pickle.dump(message, reports, protocol=pickle.HIGHEST_PROTOCOL)
        reports.flush()

    nice = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    if nice and hasattr(os, "nice"):  # yield the CPU to the server (Unix)
        try:
            os.nice(nice)
        except OSError:
            pass
    limit_blas_threads(1)  # one core per training; small matrices are faster on one thread anyway

    config, params, data = pickle.load(sys.stdin.buffer)
    stop = threading.Event()
    # os.read, not sys.stdin: a thread still blocked in a buffered read when the
    # process exits would hold its lock, and Python aborts at shutdown.
    threading.Thread(target=lambda: (os.read(sys.stdin.fileno(), 1), stop.set()), daemon=True).start()

    try:
        X, y, X_val, y_val = (shared.resolve(r) for r in data)
        net = Network(layer_sizes(config.hidden), params)
        pending: list[Progress] = []
        last = {"report": 0.0, "params": 0.0}

        def on_progress(p: Progress) -> None:
            pending.append(p)
            now = time.monotonic()
            if now - last["report"] >= POLL or p.val_loss is not None:
                weights = None
                if now - last["params"] >= PARAMS_EVERY:
                    weights, last["params"] = {k: v.copy() for k, v in net.params.items()}, now
                send(("progress", (pending[:], weights)))
                pending.clear()
                last["report"] = now

        result = train(net, X, y, X_val, y_val, config, on_progress, stop.is_set)
        if pending:
            send(("progress", (pending[:], None)))
        send(
            (
                "done",
                (
                    result.status,
                    result.message,
                    result.seconds,
                    result.epochs,
                    result.net.params,
                    result.history,
                ),
            )
        )
    except Exception as e:  # said on the page by the server; the details go to the server's log
        import traceback

        traceback.print_exc()
        send(("error", f"{type(e).__name__}: {e}"))


if __name__ == "__main__":
    main()
