"""The maths of digitnet.network: gradients against finite differences, the
notes' update rule against a literal element-by-element version, and the
invariants every correct softmax network has."""

import math

import numpy as np
import pytest

from digitnet.network import Network, cross_entropy, one_hot, relu_prime, softmax
from digitnet.optim import SGD


def tiny_batch(m=7, n_in=784, seed=0):
    rng = np.random.default_rng(seed)
    return rng.random((n_in, m)), rng.integers(0, 10, m)


@pytest.mark.parametrize("sizes", [(784, 10, 10), (784, 6, 5, 10), (12, 4, 3)])
def test_gradients_match_centred_finite_differences(sizes):
    # float64 and a handful of examples: (f(t + eps) - f(t - eps)) / 2 eps for
    # every single weight and bias would take long on W1, so W1 is sampled.
    X, y = tiny_batch(m=5, n_in=sizes[0])
    y = y % sizes[-1]
    net = Network.init(sizes, seed=1, dtype=np.float64)
    for name in net.params:  # nonzero biases, so their gradients are tested for real
        if name.startswith("b"):
            net.params[name] += np.random.default_rng(2).normal(0, 0.1, net.params[name].shape)
    grads = net.backward(net.forward(X), one_hot(y, sizes[-1], dtype=np.float64))
    rng = np.random.default_rng(3)
    eps = 1e-6
    for name, P in net.params.items():
        flat = P.reshape(-1)
        picks = range(flat.size) if flat.size <= 200 else rng.choice(flat.size, 200, replace=False)
        numeric = []
        for i in picks:
            old = flat[i]
            flat[i] = old + eps
            plus = cross_entropy(net.predict_proba(X), y)
            flat[i] = old - eps
            minus = cross_entropy(net.predict_proba(X), y)
            flat[i] = old
            numeric.append((plus - minus) / (2 * eps))
        analytic = grads["d" + name].reshape(-1)[list(picks)]
        numeric = np.array(numeric)
        rel = np.abs(analytic - numeric) / np.maximum(1e-8, np.abs(analytic) + np.abs(numeric))
        assert rel.max() < 1e-5, f"d{name}: relative error {rel.max():.2e}"
        assert np.abs(numeric).max() > 0 or name.startswith("W1"), (
            f"d{name} is all zero: the check would prove nothing"
        )


def test_gradient_shapes_are_the_notes_shapes():
    X, y = tiny_batch(m=32)
    net = Network.init((784, 10, 10))
    cache = net.forward(X.astype(np.float32))
    assert cache["Z1"].shape == cache["A1"].shape == (10, 32)
    assert cache["Z2"].shape == cache["A2"].shape == (10, 32)
    grads = net.backward(cache, one_hot(y))
    assert grads["dW1"].shape == (10, 784)  # not 10 x 728 as the notes say once
    assert grads["db1"].shape == (10, 1)
    assert grads["dW2"].shape == (10, 10)
    assert grads["db2"].shape == (10, 1)


def reference_step(W1, b1, W2, b2, X, y, alpha):
    """One step of the notes, written element by element with plain Python loops,
    sharing no code with digitnet.network."""
    n_h, n_in, m = len(W1), len(W1[0]), len(X[0])
    Z1 = [[sum(W1[i][k] * X[k][j] for k in range(n_in)) + b1[i][0] for j in range(m)] for i in range(n_h)]
    A1 = [[max(z, 0.0) for z in row] for row in Z1]
    Z2 = [[sum(W2[i][k] * A1[k][j] for k in range(n_h)) + b2[i][0] for j in range(m)] for i in range(10)]
    A2 = [[0.0] * m for _ in range(10)]
    for j in range(m):
        e = [math.exp(Z2[i][j]) for i in range(10)]
        for i in range(10):
            A2[i][j] = e[i] / sum(e)
    Y = [[1.0 if y[j] == i else 0.0 for j in range(m)] for i in range(10)]
    dZ2 = [[A2[i][j] - Y[i][j] for j in range(m)] for i in range(10)]
    dW2 = [[sum(dZ2[i][j] * A1[k][j] for j in range(m)) / m for k in range(n_h)] for i in range(10)]
    db2 = [[sum(dZ2[i]) / m] for i in range(10)]
    dZ1 = [
        [sum(W2[k][i] * dZ2[k][j] for k in range(10)) * (1.0 if Z1[i][j] > 0 else 0.0) for j in range(m)]
        for i in range(n_h)
    ]
    dW1 = [[sum(dZ1[i][j] * X[k][j] for j in range(m)) / m for k in range(n_in)] for i in range(n_h)]
    db1 = [[sum(dZ1[i]) / m] for i in range(n_h)]
    new = lambda P, dP: [[P[i][k] - alpha * dP[i][k] for k in range(len(P[0]))] for i in range(len(P))]  # noqa: E731
    return new(W1, dW1), new(b1, db1), new(W2, dW2), new(b2, db2)


def test_full_batch_step_is_the_notes_update_rule():
    # 3 images, 784 pixels of which only the first 16 are lit, so the loop stays fast
    X = np.zeros((784, 3))
    X[:16] = np.random.default_rng(4).random((16, 3))
    y = np.array([4, 0, 9])
    net = Network.init((784, 3, 10), seed=5, dtype=np.float64)
    net.params["b1"][:] = [[0.1], [-0.2], [0.05]]
    expected = reference_step(
        *(net.params[k].tolist() for k in ("W1", "b1", "W2", "b2")), X.tolist(), y.tolist(), alpha=0.5
    )
    SGD().update(net.params, net.backward(net.forward(X), one_hot(y, dtype=np.float64)), alpha=0.5)
    for name, want in zip(("W1", "b1", "W2", "b2"), expected, strict=True):
        np.testing.assert_allclose(net.params[name], np.array(want), rtol=1e-12, atol=1e-12, err_msg=name)


def test_initial_loss_is_about_ln_10():
    # untrained, the network should be unsure: probabilities near 1/10, loss near ln 10 = 2.30
    X, y = tiny_batch(m=500)
    loss = Network.init((784, 10, 10), seed=0).loss(X.astype(np.float32) / 4, y)
    assert abs(loss - math.log(10)) < 0.3


def test_probabilities_sum_to_one_and_softmax_is_stable():
    Z = np.array([[1000.0, -1000.0], [0.0, -999.0], [-1000.0, -1001.0]])
    A = softmax(Z)
    assert np.isfinite(A).all()
    np.testing.assert_allclose(A.sum(axis=0), 1.0)
    np.testing.assert_allclose(A[:, 1], softmax(np.array([[-1.0], [0.0], [-2.0]]))[:, 0])
    X, _ = tiny_batch(m=9)
    np.testing.assert_allclose(Network.init((784, 10, 10)).predict_proba(X).sum(axis=0), 1.0, rtol=1e-6)


def test_cross_entropy_stays_finite_at_probability_zero_and_is_zero_at_one():
    A = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert cross_entropy(A, np.array([0, 1])) == 0.0
    assert cross_entropy(A, np.array([1, 0])) == pytest.approx(-math.log(1e-12))


def test_one_hot_and_relu_prime():
    np.testing.assert_array_equal(one_hot(np.array([4, 0]))[:, 0], [0, 0, 0, 0, 1, 0, 0, 0, 0, 0])
    assert one_hot(np.array([4, 0])).shape == (10, 2)
    np.testing.assert_array_equal(relu_prime(np.array([-1.0, 0.0, 2.0])), [0.0, 0.0, 1.0])


def test_overfits_twenty_samples(mnist):
    X, y = mnist.train_images[:20].T, mnist.train_labels[:20]
    net = Network.init((784, 32, 10), seed=0)
    assert net.accuracy(X, y) < 0.5
    sgd = SGD()
    for _ in range(200):
        sgd.update(net.params, net.backward(net.forward(X), one_hot(y)), alpha=0.5)
    assert net.accuracy(X, y) == 1.0
    assert net.loss(X, y) < 0.05


def test_same_seed_same_weights_other_seed_other_weights():
    a, b, c = (Network.init((784, 10, 10), seed=s) for s in (7, 7, 8))
    for name in a.params:
        np.testing.assert_array_equal(a.params[name], b.params[name])
    assert not np.array_equal(a.params["W1"], c.params["W1"])
    assert a.params["W1"].dtype == np.float32
