"""Learn by doing: Step (the notes' loop one iteration at a time), Teach (fine-tune on
one drawing), Why (the gradient of a class score with respect to the pixels), and
the My digits file."""

from __future__ import annotations

import io
import pickle
import zipfile

import numpy as np
import pytest

from digitnet import my_digits
from digitnet.data import to_unit
from digitnet.model_io import load
from digitnet.my_digits import MAX_DIGITS, MyDigits, MyDigitsError
from digitnet.network import Network
from digitnet.step import Stepper, take_steps
from digitnet.teach import teach
from digitnet.why import answer_and_runner_up, score_gradient

# -- Step ----------------------------------------------------------------------


def notes_iteration(params: dict, X: np.ndarray, y: np.ndarray, alpha: float) -> dict:
    """One pass of the notes' loop written out plainly (float64, examples as columns)."""
    W1, b1, W2, b2 = (params[k].astype(np.float64) for k in ("W1", "b1", "W2", "b2"))
    m = X.shape[1]
    Z1 = W1 @ X + b1
    A1 = np.maximum(Z1, 0)
    Z2 = W2 @ A1 + b2
    A2 = np.exp(Z2 - Z2.max(axis=0)) / np.exp(Z2 - Z2.max(axis=0)).sum(axis=0)
    Y = np.eye(10)[:, y]
    dZ2 = A2 - Y
    dW2 = dZ2 @ A1.T / m
    db2 = dZ2.sum(axis=1, keepdims=True) / m
    dZ1 = (W2.T @ dZ2) * (Z1 > 0)
    dW1 = dZ1 @ X.T / m
    db1 = dZ1.sum(axis=1, keepdims=True) / m
    return {"W1": W1 - alpha * dW1, "b1": b1 - alpha * db1, "W2": W2 - alpha * dW2, "b2": b2 - alpha * db2}


@pytest.fixture
def tiny_set():
    rng = np.random.default_rng(3)
    return rng.random((40, 784)), rng.integers(0, 10, 40)


@pytest.mark.parametrize("batch_size", [None, 8])
def test_one_step_is_one_iteration_of_the_notes_loop(tiny_set, batch_size):
    X_rows, y = tiny_set
    stepper = Stepper(Network.init((784, 10, 10), seed=1, dtype=np.float64), 0.5, batch_size)
    stepper.step(X_rows, y)  # not the first step: the batches move on and the weights are no longer initial
    before = {k: v.copy() for k, v in stepper.net.params.items()}
    loss, examples = stepper.step(X_rows, y)
    idx = np.arange(40) if stepper.last_batch is None else stepper.last_batch
    assert len(idx) == (40 if batch_size is None else 8)
    expected = notes_iteration(before, X_rows[idx].T, y[idx], 0.5)
    for name, P in stepper.net.params.items():
        np.testing.assert_allclose(P, expected[name], rtol=1e-10, atol=1e-12, err_msg=name)
        assert not np.allclose(P, before[name]), f"{name} did not move"
    assert stepper.steps == 2 and stepper.history.train_loss[-1] == loss
    e = examples["W1"]  # the filled-in rule holds for the number shown
    assert e.after == pytest.approx(e.before - 0.5 * e.grad, rel=1e-12)
    assert abs(e.grad) > 0


def test_mini_batches_cover_the_set_once_per_epoch(tiny_set):
    X_rows, y = tiny_set
    stepper = Stepper(Network.init((784, 10, 10), seed=1), 0.1, 16)
    seen = []
    for _ in range(3):  # 40 examples in batches of 16: 16 + 16 + 8
        stepper.step(X_rows, y)
        seen.extend(stepper.last_batch)
    assert sorted(seen) == list(range(40)) and stepper.steps_per_epoch == 3


def test_step_report_shows_the_drawing_before_and_after(tiny_set):
    X_rows, y = tiny_set
    stepper = Stepper.new((10,), 0.5, None, seed=2)
    x = X_rows[:1].T
    W1 = stepper.net.params["W1"].copy()
    report = take_steps(stepper, X_rows, y, n=10, x=x, label=int(y[0]))
    assert report.steps == 10 and report.n == 10
    np.testing.assert_allclose(report.delta["W1"], stepper.net.params["W1"] - W1)
    assert report.norms["W1"][0] == pytest.approx(np.linalg.norm(report.delta["W1"]), rel=1e-6)
    assert not np.allclose(report.proba_before, report.proba_after)
    np.testing.assert_allclose(report.proba_after, stepper.net.predict_proba(x)[:, 0])
    assert report.loss_before == pytest.approx(-np.log(report.proba_before[y[0]]), rel=1e-6)
    assert report.loss_after < report.loss_before  # ten full-batch steps on a set that includes it


def test_step_on_mnist_pixels_lowers_the_loss(mnist):
    X, y = mnist.train_pixels[:2000], mnist.train_labels[:2000]
    stepper = Stepper.new((10,), 0.5, 128, seed=0)
    report = take_steps(stepper, X, y, n=30)
    assert report.proba_before is None and stepper.steps == 30
    losses = stepper.history.train_loss
    assert np.mean(losses[-5:]) < np.mean(losses[:5]) - 0.3  # ln 10 = 2.30 at first


# -- Teach ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def default_net():
    return load()[0]


def test_teach_flips_the_drawing_and_keeps_mnist(mnist, default_net):
    X, y, X_val, y_val = mnist.split(5000)
    image = np.rint(mnist.test_images[0] * 255).astype(np.uint8).reshape(28, 28)  # a 7, read as 7
    x = to_unit(image.reshape(-1, 1))
    assert default_net.predict(x)[0] == mnist.test_labels[0] == 7
    W1 = default_net.params["W1"].copy()
    taught = teach(default_net, image, 1, X, y, seed=0)
    assert taught.net.predict(x)[0] == 1 and taught.learnt
    assert taught.proba_before.argmax() == 7 and taught.proba_after.argmax() == 1
    before = default_net.accuracy(to_unit(X_val).T, y_val)
    after = taught.net.accuracy(to_unit(X_val).T, y_val)
    assert before - after <= 0.005, (before, after)
    np.testing.assert_array_equal(default_net.params["W1"], W1)  # the model taught is a copy


def test_teach_rehearses_my_earlier_digits(mnist, default_net):
    X, y, _, _ = mnist.split(5000)
    image = np.rint(mnist.test_images[0] * 255).astype(np.uint8).reshape(28, 28)
    mine = MyDigits()
    mine.add(image, 1)
    first = teach(default_net, image, 1, X, y, mine=mine, seed=0)
    other = np.rint(mnist.test_images[1] * 255).astype(np.uint8).reshape(28, 28)  # a 2
    second = teach(first.net, other, 3, X, y, mine=mine, seed=0)
    assert second.learnt and mine.read_by(second.net)[0] == 1  # teaching the 3 kept the first lesson


def test_teach_refuses_a_label_that_is_not_a_digit(mnist, default_net):
    with pytest.raises(ValueError, match="0 to 9"):
        teach(default_net, np.zeros((28, 28), np.uint8), 10, mnist.train_pixels[:10], mnist.train_labels[:10])


# -- Why -----------------------------------------------------------------------


def test_saliency_is_the_finite_difference_of_the_class_score(mnist, default_net):
    net = Network(default_net.sizes, {k: v.astype(np.float64) for k, v in default_net.params.items()})
    x = mnist.test_images[3].astype(np.float64).reshape(-1, 1)
    answer, runner_up = answer_and_runner_up(net, x)
    assert answer.digit == net.predict(x)[0] != runner_up.digit
    eps = 1e-5
    for why in (answer, runner_up):
        E = np.eye(784) * eps  # every pixel nudged up and down at once: 784 columns
        z_plus = net.forward(x + E)["Z2"][why.digit]
        z_minus = net.forward(x - E)["Z2"][why.digit]
        numeric = (z_plus - z_minus) / (2 * eps)
        np.testing.assert_allclose(why.dA0, numeric, rtol=1e-5, atol=1e-7)
        assert why.score == pytest.approx(net.forward(x)["Z2"][why.digit, 0])
        assert np.abs(why.dA0).max() > 0


def test_a_relu_score_is_its_gradient_times_the_pixels_plus_a_constant(default_net):
    rng = np.random.default_rng(0)
    x = rng.random((784, 1)).astype(np.float32)
    why = score_gradient(default_net, x, 4)
    # while no unit switches, z_4(t x) = t (dA0 . x) + c for t near 1
    z = [default_net.forward(t * x)["Z2"][4, 0] for t in (1.0, 1.0001)]
    assert (z[1] - z[0]) / 0.0001 == pytest.approx(float(why.dA0 @ x[:, 0]), rel=1e-2)


# -- My digits file --------------------------------------------------------------


def some_digits(n=3) -> MyDigits:
    rng = np.random.default_rng(0)
    d = MyDigits()
    for i in range(n):
        d.add(rng.integers(0, 256, (28, 28), dtype=np.uint8), i % 10)
    return d


def npz(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def test_my_digits_round_trip():
    d = some_digits(5)
    back = my_digits.load(my_digits.to_bytes(d))
    np.testing.assert_array_equal(back.images, d.images)
    np.testing.assert_array_equal(back.labels, d.labels)
    assert back.images.dtype == np.uint8 and back.rows().shape == (5, 784)
    assert my_digits.load(my_digits.to_bytes(MyDigits())).images.shape == (0, 28, 28)


def test_my_digits_accuracy_is_read_by_the_network(default_net, mnist):
    d = MyDigits()
    for i in range(4):
        d.add(np.rint(mnist.test_images[i] * 255).astype(np.uint8).reshape(28, 28), int(mnist.test_labels[i]))
    d.labels[0] = (d.labels[0] + 1) % 10  # one labelled wrongly
    assert d.accuracy(default_net) == 0.75
    assert MyDigits().accuracy(default_net) is None


IMAGES = np.zeros((2, 28, 28), np.uint8)
LABELS = np.array([1, 2], np.uint8)


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (b"hello, not a zip", "not a My digits file"),
        (npz(images=IMAGES), "no labels"),
        (npz(images=IMAGES.astype(np.float32), labels=LABELS), "uint8 images"),
        (npz(images=np.zeros((2, 32, 32), np.uint8), labels=LABELS), "shape \\(n, 28, 28\\)"),
        (npz(images=IMAGES, labels=np.array([1.0, 2.0])), "one whole number"),
        (npz(images=IMAGES, labels=np.array([1, 12])), "from 0 to 9"),
        (npz(images=IMAGES, labels=np.array([1, 2, 3])), "2 images but 3 labels"),
        (npz(images=IMAGES, labels=LABELS, extra=LABELS), "'extra'"),
        (npz(images=IMAGES, labels=np.array([{"x": 1}, 2], dtype=object)), "Python objects"),
        (npz(images=np.zeros((MAX_DIGITS + 1, 28, 28), np.uint8), labels=LABELS), "at most 2000"),
        (b"PK\x03\x04" + bytes(100), "not a My digits file"),
        (b"\0" * (my_digits.MAX_BYTES + 1), "at most 4 MB"),
    ],
)
def test_my_digits_refuses_bad_files(data, message):
    with pytest.raises(MyDigitsError, match=message):
        my_digits.load(data)


def test_a_zip_bomb_is_refused_from_its_header_before_decompressing(monkeypatch):
    bomb = npz(
        images=np.zeros((40_000, 28, 28), np.uint8), labels=np.zeros(40_000, np.uint8)
    )  # 31 MB unpacked
    assert len(bomb) < my_digits.MAX_BYTES
    monkeypatch.setattr(np.lib.format, "read_array", lambda *a, **k: pytest.fail("decompressed the bomb"))
    with pytest.raises(MyDigitsError, match="would unpack to"):
        my_digits.load(bomb)


def test_a_damaged_file_says_so():
    data = bytearray(my_digits.to_bytes(some_digits(3)))
    data[60:90] = bytes(30)  # inside the first member's compressed bytes
    with pytest.raises(MyDigitsError, match="damaged|header"):
        my_digits.load(bytes(data))


def test_a_pickle_inside_the_zip_is_never_loaded():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("images.pkl", pickle.dumps([1, 2]))
    with pytest.raises(MyDigitsError, match="not an array"):
        my_digits.load(buffer.getvalue())


def test_my_digits_is_capped():
    d = MyDigits(np.zeros((MAX_DIGITS, 28, 28), np.uint8), np.zeros(MAX_DIGITS, np.int64))
    with pytest.raises(MyDigitsError, match="at most"):
        d.add(np.zeros((28, 28), np.uint8), 3)
    assert d.extend(some_digits(2)) == 0 and len(d) == MAX_DIGITS
