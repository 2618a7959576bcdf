"""The input (a canvas to draw on, or an uploaded picture) and the prediction panel."""

from __future__ import annotations

import numpy as np
import streamlit as st

from digitnet.explain import Reading, read
from digitnet.preprocess import Preprocessed, PreprocessError, from_bytes, from_canvas

from . import charts, layout
from .pictures import picture
from .state import Session, session
from .text import plain

CANVAS = 280  # px, ten times MNIST's 28
PEN = 22  # default pen width: about MNIST's stroke at this size
PROMPT = (
    "Draw a digit from 0 to 9 on the black square: big and in the middle. The network's answer appears here."
)
IMAGE_TYPES = ["png", "jpg", "jpeg", "gif", "bmp", "webp", "tif", "tiff"]


def input_panel(s: Session) -> None:
    """Canvas, pen width, Clear, and the upload; leaves what the network should read in s.drawing."""
    rgba = _canvas(s)
    upload = st.file_uploader(
        "Or upload a picture of a digit",
        type=IMAGE_TYPES,
        key="upload_image",
        on_change=_upload_changed,
        help="A photo or scan of one handwritten digit, dark on light paper or light on dark. "
        "It is cropped, scaled and centred the same way as a drawing.",
    )
    s.drawing = _drawing(s, rgba, upload)


def _canvas(s: Session) -> np.ndarray | None:
    pen = st.session_state.get("pen_width", PEN)
    try:
        # Imported here: in 0.13 the import registers the component with the
        # running Streamlit server, and raises outside one (e.g. a plain import).
        from streamlit_drawable_canvas import st_canvas

        result = st_canvas(
            stroke_width=pen,
            stroke_color="#FFFFFF",
            background_color="#000000",
            width=CANVAS,
            height=CANVAS,
            drawing_mode="freedraw",
            initial_drawing={"objects": [], "clears": s.clears},  # a new value empties the canvas
            return_image_data=True,
            key="canvas",
            on_change=_canvas_changed,
        )
        rgba = None if s.cleared else result.image_data
    except Exception as e:  # the component could not be loaded: uploading still works
        st.warning(
            f"The drawing canvas could not be loaded ({e}). You can still upload a picture of a digit."
        )
        rgba = None
    pen_col, clear_col = st.columns([3, 1], vertical_alignment="bottom")
    pen_col.slider(
        "Pen width",
        min_value=8,
        max_value=40,
        value=PEN,
        key="pen_width",
        help="How thick your strokes are, in canvas pixels. MNIST's digits were written with a pen about a "
        "tenth as wide as the digit is tall.",
    )
    clear_col.button(
        "Clear", key="clear", on_click=_clear, help="Wipe the canvas and start a new digit.", width="stretch"
    )
    return rgba


def _canvas_changed() -> None:
    s = session()
    s.source, s.cleared = "canvas", False


def _clear() -> None:
    s = session()
    s.clears += 1
    s.cleared, s.source = True, "canvas"


def _upload_changed() -> None:
    s = session()
    s.source = "upload" if st.session_state.get("upload_image") is not None else "canvas"


def _drawing(s: Session, rgba: np.ndarray | None, upload) -> Preprocessed:
    if s.source == "upload" and upload is not None:
        if s.upload_cache is None or s.upload_cache[0] != upload.file_id:
            try:
                s.upload_cache = (upload.file_id, from_bytes(upload.getvalue()))
            except PreprocessError as e:
                s.upload_cache = (upload.file_id, str(e))
        pre = s.upload_cache[1]
        if isinstance(pre, str):
            st.error(plain(pre))
        else:
            st.caption(
                "The network is reading your uploaded picture; draw on the canvas to go back to drawing."
            )
            return pre
    return from_canvas(rgba)


def prediction_panel(s: Session) -> Reading:
    """The answer, how sure, what the network sees, and the 10 probabilities:
    read with the live weights while a training runs."""
    net, name = s.live_net()
    reading = read(net, s.drawing or from_canvas(None))
    answer, bars = layout.row(
        200, "probabilities", gap="medium"
    )  # the bars go below the answer when the panel is narrow
    with answer:
        st.metric(
            "Prediction",
            "—" if reading.digit is None else str(reading.digit),
            help="The digit with the highest probability in the network's output A2 (softmax).",
        )
        if not reading.has_ink:
            st.info(
                PROMPT if reading.pre.reason is None or "empty" in reading.pre.reason else reading.pre.reason
            )
        elif reading.unsure:
            st.warning(reading.sentence())
        else:
            st.success(reading.sentence())
        seen = reading.pre.image28 if reading.pre.image28 is not None else np.zeros((28, 28), np.uint8)
        picture(seen, width=140, caption="What the network sees: 28 × 28 pixels")
    with bars:
        st.vega_lite_chart(charts.probabilities(reading.proba), width="stretch")
        st.caption(f"Read by {name}.")
    return reading
