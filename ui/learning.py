"""What Step, Teach and My digits keep for one person, beside ui/state's Session:
the run being stepped by hand, the last step's and the last lesson's reports, the
student's own drawings, and the validation accuracy of each model version."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import streamlit as st

from digitnet.data import MNIST, to_unit
from digitnet.my_digits import MyDigits
from digitnet.step import Stepper, StepReport

from . import resources
from .state import Model, Run, Session
from .text import plain

REPEAT = 20  # copies of each of My digits in a training set: 30 drawings then weigh like 600 MNIST digits


@dataclass(frozen=True)
class Lesson:
    """How the last Teach went, for its one line."""

    label: int
    proba_before: np.ndarray  # (10,) the drawing before and after
    proba_after: np.ndarray
    val_before: float  # MNIST validation accuracy
    val_after: float
    steps: int
    seconds: float  # fine-tuning and both validation checks: what the student waited
    version: int  # the taught model's


@dataclass
class Learning:
    stepper: Stepper | None = None
    run: Run | None = None  # the run the stepper advances
    version: int | None = None  # the model version the stepper's network is
    report: StepReport | None = None  # the last press of Step
    origin: str = ""  # where the stepped run started: "from random weights", "from run 2"
    seconds: float = 0.0  # spent stepping it
    lesson: Lesson | None = None
    mine: MyDigits = field(default_factory=MyDigits)
    val_accuracy: dict[int, float] = field(default_factory=dict)  # by model version
    uploads: set = field(default_factory=set)  # file ids of My digits uploads already added


def learning() -> Learning:
    if "digitnet_learning" not in st.session_state:
        st.session_state["digitnet_learning"] = Learning()
    return st.session_state["digitnet_learning"]


def stepping(s: Session, L: Learning) -> bool:
    """Whether the model in use is the run being stepped (nothing else replaced it since)."""
    return L.stepper is not None and L.version == s.model.version


def validation(data: MNIST, n_val: int) -> tuple[np.ndarray, np.ndarray]:
    """The held-out validation digits as the notes' X (784 x n) and labels."""
    _, _, X_val, y_val = data.split(n_val)
    return to_unit(X_val).T, y_val


def val_accuracy(L: Learning, model: Model, data: MNIST, n_val: int) -> float:
    """The MNIST validation accuracy of a model version, computed once (the default model's
    once for every session: the first Teach of each student need not wait for it)."""
    if model.shared:
        return _default_val_accuracy(data, n_val)
    if model.version not in L.val_accuracy:
        if len(L.val_accuracy) > 8:  # only recent versions are asked for again
            L.val_accuracy.clear()
        X, y = validation(data, n_val)
        L.val_accuracy[model.version] = model.net.accuracy(X, y)
    return L.val_accuracy[model.version]


@st.cache_resource(show_spinner=False, max_entries=2)
def _default_val_accuracy(_data: MNIST, n_val: int) -> float:
    net, _, _ = resources.default_model()
    return net.accuracy(*validation(_data, n_val))


def dataset_or_say(s: Session, where: str) -> MNIST | None:
    data = resources.dataset()
    if isinstance(data, str):
        s.notify("error", plain(f"MNIST is not available: {data}"), where=where)
        return None
    return data


def training_set(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """MNIST's training digits, with My digits added if the sidebar says so."""
    mine = learning().mine
    if not st.session_state.get("train_mine") or not len(mine):
        return X, y
    return (
        np.concatenate([X, np.tile(mine.rows(), (REPEAT, 1))]),
        np.concatenate([y, np.tile(mine.labels, REPEAT)]),
    )
