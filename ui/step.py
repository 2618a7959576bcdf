"""Step and Step x10 beside Train: the notes' "repeat until convergence", by hand, and
what the last press did to the drawing on the canvas."""

from __future__ import annotations

import copy
import math
import time

import numpy as np
import streamlit as st

from digitnet.data import N_VAL
from digitnet.explain import tile_grid
from digitnet.jobs.job import Snapshot
from digitnet.network import N_CLASSES, N_INPUT, Network, cross_entropy
from digitnet.step import Stepper, StepReport, take_steps

from . import training
from .learning import Learning, dataset_or_say, learning, stepping, training_set, validation
from .pictures import picture
from .state import Model, Notice, Run, Session, session
from .text import plain

MAX_TILES = 50  # hidden units whose update is drawn (the ones that moved most)
HELP = {
    "step": "One step of the notes' gradient descent on one batch, with the settings above (batch size, α, "
    "optimiser), then stop. It continues the network in use; the default model is never changed: from it, "
    "a new run starts from random weights.",
    "step10": "Ten steps at once, the same way.",
}


def buttons(s: Session, busy: bool) -> None:
    """In the sidebar, under Train and Stop."""
    one, ten = st.columns(2)
    one.button(
        "Step", key="step", on_click=press, args=(1,), disabled=busy, help=HELP["step"], width="stretch"
    )
    ten.button(
        "Step ×10",
        key="step10",
        on_click=press,
        args=(10,),
        disabled=busy,
        help=HELP["step10"],
        width="stretch",
    )
    for notice in s.take_notices("step"):
        getattr(st, notice.kind)(notice.text)


def press(n: int) -> None:
    s, L = session(), learning()
    if s.active_run is not None:
        s.notify("info", "A training is running: press Stop first, then step by hand.", where="step")
        return
    data = dataset_or_say(s, "step")
    if data is None:
        return
    X, y, _, _ = data.split(N_VAL)
    X, y = training_set(X, y)
    chosen = training.settings()
    try:
        config = training.config_from(chosen, len(y))
    except ValueError as e:
        s.notify("error", plain(str(e)), where="step")
        return
    start = time.perf_counter()
    if stepping(s, L):
        L.stepper.configure(config.lr, config.batch_size, config.optimizer)
    else:
        _new_run(s, L, chosen, config)
    pre = s.drawing
    label = st.session_state.get("teach_label")
    L.report = take_steps(L.stepper, X, y, n, None if pre is None else pre.x, label)
    X_val, y_val = validation(data, N_VAL)
    P_val = L.stepper.net.predict_proba(X_val)
    history = L.stepper.history  # the validation check after each press, beside the steps' losses
    history.val_step.append(L.stepper.steps)
    history.val_epoch.append(L.stepper.steps / L.stepper.steps_per_epoch)
    history.val_loss.append(cross_entropy(P_val, y_val))
    history.val_accuracy.append(float((P_val.argmax(axis=0) == y_val).mean()))
    L.seconds += time.perf_counter() - start
    _show_run(s, L, config)


def _new_run(s: Session, L: Learning, chosen: dict, config) -> None:
    """From the default model: a new network from random weights (the shared model is
    never changed). From this session's own model: that network, stepped further."""
    if s.model.shared:
        net, origin = Network.init((N_INPUT, *config.hidden, N_CLASSES), config.seed), "from random weights"
    else:
        net, origin = s.model.net.copy(), f"from {s.model.name}"
    L.stepper = Stepper(net, config.lr, config.batch_size, config.optimizer, config.seed)
    L.run = Run(len(s.runs) + 1, {**chosen, "hidden": ",".join(map(str, net.sizes[1:-1]))}, None)
    L.origin, L.seconds = origin, 0.0
    s.runs.append(L.run)
    if isinstance(st.session_state.get("compare"), list):  # shown in the comparison, as a trained run is
        st.session_state["compare"] = [*st.session_state["compare"], L.run.label]


def _show_run(s: Session, L: Learning, config) -> None:
    """The stepped network becomes the model in use (a new version: the test set is read
    again) and its run shows its counter and curves like a trained one."""
    stepper, run = L.stepper, L.run
    epochs = stepper.steps / stepper.steps_per_epoch
    run.settings["epochs"] = max(1, math.ceil(epochs))
    val_acc = stepper.history.val_accuracy[-1]
    message = (
        f"{stepper.steps} step{'s' * (stepper.steps != 1)} by hand ({epochs:.2f} epochs) {L.origin}; "
        f"validation accuracy {val_acc:.1%}."
    )
    run.snapshot = Snapshot(
        "stepped",
        message,
        None,
        None,
        copy.deepcopy(stepper.history),  # a snapshot does not change afterwards
        L.seconds,
    )
    meta = {
        "config": {**config.to_dict(), "hidden": list(stepper.net.sizes[1:-1])},
        "status": "stepped",
        "steps": stepper.steps,
        "val_accuracy": val_acc,
        "created_by": "DigitNet app",
    }
    s.model = Model(stepper.net, meta, f"run {run.number}")
    L.version = s.model.version
    L.val_accuracy[s.model.version] = val_acc
    s.last_run_notice = Notice("info", f"Run {run.number}: {message} Press Step again to go on.")


# -- what the last press did ----------------------------------------------------------


def _counter(report: StepReport) -> str:
    this = "this press: 1 step" if report.n == 1 else f"this press: {report.n} steps"
    return f"Step {report.steps} ({this})"


def summary(s: Session) -> None:
    """One line under the answer: the drawing before and after the last press of Step."""
    L = learning()
    r = L.report
    if not stepping(s, L) or r is None or r.proba_before is None:
        return
    k = r.label
    st.caption(
        f"{_counter(r)} · this drawing, as a {k}: loss {r.loss_before:.3f} → {r.loss_after:.3f}, "
        f"P({k}) {r.proba_before[k]:.1%} → {r.proba_after[k]:.1%}. Details in *Step by step*."
    )


def step_tab(s: Session) -> None:
    L = learning()
    r = L.report
    if not stepping(s, L) or r is None:
        st.info(
            "Press **Step** in the sidebar (beside Train): the network takes one step of the notes' "
            "gradient descent, W = W − α·dW, and stops. This view then shows what that step did to your "
            'drawing and to the weights. Press it again and again: "repeat until convergence", by hand.'
        )
        return
    st.markdown(
        f"**Run {L.run.number}** — {_counter(r)}, α = {r.alpha:g}, "
        f"{training.OPTIMIZERS[r.optimizer].lower()}; loss of the last batch {r.batch_loss:.3f}."
    )
    if r.proba_before is None:
        st.info("Draw a digit on the canvas: the next Step shows what it does to your drawing.")
    else:
        k = r.label
        st.markdown(
            f"**Your drawing**, as a {k} (the digit under *This is a*, else the answer before the step): "
            f"loss −log P({k}) **{r.loss_before:.3f} → {r.loss_after:.3f}**; answer "
            f"{int(r.proba_before.argmax())} → **{int(r.proba_after.argmax())}**."
        )
        st.vega_lite_chart(_before_after(r.proba_before, r.proba_after), width="stretch")
    _rule(r)
    _sizes(r)
    _templates(r)


def _before_after(before: np.ndarray, after: np.ndarray) -> dict:
    rows = [
        {"digit": str(d), "when": when, "p": float(p[d])}
        for when, p in (("before", before), ("after", after))
        for d in range(N_CLASSES)
    ]
    return {
        "data": {"values": rows},
        "mark": {"type": "bar", "tooltip": True},
        "height": 200,
        "encoding": {
            "x": {"field": "digit", "type": "nominal", "axis": {"labelAngle": 0, "title": "digit"}},
            "xOffset": {"field": "when", "sort": ["before", "after"]},
            "y": {"field": "p", "type": "quantitative", "title": "probability", "scale": {"domain": [0, 1]}},
            "color": {
                "field": "when",
                "sort": ["before", "after"],
                "scale": {"range": ["#9ecae1", "#08519c"]},
                "title": "this press",
            },
        },
    }


def _num(v: float) -> str:
    text = f"{v:.4g}"
    return f"({text})" if v < 0 else text


def _rule(r: StepReport) -> None:
    """The notes' update rule, each parameter's number that moved most filled in."""
    st.markdown(
        "**The update rule, with numbers** (the last step; in each matrix, the entry with the largest "
        "gradient):"
    )
    lines = []
    for name, e in r.examples.items():
        sym = f"{name[0]}^{{[{name[1:]}]}}_{{{e.index[0]},{e.index[1]}}}"
        if r.optimizer == "sgd":
            lines.append(
                rf"{sym} &= {sym} - \alpha\, d{sym} = {_num(e.before)} - {r.alpha:g} \times {_num(e.grad)} "
                rf"= {e.after:.4g}"
            )
        else:
            lines.append(rf"{sym} &: {_num(e.before)} \to {e.after:.4g} \qquad (d{sym} = {e.grad:.4g})")
    st.latex(r"\begin{aligned}" + r" \\ ".join(lines) + r"\end{aligned}")
    if r.optimizer != "sgd":
        st.caption(
            f"{training.OPTIMIZERS[r.optimizer]} does not step by α·dW itself: it scales the step from "
            "running "
            "means of the gradient, so the change is shown as before → after."
        )


def _sizes(r: StepReport) -> None:
    rows = ["| layer | ‖ΔW‖ | ‖W‖ | ‖ΔW‖ / ‖W‖ | ‖Δb‖ |", "|---|---|---|---|---|"]
    for l in range(1, len(r.norms) // 2 + 1):
        dW, W = r.norms[f"W{l}"]
        db, _ = r.norms[f"b{l}"]
        rows.append(f"| {l} | {dW:.3g} | {W:.3g} | {dW / W if W else 0:.2%} | {db:.3g} |")
    st.markdown(
        f"**The size of the update** in each layer ({'this step' if r.n == 1 else f'these {r.n} steps'}, "
        "Frobenius norms: the square root of the sum of squares):\n\n" + "\n".join(rows)
    )


def _templates(r: StepReport) -> None:
    dW1 = r.delta["W1"]
    moved = np.linalg.norm(dW1, axis=1)
    units = np.arange(len(dW1)) if len(dW1) <= MAX_TILES else np.sort(np.argsort(moved)[::-1][:MAX_TILES])
    limit = float(np.abs(dW1[units]).max())
    which = (
        "every hidden unit"
        if len(units) == len(dW1)
        else f"the {MAX_TILES} of {len(dW1)} units that moved most"
    )
    st.markdown(
        f"**How far each unit's template moved**: the update of W1 (−α·dW1 for plain gradient descent), "
        f"row j as a 28 × 28 picture, {which}. Red: that pixel's weight went up; blue: down; one colour "
        "scale "
        f"for all (full colour = {limit:.2g})."
    )
    picture(tile_grid(dW1[units].reshape(-1, 28, 28), limit, cols=10, scale=1, gap=1), width=560)
    st.caption(
        "Units " + ", ".join(map(str, units[:20])) + ("…" if len(units) > 20 else "") + ", left to right."
    )
