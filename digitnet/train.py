"""Training: the notes' "repeat until convergence { W = W - alpha dW ... }",
over shuffled mini-batches or the whole set at once, with live progress and a
stop button.

`train()` is a plain loop that reports through a callback and asks
`should_stop()` between steps, so a UI can draw curves while it runs and stop
it at once; a command line or a test calls it the same way.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from .data import to_unit
from .network import N_CLASSES, N_INPUT, Network, cross_entropy, one_hot
from .optim import make_optimizer


@dataclass
class TrainConfig:
    hidden: tuple[int, ...] = (10,)  # the notes' one hidden layer of 10 ReLU units
    lr: float = 0.1  # alpha, the step size of gradient descent
    epochs: int = 5  # passes over the training set (a maximum when until_convergence)
    batch_size: int | None = 128  # examples per step; None = all of them, the notes' full-batch descent
    optimizer: str = "sgd"  # "sgd" (the notes' rule), "momentum" or "adam"
    momentum: float = 0.9  # beta of the momentum optimiser
    lr_decay: float = 1.0  # alpha is multiplied by this after every epoch (1.0 = constant alpha)
    until_convergence: bool = False  # stop once the validation loss stops improving (then keep the best)
    patience: int = 3  # validation checks without improvement before "converged"
    augment: bool = False  # random shifts, rotations, scaling and stroke thickness (digitnet.augment)
    elastic_alpha: float = 0.0  # strength of elastic distortions in pixels, 0 = none (Simard et al.: 34)
    elastic_sigma: float = 4.0  # smoothness of their displacement field in pixels (Simard et al.: 4)
    n_val: int = 5000  # examples held out of the 60,000 to watch for over-fitting
    seed: int = 0  # the same seed gives the same initial weights and the same batch order
    eval_every: int = 0  # steps between validation checks inside an epoch (0: only at epoch ends)

    def __post_init__(self):
        self.hidden = tuple(int(n) for n in self.hidden)
        problems = []
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr > 0):
            problems.append(f"the learning rate must be a number above 0 (got {self.lr})")
        if not self.epochs >= 1:
            problems.append(f"train for at least 1 epoch (got {self.epochs})")
        if self.batch_size is not None and not self.batch_size >= 1:
            problems.append(f"the batch size must be at least 1 (got {self.batch_size})")
        if not (self.elastic_alpha >= 0 and self.elastic_sigma > 0):
            problems.append(
                f"elastic distortions need a strength of 0 or more and a smoothness above 0 "
                f"(got {self.elastic_alpha} and {self.elastic_sigma})"
            )
        if not self.hidden or min(self.hidden) < 1:
            problems.append(f"every hidden layer needs at least 1 unit (got {self.hidden})")
        if problems:
            raise ValueError("Cannot train: " + "; ".join(problems) + ".")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Progress:
    """What the callback receives after every step."""

    step: int  # steps done
    total_steps: int  # steps planned (a maximum when training until convergence)
    epoch: float  # epochs done, fractional
    alpha: float  # the learning rate in force
    train_loss: float  # cross-entropy of the last batch
    val_loss: float | None  # set on steps where the validation set was checked
    val_accuracy: float | None
    seconds: float  # since training began

    @property
    def seconds_left(self) -> float:
        return self.seconds / self.step * (self.total_steps - self.step) if self.step else float("nan")


@dataclass
class History:
    """Curves: the training loss per step, validation loss and accuracy per check."""

    step: list[int] = field(default_factory=list)
    epoch: list[float] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    val_step: list[int] = field(default_factory=list)
    val_epoch: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)


@dataclass
class TrainResult:
    net: Network  # the trained network (the last good weights if training diverged)
    history: History
    status: str  # "finished", "converged", "stopped" or "diverged"
    message: str  # one sentence for a person
    seconds: float  # training time alone, data loading excluded
    epochs: float  # epochs actually done


def batches(m: int, batch_size: int | None, rng: np.random.Generator):
    """Index arrays of one epoch: a fresh shuffle cut into batches, or None (all
    examples, in order) for full-batch descent."""
    if batch_size is None or batch_size >= m:
        yield None
        return
    perm = rng.permutation(m)
    for i in range(0, m, batch_size):
        yield perm[i : i + batch_size]


def train(
    net: Network,
    X_rows: np.ndarray,
    y: np.ndarray,
    X_val_rows: np.ndarray,
    y_val: np.ndarray,
    config: TrainConfig,
    on_progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TrainResult:
    """Train `net` in place. Images come as rows (m x 784), either floats in
    [0, 1] or the files' uint8 pixels (scaled as they are read); each batch is
    transposed to the notes' X (784 x m) without a copy."""
    if net.sizes[0] != N_INPUT or net.sizes[-1] != N_CLASSES:
        raise ValueError(f"The network must map {N_INPUT} pixels to {N_CLASSES} classes, not {net.sizes}.")
    rng = np.random.default_rng(config.seed + 1)  # +1: batch order independent of the initial weights
    augment = _augmenter(config)
    optimizer = make_optimizer(config.optimizer, config.momentum)
    m = len(y)
    steps_per_epoch = (
        1 if config.batch_size is None or config.batch_size >= m else math.ceil(m / config.batch_size)
    )
    total_steps = steps_per_epoch * config.epochs
    history, step, alpha = History(), 0, config.lr
    if X_val_rows.dtype == np.uint8:
        X_val_rows = to_unit(X_val_rows)
    if steps_per_epoch == 1:  # full batch, taken PART examples at a time; pixels scaled into one reused array
        part = np.empty((min(PART, m), X_rows.shape[1]), np.float32) if X_rows.dtype == np.uint8 else None
    else:
        read_batch = _batch_reader(X_rows, config.batch_size)
    # the weights at the last healthy validation check (at first, the initial
    # ones): what a run that blows up falls back to. Checked weights, not merely
    # the previous step's, which may already be far off when the loss explodes;
    # and no copy of the model on every step.
    checkpoint = net.copy()
    best_val, best_net, checks_without_gain = math.inf, None, 0
    # divergence is judged on the batch loss averaged over about SMOOTHED_EXAMPLES
    # examples: one image's loss above 3 ln 10 is normal (a confident mistake), a
    # hundred images' mean is not. From batches of that size on, the batch loss itself.
    smoothing = min(1.0, (config.batch_size or m) / SMOOTHED_EXAMPLES)
    smoothed = math.log(N_CLASSES)  # before any step: a uniform guess
    start = time.perf_counter()

    def finish(status: str, message: str) -> TrainResult:
        if best_net is not None and status in ("converged", "finished"):
            net.params = best_net.params  # keep the best weights seen, not the last
        return TrainResult(net, history, status, message, time.perf_counter() - start, step / steps_per_epoch)

    for epoch in range(config.epochs):
        for idx in batches(m, config.batch_size, rng):
            if should_stop is not None and should_stop():
                return finish(
                    "stopped",
                    f"Stopped after {step} steps ({step / steps_per_epoch:.2f} epochs); the weights learnt so far are kept.",
                )
            if idx is None:
                loss, grads = _full_batch_gradient(net, X_rows, y, augment, rng, part)
            else:
                rows = read_batch(idx)
                if augment is not None:
                    rows = augment(rows, rng)
                loss, grads = _gradient(net, rows, y[idx])
            smoothed += smoothing * (loss - smoothed)
            if not math.isfinite(smoothed) or smoothed > DIVERGED_LOSS:
                net.params = checkpoint.params
                return finish("diverged", _diverged_message(alpha, step, smoothed))
            optimizer.update(net.params, grads, alpha)
            step += 1
            history.step.append(step)
            history.epoch.append(step / steps_per_epoch)
            history.train_loss.append(loss)
            val_loss = val_acc = None
            end_of_epoch = step % steps_per_epoch == 0
            if end_of_epoch or (config.eval_every and step % config.eval_every == 0):
                val_cache = net.forward(X_val_rows.T)
                P_val = val_cache[f"A{net.L}"]
                val_loss, val_acc = cross_entropy(P_val, y_val), float((P_val.argmax(axis=0) == y_val).mean())
                dead = _dead_layer(val_cache, net.L)
                if dead is not None:
                    net.params = checkpoint.params
                    return finish("diverged", _dead_message(alpha, step, dead))
                checkpoint = net.copy()
                history.val_step.append(step)
                history.val_epoch.append(step / steps_per_epoch)
                history.val_loss.append(val_loss)
                history.val_accuracy.append(val_acc)
            if on_progress is not None:
                on_progress(
                    Progress(
                        step,
                        total_steps,
                        step / steps_per_epoch,
                        alpha,
                        loss,
                        val_loss,
                        val_acc,
                        time.perf_counter() - start,
                    )
                )
        alpha *= config.lr_decay
        if config.until_convergence:
            # the notes' "repeat until convergence", made precise: stop when the
            # validation loss has not improved by 0.1% for `patience` epochs
            if val_loss < best_val * 0.999:
                best_val, best_net, checks_without_gain = val_loss, net.copy(), 0
            else:
                checks_without_gain += 1
                if checks_without_gain >= config.patience:
                    return finish(
                        "converged",
                        f"Converged after {epoch + 1} epochs: the validation loss stopped improving (best {best_val:.4f}).",
                    )
    took = time.perf_counter() - start
    return finish(
        "finished",
        f"Trained {config.epochs} epoch{'s' * (config.epochs != 1)} in {f'{took:.1f} s' if took >= 0.1 else 'under 0.1 s'}.",
    )


def _gradient(net: Network, rows: np.ndarray, labels: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
    """The loss on one batch and its gradient: the notes' forward and backward propagation."""
    X, Y = rows.T, one_hot(labels, dtype=rows.dtype)  # X: (784 x m), Y: (10 x m)
    cache = net.forward(X)
    return cross_entropy(cache[f"A{net.L}"], labels), net.backward(cache, Y)


PART = 10_000  # examples per part of a full-batch step


def _full_batch_gradient(
    net: Network, X_rows: np.ndarray, y: np.ndarray, augment, rng, part: np.ndarray | None
) -> tuple[float, dict[str, np.ndarray]]:
    """The notes' full-batch step (all m examples at once), taken PART examples at a
    time: the mean loss, and its gradient, over all m is the size-weighted mean of
    the parts' means. Exactly the same step, and memory for one part's floats and
    activations rather than for all 55,000 (172 MB of images alone). Pixels are
    scaled into `part`, an array kept for the whole training."""
    m = len(y)
    loss, grads = 0.0, None
    for start in range(0, m, PART):
        rows = X_rows[start : start + PART]
        if part is not None:
            rows = to_unit(rows, out=part[: len(rows)])
        if augment is not None:
            rows = augment(rows, rng)
        part_loss, part_grads = _gradient(net, rows, y[start : start + PART])
        share = len(rows) / m
        loss += share * part_loss
        if grads is None:
            grads = {name: share * g for name, g in part_grads.items()}
        else:
            for name, g in part_grads.items():
                grads[name] += share * g
    return loss, grads


def _batch_reader(X_rows: np.ndarray, batch_size: int) -> Callable[[np.ndarray], np.ndarray]:
    """read(idx): rows idx of X_rows as floats, in arrays reused from step to step
    (a fresh 400 kB array per step would cost the allocator more than the copy).
    Pixels are a quarter of the bytes to fetch from memory, and are scaled to
    [0, 1] once they are in the batch."""
    n_in = X_rows.shape[1]
    if X_rows.dtype != np.uint8:
        batch = np.empty((batch_size, n_in), X_rows.dtype)
        return lambda idx: np.take(X_rows, idx, axis=0, out=batch[: len(idx)], mode="clip")
    pixels, batch = np.empty((batch_size, n_in), np.uint8), np.empty((batch_size, n_in), np.float32)
    return lambda idx: to_unit(
        np.take(X_rows, idx, axis=0, out=pixels[: len(idx)], mode="clip"), out=batch[: len(idx)]
    )


# A network that guesses uniformly has loss ln 10 = 2.30. A mean loss three
# times that, over SMOOTHED_EXAMPLES examples or more, is not noise: the steps
# overshoot and the loss is climbing.
DIVERGED_LOSS = 3 * math.log(N_CLASSES)
SMOOTHED_EXAMPLES = 100


def _dead_layer(cache: dict[str, np.ndarray], L: int) -> int | None:
    """The first hidden layer none of whose units fires for any validation image.
    A too-large step can push every ReLU below zero; then all gradients are 0
    and the network can never learn again (it answers the same for every image)."""
    for l in range(1, L):
        if not cache[f"A{l}"].any():
            return l
    return None


def _diverged_message(alpha: float, step: int, loss: float) -> str:
    what = "became infinite" if not math.isfinite(loss) else f"jumped to {loss:.1f} (a guess is 2.3)"
    return (
        f"Training diverged at step {step + 1}: with learning rate {alpha:g} each step overshoots and the loss {what}. "
        f"The last good weights are kept; try a smaller learning rate."
    )


def _dead_message(alpha: float, step: int, layer: int) -> str:
    return (
        f"Training broke down at step {step}: with learning rate {alpha:g} every unit of hidden layer {layer} "
        f'stopped firing ("dead ReLUs"), so the network can no longer learn. The last good weights are kept; '
        f"try a smaller learning rate."
    )


def _augmenter(config: TrainConfig):
    if not config.augment and not config.elastic_alpha:
        return None
    from .augment import Augment  # imported only when asked for

    elastic = {"elastic_alpha": config.elastic_alpha, "elastic_sigma": config.elastic_sigma}
    if config.augment:
        return Augment(**elastic)
    return Augment(max_shift=0, max_rotation=0, scale=(1, 1), max_shear=0, thickness_p=0, **elastic)
