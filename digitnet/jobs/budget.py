"""What one training may take of a machine that thirty students share: the work of
one step, and the BLAS threads of every process."""

from __future__ import annotations

from ..network import layer_sizes
from ..train import TrainConfig

# floating-point operations of one step: about 0.4 s on one core, so Stop and the live curves stay responsive
MAX_STEP_FLOPS = 12e9


def check_affordable(config: TrainConfig, n_train: int) -> None:
    """Refuse, with a plain sentence, a training whose single step (or validation
    check) is too much work for one core: train() looks at Stop only between steps."""
    sizes = layer_sizes(config.hidden)
    weights = sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    batch = n_train if config.batch_size is None else min(config.batch_size, n_train)
    if 2 * config.n_val * weights > MAX_STEP_FLOPS:  # forward pass over the validation set
        most = int(MAX_STEP_FLOPS / (2 * config.n_val))
        raise ValueError(
            f"A {'-'.join(map(str, sizes))} network has {weights:,} weights, too many to train on this "
            f"shared computer (at most about {most:,}): use fewer hidden units."
        )
    if 6 * batch * weights > MAX_STEP_FLOPS:  # forward and backward over one batch
        largest = int(MAX_STEP_FLOPS / (6 * weights))
        raise ValueError(
            f"One step over {batch:,} images through {weights:,} weights is too much work at once here "
            f"(Stop and the live curves would lag): choose a batch size of at most {largest:,}, "
            "or fewer hidden units."
        )


def limit_blas_threads(n: int = 1) -> None:
    """Run NumPy's BLAS on `n` threads for the whole process (set once at start-up).

    Trainings run side by side, one worker process each, beside the server; with
    BLAS's default of one thread per core each would fight the others for every
    core. A small network's matrices are no faster on more threads anyway."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=n)  # stays in force: not used as a context manager
