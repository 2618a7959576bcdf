"""Elastic distortions (digitnet.elastic) and their place in the augmentation."""

from __future__ import annotations

import numpy as np
import pytest

from digitnet.augment import Augment, affine_batch, affine_matrices
from digitnet.elastic import blur_matrix, displacement_fields, distort, smooth
from digitnet.network import Network
from digitnet.train import TrainConfig, train


@pytest.fixture(scope="module")
def digits(mnist) -> np.ndarray:
    return np.asarray(mnist.train_images[:200], dtype=np.float32)


def fields(n: int, sigma: float = 4.0, alpha: float = 34.0, seed: int = 0) -> np.ndarray:
    """n displacement fields as (n, 2, 28, 28)."""
    return displacement_fields(n, np.random.default_rng(seed), alpha, sigma).reshape(n, 2, 28, 28)


def test_blur_matrix_is_a_normalised_gaussian():
    G = blur_matrix(4.0).astype(np.float64)
    np.testing.assert_allclose(G.sum(axis=1), 1.0, atol=1e-6)  # a constant stays constant
    # a single bright pixel spreads into a Gaussian of standard deviation sigma
    delta = np.zeros(28)
    delta[14] = 1.0
    spread = G @ delta
    x = np.arange(28)
    mean = (spread * x).sum()
    assert mean == pytest.approx(14.0, abs=0.01)
    assert np.sqrt((spread * (x - mean) ** 2).sum()) == pytest.approx(4.0, rel=0.02)
    with pytest.raises(ValueError):
        blur_matrix(0.0)


def test_smooth_is_separable_gaussian_in_both_directions():
    noise = np.random.default_rng(1).random((3, 28, 28), dtype=np.float32)
    G = blur_matrix(2.0).astype(np.float64)
    expected = np.einsum("ij,njk,lk->nil", G, noise.astype(np.float64), G)  # sum_jk G_ij U_jk G_lk
    np.testing.assert_allclose(smooth(noise, 2.0), expected, atol=1e-5)
    np.testing.assert_allclose(smooth(noise, 2.0, 3.0), 3 * expected, atol=1e-5)


def test_alpha_zero_is_the_identity(digits):
    assert not displacement_fields(5, np.random.default_rng(0), 0.0, 4.0).any()
    before = digits.copy()
    np.testing.assert_array_equal(distort(digits, np.random.default_rng(0), alpha=0.0), digits)
    np.testing.assert_array_equal(digits, before)  # input untouched
    # and in the augmentation: elastic on, every other distortion off, strength 0
    assert np.array_equal(
        Augment(max_shift=0, max_rotation=0, scale=(1, 1), max_shear=0, thickness_p=0, elastic_alpha=0)(
            digits, np.random.default_rng(0)
        ),
        digits,
    )


def test_displacement_magnitude_follows_alpha_and_sigma():
    # White noise uniform in [-1, 1] has variance 1/3; the blur keeps sum(w^2)
    # of it per direction, so the RMS displacement is alpha * sqrt(1/3) * sum(w^2).
    for sigma, alpha in ((4.0, 34.0), (2.0, 8.0)):
        G = blur_matrix(sigma).astype(np.float64)
        expected = alpha * np.sqrt(1 / 3) * (G[14] ** 2).sum()
        d = fields(2000, sigma, alpha)
        assert d.std() == pytest.approx(expected, rel=0.03)
        assert abs(d.mean()) < 0.05 * expected
        # equally strong everywhere: corner, edge, centre
        rms = d.std(axis=(0, 1))
        assert rms.max() / rms.min() < 1.15
    # Simard's alpha 34, sigma 4: about 1.4 px, a gentle wobble, never a jump across the digit
    d = fields(500)
    assert 1.2 < d.std() < 1.6 and np.abs(d).max() < 10


def test_displacement_is_smooth_and_sigma_sets_how_smooth():
    def neighbour_change(sigma: float) -> float:
        d = fields(500, sigma, alpha=10.0)
        step = np.concatenate([np.diff(d, axis=2).ravel(), np.diff(d, axis=3).ravel()])
        return step.std() / d.std()  # change to the next pixel, relative to the displacement

    # correlation of neighbours exp(-1 / 4 sigma^2): the change is sqrt(2 (1 - that))
    assert neighbour_change(4.0) == pytest.approx(np.sqrt(2 * (1 - np.exp(-1 / 64))), rel=0.1)
    assert neighbour_change(4.0) < 0.25 < 0.5 < neighbour_change(1.0)
    # dx and dy are independent fields
    d = fields(500)
    assert abs(np.corrcoef(d[:, 0].ravel(), d[:, 1].ravel())[0, 1]) < 0.05


def test_shapes_and_dtypes(digits):
    d = displacement_fields(7, np.random.default_rng(0), 34.0, 4.0)
    assert d.shape == (7, 2, 784) and d.dtype == np.float32
    out = distort(digits[:7], np.random.default_rng(0))
    assert out.shape == (7, 784) and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0 and not np.allclose(out, digits[:7], atol=0.05)
    aug = Augment(elastic_alpha=34.0)(digits.astype(np.float64), np.random.default_rng(0))
    assert aug.shape == digits.shape and aug.dtype == np.float64  # as Augment keeps float dtypes


def test_seeded_determinism(digits):
    a = distort(digits, np.random.default_rng(3))
    b = distort(digits, np.random.default_rng(3))
    c = distort(digits, np.random.default_rng(4))
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c, atol=1e-3)
    aug = Augment(elastic_alpha=34.0)
    np.testing.assert_array_equal(
        aug(digits, np.random.default_rng(5)), aug(digits, np.random.default_rng(5))
    )


def test_displacement_direction_and_chunks(digits):
    # a field of dx = +1 everywhere: every pixel reads its right neighbour, so the digit moves 1 px left
    X = np.concatenate([digits, digits])[:300]  # more images than one warp chunk (256)
    shift = np.zeros((len(X), 2, 784), np.float32)
    shift[:, 0] = 1.0
    out = affine_batch(X, affine_matrices()[0], shift).reshape(-1, 28, 28)
    expected = np.zeros_like(out)
    expected[:, :, :-1] = X.reshape(-1, 28, 28)[:, :, 1:]
    np.testing.assert_allclose(out, expected, atol=1e-6)


def test_distorted_digits_keep_their_ink_and_stay_in_frame(digits):
    out = distort(digits, np.random.default_rng(7))
    ratio = out.sum(axis=1) / digits.sum(axis=1)
    assert 0.85 < np.median(ratio) < 1.15 and ratio.min() > 0.5  # squeezed or stretched here and there
    img = out.reshape(-1, 28, 28)
    ring = img.sum(axis=(1, 2)) - img[:, 2:-2, 2:-2].sum(axis=(1, 2))
    assert (ring / img.sum(axis=(1, 2))).mean() < 0.01
    # pixels really moved: the change is a good part of the ink, not a rounding
    assert np.abs(out - digits).sum() > 0.2 * digits.sum()


def test_elastic_on_top_of_the_affine_augmentation(digits):
    rng_state = np.random.default_rng(9)
    plain = Augment()(digits, np.random.default_rng(9))
    # elastic off draws nothing more: the same numbers as the augmentation always gave
    np.testing.assert_array_equal(Augment(elastic_alpha=0.0)(digits, rng_state), plain)
    both = Augment(elastic_alpha=34.0)(digits, np.random.default_rng(9))
    assert not np.allclose(both, plain, atol=0.05)
    with pytest.raises(ValueError):
        Augment(elastic_alpha=-1.0)
    with pytest.raises(ValueError):
        Augment(elastic_sigma=0.0)


def test_training_with_elastic_distortions(small_data, w1_after):
    data = small_data(1000, 300)

    def run(**kw):
        return w1_after(data, **kw)

    plain, elastic = run(), run(elastic_alpha=34.0)
    assert not np.allclose(plain, elastic)
    np.testing.assert_array_equal(elastic, run(elastic_alpha=34.0))  # seeded: bit for bit
    with pytest.raises(ValueError, match="elastic"):
        TrainConfig(elastic_alpha=-1.0)
    with pytest.raises(ValueError, match="elastic"):
        TrainConfig(elastic_sigma=0.0)


def test_plain_epochs_end_training_on_undistorted_digits(mnist):
    data = (
        mnist.train_images[:600],
        mnist.train_labels[:600],
        mnist.train_images[-200:],
        mnist.train_labels[-200:],
    )

    def run(**kw):
        net = Network.init((784, 10, 10), seed=0)
        return train(net, *data, TrainConfig(lr=0.5, epochs=2, batch_size=100, **kw)).net.params["W1"]

    plain = run()
    # every epoch plain: exactly the run without augmentation (no random numbers drawn for it)
    np.testing.assert_array_equal(run(augment=True, elastic_alpha=34.0, plain_epochs=2), plain)
    last_plain = run(augment=True, elastic_alpha=34.0, plain_epochs=1)
    assert not np.allclose(last_plain, plain) and not np.allclose(
        last_plain, run(augment=True, elastic_alpha=34.0)
    )
    with pytest.raises(ValueError, match="without augmentation"):
        TrainConfig(epochs=3, plain_epochs=4)
