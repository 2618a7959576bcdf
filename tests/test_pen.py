"""Training digits drawn with a solid pen (digitnet.pen) and their place in training."""

from __future__ import annotations

import numpy as np
import pytest

from digitnet import pen
from digitnet.network import Network
from digitnet.preprocess.mnist import BOX, MASS_CENTRE
from digitnet.train import TrainConfig, train


def ink_box(img: np.ndarray) -> tuple[int, int]:
    rows, cols = np.flatnonzero(img.any(axis=1)), np.flatnonzero(img.any(axis=0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def test_a_pen_drawn_digit_is_made_as_the_app_makes_a_drawing(mnist):
    X = mnist.train_images[:50]  # floats in [0, 1]
    drawn = pen.redraw(X, np.random.default_rng(0))
    assert drawn.shape == X.shape and drawn.dtype == np.uint8
    for before, after in zip(X, drawn, strict=True):
        img = after.reshape(28, 28)
        assert max(ink_box(img)) in (BOX, BOX + 1)  # 20 px, as preprocess makes every drawing
        mass = img / img.sum()
        cy, cx = mass.sum(axis=1) @ np.arange(28), mass.sum(axis=0) @ np.arange(28)
        assert abs(cy - MASS_CENTRE) <= 1 and abs(cx - MASS_CENTRE) <= 1
        assert not np.array_equal(after, before)
    # the files' uint8 pixels are the same digits
    pixels = np.round(X * 255).astype(np.uint8)
    np.testing.assert_array_equal(pen.redraw(pixels, np.random.default_rng(0)), drawn)
    # seeded: the same drawings bit for bit, and other ones with another seed
    np.testing.assert_array_equal(pen.redraw(X, np.random.default_rng(0)), drawn)
    assert not np.array_equal(pen.redraw(X, np.random.default_rng(1)), drawn)


def test_a_fine_pen_breaks_where_the_pencil_was_light_and_a_broad_one_fills_a_loop():
    bar = np.zeros((28, 28), np.uint8)
    bar[4:24, 13:15] = 255
    bar[12:16, 13:15] = 60  # the pencil barely touched the paper here
    pieces = lambda img: np.count_nonzero(np.diff((img > 127).any(axis=1).astype(int)) == 1)  # noqa: E731
    assert pieces(pen.pen_drawn(bar, 4.0, level=40)) == 1
    assert pieces(pen.pen_drawn(bar, 4.0, level=100)) == 2

    nine = np.zeros((28, 28), np.uint8)
    yy, xx = np.mgrid[:28, :28]
    nine[np.abs(np.hypot(yy - 9, xx - 13) - 4) < 1.2] = 255  # a loop 6 px across ...
    nine[9:25, 16:18] = 255  # ... on a stem
    holes = [enclosed(pen.pen_drawn(nine, 4.0, level=128, widen=w)) for w in (0.0, 1.0, 3.0)]
    assert holes[0] > holes[1] > 0 and holes[2] == 0  # the broader the pen, the smaller the hole, until none


def enclosed(img: np.ndarray) -> int:
    """Background pixels that the border's background cannot reach: a loop's hole."""
    paper = img < 128
    reached = np.zeros_like(paper)
    reached[[0, -1], :], reached[:, [0, -1]] = paper[[0, -1], :], paper[:, [0, -1]]
    while True:
        grown = reached.copy()
        grown[1:] |= reached[:-1]
        grown[:-1] |= reached[1:]
        grown[:, 1:] |= reached[:, :-1]
        grown[:, :-1] |= reached[:, 1:]
        grown &= paper
        if (grown == reached).all():
            return int(np.count_nonzero(paper & ~reached))
        reached = grown


def test_a_digit_with_no_ink_stays_as_it_was():
    blank = np.zeros((2, 784), np.uint8)
    blank[1, 300] = 30  # faint: the cut leaves nothing
    np.testing.assert_array_equal(pen.redraw(blank, np.random.default_rng(0)), blank)


def test_training_with_pen_drawn_digits(small_data, w1_after):
    data = small_data(600, 200)
    X_before = data[0].copy()
    plain, drawn = w1_after(data), w1_after(data, pen=0.5)
    assert not np.allclose(plain, drawn)
    np.testing.assert_array_equal(drawn, w1_after(data, pen=0.5))  # seeded: bit for bit
    np.testing.assert_array_equal(data[0], X_before)  # the training data itself is never drawn over
    # not a distortion: they stay in the plain epochs, which otherwise match no augmentation
    assert not np.allclose(w1_after(data, pen=0.5, elastic_alpha=34.0, plain_epochs=2), plain)
    # the full-batch path draws them too, and float data is not written over either
    X_float = data[0] / np.float32(255)
    kept = X_float.copy()
    nets = [Network.init((784, 10, 10), seed=0) for _ in range(2)]
    for net, p in zip(nets, (0.0, 1.0), strict=True):
        train(net, X_float, *data[1:], TrainConfig(lr=0.5, epochs=1, batch_size=None, pen=p))
    assert not np.allclose(nets[0].params["W1"], nets[1].params["W1"])
    np.testing.assert_array_equal(X_float, kept)
    with pytest.raises(ValueError, match="pen"):
        TrainConfig(pen=1.5)


def test_each_digit_is_drawn_with_several_pens_and_a_batch_picks_one(mnist):
    """Where a stroke breaks depends on the pen: a digit swapped in many batches comes
    as each of its DRAWINGS drawings, each made by pen.redraw with training's seed."""
    from digitnet.train import _pen_swapper

    X = mnist.train_images[:20]
    config = TrainConfig(pen=1.0, seed=3)
    penned = _pen_swapper(X, config)
    pens = np.random.default_rng(config.seed + 2)
    made = [pen.redraw(X, pens) for _ in range(pen.DRAWINGS)]
    idx, rng = np.arange(len(X)), np.random.default_rng(0)
    seen = [set() for _ in idx]
    for _ in range(30):
        rows = np.round(penned(X[idx], idx, rng) * 255).astype(np.uint8)
        for i, row in zip(idx, rows, strict=True):
            assert any(np.array_equal(row, m[i]) for m in made), "not one of the digit's drawings"
            seen[i].add(row.tobytes())
    assert pen.DRAWINGS >= 2
    assert all(len(s) == len({m[i].tobytes() for m in made}) for i, s in enumerate(seen))
