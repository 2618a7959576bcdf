"""MNIST from the gzipped IDX files in assets/mnist, checked: the training
images as the files' uint8 pixels, the test images as floats in [0, 1].

Images are kept as rows (m x 784, C order) because a mini-batch is then a
gather of contiguous rows; `.T` of that is the notes' X (784 x m, examples as
columns) without a copy, and BLAS multiplies the transposed view directly.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ASSETS = Path(__file__).resolve().parent.parent / "assets"
MNIST_DIR = ASSETS / "mnist"
SIDE = 28  # every MNIST image is SIDE x SIDE pixels
N_VAL = 5000  # of the 60,000 training images, held out to watch for over-fitting

# name -> (shape given by the IDX header, SHA-256 of the uncompressed bytes)
FILES = {
    "train-images-idx3-ubyte.gz": (
        (60000, SIDE, SIDE),
        "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    ),
    "train-labels-idx1-ubyte.gz": (
        (60000,),
        "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    ),
    "t10k-images-idx3-ubyte.gz": (
        (10000, SIDE, SIDE),
        "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    ),
    "t10k-labels-idx1-ubyte.gz": (
        (10000,),
        "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    ),
}


class DataError(RuntimeError):
    """A data file is missing or damaged; the message names the file and the fix."""


def read_idx(
    path: Path, expected_shape: tuple[int, ...] | None = None, sha256: str | None = None
) -> np.ndarray:
    """Parse one (optionally gzipped) IDX file: a big-endian header (magic number,
    then one uint32 per dimension) followed by uint8 data."""
    path = Path(path)
    if not path.exists():
        raise DataError(
            f"MNIST file missing: {path}. Restore it from the repository (`git checkout -- assets/mnist`)."
        )
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise DataError(
            f"MNIST file {path.name} is damaged (cannot be decompressed: {e}). Restore it from the "
            "repository."
        ) from None
    if sha256 is not None and hashlib.sha256(raw).hexdigest() != sha256:
        raise DataError(
            f"MNIST file {path.name} is damaged (its checksum does not match the published one). Restore it "
            "from the repository."
        )
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DataError(f"{path.name} is not an IDX file of unsigned bytes.")
    ndim = raw[3]
    header = 4 + 4 * ndim
    dims = (
        tuple(int(d) for d in np.frombuffer(raw, dtype=">u4", count=ndim, offset=4))
        if len(raw) >= header
        else ()
    )
    if len(dims) != ndim or len(raw) != header + int(np.prod(dims)):
        raise DataError(
            f"MNIST file {path.name} is truncated or padded: expected {header + int(np.prod(dims or (0,)))} "
            f"bytes, found {len(raw)}."
        )
    if expected_shape is not None and dims != expected_shape:
        raise DataError(f"MNIST file {path.name} has shape {dims}, expected {expected_shape}.")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


PIXEL = np.float32(1 / 255)


def to_unit(pixels: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Pixels 0..255 (uint8) -> float32 in [0, 1], the notes' X / 255; into `out` if given.
    The same float32 numbers as scaling the whole set at once."""
    if out is None:
        out = np.empty(pixels.shape, np.float32)
    np.copyto(out, pixels)
    out *= PIXEL
    return out


@dataclass(frozen=True)
class MNIST:
    """The four arrays, read-only: one copy is shared by every session of the app.

    Training images are kept as the files' pixels, uint8 0..255: a quarter of the
    memory of floats (the app shares them with its training processes), and
    training scales each batch as it reads it. Test images are float32 rows in
    [0, 1] (pixel / 255, as the notes' 0 -> 255 scaled down). Labels are int64."""

    train_pixels: np.ndarray  # (60000, 784) uint8
    train_labels: np.ndarray  # (60000,)
    test_images: np.ndarray  # (10000, 784) float32
    test_labels: np.ndarray  # (10000,)

    @functools.cached_property
    def train_images(self) -> np.ndarray:
        """The training images as float32 rows in [0, 1], all at once (188 MB, made on first use)."""
        X = to_unit(self.train_pixels)
        X.flags.writeable = False
        return X

    def split(self, n_val: int = N_VAL) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Training pixels and labels, validation pixels and labels: the last n_val of
        the training set are held out (the test set is kept for evaluation only).
        digitnet.train takes the pixels as they are."""
        n = len(self.train_labels) - n_val
        return self.train_pixels[:n], self.train_labels[:n], self.train_pixels[n:], self.train_labels[n:]


def load_mnist(directory: Path | str = MNIST_DIR, verify: bool = True) -> MNIST:
    """Load and check all four files; raises DataError with a plain message.

    The SHA-256 check costs ~0.1 s and catches any damaged byte, so it is on by default."""
    directory = Path(directory)
    arrays = {}
    for name, (shape, digest) in FILES.items():
        a = read_idx(directory / name, shape, digest if verify else None)
        if len(shape) == 3:
            a = a.reshape(shape[0], 784)
            if name.startswith("t10k"):
                a = to_unit(a)
        else:
            a = a.astype(np.int64)
            if a.max() > 9:
                raise DataError(f"MNIST file {name} holds labels above 9.")
        a.flags.writeable = False
        arrays[name.split("-")[0] + "_" + ("images" if len(shape) == 3 else "labels")] = a
    return MNIST(
        train_pixels=arrays["train_images"],
        train_labels=arrays["train_labels"],
        test_images=arrays["t10k_images"],
        test_labels=arrays["t10k_labels"],
    )
