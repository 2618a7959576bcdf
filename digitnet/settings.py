"""What a person types for a training, in the command line's flags or the sidebar's
fields, turned into TrainConfig's values: one parser for both, with its limits."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from .network import layer_sizes

MAX_HIDDEN = 4096  # units in a hidden layer: a 784 x 4096 layer is 13 MB of float32, still trainable here
MAX_LAYERS = 4  # hidden layers
# Weights and biases in all: 64 MB of float32, so that every model trained here fits a model
# file (model_io.MAX_BYTES, 64 MiB) and loads back. Four layers of 4096 would be 214 MB.
MAX_PARAMS = 16_000_000


def parse_hidden(text: str | Sequence[int]) -> tuple[int, ...]:
    """'256,128' -> (256, 128); also accepts a sequence. Raises ValueError with a
    plain message for anything that is not a list of sizes from 1 to MAX_HIDDEN."""
    if isinstance(text, str):
        parts = [p.strip() for p in text.replace(" ", ",").split(",") if p.strip()]
        if not all(p.isdigit() and p.isascii() for p in parts):
            shown = (
                repr(text) if len(text) <= 40 else repr(text[:40]) + "…"
            )  # never the whole of a long entry
            raise ValueError(
                f"Hidden layer sizes must be whole numbers separated by commas, like 256,128 (got {shown})."
            )
        if any(
            len(p) > 6 for p in parts
        ):  # before int(): Python refuses to read numbers of 4,300 digits or more
            raise ValueError(
                f"Each hidden layer needs between 1 and {MAX_HIDDEN} units "
                f"(got a {max(map(len, parts)):,}-digit number)."
            )
        sizes = tuple(int(p) for p in parts)
    else:
        sizes = tuple(int(n) for n in text)
    if not sizes:
        raise ValueError("Give at least one hidden layer size, like 10.")
    if not all(1 <= n <= MAX_HIDDEN for n in sizes):
        raise ValueError(
            f"Each hidden layer needs between 1 and {MAX_HIDDEN} units (got {', '.join(map(str, sizes[:8]))}"
            f"{', …' * (len(sizes) > 8)})."
        )
    if len(sizes) > MAX_LAYERS:
        raise ValueError(f"At most {MAX_LAYERS} hidden layers (got {len(sizes)}).")
    ends = layer_sizes(sizes)
    n = sum(m * k + m for k, m in itertools.pairwise(ends))  # W is m x k, b is m x 1, for each layer
    if n > MAX_PARAMS:
        raise ValueError(
            f"A {'-'.join(map(str, ends))} network has {n:,} weights and biases; a model file holds at "
            f"most {MAX_PARAMS:,}, so it could not be saved and loaded again. Use fewer or smaller layers."
        )
    return sizes


def parse_batch_size(value: str | int) -> int | None:
    """'128' or 128 -> 128; 'all' -> None, the notes' full-batch descent (all examples at once)."""
    if isinstance(value, str) and value.strip().lower() == "all":
        return None
    text = str(value).strip()
    if not (text.isdigit() and text.isascii()):
        shown = repr(text) if len(text) <= 40 else repr(text[:40]) + "…"  # never the whole of a long entry
        raise ValueError(f"The batch size (--batch-size) must be a whole number or 'all' (got {shown}).")
    if len(text) > 9:  # before int(): Python refuses to read numbers of 4,300 digits or more
        raise ValueError(
            f"The batch size (--batch-size) must be a whole number up to the training set's size, or 'all' "
            f"(got a {len(text):,}-digit number)."
        )
    return int(text)


def batch_size_text(batch_size: int | None) -> str:
    """The other way: None -> 'all'."""
    return "all" if batch_size is None else str(batch_size)
