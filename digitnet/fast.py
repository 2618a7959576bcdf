"""The network's two long products, taken a block of examples at a time: for speed only.

Nothing here changes the maths: W_dot(W, A) is W @ A and dZ_dot_At(dZ, A) is
dZ @ A.T, to float rounding. A narrow layer's products are long and thin, like
W1 . X, (10 x 784)(784 x m), and dW1 = dZ1 . X^T, (10 x m)(m x 784). OpenBLAS
multiplies small products (up to about a million multiply-adds) with a direct
kernel that skips the packing its general kernel does, and on these shapes that
is several times faster. So such a product is taken BLOCK examples (columns) at
a time; other layers gain nothing and are multiplied whole. benchmarks/bench.py
times the first layer's two products.
"""

from __future__ import annotations

import functools

import numpy as np

BLOCK = 64  # examples per block
SMALL_PRODUCT = 1_000_000  # multiply-adds that OpenBLAS's small-matrix kernel takes
NARROW, LONG = 16, 256  # at most 16 units, at least 256 inputs: the shapes where blocks pay


@functools.lru_cache(maxsize=64)  # the same few shapes, thousands of steps
def example_blocks(n_out: int, n_in: int, m: int) -> tuple[slice, ...] | None:
    """Slices of the m examples for a layer of n_out units over n_in inputs, or None: multiply whole."""
    if (
        n_out > NARROW
        or n_in < LONG
        or n_out * n_in * m <= SMALL_PRODUCT
        or n_out * n_in * BLOCK > SMALL_PRODUCT
    ):
        return None
    return tuple(slice(i, i + BLOCK) for i in range(0, m, BLOCK))


def W_dot(W: np.ndarray, A: np.ndarray) -> np.ndarray:
    """W @ A, (n_out x n_in)(n_in x m), a block of columns at a time."""
    blocks = example_blocks(W.shape[0], W.shape[1], A.shape[1])
    if blocks is None:
        return W @ A
    Z = np.empty((W.shape[0], A.shape[1]), dtype=np.result_type(W, A))
    for cols in blocks:
        np.matmul(W, A[:, cols], out=Z[:, cols])
    return Z


def dZ_dot_At(dZ: np.ndarray, A: np.ndarray) -> np.ndarray:
    """dZ @ A.T, (n_out x m)(m x n_in): a sum over the examples, taken a block at a time."""
    blocks = example_blocks(dZ.shape[0], A.shape[0], A.shape[1])
    if blocks is None:
        return dZ @ A.T
    total = dZ[:, blocks[0]] @ A[:, blocks[0]].T
    part = np.empty_like(total)
    for cols in blocks[1:]:
        total += np.matmul(dZ[:, cols], A[:, cols].T, out=part)
    return total
