"""What a person types for a training, in the command line's flags or the sidebar's
fields, turned into TrainConfig's values: one parser for both, with its limits."""

from __future__ import annotations

from collections.abc import Sequence

MAX_HIDDEN = 4096  # units in a hidden layer: a 784 x 4096 layer is 13 MB of float32, still trainable here
MAX_LAYERS = 4  # hidden layers


def parse_hidden(text: str | Sequence[int]) -> tuple[int, ...]:
    """'256,128' -> (256, 128); also accepts a sequence. Raises ValueError with a
    plain message for anything that is not a list of sizes from 1 to MAX_HIDDEN."""
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
