"""The answer first, the rest after: a stroke redraws the answer alone, and the tab below it
(which shows the same drawing through the network's equations) is redrawn only once the
browser has painted the answer. Sent in the same run, the tab's hundred-odd messages would
be handled before the answer is painted (the page handles a burst of messages in one go),
and the class would wait for the equations to see the digit (issue 17).

A tiny component of our own (Streamlit's components v2: a few lines of JavaScript in the
page, no iframe) waits for the next paint, then reports back; its callback reruns the tab.
"""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

NAME = "digitnet.after_paint"
# Two steps after the data arrives: requestAnimationFrame runs just before the next paint,
# and a task queued from there runs after it. The same request is never reported twice
# (the component is drawn again, with the same data, whenever its part of the page is).
JS = """
let reported = null;
export default function ({ data, setTriggerValue }) {
  if (data === null || data === undefined || data === reported) return;
  reported = data;
  requestAnimationFrame(() => setTimeout(() => setTriggerValue("painted", data), 0));
}
"""
CSS = ".st-key-after_paint {display: none}"  # nothing to see, and no gap in the layout

_mount = None


def after_paint(due: int | None, then: Callable[[], None]) -> None:
    """Call `then` (a callback: it may st.rerun a fragment) once the browser has painted
    what was sent before this, if `due` is a number not reported before."""
    global _mount
    if _mount is None:  # registered on first use: it needs the running server
        _mount = st.components.v2.component(NAME, js=JS, isolate_styles=False)
    _mount(key="after_paint", data=due, on_painted_change=then)
