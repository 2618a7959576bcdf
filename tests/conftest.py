import pytest

from digitnet.data import load_mnist


@pytest.fixture(scope="session")
def mnist():
    """The shipped MNIST, loaded once for the whole test run (read-only arrays)."""
    return load_mnist()
