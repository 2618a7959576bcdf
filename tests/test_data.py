"""The MNIST loader: the shipped files are the published ones, and a missing,
truncated or damaged file gives a message naming it."""

import gzip
import shutil

import numpy as np
import pytest

from digitnet.data import FILES, MNIST_DIR, DataError, load_mnist, read_idx, to_unit


def test_shipped_mnist_is_complete_and_in_range(mnist):
    assert mnist.train_images.shape == (60000, 784) and mnist.test_images.shape == (10000, 784)
    assert mnist.train_images.dtype == np.float32
    assert mnist.train_images.min() == 0.0 and mnist.train_images.max() == 1.0
    assert np.bincount(mnist.test_labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    assert mnist.train_labels[:5].tolist() == [5, 0, 4, 1, 9]  # the well-known first five
    assert not mnist.train_images.flags.writeable  # shared by every session: nobody may write
    assert mnist.train_pixels.dtype == np.uint8 and not mnist.train_pixels.flags.writeable


def test_pixels_scale_to_the_same_numbers_batch_by_batch_as_all_at_once(mnist):
    # training scales each batch of pixels as it reads it: it must see exactly the floats of the whole set
    whole = (mnist.train_pixels.astype(np.float32) / np.float32(255)).astype(np.float32)
    np.testing.assert_allclose(mnist.train_images, whole, rtol=1e-7, atol=0)
    rows = [3, 59999, 0, 31337]
    out = np.empty((4, 784), np.float32)
    assert to_unit(mnist.train_pixels[rows], out=out) is out
    np.testing.assert_array_equal(out, mnist.train_images[rows])
    assert to_unit(np.array([0, 255], np.uint8)).tolist() == [0.0, 1.0]


def test_split_holds_out_the_end_of_the_training_set(mnist):
    X, y, X_val, y_val = mnist.split(5000)
    assert len(X) == 55000 and len(X_val) == 5000
    np.testing.assert_array_equal(X_val, mnist.train_pixels[55000:])


@pytest.fixture
def copy_of_mnist(tmp_path):
    for name in FILES:
        shutil.copy(MNIST_DIR / name, tmp_path / name)
    return tmp_path


def test_missing_file_is_named(copy_of_mnist):
    (copy_of_mnist / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match="missing.*t10k-labels"):
        load_mnist(copy_of_mnist)


def test_truncated_file_is_named(copy_of_mnist):
    path = copy_of_mnist / "t10k-images-idx3-ubyte.gz"
    raw = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(raw[:-784]))
    with pytest.raises(DataError, match="t10k-images"):
        load_mnist(copy_of_mnist)
    with pytest.raises(DataError, match="truncated"):
        load_mnist(copy_of_mnist, verify=False)


def test_damaged_bytes_are_caught_by_the_checksum(copy_of_mnist):
    path = copy_of_mnist / "train-labels-idx1-ubyte.gz"
    raw = bytearray(gzip.decompress(path.read_bytes()))
    raw[100] = (raw[100] + 1) % 10
    path.write_bytes(gzip.compress(bytes(raw)))
    with pytest.raises(DataError, match="train-labels.*checksum"):
        load_mnist(copy_of_mnist)


def test_not_gzip_is_named(copy_of_mnist):
    (copy_of_mnist / "train-images-idx3-ubyte.gz").write_bytes(b"<html>not found</html>")
    with pytest.raises(DataError, match="train-images.*damaged"):
        load_mnist(copy_of_mnist)


def test_read_idx_parses_header_and_shape(tmp_path):
    path = tmp_path / "tiny-idx3-ubyte"
    data = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    path.write_bytes(bytes([0, 0, 8, 3]) + np.array([2, 3, 4], dtype=">u4").tobytes() + data.tobytes())
    np.testing.assert_array_equal(read_idx(path), data)
    with pytest.raises(DataError, match="shape"):
        read_idx(path, expected_shape=(2, 12))
