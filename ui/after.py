"""The answer first, the rest after, and only where it can be seen. A stroke redraws the answer
alone, and the view below it (Look inside shows the same drawing through the network's
equations) is redrawn once the browser has painted the answer, and once the view is on the
screen. Sent in the same run, the view's hundred-odd messages would be handled before the
answer is painted (the page handles a burst of messages in one go), and the class would wait
for the equations to see the digit. And on a laptop or a projector the lesson fills the
screen: the view is below it, where nobody reads it while drawing. Drawn only when scrolled
to, it costs the server nothing while it is out of sight, which with a class of 40 on one
server is two thirds of what a drawing costs, and the browser nothing in each stroke's
re-render of the page (issue 17).

A tiny component of our own (Streamlit's components v2: a few lines of JavaScript in the
page, no iframe) waits for the next paint, and if asked, for the view to be on the screen,
then reports back; its callback reruns the view. It also reports when the view comes into
sight or leaves it, so that it is drawn, and Look inside redrawn while a run trains, only
while it can be seen (ui/student.py). And it watches for a drawing whose answer never came,
which Streamlit can lose under load: it then asks for the answer again; and likewise for a
view on the screen that is still waiting to be drawn.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st

NAME = "digitnet.after_paint"
KEY = "after_paint"
VIEW_KEY = "views"  # the view below: ui/student.py draws it in a container of this key
WAITING_KEY = "views_waiting"  # ...and its line "Drawn when you scroll here." in one of this key
MARGIN = 48  # px of the view that must be on the screen for it to count as seen (not its edge)
LATE_MS = 3000  # ms: a drawing with no run of its own, or a view waiting on the screen, asks again (JS)
WATCHED = ".st-key-canvas, .st-key-clear, .st-key-undo"  # where a stroke or a click changes the drawing
# Two steps after the data arrives: requestAnimationFrame runs just before the next paint, and
# a task queued from there runs after it. The same request is never reported twice (the
# component is drawn again whenever its part of the page is). A request that must wait for
# the view is held until a scroll or a resize brings the view on the screen;
# a newer drawing's request replaces it, and none (null) means the view was redrawn meanwhile.
# The view is looked up at each check (Streamlit may replace its element); the page's block is
# watched for changes of size, which move the view without a scroll.
JS = f"""
let reported = null;
let pending = null;
let shown = null;
let report = null;
let queued = false;
let drawnRun = null;  // the last run of the drawing's part of the page that reached this page
let drawnAt = 0;
let nudges = 0;
let strokeAt = 0;  // the last stroke, Clear or Undo

// A drawing's answer that never comes: under load, Streamlit (1.67) can drop a finished run's
// messages when the next message reaches the server as that run ends (benchmarks/RESULTS.md,
// issue 17). A stroke, Clear or Undo that no run of the drawing follows within {LATE_MS} ms
// asks for one: this page's report with nothing in it, which reruns the drawing's part.
function watch() {{
  if (!report || drawnAt >= strokeAt) return;
  report({{ due: null, in_view: shown === null ? inView() : shown, nudge: ++nudges }});
}}

// The same loss when the view comes into sight: its run's messages lost, the line "Drawn when
// you scroll here." stays on the screen, and nothing asks again until the next scroll. A view
// still waiting on the screen {LATE_MS} ms after it came into sight asks to be drawn, again
// after twice as long, and so on (a server busy with a class is not asked every few seconds).
let viewTimer = null;
function watchView(wait) {{
  clearTimeout(viewTimer);
  viewTimer = setTimeout(() => {{
    if (!report || !inView() || !document.querySelector(".st-key-{WAITING_KEY}")) return;
    report({{ due: null, in_view: true, redraw: true, nudge: ++nudges }});
    watchView(2 * wait);
  }}, wait);
}}
function stroke(event) {{
  if (!event.target.closest || !event.target.closest("{WATCHED}")) return;
  strokeAt = performance.now();
  setTimeout(watch, {LATE_MS});
}}

function inView() {{
  const view = document.querySelector(".st-key-{VIEW_KEY}");
  if (!view) return true;
  const box = view.getBoundingClientRect();
  return box.top < window.innerHeight - {MARGIN} && box.bottom > {MARGIN};
}}

function check() {{
  queued = false;
  const now = inView();
  if (now === shown && !(now && pending !== null)) return;
  shown = now;
  const due = now ? pending : null;
  if (now) pending = null;
  report({{ due, in_view: now }});
  if (now) watchView({LATE_MS});
}}

function later() {{
  if (!queued && report) {{
    queued = true;
    requestAnimationFrame(check);
  }}
}}

// The page also moves the view without a scroll: its second run adds the sidebar and the
// view's content, and the lesson grows or shrinks while a run trains. Watch the page's size.
let observed = null;
let sizes = null;
function watchLayout() {{
  const main = document.querySelector('[data-testid="stMainBlockContainer"]');
  if (!main || main === observed || typeof ResizeObserver === "undefined") return;
  observed = main;
  if (!sizes) sizes = new ResizeObserver(later);
  sizes.disconnect();
  sizes.observe(main);
}}

export default function ({{ data, setTriggerValue }}) {{
  if (!report) {{
    document.addEventListener("pointerup", stroke, {{ capture: true, passive: true }});
    document.addEventListener("scroll", later, {{ capture: true, passive: true }});
    window.addEventListener("resize", later, {{ passive: true }});
  }}
  report = (value) => setTriggerValue("painted", value);
  watchLayout();
  if (data === null || data === undefined) return;
  if (data.run !== drawnRun) {{
    drawnRun = data.run;
    drawnAt = performance.now();
  }}
  if (data.due === null) {{
    pending = null;
    return;
  }}
  if (data.due === reported) return;
  reported = data.due;
  requestAnimationFrame(() =>
    setTimeout(() => {{
      shown = inView();
      if (!data.wait || shown) report({{ due: data.due, in_view: shown }});
      else pending = data.due;
      if (shown) watchView({LATE_MS});
    }}, 0),
  );
}}
"""
CSS = ".st-key-after_paint {display: none}"  # nothing to see, and no gap in the layout

_mount = None
_runs = itertools.count(1)  # numbers each run that draws this component (the drawing's)


@dataclass(frozen=True)
class Report:
    due: int | None  # the request now painted (and in view if it had to wait), or None
    in_view: bool  # whether the view below is on the screen
    redraw: bool = False  # the view is on the screen and still waiting: its run never came


def after_paint(due: int | None, then: Callable[[Report], None], wait: bool = True) -> None:
    """Call `then(report)` (a callback: it may st.rerun a fragment) once the browser has
    painted what was sent before this, if `due` is a number not reported before, and, if
    `wait`, once the view below is on the screen; and whenever the view comes into sight or
    leaves it (then with due None)."""
    global _mount
    if _mount is None:  # registered on first use: it needs the running server
        _mount = st.components.v2.component(NAME, js=JS, isolate_styles=False)

    def reported() -> None:
        value = (st.session_state.get(KEY) or {}).get("painted") or {}
        then(Report(value.get("due"), bool(value.get("in_view", True)), bool(value.get("redraw"))))

    _mount(key=KEY, data={"due": due, "wait": wait, "run": next(_runs)}, on_painted_change=reported)
