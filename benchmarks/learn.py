"""How long Teach and Step take, printed as numbers (python benchmarks/learn.py).

Teach: the default model (784-800-10) taught drawings made like mouse strokes on the
canvas (benchmarks/canvas_sets.py, through digitnet.preprocess), each as another digit
than the one drawn: the hard case, the network was usually sure. Timed as the app
does it: the fine-tuning, and the MNIST validation accuracy after it (5,000 digits);
the accuracy before is computed once per model and kept. Also: how often the drawing
flipped, and how far the validation accuracy fell.

Step: one press of Step (and of Step x10) as the app does it, the validation check
included, for the sidebar's default (784-10-10, batch all: the notes' full-batch
descent) and two mini-batch settings. One BLAS thread, as in the app.

Wall-clock seconds and CPU seconds: on a machine busy with other work the first
grow with the load; the second are close to what an idle machine takes.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from canvas_sets import make_strokes  # noqa: E402

from digitnet.data import load_mnist, to_unit  # noqa: E402
from digitnet.model_io import load  # noqa: E402
from digitnet.preprocess import from_canvas  # noqa: E402
from digitnet.step import Stepper, take_steps  # noqa: E402
from digitnet.teach import teach  # noqa: E402

N_VAL = 5000


def bench_teach(n: int, seed: int) -> None:
    data = load_mnist()
    X, y, X_val, y_val = data.split(N_VAL)
    X_val = to_unit(X_val).T
    net, _ = load()
    before = net.accuracy(X_val, y_val)
    canvases, labels = make_strokes(n, seed)
    rng = np.random.default_rng(seed)
    fine, total, cpu, drops, steps, flipped = [], [], [], [], [], 0
    for rgba, drawn in zip(canvases, labels, strict=True):
        image = from_canvas(rgba).image28
        label = int((drawn + rng.integers(1, 10)) % 10)
        start, start_cpu = time.perf_counter(), time.process_time()
        taught = teach(net, image, label, X, y, seed=0)
        after = taught.net.accuracy(X_val, y_val)
        total.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        fine.append(taught.seconds)
        drops.append(100 * (before - after))
        steps.append(taught.steps)
        flipped += taught.learnt
    print(
        f"Teach, {n} stroke drawings each taught as another digit, "
        f"default model {'-'.join(map(str, net.sizes))}:"
    )
    print(f"  read as the taught digit afterwards: {flipped} of {n}")
    print(
        f"  MNIST validation accuracy {before:.2%} before; drop in points: "
        f"median {statistics.median(drops):.2f}, "
        f"max {max(drops):.2f}; within 0.5 points: {sum(d <= 0.5 for d in drops)} of {n}"
    )
    print(f"  steps: median {statistics.median(steps):.0f}, max {max(steps)}")
    print(f"  fine-tuning alone: median {statistics.median(fine):.3f} s, max {max(fine):.3f} s")
    print(
        f"  Teach as pressed (fine-tuning + validation after): median {statistics.median(total):.3f} s, "
        f"max {max(total):.3f} s (target <= 1 s)"
    )
    print(f"  the same in CPU time (one thread): median {statistics.median(cpu):.3f} s, max {max(cpu):.3f} s")


def bench_step(rounds: int) -> None:
    data = load_mnist()
    X, y, X_val, y_val = data.split(N_VAL)
    X_val = to_unit(X_val).T
    x = X_val[:, :1]
    print("Step, one press as the app does it (the steps, then the validation check):")
    for hidden, batch in (((10,), None), ((10,), 128), ((800,), 128)):
        stepper = Stepper.new(hidden, 0.1, batch, seed=0)
        for n in (1, 10):
            times, cpu = [], []
            for _ in range(rounds):
                start, start_cpu = time.perf_counter(), time.process_time()
                take_steps(stepper, X, y, n, x)
                stepper.net.accuracy(X_val, y_val)
                times.append(time.perf_counter() - start)
                cpu.append(time.process_time() - start_cpu)
            name = f"784-{'-'.join(map(str, hidden))}-10, batch {batch or 'all'}"
            print(
                f"  {name:28s} Step{' x10' if n == 10 else '    '}: median {statistics.median(times):.3f} s "
                f"({statistics.median(cpu):.3f} s CPU)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=20, help="drawings to teach")
    parser.add_argument("--rounds", type=int, default=5, help="presses of Step per setting")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with threadpool_limits(1):
        bench_teach(args.n, args.seed)
        bench_step(args.rounds)


if __name__ == "__main__":
    main()
