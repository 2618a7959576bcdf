"""Charts, sized and lettered to be read from the back of a classroom.

Each function returns a plain Vega-Lite spec (a dict, drawn with st.vega_lite_chart).
Not Altair: building Altair charts and validating them against the schema in
to_dict() took about half of the server's CPU per page run, and the live panel
redraws three charts several times a second for every student who trains.
The specs hold their data inline (in their layers) as lists of plain Python values, and no
"$schema": they are the same in Vega-Lite 5 and 6 (Streamlit draws them with 6).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pyarrow as pa  # comes with Streamlit, which sends every data set as Arrow

from digitnet.explain import bucket_means
from digitnet.train import History

FONT = 15  # axis and legend lettering, for a projector
ACCENT = "#e4572e"  # the network's answer
MUTED = "#9aa5b1"
SERIES = {"training": "#4c78a8", "validation": "#f58518"}
LOSS_TOP = 3.0  # a loss axis from 0 to at least 3: a guess scores ln 10 = 2.3, the legend sits above
# Heights in px, axes and titles included (Streamlit fits a chart into its height): the
# answer and the live curves share one projector screen with the canvas.
BARS_HEIGHT = 180
CURVES_HEIGHT = 210
FEW = 40  # a curve of at most this many points shows them as dots
VAL_POINTS = 60  # the validation curves' points at most (bucket means), as the training loss's 200
RUN_COLOURS = [
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#ff7f0e",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#17becf",
    "#7f7f7f",
    "#bcbd22",
]  # distinct on a projector


def _config() -> dict:
    """The shared style: large lettering, a light grid, no frame, the legend one line in
    the top-right corner (the loss axis leaves room for it above ln 10, where losses start)."""
    return {
        "view": {"continuousWidth": 300, "continuousHeight": 300, "strokeWidth": 0},
        "axis": {
            "labelFontSize": FONT - 1,
            "titleFontSize": FONT,
            "titleFontWeight": "normal",
            "gridOpacity": 0.5,
        },
        "legend": {
            "labelFontSize": FONT - 1,
            "titleFontSize": FONT - 1,
            "orient": "top-right",
            "direction": "horizontal",
            "title": None,
            "symbolStrokeWidth": 4,
            "fillColor": "#ffffffcc",
            "padding": 4,
            "offset": 4,
        },
        "title": {"fontSize": FONT + 1, "anchor": "start", "fontWeight": "normal"},
    }


def projected(spec: dict) -> dict:
    """The same chart for a projector: larger lettering, black text and grid lines, thicker
    lines and a stronger grid, for the back of a classroom."""
    config = {**spec["config"]}
    config["axis"] = {
        **config["axis"],
        "labelFontSize": FONT + 2,
        "titleFontSize": FONT + 2,
        "labelColor": "#000",
        "titleColor": "#000",
        "gridColor": "#777",
        "gridOpacity": 0.7,
        "domainColor": "#000",
    }
    config["legend"] = {**config["legend"], "labelFontSize": FONT + 2, "labelColor": "#000"}
    config["title"] = {**config["title"], "fontSize": FONT + 4, "color": "#000"}
    # no y-axis titles: at this lettering a long one ("cross-entropy") outgrows the plot's height
    layers = [_bolder(layer) for layer in spec["layer"]]
    for layer in layers:
        y = layer.get("encoding", {}).get("y")
        if y is not None:
            layer["encoding"] = {**layer["encoding"], "y": {**y, "title": None}}
    return {**spec, "config": config, "layer": layers}


def _bolder(layer: dict) -> dict:
    mark = layer.get("mark")
    if isinstance(mark, dict) and mark.get("type") == "line":
        mark = {**mark, "strokeWidth": 5}
    elif isinstance(mark, dict) and mark.get("type") == "text":
        mark = {**mark, "fontSize": FONT + 2, "color": "#000"}
    return {**layer, "mark": mark}


def for_screen(spec: dict, projector: bool) -> dict:
    return projected(spec) if projector else spec


def _chart(
    rows: list[dict], height: int, layer: list[dict] | None = None, mark=None, encoding=None, **spec
) -> dict:
    """A chart of `rows`, its data carried inside its layer(s): Streamlit turns a
    top-level data set into an Arrow table through pandas (~3 ms a chart, every run
    of the page), and leaves a layer's data in the spec as it is."""
    layers = layer if layer is not None else [{"mark": mark, "encoding": encoding}]
    return {
        "height": height,
        **spec,
        "layer": [{"data": {"values": rows}, **one} for one in layers],
        "config": _config(),
    }


def live(spec: dict) -> dict:
    """The same chart with its layers' data as named data sets, for a chart redrawn several
    times a second with new numbers (the answer's bars, the live curves). The browser keeps
    such a chart and swaps its data when the rest of the spec is unchanged; a spec with the
    data inside is a new chart, built from scratch at every redraw (issue 17: the browser,
    not the server, held the live panel to ~3 redraws a second)."""
    datasets = {f"layer{i}": _table(layer["data"]["values"]) for i, layer in enumerate(spec["layer"])}
    layers = [{**layer, "data": {"name": f"layer{i}"}} for i, layer in enumerate(spec["layer"])]
    return {**spec, "layer": layers, "datasets": datasets}


def _table(rows: list[dict]) -> pa.Table:
    """Rows as an Arrow table, column by column. Streamlit sends every data set as Arrow:
    given a list of rows it builds a pandas DataFrame first (~0.7 ms a data set); given a
    table it only writes it out. With a class, the live panels' charts were ~40 % of the
    server's CPU (issue 17's class of 40)."""
    columns = dict.fromkeys(k for row in rows for k in row)
    return pa.table({k: [row.get(k) for row in rows] for k in columns})


def _number(v: float) -> float | None:
    """JSON has no NaN or infinity: such a point is left out of the line (null), as Altair did."""
    return v if math.isfinite(v) else None


def _rows(x: Iterable[float], y: Iterable[float], name: str, **same) -> list[dict]:
    return [{"epoch": float(a), name: _number(float(b)), **same} for a, b in zip(x, y, strict=True)]


def _top(values: Iterable[float | None]) -> float:
    """The largest value that is a number (infinity counts: a diverged loss fills the axis)."""
    return max((v for v in values if v is not None and not math.isnan(v)), default=-math.inf)


LABEL_LINE = 0.12  # of the bars' 0-100% axis: a line of the labels' type on the smallest chart


def probabilities(proba: np.ndarray | None, height: int = 290) -> dict:
    """The 10 softmax outputs as bars; the answer stands out; empty bars before a drawing."""
    p = [0.0] * 10 if proba is None else [float(v) for v in np.asarray(proba, dtype=float)]
    top = int(np.argmax(p)) if proba is not None else -1
    second = int(np.argsort(p)[-2]) if proba is not None else -1
    rows = [  # the two largest numbered: ten labels would run into each other on a narrow chart
        {
            "digit": str(d),
            "probability": v,
            "answer": d == top,
            "label": f"{v:.0%}" if d in (top, second) and v >= 0.005 else "",
            "label_at": v,
        }
        for d, v in enumerate(p)
    ]
    if abs(top - second) == 1 and p[top] - p[second] < LABEL_LINE:  # side by side, about as tall:
        rows[second]["label_at"] = p[top] + LABEL_LINE  # one label a line above the other
    encoding = {
        "x": {
            "field": "digit",
            "type": "nominal",
            "title": None,
            "sort": None,
            "axis": {"labelAngle": 0, "labelFontSize": FONT + 3, "ticks": False, "labelOverlap": False},
        },
        "y": {
            "field": "probability",
            "type": "quantitative",
            "title": None,  # the % on the axis say it; the room goes to the bars
            "scale": {"domain": [0, 1]},
            "axis": {"format": "%", "tickCount": 5},
        },
    }
    bars = {
        "mark": {"type": "bar", "cornerRadiusTopLeft": 3, "cornerRadiusTopRight": 3},
        "encoding": {
            **encoding,
            "color": {"condition": {"test": "datum.answer", "value": ACCENT}, "value": MUTED},
            "tooltip": [
                {"field": "digit", "type": "nominal"},
                {"field": "probability", "type": "quantitative", "format": ".1%"},
            ],
        },
    }
    labels = {
        "mark": {"type": "text", "dy": -9, "fontSize": FONT - 1},
        "encoding": {
            **encoding,
            "y": {**encoding["y"], "field": "label_at"},
            "text": {"field": "label", "type": "nominal"},
        },
    }
    return _chart(rows, height, layer=[bars, labels])


def layer_bars(values: np.ndarray, x_title: str, y_title: str, height: int) -> dict:
    """One bar per unit of a layer (Z or A for the current drawing), in unit order.
    (Fields are plain names and the titles separate: Vega-Lite reads "Z[1]" as a path.)"""
    rows = [{"unit": str(i), "value": _number(float(v))} for i, v in enumerate(values)]
    return _chart(
        rows,
        height,
        mark={"type": "bar", "color": SERIES["training"]},
        encoding={
            "x": {
                "field": "unit",
                "type": "ordinal",
                "sort": None,
                "title": x_title,
                "axis": {"labelAngle": 0},
            },
            "y": {"field": "value", "type": "quantitative", "title": y_title},
            "tooltip": [
                {"field": "unit", "type": "ordinal", "title": x_title},
                {"field": "value", "type": "quantitative", "title": y_title, "format": ".3f"},
            ],
        },
    )


def learning_curves(curves: History, epochs: float, height: int = 300) -> tuple[dict, dict]:
    """Loss (training and validation) and validation accuracy against epochs, on an
    x axis that already spans the whole run, so the curves grow into it."""
    x, y = bucket_means(curves.epoch, curves.train_loss, 200)  # bucket means: the batch noise smoothed
    vx, vy = bucket_means(
        curves.val_epoch, curves.val_loss, VAL_POINTS
    )  # a long run checks hundreds of times:
    _, va = bucket_means(
        curves.val_epoch, curves.val_accuracy, VAL_POINTS
    )  # its dots would merge into a thick band
    loss = _rows(x.tolist(), y.tolist(), "loss", set="training") + _rows(
        vx.tolist(), vy.tolist(), "loss", set="validation"
    )
    acc = _rows(vx.tolist(), va.tolist(), "accuracy")
    x_axis = {
        "field": "epoch",
        "type": "quantitative",
        "title": "epoch",
        "scale": {"domain": [0, max(epochs, 1e-9)], "nice": False},
    }
    top = max(LOSS_TOP, _top([*y.tolist(), *vy.tolist()]))
    loss_chart = _chart(
        loss,
        height,
        title="Loss (lower is better)",
        mark={
            "type": "line",
            "strokeWidth": 3,
            "clip": True,
            "point": len(loss) <= FEW,
        },  # dots while there are few points
        encoding={
            "x": x_axis,
            "y": {
                "field": "loss",
                "type": "quantitative",
                "title": "cross-entropy",
                "scale": {"domain": [0, min(top, 7)]},
            },
            "color": {
                "field": "set",
                "type": "nominal",
                "scale": {"domain": list(SERIES), "range": list(SERIES.values())},
                # one above the other: narrow enough for the corner of a 170 px chart (1024 px projector)
                "legend": {"direction": "vertical"},
            },
        },
    )
    acc_chart = _chart(
        acc,
        height,
        title="Validation accuracy",
        mark={
            "type": "line",
            "strokeWidth": 3,
            "point": {"size": 50} if len(acc) <= FEW else False,
            "clip": True,
        },
        encoding={
            "x": x_axis,
            "y": {
                "field": "accuracy",
                "type": "quantitative",
                "title": None,
                "scale": {"domain": [_floor(r["accuracy"] for r in acc), 1]},
                "axis": {"format": "%"},
            },
            "color": {"value": SERIES["validation"]},
            "tooltip": [
                {"field": "epoch", "type": "quantitative", "format": ".2f"},
                {"field": "accuracy", "type": "quantitative", "format": ".1%"},
            ],
        },
    )
    return loss_chart, acc_chart


def _floor(accuracy: Iterable[float | None]) -> float:
    """The accuracy axis starts at 0 while accuracy is low, then zooms in (to 0.5, 0.6, ...)
    so that the differences between good networks can be seen."""
    low = min((a for a in accuracy if a is not None and not math.isnan(a)), default=None)
    if low is None or low < 0.55:
        return 0.0
    return math.floor((low - 0.05) * 10) / 10


COMPARE = {
    "Validation accuracy": ("accuracy", "val_accuracy", "%"),
    "Validation loss": ("loss", "val_loss", ""),
    "Training loss": ("loss", "train_loss", ""),
}


def compare(
    curves_by_label: dict[str, History], metric: str, height: int = 440, diverged: Iterable[str] = ()
) -> dict:
    """Several runs' curves on one picture, one colour per run. A run in `diverged` is drawn
    up to its last finite point and marked there with a cross and "diverged" (with no point
    at all, at the top of a loss axis or the foot of an accuracy axis, where it blew up)."""
    title, field, fmt = COMPARE[metric]
    rows, tops = [], []
    for label, c in curves_by_label.items():
        if field == "train_loss":
            x, y = bucket_means(c.epoch, c.train_loss, 200)
        else:
            x, y = bucket_means(c.val_epoch, getattr(c, field), 2 * VAL_POINTS)  # a wider chart
        y = y.tolist()
        tops += y
        rows += _rows(x.tolist(), y, title, run=label)
    if fmt == "%":
        y_scale = {"domain": [_floor(r[title] for r in rows), 1]}
    else:
        y_scale = {"domain": [0, min(7.0, max(2.5, _top(tops)))]}
    ends = [
        _blow_up(label, curves_by_label[label], rows, title, y_scale["domain"], fmt) for label in diverged
    ]
    x = {
        "field": "epoch",
        "type": "quantitative",
        "title": "epoch",
        "scale": {"domainMin": 0},
        "axis": {"tickCount": 8},
    }
    y = {
        "field": title,
        "type": "quantitative",
        "title": metric.lower(),
        "scale": y_scale,
        "axis": {"format": fmt} if fmt else {},
    }
    colour = {
        "field": "run",
        "type": "nominal",
        "sort": list(curves_by_label),  # the runs in the order they were picked
        "scale": {"domain": list(curves_by_label), "range": RUN_COLOURS},
        "legend": {"orient": "bottom", "columns": 1, "labelLimit": 700},  # long run names, one a line
    }
    lines = {
        "mark": {
            "type": "line",
            "strokeWidth": 3,
            "clip": True,
            "point": field != "train_loss" and len(rows) <= FEW * len(curves_by_label),
        },
        "encoding": {
            "x": x,
            "y": y,
            "color": colour,
            "tooltip": [
                {"field": "run", "type": "nominal"},
                {"field": "epoch", "type": "quantitative", "format": ".2f"},
                {"field": title, "type": "quantitative", "format": ".3f"},
            ],
        },
    }
    layers = [(rows, lines)]
    if ends:
        marks = {"x": x, "y": y, "color": colour}
        layers.append(
            (
                ends,
                {
                    "mark": {"type": "point", "shape": "cross", "size": 400, "filled": True, "clip": True},
                    "encoding": marks,
                },
            )
        )
        layers.append(
            (
                ends,
                {
                    "mark": {
                        "type": "text",
                        "text": "diverged",
                        "dx": 10,
                        "dy": 14,
                        "align": "left",
                        "fontSize": FONT,
                        "fontWeight": "bold",
                    },
                    "encoding": marks,
                },
            )
        )
    return {
        "height": height,
        "title": metric,
        "layer": [{"data": {"values": data}, **layer} for data, layer in layers],
        "config": _config(),
    }


def _blow_up(label: str, c: History, rows: list[dict], name: str, domain: list[float], fmt: str) -> dict:
    """Where a diverged run's curve stops: its last finite point, or, if it has none, the
    top of a loss axis (the foot of an accuracy axis) at the last epoch it reached."""
    mine = [r for r in rows if r["run"] == label and r[name] is not None]
    if mine:
        return {**mine[-1]}
    epoch = float(c.epoch[-1]) if len(c.epoch) else 0.0
    return {"epoch": epoch, name: domain[0] if fmt == "%" else domain[1], "run": label}


def confusion(matrix: np.ndarray, height: int = 440) -> dict:
    """Rows: the true digit; columns: the network's answer. The diagonal (right) is
    green, mistakes are shaded by how often they happen. As wide as its column (on a
    phone, the screen), so no column of the matrix is cut off."""
    counts = np.asarray(matrix).tolist()
    worst = max([1] + [n for t, row in enumerate(counts) for a, n in enumerate(row) if t != a])
    rows = []
    for t, row in enumerate(counts):
        for a, n in enumerate(row):
            shade = 0.0 if t == a else n / worst
            rows.append(
                {
                    "true digit": t,
                    "answer": a,
                    "count": int(n),
                    "fill": "#dcefd6" if t == a else _mix("#ffffff", ACCENT, shade),
                    "ink": "#1e5b1e"
                    if t == a
                    else ("#ffffff" if shade > 0.6 else "#222222"),  # white on dark cells
                    "label": str(n) if n else "",
                }
            )
    encoding = {
        "x": {
            "field": "answer",
            "type": "ordinal",
            "title": "the network's answer",
            "axis": {"labelAngle": 0, "orient": "top", "labelFontSize": FONT + 1},
        },
        "y": {
            "field": "true digit",
            "type": "ordinal",
            "title": "true digit",
            "axis": {"labelFontSize": FONT + 1},
        },
    }
    cells = {
        "mark": {"type": "rect", "stroke": "#ffffff", "strokeWidth": 1},
        "encoding": {
            **encoding,
            "color": {"field": "fill", "type": "nominal", "scale": None},  # the colours are in the data
            "tooltip": [
                {"field": "true digit", "type": "ordinal"},
                {"field": "answer", "type": "ordinal"},
                {"field": "count", "type": "quantitative"},
            ],
        },
    }
    texts = {
        "mark": {"type": "text", "fontSize": FONT - 1},
        "encoding": {
            **encoding,
            "text": {"field": "label", "type": "nominal"},
            "color": {"field": "ink", "type": "nominal", "scale": None},
        },
    }
    return _chart(rows, height, width="container", layer=[cells, texts])


def _mix(a: str, b: str, t: float) -> str:
    """The colour t of the way from a to b (hex)."""
    ca, cb = ([int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in (a, b))
    return "#" + "".join(f"{int(round(u + (v - u) * t)):02x}" for u, v in zip(ca, cb, strict=True))


# -- the class board (ui/board.py) ---------------------------------------------------------

ALPHA_AXIS = {
    "field": "alpha",
    "type": "quantitative",
    "title": "learning rate α (log scale)",
    "scale": {"type": "log", "domain": [0.0007, 15], "nice": False},
    "axis": {"values": [0.001, 0.01, 0.1, 1, 10], "format": "~g"},
}


def _colour(by: str, domain: list[str]) -> dict:
    return {"field": by, "type": "nominal", "sort": domain, "scale": {"domain": domain, "range": RUN_COLOURS}}


def _accuracy_axis(rows: list[dict]) -> dict:
    return {
        "field": "accuracy",
        "type": "quantitative",
        "title": "validation accuracy",
        "scale": {"domain": [_floor(r["accuracy"] for r in rows), 1]},
        "axis": {"format": "%"},
    }


def class_accuracy(rows: list[dict], by: str, domain: list[str], height: int = 420) -> dict:
    """Every run of the class as a point: validation accuracy against α, coloured by `by`
    (batch size or optimiser); a run still training is a hollow circle; the selected one is big."""
    points = {
        "mark": {"type": "point", "filled": True, "size": 160, "strokeWidth": 3, "strokeOpacity": 0.9},
        "encoding": {
            "x": ALPHA_AXIS,
            "y": _accuracy_axis(rows),
            "color": _colour(by, domain),
            "stroke": _colour(by, domain),  # so a hollow point (still training) shows; one legend with color
            "fillOpacity": {"condition": {"test": "datum.finished", "value": 0.9}, "value": 0},
            "size": {"condition": {"test": "datum.selected", "value": 600}, "value": 160},
            "tooltip": [
                {"field": "name", "type": "nominal"},
                {"field": "alpha", "type": "quantitative", "title": "α", "format": "~g"},
                {"field": by, "type": "nominal"},
                {"field": "status", "type": "nominal"},
                {"field": "accuracy", "type": "quantitative", "format": ".1%"},
            ],
        },
    }
    return _chart(rows, height, title="What the class found: accuracy against α", layer=[points])


def class_curves(rows: list[dict], by: str, domain: list[str], height: int = 420) -> dict:
    """Every run's validation accuracy curve, thin; the selected run's thick, on top."""
    encoding = {
        "x": {"field": "epoch", "type": "quantitative", "title": "epoch", "scale": {"domainMin": 0}},
        "y": _accuracy_axis(rows),
        "color": _colour(by, domain),
        "detail": {"field": "run", "type": "nominal"},
    }
    thin_lines = {
        "mark": {"type": "line", "strokeWidth": 1.5, "opacity": 0.55, "clip": True},
        "encoding": encoding,
    }
    thick = {
        "transform": [{"filter": "datum.selected"}],
        "mark": {"type": "line", "strokeWidth": 6, "clip": True, "point": {"size": 60}},
        "encoding": {**encoding, "tooltip": [{"field": "name", "type": "nominal"}]},
    }
    return _chart(rows, height, title="Every run's accuracy as it learns", layer=[thin_lines, thick])
