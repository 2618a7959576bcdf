"""The training loop: it learns, reports, stops on request, notices divergence
and keeps good weights, and full-batch mode is the notes' plain descent."""

import numpy as np
import pytest

from digitnet.network import Network, one_hot
from digitnet.optim import SGD
from digitnet.train import TrainConfig, train


@pytest.fixture(scope="module")
def small(mnist):
    """2,000 training and 500 validation images: enough to learn, fast to run."""
    return (
        mnist.train_images[:2000],
        mnist.train_labels[:2000],
        mnist.train_images[-500:],
        mnist.train_labels[-500:],
    )


def net10(seed=0):
    return Network.init((784, 10, 10), seed=seed)


def test_training_learns_and_reports_every_step(small):
    seen = []
    config = TrainConfig(lr=0.1, epochs=10, batch_size=100)
    result = train(net10(), *small, config, on_progress=seen.append)
    assert result.status == "finished"
    assert [p.step for p in seen] == list(range(1, 201))  # 2000 / 100 = 20 steps an epoch
    assert seen[-1].total_steps == 200 and seen[-1].epoch == pytest.approx(10.0)
    assert [p.val_loss is not None for p in seen].count(True) == 10  # once an epoch
    assert result.history.val_accuracy[-1] > 0.85
    assert result.history.val_loss[-1] < result.history.val_loss[0]
    assert len(result.history.train_loss) == 200
    assert result.epochs == pytest.approx(10.0)


def test_eval_every_adds_validation_points(small):
    result = train(net10(), *small, TrainConfig(epochs=1, batch_size=100, eval_every=5))
    assert result.history.val_step == [5, 10, 15, 20]


def test_stop_between_steps_keeps_what_was_learnt(small):
    net = net10()
    initial = net.params["W1"].copy()
    steps = []
    result = train(
        net,
        *small,
        TrainConfig(epochs=50, batch_size=100),
        on_progress=steps.append,
        should_stop=lambda: len(steps) >= 7,
    )
    assert result.status == "stopped"
    assert len(steps) == 7 and result.history.step[-1] == 7
    assert not np.array_equal(net.params["W1"], initial)
    assert "kept" in result.message


def test_huge_learning_rate_diverges_and_keeps_last_good_weights(small):
    net = net10()
    initial = net.copy()
    result = train(net, *small, TrainConfig(lr=10, epochs=2, batch_size=100))
    assert result.status == "diverged"
    assert "smaller learning rate" in result.message
    assert net.is_finite()
    # the loss exploded on the second step, so the good weights are the first ones
    for name in net.params:
        np.testing.assert_array_equal(net.params[name], initial.params[name])


def test_batch_size_1_trains_one_image_at_a_time(mnist):
    # one image's loss above 3 ln 10 is normal; divergence is judged on the smoothed loss
    X, y, X_val, y_val = mnist.split(5000)
    result = train(net10(), X, y, X_val, y_val, TrainConfig(lr=0.01, epochs=1, batch_size=1))
    assert result.status == "finished", result.message
    assert max(result.history.train_loss) > 3 * np.log(10)  # single confident mistakes were seen
    assert result.history.val_accuracy[-1] >= 0.85


def test_batch_size_1_still_notices_a_blow_up(small):
    result = train(net10(), *small, TrainConfig(lr=50, epochs=1, batch_size=1))
    assert result.status == "diverged"
    assert result.net.is_finite()


def test_dead_relus_are_reported(small):
    # full-batch alpha = 2 does not blow the loss up but kills every hidden unit in a few steps
    result = train(net10(), *small, TrainConfig(lr=2, epochs=20, batch_size=None))
    assert result.status == "diverged"
    assert "stopped firing" in result.message
    assert result.net.is_finite()


def test_full_batch_is_the_notes_gradient_descent(small):
    X, y, X_val, y_val = small
    net = net10(seed=3)
    by_hand = net.copy()
    train(net, X, y, X_val, y_val, TrainConfig(lr=0.5, epochs=3, batch_size=None))
    for _ in range(3):  # W = W - alpha dW on all 2,000 examples at once, three times
        SGD().update(by_hand.params, by_hand.backward(by_hand.forward(X.T), one_hot(y)), 0.5)
    for name in net.params:
        np.testing.assert_allclose(net.params[name], by_hand.params[name], rtol=1e-5, atol=1e-6)


def test_batch_larger_than_data_is_full_batch(small):
    result = train(net10(), *small, TrainConfig(epochs=2, batch_size=10**6))
    assert result.history.step == [1, 2]


def test_same_seed_same_model(small):
    a = train(net10(), *small, TrainConfig(epochs=1, batch_size=64, seed=5)).net
    b = train(net10(), *small, TrainConfig(epochs=1, batch_size=64, seed=5)).net
    c = train(net10(), *small, TrainConfig(epochs=1, batch_size=64, seed=6)).net
    np.testing.assert_array_equal(a.params["W1"], b.params["W1"])
    assert not np.array_equal(a.params["W1"], c.params["W1"])


@pytest.mark.parametrize("batch_size", [64, None])
@pytest.mark.parametrize("augment", [False, True])
def test_pixels_train_exactly_as_their_floats(mnist, batch_size, augment):
    # the app and the command line hand train() the files' uint8 pixels; it scales them as it reads
    pixels = (
        mnist.train_pixels[:500],
        mnist.train_labels[:500],
        mnist.train_pixels[-100:],
        mnist.train_labels[-100:],
    )
    floats = (
        mnist.train_images[:500],
        mnist.train_labels[:500],
        mnist.train_images[-100:],
        mnist.train_labels[-100:],
    )
    config = TrainConfig(epochs=2, batch_size=batch_size, augment=augment, seed=2)
    a, b = train(net10(), *pixels, config), train(net10(), *floats, config)
    for name in a.net.params:
        np.testing.assert_array_equal(a.net.params[name], b.net.params[name])
    assert a.history.val_loss == b.history.val_loss


def test_full_batch_taken_in_parts_is_the_same_step(mnist, monkeypatch):
    # a full-batch step is taken PART examples at a time (uneven last part here);
    # the step is the whole batch's
    X, y = mnist.train_pixels[:500], mnist.train_labels[:500]
    X_val, y_val = mnist.train_images[-100:], mnist.train_labels[-100:]
    config = TrainConfig(lr=0.5, epochs=3, batch_size=None)
    whole = train(
        Network.init((784, 16, 10), seed=1, dtype=np.float64),
        X.astype(np.float64) / 255,
        y,
        X_val,
        y_val,
        config,
    )
    monkeypatch.setattr("digitnet.train.PART", 70)
    parts = train(
        Network.init((784, 16, 10), seed=1, dtype=np.float64),
        X.astype(np.float64) / 255,
        y,
        X_val,
        y_val,
        config,
    )
    for name in whole.net.params:
        np.testing.assert_allclose(
            parts.net.params[name], whole.net.params[name], rtol=1e-10, atol=1e-12, err_msg=name
        )
    np.testing.assert_allclose(parts.history.train_loss, whole.history.train_loss, rtol=1e-12)


def test_until_convergence_stops_early_and_keeps_the_best(small):
    X, y, X_val, y_val = small
    # few examples and a big network: validation loss turns up soon
    net = Network.init((784, 64, 10), seed=0)
    result = train(
        net,
        X[:300],
        y[:300],
        X_val,
        y_val,
        TrainConfig(lr=0.5, epochs=200, batch_size=30, until_convergence=True, patience=2),
    )
    assert result.status == "converged"
    assert result.epochs < 200
    assert net.loss(X_val.T, y_val) == pytest.approx(min(result.history.val_loss), rel=1e-5)


@pytest.mark.parametrize("optimizer,lr", [("momentum", 0.05), ("adam", 0.005)])
def test_other_optimisers_learn(small, optimizer, lr):
    result = train(net10(), *small, TrainConfig(lr=lr, epochs=3, batch_size=100, optimizer=optimizer))
    assert result.status == "finished"
    assert result.history.val_accuracy[-1] > 0.8


def test_learning_rate_decay(small):
    seen = []
    train(
        net10(), *small, TrainConfig(lr=0.1, epochs=3, batch_size=1000, lr_decay=0.5), on_progress=seen.append
    )
    assert [p.alpha for p in seen] == [0.1, 0.1, 0.05, 0.05, 0.025, 0.025]


def test_augmentation_changes_what_is_learnt(small):
    plain = train(net10(), *small, TrainConfig(lr=0.5, epochs=2, batch_size=100)).net
    augmented = train(net10(), *small, TrainConfig(lr=0.5, epochs=2, batch_size=100, augment=True)).net
    assert not np.allclose(plain.params["W1"], augmented.params["W1"])
    assert augmented.accuracy(small[2].T, small[3]) > 0.55


@pytest.mark.parametrize(
    "settings,words",
    [
        (dict(lr=0), "learning rate"),
        (dict(lr=float("nan")), "learning rate"),
        (dict(epochs=0), "epoch"),
        (dict(batch_size=0), "batch size"),
        (dict(hidden=(0,)), "hidden"),
    ],
)
def test_bad_settings_are_refused_in_plain_words(settings, words):
    with pytest.raises(ValueError, match=words):
        TrainConfig(**settings)
