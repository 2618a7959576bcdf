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
from dataclasses import asdict, dataclass, field, fields

import numpy as np

from .data import N_VAL, to_unit
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
    plain_epochs: int = 0  # the last epochs train on the digits as they are: no augmentation, no distortion
    flag_ones: float = 0.0  # this fraction of the training 1s gets a European flag drawn in (digitnet.ones)
    pen: float = 0.0  # this fraction of every batch drawn with a solid pen, as the canvas does (digitnet.pen)
    n_val: int = N_VAL  # examples held out of the 60,000 to watch for over-fitting (5,000)
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
        if not 0 <= self.flag_ones <= 1:
            problems.append(
                f"the fraction of ones given a flag must be between 0 and 1 (got {self.flag_ones})"
            )
        if not 0 <= self.pen <= 1:
            problems.append(
                f"the fraction of digits drawn with a pen must be between 0 and 1 (got {self.pen})"
            )
        if not 0 <= self.plain_epochs <= self.epochs:
            problems.append(
                f"the epochs without augmentation must be between 0 and the epochs (got {self.plain_epochs})"
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
    """The learning curves: the training loss after every step, the validation loss
    and accuracy at every check. One record from the loop to the charts: a worker
    sends the entries since its last report (`since`), the app adds them (`extend`)."""

    step: list[int] = field(default_factory=list)
    epoch: list[float] = field(default_factory=list)  # epochs done after each step, fractional
    train_loss: list[float] = field(default_factory=list)  # the loss of that step's batch
    val_step: list[int] = field(default_factory=list)
    val_epoch: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)

    @property
    def steps(self) -> int:
        return len(self.train_loss)

    @property
    def checks(self) -> int:
        return len(self.val_loss)

    def since(self, steps: int, checks: int) -> History:
        """The entries after the first `steps` steps and `checks` validation checks, as a new History."""
        return History(
            self.step[steps:],
            self.epoch[steps:],
            self.train_loss[steps:],
            self.val_step[checks:],
            self.val_epoch[checks:],
            self.val_loss[checks:],
            self.val_accuracy[checks:],
        )

    def extend(self, more: History) -> None:
        for f in fields(self):
            getattr(self, f.name).extend(getattr(more, f.name))

    def copy(self) -> History:
        return self.since(0, 0)


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
    history: History | None = None,
) -> TrainResult:
    """Train `net` in place. Images come as rows (m x 784), either floats in
    [0, 1] or the files' uint8 pixels (scaled as they are read); each batch is
    transposed to the notes' X (784 x m) without a copy. The curves are appended
    to `history` if given (a caller can read it from on_progress), else to a new one."""
    if net.sizes[0] != N_INPUT or net.sizes[-1] != N_CLASSES:
        raise ValueError(f"The network must map {N_INPUT} pixels to {N_CLASSES} classes, not {net.sizes}.")
    run = _Run(net, X_rows, y, X_val_rows, y_val, config, history or History())
    status, message = run.loop(on_progress or (lambda p: None), should_stop or (lambda: False))
    return TrainResult(net, run.history, status, message, run.seconds(), run.epochs_done())


class _Run:
    """One training's state: the step, alpha, the curves, and the weights to fall back on."""

    def __init__(self, net, X_rows, y, X_val_rows, y_val, config: TrainConfig, history: History):
        self.net, self.config = net, config
        self.m = len(y)
        # seed + 1: the batch order independent of the initial weights
        self.rng = np.random.default_rng(config.seed + 1)
        self.gradient = _gradient_of_batches(net, X_rows, y, config, self.rng)
        self.optimizer = make_optimizer(config.optimizer, config.momentum)
        self.X_val = (to_unit(X_val_rows) if X_val_rows.dtype == np.uint8 else X_val_rows).T
        self.y_val = y_val
        self.steps_per_epoch = 1 if config.batch_size is None else math.ceil(self.m / config.batch_size)
        self.total_steps = self.steps_per_epoch * config.epochs
        self.step, self.alpha, self.history = 0, config.lr, history
        # The weights at the last healthy validation check (at first, the initial
        # ones): what a run that blows up falls back to. Checked weights, not merely
        # the previous step's, which may already be far off when the loss explodes;
        # and no copy of the model on every step.
        self.checkpoint = net.copy()
        # divergence is judged on the batch loss averaged over about SMOOTHED_EXAMPLES
        # examples: one image's loss above 3 ln 10 is normal (a confident mistake), a
        # hundred images' mean is not. From batches of that size on, the batch loss itself.
        self.smoothing = min(1.0, (config.batch_size or self.m) / SMOOTHED_EXAMPLES)
        self.smoothed = math.log(N_CLASSES)  # before any step: a uniform guess
        self.best_val, self.best_net, self.checks_without_gain = math.inf, None, 0
        self.start = time.perf_counter()

    def loop(
        self, on_progress: Callable[[Progress], None], should_stop: Callable[[], bool]
    ) -> tuple[str, str]:
        """The notes' "repeat until convergence { W = W - alpha dW ... }". Returns how it ended:
        (status, one sentence)."""
        config, net = self.config, self.net
        for epoch in range(1, config.epochs + 1):
            for idx in batches(self.m, config.batch_size, self.rng):
                if should_stop():
                    return "stopped", self._stopped_message()
                # distortions taught robustness; the last plain_epochs settle on real digits
                loss, grads = self.gradient(idx, epoch <= config.epochs - config.plain_epochs)
                self.smoothed += self.smoothing * (loss - self.smoothed)
                if not math.isfinite(self.smoothed) or self.smoothed > DIVERGED_LOSS:
                    net.params = self.checkpoint.params
                    return "diverged", _diverged_message(self.alpha, self.step, self.smoothed)
                self.optimizer.update(net.params, grads, self.alpha)
                self.step += 1
                self.history.step.append(self.step)
                self.history.epoch.append(self.epochs_done())
                self.history.train_loss.append(loss)
                val_loss = val_accuracy = None
                if self._check_due():
                    val_loss, val_accuracy, dead = self._validate()
                    if dead is not None:
                        net.params = self.checkpoint.params
                        return "diverged", _dead_message(self.alpha, self.step, dead)
                on_progress(
                    Progress(
                        self.step,
                        self.total_steps,
                        self.epochs_done(),
                        self.alpha,
                        loss,
                        val_loss,
                        val_accuracy,
                        self.seconds(),
                    )
                )
            self.alpha *= config.lr_decay
            if config.until_convergence and self._converged():
                net.params = self.best_net.params  # the best weights seen, not the last
                return "converged", (
                    f"Converged after {epoch} epochs: the validation loss stopped improving "
                    f"(best {self.best_val:.4f})."
                )
        if self.best_net is not None:
            net.params = self.best_net.params
        took = self.seconds()
        return "finished", (
            f"Trained {config.epochs} epoch{'s' * (config.epochs != 1)} in "
            f"{f'{took:.1f} s' if took >= 0.1 else 'under 0.1 s'}."
        )

    def _check_due(self) -> bool:
        """A validation check at the end of every epoch, and every `eval_every` steps if set."""
        every = self.config.eval_every
        return self.step % self.steps_per_epoch == 0 or bool(every and self.step % every == 0)

    def _validate(self) -> tuple[float, float, int | None]:
        """Loss and accuracy on the validation set, recorded in the history; and the
        first dead hidden layer, if any (then nothing is recorded)."""
        cache = self.net.forward(self.X_val)
        dead = _dead_layer(cache, self.net.L)
        A = cache[f"A{self.net.L}"]
        val_loss, val_accuracy = cross_entropy(A, self.y_val), float((A.argmax(axis=0) == self.y_val).mean())
        if dead is None:
            self.checkpoint = self.net.copy()
            h = self.history
            h.val_step.append(self.step)
            h.val_epoch.append(self.epochs_done())
            h.val_loss.append(val_loss)
            h.val_accuracy.append(val_accuracy)
        return val_loss, val_accuracy, dead

    def _converged(self) -> bool:
        """The notes' "until convergence", made precise: the validation loss has not
        improved by 0.1% for `patience` epochs. Keeps the best weights seen."""
        val_loss = self.history.val_loss[-1]
        if val_loss < self.best_val * 0.999:
            self.best_val, self.best_net, self.checks_without_gain = val_loss, self.net.copy(), 0
        else:
            self.checks_without_gain += 1
        return self.checks_without_gain >= self.config.patience

    def _stopped_message(self) -> str:
        return stopped_message(self.step, self.epochs_done())

    def epochs_done(self) -> float:
        return self.step / self.steps_per_epoch

    def seconds(self) -> float:
        return time.perf_counter() - self.start


def _gradient_of_batches(
    net: Network, X_rows: np.ndarray, y: np.ndarray, config: TrainConfig, rng: np.random.Generator
) -> Callable[[np.ndarray | None], tuple[float, dict[str, np.ndarray]]]:
    """gradient(idx, augmented): the loss and its gradient over the examples idx (a
    mini-batch), or over all of them (idx None: the notes' full batch); augmented
    (if the config asks for it) or as they are."""
    augment = _augmenter(config)
    penned = _pen_swapper(X_rows, config)
    if config.batch_size is None or config.batch_size >= len(y):
        # pixels are scaled into one array kept for the whole training
        part = (
            np.empty((min(PART, len(y)), X_rows.shape[1]), np.float32) if X_rows.dtype == np.uint8 else None
        )
        return lambda idx, augmented: _full_batch_gradient(
            net, X_rows, y, augment if augmented else None, rng, part, config.flag_ones, penned
        )
    read_batch = _batch_reader(X_rows, config.batch_size)

    def gradient(idx: np.ndarray, augmented: bool) -> tuple[float, dict[str, np.ndarray]]:
        rows = _flagged(penned(read_batch(idx), idx, rng), y[idx], config.flag_ones, rng)
        if augment is not None and augmented:
            rows = augment(rows, rng)
        return _gradient(net, rows, y[idx])

    return gradient


def _gradient(net: Network, rows: np.ndarray, labels: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
    """The loss on one batch and its gradient: the notes' forward and backward propagation."""
    X, Y = rows.T, one_hot(labels, dtype=rows.dtype)  # X: (784 x m), Y: (10 x m)
    cache = net.forward(X)
    return cross_entropy(cache[f"A{net.L}"], labels), net.backward(cache, Y)


PART = 10_000  # examples per part of a full-batch step


def _full_batch_gradient(
    net: Network,
    X_rows: np.ndarray,
    y: np.ndarray,
    augment,
    rng,
    part: np.ndarray | None,
    flag_ones: float = 0.0,
    penned=None,
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
        if penned is not None:
            rows = penned(rows, np.arange(start, start + len(rows)), rng)
        rows = _flagged(rows, y[start : start + PART], flag_ones, rng)
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
        f"Training diverged at step {step + 1}: with learning rate {alpha:g} each step overshoots "
        f"and the loss {what}. The last good weights are kept; try a smaller learning rate."
    )


def _dead_message(alpha: float, step: int, layer: int) -> str:
    return (
        f"Training broke down at step {step}: with learning rate {alpha:g} every unit of hidden layer "
        f'{layer} stopped firing ("dead ReLUs"), so the network can no longer learn. The last good weights '
        "are kept; try a smaller learning rate."
    )


def _augmenter(config: TrainConfig):
    if not config.augment and not config.elastic_alpha:
        return None
    from .augment import Augment  # imported only when asked for

    elastic = {"elastic_alpha": config.elastic_alpha, "elastic_sigma": config.elastic_sigma}
    if config.augment:
        return Augment(**elastic)
    return Augment(max_shift=0, max_rotation=0, scale=(1, 1), max_shear=0, thickness_p=0, **elastic)


def _pen_swapper(X_rows: np.ndarray, config: TrainConfig):
    """penned(rows, idx, rng): rows (the examples idx, as floats) with a fraction
    config.pen of them swapped for one of the same digit's drawings with a solid pen
    (digitnet.pen), in every epoch, the plain ones too. The drawings are made once,
    here, and picked, with generators of their own: the batch order stays the seed's."""
    if not config.pen:
        return lambda rows, idx, rng: rows
    from .pen import DRAWINGS, redraw  # imported only when asked for

    pens = np.random.default_rng(config.seed + 2)
    drawn = np.empty((DRAWINGS, *X_rows.shape), np.uint8)  # 129 MB for MNIST's 55,000 three times
    for k in range(DRAWINGS):
        drawn[k] = redraw(X_rows, pens)
    pick = np.random.default_rng(config.seed + 3)

    def penned(rows: np.ndarray, idx: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        swap = np.flatnonzero(rng.random(len(idx)) < config.pen)
        if swap.size:
            rows = rows.copy() if np.may_share_memory(rows, X_rows) else rows  # never the data itself
            rows[swap] = drawn[pick.integers(DRAWINGS, size=swap.size), idx[swap]] / np.float32(255)
        return rows

    return penned


def _flagged(rows: np.ndarray, labels: np.ndarray, p: float, rng: np.random.Generator) -> np.ndarray:
    """rows with flags drawn on a fraction p of their 1s (TrainConfig.flag_ones), in every epoch,
    the plain ones too: a flagged 1 is a digit MNIST lacks, not a distortion of one."""
    if not p:
        return rows
    from .ones import add_flags  # imported only when asked for

    return add_flags(rows, labels, rng, p)


def stopped_message(step: int, epochs: float) -> str:
    """How a run stopped by hand ends (also said by a job settled at Stop from its last report)."""
    return f"Stopped after {step} steps ({epochs:.2f} epochs); the weights learnt so far are kept."
