"""Rows that wrap: parts side by side while there is room, one below the other when there
is not (a phone; a 1024 px projector with the sidebar open). Streamlit's horizontal
containers move a part that does not fit onto the next line; the width below which a part
moves is its minimum width, set here by its key (never more than the screen's width)."""

from __future__ import annotations

import streamlit as st

MIN_WIDTH = {  # px, by container key (or key prefix)
    "live_panel": 224,  # the prediction beside the canvas down to a 1024 px projector with the sidebar open
    "probabilities": 220,  # the bars right of the answer, or below it
    "loss_chart": 232,  # the two curves side by side from about 480 px
    "accuracy_chart": 232,
    "equation_": 460,  # Look inside: an equation keeps the width it needs, its numbers beside or below
    "numbers_": 260,
    "confusion": 420,  # cells wide enough for four-digit counts
    "misread": 300,
}

CSS = "".join(
    f"[data-testid='stLayoutWrapper']:has(> [class*='st-key-{key}']) {{min-width: min({px}px, 100%)}}"
    for key, px in MIN_WIDTH.items()
)


def row(*parts: str | int, gap: str = "large") -> list:
    """A container per part, side by side. A part is a key (it shares the row's width and
    goes below the others when the row is narrower than its MIN_WIDTH) or a fixed width
    in px (the canvas's column, say)."""
    unknown = [p for p in parts if isinstance(p, str) and not p.startswith(tuple(MIN_WIDTH))]
    if unknown:  # without a minimum width a part would squeeze instead of wrapping
        raise KeyError(f"No minimum width for {unknown}: add them to MIN_WIDTH.")
    container = st.container(horizontal=True, gap=gap)
    return [
        container.container(width=p) if isinstance(p, int) else container.container(width="stretch", key=p)
        for p in parts
    ]
