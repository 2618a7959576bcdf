"""The page's layout. Rows that wrap: parts side by side while there is room, one below
the other when there is not (a phone; a 1024 px projector with the sidebar open).
Streamlit's horizontal containers move a part that does not fit onto the next line; the
width below which a part moves is its minimum width, set here by its key (never more
than the screen's width). And the lesson's grid: the canvas, the answer and the live
training in one screen."""

from __future__ import annotations

import streamlit as st

MIN_WIDTH = {  # px, by container key (or key prefix)
    "answer": 170,  # the prediction, what the network sees, the sentence
    "probabilities": 190,  # the bars right of the answer down to a 1024 px projector with the sidebar open
    "loss_chart": 160,  # the two curves side by side down to a 1024 px projector with the sidebar open
    "accuracy_chart": 160,
    "equation_": 460,  # Look inside: an equation keeps the width it needs, its numbers beside or below
    "numbers_": 260,
    "confusion": 420,  # cells wide enough for four-digit counts
    "misread": 300,
}
LESSON = ("draw", "answer", "live", "teach", "tools")  # the lesson's parts, in the order a phone shows them
WIDE = 600  # px of page width from which the answer stands beside the canvas, not below it

_part = "[data-testid='stLayoutWrapper']:has(> .st-key-lesson_{0})"
_PAIR = ", ".join(  # the pair's container and every box between it and its two parts
    [
        "[data-testid='stLayoutWrapper']:has(> .st-key-lesson_pair)",
        ".st-key-lesson_pair",
        ".st-key-lesson_pair :is([data-testid='stLayoutWrapper'], [data-testid='stVerticalBlock'])"
        ":has(.st-key-lesson_draw):not(:has(> .st-key-lesson_draw))",
    ]
)
CSS = (
    "".join(
        f"[data-testid='stLayoutWrapper']:has(> [class*='st-key-{key}']) {{min-width: min({px}px, 100%)}}"
        for key, px in MIN_WIDTH.items()
    )
    # The lesson: on a phone the drawing, then the answer and the training, then Teach, then
    # the pen width and the upload (the order of the page); from WIDE px (of the page's width,
    # sidebar or not) the drawing, Teach and the tools on the left, the answer and the live
    # training beside them, all on one projector screen.
    + "[data-testid='stMainBlockContainer'] {container-type: inline-size; container-name: page}"
    + f"@container page (min-width: {WIDE}px) {{"
    + ".st-key-lesson {display: grid; grid-template-columns: 280px minmax(0, 1fr); gap: 0.5rem 1rem;"
    + " grid-template-areas: 'draw answer' 'draw live' 'teach live' 'tools live';"
    + " grid-template-rows: auto auto auto 1fr; align-items: start}"
    + "".join(f"{_part.format(a)} {{grid-area: {a}}}" for a in LESSON)
    + "}"
    # The drawing and its answer are one fragment (ui/student.py, drawing), in boxes of their
    # own: without those boxes the two are the lesson's parts, in its grid or its column.
    + f"{_PAIR} {{display: contents}}"
    + ".st-key-no_toolbar {display: none}"  # a script's container, nothing to see
    # notices in the answer and the run's slot: compact, so the lesson fits one screen
    + ":is(.st-key-run_status, .st-key-answer) [data-testid='stAlertContainer'] {padding: 0.5rem 0.75rem}"
    + ".st-key-run_status [data-testid='stAlertContainer'] p {font-size: 0.9rem}"
    + ":is(.st-key-run_header, .st-key-answer [data-testid='stCaptionContainer']) p"
    + " {white-space: nowrap; overflow: hidden; text-overflow: ellipsis}"  # one line
    # The answer's row keeps one height whatever the sentence: on a narrow column (a 1024 px
    # projector with the sidebar open, a tablet) three lines of it, on a wide one the bars'.
    + "@container page (min-width: 400px) and (max-width: 900px) {"  # side by side, narrow
    + "[data-testid='stLayoutWrapper']:has(> .st-key-answer) {min-height: 214px}}"
    + "@container page (max-width: 520px) {"  # a tablet or a phone: a smaller header
    + ".st-key-header h1 {font-size: 1.75rem} .st-key-header p {font-size: 0.8rem}}"
    # the header: the title, the sentence and the projector switch side by side while there is room
    + ".st-key-header h1 {padding: 0}"
    + ".st-key-header > :nth-child(2) {flex: 1 1 16rem; min-width: 0}"
    # the answer, larger than the title: it is what the class looks at
    + ".st-key-answer [data-testid='stMetricValue'] {font-size: 3.5rem; line-height: 1.1}"
)

# Projector mode: for the back of the room. Larger type everywhere (Streamlit sizes in rem),
# a huge answer, and black on white instead of the theme's greys and pastel notices.
PROJECTOR_CSS = (
    "html {font-size: 17px}"
    + ".st-key-header h1 {font-size: 2rem}"  # the room needs the answer more than the name
    + "[data-testid='stMain'], [data-testid='stSidebar'] {color: #000}"
    + "[data-testid='stCaptionContainer'], [data-testid='stWidgetLabel'] p, figcaption"
    + " {color: #000 !important; opacity: 1 !important}"
    + "[data-testid='stAlertContainer'] {color: #000; border: 2px solid currentColor}"
    + "[data-testid='stAlertContainer'] p {color: #000}"
    + ".st-key-answer [data-testid='stMetricValue'] {font-size: 5rem; font-weight: 700; color: #000}"
    + ".st-key-answer [data-testid='stMetricLabel'] p {font-size: 1.1rem; font-weight: 600}"
    + ".st-key-header [data-testid='stCaptionContainer'] {display: none}"  # the room has the teacher
    + ".st-key-answer [data-testid='stCaptionContainer'] {display: none}"  # "Read by": the run's line says
)


def header(title: str, sentence: str) -> bool:
    """The title, a sentence, and the projector switch (kept in the URL, so a teacher's link
    opens in projector mode); returns whether projector mode is on."""
    with st.container(key="header", horizontal=True, vertical_alignment="center", gap="medium"):
        st.title(title, width="content")
        st.caption(sentence)
        on = st.toggle(
            "Projector",
            key="projector",
            bind="query-params",
            help="For the back of a classroom: larger type, a huge answer, black on white.",
        )
    if on:
        st.html(f"<style>{PROJECTOR_CSS}</style>")
    return on


def projector() -> bool:
    """Whether projector mode is on (charts read it to letter themselves larger)."""
    return bool(st.session_state.get("projector", False))


def lesson() -> tuple:
    """The containers of the lesson, in the order a phone shows them: (pair, live, teach,
    tools); the pair is for drawing(), the canvas and the answer."""
    grid = st.container(key="lesson", gap="medium")
    return tuple(grid.container(key=f"lesson_{part}") for part in ("pair", *LESSON[2:]))


def drawing() -> tuple:
    """In the lesson's pair: the containers of the canvas and of the answer."""
    return tuple(st.container(key=f"lesson_{part}") for part in LESSON[:2])


def frame(height: int) -> None:
    """An empty box of a chart's height, where the chart comes later: nothing below moves."""
    st.container(height=height, border=False)


def row(*parts: str | int, gap: str = "large") -> list:
    """A container per part, side by side. A part is a key (it shares the row's width and
    goes below the others when the row is narrower than its MIN_WIDTH) or a fixed width
    in px (the canvas's column, say)."""
    unknown = [p for p in parts if isinstance(p, str) and not p.startswith(tuple(MIN_WIDTH))]
    if unknown:  # without a minimum width a part would squeeze instead of wrapping
        raise KeyError(f"No minimum width for {unknown}: add them to MIN_WIDTH.")
    container = st.container(horizontal=True, gap=gap)
    return [
        container.container(width=p) if isinstance(p, int) else container.container(width="stretch", key=p)
        for p in parts
    ]
