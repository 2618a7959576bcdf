"""Seconds the training augmentation takes per mini-batch (python benchmarks/augment_speed.py [BATCH ...]).

The training loop calls digitnet.augment.Augment once per mini-batch; this
prints how long that takes over the 60,000 images' worth of random batches.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere without installing

from digitnet.augment import N_PIXELS, Augment  # noqa: E402


def seconds_per_epoch(batch: int, n: int = 60_000, seed: int = 0) -> float:
    rng = np.random.default_rng(seed)
    X = rng.random((n, N_PIXELS), dtype=np.float32)
    augment = Augment()
    augment(X[:batch], rng)  # warm-up: the workspace is allocated once
    start = time.perf_counter()
    for i in range(0, n, batch):
        augment(X[i : i + batch], rng)
    return time.perf_counter() - start


if __name__ == "__main__":
    for batch in (int(a) for a in (sys.argv[1:] or ["128", "256", "1000"])):
        took = seconds_per_epoch(batch)
        per_batch = took / (60_000 / batch) * 1e3
        print(f"60000 images in batches of {batch}: {took:.3f} s ({per_batch:.2f} ms per batch)")
