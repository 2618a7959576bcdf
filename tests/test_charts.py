"""The page's charts are plain Vega-Lite specs: every encoded field is in the data,
under a name Vega-Lite reads as a name (not "Z[1]", which it reads as a path), and
the data is JSON (no NaN, no NumPy scalars)."""

import json
import re

import numpy as np
import pytest

from digitnet.train import History
from ui import charts


def curves(n=50, k=5):
    steps = np.arange(1, n + 1)
    checks = steps[:: n // k][:k]
    return History(
        steps.tolist(),
        (steps / 10).tolist(),
        np.linspace(2.3, 0.4, n).tolist(),
        checks.tolist(),
        (checks / 10).tolist(),
        np.linspace(2.2, 0.5, k).tolist(),
        np.linspace(0.3, 0.9, k).tolist(),
    )


def specs():
    loss, accuracy = charts.learning_curves(curves(), epochs=10)
    return {
        "probabilities": charts.probabilities(np.full(10, 0.1)),
        "no drawing yet": charts.probabilities(None),
        "layer Z[1]": charts.layer_bars(np.linspace(-1, 1, 10), "unit", "Z[1]", height=160),
        "loss": loss,
        "accuracy": accuracy,
        "compare": charts.compare({"run 1": curves(), "run 2": curves(30, 3)}, "Validation accuracy"),
        "confusion": charts.confusion(np.eye(10, dtype=int) * 90 + 1),
    }


def fields(node):
    if isinstance(node, dict):
        if isinstance(node.get("field"), str):
            yield node["field"]
        for v in node.values():
            yield from fields(v)
    elif isinstance(node, list):
        for v in node:
            yield from fields(v)


@pytest.mark.parametrize("name", list(specs()))
def test_every_encoded_field_is_a_plain_name_present_in_the_data(name):
    spec = specs()[name]
    assert (
        "data" not in spec and "datasets" not in spec
    )  # in the layers: Streamlit converts top-level data through pandas
    for layer in spec["layer"]:
        rows = layer["data"]["values"]
        assert rows, "a chart without data"
        for field in set(fields({k: v for k, v in layer.items() if k != "data"})):
            assert re.fullmatch(r"[\w ]+", field), f"{field!r} would be read as a path"
            assert any(field in row for row in rows), f"{field!r} is not in the data"
    json.dumps(spec, allow_nan=False)  # plain JSON: NaN or a NumPy number would fail here


def test_a_diverged_loss_is_left_out_of_the_line_not_sent_as_nan():
    c = curves()
    c.train_loss[-1] = float("nan")
    loss, _ = charts.learning_curves(c, epochs=10)
    json.dumps(loss, allow_nan=False)


def test_a_long_runs_validation_curves_are_bucket_means_drawn_without_dots():
    c = curves(n=5000, k=500)  # 100 epochs checked 5 times each
    loss, accuracy = charts.learning_curves(c, epochs=500)
    validation = [row for row in loss["layer"][0]["data"]["values"] if row["set"] == "validation"]
    points = accuracy["layer"][0]["data"]["values"]
    assert len(validation) == len(points) == charts.VAL_POINTS
    assert points[0]["accuracy"] == pytest.approx(
        np.mean(c.val_accuracy[: 500 // charts.VAL_POINTS]), abs=1e-3
    )
    assert accuracy["layer"][0]["mark"]["point"] is False
    _, short = charts.learning_curves(curves(), epochs=10)  # 5 checks: every one shown, as a dot
    assert len(short["layer"][0]["data"]["values"]) == 5 and short["layer"][0]["mark"]["point"]


def test_the_loss_axis_leaves_room_above_a_guess_for_the_legend():
    loss, _ = charts.learning_curves(curves(), epochs=10)
    top = loss["layer"][0]["encoding"]["y"]["scale"]["domain"][1]
    assert top >= charts.LOSS_TOP > np.log(10) + 0.5


@pytest.mark.parametrize("name", list(specs()))
def test_a_live_chart_carries_each_layers_rows_as_a_named_arrow_table(name):
    spec = specs()[name]
    c = charts.live(spec)
    for i, layer in enumerate(spec["layer"]):
        assert c["layer"][i]["data"] == {"name": f"layer{i}"}
        rows = layer["data"]["values"]
        keys = list(dict.fromkeys(k for row in rows for k in row))
        assert c["datasets"][f"layer{i}"].to_pylist() == [{k: row.get(k) for k in keys} for row in rows]


def test_two_neighbouring_bars_about_as_tall_get_their_labels_a_line_apart():
    """A 6 or a 7 at 22% and 17%: side by side, their labels ran into each other ("22%17%")
    on a tablet's narrow chart. One stands a line above the other; apart, both sit on their bars."""
    p = np.full(10, 0.61 / 8)
    p[6], p[7] = 0.22, 0.17
    labels = charts.probabilities(p)["layer"][1]
    y = labels["encoding"]["y"]["field"]
    at = {row["digit"]: row[y] for row in labels["data"]["values"] if row["label"]}
    assert set(at) == {"6", "7"} and abs(at["6"] - at["7"]) >= charts.LABEL_LINE - 1e-9, at
    p[6], p[7], p[2] = 0.22, 0.01, 0.17 + p[2] - 0.01  # the runner-up far from the answer
    rows = charts.probabilities(p)["layer"][1]["data"]["values"]
    assert all(row["label_at"] == row["probability"] for row in rows)
