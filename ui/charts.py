"""Altair charts, sized and lettered to be read from the back of a classroom."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from digitnet.explain import thin
from digitnet.jobs import Curves

FONT = 15  # axis and legend lettering, for a projector
ACCENT = "#e4572e"  # the network's answer
MUTED = "#9aa5b1"
SERIES = {"training": "#4c78a8", "validation": "#f58518"}
RUN_COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"]  # distinct on a projector


def _style(chart: alt.Chart, height: int) -> alt.Chart:
    return (
        chart.properties(height=height)
        .configure_axis(labelFontSize=FONT - 1, titleFontSize=FONT, titleFontWeight="normal", gridOpacity=0.5)
        .configure_legend(labelFontSize=FONT - 1, titleFontSize=FONT - 1, orient="top-right", title=None, symbolStrokeWidth=4, fillColor="#ffffffcc", padding=6)
        .configure_title(fontSize=FONT + 1, anchor="start", fontWeight="normal")
        .configure_view(strokeWidth=0)
    )


def probabilities(proba: np.ndarray | None, height: int = 290) -> alt.Chart:
    """The 10 softmax outputs as bars; the answer stands out; empty bars before a drawing."""
    p = np.zeros(10) if proba is None else np.asarray(proba, dtype=float)
    top = int(p.argmax()) if proba is not None else -1
    df = pd.DataFrame({"digit": [str(d) for d in range(10)], "probability": p, "answer": [d == top for d in range(10)]})
    df["label"] = [f"{v:.0%}" if v >= 0.005 else "" for v in p]
    base = alt.Chart(df).encode(
        x=alt.X("digit:N", title=None, sort=None, axis=alt.Axis(labelAngle=0, labelFontSize=FONT + 5, ticks=False, labelOverlap=False)),
        y=alt.Y("probability:Q", title="probability", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%", tickCount=5)),
    )
    bars = base.mark_bar(cornerRadiusTopLeft=3, cornerRadiusTopRight=3).encode(
        color=alt.condition("datum.answer", alt.value(ACCENT), alt.value(MUTED)),
        tooltip=[alt.Tooltip("digit:N"), alt.Tooltip("probability:Q", format=".1%")],
    )
    text = base.mark_text(dy=-9, fontSize=FONT - 1).encode(text="label:N")
    return _style(bars + text, height)


def _curve_frame(curves: Curves) -> tuple[pd.DataFrame, pd.DataFrame]:
    x, y = thin(curves.epoch, curves.train_loss, 200)  # bucket means: the batch noise smoothed
    loss = pd.concat(
        [
            pd.DataFrame({"epoch": x, "loss": y, "set": "training"}),
            pd.DataFrame({"epoch": curves.val_epoch, "loss": curves.val_loss, "set": "validation"}),
        ]
    )
    acc = pd.DataFrame({"epoch": curves.val_epoch, "accuracy": curves.val_accuracy, "set": "validation"})
    return loss, acc


def learning_curves(curves: Curves, epochs: float, height: int = 300) -> tuple[alt.Chart, alt.Chart]:
    """Loss (training and validation) and validation accuracy against epochs, on an
    x axis that already spans the whole run, so the curves grow into it."""
    loss, acc = _curve_frame(curves)
    x = alt.X("epoch:Q", title="epoch", scale=alt.Scale(domain=[0, max(epochs, 1e-9)], nice=False))
    color = alt.Color("set:N", scale=alt.Scale(domain=list(SERIES), range=list(SERIES.values())))
    top = max(2.5, float(np.nanmax(loss["loss"])) if len(loss) else 2.5)
    loss_chart = (
        alt.Chart(loss, title="Loss (lower is better)")
        .mark_line(strokeWidth=3, clip=True, point=len(loss) < 40)
        .encode(x=x, y=alt.Y("loss:Q", title="cross-entropy", scale=alt.Scale(domain=[0, min(top, 7)])), color=color)
    )
    acc_chart = (
        alt.Chart(acc, title="Accuracy on validation digits")
        .mark_line(strokeWidth=3, point=alt.OverlayMarkDef(size=50), clip=True)
        .encode(
            x=x,
            y=alt.Y("accuracy:Q", title=None, scale=alt.Scale(domain=[_floor(acc["accuracy"]), 1]), axis=alt.Axis(format="%")),
            color=alt.value(SERIES["validation"]),
            tooltip=[alt.Tooltip("epoch:Q", format=".2f"), alt.Tooltip("accuracy:Q", format=".1%")],
        )
    )
    return _style(loss_chart, height), _style(acc_chart, height)


def _floor(accuracy: pd.Series) -> float:
    """The accuracy axis starts at 0 while accuracy is low, then zooms in (to 0.5, 0.6, ...)
    so that the differences between good networks can be seen."""
    if not len(accuracy) or accuracy.min() < 0.55:
        return 0.0
    return float(np.floor((accuracy.min() - 0.05) * 10) / 10)


COMPARE = {
    "Validation accuracy": ("accuracy", "val_accuracy", "%"),
    "Validation loss": ("loss", "val_loss", ""),
    "Training loss": ("loss", "train_loss", ""),
}


def compare(curves_by_label: dict[str, Curves], metric: str, height: int = 440) -> alt.Chart:
    """Several runs' curves on one picture, one colour per run."""
    title, field, fmt = COMPARE[metric]
    frames = []
    for label, c in curves_by_label.items():
        if field == "train_loss":
            x, y = thin(c.epoch, c.train_loss, 200)
        else:
            x, y = c.val_epoch, getattr(c, field)
        frames.append(pd.DataFrame({"epoch": x, title: y, "run": label}))
    df = pd.concat(frames) if frames else pd.DataFrame({"epoch": [], title: [], "run": []})
    y_scale = alt.Scale(domain=[_floor(df[title]), 1]) if fmt == "%" else alt.Scale(domain=[0, min(7.0, max(2.5, float(df[title].max() if len(df) else 2.5)))])
    chart = (
        alt.Chart(df, title=metric)
        .mark_line(strokeWidth=3, clip=True, point=field != "train_loss")
        .encode(
            x=alt.X("epoch:Q", title="epoch", scale=alt.Scale(domainMin=0), axis=alt.Axis(tickCount=8)),
            y=alt.Y(f"{title}:Q", title=metric.lower(), scale=y_scale, axis=alt.Axis(format=fmt) if fmt else alt.Axis()),
            color=alt.Color(
                "run:N",
                sort=list(curves_by_label),
                scale=alt.Scale(range=RUN_COLOURS),
                legend=alt.Legend(orient="bottom", columns=1, labelLimit=700),
            ),
            tooltip=["run:N", alt.Tooltip("epoch:Q", format=".2f"), alt.Tooltip(f"{title}:Q", format=".3f")],
        )
    )
    return _style(chart, height)


def confusion(matrix: np.ndarray, size: int = 440) -> alt.Chart:
    """Rows: the true digit; columns: the network's answer. The diagonal (right) is
    green, mistakes are shaded by how often they happen."""
    true, pred = np.meshgrid(range(10), range(10), indexing="ij")
    counts = matrix.ravel()
    right = (true == pred).ravel()
    worst = max(1, int(counts[~right].max(initial=0)))
    shade = np.where(right, 0.0, counts / worst)
    fill = [_mix("#ffffff", ACCENT, t) if not r else "#dcefd6" for t, r in zip(shade, right)]
    ink = ["#1e5b1e" if r else ("#ffffff" if t > 0.6 else "#222222") for t, r in zip(shade, right)]
    df = pd.DataFrame({"true digit": true.ravel(), "answer": pred.ravel(), "count": counts, "fill": fill, "ink": ink})
    df["label"] = [str(c) if c else "" for c in counts]
    base = alt.Chart(df).encode(
        x=alt.X("answer:O", title="the network's answer", axis=alt.Axis(labelAngle=0, orient="top", labelFontSize=FONT + 1)),
        y=alt.Y("true digit:O", title="true digit", axis=alt.Axis(labelFontSize=FONT + 1)),
    )
    cells = base.mark_rect(stroke="#ffffff", strokeWidth=1).encode(color=alt.Color("fill:N", scale=None), tooltip=["true digit:O", "answer:O", "count:Q"])
    text = base.mark_text(fontSize=FONT - 1).encode(text="label:N", color=alt.Color("ink:N", scale=None))
    return _style((cells + text).properties(width=size), size)


def _mix(a: str, b: str, t: float) -> str:
    """The colour t of the way from a to b (hex)."""
    ca, cb = (np.array([int(c[i : i + 2], 16) for i in (1, 3, 5)]) for c in (a, b))
    return "#" + "".join(f"{int(round(v)):02x}" for v in ca + (cb - ca) * float(t))
