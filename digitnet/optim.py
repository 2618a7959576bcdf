"""Optimisers: how a gradient becomes a step. Each is a small object with
`update(params, grads, alpha)`, kept apart from the network so that the notes'
plain rule W = W - alpha dW stays visible on its own."""

from __future__ import annotations

import numpy as np


class SGD:
    """The notes' gradient descent: W = W - alpha dW, b = b - alpha db."""

    def update(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray], alpha: float) -> None:
        for name, P in params.items():
            P -= alpha * grads["d" + name]  # in place: the caller's arrays are the model


class Momentum:
    """Heavy-ball momentum: v = beta v + dW; W = W - alpha v. Steps keep part of
    their direction, so narrow valleys are crossed faster than by plain descent."""

    def __init__(self, beta: float = 0.9):
        self.beta = beta
        self.v: dict[str, np.ndarray] = {}

    def update(self, params, grads, alpha):
        for name, P in params.items():
            v = self.v.setdefault(name, np.zeros_like(P))
            v *= self.beta
            v += grads["d" + name]
            P -= alpha * v


class Adam:
    """Adam (Kingma & Ba, 2015): a per-weight step size from running means of the
    gradient (m) and of its square (v), with bias correction for the first steps.
    Its alpha is usually ~0.001, a hundred times smaller than plain descent's."""

    def __init__(self, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8):
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.m: dict[str, np.ndarray] = {}
        self.v: dict[str, np.ndarray] = {}
        self.t = 0

    def update(self, params, grads, alpha):
        self.t += 1
        # fold both bias corrections into the step size, as the paper's section 2 suggests
        step = alpha * np.sqrt(1 - self.beta2**self.t) / (1 - self.beta1**self.t)
        for name, P in params.items():
            g = grads["d" + name]
            m = self.m.setdefault(name, np.zeros_like(P))
            v = self.v.setdefault(name, np.zeros_like(P))
            m *= self.beta1
            m += (1 - self.beta1) * g
            v *= self.beta2
            v += (1 - self.beta2) * g * g
            P -= step * m / (np.sqrt(v) + self.eps)


OPTIMIZERS = {"sgd": SGD, "momentum": Momentum, "adam": Adam}


def make_optimizer(name: str, momentum: float = 0.9):
    if name not in OPTIMIZERS:
        raise ValueError(f"Unknown optimiser {name!r}: choose one of {', '.join(OPTIMIZERS)}.")
    return Momentum(momentum) if name == "momentum" else OPTIMIZERS[name]()
