"""Elastic distortions of 28x28 digits (Simard, Steinkraus & Platt 2003, section 2).

Why: an affine warp moves a whole digit the same way, but a hand wobbles from
one part of a stroke to the next. Simard et al. imitate that with a random
displacement field that is smooth (neighbouring pixels move almost alike) and
so small that the digit stays the same digit. Their 784-800-10 network went
from 1.1% test error with affine distortions to 0.7% with elastic ones.

The recipe, for every image of a batch at once:
    1. dx, dy: each pixel gets a displacement drawn uniformly from [-1, 1],
       independently for x and y (white noise, the fields of 2 images).
    2. Both fields are smoothed by a Gaussian of standard deviation sigma
       (pixels): large sigma, nearly a translation; tiny sigma, random noise.
    3. Both are multiplied by alpha, the strength (pixels per unit of field).
    4. Output pixel (x, y) reads the source at (x + dx, y + dy), bilinearly
       (the same gather as the affine warp, digitnet.augment.affine_batch).
Simard used sigma = 4 and alpha = 34: a displacement of about 1.4 px (RMS)
that turns slowly over some 10 px.

The blur is separable, so it is two products with one 28 x 28 matrix G (the
Gaussian's weights, G[i, j] = how much noise at j reaches i): blur the rows,
then the columns: G U G^T for a field U. A batch costs two small products per
field, run by NumPy's matmul over the stack, no Python loop and no SciPy.
"""

from __future__ import annotations

import functools

import numpy as np

from .data import SIDE

TRUNCATE = 4.0  # the Gaussian is cut at 4 sigma (as SciPy's gaussian_filter); the rest weighs < 1e-4


@functools.cache
def blur_matrix(sigma: float, side: int = SIDE) -> np.ndarray:
    """G (side x side, float32): G @ v is v smoothed by a normalised Gaussian of sigma.

    The noise wraps around at the borders (a circular convolution): every
    pixel averages as many independent noise values as every other, so the
    displacement is equally strong everywhere (mirroring the border, SciPy's
    default, would count the noise near an edge twice and make corners move
    twice as far; zeros outside would make edges stiffer). Every row sums to 1.
    Read-only, shared between calls."""
    if not sigma > 0:
        raise ValueError(f"sigma must be above 0 (got {sigma})")
    radius = max(1, int(TRUNCATE * sigma + 0.5))
    offsets = np.arange(-radius, radius + 1)
    weights = np.exp(-0.5 * (offsets / sigma) ** 2)
    weights /= weights.sum()
    src = np.mod(np.arange(side)[:, None] + offsets[None, :], side)  # the pixel of every tap, wrapped
    G = np.zeros((side, side))
    np.add.at(G, (np.repeat(np.arange(side), offsets.size), src.ravel()), np.tile(weights, side))
    G = G.astype(np.float32)
    G.flags.writeable = False
    return G


def smooth(noise: np.ndarray, sigma: float, scale: float = 1.0) -> np.ndarray:
    """Gaussian blur of a stack of images (n, 28, 28), times scale: scale * G U G^T
    for every U. A new contiguous float32 array."""
    G = blur_matrix(float(sigma), noise.shape[-1])
    # (28 x 28) @ (n, 28, 28) @ (28 x 28): numpy runs one small GEMM per image,
    # faster here than one tall product (no transposed copies); scale rides on G.
    return np.matmul(np.matmul(np.float32(scale) * G, noise), G.T)


def displacement_fields(b: int, rng: np.random.Generator, alpha: float, sigma: float) -> np.ndarray:
    """Random smooth fields for b images: (b, 2, 784) float32, [:, 0] = dx (columns),
    [:, 1] = dy (rows), in pixels. Deterministic given the state of rng."""
    noise = rng.random((2 * b, SIDE, SIDE), dtype=np.float32)
    noise *= 2
    noise -= 1  # uniform in [-1, 1)
    return smooth(noise, sigma, alpha).reshape(b, 2, SIDE * SIDE)


def distort(
    X_rows: np.ndarray, rng: np.random.Generator, alpha: float = 34.0, sigma: float = 4.0
) -> np.ndarray:
    """Elastic distortion alone of (b, 784) images in [0, 1]: a new float32 array."""
    from .augment import affine_batch, affine_matrices  # augment imports this module

    X = np.asarray(X_rows, dtype=np.float32).reshape(-1, SIDE * SIDE)
    out = affine_batch(X, affine_matrices()[0], displacement=displacement_fields(len(X), rng, alpha, sigma))
    return np.clip(out, 0.0, 1.0, out=out)
