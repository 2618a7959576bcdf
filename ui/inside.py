"""Look inside: the notes' equations with this network's shapes, each next to its
numbers for the current drawing, and the first layer's weights as pictures."""

from __future__ import annotations

import numpy as np
import streamlit as st

from digitnet.explain import Reading, diverging, read, weight_grid
from digitnet.network import Network
from digitnet.preprocess import from_canvas

from . import charts, layout
from .pictures import gallery, picture
from .state import Session

MAX_BARS = 40  # layers up to this size get one bar per unit; wider ones a heat strip
MAX_TILES = 50  # first-layer weight pictures shown at most
BIG = r"\large "  # equations readable from the back of the room


def _shape(rows, cols) -> str:
    return rf"({rows} \times {cols})"


def _under(symbol: str, rows, cols) -> str:
    return rf"\underset{{{_shape(rows, cols)}}}{{{symbol}}}"


def forward_latex(sizes: tuple[int, ...], l: int) -> str:
    """Z[l] = W[l] A[l-1] + b[l] with this network's shapes (m examples as columns)."""
    n, n_prev = sizes[l], sizes[l - 1]
    return BIG + (
        _under(f"Z^{{[{l}]}}", n, "m")
        + " = "
        + _under(f"W^{{[{l}]}}", n, n_prev)
        + r"\;"
        + _under(f"A^{{[{l - 1}]}}", n_prev, "m")
        + " + "
        + _under(f"b^{{[{l}]}}", n, 1)
    )


def activation_latex(sizes: tuple[int, ...], l: int) -> str:
    L = len(sizes) - 1
    if l < L:
        return (
            BIG
            + _under(f"A^{{[{l}]}}", sizes[l], "m")
            + rf" = g(Z^{{[{l}]}}) = \mathrm{{ReLU}}(Z^{{[{l}]}}) = \max(0,\, Z^{{[{l}]}})"
        )
    return (
        BIG
        + _under(f"A^{{[{L}]}}", 10, "m")
        + rf" = \mathrm{{softmax}}(Z^{{[{L}]}}),\quad a_i = \frac{{e^{{z_i}}}}{{\sum_{{j=0}}^{{9}} "
        rf"e^{{z_j}}}}"
    )


def backward_latex(sizes: tuple[int, ...]) -> str:
    """The notes' backward pass, generalised to L layers, with this network's shapes."""
    L = len(sizes) - 1
    lines = [rf"dZ^{{[{L}]}} &= A^{{[{L}]}} - Y && {_shape(10, 'm')}"]
    for l in range(L, 0, -1):
        if l < L:
            lines.append(
                rf"dZ^{{[{l}]}} &= W^{{[{l + 1}]T}} dZ^{{[{l + 1}]}} \odot g'(Z^{{[{l}]}}) && "
                rf"{_shape(sizes[l], 'm')}"
            )
        a_prev_T = "X^{T}" if l == 1 else f"A^{{[{l - 1}]T}}"
        lines.append(
            rf"dW^{{[{l}]}} &= \tfrac{{1}}{{m}}\, dZ^{{[{l}]}} {a_prev_T} && {_shape(sizes[l], sizes[l - 1])}"
        )
        lines.append(
            rf"db^{{[{l}]}} &= \tfrac{{1}}{{m}} \textstyle\sum_{{\text{{columns}}}} dZ^{{[{l}]}} && "
            rf"{_shape(sizes[l], 1)}"
        )
    return BIG + r"\begin{aligned}" + r" \\ ".join(lines) + r"\end{aligned}"


def update_latex(L: int) -> str:
    """The notes' update rule for every layer (its 'repeat until convergence' is in the
    sentence above it: on a phone's width the rule alone fits)."""
    rules = r" \\ ".join(
        rf"W^{{[{l}]}} &:= W^{{[{l}]}} - \alpha\, dW^{{[{l}]}}, \quad b^{{[{l}]}} := b^{{[{l}]}} - \alpha\, "
        rf"db^{{[{l}]}}"
        for l in range(1, L + 1)
    )
    return BIG + rf"\begin{{aligned}} {rules} \end{{aligned}}"


def inside_tab(s: Session) -> None:
    """Redrawn twice a second while a run trains, so the class sees the first layer's weights
    form (by the page's fragment of the views, ui/student.py: one of this view's own would be a
    fragment inside another)."""
    net, name = s.live_net()
    reading = read(net, s.drawing or from_canvas(None))
    sizes, L = net.sizes, net.L
    st.markdown(
        f"**{name[:1].upper() + name[1:]}** is a {' → '.join(map(str, sizes))} network. These are the "
        "notes' equations with "
        f"its shapes: *m* is the number of images read at once (your drawing: m = 1)."
    )
    if not reading.has_ink:
        st.info("Draw a digit to see the numbers each equation produces for it.")
    eq, num = _equation_row("X")
    eq.latex(BIG + rf"A^{{[0]}} = X \quad {_shape(784, 'm')}")
    if reading.has_ink:
        ink = int((reading.pre.x > 0).sum())
        num.markdown(f"Your drawing as a column of 784 pixel values from 0 to 1; {ink} of them are ink.")
    for l in range(1, L + 1):
        eq, num = _equation_row(f"Z{l}")
        eq.latex(forward_latex(sizes, l))
        if reading.has_ink:
            with num:
                _layer_numbers(reading, l, L, kind="Z")
        eq, num = _equation_row(f"A{l}")
        eq.latex(activation_latex(sizes, l))
        if reading.has_ink:
            with num:
                _layer_numbers(reading, l, L, kind="A")
    st.caption(
        f"Where the notes' shapes differ: W[1] is ({sizes[1]} × 784), one row of 784 weights per hidden "
        "unit (the notes "
        f"label it 10 × m); dW[1] has the same shape (the notes write 10 × 728); and the output is A[{L}] "
        "(the notes call it A[3] once)."
    )
    st.subheader("How it learns")
    st.markdown(
        "Compare the output with the true label Y (one-hot: a 4 is the column [0 0 0 0 1 0 0 0 0 0]ᵀ), "
        "send the error backwards layer by layer, then step every weight against its gradient:"
    )
    st.latex(backward_latex(sizes))
    alpha = float(st.session_state.get("lr", 0.1))
    st.markdown(f"and repeat until convergence, with the learning rate α = {alpha:g} set in the sidebar:")
    st.latex(update_latex(L))
    st.subheader("What each hidden unit looks for")
    _weights(net, reading)


def _equation_row(name: str):
    """An equation and, right of it, its numbers for the drawing; the numbers go below
    when the page is too narrow for both, so no equation is cut off (ui.layout)."""
    return layout.row(f"equation_{name}", f"numbers_{name}")


def _layer_numbers(reading: Reading, l: int, L: int, kind: str) -> None:
    values = reading.cache[f"{kind}{l}"][:, 0]
    if l == L and kind == "A":
        z = reading.cache[f"Z{L}"][:, 0]
        table = {
            "digit": list(range(10)),
            "score z": z,
            "e^z (relative)": np.exp(z - z.max()),
            "probability a": values,
        }
        st.dataframe(
            table,
            hide_index=True,
            height=388,
            column_config={
                "score z": st.column_config.NumberColumn(format="%.2f"),
                "e^z (relative)": st.column_config.NumberColumn(format="%.3g"),
                "probability a": st.column_config.ProgressColumn(
                    format="percent", min_value=0.0, max_value=1.0
                ),
            },
        )
        st.caption(
            "e^z is shown divided by the largest one: softmax gives the same probabilities (and the "
            "computer avoids overflow)."
        )
        return
    if l == L:
        st.vega_lite_chart(charts.layer_bars(values, "digit", "Z (score)", height=180), width="stretch")
        st.caption(f"The 10 scores; the largest is {int(values.argmax())}.")
        return
    n = len(values)
    if kind == "A":
        fires = int((values > 0).sum())
        st.markdown(f"**{fires} of {n}** units fire (A > 0); ReLU sets the other {n - fires} to 0.")
    if n <= MAX_BARS:
        st.vega_lite_chart(charts.layer_bars(values, "unit", f"{kind}[{l}]", height=160), width="stretch")
    else:
        cols = 40
        grid = np.full((-(-n // cols)) * cols, np.nan)
        grid[:n] = values
        strip = diverging(np.nan_to_num(grid).reshape(-1, cols), float(np.abs(values).max()) or 1.0)
        picture(strip, width=320)  # the browser scales it up, pixels kept square
        st.caption(f"{n} numbers, one square per unit, 40 to a row: red positive, blue negative, white 0.")


def _weights(net: Network, reading: Reading) -> None:
    n = net.sizes[1]
    if reading.has_ink:
        a1 = reading.cache["A1"][:, 0]
        order = np.argsort(-a1, kind="stable")[:MAX_TILES]
        which = (
            f"the {len(order)} that fire most for your drawing" if n > MAX_TILES else "strongest-firing first"
        )
    else:
        a1, order = None, np.arange(min(n, MAX_TILES))
        which = f"the first {len(order)}" if n > MAX_TILES else "in order"
    st.caption(
        "Each picture is one row of W[1]: the 784 weights of one hidden unit, laid out as the 28 × 28 image "
        "they multiply. "
        f"Red pixels push the unit's Z up where there is ink, blue ones push it down. {n} hidden units, "
        f"{which}."
    )
    if n <= 20:
        tiles = [diverging(net.params["W1"][j].reshape(28, 28)) for j in order]
        captions = [f"unit {j}" + ("" if a1 is None else f": A = {a1[j]:.2f}") for j in order]
        gallery(tiles, captions, width=112)
    else:
        grid = weight_grid(
            net, order, cols=10, scale=1, gap=1
        )  # shown 3x: a small PNG, scaled up by the browser
        picture(grid, width=3 * grid.shape[1])
    if net.L > 2:
        st.caption(
            "Deeper layers combine the first layer's patterns, so their weights are not pictures of pixels."
        )
