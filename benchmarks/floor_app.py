r"""The floor of this stack: a canvas, a Clear button and one metric, nothing else.

The same drawing -> 28x28 -> network -> "Prediction" path as the app, with none of the
app's page around it. What `ui_latency.py` measures on this script is what Streamlit and
the canvas component cost on this machine today; what it measures on `app.py`, less
this, is ours (issue 17):

    DIGITNET_APP=benchmarks/floor_app.py python benchmarks/ui_latency.py \
        --epochs 0 --training-drawings 0 --stops 0
"""

import sys
from pathlib import Path

import streamlit as st
from streamlit_drawable_canvas import st_canvas

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from benchmarks/

from digitnet.explain import read
from digitnet.model_io import load
from digitnet.preprocess import from_canvas


@st.cache_resource
def network():
    return load()[0]


start = st.session_state.setdefault("start", {"objects": [], "edit": 0})
if st.button("Clear", key="clear"):
    start = st.session_state["start"] = {"objects": [], "edit": start["edit"] + 1}
result = st_canvas(
    stroke_width=22,
    stroke_color="#FFFFFF",
    background_color="#000000",
    width=280,
    height=280,
    drawing_mode="freedraw",
    initial_drawing=start,
    return_image_data=True,
    key="canvas",
)
drawn = result.json_data is not None and result.json_data.get("objects")
reading = read(network(), from_canvas(result.image_data if drawn else None))
if reading.proba is None:
    st.metric("Prediction", "—")
    st.write("Draw a digit from 0 to 9.")
else:
    st.metric("Prediction", str(int(reading.proba.argmax())))
