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
    priority,
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
DRAW, LIVE, VIEWS_KEY = "draw", "live", "views"  # the page's fragments (_fragment)
_due = itertools.count(1)  # numbers the view's redraws asked for after a stroke
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


def live(s: state.Session) -> None:
    """Redrawn several times a second while a run trains: the run's progress and curves."""
    if state.settle(s) or _timers_stale(s):
        st.rerun()  # a run ended or started training: redraw the whole page (model, buttons, run list, pace)
    step.summary(s)
    training.training_panel(s)


def drawing(s: state.Session) -> None:
    """The canvas and the answer beside it, one fragment: a stroke reruns this alone, in one
    run. (Two fragments, the answer rerun from the canvas's callback, made a stroke two runs:
    Streamlit starts a run before its callbacks, so the callback's rerun ended one and began
    another; with a class on one server, each a thread to start and a page to announce it
    to; issue 17, benchmarks/RESULTS.md.) While a run trains it is redrawn twice a second,
    the answer read with the weights as they are now. Then, once the answer is painted and
    the view below is on the screen, that view if it shows an older drawing (or, after the
    page's first run, the sidebar and the view)."""
    if _timers_stale(s):
        st.rerun()
    canvas, answer = layout.drawing()
    with canvas:
        draw.input_panel(s, on_stroke=_stroke)
    with answer:
        draw.prediction_panel(s)
        priority.answer_ends(id(s))
        after.after_paint(s.views_due, then=_painted, wait=s.whole)


def _paces(s: state.Session) -> tuple:
    """The fragments' timers: the live run's pace, the drawing's (the weights' pace while a
    run trains), and the view's below."""
    return training.live_every(s), training.weights_every(s), _views_every(s)


def _timers_stale(s: state.Session) -> bool:
    """In a fragment's own run: do the page's timers no longer fit? A run started, began
    training or ended, or Look inside came into sight or left it, since the last whole run
    of the page that got to its end set them. Or that run never got there: under load, a
    click on Clear or a stroke just after Train stopped the Train's run before it set the
    live run's timer, and the page never showed the run's end. Each fragment then asks for
    the whole page, with its timers (issue 17)."""
    return not s.in_whole_run and _paces(s) != s.paces


def _painted(report: after.Report) -> None:
    """The answer is painted (and the view below is on the screen), or the view came into sight
    or left it, or is on the screen and still waiting for a run that never came."""
    s = state.session()
    seen, s.views_in_view = s.views_in_view, report.in_view
    if not s.whole:
        s.whole = True
        st.rerun()  # the page's second run: all of it
    if report.due is None and seen == report.in_view and not report.redraw:
        return
    if priority.answering(id(s)):
        # A stroke or a Clear came with this report: under load Streamlit merges messages that
        # come close together into one run, whose callbacks run in turn, the canvas's and
        # Clear's before this one. A rerun of the view alone (keyed) would replace the run
        # they asked for, the drawing's, and its answer was lost (issue 17: 1-2 drawings in
        # 200 waited 90 s in the class-of-40 load test; asking for both fragments lost the
        # Chromium tab its canvas). So the drawing's run goes on, and the view is asked for
        # again, once that answer is painted.
        s.views_due = next(_due)
        return
    _rerun(VIEWS_KEY)  # the new drawing; the view came into sight (drawn), left it (emptied), or was lost


def views(s: state.Session) -> None:
    """The tabs below the lesson; only the open one is drawn, and only while it is on the
    screen, not on the page's first run (ui/after.py). Redrawn twice a second while Look
    inside is open and on the screen and a run trains.

    Out of sight the open tab is a line. Every run of the page, a stroke's too, makes the
    browser render the whole page again, and Look inside's equations were the largest part
    of it (~10 ms of each stroke below the lesson, out of sight; issue 17,
    benchmarks/RESULTS.md). Scrolled to, the tab is drawn in a run of its own."""
    if _timers_stale(s):
        st.rerun()  # e.g. Look inside opened or left while a run trains: the page sets the tabs' pace
    if s.whole:
        s.views_due = None
    tabs = st.tabs(VIEWS, key="view", on_change="rerun", bind="query-params")
    for tab, show in zip(tabs, VIEW_PAGES, strict=True):
        if tab.open and s.whole:
            with tab:
                if s.views_in_view:
                    show(s)
                else:  # the page asks again if it stays on the screen (ui/after.py)
                    with st.container(key=after.WAITING_KEY):
                        st.caption("Drawn when you scroll here.")


def _views_every(s: state.Session) -> float | None:
    """The views' pace: Look inside's while it is on the screen."""
    return _inside_pace(s) if s.views_in_view else None


def _inside_pace(s: state.Session) -> float | None:
    """Look inside's pace: while a run trains, twice a second, if it is the chosen view."""
    return training.weights_every(s) if _open_view() == VIEWS[0] else None


def _open_view() -> str:
    return st.session_state.get("view") or VIEWS[0]


def _fragment(
    body, key: str, s: state.Session, *args, run_every: float | None = None, box: str | None = None, **kwargs
) -> None:
    """`body` as a fragment, alone in a container of the page's own, never inside another fragment.

    Under load the server starts a fragment's run before it has sent what the runs before it
    drew; it then drops those runs' unsent messages from this fragment (ForwardMsgQueue.clear),
    but not from a fragment inside it, whose messages go into this one's box. A whole run's end
    then removes every box that run did not send, and the inner fragment's elements are sent to
    a box the page no longer has: the browser stops at "Cannot set a node at a delta path" (or
    "'setIn' cannot be called on an ElementNode" when a sibling moved into the box's place).
    Alone in a container the page draws in every whole run, a fragment's box is that
    container's first child, and its next run finds the place whatever was dropped before it
    (benchmarks/RESULTS.md, issue 17)."""

    def in_turn(*args, **kwargs) -> None:
        with priority.turn(id(s), urgent=_waited_for(s, key)):  # with a class, whose turn (ui/priority.py)
            body(*args, **kwargs)

    with st.container(key=box):
        st.fragment(in_turn, key=key, run_every=run_every)(s, *args, **kwargs)


def _waited_for(s: state.Session, key: str) -> bool:
    """Is a person waiting for this fragment's run: the drawing's, after a stroke or a click;
    not its timed redraws while a run trains (unless a stroke came), the live run's, nor the
    view's below."""
    return key == DRAW and (priority.answering(id(s)) or training.weights_every(s) is None)


def _stroke() -> None:
    """A new drawing (its callback; the drawing's fragment reruns, not the sidebar, the
    header nor Teach): its answer comes first; the chosen view follows once the answer is
    painted, if it shows the drawing."""
    s = state.session()
    priority.answer_begins(id(s))
    if _open_view() in DRAWING_VIEWS:
        s.views_due = next(_due)


def _rerun(keys: str | list[str]) -> None:
    """From a callback: rerun these fragments only; or the whole page while its fragments are
    being made anew (a whole run under way when the message came: under load, with a class)."""
    try:
        st.rerun(keys)
    except StreamlitAPIException:  # "No fragment found for target ..."
        st.rerun()


def page() -> None:
    resources.process_setup()
    s = state.session()
    with priority.foreground(id(s)):  # with a class, the runs a person waits for first (ui/priority.py)
        s.in_whole_run = True
        try:
            _page(s)
        finally:  # also when a newer run stops this one midway (st.rerun, a click)
            s.in_whole_run = False


def _page(s: state.Session) -> None:
    st.html(f"<style>{CSS}</style>")
    # Page ready (issue 17): the page's first run sends the header, the canvas and the answer;
    # the sidebar's controls, the charts (empty frames of their size until then), Teach, the
    # pen and the upload, and the chosen view follow in a second run, which the browser asks for
    # once it has painted the first (ui/after.py), or any later run draws. The browser loads
    # each kind of element's code when it first meets one, and shows the first run once it has
    # it all: the charts' library alone (0.8 MB) held the prompt back ~0.15-0.3 s.
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
    # Three fragments, so that a stroke redraws the drawing and its answer alone (issue 17:
    # it shows sooner): the canvas with its answer, the live run, and the views below.
    pair, running, teaching, tools = layout.lesson()
    paces = _paces(s)
    with pair:
        _fragment(drawing, DRAW, s, run_every=paces[1])
    if s.whole:
        with tools:
            draw.tools_panel(s, on_pen=lambda: _rerun(DRAW))
        with teaching:  # under the answer on a phone, under the canvas beside it when wide
            teach.teach_panel(s)
    with running:
        _fragment(live, LIVE, s, run_every=paces[0])
    if data_slot is not None:
        training.dataset_status(data_slot)
    _fragment(views, VIEWS_KEY, s, run_every=paces[2], box=after.VIEW_KEY)
    s.first_run_done = True
    s.paces = paces  # this run got to its end: its timers go to the browser
    identity.remember()  # last: its hidden element leaves no gap above the page
