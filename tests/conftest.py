import os
import tempfile

import pytest

from digitnet.data import load_mnist

# No test writes to the real data folder (digitnet/store.py): the whole run gets a temporary
# one, which the servers started by the browser tests inherit.
_DATA_DIR = tempfile.TemporaryDirectory(prefix="digitnet-test-data-")
os.environ["DIGITNET_DATA_DIR"] = _DATA_DIR.name


@pytest.fixture(scope="session", autouse=True)
def patient_browser_checks():
    """Playwright's `expect` waits 5 s unless told otherwise, however busy the machine. On CI's
    two cores, shared by the server, Chromium and the test, a run the page asks for can take
    longer, and a test failed for it (the projector test, after a scroll). Every check in the
    browser tests waits as long as their own timeout, 30 s; one that holds returns at once."""
    try:
        from playwright.sync_api import expect
    except ImportError:  # no browser tests here: they skip (tests/browser_support.py)
        return
    expect.set_options(timeout=30_000)


@pytest.fixture(scope="session")
def mnist():
    """The shipped MNIST, loaded once for the whole test run (read-only arrays)."""
    return load_mnist()


@pytest.fixture
def small_data(mnist):
    """(X, y, X_val, y_val) of the first n training digits and the last n_val, as train() takes them."""

    def cut(n: int, n_val: int):
        return (
            mnist.train_images[:n],
            mnist.train_labels[:n],
            mnist.train_images[-n_val:],
            mnist.train_labels[-n_val:],
        )

    return cut


@pytest.fixture
def w1_after(small_data):
    """W1 of the notes' 784-10-10 (seed 0) after 2 epochs at batch 100 on `data`, with more
    TrainConfig settings: what a training option changes in the weights."""
    from digitnet.network import Network
    from digitnet.train import TrainConfig, train

    def run(data, **kw):
        net = Network.init((784, 10, 10), seed=0)
        return train(net, *data, TrainConfig(lr=0.5, epochs=2, batch_size=100, **kw)).net.params["W1"]

    return run
