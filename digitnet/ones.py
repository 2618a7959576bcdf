"""Ones as much of Europe writes them: a flag at the top, sometimes a foot.

Why: MNIST's writers were American (Census Bureau staff and high-school
students); their "1" is nearly always a single bar. Much of Europe writes it
with a flag, a short stroke going down to the left from the top, and some add
a foot. A network that has only seen bars reads a flagged 1 as a 7 or a 9,
and no distortion of MNIST's ones can teach it otherwise: the flag is not
there to be distorted. So, for a fraction of the training images labelled 1,
this module draws one in, with a random geometry of its own:

    flag   from the top of the bar, down and to the left: 20-40 % of the
           digit's height long, at 30-70 degrees from the bar (an acute
           angle, whichever way the bar leans; never flatter than 20 degrees
           below the horizontal, where it would start to look like a 7's bar);
    foot   (on FOOT_P of the flagged ones) a horizontal bar across the bottom,
           15-30 % of the height to each side.

Both are drawn as anti-aliased lines as wide as the bar's own stroke (its ink
per row), as bright as its brightest pixel; the label stays 1. A 7 is told
from a flagged 1 by its top bar, long and nearly level, where a flag is short
and goes down -- the network has to learn that, which is why real 7s must be
checked not to read as 1 afterwards (benchmarks/RESULTS.md).

The flagged digit is then centred by its mass again, as MNIST and the app
centre every digit (see _recentred). Drawn on the 28x28 digit before the warp
of digitnet.augment, so the flag is distorted along with the rest of the digit
(elastically; with --augment also slanted, turned and thickened).
"""

from __future__ import annotations

import numpy as np

from .data import SIDE
from .preprocess.mnist import MASS_CENTRE

ONE = 1
FOOT_P = 0.3  # of the flagged ones also get a foot: a guess (fewer people add one than a flag)
FLAG_LENGTH = (0.20, 0.40)  # x the digit's height
FLAG_ANGLE = (30.0, 70.0)  # degrees between the flag and the bar (going down), turned to the left
FLATTEST = np.deg2rad(20.0)  # the flag goes down at least this much below the horizontal
FOOT_HALF = (0.15, 0.30)  # x the digit's height, to each side of the bar's foot
WIDTH = (1.2, 3.5)  # px: the stroke width is clipped to what MNIST's pens give


def add_flags(X_rows: np.ndarray, labels: np.ndarray, rng: np.random.Generator, p: float) -> np.ndarray:
    """A copy of X_rows (b, 784) in [0, 1] where each image labelled 1 has, with
    probability p, a flag (and sometimes a foot) drawn in. Deterministic given
    the state of rng; draws nothing from it when p is 0, so that runs without
    flags see the same random numbers as before."""
    X = np.array(X_rows, dtype=np.float32, copy=True).reshape(-1, SIDE * SIDE)
    if p <= 0:
        return X
    labels = np.asarray(labels)
    b = len(X)
    # every random number drawn for every image, in a fixed order: the result depends only on the rng state
    chosen = (rng.random(b) < p) & (labels == ONE)
    length = rng.uniform(*FLAG_LENGTH, b)
    angle = np.deg2rad(rng.uniform(*FLAG_ANGLE, b))
    footed = rng.random(b) < FOOT_P
    foot = rng.uniform(*FOOT_HALF, b)
    for i in np.flatnonzero(chosen):
        img = X[i].reshape(SIDE, SIDE)  # a view: drawn into X
        peak = img.max()
        if peak <= 0:
            continue  # nothing to put a flag on
        ink = img > 0.5 * peak
        rows = np.flatnonzero(ink.any(axis=1))
        top, bottom = rows[0], rows[-1]
        height = bottom - top + 1
        width = float(np.clip(img.sum() / height, *WIDTH))  # ink per row: the bar's stroke width
        # the bar's ends: the middle of its ink in its first and last rows, half a stroke inside
        x_top, y_top = _middle(ink[top : top + 2]), top + width / 2
        x_bottom, y_bottom = _middle(ink[bottom - 1 : bottom + 1]), bottom - width / 2
        # the bar's direction going down, as an angle from straight down (positive: leaning to the left
        # at the bottom, i.e. a "/"), turned further left by the flag's angle
        turn = np.arctan2(x_top - x_bottom, y_bottom - y_top) + angle[i]
        below_horizontal = max(np.pi / 2 - turn, FLATTEST)
        reach = length[i] * height
        tip = (x_top - reach * np.cos(below_horizontal), y_top + reach * np.sin(below_horizontal))
        _line(img, (x_top, y_top), tip, width, peak)
        if footed[i]:
            half = foot[i] * height
            _line(img, (x_bottom - half, y_bottom), (x_bottom + half, y_bottom), width, peak)
        img[:] = _recentred(img)
    return X


def _recentred(img: np.ndarray) -> np.ndarray:
    """img moved by whole pixels so that its centre of mass is at (14, 14) again, as
    MNIST and the app centre every digit: a flag pulls the mass up and to the left, and
    a flagged 1 drawn in the app sits with its bar right of the middle, not on it.
    The move is clamped so that no ink leaves the field."""
    rows, cols = np.flatnonzero(img.any(axis=1)), np.flatnonzero(img.any(axis=0))
    total = img.sum()
    dy = round(MASS_CENTRE - float(img.sum(axis=1) @ np.arange(SIDE)) / total)
    dx = round(MASS_CENTRE - float(img.sum(axis=0) @ np.arange(SIDE)) / total)
    dy = min(max(dy, -rows[0]), SIDE - 1 - rows[-1])
    dx = min(max(dx, -cols[0]), SIDE - 1 - cols[-1])
    out = np.zeros_like(img)
    out[max(dy, 0) : SIDE + min(dy, 0), max(dx, 0) : SIDE + min(dx, 0)] = img[
        max(-dy, 0) : SIDE + min(-dy, 0), max(-dx, 0) : SIDE + min(-dx, 0)
    ]
    return out


def _middle(ink_rows: np.ndarray) -> float:
    """The mean column of the ink in a few rows."""
    return float(np.flatnonzero(ink_rows.any(axis=0)).mean())


_Y, _X = np.mgrid[0:SIDE, 0:SIDE].astype(np.float32)  # pixel centres: row, column


def _line(img: np.ndarray, a: tuple[float, float], b: tuple[float, float], width: float, peak: float) -> None:
    """Draw the segment a-b (x, y) into img (28 x 28), width px wide with round ends,
    anti-aliased over one pixel at its edge; existing ink is kept where brighter."""
    ax, ay = a
    dx, dy = b[0] - ax, b[1] - ay
    t = np.clip(((_X - ax) * dx + (_Y - ay) * dy) / max(dx * dx + dy * dy, 1e-6), 0.0, 1.0)
    distance = np.hypot(_X - (ax + t * dx), _Y - (ay + t * dy))
    stroke = np.clip(width / 2 + 0.5 - distance, 0.0, 1.0) * peak
    np.maximum(img, stroke, out=img)
