"""Flags on training ones (digitnet.ones) and their place in training."""

from __future__ import annotations

import numpy as np
import pytest

from digitnet import ones
from digitnet.network import Network
from digitnet.ones import add_flags
from digitnet.train import TrainConfig, train


@pytest.fixture(scope="module")
def digits(mnist) -> tuple[np.ndarray, np.ndarray]:
    """300 training digits (about 35 of them ones) and their labels."""
    return np.asarray(mnist.train_images[:300], dtype=np.float32), mnist.train_labels[:300]


def rows_of_ink(img: np.ndarray) -> np.ndarray:
    return np.flatnonzero((img.reshape(28, 28) > 0.1).any(axis=1))


@pytest.fixture
def in_place(monkeypatch):
    """Flags drawn where they are, not re-centred: the drawing itself, pixel for pixel."""
    monkeypatch.setattr(ones, "_recentred", lambda img: img)


def test_only_ones_change_and_the_input_is_kept(digits, in_place):
    X, y = digits
    before = X.copy()
    out = add_flags(X, y, np.random.default_rng(0), p=1.0)
    np.testing.assert_array_equal(X, before)  # a new array; labels are not ours to change
    assert out.shape == X.shape and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    np.testing.assert_array_equal(out[y != 1], X[y != 1])
    gained = (out - X)[y == 1].sum(axis=1)
    assert (out >= X).all() and (gained > 1.0).all()  # every one got a flag, ink only added


def test_p_sets_the_fraction_and_zero_draws_nothing(digits, mnist):
    X, y = mnist.train_images[:3000], mnist.train_labels[:3000]
    out = add_flags(X, y, np.random.default_rng(1), p=0.5)
    flagged = (out != X).any(axis=1)
    assert not flagged[y != 1].any()
    assert 0.4 < flagged[y == 1].mean() < 0.6
    rng = np.random.default_rng(2)
    np.testing.assert_array_equal(add_flags(X, y, rng, p=0.0), X)
    assert rng.random() == np.random.default_rng(2).random()  # rng untouched: old runs stay the same


def test_the_flag_is_at_the_top_going_left(digits, monkeypatch, in_place):
    monkeypatch.setattr(ones, "FOOT_P", 0.0)
    X, y = digits
    X1 = X[y == 1]
    out = add_flags(X1, np.ones(len(X1), int), np.random.default_rng(3), p=1.0)
    for before, after in zip(X1, out, strict=True):
        rows = rows_of_ink(before)
        top, height = rows[0], rows[-1] - rows[0] + 1
        new = (after - before).reshape(28, 28) > 0.1
        new_rows, new_cols = np.nonzero(new)
        # within the upper half of the digit (the flag reaches at most 40% of its height down)
        assert new_rows.min() >= top - 1 and new_rows.max() <= top + 0.55 * height
        # and left of the bar's top: the flag's far end is its leftmost ink
        bar_top = np.flatnonzero(before.reshape(28, 28)[top] > 0.5)
        assert new_cols.min() < bar_top.min()
        assert not rows_of_ink(after)[0] < top - 1  # nothing above the digit


def test_a_foot_sits_across_the_bottom(digits, monkeypatch, in_place):
    monkeypatch.setattr(ones, "FOOT_P", 1.0)
    monkeypatch.setattr(ones, "FLAG_LENGTH", (1e-3, 1e-3))  # a flag too short to see: only the foot
    X, y = digits
    X1 = X[y == 1]
    out = add_flags(X1, np.ones(len(X1), int), np.random.default_rng(4), p=1.0)
    for before, after in zip(X1, out, strict=True):
        rows = rows_of_ink(before)
        bottom, height = rows[-1], rows[-1] - rows[0] + 1
        added = (after - before).reshape(28, 28)
        new_rows, new_cols = np.nonzero(added > 0.1)
        low = new_rows > bottom - 0.3 * height
        # nearly all the new ink is at the bottom (the rest: the flag's dot at the top of the bar)
        assert added[: int(bottom - 0.3 * height) + 1].sum() < 0.2 * added.sum()
        foot_cols = np.flatnonzero(before.reshape(28, 28)[bottom] > 0.5)
        assert new_cols[low].min() < foot_cols.min() and new_cols[low].max() > foot_cols.max()  # both sides


def mass_centre(img: np.ndarray) -> tuple[float, float]:
    img = img.reshape(28, 28)
    return tuple(float(img.sum(axis=1 - k) @ np.arange(28)) / img.sum() for k in (0, 1))


def test_a_flagged_one_is_centred_again_as_the_app_centres_a_drawing(digits):
    X, y = digits
    X1 = X[y == 1]
    out = add_flags(X1, np.ones(len(X1), int), np.random.default_rng(3), p=1.0)
    # the flag pulls the mass up and to the left; MNIST (and preprocess) put it within half a pixel of 14
    for before, after in zip(X1, out, strict=True):
        cy, cx = mass_centre(after)
        assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5, (cy, cx)
        assert after.sum() > before.sum() + 1.0  # and the flag is still there
    # never by more than the field allows: ink at both edges stays where it is, all of it
    wide = np.zeros((28, 28), np.float32)
    wide[4:24, 0] = 0.3
    wide[4:24, 20:28] = 1.0  # the mass far right of 14, but no room to move left
    np.testing.assert_array_equal(ones._recentred(wide), wide)
    low = np.zeros((28, 28), np.float32)
    low[20:28, 10:18] = 1.0  # the mass low: moved up by 14 - 23.5, rounded
    moved = ones._recentred(low)
    assert moved.sum() == low.sum() and abs(mass_centre(moved)[0] - 14) <= 0.5


def test_deterministic_per_seed(digits):
    X, y = digits
    a = add_flags(X, y, np.random.default_rng(5), p=0.7)
    np.testing.assert_array_equal(a, add_flags(X, y, np.random.default_rng(5), p=0.7))
    assert not np.array_equal(a, add_flags(X, y, np.random.default_rng(6), p=0.7))


def test_an_empty_image_labelled_one_stays_empty():
    out = add_flags(np.zeros((2, 784), np.float32), np.array([1, 1]), np.random.default_rng(0), p=1.0)
    assert not out.any()


def test_training_with_flags(small_data, w1_after):
    data = small_data(600, 200)

    def run(**kw):
        return w1_after(data, **kw)

    plain, flagged = run(), run(flag_ones=0.5)
    assert not np.allclose(plain, flagged)
    np.testing.assert_array_equal(flagged, run(flag_ones=0.5))  # seeded: bit for bit
    # flags are not a distortion: they stay on in the plain epochs, which otherwise match no augmentation
    assert not np.allclose(run(flag_ones=0.5, elastic_alpha=34.0, plain_epochs=2), plain)
    # the full-batch path draws them too
    full = TrainConfig(lr=0.5, epochs=1, batch_size=None)
    nets = [Network.init((784, 10, 10), seed=0) for _ in range(2)]
    train(nets[0], *data, full)
    train(nets[1], *data, TrainConfig(lr=0.5, epochs=1, batch_size=None, flag_ones=1.0))
    assert not np.allclose(nets[0].params["W1"], nets[1].params["W1"])
    with pytest.raises(ValueError, match="flag"):
        TrainConfig(flag_ones=1.5)
