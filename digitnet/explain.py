"""What the app shows about a network, computed without Streamlit.

Reading one drawing (the preprocessed image, every layer's numbers, the
answer and how sure it is), the test-set evaluation (accuracy, confusion
matrix, the misread digits), the first layer's weights as pictures, and long
curves as bucket means for plotting. The app only lays these out; the tests call them
directly (a test cannot draw on the canvas, but it can hand over its pixels).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .network import N_CLASSES, Network
from .preprocess import Preprocessed

LOW_CONFIDENCE = 0.5  # below this top probability the app says the network is unsure


@dataclass(frozen=True)
class Reading:
    """A network's reading of one picture."""

    pre: Preprocessed  # what the network sees (image28, x) or why there is nothing to read
    cache: dict[str, np.ndarray] | None  # the forward pass with m = 1: A0, Z1, A1, ..., ZL, AL (columns)
    proba: np.ndarray | None  # (10,) the softmax output A_L

    @property
    def has_ink(self) -> bool:
        return self.proba is not None

    @property
    def digit(self) -> int | None:
        return None if self.proba is None else int(self.proba.argmax())

    @property
    def confidence(self) -> float | None:
        return None if self.proba is None else float(self.proba.max())

    @property
    def unsure(self) -> bool:
        return self.proba is not None and self.confidence < LOW_CONFIDENCE

    def sentence(self) -> str:
        """The answer in words, plainly unsure when the network is."""
        if self.proba is None:
            return self.pre.reason or "Nothing to read."
        first, second = np.argsort(self.proba)[::-1][:2]
        p1, p2 = self.proba[first], self.proba[second]
        if self.unsure:
            return f"Not sure: it might be a {first} ({p1:.0%}) or a {second} ({p2:.0%})."
        if p1 < 0.9:
            return f"Probably a {first} ({p1:.0%}); next best a {second} ({p2:.0%})."
        return f"A {first}, {p1:.0%} sure."


def read(net: Network, pre: Preprocessed) -> Reading:
    if pre.x is None:
        return Reading(pre, None, None)
    cache = net.forward(pre.x)
    return Reading(pre, cache, cache[f"A{net.L}"][:, 0].copy())


# -- the test set ----------------------------------------------------------------


@dataclass(frozen=True)
class Evaluation:
    accuracy: float
    confusion: np.ndarray  # (10, 10) counts: row = true digit, column = the network's answer
    wrong: np.ndarray  # indices of the misread test images, the most confidently wrong first
    predicted: np.ndarray  # (n,) the network's answer for every test image
    confidence: np.ndarray  # (n,) its top probability

    def per_digit(self) -> np.ndarray:
        """(10,) accuracy for each true digit."""
        return np.diag(self.confusion) / np.maximum(self.confusion.sum(axis=1), 1)


def evaluate(net: Network, X_rows: np.ndarray, y: np.ndarray, batch: int = 2000) -> Evaluation:
    """Accuracy, confusion matrix and misread digits, in batches to bound memory."""
    proba = np.concatenate(
        [net.predict_proba(X_rows[i : i + batch].T) for i in range(0, len(y), batch)], axis=1
    )
    predicted, confidence = proba.argmax(axis=0), proba.max(axis=0)
    confusion = np.zeros((N_CLASSES, N_CLASSES), dtype=np.int64)
    np.add.at(confusion, (y, predicted), 1)
    wrong = np.flatnonzero(predicted != y)
    wrong = wrong[np.argsort(-confidence[wrong], kind="stable")]
    return Evaluation(float((predicted == y).mean()), confusion, wrong, predicted, confidence)


# -- pictures ----------------------------------------------------------------------


def diverging(values: np.ndarray, limit: float | np.ndarray | None = None) -> np.ndarray:
    """Numbers -> RGB uint8: negative blue, zero white, positive red (symmetric around 0).
    `limit` (the value shown full red) may be an array, one per picture of a stack."""
    v = np.asarray(values, dtype=np.float32)
    limit = np.float32(np.abs(v).max()) if limit is None else np.asarray(limit, dtype=np.float32)
    t = np.clip(np.divide(v, limit, out=np.zeros_like(v), where=limit > 0), -1, 1)
    red, blue = np.array([202, 0, 32], np.float32), np.array([5, 113, 176], np.float32)
    white = np.float32(247)
    out = np.where(
        t[..., None] >= 0, white + t[..., None] * (red - white), white + (-t[..., None]) * (blue - white)
    )
    return out.astype(np.uint8)


def weight_grid(
    net: Network, units: list[int] | np.ndarray, cols: int = 10, scale: int = 3, gap: int = 2
) -> np.ndarray:
    """The first layer's weights of the given hidden units as 28x28 pictures in a grid
    (RGB uint8). Row j of W1 multiplies the 784 pixels, so as a 28x28 image it shows
    which pixels push unit j up (red) or down (blue): what that unit looks for."""
    W = net.params["W1"][list(units)].reshape(-1, 28, 28)
    return tile_grid(W, np.abs(W).max(axis=(1, 2), keepdims=True), cols, scale, gap)  # each on its own scale


def tile_grid(
    pictures: np.ndarray,
    limit: float | np.ndarray | None = None,
    cols: int = 10,
    scale: int = 3,
    gap: int = 2,
) -> np.ndarray:
    """A stack of 28x28 numbers (n, 28, 28) as diverging-colour tiles in a grid (RGB uint8);
    `limit` as in diverging(): one for all (comparable tiles) or one per tile."""
    rows = max(1, -(-len(pictures) // cols))
    cols = min(cols, max(1, len(pictures)))
    tile = 28 * scale
    grid = np.full((rows * (tile + gap) - gap, cols * (tile + gap) - gap, 3), 255, np.uint8)
    tiles = diverging(pictures, limit)  # all at once
    tiles = np.repeat(np.repeat(tiles, scale, axis=1), scale, axis=2)
    for i, t in enumerate(tiles):
        r, c = divmod(i, cols)
        grid[r * (tile + gap) : r * (tile + gap) + tile, c * (tile + gap) : c * (tile + gap) + tile] = t
    return grid


def bucket_means(x: np.ndarray, y: np.ndarray, n: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """At most n points of a long curve: means over equal buckets (which also smooths
    the noise of mini-batch losses); short curves are returned as they are."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) <= n:
        return x, y
    edges = np.linspace(0, len(x), n + 1).astype(int)
    counts = np.diff(edges)
    return x[edges[1:] - 1], np.add.reduceat(y, edges[:-1]) / counts
