"""Why did it say that: the gradient of a class's score with respect to the 784 pixels.

The notes' backward pass stops at dW1 and db1. One step further gives the gradient
with respect to the input itself:

    dZ2 = e_k                      (10 x 1)   d z_k / d Z2: 1 for class k, 0 elsewhere
    dZ1 = W2^T . dZ2 * g'(Z1)      (h x 1)    the notes' line, unchanged
    dA0 = W1^T . dZ1               (784 x 1)  d z_k / d x: one number per pixel

z_k is the score before softmax (Z2 row k): its gradient says how each pixel, made
brighter, would raise (> 0) or lower (< 0) the score of digit k. As the network is
ReLU and linear pieces, z_k = dA0 . x + c exactly while no unit switches on or off,
so dA0 * x is each inked pixel's share of the score.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .network import Network, one_hot


@dataclass(frozen=True)
class Why:
    digit: int  # the class k
    score: float  # z_k, its score before softmax
    dA0: np.ndarray  # (784,) d z_k / d x
    dZ1: np.ndarray  # (h,) the first hidden layer's share, d z_k / d Z1

    @property
    def picture(self) -> np.ndarray:
        return self.dA0.reshape(28, 28)


def score_gradient(net: Network, x: np.ndarray, k: int) -> Why:
    """d z_k / d x for one image x (784 x 1), through the network's own backward pass.

    Network.backward starts from dZL = AL - Y; with Y = AL - e_k that is e_k, the
    gradient of z_k. For one example (m = 1) its db1 is dZ1 itself, and one more
    product, W1^T . dZ1, reaches the pixels."""
    cache = net.forward(x)
    AL = cache[f"A{net.L}"]
    Y = AL - one_hot(np.array([k]), dtype=AL.dtype)  # so that dZL = AL - Y = e_k
    dZ1 = net.backward(cache, Y)["db1"]  # (h x 1): with m = 1, db1 = dZ1
    dA0 = net.params["W1"].T @ dZ1  # (784 x 1) = (784 x h)(h x 1)
    return Why(int(k), float(cache[f"Z{net.L}"][k, 0]), dA0[:, 0], dZ1[:, 0])


def answer_and_runner_up(net: Network, x: np.ndarray) -> tuple[Why, Why]:
    """The gradients for the digit the network answers and for its second choice."""
    proba = net.predict_proba(x)[:, 0]
    first, second = np.argsort(proba)[::-1][:2]
    return score_gradient(net, x, int(first)), score_gradient(net, x, int(second))
