"""Teach it your handwriting: "This is a" and Teach under the answer, the My digits
gallery, and My digits in the sidebar (download, upload, train on them too)."""

from __future__ import annotations

import time

import streamlit as st

from digitnet import my_digits
from digitnet.data import N_VAL
from digitnet.my_digits import MyDigitsError
from digitnet.teach import teach

from . import evaluation, resources
from .learning import REPEAT, Lesson, dataset_or_say, learning, val_accuracy
from .pictures import gallery
from .state import Model, Session, session
from .text import code, plain

GALLERY = 120  # the most recent drawings shown
HELP = {
    "label": "The digit you drew. Teach shows the network your drawing labelled with it.",
    "teach": "Fine-tune the network in use on your drawing: a few steps of gradient descent on it, on "
    "slightly shifted and rotated copies, and on MNIST digits so it does not forget them. The drawing joins "
    "My digits. "
    "Only your session's copy of the network changes.",
    "include": f"Add My digits to the 55,000 MNIST training digits when you press Train or Step ({REPEAT} "
    "copies "
    "of each, so that a few drawings count).",
}


def teach_panel(s: Session) -> None:
    """Under the answer: the digit it really is, and Teach."""
    st.segmented_control("This is a", list(range(10)), key="teach_label", help=HELP["label"])
    if st.button(
        "Teach",
        key="teach",
        on_click=press,
        disabled=s.active_run is not None,
        help=HELP["teach"],
        width="content",
    ):
        st.rerun()  # the whole page, not only the live panel: the model's name, My digits, the views
    for notice in s.take_notices("teach"):
        getattr(st, notice.kind)(notice.text)
    lesson = learning().lesson
    if lesson is not None and lesson.version == s.model.version:
        st.success(lesson_line(lesson))


def lesson_line(lesson: Lesson) -> str:
    was, now = int(lesson.proba_before.argmax()), int(lesson.proba_after.argmax())
    return (
        f"Taught a {lesson.label}: this drawing {was} ({lesson.proba_before[was]:.0%}) → "
        f"{now} ({lesson.proba_after[now]:.0%}) · MNIST validation accuracy {lesson.val_before:.2%} → "
        f"{lesson.val_after:.2%} · {lesson.seconds:.2f} s"
    )


def press() -> None:
    s, L = session(), learning()
    pre, label = s.drawing, st.session_state.get("teach_label")
    if s.active_run is not None:
        s.notify("info", "A training is running: press Stop first, then teach.", where="teach")
        return
    if pre is None or not pre.has_ink:
        s.notify("info", "Draw a digit first, then say which digit it is and press Teach.", where="teach")
        return
    if label is None:
        s.notify("info", "Choose the digit you drew under “This is a”, then press Teach.", where="teach")
        return
    data = dataset_or_say(s, "teach")
    if data is None:
        return
    start = time.perf_counter()
    X, y, _, _ = data.split(N_VAL)
    val_before = val_accuracy(L, s.model, data, N_VAL)
    taught = teach(s.model.net, pre.image28, int(label), X, y, mine=L.mine, seed=len(L.mine))
    name = s.model.name if s.model.name.endswith(", taught") else f"{s.model.name}, taught"
    meta = {k: v for k, v in s.model.meta.items() if k not in ("test_accuracy", "val_accuracy")}
    model = Model(taught.net, {**meta, "taught": meta.get("taught", 0) + 1}, name)
    val_after = val_accuracy(L, model, data, N_VAL)
    try:
        L.mine.add(pre.image28, int(label))
    except MyDigitsError as e:
        s.notify("warning", plain(e), where="teach")
    s.model = model
    L.lesson = Lesson(
        int(label),
        taught.proba_before,
        taught.proba_after,
        val_before,
        val_after,
        taught.steps,
        time.perf_counter() - start,
        model.version,
    )


# -- the sidebar ------------------------------------------------------------------------


def sidebar(s: Session) -> None:
    L = learning()
    with st.sidebar:
        st.header("My digits")
        st.caption(
            f"{len(L.mine)} drawing{'s' * (len(L.mine) != 1)} you taught, kept for this session. "
            "Save them to a file to keep them."
        )
        st.toggle("Train on My digits too", value=False, key="train_mine", help=HELP["include"])
        st.download_button(
            "Download My digits (.npz)",
            data=lambda: my_digits.to_bytes(learning().mine),
            file_name="my-digits.npz",
            mime="application/octet-stream",
            key="download_mine",
            disabled=not len(L.mine),
            help="28 × 28 images (uint8, as the network sees them) and their labels, in one .npz file.",
            width="stretch",
        )
        st.file_uploader(
            "Add My digits from a file (.npz)",
            type=["npz"],
            key="upload_mine",
            on_change=_uploaded,
            help="A My digits file downloaded from DigitNet. It is checked before use; anything else is "
            "refused.",
        )
        for notice in s.take_notices("mine"):
            getattr(st, notice.kind)(notice.text)


def _uploaded() -> None:
    s, L = session(), learning()
    upload = st.session_state.get("upload_mine")
    if upload is None or upload.file_id in L.uploads:
        return
    name = code(upload.name)  # the file's name is the user's text: shown as it is, never as Markdown
    try:
        digits = my_digits.load(upload.getvalue())
    except MyDigitsError as e:
        s.notify("error", f"{name} was not added: {plain(e)} My digits stays as it was.", where="mine")
        return
    L.uploads.add(upload.file_id)
    added = L.mine.extend(digits)
    left_out = len(digits) - added
    s.notify(
        "success" if not left_out else "warning",
        f"Added {added} drawing{'s' * (added != 1)} from {name}"
        + (f"; {left_out} left out (My digits holds at most {my_digits.MAX_DIGITS})." if left_out else "."),
        where="mine",
    )


# -- the gallery ------------------------------------------------------------------------


def my_digits_tab(s: Session) -> None:
    L = learning()
    if not len(L.mine):
        st.info(
            "Your own drawings, with the digit each really is. Draw a digit, choose it under **This is a** "
            "(below the answer) and press **Teach**: it joins this set, and the network learns it. "
            "Or add a set saved earlier, in the sidebar."
        )
        return
    net = s.model.net
    read = L.mine.read_by(net)
    right = read == L.mine.labels
    data = resources.dataset()
    mnist = "" if isinstance(data, str) else f"{evaluation.evaluation_for(s, data).accuracy:.2%}"
    a, b = st.columns(2)
    a.metric(
        "My digits read right",
        f"{right.mean():.0%}",
        help=f"{right.sum()} of {len(right)} of your drawings, read by {s.model.name}.",
    )
    b.metric(
        "MNIST test accuracy",
        mnist or "—",
        help="The same network on the 10,000 MNIST test digits: the gap between the two is the gap "
        "between MNIST's handwriting and yours.",
    )
    shown = range(max(0, len(L.mine) - GALLERY), len(L.mine))
    gallery(
        [L.mine.images[i] for i in shown],
        [f"a {L.mine.labels[i]}, read {read[i]} {'✓' if right[i] else '✗'}" for i in shown],
        width=56,
    )
    if len(L.mine) > GALLERY:
        st.caption(f"The last {GALLERY} of {len(L.mine)}.")
