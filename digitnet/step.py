"""Gradient descent by hand: one iteration of the notes' "repeat until convergence"
at a time, and what that iteration did to one drawing.

A `Stepper` holds a run between presses of Step: the network, its optimiser (whose
state, such as Adam's running means, carries over from step to step) and the order
of the batches, cut exactly as digitnet.train cuts them. Each step is the notes'
forward propagation, backward propagation and update, through the same code as a
training (Network.forward/backward, digitnet.optim).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .data import to_unit
from .network import N_CLASSES, N_INPUT, Network, cross_entropy, layer_sizes
from .optim import make_optimizer
from .train import PART, History, _full_batch_gradient, _gradient, batches


@dataclass(frozen=True)
class Example:
    """One number of the update rule, filled in: W[l][index] = before - alpha * grad = after."""

    name: str  # "W1", "b2", ...
    index: tuple[int, int]
    before: float
    grad: float  # dW (or db) at that index
    after: float


@dataclass
class Stepper:
    net: Network  # stepped in place
    alpha: float
    batch_size: int | None  # None: all examples, the notes' full-batch descent
    optimizer: str = "sgd"
    seed: int = 0
    steps: int = 0  # steps taken so far: the run's step counter
    history: History = field(default_factory=History)  # each step's batch loss (the caller adds checks)
    steps_per_epoch: int = 1

    def __post_init__(self):
        if self.net.sizes[0] != N_INPUT or self.net.sizes[-1] != N_CLASSES:
            raise ValueError(
                f"The network must map {N_INPUT} pixels to {N_CLASSES} classes, not {self.net.sizes}."
            )
        self._optimizer = make_optimizer(self.optimizer)
        self._rng = np.random.default_rng(self.seed + 1)  # as train(): batch order independent of the weights
        self._epoch = iter(())
        self.last_batch: np.ndarray | None = None  # indices of the last step's examples (None: all of them)

    @classmethod
    def new(cls, hidden, alpha, batch_size, optimizer="sgd", seed=0) -> Stepper:
        """A new run from random weights (He initialisation, as Train starts)."""
        return cls(Network.init(layer_sizes(hidden), seed), alpha, batch_size, optimizer, seed)

    def configure(self, alpha: float, batch_size: int | None, optimizer: str) -> None:
        """The sidebar's settings for the next step. A new batch size starts a new epoch;
        a new optimiser starts without the old one's running means."""
        if batch_size != self.batch_size:
            self.batch_size, self._epoch = batch_size, iter(())
        if optimizer != self.optimizer:
            self.optimizer, self._optimizer = optimizer, make_optimizer(optimizer)
        self.alpha = alpha

    def _next_batch(self, m: int) -> np.ndarray | None:
        idx = next(self._epoch, False)
        if idx is False:  # a new epoch: a fresh shuffle, as in train()
            self._epoch = batches(m, self.batch_size, self._rng)
            idx = next(self._epoch)
        return idx

    def step(self, X_rows: np.ndarray, y: np.ndarray) -> tuple[float, dict[str, Example]]:
        """One iteration of the notes' loop on the next batch of (X_rows, y): forward,
        backward, W = W - alpha dW for every layer. Returns the batch's loss and, for
        each parameter, the number that moved most, filled into the rule."""
        m = len(y)
        self.steps_per_epoch = (
            1 if self.batch_size is None or self.batch_size >= m else -(-m // self.batch_size)
        )
        idx = self.last_batch = self._next_batch(m)
        if idx is None:
            part = np.empty((min(PART, m), X_rows.shape[1]), np.float32) if X_rows.dtype == np.uint8 else None
            loss, grads = _full_batch_gradient(self.net, X_rows, y, None, self._rng, part)
        else:
            rows = X_rows[idx]
            loss, grads = _gradient(self.net, to_unit(rows) if rows.dtype == np.uint8 else rows, y[idx])
        params = self.net.params
        examples = {}
        for name, P in params.items():
            i = np.unravel_index(int(np.abs(grads["d" + name]).argmax()), P.shape)
            examples[name] = Example(name, i, float(P[i]), float(grads["d" + name][i]), 0.0)
        self._optimizer.update(params, grads, self.alpha)
        for name, e in examples.items():
            examples[name] = Example(name, e.index, e.before, e.grad, float(params[name][e.index]))
        self.steps += 1
        self.history.step.append(self.steps)
        self.history.epoch.append(self.steps / self.steps_per_epoch)
        self.history.train_loss.append(loss)
        return loss, examples


@dataclass(frozen=True)
class StepReport:
    """What Step (or Step x10) did, seen from one drawing."""

    steps: int  # the run's step counter afterwards
    n: int  # steps taken by this press
    alpha: float
    optimizer: str
    batch_loss: float  # the last step's
    examples: dict[str, Example]  # the last step's update rule, filled in
    delta: dict[str, np.ndarray]  # after - before for every parameter (-alpha dW for one plain step)
    norms: dict[str, tuple[float, float]]  # per parameter: |delta| and |after| (Frobenius norms)
    label: int | None  # the digit the drawing's loss is measured against
    proba_before: np.ndarray | None  # (10,) for the drawing
    proba_after: np.ndarray | None

    def loss(self, proba: np.ndarray | None) -> float | None:
        if proba is None or self.label is None:
            return None
        return cross_entropy(proba[:, None], np.array([self.label]))

    @property
    def loss_before(self) -> float | None:
        return self.loss(self.proba_before)

    @property
    def loss_after(self) -> float | None:
        return self.loss(self.proba_after)


def take_steps(
    stepper: Stepper,
    X_rows: np.ndarray,
    y: np.ndarray,
    n: int = 1,
    x: np.ndarray | None = None,
    label: int | None = None,
) -> StepReport:
    """n steps, and their effect on the drawing x (784 x 1; None: no drawing). The
    drawing's loss is measured against `label`, or else the answer before the steps."""
    net = stepper.net
    before = {k: v.copy() for k, v in net.params.items()}
    proba_before = None if x is None else net.predict_proba(x)[:, 0].copy()
    if label is None and proba_before is not None:
        label = int(proba_before.argmax())
    for _ in range(n):
        batch_loss, examples = stepper.step(X_rows, y)
    delta = {k: net.params[k] - before[k] for k in before}
    norms = {k: (float(np.linalg.norm(delta[k])), float(np.linalg.norm(net.params[k]))) for k in delta}
    proba_after = None if x is None else net.predict_proba(x)[:, 0].copy()
    return StepReport(
        stepper.steps,
        n,
        stepper.alpha,
        stepper.optimizer,
        batch_loss,
        examples,
        delta,
        norms,
        label,
        proba_before,
        proba_after,
    )
