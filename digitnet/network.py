"""The network of the notes (../shared/seed/ann-digit-classification.txt), in its notation.

Examples are columns: X is 784 x m, A0 = X. For the seed's two layers

    Z1 = W1 . A0 + b1        (10 x m) = (10 x 784)(784 x m) + (10 x 1)
    A1 = ReLU(Z1)            (10 x m)
    Z2 = W2 . A1 + b2        (10 x m) = (10 x 10)(10 x m) + (10 x 1)
    A2 = softmax(Z2)         (10 x m)   the output is A2 (the notes call it A3 once)

and backward, with Y the one-hot labels (10 x m):

    dZ2 = A2 - Y                     (10 x m)
    dW2 = 1/m dZ2 . A1^T             (10 x 10)
    db2 = 1/m sum_columns dZ2        (10 x 1)
    dZ1 = W2^T . dZ2 * g'(Z1)        (10 x m)
    dW1 = 1/m dZ1 . X^T              (10 x 784)   (the notes say 10 x 728: a slip)
    db1 = 1/m sum_columns dZ1        (10 x 1)

The same code runs any number of hidden layers (sizes 784, h1, ..., 10): layer l
has W<l> (n_l x n_{l-1}) and b<l> (n_l x 1); every hidden layer is ReLU and the
last is softmax. With one hidden layer of 10 it is exactly the notes' network.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import numpy as np

N_INPUT = 784  # 28 x 28 pixels, one column per image
N_CLASSES = 10


# -- activations and loss: small pure functions ----------------------------


def relu(Z: np.ndarray) -> np.ndarray:
    return np.maximum(Z, 0)


def relu_prime(Z: np.ndarray) -> np.ndarray:
    """g'(Z): 1 where the unit fired, 0 elsewhere (0 at Z = 0, as the notes' 'if x <= 0').
    Booleans, not floats: multiplying by them is the same and saves a pass."""
    return Z > 0


def softmax(Z: np.ndarray) -> np.ndarray:
    """e^z_i / sum_j e^z_j per column. Subtracting the column max changes nothing
    mathematically but keeps exp() from overflowing for large scores."""
    E = Z - Z.max(axis=0, keepdims=True)  # a new array: Z itself is kept (the app shows it)
    np.exp(E, out=E)  # in place here and below: each pass over the batch is one less array to allocate
    E /= E.sum(axis=0, keepdims=True)
    return E


def one_hot(y: np.ndarray, n_classes: int = N_CLASSES, dtype=np.float32) -> np.ndarray:
    """Labels (m,) -> Y (n_classes x m): y = 4 becomes the column [0 0 0 0 1 0 ...]^T."""
    return _identity(n_classes, np.dtype(dtype)).take(np.asarray(y), axis=1)  # column k of I is label k


@functools.lru_cache(maxsize=8)
def _identity(n: int, dtype: np.dtype) -> np.ndarray:
    I = np.eye(n, dtype=dtype)
    I.flags.writeable = False  # shared between calls
    return I


def cross_entropy(A: np.ndarray, y: np.ndarray) -> float:
    """Mean of -log(probability given to the true class).

    Clipped at 1e-12 so that a probability of exactly 0 gives a large finite loss
    (27.6) instead of inf; a probability of 1 gives 0."""
    p = A[np.asarray(y), np.arange(A.shape[1])]
    return float(
        -np.log(np.maximum(p, 1e-12)).sum() / p.size
    )  # the mean (ndarray.mean costs 3x more per batch)


# -- products over a batch ----------------------------------------------------
#
# A narrow layer's products are long and thin: W1 . X is (10 x 784)(784 x m)
# and dW1 = dZ1 . X^T is (10 x m)(m x 784). OpenBLAS multiplies small products
# (up to about a million multiply-adds) with a direct kernel that skips the
# packing its general kernel does, and on these shapes that is 2-3x faster.
# So for such a layer the m examples are taken BLOCK at a time; each block's
# product is small, and the result is the same sum. Other layers gain nothing
# (measured: 32 x 256 and 10 x 10 get slower) and are multiplied whole.
# (benchmarks/bench.py measures the training step.)

BLOCK = 64
SMALL_PRODUCT = 1_000_000  # multiply-adds
NARROW, LONG = 16, 256  # at most 16 units, at least 256 inputs: the shapes where blocks pay


@functools.lru_cache(maxsize=64)  # the same few shapes, thousands of steps
def _example_blocks(n_out: int, n_in: int, m: int) -> tuple[slice, ...] | None:
    if (
        n_out > NARROW
        or n_in < LONG
        or n_out * n_in * m <= SMALL_PRODUCT
        or n_out * n_in * BLOCK > SMALL_PRODUCT
    ):
        return None
    return tuple(slice(i, i + BLOCK) for i in range(0, m, BLOCK))


def W_dot(W: np.ndarray, A: np.ndarray) -> np.ndarray:
    """W . A, (n_out x n_in)(n_in x m), a block of examples (columns) at a time."""
    blocks = _example_blocks(W.shape[0], W.shape[1], A.shape[1])
    if blocks is None:
        return W @ A
    Z = np.empty((W.shape[0], A.shape[1]), dtype=np.result_type(W, A))
    for cols in blocks:
        np.matmul(W, A[:, cols], out=Z[:, cols])
    return Z


def dZ_dot_At(dZ: np.ndarray, A: np.ndarray) -> np.ndarray:
    """dZ . A^T, (n_out x m)(m x n_in): a sum over examples, taken a block at a time."""
    blocks = _example_blocks(dZ.shape[0], A.shape[0], A.shape[1])
    if blocks is None:
        return dZ @ A.T
    total = dZ[:, blocks[0]] @ A[:, blocks[0]].T
    part = np.empty_like(total)
    for cols in blocks[1:]:
        total += np.matmul(dZ[:, cols], A[:, cols].T, out=part)
    return total


# -- the network -------------------------------------------------------------


class Network:
    """Weights W1..WL and biases b1..bL, kept in `params` under the notes' names."""

    def __init__(self, sizes: Sequence[int], params: dict[str, np.ndarray]):
        self.sizes = tuple(int(n) for n in sizes)
        self.params = params

    @classmethod
    def init(cls, sizes: Sequence[int], seed: int = 0, dtype=np.float32) -> Network:
        """He initialisation (std = sqrt(2 / fan_in)), which keeps ReLU activations
        from shrinking or growing layer after layer; biases start at 0. A seeded
        generator: the same seed gives the same weights."""
        rng = np.random.default_rng(seed)
        params = {}
        for l, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
            params[f"W{l}"] = (rng.standard_normal((n_out, n_in)) * np.sqrt(2.0 / n_in)).astype(dtype)
            params[f"b{l}"] = np.zeros((n_out, 1), dtype=dtype)
        return cls(sizes, params)

    @property
    def L(self) -> int:
        """Number of layers with weights (the notes' network has L = 2)."""
        return len(self.sizes) - 1

    @property
    def hidden(self) -> tuple[int, ...]:
        return self.sizes[1:-1]

    def copy(self) -> Network:
        return Network(self.sizes, {k: v.copy() for k, v in self.params.items()})

    def forward(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """Forward propagation. Returns every Z<l> and A<l> (A0 = X), which
        backward needs and which the app shows."""
        cache = {"A0": X}
        A, params = X, self.params  # one dict for the whole pass, even if the weights are replaced meanwhile
        for l in range(1, self.L + 1):
            Z = W_dot(params[f"W{l}"], A)  # (n_l x m) = (n_l x n_{l-1})(n_{l-1} x m)
            Z += params[f"b{l}"]  # + (n_l x 1), the same bias for every column
            A = softmax(Z) if l == self.L else relu(Z)
            cache[f"Z{l}"], cache[f"A{l}"] = Z, A
        return cache

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        """A_L (10 x m): column j holds the 10 probabilities for image j."""
        return self.forward(X)[f"A{self.L}"]

    def predict(self, X: np.ndarray) -> np.ndarray:
        return self.predict_proba(X).argmax(axis=0)

    def backward(self, cache: dict[str, np.ndarray], Y: np.ndarray) -> dict[str, np.ndarray]:
        """Backpropagation of the mean cross-entropy. Y is one-hot (10 x m).

        dZL = AL - Y: softmax followed by cross-entropy has this simple gradient
        because d/dz_i of -log(softmax(z)_k) = softmax(z)_i - [i == k]; the
        exponentials of softmax and the log of the loss cancel."""
        m = Y.shape[1]
        grads = {}
        dZ = cache[f"A{self.L}"] - Y  # (10 x m)
        for l in range(self.L, 0, -1):
            A_prev = cache[f"A{l - 1}"]
            dW = grads[f"dW{l}"] = dZ_dot_At(dZ, A_prev)  # (n_l x n_{l-1}) = (n_l x m)(m x n_{l-1})
            dW /= m
            db = grads[f"db{l}"] = dZ.sum(axis=1, keepdims=True)  # (n_l x 1)
            db /= m
            if l > 1:
                # dZ_{l-1} = W_l^T . dZ_l * g'(Z_{l-1})   (n_{l-1} x m)
                dZ = self.params[f"W{l}"].T @ dZ
                dZ *= relu_prime(cache[f"Z{l - 1}"])
        return grads

    def loss(self, X: np.ndarray, y: np.ndarray) -> float:
        return cross_entropy(self.predict_proba(X), y)

    def accuracy(self, X: np.ndarray, y: np.ndarray) -> float:
        return float((self.predict(X) == np.asarray(y)).mean())

    def is_finite(self) -> bool:
        return all(np.isfinite(p).all() for p in self.params.values())


def parse_hidden(text: str | Sequence[int]) -> tuple[int, ...]:
    """'256,128' -> (256, 128); also accepts a sequence. Raises ValueError with a
    plain message for anything that is not a list of sizes from 1 to 4096."""
    if isinstance(text, str):
        parts = [p.strip() for p in text.replace(" ", ",").split(",") if p.strip()]
        try:
            sizes = tuple(int(p) for p in parts)
        except ValueError:
            raise ValueError(
                f"Hidden layer sizes must be whole numbers separated by commas, like 256,128 (got {text!r})."
            ) from None
    else:
        sizes = tuple(int(n) for n in text)
    if not sizes:
        raise ValueError("Give at least one hidden layer size, like 10.")
    if not all(1 <= n <= MAX_HIDDEN for n in sizes):
        raise ValueError(
            f"Each hidden layer needs between 1 and {MAX_HIDDEN} units (got {', '.join(map(str, sizes))})."
        )
    if len(sizes) > MAX_LAYERS:
        raise ValueError(f"At most {MAX_LAYERS} hidden layers (got {len(sizes)}).")
    return sizes


MAX_HIDDEN = 4096  # a 784 x 4096 layer is 13 MB of float32: large, still trainable here
MAX_LAYERS = 4
