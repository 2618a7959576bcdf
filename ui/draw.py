"""The input (a canvas to draw on, or an uploaded picture) and the answer panel."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import streamlit as st

from digitnet.explain import Reading, read
from digitnet.preprocess import Preprocessed, PreprocessError, from_bytes, from_canvas
from digitnet.preprocess.upload import MAX_FILE_BYTES

from . import charts, layout
from .pictures import picture
from .state import Session, session
from .text import plain

CANVAS = 280  # px, ten times MNIST's 28
PEN = 22  # default pen width: about MNIST's stroke at this size
PROMPT = "Draw a digit from 0 to 9 on the black square, big and in the middle."
IMAGE_TYPES = ["png", "jpg", "jpeg", "gif", "bmp", "webp", "tif", "tiff"]

# streamlit-drawable-canvas 0.13 lays its own toolbar (undo, redo, reset and an edit
# toggle) 1 rem into the top of the drawing, invisible until hovered: on a touch screen
# it swallows strokes begun in that strip, and its edit toggle stops drawing. No option
# hides it while drawing stays on (only disabled=True does), and it lives in the
# component's shadow root, out of reach of the page's CSS, so this script puts one rule
# into that root. Undo and Clear are the app's own buttons below the canvas.
# (Upstream report: benchmarks/RESULTS.md, "streamlit-drawable-canvas".)
NO_TOOLBAR = """<script>
(() => {
  if (window.digitnetNoToolbar) return;
  window.digitnetNoToolbar = true;
  const rule = ".dc-toolbar{display:none !important}";
  const hide = (box) => {
    for (const host of box.querySelectorAll("*")) {
      const root = host.shadowRoot;
      if (root && !root.querySelector("style[data-digitnet]")) {
        const style = document.createElement("style");
        style.dataset.digitnet = "no-toolbar";
        style.textContent = rule;
        root.appendChild(style);
      }
    }
  };
  // Watch the canvas's own box, not the whole page: an observer of every change to the
  // page cost each stroke ~30 ms before its answer could be drawn (issue 17).
  // And look again every quarter second: on a first open the component can fill its shadow
  // root after the rule went in, which wipes the rule and is no change to the box itself.
  let watched = null, observer = null;
  const watch = () => {
    const box = document.querySelector(".st-key-canvas");
    if (!box) return;
    hide(box);
    if (box === watched) return;
    watched = box;
    if (observer) observer.disconnect();
    observer = new MutationObserver(() => hide(box));
    observer.observe(box, {childList: true, subtree: true});
  };
  watch();
  setInterval(watch, 250);  // a redraw of the page may give the canvas a new box
})();
</script>"""


def input_panel(s: Session, on_stroke: Callable[[], None] = lambda: None) -> None:
    """The canvas with Undo and Clear; leaves what the network should read in s.drawing:
    the drawing, or the picture uploaded in tools_panel while it is the one being read.
    `on_stroke()` is called back for each new drawing from the canvas (and for Clear)."""
    s.drawing = from_canvas(_canvas(s, on_stroke))
    upload = st.session_state.get("upload_image")
    if s.source == "upload" and upload is not None:
        s.drawing = _uploaded(s, upload)


def tools_panel(s: Session, on_pen: Callable[[], None] | None = None) -> None:
    """Pen width and the picture upload: below the canvas on a wide screen, below the
    answer on a phone (the answer belongs right under the drawing). `on_pen` runs when
    the pen width changes."""
    st.slider(
        "Pen width",
        min_value=8,
        max_value=40,
        value=PEN,
        key="pen_width",
        on_change=on_pen,
        help="How thick your strokes are, in canvas pixels. MNIST's digits were written with a pen "
        "about a tenth as wide as the digit is tall.",
    )
    upload = st.file_uploader(
        "Or upload a picture of a digit",
        type=IMAGE_TYPES,
        key="upload_image",
        max_upload_size=MAX_FILE_BYTES // 2**20,  # the browser refuses a larger one, before sending it
        on_change=_upload_changed,
        help="A photo or scan of one handwritten digit, dark on light paper or light on dark. "
        "It is cropped, scaled and centred the same way as a drawing.",
    )
    if s.source == "upload" and upload is not None and _uploaded(s, upload).has_ink:
        st.caption("The network is reading your uploaded picture; draw on the canvas to go back to drawing.")


def _canvas(s: Session, on_stroke: Callable[[], None]) -> np.ndarray | None:
    objects = s.canvas_start["objects"]
    try:
        # Imported here: in 0.13 the import registers the component with the
        # running Streamlit server, and raises outside one (e.g. a plain import).
        from streamlit_drawable_canvas import st_canvas

        result = st_canvas(
            stroke_width=st.session_state.get("pen_width", PEN),
            stroke_color="#FFFFFF",
            background_color="#000000",
            width=CANVAS,
            height=CANVAS,
            drawing_mode="freedraw",
            initial_drawing=s.canvas_start,  # a new value replaces the drawing (Clear, Undo)
            return_image_data=True,
            key="canvas",
            on_change=lambda: _canvas_changed(on_stroke),
        )
        # after Clear: empty at once; after Undo: the last picture until the canvas sends the new one
        rgba = None if s.cleared and not s.canvas_start["objects"] else result.image_data
        objects = _objects(s, {"drawing": {"raw": result.json_data}})
        with st.container(key="no_toolbar"):  # hidden (layout.CSS); the script still runs
            st.html(NO_TOOLBAR, unsafe_allow_javascript=True)
    except Exception as e:  # the component could not be loaded: uploading still works
        st.warning(
            f"The drawing canvas could not be loaded ({e}). You can still upload a picture of a digit."
        )
        rgba = None
    buttons = st.container(horizontal=True, gap="small")  # side by side on a phone too
    buttons.button(
        "Undo",
        key="undo",
        icon=":material/undo:",
        on_click=_undo,
        disabled=not objects,
        help="Take back the last stroke.",
        width="stretch",
    )
    buttons.button(
        "Clear",
        key="clear",
        icon=":material/delete:",
        on_click=_clear,
        args=(on_stroke,),
        help="Wipe the canvas and start a new digit.",
        width="stretch",
    )
    return rgba


def _restart_canvas(objects: list) -> None:
    """Load the canvas with `objects` (it sends the new drawing back by itself)."""
    s = session()
    s.canvas_start = {"objects": objects, "edit": s.canvas_start.get("edit", 0) + 1}
    s.source, s.cleared = "canvas", True


def _canvas_changed(on_stroke: Callable[[], None]) -> None:
    """A stroke (or the drawing Clear and Undo loaded): the canvas is what is read now.
    (The fragment the canvas is in reruns and reads it; a callback only says what changed.)"""
    s = session()
    was_upload = s.source == "upload"
    s.source, s.cleared = "canvas", False
    _redraw(on_stroke, was_upload)


def _redraw(on_stroke: Callable[[], None], was_upload: bool) -> None:
    """After a new drawing: on_stroke; and the whole page when an uploaded picture was being
    read, so that the upload's note beside the pen goes."""
    on_stroke()
    if was_upload:
        st.rerun()


def _clear(on_stroke: Callable[[], None]) -> None:
    """An empty canvas, and the prompt in the answer at once."""
    was_upload = session().source == "upload"
    _restart_canvas([])
    _redraw(on_stroke, was_upload)


def _undo() -> None:
    s = session()
    _restart_canvas(list(_objects(s, st.session_state.get("canvas"))[:-1]))


def _objects(s: Session, sent) -> list:
    """The strokes on the canvas as far as the app knows: after Clear or Undo, what it told the
    canvas to show until the canvas sends its drawing again; else what the canvas sent last
    (in a callback: with the click that called it, so two quick Undos take two strokes)."""
    if s.cleared:
        return s.canvas_start["objects"]
    return (((sent or {}).get("drawing") or {}).get("raw") or {}).get("objects", [])


def _upload_changed() -> None:
    s = session()
    s.source = "upload" if st.session_state.get("upload_image") is not None else "canvas"


def _uploaded(s: Session, upload) -> Preprocessed:
    """The uploaded picture, read once per file; a file that cannot be read becomes no
    ink with its sentence as the reason (the answer panel shows it as an error)."""
    if s.upload_cache is None or s.upload_cache[0] != upload.file_id:
        try:
            s.upload_cache = (upload.file_id, from_bytes(upload.getvalue()))
        except PreprocessError as e:
            s.upload_cache = (upload.file_id, Preprocessed(None, None, None, str(e)))
    return s.upload_cache[1]


def prediction_panel(s: Session) -> Reading:
    """The answer, how sure, what the network sees, and the 10 probabilities:
    read with the live weights while a training runs."""
    net, name = s.live_net()
    reading = read(net, s.drawing or from_canvas(None))
    answer, bars = layout.row("answer", "probabilities", gap="small")  # bars below the answer when narrow
    with answer:
        with st.container(horizontal=True, gap="small", vertical_alignment="center"):
            st.metric(
                "Prediction",
                "—" if reading.digit is None else str(reading.digit),
                help="The digit with the highest probability in the network's output A2 (softmax).",
                width="content",
            )
            seen = reading.pre.image28 if reading.pre.image28 is not None else np.zeros((28, 28), np.uint8)
            picture(seen, width=72, caption="What it sees")
        if reading.has_ink:
            (st.warning if reading.unsure else st.success)(reading.sentence())
        elif s.source == "upload" and reading.pre.reason:
            st.error(plain(reading.pre.reason))  # an upload that could not be read: where the answer goes
        else:
            st.info(
                PROMPT if reading.pre.reason is None or "empty" in reading.pre.reason else reading.pre.reason
            )
        st.caption(f"Read by {name}.", width="stretch")  # one line (CSS), so the row keeps its height
    with bars:
        if not s.whole:  # the page's first run: the chart comes with the second (ui/student.py)
            layout.frame(charts.BARS_HEIGHT)
            return reading
        bars_chart = charts.probabilities(reading.proba, height=charts.BARS_HEIGHT)
        st.vega_lite_chart(charts.live(charts.for_screen(bars_chart, layout.projector())), width="stretch")
    return reading
