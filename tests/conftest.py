import os
import tempfile

import pytest

from digitnet.data import load_mnist

# No test writes to the real data folder (digitnet/store.py): the whole run gets a temporary
# one, which the servers started by the browser tests inherit.
_DATA_DIR = tempfile.TemporaryDirectory(prefix="digitnet-test-data-")
os.environ["DIGITNET_DATA_DIR"] = _DATA_DIR.name


@pytest.fixture(scope="session")
def mnist():
    """The shipped MNIST, loaded once for the whole test run (read-only arrays)."""
    return load_mnist()
