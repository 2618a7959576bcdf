"""DigitNet: draw a digit, watch a neural network read it, train your own live.

    streamlit run app.py

A thin page over digitnet/ (the network, training, preprocessing): the parts
of the page are in ui/, one concern per module.
"""

import streamlit as st

from ui import compare, draw, evaluation, inside, layout, model_file, resources, state, training

VIEWS = ["Look inside", "Compare runs", "Test set"]
CSS = (
    "[data-testid='stMainBlockContainer'] {padding-top: 2.5rem}"  # less empty space above the title, for a projector
    + layout.CSS  # rows that wrap: each part's minimum width
    # a phone: the notes' equations smaller, to fit its width; one still wider scrolls instead of being cut
    + "@media (max-width: 640px) {.katex-display {font-size: 0.75em; overflow-x: auto; overflow-y: hidden}}"
)


def live(s: state.Session, every: float | None) -> None:
    """Redrawn several times a second while a run trains: the prediction (with the
    weights as they are now) and the run's progress and curves."""
    if state.settle(s) or training.live_every(s) != every:
        st.rerun()  # a run ended or started training: redraw the whole page (model, buttons, run list, pace)
    draw.prediction_panel(s)
    training.training_panel(s)


def main() -> None:
    st.set_page_config(page_title="DigitNet", page_icon="✍️", layout="wide")
    st.html(f"<style>{CSS}</style>")
    resources.process_setup()
    s = state.session()
    state.settle(s)
    data_slot = training.sidebar(s)
    model_file.sidebar(s)

    st.title("DigitNet")
    st.markdown(
        "Draw a digit and watch a small neural network — the one in the notes, written in NumPy — read it. "
        "Then train your own in the sidebar and see it learn while you draw."
    )
    left, right = layout.row(
        300, "live_panel", gap="medium"
    )  # the canvas keeps its 280 px; the panel wraps below when narrow
    with left:
        draw.input_panel(s)
    with right:
        every = training.live_every(s)
        st.fragment(live, run_every=every, key="live")(s, every)
    training.dataset_status(data_slot)

    tabs = st.tabs(VIEWS, key="view", on_change="rerun", bind="query-params")
    for tab, show in zip(tabs, (inside.inside_tab, compare.compare_tab, evaluation.test_tab)):
        if tab.open:
            with tab:
                show(s)


main()
