"""Every run of the session in a table, best first, and their curves laid over each other:
by default the finished runs that differ in one setting (the learning rate: too small,
right, too big)."""

from __future__ import annotations

import math

import streamlit as st

from . import charts
from .state import Run, Session

SETTINGS = {  # what runs can be compared by: setting -> its column in the table
    "lr": "learning rate",
    "batch_size": "batch size",
    "hidden": "hidden",
    "optimizer": "optimiser",
    "epochs": "epochs",
    "augment": "augment",
    "seed": "seed",
}
ENDED = ("finished", "converged", "diverged")  # a diverged run tells the "too big" part of the story
WINNER = "best"  # plain text: a projector's browser may have no emoji font


def compare_tab(s: Session) -> None:
    if not s.runs:
        st.info(
            "Every training run of this session is listed here, with its settings, and their curves can be "
            "laid over each other. Try it: train with learning rate 0.01, then 0.1, then 1, and compare."
        )
        return
    snaps = {run.label: run.beat_and_read() for run in s.runs}
    _table(s.runs, snaps)
    by = st.selectbox(
        "Compare runs that differ in",
        list(SETTINGS),
        format_func=SETTINGS.get,
        key="compare_by",
        on_change=_follow_default,
        help="The runs picked below at first: for each value of this setting, the last run that ended.",
    )
    labels = list(snaps)
    if not st.session_state.get("compare_picked"):  # until someone picks runs by hand, follow the default
        st.session_state["compare"] = [run.label for run in default_runs(s.runs, by)]
    else:
        st.session_state["compare"] = [
            label for label in st.session_state.get("compare", []) if label in snaps
        ]
    chosen = st.multiselect(
        "Runs to compare",
        labels,
        key="compare",
        on_change=_picked,
        help="Pick the runs whose curves to draw on one chart, e.g. three learning rates.",
    )
    metric = st.radio(
        "Curve",
        list(charts.COMPARE),
        horizontal=True,
        key="compare_metric",
        help="Validation numbers are measured on 5,000 digits the network never trains on; "
        "the training loss on each batch it trains on.",
    )
    curves = {label: snaps[label].history for label in chosen}
    diverged = [label for label in chosen if snaps[label].status == "diverged"]
    if curves:
        st.vega_lite_chart(charts.compare(curves, metric, diverged=diverged), width="stretch")
    else:
        st.caption("Pick one or more runs above to see their curves.")


def default_runs(runs: list[Run], setting: str) -> list[Run]:
    """The runs that ended (finished, converged or diverged) and differ in `setting`: for
    each of its values the last such run, in the order of the values (α 0.01, 0.1, 1, 10)."""
    last = {}
    for run in runs:
        if not run.active and run.snapshot is not None and run.snapshot.status in ENDED:
            last[run.settings[setting]] = run
    return [last[value] for value in sorted(last, key=_order)]


def _order(value) -> tuple:
    """Numbers in their order, then the rest ("all" after the batch sizes, hidden "256,128"...)."""
    return (0, float(value), "") if isinstance(value, int | float) else (1, 0.0, str(value))


def _follow_default() -> None:
    st.session_state["compare_picked"] = False


def _picked() -> None:
    st.session_state["compare_picked"] = True


def _table(runs: list[Run], snaps: dict) -> None:
    """One row a run, the best validation accuracy first and marked, accuracy as a bar."""
    rows = sorted(
        (
            {
                "": "",
                "run": run.number,
                "validation accuracy": _accuracy(run),
                "learning rate": f"{run.settings['lr']:g}",
                "epochs": run.settings["epochs"],
                "batch size": str(run.settings["batch_size"]),
                "hidden": run.settings["hidden"],
                "optimiser": run.settings["optimizer"],
                "seed": run.settings["seed"],
                "augment": "yes" if run.settings["augment"] else "no",
                "status": snaps[run.label].status,
                "time": f"{snaps[run.label].seconds:.1f} s",
            }
            for run in runs
        ),
        key=lambda row: -row["validation accuracy"] if row["validation accuracy"] is not None else math.inf,
    )
    if rows and rows[0]["validation accuracy"] is not None:
        rows[0][""] = WINNER
    st.dataframe(
        rows,
        hide_index=True,
        width="stretch",
        column_config={
            "": st.column_config.TextColumn("", width="small"),
            "validation accuracy": st.column_config.ProgressColumn(
                "validation accuracy",
                format="percent",
                min_value=0.0,
                max_value=1.0,
                help="On 5,000 digits the network never trained on; the best run first.",
            ),
        },
    )


def _accuracy(run: Run) -> float | None:
    value = run.final_val_accuracy()
    return value if value is not None and math.isfinite(value) else None
