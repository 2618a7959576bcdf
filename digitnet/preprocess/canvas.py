"""The drawing canvas's pixels -> an ink map for MNIST's recipe."""

from __future__ import annotations

import numpy as np

from .mnist import Preprocessed, PreprocessError, _no_ink, to_mnist


def from_canvas(rgba: np.ndarray | None) -> Preprocessed:
    """The drawing canvas's image_data: HxWx4 uint8 (also float 0..1/0..255,
    HxWx3, or HxW grey).  Either an opaque background (any colour, e.g. the app's
    white pen on black) or a transparent background with the stroke in alpha.
    None (the canvas before anything is drawn) reads as an empty canvas."""
    if rgba is None:
        return _no_ink("canvas", "empty")
    a = np.asarray(rgba)
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3 or a.shape[2] not in (1, 3, 4) or a.shape[0] == 0 or a.shape[1] == 0:
        raise PreprocessError(
            f"A canvas must be an HxWx4 (or HxWx3) image array, not one of shape {np.shape(rgba)}."
        )
    if a.dtype != np.uint8:
        f = np.nan_to_num(a.astype(np.float32))
        a = np.clip(np.rint(f * 255.0 if f.max() <= 1.0 else f), 0, 255).astype(np.uint8)
    return to_mnist(_canvas_ink(a), source="canvas")


def _canvas_ink(a: np.ndarray) -> np.ndarray:
    # The background is whatever fills the border (a digit rarely covers all of it).
    border = np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]])
    bg = np.median(border, axis=0)
    if a.shape[2] == 4 and bg[3] < 128:
        return a[:, :, 3]  # transparent background: the stroke is the alpha channel
    # Ink is any departure from the background on any channel: white on black,
    # black on white and coloured pens alike (taken channel by channel).
    chans = [a[:, :, c] for c in range(min(3, a.shape[2]))]
    if bg[: len(chans)].any():
        chans = [
            np.abs(ch.astype(np.int16) - int(b)).astype(np.uint8)
            for ch, b in zip(chans, bg[: len(chans)], strict=True)
        ]
    ink = chans[0]
    for ch in chans[1:]:
        ink = np.maximum(ink, ch)
    return ink
