"""Canvas-like test sets: does a digit drawn in the app get read right?

A network at ~98 % on MNIST's test set can still misread most drawings if the
drawing is not turned into an MNIST-like image first.  This script builds
three seeded test sets that look like what the app receives, and reports
the accuracy of a model on each, through `digitnet.preprocess` and through the
naive "resize the whole canvas to 28x28" that most demos use:

  (1) redrawn   MNIST test digits re-drawn as a canvas shows them: 280x280,
                random size and position, strokes thickened or thinned, white
                on black RGBA                                  -> from_canvas
  (2) strokes   synthetic mouse strokes: per-digit polyline templates with
                jitter, size, position, slant, pen 10-30 px, round joints,
                white on black RGBA 280x280                    -> from_canvas
  (3) paper     (1)/(2) as dark ink on unevenly lit grey paper with noise,
                RGB, some JPEG-compressed, various sizes       -> from_image

Usage:  python benchmarks/canvas_sets.py [--model assets/default_model.npz] [--n 1000] [--seed 0]
                                          [--misread DIR]  (PNGs of the misread drawings)
"""

from __future__ import annotations

import argparse
import io
import sys
import timeit
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from digitnet import preprocess  # noqa: E402
from digitnet.data import MNIST_DIR, read_idx  # noqa: E402
from digitnet.model_io import load  # noqa: E402

CANVAS = 280


# ----------------------------------------------------------------------------- data and model


def mnist_test() -> tuple[np.ndarray, np.ndarray]:
    """The 10,000 test digits as uint8 28x28 images, and their labels."""
    return read_idx(MNIST_DIR / "t10k-images-idx3-ubyte.gz"), read_idx(
        MNIST_DIR / "t10k-labels-idx1-ubyte.gz"
    )


def _predict(model_path: str | Path, X: np.ndarray) -> np.ndarray:
    """Class per column of X (784 x m, floats in [0, 1])."""
    return load(model_path)[0].predict(X.astype(np.float32))


# ----------------------------------------------------------------------------- (1) redrawn MNIST


def _rgba_white_on_black(ink: np.ndarray) -> np.ndarray:
    """uint8 ink (HxW) -> the app canvas's image_data: white pen on opaque black."""
    rgba = np.empty(ink.shape + (4,), np.uint8)
    rgba[..., 0] = rgba[..., 1] = rgba[..., 2] = ink
    rgba[..., 3] = 255
    return rgba


def make_redrawn(n: int, seed: int = 0) -> tuple[list[np.ndarray], np.ndarray]:
    """n MNIST test digits upscaled onto a 280x280 canvas: digit height 60-250 px,
    random position, solid strokes (thresholded like a pen), dilated or eroded."""
    images, labels = mnist_test()
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(images), n, replace=False)
    out = []
    for i in idx:
        d = images[i]
        rows, cols = np.flatnonzero(d.any(1)), np.flatnonzero(d.any(0))
        d = d[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
        height = rng.uniform(60, 250)
        s = height / d.shape[0]
        w, h = max(2, round(d.shape[1] * s)), max(2, round(d.shape[0] * s))
        if w > CANVAS - 4:  # a wide digit must still fit
            w, h = CANVAS - 4, max(2, round(h * (CANVAS - 4) / w))
        big = Image.fromarray(d).resize((w, h), Image.Resampling.BICUBIC)
        pen = rng.uniform(70, 150)
        big = big.point([255 if v > pen else 0 for v in range(256)])  # a pen's solid stroke
        k = int(rng.integers(-2, 4)) * max(1, round(s / 4))  # thinner .. much thicker
        if k:
            big = big.filter((ImageFilter.MaxFilter if k > 0 else ImageFilter.MinFilter)(2 * abs(k) + 1))
        big = big.filter(ImageFilter.GaussianBlur(0.8))  # anti-aliased edges
        canvas = Image.new("L", (CANVAS, CANVAS), 0)
        canvas.paste(big, (int(rng.integers(0, CANVAS - w + 1)), int(rng.integers(0, CANVAS - h + 1))))
        out.append(_rgba_white_on_black(np.asarray(canvas)))
    return out, labels[idx].astype(int)


# ----------------------------------------------------------------------------- (2) synthetic strokes

# Per digit, a few ways people draw it: each a list of strokes, each stroke a
# list of (x, y) control points in a unit box (y down).  Smoothed by Catmull-Rom.
TEMPLATES: dict[int, list[list[list[tuple[float, float]]]]] = {
    0: [
        [
            [
                (0.5, 0),
                (0.15, 0.15),
                (0.02, 0.5),
                (0.15, 0.87),
                (0.5, 1),
                (0.85, 0.87),
                (0.98, 0.5),
                (0.85, 0.13),
                (0.5, 0),
                (0.3, 0.06),
            ]
        ]
    ],
    1: [
        [[(0.5, 0), (0.5, 1)]],
        [[(0.2, 0.2), (0.55, 0), (0.55, 1)]],
        [[(0.2, 0.2), (0.55, 0), (0.55, 1)], [(0.2, 1), (0.85, 1)]],
    ],
    2: [
        [
            [
                (0.08, 0.25),
                (0.3, 0.03),
                (0.6, 0.0),
                (0.85, 0.15),
                (0.85, 0.4),
                (0.55, 0.68),
                (0.05, 1),
                (0.5, 0.98),
                (0.95, 1),
            ]
        ],
        [[(0.1, 0.2), (0.5, 0), (0.9, 0.25), (0.75, 0.55), (0.1, 0.95), (0.15, 1.0), (0.95, 0.95)]],
    ],
    3: [
        [
            [
                (0.1, 0.12),
                (0.45, 0),
                (0.8, 0.08),
                (0.85, 0.28),
                (0.5, 0.47),
                (0.85, 0.62),
                (0.9, 0.85),
                (0.55, 1),
                (0.08, 0.9),
            ]
        ],
        [[(0.1, 0), (0.9, 0), (0.45, 0.42), (0.85, 0.6), (0.85, 0.88), (0.5, 1), (0.1, 0.9)]],
    ],
    4: [
        [[(0.65, 0), (0.05, 0.65), (0.95, 0.65)], [(0.7, 0.3), (0.7, 1)]],
        [[(0.15, 0), (0.1, 0.55), (0.9, 0.55)], [(0.75, 0), (0.75, 1)]],
    ],
    5: [
        [[(0.85, 0), (0.2, 0), (0.15, 0.45), (0.55, 0.38), (0.85, 0.55), (0.88, 0.8), (0.55, 1), (0.1, 0.9)]],
        [
            [(0.2, 0), (0.15, 0.45), (0.55, 0.38), (0.85, 0.55), (0.88, 0.8), (0.55, 1), (0.1, 0.9)],
            [(0.2, 0), (0.9, 0)],
        ],
    ],
    6: [
        [
            [
                (0.8, 0.02),
                (0.45, 0.05),
                (0.18, 0.35),
                (0.1, 0.7),
                (0.3, 0.97),
                (0.65, 0.97),
                (0.85, 0.75),
                (0.65, 0.52),
                (0.3, 0.55),
                (0.12, 0.72),
            ]
        ]
    ],
    7: [
        [[(0.05, 0), (0.95, 0), (0.35, 1)]],
        [[(0.05, 0), (0.95, 0), (0.35, 1)], [(0.3, 0.5), (0.85, 0.5)]],
        [[(0.05, 0.1), (0.05, 0), (0.95, 0), (0.6, 0.5), (0.55, 1)]],
    ],
    8: [
        [
            [
                (0.8, 0.1),
                (0.5, 0),
                (0.2, 0.1),
                (0.25, 0.32),
                (0.5, 0.47),
                (0.85, 0.68),
                (0.75, 0.95),
                (0.5, 1),
                (0.2, 0.92),
                (0.15, 0.7),
                (0.5, 0.47),
                (0.78, 0.3),
                (0.8, 0.1),
            ]
        ]
    ],
    9: [
        [
            [
                (0.85, 0.15),
                (0.55, 0),
                (0.2, 0.05),
                (0.12, 0.3),
                (0.4, 0.48),
                (0.8, 0.35),
                (0.85, 0.15),
                (0.82, 0.6),
                (0.75, 1),
            ]
        ],
        [
            [(0.85, 0.2), (0.5, 0), (0.15, 0.15), (0.25, 0.45), (0.7, 0.4), (0.85, 0.2)],
            [(0.85, 0.2), (0.85, 1)],
        ],
    ],
}


def _catmull_rom(p: np.ndarray, per: int = 8) -> np.ndarray:
    """A smooth curve through the control points (what a hand on a mouse does)."""
    if len(p) < 3:
        return p
    q = np.vstack([p[0], p, p[-1]])
    t = np.linspace(0, 1, per, endpoint=False)[:, None]
    seg = []
    for i in range(1, len(q) - 2):
        p0, p1, p2, p3 = q[i - 1], q[i], q[i + 1], q[i + 2]
        seg.append(
            0.5
            * (
                (2 * p1)
                + (-p0 + p2) * t
                + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2
                + (-p0 + 3 * p1 - 3 * p2 + p3) * t**3
            )
        )
    return np.vstack(seg + [p[-1:]])


def draw_strokes(strokes, rng: np.random.Generator, size: int = CANVAS) -> np.ndarray:
    """Random size, aspect, slant, rotation, position and pen (10-30 px, round
    joints and caps), anti-aliased by drawing at 2x and area-downsampling."""
    pen = rng.uniform(10, 30)
    height = rng.uniform(max(70, 3.5 * pen), 250)
    width = height * rng.uniform(0.5, 0.85)
    slant, rot = rng.uniform(-0.3, 0.3), rng.uniform(-0.15, 0.15)
    c, s = np.cos(rot), np.sin(rot)
    pts = []
    for stroke in strokes:
        p = np.asarray(stroke, float) + rng.normal(0, 0.035, (len(stroke), 2))
        p = _catmull_rom(p)
        x, y = (p[:, 0] - 0.5) * width, (p[:, 1] - 0.5) * height
        x = x - slant * y
        pts.append(np.stack([c * x - s * y, s * x + c * y], 1))
    allp = np.vstack(pts)
    lo, hi = allp.min(0) - pen / 2, allp.max(0) + pen / 2
    span = hi - lo
    fit = min(1.0, (size - 4) / span.max())  # shrink if it would not fit
    off = np.array([rng.uniform(2, size - 2 - span[0] * fit), rng.uniform(2, size - 2 - span[1] * fit)])
    ss = 2
    img = Image.new("L", (size * ss, size * ss), 0)
    dr = ImageDraw.Draw(img)
    for p in pts:
        p = ((p - lo) * fit + off) * ss
        r = pen * fit * ss / 2
        dr.line([tuple(v) for v in p], fill=255, width=max(1, round(2 * r)), joint="curve")
        for v in (p[0], p[-1]):  # round caps
            dr.ellipse([v[0] - r, v[1] - r, v[0] + r, v[1] + r], fill=255)
    return np.asarray(img.reduce(ss))


def make_strokes(n: int, seed: int = 0) -> tuple[list[np.ndarray], np.ndarray]:
    rng = np.random.default_rng(seed + 1000)
    labels = rng.integers(0, 10, n)
    out = []
    for d in labels:
        variants = TEMPLATES[int(d)]
        out.append(_rgba_white_on_black(draw_strokes(variants[rng.integers(len(variants))], rng)))
    return out, labels.astype(int)


# ----------------------------------------------------------------------------- (3) paper photos


def to_paper(ink: np.ndarray, rng: np.random.Generator) -> Image.Image:
    """A white-on-black ink map -> an RGB 'photo' of dark ink on grey paper:
    uneven lighting (gradient + shadow), ink that is not black, sensor noise,
    a little blur, random size, and half of them through JPEG."""
    h, w = ink.shape
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    paper = rng.uniform(150, 235) + rng.uniform(-40, 40) * (xx - 0.5) + rng.uniform(-40, 40) * (yy - 0.5)
    cx, cy, r = rng.uniform(0, 1, 3)
    paper = paper - rng.uniform(0, 45) * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (0.1 + r * 0.3))
    ink_level = rng.uniform(10, 90)
    a = ink.astype(np.float64) / 255.0
    grey = paper * (1 - a) + ink_level * a
    tint = rng.uniform(0.92, 1.05, 3)
    rgb = grey[..., None] * tint + rng.normal(0, rng.uniform(2, 9), (h, w, 3))
    img = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8), "RGB").filter(
        ImageFilter.GaussianBlur(rng.uniform(0, 1.2))
    )
    side = int(rng.integers(200, 700))
    img = img.resize((side, side), Image.Resampling.BILINEAR)
    if rng.random() < 0.5:
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=int(rng.integers(60, 95)))
        img = Image.open(io.BytesIO(buf.getvalue()))
    return img


def paper_photos(n: int, seed: int = 0):
    """-> (the paper set's photos, made one at a time as they are read, and their labels):
    10,000 photos held at once would take some 6 GB."""
    rng = np.random.default_rng(seed + 2000)
    a, la = make_redrawn(n - n // 2, seed + 3000)
    b, lb = make_strokes(n // 2, seed + 4000)
    return (to_paper(c[..., 0], rng) for c in a + b), np.concatenate([la, lb])


# ----------------------------------------------------------------------------- evaluation


def naive(img: np.ndarray | Image.Image, invert: bool = False) -> np.ndarray:
    """What most demos do: the whole picture, greyscale, resized to 28x28."""
    im = Image.fromarray(img[..., :3]).convert("L") if isinstance(img, np.ndarray) else img.convert("L")
    a = np.asarray(im.resize((28, 28), Image.Resampling.LANCZOS), np.float32) / 255.0
    return (1.0 - a if invert else a).reshape(784, 1)


def evaluate(model: str, items, labels, prep, naive_invert: bool, misread: Path | None = None):
    """-> (accuracy with preprocessing, naive accuracy, number refused as no-ink).
    A refusal counts as wrong.  Items are read once, in turn (a generator will do).
    With `misread`, the misread drawings are saved there as one PNG grid (see misread_grid)."""
    cols, naive_cols, ok, seen, thumbs = [], [], [], [], []
    for it in items:
        r = prep(it)
        ok.append(r.has_ink)
        cols.append(r.x if r.has_ink else np.zeros((784, 1), np.float32))
        naive_cols.append(naive(it, naive_invert))
        if misread is not None:
            seen.append(r.image28 if r.has_ink else np.zeros((28, 28), np.uint8))
            thumbs.append(_thumbnail(it))
    pred = _predict(model, np.hstack(cols))
    right = (pred == labels) & np.array(ok)
    if misread is not None and not right.all():
        misread_grid(thumbs, labels, pred, seen, np.flatnonzero(~right)).save(misread)
    nacc = float((_predict(model, np.hstack(naive_cols)) == labels).mean())
    return float(right.mean()), nacc, int((~np.array(ok)).sum())


CELL = 112  # px: a drawing's side in the misread grid


def _thumbnail(it: np.ndarray | Image.Image) -> Image.Image:
    drawing = Image.fromarray(it[..., 0]) if isinstance(it, np.ndarray) else it.convert("L")
    return drawing.resize((CELL - 2, CELL - 2))


def misread_grid(thumbs, labels, pred, seen, wrong, cell: int = CELL, per_row: int = 5) -> Image.Image:
    """Each misread drawing (its thumbnail) beside the 28x28 image the network read
    (enlarged), captioned "#index label->read"."""
    rows = -(-len(wrong) // per_row)
    grid = Image.new("L", (2 * cell * per_row, rows * (cell + 14)), 60)
    draw = ImageDraw.Draw(grid)
    for k, i in enumerate(wrong):
        x, y = 2 * cell * (k % per_row), (cell + 14) * (k // per_row)
        grid.paste(thumbs[i], (x, y))
        grid.paste(
            Image.fromarray(seen[i]).resize((cell - 2, cell - 2), Image.Resampling.NEAREST), (x + cell, y)
        )
        draw.text((x + 2, y + cell - 1), f"#{i} {labels[i]}->{pred[i]}", fill=255)
    return grid


def time_canvas(canvases: list[np.ndarray], k: int = 50) -> float:
    """Median microseconds of from_canvas per 280x280 canvas."""
    per = [
        min(timeit.repeat(lambda c=c: preprocess.from_canvas(c), number=5, repeat=3)) / 5
        for c in canvases[:k]
    ]
    return float(np.median(per) * 1e6)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(ROOT / "assets" / "default_model.npz"))
    ap.add_argument("--n", type=int, default=1000, help="digits per set")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--misread",
        type=Path,
        metavar="DIR",
        help="save each set's misread drawings as DIR/<set>-seed<S>.png",
    )
    args = ap.parse_args(argv)
    if not Path(args.model).exists():
        print(f"No model file at {args.model}; train one or pass --model.", file=sys.stderr)
        return 2
    images, labels = mnist_test()
    mnist_acc = float((_predict(args.model, images.reshape(-1, 784).T / np.float32(255)) == labels).mean())
    print(f"model {args.model}: MNIST test accuracy {mnist_acc:.2%}")
    print(
        f"{'set':10s} {'n':>5s} {'preprocess':>11s} {'naive':>7s} {'no-ink':>7s}   (naive = whole picture "
        "resized to 28x28; no-ink counts as wrong)"
    )
    # one set at a time, each made as it is read: 10,000 drawings of each held at once took 14 GB
    sets = [
        ("redrawn", lambda: make_redrawn(args.n, args.seed), preprocess.from_canvas, False),
        ("strokes", lambda: make_strokes(args.n, args.seed), preprocess.from_canvas, False),
        ("paper", lambda: paper_photos(args.n, args.seed), preprocess.from_image, True),
    ]
    if args.misread:
        args.misread.mkdir(parents=True, exist_ok=True)
    for name, make, prep, inv in sets:
        png = args.misread / f"{name}-seed{args.seed}.png" if args.misread else None
        acc, nacc, refused = evaluate(args.model, *make(), prep, inv, png)
        print(
            f"{name:10s} {args.n:5d} {acc:11.2%} {nacc:7.2%} {refused:7d}   ({100 * (acc - mnist_acc):+.1f} "
            "points vs MNIST)"
        )
    canv = make_redrawn(50, args.seed)[0] + make_strokes(50, args.seed)[0]
    print(f"preprocessing time per 280x280 canvas: median {time_canvas(canv, 100):.0f} us")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
