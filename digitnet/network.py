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
The update W = W - alpha dW is in optim.py.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

# W . A and dZ . A^T, the same numbers as W @ A and dZ @ A.T, faster on a narrow layer
from .fast import W_dot, dZ_dot_At

N_INPUT = 784  # 28 x 28 pixels, one column per image
N_CLASSES = 10


def layer_sizes(hidden: Sequence[int]) -> tuple[int, ...]:
    """The layer sizes of a network with these hidden layers: (784, *hidden, 10)."""
    return (N_INPUT, *(int(n) for n in hidden), N_CLASSES)


# -- activations and loss: small pure functions ----------------------------


def relu(Z: np.ndarray) -> np.ndarray:
    return np.maximum(Z, 0)


def relu_prime(Z: np.ndarray) -> np.ndarray:
    """g'(Z): 1 where the unit fired, 0 elsewhere (0 at Z = 0, as the notes' 'if x <= 0').
    As booleans, which multiply like 1 and 0."""
    return Z > 0


def softmax(Z: np.ndarray) -> np.ndarray:
    """e^z_i / sum_j e^z_j per column. Subtracting the column max changes nothing
    mathematically but keeps exp() from overflowing for large scores."""
    E = np.exp(Z - Z.max(axis=0, keepdims=True))
    return E / E.sum(axis=0, keepdims=True)


def one_hot(y: np.ndarray, n_classes: int = N_CLASSES, dtype=np.float32) -> np.ndarray:
    """Labels (m,) -> Y (n_classes x m): y = 4 becomes the column [0 0 0 0 1 0 ...]^T."""
    y = np.asarray(y)
    Y = np.zeros((n_classes, y.size), dtype=dtype)
    Y[y, np.arange(y.size)] = 1
    return Y


def cross_entropy(A: np.ndarray, y: np.ndarray) -> float:
    """1/m sum of -log(probability given to the true class).

    Clipped at 1e-12 so that a probability of exactly 0 gives a large finite loss
    (27.6) instead of inf; a probability of 1 gives 0."""
    m = A.shape[1]
    p = A[np.asarray(y), np.arange(m)]
    return float(-np.log(np.maximum(p, 1e-12)).sum() / m)


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
        for l, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True), start=1):
            params[f"W{l}"] = (rng.standard_normal((n_out, n_in)) * np.sqrt(2.0 / n_in)).astype(dtype)
            params[f"b{l}"] = np.zeros((n_out, 1), dtype=dtype)
        return cls(sizes, params)

    @property
    def L(self) -> int:
        """Number of layers with weights (the notes' network has L = 2)."""
        return len(self.sizes) - 1

    def copy(self) -> Network:
        return Network(self.sizes, {k: v.copy() for k, v in self.params.items()})

    def forward(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """Forward propagation. Returns every Z<l> and A<l> (A0 = X), which
        backward needs and which the app shows."""
        cache = {"A0": X}
        A = X
        for l in range(1, self.L + 1):
            W, b = self.params[f"W{l}"], self.params[f"b{l}"]
            Z = W_dot(W, A) + b  # (n_l x m) = (n_l x n_{l-1})(n_{l-1} x m) + (n_l x 1), b for every column
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
            # 1/m dZ . A^T, the 1/m taken on dZ, the smaller factor
            grads[f"dW{l}"] = dZ_dot_At(1 / m * dZ, A_prev)  # (n_l x n_{l-1}) = (n_l x m)(m x n_{l-1})
            grads[f"db{l}"] = 1 / m * dZ.sum(axis=1, keepdims=True)  # (n_l x 1)
            if l > 1:
                dZ = self.params[f"W{l}"].T @ dZ * relu_prime(cache[f"Z{l - 1}"])  # (n_{l-1} x m)
        return grads

    def loss(self, X: np.ndarray, y: np.ndarray) -> float:
        return cross_entropy(self.predict_proba(X), y)

    def accuracy(self, X: np.ndarray, y: np.ndarray) -> float:
        return float((self.predict(X) == np.asarray(y)).mean())

    def is_finite(self) -> bool:
        return all(np.isfinite(p).all() for p in self.params.values())
