"""Why did it say that: d z_k / d x over the drawing, for the answer and the runner-up."""

from __future__ import annotations

import numpy as np
import streamlit as st

from digitnet.explain import diverging
from digitnet.why import Why, answer_and_runner_up

from .pictures import picture
from .state import Session

INK_SHADE = 0.6  # how much darker a pixel with ink is drawn, so the drawing shows through the colours


def overlay(why: Why, image28: np.ndarray) -> np.ndarray:
    """The gradient in diverging colours (red: more ink here raises z_k; blue: lowers it),
    with the drawing's ink darkened over it."""
    colours = diverging(why.picture).astype(np.float32)
    ink = image28.astype(np.float32)[..., None] / 255
    return (colours * (1 - INK_SHADE * ink)).astype(np.uint8)


def equation(sizes: tuple[int, ...], k: int) -> str:
    """The notes' backward pass for the score z_k, carried one step further, to the pixels."""
    L = len(sizes) - 1
    lines = [rf"dZ^{{[{L}]}} &= e_{{{k}}} && \text{{(1 for digit {k}, 0 elsewhere)}}"]
    for l in range(L - 1, 0, -1):
        lines.append(
            rf"dZ^{{[{l}]}} &= W^{{[{l + 1}]T}} dZ^{{[{l + 1}]}} \odot g'(Z^{{[{l}]}}) "
            rf"&& ({sizes[l]} \times 1)"
        )
    lines.append(
        rf"\frac{{\partial z_{{{k}}}}}{{\partial x}} = dA^{{[0]}} &= W^{{[1]T}} dZ^{{[1]}} && (784 \times 1)"
    )
    return r"\begin{aligned}" + r" \\ ".join(lines) + r"\end{aligned}"


def why_tab(s: Session) -> None:
    net, name = s.live_net()
    pre = s.drawing
    if pre is None or not pre.has_ink:
        st.info(
            "Draw a digit: this view shows which of its pixels pushed the network towards its answer, and "
            "which "
            "against it — the gradient of the answer's score with respect to the 784 pixels."
        )
        return
    answer, runner_up = answer_and_runner_up(net, pre.x)
    st.markdown(
        "The notes' backward pass stops at dW1 and db1. One product further, **dA0 = W1ᵀ·dZ1**, gives the "
        "gradient of a digit's score z (before softmax) with respect to every pixel: how the score would "
        "change "
        f"if that pixel had more ink. Read by {name}."
    )
    x = pre.x[:, 0]
    for why, title in (
        (answer, f"Why a {answer.digit}"),
        (runner_up, f"What would make it a {runner_up.digit}"),
    ):
        st.subheader(title)
        left, right = st.columns([1, 2], vertical_alignment="center")
        with left:
            picture(
                overlay(why, pre.image28),
                width=224,
                caption=f"∂z{_sub(why.digit)}/∂x over your drawing: red raises, blue lowers",
            )
        with right:
            st.latex(equation(net.sizes, why.digit))
            share = (
                why.dA0 * x
            )  # each inked pixel's part of the score (exact for a ReLU network, see digitnet.why)
            st.markdown(
                f"Score z{_sub(why.digit)} = **{why.score:.2f}**. Your ink pushed it up by "
                f"**{share[share > 0].sum():.2f}** (ink on red) and down by "
                f"**{-share[share < 0].sum():.2f}** "
                f"(ink on blue); the biases give the rest. "
                + (
                    "Dark red strokes are what made it this answer."
                    if why is answer
                    else f"Ink on the red pixels, or less on the blue, would make a {why.digit} more likely."
                )
            )


def _sub(k: int) -> str:
    return "₀₁₂₃₄₅₆₇₈₉"[k]
