""" "My digits": a student's own labelled drawings, as the 28x28 images the network saw.

The file is an .npz of two arrays, nothing else:

    images   (n, 28, 28) uint8   0 = background, 255 = ink (MNIST's convention)
    labels   (n,)        integer 0..9

read back with the same care as a model file (digitnet.npzfile: no pickle, the
headers checked before anything is decompressed, sizes capped).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np

from .data import SIDE, to_unit
from .network import N_CLASSES, Network
from .npzfile import NpzError, read

MAX_DIGITS = 2000  # a class drawing for an hour makes a few hundred; 2000 images are 1.5 MB
MAX_BYTES = 4 * 2**20  # the file (compressed)
WHAT = "My digits file"


class MyDigitsError(NpzError):
    """Not a usable My digits file; the message says why in one sentence."""


@dataclass
class MyDigits:
    images: np.ndarray = field(default_factory=lambda: np.zeros((0, SIDE, SIDE), np.uint8))  # (n, 28, 28)
    labels: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # (n,)

    def __len__(self) -> int:
        return len(self.labels)

    def add(self, image28: np.ndarray, label: int) -> None:
        if len(self) >= MAX_DIGITS:
            raise MyDigitsError(
                f"My digits holds at most {MAX_DIGITS} drawings; download it and start a new set."
            )
        self.images = np.concatenate([self.images, np.asarray(image28, np.uint8).reshape(1, SIDE, SIDE)])
        self.labels = np.append(self.labels, np.int64(label))

    def extend(self, other: MyDigits) -> int:
        """Add another set's drawings (an upload); returns how many were added."""
        room = MAX_DIGITS - len(self)
        self.images = np.concatenate([self.images, other.images[:room]])
        self.labels = np.concatenate([self.labels, other.labels[:room]])
        return min(room, len(other))

    def rows(self) -> np.ndarray:
        """(n, 784) uint8 pixels, as MNIST's training images are kept."""
        return self.images.reshape(len(self), SIDE * SIDE)

    def X(self) -> np.ndarray:
        """The notes' X (784 x n), floats in [0, 1]."""
        return to_unit(self.rows()).T

    def read_by(self, net: Network) -> np.ndarray:
        """(n,) the network's answer for each drawing."""
        return net.predict(self.X()) if len(self) else np.zeros(0, np.int64)

    def accuracy(self, net: Network) -> float | None:
        return float((self.read_by(net) == self.labels).mean()) if len(self) else None


def to_bytes(digits: MyDigits) -> bytes:
    buffer = io.BytesIO()
    np.savez_compressed(buffer, images=digits.images.astype(np.uint8), labels=digits.labels.astype(np.uint8))
    return buffer.getvalue()


def load(data: bytes) -> MyDigits:
    """Read and check a My digits file; raises MyDigitsError with a plain sentence."""
    try:
        arrays = read(data, WHAT, MAX_BYTES, MAX_DIGITS * SIDE * SIDE + 1024, _check)
    except MyDigitsError:
        raise
    except NpzError as e:
        raise MyDigitsError(str(e)) from None
    missing = {"images", "labels"} - set(arrays)
    if missing:
        raise MyDigitsError(f"This is not a {WHAT}: it has no {' or '.join(sorted(missing))} array.")
    images, labels = arrays["images"], arrays["labels"]
    if len(images) != len(labels):
        raise MyDigitsError(f"The file holds {len(images)} images but {len(labels)} labels.")
    if len(labels) and not (labels.min() >= 0 and labels.max() < N_CLASSES):
        raise MyDigitsError("Its labels must be digits from 0 to 9.")
    return MyDigits(images.copy(), labels.astype(np.int64))


def _check(name: str, dtype: np.dtype, shape: tuple[int, ...]) -> None:
    """Refuse, from its header alone, any array that is not one of the two expected."""
    if name == "images":
        if dtype != np.uint8 or len(shape) != 3 or shape[1:] != (SIDE, SIDE):
            raise MyDigitsError(
                f"Its images are {dtype} of shape {shape}; a {WHAT} holds uint8 images of shape (n, 28, 28)."
            )
    elif name == "labels":
        if dtype.kind not in "iu" or len(shape) != 1:
            raise MyDigitsError(
                f"Its labels are {dtype} of shape {shape}; a {WHAT} holds one whole number per image."
            )
    else:
        raise MyDigitsError(f"This is not a {WHAT}: it holds an array {name!r} besides images and labels.")
    if shape[0] > MAX_DIGITS:
        raise MyDigitsError(f"It holds {shape[0]} {name}; a {WHAT} holds at most {MAX_DIGITS}.")
