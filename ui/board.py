"""The teacher's page, "Class" (/class): every student's runs on one board, for the projector.

It reads digitnet.store, where each student's runs are written as they train and end
(ui/keep.py), so it shows everyone, across the server's processes, live. It never
reads anyone's weights: students see only what is on this board, and only the
teacher (who knows the code, if one is set) sees the board.
"""

from __future__ import annotations

import hmac
import math
import os
import time

import streamlit as st

from digitnet import store

from . import charts, priority
from .keep import IDLE
from .state import val_accuracy_text

BOARD = 0  # the boards' place among the pages in ui/priority.py (a board never answers)
REFRESH = 1.0  # s between redraws: a run writes its progress once a second (ui/keep.py), and a
# projector's browser redrawing two charts and the table more often only takes CPU from its computer
CODE_ENV = "DIGITNET_TEACHER_CODE"
COLOUR_BY = {"batch size": "batch", "optimiser": "optimiser"}
OLD = {3600: "an hour", 6 * 3600: "6 hours", 24 * 3600: "a day", 7 * 24 * 3600: "a week"}
TEACHER = "board_teacher"  # in st.session_state: this session gave the code
ROWS_SHOWN = 25  # runs in view at once in the table (a class's runs at a time); more scroll inside it
ROW_PX, HEADER_PX = 35, 38  # Streamlit's dataframe: a row's height, the header's and the borders'


def teacher_code() -> str | None:
    """The code the board asks for: `teacher_code` in .streamlit/secrets.toml, else
    $DIGITNET_TEACHER_CODE; None if neither is set (the board is then open)."""
    try:
        code = st.secrets.get("teacher_code")
    except Exception:  # no secrets file at all: not an error, the environment may have the code
        code = None
    code = code if code not in (None, "") else os.environ.get(CODE_ENV)
    return str(code) if code else None


CSS = "[data-testid='stMainBlockContainer'] {padding-top: 2.5rem}"  # as the student's page: less space on top


def page() -> None:
    with priority.foreground(BOARD):  # a click on the board: as soon as a student's run (ui/priority.py)
        _page()


def _page() -> None:
    st.html(f"<style>{CSS}</style>")
    st.title("The class")
    code = teacher_code()
    if code is None:
        st.caption(
            f"This board is open to anyone with the address. To ask for a code first, start the app with "
            f'`{CODE_ENV}=<code>` in the environment, or put `teacher_code = "<code>"` in '
            "`.streamlit/secrets.toml`."
        )
    elif not st.session_state.get(TEACHER):
        _ask_code(code)
        return
    controls = st.columns([2, 2, 3], vertical_alignment="bottom")
    controls[0].segmented_control("Colour by", list(COLOUR_BY), default="batch size", key="board_colour")
    controls[1].toggle(
        "Hide names", key="board_hide_names", help="For the projector: Student 1, 2, ... only."
    )
    with controls[2].popover("Clear…"):
        _clear_controls()
    st.fragment(_live_after_answers, run_every=REFRESH)()


def _ask_code(code: str) -> None:
    st.info(
        "This board shows the whole class's runs: it is for the teacher. Enter the teacher code to open it."
    )
    with st.form("teacher_code_form"):
        given = st.text_input("Teacher code", type="password", key="board_code")
        if st.form_submit_button("Open the board"):
            if hmac.compare_digest(given.encode(), code.encode()):
                st.session_state[TEACHER] = True
                st.rerun()
            st.error("That is not the teacher code.")


def _clear_controls() -> None:
    st.button(
        "Clear the board",
        key="clear_board",
        type="primary",
        on_click=_clear,
        help="Forget every run of every student (a new class starts). Students keep the model they use now.",
    )
    older = st.selectbox("Runs not touched for", list(OLD), format_func=OLD.get, key="clear_age")
    st.button("Clear old runs", key="clear_old", on_click=_clear_old, args=(older,))


def _clear() -> None:
    store.default().clear()
    st.toast("The board is empty.")


def _clear_old(seconds: int) -> None:
    n = store.default().clear_older_than(seconds)
    st.toast(f"{n} run{'s' * (n != 1)} older than {OLD[seconds]} forgotten.")


def _live_after_answers() -> None:
    with priority.background(BOARD):  # the students' answers first (ui/priority.py)
        _live()


def _live() -> None:
    runs = store.default().board()
    if not runs:
        st.info(
            "No runs yet. Students: open this app's first page, pick a learning rate in the sidebar and "
            "press **Train**: every run appears here while it trains."
        )
        return
    by = COLOUR_BY[st.session_state.get("board_colour") or "batch size"]
    hide = st.session_state.get("board_hide_names", False)
    table = rows(runs, hide)
    picked = st.session_state.get("board_table")
    selected = set()
    if picked is not None:
        selected = {table[i]["run"] for i in picked.selection.rows if i < len(table)}
    domain = sorted({r[by] for r in table}, key=_order)
    points = [{**r, "selected": r["run"] in selected} for r in table if r["accuracy"] is not None]
    curves = [
        {
            "run": r.id,
            "epoch": float(e),
            "accuracy": float(a),
            by: row[by],
            "name": row["name"],
            "selected": r.id in selected,
        }
        for r, row in zip(runs, table, strict=True)
        for e, a in zip(r.val.get("val_epoch", ()), r.val.get("val_accuracy", ()), strict=True)
        if math.isfinite(a)
    ]
    left, right = st.columns(2)
    left.vega_lite_chart(charts.live(charts.class_accuracy(points, by, domain)), width="stretch")
    right.vega_lite_chart(charts.live(charts.class_curves(curves, by, domain)), width="stretch")
    shown = [  # one row per run
        {
            "name": r["name"],
            "α": f"{r['alpha']:g}",
            "batch": r["batch"],
            "hidden": r["hidden"],
            "optimiser": r["optimiser"],
            "epochs": r["epochs"],
            "status": r["status"],
            "accuracy": val_accuracy_text(r["accuracy"]),
            "time": f"{r['seconds']:.0f} s",
        }
        for r in table
    ]
    st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        height=HEADER_PX + ROW_PX * min(len(shown), ROWS_SHOWN),  # not 10 rows, as Streamlit's "auto" is
        key="board_table",
        on_select="rerun",
        selection_mode="single-row",
    )
    n, students = len(runs), len({r.student for r in runs})
    st.caption(
        f"{n} run{'s' * (n != 1)} by {students} student{'s' * (students != 1)}. "
        "A hollow point is a run still training. Pick a row to draw its curve thick."
    )


def rows(runs: list[store.StoredRun], hide_names: bool) -> list[dict]:
    """The board's table, one dict a run, oldest first."""
    now = time.time()
    out = []
    for r in runs:
        s = r.settings
        status = r.status
        if status in store.ACTIVE and now - r.updated > IDLE:
            status = "interrupted"  # its server stopped before the run ended
        out.append(
            {
                "run": r.id,
                "name": f"Student {r.student}" if hide_names else r.label,
                "alpha": float(s.get("lr", math.nan)),
                "batch": str(s.get("batch_size", "?")),
                "hidden": str(s.get("hidden", "?")),
                "optimiser": str(s.get("optimizer", "?")),
                "epochs": s.get("epochs"),
                "status": status,
                "finished": status not in (*store.ACTIVE, "interrupted"),
                "accuracy": r.accuracy,
                "seconds": r.seconds,
            }
        )
    return out


def _order(value: str) -> tuple:
    """Batch sizes in numeric order ("all" last), optimisers by name."""
    return (0, int(value), "") if value.isdigit() else (1, 0, value)
