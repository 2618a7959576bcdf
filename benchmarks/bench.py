"""Speed and accuracy of DigitNet, printed as numbers (python benchmarks/bench.py).

Seconds per epoch over the 60,000 training images for the notes' 784-10-10
(batch 128 and full batch) and for the default model's architecture; test
accuracy; single-image predict latency including preprocessing; data load
time. Where PyTorch or scikit-learn are installed (pip install -r
benchmarks/requirements.txt), the same networks in them, in the same run, as
ratios; the ratio to PyTorch is the median of a few rounds of ours-then-PyTorch,
so that each compares runs made seconds apart, and the seed's net's seconds
per epoch the median of as many runs, beside the same step written as one
flat loop with every shortcut (what a NumPy step costs here at best). Timings
are on one BLAS thread unless stated (small matrices are faster on one
thread; see the "2 threads" rows).
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere without installing

from digitnet.data import PIXEL, load_mnist  # noqa: E402
from digitnet.fast import BLOCK, W_dot, dZ_dot_At  # noqa: E402
from digitnet.model_io import DEFAULT_MODEL, load  # noqa: E402
from digitnet.network import Network  # noqa: E402
from digitnet.preprocess import from_canvas  # noqa: E402
from digitnet.train import TrainConfig, _batch_reader, train  # noqa: E402


def median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def ours_epoch_seconds(data, sizes, batch_size, epochs, threads, lr=0.1, augment=False):
    """Mean seconds per epoch over all 60,000 training images (the training
    loop alone, with a validation check on 1,000 images per epoch), and the
    test accuracy."""
    X, y = (
        data.train_pixels,
        data.train_labels,
    )  # as the app and the command line train: uint8, scaled batch by batch
    X_val, y_val = data.test_images[:1000], data.test_labels[:1000]
    with threadpool_limits(threads):
        net = Network.init(sizes, seed=0)
        config = TrainConfig(hidden=sizes[1:-1], lr=lr, epochs=epochs, batch_size=batch_size, augment=augment)
        result = train(net, X, y, X_val, y_val, config)
    return result.seconds / result.epochs, net.accuracy(data.test_images.T, data.test_labels)


def floor_seconds(data, batch_size=128, repeats=5):
    """Two parts of every 784-10-10 step that no rewrite of the loop removes,
    per epoch: reading the shuffled batches out of the 47 MB of training pixels
    (bound by memory, not arithmetic; train()'s own reader), and the first
    layer's two long products W1 . X and dZ1 . X^T (the BLAS calls train() makes)."""
    X = data.train_pixels
    m = len(X)
    read_batch = _batch_reader(X, batch_size)
    perm = np.random.default_rng(0).permutation(m)
    starts = range(0, m - batch_size + 1, batch_size)
    rng = np.random.default_rng(1)
    W1, dZ1 = (
        rng.standard_normal((10, 784), dtype=np.float32),
        rng.standard_normal((10, batch_size), dtype=np.float32),
    )
    batch = read_batch(perm[:batch_size])

    def gather():
        for i in starts:
            read_batch(perm[i : i + batch_size])

    def products():
        for _ in starts:
            W_dot(W1, batch.T), dZ_dot_At(dZ1, batch.T)

    with threadpool_limits(1):
        return median_time(gather, repeats), median_time(products, repeats)


def flat_loop_seconds(data, fold_scale: bool, epochs: int, batch_size=128, lr=0.1) -> tuple[float, float]:
    """Train the seed's 784-10-10 for `epochs` epochs as one flat loop with every
    shortcut this benchmark's author found: no functions, dicts or history,
    every array preallocated and updated in place, the 1/m folded into dZ2 once.
    With `fold_scale` the pixels are not scaled to [0, 1] either: the 1/255 is
    applied to the 10 x m product W1 . X and to dW1 instead of to the 784 x m
    batch. This is what a NumPy step costs here at best, not a model for code
    (the library keeps the notes' equations as they are written): if this loop
    misses a target, no readable one meets it. The same maths as train() with
    plain gradient descent, within float rounding: the median seconds per
    epoch, and the test accuracy reached (so a broken loop shows)."""
    P, y = data.train_pixels, data.train_labels
    m, n = batch_size, len(y)
    rng = np.random.default_rng(0)
    W1, b1, W2, b2 = (
        Network.init((784, 10, 10), seed=0).params[k] for k in ("W1", "b1", "W2", "b2")
    )  # the library's start
    pixels, rows = np.empty((m, 784), np.uint8), np.empty((m, 784), np.float32)
    Z1, dW1, part = (
        np.empty((10, m), np.float32),
        np.empty((10, 784), np.float32),
        np.empty((10, 784), np.float32),
    )
    X, I, columns = rows.T, np.eye(10, dtype=np.float32), np.arange(m)
    blocks = [
        slice(i, i + BLOCK) for i in range(0, m, BLOCK)
    ]  # OpenBLAS's small-matrix kernel, as in digitnet.fast
    scale = PIXEL
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        perm = rng.permutation(n)
        for i in range(0, n - m + 1, m):
            idx = perm[i : i + m]
            np.take(P, idx, axis=0, out=pixels, mode="clip")
            np.copyto(rows, pixels)
            if not fold_scale:
                np.multiply(rows, scale, out=rows)
            for cols in blocks:
                np.matmul(W1, X[:, cols], out=Z1[:, cols])
            if fold_scale:
                np.multiply(Z1, scale, out=Z1)
            np.add(Z1, b1, out=Z1)
            A1 = np.maximum(Z1, 0)
            Z2 = np.matmul(W2, A1)
            np.add(Z2, b2, out=Z2)
            A2 = np.subtract(Z2, Z2.max(axis=0, keepdims=True))
            np.exp(A2, out=A2)
            np.divide(A2, np.add.reduce(A2, axis=0, keepdims=True), out=A2)
            labels = y[idx]
            loss = -np.log(np.maximum(A2[labels, columns], 1e-12)).sum() / m  # noqa: F841 (the loop computes it as train() does)
            dZ2 = np.subtract(A2, I.take(labels, axis=1), out=A2)
            np.multiply(dZ2, 1 / m, out=dZ2)
            dW2, db2 = np.matmul(dZ2, A1.T), np.add.reduce(dZ2, axis=1, keepdims=True)
            dZ1 = np.matmul(W2.T, dZ2)
            np.multiply(dZ1, Z1 > 0, out=dZ1)
            np.matmul(dZ1[:, blocks[0]], rows[blocks[0]], out=dW1)
            for cols in blocks[1:]:
                np.add(dW1, np.matmul(dZ1[:, cols], rows[cols], out=part), out=dW1)
            db1 = np.add.reduce(dZ1, axis=1, keepdims=True)
            np.multiply(dW1, lr * scale if fold_scale else lr, out=dW1)
            np.subtract(W1, dW1, out=W1)
            np.subtract(b1, lr * db1, out=b1)
            np.subtract(W2, lr * dW2, out=W2)
            np.subtract(b2, lr * db2, out=b2)
        times.append((time.perf_counter() - start) * n / (n - n % m))  # the loop skips the last partial batch
    Z1_test = W1 @ data.test_images.T + b1  # the test images are already in [0, 1]: the same W1 either way
    A2_test = W2 @ np.maximum(Z1_test, 0) + b2  # softmax left out: it keeps the argmax
    return statistics.median(times), float((A2_test.argmax(axis=0) == data.test_labels).mean())


def torch_epoch_seconds(data, sizes, batch_size, epochs, threads, lr=0.1):
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    X = torch.from_numpy(data.train_images.copy())  # writable copies: torch warns on read-only arrays
    y = torch.from_numpy(data.train_labels.copy())
    layers = []
    for n_in, n_out in itertools.pairwise(sizes):
        layers += [torch.nn.Linear(n_in, n_out), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1])
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    loss_fn = torch.nn.CrossEntropyLoss()
    m = len(y)
    bs = m if batch_size is None else batch_size
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        perm = torch.randperm(m)
        for i in range(0, m, bs):
            idx = perm[i : i + bs]
            optimizer.zero_grad()
            loss = loss_fn(model(X[idx]), y[idx])
            loss.backward()
            optimizer.step()
        times.append(time.perf_counter() - start)
    with torch.no_grad():
        accuracy = (
            model(torch.from_numpy(data.test_images.copy())).argmax(1).numpy() == data.test_labels
        ).mean()
    return statistics.median(times), float(accuracy)


def sklearn_epoch_seconds(data, hidden, batch_size, epochs, lr=0.1):
    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(
        hidden_layer_sizes=hidden,
        solver="sgd",
        learning_rate_init=lr,
        momentum=0.0,
        batch_size=batch_size or len(data.train_labels),
        random_state=0,
    )
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        clf.partial_fit(data.train_images, data.train_labels, classes=np.arange(10))
        times.append(time.perf_counter() - start)
    return statistics.median(times), float(clf.score(data.test_images, data.test_labels))


def predict_latency(net) -> float:
    """Median seconds for one 280x280 canvas, preprocessing plus the forward
    pass, over synthetic mouse-drawn digits (benchmarks/canvas_sets.py)."""
    from canvas_sets import make_strokes

    canvases, _ = make_strokes(40, seed=1)
    with threadpool_limits(1):  # as in the app: one BLAS thread (a second one only waits for a busy core)
        return statistics.median(
            median_time(lambda c=c: net.predict_proba(from_canvas(c).x), 20) for c in canvases
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5, help="epochs per timed run (default 5)")
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="runs of the seed's net, and ours-then-PyTorch rounds for the ratio (default 3)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="skip the default architecture and the other libraries"
    )
    parser.add_argument("--json", action="store_true", help="also print one JSON line of all figures")
    args = parser.parse_args()
    figures = {}

    def row(name, value, unit, note=""):
        figures[name] = value
        print(f"{name:58s} {value:10.4f} {unit:8s} {note}")

    load_s = median_time(load_mnist, 3)
    data = load_mnist()
    row("data load (4 gzipped IDX files, checked)", load_s, "s")

    seed_net = (784, 10, 10)
    # a few runs, the median reported: one run can land in one of this machine's slow spells
    # and, in the same rounds, the flat loop (flat_loop_seconds): the floor of a NumPy step here
    runs, flat, folded = [], [], []
    with threadpool_limits(1):
        for _ in range(args.rounds):
            runs.append(ours_epoch_seconds(data, seed_net, 128, args.epochs, threads=1))
            flat.append(flat_loop_seconds(data, fold_scale=False, epochs=args.epochs))
            folded.append(flat_loop_seconds(data, fold_scale=True, epochs=args.epochs))
    s128, acc128 = sorted(runs)[len(runs) // 2]
    row(
        "784-10-10 batch 128, 1 thread: seconds per epoch",
        s128,
        "s",
        f"target <= 0.05; runs: {', '.join(f'{r[0]:.3f}' for r in runs)}",
    )
    row(f"784-10-10 batch 128: test accuracy after {args.epochs} epochs", acc128, "", "target >= 0.92")
    for name, results in (
        ("pixels scaled as the library does", flat),
        ("1/255 folded into the products", folded),
    ):
        s_flat, acc_flat = sorted(results)[len(results) // 2]
        row(
            f"  flat loop, every shortcut, {name}",
            s_flat,
            "s",
            f"runs: {', '.join(f'{r[0]:.3f}' for r in results)} (test accuracy {acc_flat:.4f})",
        )
    row(
        "  ours / the flat loop (scaled), median round",
        statistics.median(r[0] / f[0] for r, f in zip(runs, flat, strict=True)),
        "x",
    )
    gather_s, products_s = floor_seconds(data)
    row("  of which: reading the shuffled batches", gather_s, "s", "(memory-bound)")
    row("  of which: the first layer's two products (BLAS)", products_s, "s")
    s128_2, _ = ours_epoch_seconds(data, seed_net, 128, args.epochs, threads=2)
    row("784-10-10 batch 128, 2 threads: seconds per epoch", s128_2, "s")
    sfull, accfull = ours_epoch_seconds(data, seed_net, None, 20, threads=1, lr=0.5)
    row("784-10-10 full batch, 1 thread: seconds per epoch (one step)", sfull, "s")
    row("784-10-10 full batch: test accuracy after 20 steps (alpha 0.5)", accfull, "")

    default_net, meta = load(DEFAULT_MODEL)
    latency = predict_latency(default_net)
    row(
        f"predict one 280x280 canvas, {'-'.join(map(str, default_net.sizes))} (preprocess + forward)",
        latency * 1000,
        "ms",
        "target <= 1",
    )

    if not args.quick:
        sizes, cfg = default_net.sizes, meta.get("config", {})
        bs = cfg.get("batch_size", 128)
        s_def, _ = ours_epoch_seconds(data, sizes, bs, 2, threads=2, lr=0.01)
        row(f"default {'-'.join(map(str, sizes))} batch {bs}, 2 threads: seconds per epoch", s_def, "s")
        s_aug, _ = ours_epoch_seconds(data, sizes, bs, 2, threads=2, lr=0.01, augment=True)
        row("  the same with augmentation (as the default model was trained)", s_aug, "s")
        row(
            "default model: test accuracy (shipped)",
            default_net.accuracy(data.test_images.T, data.test_labels),
            "",
        )
        try:
            import torch  # noqa: F401
        except ImportError:
            print(
                "(PyTorch not installed: pip install -r benchmarks/requirements.txt for the side-by-side "
                "rows)"
            )
        else:
            # This machine's speed drifts by a third over minutes, so each ratio
            # compares runs made seconds apart: ours, then PyTorch on 1 and on 2
            # threads, `--rounds` times; the median round is reported.
            rounds = []
            for _ in range(args.rounds):
                ours, _ = ours_epoch_seconds(data, seed_net, 128, args.epochs, threads=1)
                t1, tacc = torch_epoch_seconds(data, seed_net, 128, args.epochs, threads=1)
                t2, _ = torch_epoch_seconds(data, seed_net, 128, args.epochs, threads=2)
                rounds.append((ours / min(t1, t2), ours, t1, t2))
            ratio, ours, t1, t2 = sorted(rounds)[len(rounds) // 2]
            row(
                "PyTorch 784-10-10 batch 128, 1 thread: seconds per epoch",
                t1,
                "s",
                f"(test accuracy {tacc:.4f})",
            )
            row("PyTorch 784-10-10 batch 128, 2 threads: seconds per epoch", t2, "s")
            row("ours, 1 thread, in the same round", ours, "s")
            row(
                "ours / PyTorch's best, 784-10-10 batch 128 (median round)",
                ratio,
                "x",
                f"target <= 0.3; rounds: {', '.join(f'{r[0]:.2f}' for r in rounds)}",
            )
            td, _ = torch_epoch_seconds(data, sizes, bs, 2, threads=2, lr=0.01)
            row(f"PyTorch default {'-'.join(map(str, sizes))}, 2 threads: seconds per epoch", td, "s")
            row("ours / PyTorch, default architecture", s_def / td, "x")
        try:
            import sklearn  # noqa: F401
        except ImportError:
            print(
                "(scikit-learn not installed: pip install -r benchmarks/requirements.txt for the "
                "side-by-side rows)"
            )
        else:
            with threadpool_limits(1):
                k1, kacc = sklearn_epoch_seconds(data, (10,), 128, args.epochs)
            row(
                "scikit-learn MLPClassifier 784-10-10 batch 128, 1 thread",
                k1,
                "s",
                f"(test accuracy {kacc:.4f})",
            )
            row("ours / scikit-learn, 784-10-10 batch 128", s128 / k1, "x")
    if args.json:
        print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
