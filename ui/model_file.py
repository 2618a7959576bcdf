"""Save the model in use (download) and load one (upload), in the sidebar."""

from __future__ import annotations

import re

import streamlit as st

from digitnet.model_io import ModelFileError, load, to_bytes

from . import resources
from .state import Model, Session, session
from .text import code, plain


def sidebar(s: Session) -> None:
    with st.sidebar:
        st.header("Model")
        m = s.model
        accuracy = m.meta.get("test_accuracy")  # None unless in [0, 1] (digitnet.model_io)
        known = f", {accuracy:.1%} on the test set" if isinstance(accuracy, (int, float)) else ""
        if m.meta.get("untrained"):
            known = ", random weights: it reads about 1 digit in 10 right until you train one"
        st.markdown(f"In use: **{m.name}** ({m.shape} network{known}).")
        if m.shared and (problem := resources.default_model()[2]):
            st.error(plain(problem))
        st.download_button(
            "Download this model (.npz)",
            data=lambda: to_bytes(m.net, m.meta),  # built only when clicked
            file_name=f"digitnet-{_slug(m.name)}-{m.shape}.npz",
            mime="application/octet-stream",
            key="download_model",
            help="Save the network in use (its weights and settings) to a file you can load again later or "
            "share.",
            width="stretch",
        )
        st.file_uploader(
            "Load a model (.npz)",
            type=["npz"],
            key="upload_model",
            on_change=_load_uploaded,
            help="A model file saved by DigitNet (this app or `python -m digitnet train --out`). "
            "It is checked before use; anything else is refused and your model stays as it is.",
        )
        for notice in s.take_notices("model"):
            getattr(st, notice.kind)(notice.text)


def _load_uploaded() -> None:
    s = session()
    upload = st.session_state.get("upload_model")
    if upload is None:
        return
    name = code(upload.name)  # the file's name is the user's text: shown as it is, never as Markdown
    try:
        net, meta = load(upload.getvalue())
    except ModelFileError as e:
        s.notify("error", f"{name} was not loaded: {plain(e)} You keep {s.model.name}.", where="model")
        return
    s.model = Model(net, meta, name)
    s.last_run_notice = None  # it said the last run's network reads the drawings: no longer true
    s.notify(
        "success",
        f"Loaded {name}, a {s.model.shape} network: your drawings are now read by it.",
        where="model",
    )


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "model"
