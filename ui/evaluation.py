"""The model in use on the 10,000 test digits it never trained on."""

from __future__ import annotations

import streamlit as st

from digitnet.explain import Evaluation, evaluate

from . import charts, layout, resources
from .pictures import gallery
from .state import Session
from .text import plain

GALLERY = 40  # misread digits shown


def evaluation_for(s: Session, data) -> Evaluation:
    """Computed once per model: shared for the default model, per session otherwise."""
    if s.model.shared:
        return resources.default_evaluation(data)
    if s.model.version not in s.evaluations:
        with st.spinner("Reading the 10,000 test digits…"):
            s.evaluations = {s.model.version: evaluate(s.model.net, data.test_images, data.test_labels)}
    return s.evaluations[s.model.version]


def test_tab(s: Session) -> None:
    data = resources.dataset()
    if isinstance(data, str):
        st.error(plain(f"The test set cannot be loaded: {data}"))
        return
    ev = evaluation_for(s, data)
    n = len(ev.predicted)
    st.markdown(
        f"**{s.model.name[:1].upper() + s.model.name[1:]}** ({s.model.shape}) on the {n:,} MNIST test "
        "digits, which no training ever sees."
    )
    a, b, c = st.columns(3)
    a.metric(
        "Test accuracy",
        f"{ev.accuracy:.2%}",
        help="The share of the 10,000 test digits the network reads right.",
    )
    b.metric(
        f"Misread, of {n:,}", f"{len(ev.wrong):,}"
    )  # a short value: "88 of 10,000" was cut off in a narrow column
    worst = int(ev.per_digit().argmin())
    c.metric(
        "Hardest digit",
        str(worst),
        help="The digit it gets wrong most often.",
        delta=f"{ev.per_digit()[worst]:.1%} read right",
        delta_color="off",
        delta_arrow="off",
    )
    matrix, misread = layout.row("confusion", "misread")  # the misread digits go below the matrix when narrow
    with matrix:
        st.markdown(
            "**Confusion matrix**: each row is a true digit, each column the network's answer; the diagonal "
            "is right."
        )
        st.vega_lite_chart(charts.confusion(ev.confusion), width="stretch")
    with misread:
        shown = ev.wrong[:GALLERY]
        st.markdown(
            f"**The {len(shown)} misread digits it was surest about**: true digit → the network's answer."
        )
        if len(shown):
            images = [(data.test_images[i].reshape(28, 28) * 255).astype("uint8") for i in shown]
            captions = [f"{data.test_labels[i]} → {ev.predicted[i]} ({ev.confidence[i]:.0%})" for i in shown]
            gallery(images, captions, width=84)
        else:
            st.success("No test digit is misread.")
