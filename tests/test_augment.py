"""Tests for digitnet.augment (fast: well under a second)."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from digitnet.augment import (
    Augment,
    affine_batch,
    affine_matrices,
    thicken,
    thin,
)

ROOT = Path(__file__).resolve().parents[1]

MNIST_TRAIN = ROOT / "assets" / "mnist" / "train-images-idx3-ubyte.gz"
ZERO = Augment(max_shift=0.0, max_rotation=0.0, scale=(1.0, 1.0), max_shear=0.0, thickness_p=0.0)


def load_mnist_rows(n: int) -> np.ndarray:
    """First n training images as (n, 784) float32 in [0, 1] (tiny IDX reader)."""
    with gzip.open(MNIST_TRAIN, "rb") as f:
        magic, count, rows, cols = struct.unpack(">IIII", f.read(16))
        assert magic == 2051 and rows == cols == 28 and count >= n
        raw = f.read(n * rows * cols)
    return (np.frombuffer(raw, dtype=np.uint8).reshape(n, 784) / 255.0).astype(np.float32)


@pytest.fixture(scope="module")
def digits() -> np.ndarray:
    return load_mnist_rows(300)


@pytest.fixture
def pattern() -> np.ndarray:
    """A random (so asymmetric) 28x28 image with ink everywhere, as (1, 784)."""
    return np.random.default_rng(123).random((1, 784), dtype=np.float32)


# --------------------------------------------------------------------------- #
def test_zero_strength_is_identity(digits):
    X = digits[:64]
    before = X.copy()
    out = ZERO(X, np.random.default_rng(0))
    np.testing.assert_allclose(out, X, atol=1e-6)
    np.testing.assert_array_equal(X, before)  # input untouched


def test_identity_matrix_is_exact(pattern):
    out = affine_batch(pattern, affine_matrices())
    np.testing.assert_array_equal(out, pattern)


@pytest.mark.parametrize("dx, dy", [(1, 0), (0, 1), (-1, 0), (0, -1)])
def test_integer_shift_moves_one_pixel(pattern, dx, dy):
    img = pattern.reshape(28, 28)
    out = affine_batch(pattern, affine_matrices(shift_x=dx, shift_y=dy)).reshape(28, 28)
    # positive shift_x moves right (columns), positive shift_y moves down (rows)
    expected = np.roll(img, (dy, dx), axis=(0, 1))
    if dx == 1:
        expected[:, 0] = 0
    if dx == -1:
        expected[:, -1] = 0
    if dy == 1:
        expected[0, :] = 0
    if dy == -1:
        expected[-1, :] = 0
    np.testing.assert_allclose(out, expected, atol=1e-6)


def test_rotation_90_matches_rot90_counter_clockwise(pattern):
    img = pattern.reshape(28, 28)
    ccw = affine_batch(pattern, affine_matrices(rotation_deg=90)).reshape(28, 28)
    cw = affine_batch(pattern, affine_matrices(rotation_deg=-90)).reshape(28, 28)
    # Documented direction: positive angle = counter-clockwise on screen = np.rot90
    np.testing.assert_allclose(ccw, np.rot90(img, 1), atol=1e-5)
    np.testing.assert_allclose(cw, np.rot90(img, -1), atol=1e-5)
    assert not np.allclose(ccw, cw, atol=1e-2)  # the pattern really is asymmetric


def test_scale_about_centre():
    # A single bright pixel 4 px right of the centre moves to 8 px right at scale 2.
    img = np.zeros((28, 28), np.float32)
    img[13:15, 17:19] = 1.0  # 2x2 block centred on (x=17.5, y=13.5)
    out = affine_batch(img.reshape(1, -1), affine_matrices(scale=2.0)).reshape(28, 28)
    ys, xs = np.nonzero(out > 0.5)
    assert np.isclose(xs.mean(), 13.5 + 8.0) and np.isclose(ys.mean(), 13.5)


def test_per_image_matrices_across_chunks(digits):
    # More images than one internal chunk; every image must get its own matrix.
    X = np.concatenate([digits, digits])[:600]
    rng = np.random.default_rng(5)
    A = Augment().random_matrices(len(X), rng)
    batch = affine_batch(X, A)
    for i in (0, 255, 256, 257, 511, 512, 599):
        np.testing.assert_allclose(batch[i], affine_batch(X[i : i + 1], A[i])[0], atol=1e-6)


def test_output_shape_dtype_range_and_new_array(digits):
    rng = np.random.default_rng(1)
    strong = Augment(max_shift=4, max_rotation=30, scale=(0.7, 1.4), max_shear=0.4, thickness_p=1.0)
    for X in (digits[:128], np.ones((50, 784), np.float32)):
        before = X.copy()
        for aug in (Augment(), strong):
            out = aug(X, rng)
            assert out.shape == X.shape and out.dtype == np.float32
            assert out is not X and not np.shares_memory(out, X)
            assert out.min() >= 0.0 and out.max() <= 1.0
            assert not np.allclose(out, X)  # it did something
        np.testing.assert_array_equal(X, before)


def test_deterministic_given_seed(digits):
    X = digits[:100]
    a = Augment()(X, np.random.default_rng(42))
    b = Augment()(X, np.random.default_rng(42))
    c = Augment()(X, np.random.default_rng(43))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c, atol=1e-3)


def test_ink_roughly_preserved_and_digits_stay_in_frame(digits):
    X = digits
    out = Augment()(X, np.random.default_rng(7))
    ratio = out.sum(axis=1) / X.sum(axis=1)
    assert 0.9 < np.median(ratio) < 1.15
    assert 0.6 < np.percentile(ratio, 5) and np.percentile(ratio, 95) < 1.9
    # Extremes: scale^2 in [0.72, 1.32] times thinning (>= 0.65, capped) or
    # thickening (a thin digit can gain ~2.5x); never wiped out.
    assert ratio.min() > 0.45 and ratio.max() < 3.5
    # hardly anything pushed against / out of the frame: ink in the outer ring
    img = out.reshape(-1, 28, 28)
    ring = img.sum(axis=(1, 2)) - img[:, 1:-1, 1:-1].sum(axis=(1, 2))
    assert (ring / img.sum(axis=(1, 2))).mean() < 0.01


def test_thicken_adds_ink_and_thin_removes_it(digits):
    X = digits[:50]
    ink = X.sum(axis=1)
    thick, thinned = thicken(X), thin(X)
    assert np.all(thick.sum(axis=1) > ink * 1.2)
    assert np.all(thinned.sum(axis=1) < ink * 0.97)
    assert np.all(thinned.sum(axis=1) >= ink * 0.64)  # capped: at most ~35% removed
    assert thick.min() >= 0 and thick.max() <= 1 and thinned.min() >= 0
    # Augment with thickness_p=1 and no geometry changes ink, both ways
    aug = Augment(max_shift=0, max_rotation=0, scale=(1, 1), max_shear=0, thickness_p=1.0)
    r = aug(X, np.random.default_rng(3)).sum(axis=1) / ink
    assert (r > 1.05).any() and (r < 0.95).any() and not (np.abs(r - 1) < 1e-3).any()


def test_thin_does_not_erase_a_thin_stroke():
    img = np.zeros((1, 28, 28), np.float32)
    img[0, 4:24, 14] = 1.0  # a 1-pixel-wide "1": a full erosion would delete it
    out = thin(img.reshape(1, -1))
    assert out.sum() >= 0.6 * img.sum()
    assert out.reshape(28, 28)[4:24, 14].min() > 0.5  # the stroke is still there


def test_rejects_bad_input():
    with pytest.raises(ValueError):
        Augment(scale=(1.2, 0.8))
    with pytest.raises(ValueError):
        Augment()(np.zeros((3, 28, 28), np.float32), np.random.default_rng(0))
