"""MNIST digits as the app's canvas gives them: drawn with a solid pen, read back
through the app's own preprocessing.

Why: the network never reads a drawing as it is. digitnet.preprocess first makes
it MNIST-like (cropped, its stroke brought into MNIST's range of widths, scaled
to 20 px and centred by mass), but what it starts from is not a pencil on paper:
a mouse or a finger draws a solid stroke, all ink or none, at any size. The
MNIST digit is a scanned pencil line whose grey edges fade out. What is left of
that difference after preprocessing is what the network misreads most on the
canvas sets (benchmarks/RESULTS.md): a stroke thinned where the pencil was light
until it breaks into beads, a loop a broad pen fills in, edges anti-aliased by
our resize and not by a scanner. MNIST never shows the network any of it.

So each training digit is drawn again, DRAWINGS times, each time with a pen of its own:
    1. enlarged 3-6 times, bicubically (a digit on the 280-px canvas is 60-250 px
       tall, so its strokes are 10-30 px wide, not 2-3);
    2. cut at a random level of its grey: ink where the pencil was darker than
       the level, none elsewhere. A low level is a broad pen, a high one a fine
       pen, which breaks where the pencil was light;
    3. its stroke made up to a pixel wider or narrower (in 28-px units), with a
       round pen: a narrow one breaks a light stroke into beads, a broad one
       fills a small loop;
    4. read back by preprocess.to_mnist, the path every drawing takes in the app.
A fraction of every mini-batch is swapped for one of a digit's drawings, picked
at random (TrainConfig.pen), and then distorted like the rest (digitnet.augment,
digitnet.elastic): a pen-drawn digit is a digit the app sees, not a distortion
of one. Three drawings, not one: where a stroke breaks depends on the pen, and
a network shown one break per digit learns that break.

Made once before training, ~0.4 ms a drawing (~65 s for MNIST's 55,000 digits
three times), with a generator of their own, so the same seed gives the same
drawings.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from .data import SIDE
from .preprocess import to_mnist
from .preprocess.mnist import round_morph, zero_pad

ENLARGE = (3.0, 6.0)  # x its size: MNIST's 20-px digit 60-120 px tall, as drawn on the canvas
LEVEL = (40, 210)  # where the pencil's grey (0-255) is cut into pen and paper
WIDEN = (-1.0, 1.0)  # the pen's stroke this much wider (or narrower) a side, in 28-px pixels
DRAWINGS = 3  # drawings of each training digit, one picked each time it is swapped


def redraw(rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each digit of rows (m x 784: uint8 pixels, or floats in [0, 1]) drawn with a
    solid pen and read back through the app's preprocessing -> uint8 (m x 784).
    A digit the cut leaves no ink of (a faint one cut high) stays as it was."""
    pixels = rows if rows.dtype == np.uint8 else np.round(np.clip(rows, 0, 1) * 255).astype(np.uint8)
    out = pixels.copy()
    enlarge = rng.uniform(*ENLARGE, len(rows))
    level = rng.uniform(*LEVEL, len(rows))
    widen = rng.uniform(*WIDEN, len(rows))
    for i, digit in enumerate(pixels.reshape(-1, SIDE, SIDE)):
        drawn = pen_drawn(digit, enlarge[i], level[i], widen[i])
        if drawn is not None:
            out[i] = drawn.reshape(-1)
    return out


def pen_drawn(digit: np.ndarray, enlarge: float, level: float, widen: float = 0.0) -> np.ndarray | None:
    """One 28x28 uint8 digit drawn at `enlarge` times its size with the pencil's
    grey cut at `level` -> the 28x28 image the app would make of it (None: no ink)."""
    rows, cols = np.flatnonzero(digit.any(axis=1)), np.flatnonzero(digit.any(axis=0))
    if rows.size == 0:
        return None
    crop = digit[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    size = (max(2, round(crop.shape[1] * enlarge)), max(2, round(crop.shape[0] * enlarge)))
    big = np.asarray(Image.fromarray(crop).resize(size, Image.Resampling.BICUBIC))
    ink = np.where(big > level, np.uint8(255), np.uint8(0))
    r = round(abs(widen) * enlarge)
    if r and widen > 0:
        ink = round_morph(zero_pad(ink, r, r), r, np.maximum)
    elif r:
        ink = round_morph(ink, r, np.minimum)
    drawn = to_mnist(ink, source="canvas")
    return drawn.image28
