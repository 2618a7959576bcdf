"""Teach the network your handwriting: fine-tune it on one labelled drawing.

A few steps of the notes' gradient descent, each on a batch that mixes the drawing
with MNIST examples and the student's earlier drawings, so that the network keeps
what it knew (without them, a network fine-tuned on one image soon calls everything
by that label: "catastrophic forgetting"). Most of the MNIST examples are those
that look most like the drawing, the ones it would otherwise drag along. A drawing
the network resists gets more weight as the steps go by: more copies of it, slightly
shifted and rotated, so that the network learns the shape and not those exact
pixels. It stops as soon as the drawing is read as the taught digit.

The network given is never changed: teaching returns a taught copy, so a shared
model (the app's default) stays as it is for everyone else.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .augment import affine_batch, affine_matrices
from .data import to_unit
from .my_digits import MyDigits
from .network import N_CLASSES, Network
from .optim import SGD
from .train import _gradient

# Chosen by teaching 20 drawings made like mouse strokes (benchmarks/canvas_sets.py),
# each as another digit than the one drawn (the hard case: the network was sure),
# to the 784-800-10 default model: all 20 flipped, in 33 steps (median; 56 at most);
# the validation accuracy fell 0.09 points (median; 0.28 at worst). More copies from
# the start, or a larger alpha, flip sooner but forget more (0.4-1 point at worst).
COPIES = 1  # copies of the drawing per batch at first: the drawing itself
ESCALATE, MAX_COPIES = 50, 32  # doubled every ESCALATE steps while the drawing is not yet read as taught
REHEARSAL = 62  # MNIST digits (and earlier drawings) per batch: most of each step's gradient
NEIGHBOURS, NEIGHBOUR_SAMPLE = 512, 10_000  # the drawing's nearest MNIST digits, among a sample
NEAR = 75  # percent of the MNIST rehearsal taken from them
ALPHA = 0.03  # the notes' plain rule W = W - alpha dW
MAX_STEPS = 150
SURE = 0.5  # stop once the taught digit has this probability (then it is also the answer)
MAX_SHIFT, MAX_ROTATION = 1.5, 10.0  # px, degrees: still the same drawing, never the same pixels


@dataclass(frozen=True)
class Taught:
    net: Network  # the taught copy
    label: int
    proba_before: np.ndarray  # (10,) the drawing, read before teaching
    proba_after: np.ndarray
    steps: int
    seconds: float  # the fine-tuning alone

    @property
    def learnt(self) -> bool:
        return int(self.proba_after.argmax()) == self.label


def copies(image28: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """The drawing itself and n - 1 slightly shifted and rotated copies, as (n, 784) floats in [0, 1]."""
    x = to_unit(np.asarray(image28, np.uint8).reshape(1, -1))
    A = affine_matrices(
        rng.uniform(-MAX_ROTATION, MAX_ROTATION, n - 1),
        1.0,
        0.0,
        *rng.uniform(-MAX_SHIFT, MAX_SHIFT, (2, n - 1)),
    )
    moved = np.clip(affine_batch(np.repeat(x, n - 1, axis=0), A), 0.0, 1.0)
    return np.concatenate([x, moved])


def teach(
    net: Network,
    image28: np.ndarray,
    label: int,
    X_rows: np.ndarray,
    y: np.ndarray,
    mine: MyDigits | None = None,
    seed: int = 0,
) -> Taught:
    """Fine-tune a copy of `net` until the drawing (28x28 uint8) reads as `label`.
    X_rows, y: MNIST training examples to rehearse (rows, uint8 or floats in [0, 1]);
    `mine`: the student's earlier drawings, rehearsed with them."""
    if not 0 <= label < N_CLASSES:
        raise ValueError(f"Teach a digit from 0 to 9, not {label}.")
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    taught, sgd = net.copy(), SGD()
    x = to_unit(np.asarray(image28, np.uint8).reshape(-1, 1))  # the notes' X for one image (784 x 1)
    proba_before = net.predict_proba(x)[:, 0].copy()
    own = MyDigits() if mine is None else mine
    n_own = min(len(own), REHEARSAL // 4)  # earlier drawings: a quarter of the rehearsal at most
    # The MNIST digits most at risk of changing with the drawing are those that look
    # most like it: a share of every rehearsal comes from its nearest neighbours (in
    # pixels, among a random sample), so that the network learns how the drawing
    # differs from them rather than that all of them are now the taught digit.
    sample = rng.choice(len(y), min(len(y), NEIGHBOUR_SAMPLE), replace=False)
    distance = ((_unit(X_rows[sample]) - x[:, 0]) ** 2).sum(axis=1)
    neighbours = sample[np.argsort(distance)[:NEIGHBOURS]]
    n_near = (REHEARSAL - n_own) * NEAR // 100
    proba = proba_before
    steps = 0
    while steps < MAX_STEPS and not (proba.argmax() == label and proba[label] >= SURE):
        # a drawing the network resists gets more weight: twice the copies every ESCALATE steps
        n_copies = min(MAX_COPIES, COPIES * 2 ** (steps // ESCALATE))
        i = np.concatenate(
            [rng.integers(0, len(y), REHEARSAL - n_own - n_near), rng.choice(neighbours, n_near)]
        )
        j = rng.choice(len(own), n_own, replace=False)
        rehearse = np.concatenate([_unit(X_rows[i]), to_unit(own.rows()[j])])
        labels = np.concatenate([np.full(n_copies, label), y[i], own.labels[j]])
        _, grads = _gradient(taught, np.concatenate([copies(image28, n_copies, rng), rehearse]), labels)
        sgd.update(taught.params, grads, ALPHA)
        steps += 1
        proba = taught.predict_proba(x)[:, 0]
    return Taught(taught, int(label), proba_before, proba.copy(), steps, time.perf_counter() - start)


def _unit(rows: np.ndarray) -> np.ndarray:
    return to_unit(rows) if rows.dtype == np.uint8 else rows
