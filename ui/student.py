"""The student's page, "Draw and train": draw a digit, watch the network read it, train your own live.

A thin page over digitnet/ (the network, training, preprocessing): its parts are
in the other modules of ui/, one concern per module.
"""

import itertools

import streamlit as st
from streamlit.errors import StreamlitAPIException

from . import (
    after,
    compare,
    draw,
    evaluation,
    identity,
    inside,
    keep,
    layout,
    links,
    model_file,
    resources,
    state,
    step,
    teach,
    training,
    why,
)

VIEWS = ["Look inside", "Compare runs", "Test set", "Step by step", "Why this answer", "My digits"]
VIEW_PAGES = (
    inside.inside_tab,
    compare.compare_tab,
    evaluation.test_tab,
    step.step_tab,
    why.why_tab,
    teach.my_digits_tab,
)
DRAWING_VIEWS = {"Look inside", "Step by step", "Why this answer"}  # what they show depends on the drawing
CANVAS, LIVE, ANSWER, VIEWS_KEY = "draw", "live", "reading", "views"  # the page's fragments
_due = itertools.count(1)  # numbers the tab's redraws asked for after a stroke
CSS = (
    # less empty space above the title and at the sides, for a projector
    "[data-testid='stMainBlockContainer'] {padding-top: 4rem}"  # just below the bar of pages
    + "@media (min-width: 640px) "
    "{[data-testid='stMainBlockContainer'] {padding-left: 1.5rem; padding-right: 1.5rem}}"
    + layout.CSS
    # a phone: the notes' equations smaller, to fit its width; one still wider scrolls instead of being cut
    + "@media (max-width: 640px) {.katex-display {font-size: 0.75em; overflow-x: auto; overflow-y: hidden}}"
    + identity.CSS
    + after.CSS
)


def live(s: state.Session, every: float | None) -> None:
    """Redrawn several times a second while a run trains: the prediction (with the
    weights as they are now) and the run's progress and curves."""
    if state.settle(s) or training.live_every(s) != every:
        st.rerun()  # a run ended or started training: redraw the whole page (model, buttons, run list, pace)
    st.fragment(reading, key=ANSWER)(s)  # a stroke redraws only this
    step.summary(s)
    training.training_panel(s)


def reading(s: state.Session) -> None:
    """The answer; then, once it is on the screen, the tab below if it shows an older drawing
    (or, after the page's first run, the sidebar and the tab)."""
    draw.prediction_panel(s)
    after.after_paint(s.views_due, then=_painted)


def _painted() -> None:
    s = state.session()
    if not s.whole:
        s.whole = True
        st.rerun()  # the page's second run: all of it
    _rerun(VIEWS_KEY)


def views(s: state.Session) -> None:
    """The tabs below the lesson; only the open one is drawn, and on the page's first run
    not even that (ui/after.py)."""
    if s.whole:
        s.views_due = None
    tabs = st.tabs(VIEWS, key="view", on_change="rerun", bind="query-params")
    for tab, show in zip(tabs, VIEW_PAGES, strict=True):
        if tab.open and s.whole:
            with tab:
                show(s)


def _stroke(undo_changed: bool) -> None:
    """A new drawing: the answer, and Undo if it must change; not the sidebar, the header,
    Teach, nor the canvas itself. The open tab follows once the answer is painted, if it
    shows the drawing."""
    s = state.session()
    if (st.session_state.get("view") or VIEWS[0]) in DRAWING_VIEWS:
        s.views_due = next(_due)
    _rerun([ANSWER] + [CANVAS] * undo_changed)


def _rerun(keys: str | list[str]) -> None:
    """From a callback: rerun these fragments only; or the whole page while its fragments are
    being made anew (a whole run under way when the message came: under load, with a class)."""
    try:
        st.rerun(keys)
    except StreamlitAPIException:  # "No fragment found for target ..."
        st.rerun()


def page() -> None:
    st.html(f"<style>{CSS}</style>")
    resources.process_setup()
    s = state.session()
    # Page ready (issue 17): the page's first run sends the header, the canvas and the answer;
    # the sidebar's controls and the open tab follow in a second run, which the browser asks
    # for once it has painted the first (ui/after.py), or any later run draws.
    if s.first_run_done:
        s.whole = True
    else:
        s.views_due = next(_due)
    links.check(s, VIEWS, keep_notes=not s.whole)  # before any widget reads the URL
    keep.restore(s)  # once per session: a reload brings this browser's runs back
    state.settle(s)
    keep.save_model(s)
    data_slot = training.sidebar(s, beside_train=step.buttons) if s.whole else None
    if s.whole:
        model_file.sidebar(s)
        teach.sidebar(s)

    layout.header(
        "DigitNet",
        "Draw a digit and watch a small neural network — the one in the notes, written in NumPy — read it. "
        "Then train your own in the sidebar and see it learn while you draw.",
    )
    # On a phone in this order; when wide, the answer and the live run beside the others.
    # Three fragments, so that a stroke redraws the answer alone (issue 17: it shows sooner):
    # the canvas, the answer with the live run, and the tabs below.
    drawing, answer, teaching, tools = layout.lesson()
    with drawing:
        st.fragment(draw.input_panel, key=CANVAS)(s, on_stroke=_stroke)
    with tools:
        draw.tools_panel(s, on_pen=lambda: _rerun(CANVAS))
    with teaching:  # under the answer on a phone, under the canvas beside it when wide
        teach.teach_panel(s)
    with answer:
        every = training.live_every(s)
        st.fragment(live, run_every=every, key=LIVE)(s, every)
    if data_slot is not None:
        training.dataset_status(data_slot)
    st.fragment(views, key=VIEWS_KEY)(s)
    s.first_run_done = True
    identity.remember()  # last: its hidden element leaves no gap above the page
