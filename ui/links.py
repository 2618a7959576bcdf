"""Settings brought by a shared link (the URL's query parameters), checked before any
widget reads them.

The sidebar's settings and the page's view are kept in the URL, so a link carries them.
Streamlit seeds a bound widget from the URL as the page opens, and a number a widget cannot
hold (`?epochs=inf`, `?seed=1e400`) raised OverflowError there, before anything was drawn.
So at the start of every run of the page each parameter is parsed and bounded here. A bad
one is taken out of the URL (its widget then starts from its default), the page says so in
a line, and the page runs once more: Streamlit seeds widgets from the URL the page was
opened with, and a rerun takes the corrected one.

The two number inputs (NUMBERS) are not bound by Streamlit at all but kept in the URL here:
the Back button brings an old URL back, and Streamlit seeds bound widgets from it again,
where the check above can no longer take a value out (a bound parameter cannot be removed)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import streamlit as st
from streamlit.errors import StreamlitAPIException

from digitnet.settings import parse_hidden

from . import training
from .state import Session
from .text import code

WHERE = "link"  # the notices' place: above the page's title
NUMBERS = ("epochs", "seed")


def check(s: Session, views: Sequence[str], keep_notes: bool = False) -> None:
    """First thing in the page, before any widget: every bound parameter of the URL
    is one its widget can show, or it is removed, with a note (shown once; again in the
    next run if `keep_notes`)."""
    removed = False
    for key, (accepts, what) in _fields(views).items():
        values = st.query_params.get_all(key)
        if not values or (len(values) == 1 and accepts(values[0])):
            continue
        try:
            del st.query_params[key]
        except StreamlitAPIException:  # already bound to its widget: that widget checked it
            continue
        removed = True
        shown = code(values[0] if len(values) == 1 else ", ".join(values), limit=30)
        default = training.DEFAULTS.get(key, views[0])
        s.notify(
            "warning",
            f"The link's {key} {shown} is not {what}, so the default, {code(_shown(key, default))}, is used.",
            where=WHERE,
        )
    if removed:
        st.rerun()
    for key in NUMBERS:  # the number inputs' values into the URL, as Streamlit does for the bound ones
        if key in st.session_state:
            value = st.session_state[key]
            if value == training.DEFAULTS[key]:
                st.query_params.pop(key, None)
            elif st.query_params.get(key) != str(value):
                st.query_params[key] = str(value)
    for notice in [n for n in s.notices if n.where == WHERE] if keep_notes else s.take_notices(WHERE):
        getattr(st, notice.kind)(notice.text)


def start_value(key: str) -> int:
    """A number input's value as it is made: the session's, else the link's (checked by
    check()), else the default."""
    if key in st.session_state:
        return st.session_state[key]
    value = st.query_params.get(key)
    accepts, _ = _fields(())[key]
    return (
        int(value.strip().split(".")[0]) if value is not None and accepts(value) else training.DEFAULTS[key]
    )


def _fields(views: Sequence[str]) -> dict[str, tuple[Callable[[str], bool], str]]:
    """Each bound widget's key: what its value in the URL may be, and that in words."""
    return {
        "lr": (_one_of(f"{v:g}" for v in training.LEARNING_RATES), "one of the slider's learning rates"),
        "epochs": (
            _whole(1, training.MAX_EPOCHS),
            f"a whole number of epochs from 1 to {training.MAX_EPOCHS}",
        ),
        "batch_size": (_one_of(map(str, training.BATCH_SIZES)), "one of the slider's batch sizes"),
        "hidden": (_hidden, "a list of hidden layer sizes such as 256,128"),
        "optimizer": (_one_of(training.OPTIMIZERS.values()), "one of the optimisers"),
        "seed": (_whole(0, training.MAX_SEED), f"a whole number from 0 to {training.MAX_SEED:,}"),
        "augment": (lambda v: v.lower() in ("true", "false"), "true or false"),
        "view": (_one_of(views), "one of the page's views"),
    }


def _one_of(options) -> Callable[[str], bool]:
    allowed = frozenset(options)
    return lambda value: value in allowed


def _whole(low: int, high: int) -> Callable[[str], bool]:
    # digits only (an optional ".0"), checked before int(): "inf", "1e400", "nan" are numbers of nothing
    return lambda value: (
        re.fullmatch(r"\d{1,9}(\.0*)?", value.strip()) is not None
        and (low <= int(value.strip().split(".")[0]) <= high)
    )


def _hidden(value: str) -> bool:
    try:
        parse_hidden(value)
    except ValueError:
        return False
    return len(value) <= 100


def _shown(key: str, value) -> str:
    if key == "optimizer":
        return training.OPTIMIZERS[value]
    return (
        f"{value:g}"
        if isinstance(value, float)
        else str(value).lower()
        if isinstance(value, bool)
        else str(value)
    )
