"""Every run of the session in a table, and their curves laid over each other."""

from __future__ import annotations

import streamlit as st

from . import charts
from .state import Session, val_accuracy_text


def compare_tab(s: Session) -> None:
    if not s.runs:
        st.info(
            "Every training run of this session is listed here, with its settings, and their curves can be "
            "laid "
            "over each other. Try it: train with learning rate 0.01, then 0.1, then 1, and compare."
        )
        return
    snaps = {run.label: run.beat_and_read() for run in s.runs}
    table = [  # one row per run
        {
            "run": run.number,
            "learning rate": f"{run.settings['lr']:g}",
            "epochs": run.settings["epochs"],
            "batch size": str(run.settings["batch_size"]),
            "hidden": run.settings["hidden"],
            "optimiser": run.settings["optimizer"],
            "seed": run.settings["seed"],
            "augment": "yes" if run.settings["augment"] else "no",
            "status": snaps[run.label].status,
            "validation accuracy": val_accuracy_text(run.final_val_accuracy()),
            "time": f"{snaps[run.label].seconds:.1f} s",
        }
        for run in s.runs
    ]
    st.dataframe(table, hide_index=True, width="stretch")
    labels = list(snaps)
    chosen = st.multiselect(
        "Runs to compare",
        labels,
        default=labels[-3:],
        key="compare",
        help="Pick the runs whose curves to draw on one chart, e.g. three learning rates.",
    )
    metric = st.radio(
        "Curve",
        list(charts.COMPARE),
        horizontal=True,
        key="compare_metric",
        help="Validation numbers are measured on 5,000 digits the network never trains on; the training "
        "loss on each batch it trains on.",
    )
    curves = {label: snaps[label].history for label in chosen if label in snaps}
    if curves:
        st.vega_lite_chart(charts.compare(curves, metric), width="stretch")
    else:
        st.caption("Pick one or more runs above to see their curves.")
