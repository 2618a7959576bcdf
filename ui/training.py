"""Training from the sidebar: the settings (kept in the URL), Train / Stop / Reset,
and the live panel with the progress bar and the learning curves."""

from __future__ import annotations

import math
from collections.abc import Callable

import streamlit as st

from digitnet.jobs import slots
from digitnet.jobs.budget import check_affordable
from digitnet.jobs.job import TrainingJob
from digitnet.settings import batch_size_text, parse_batch_size, parse_hidden
from digitnet.train import History, TrainConfig

from . import charts, keep, layout, links, resources
from .learning import training_set
from .state import Run, Session, default, session, settle
from .text import plain

LEARNING_RATES = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0)  # a log scale
BATCH_SIZES = (1, 8, 32, 128, 512, 2048, "all")
OPTIMIZERS = {"sgd": "Gradient descent (the notes)", "momentum": "Momentum", "adam": "Adam"}
CHECKS_PER_EPOCH = 5  # validation checks per epoch (a long run's curves show them as bucket means)
LIVE_EVERY = {"running": 0.15, "waiting": 1.0}  # seconds between redraws of the live panel (>= 5 a second)
WEIGHTS_EVERY = 0.5  # s between redraws of what the weights show (the answer, Look inside) while they change
BIND = "query-params"  # the settings live in the URL, so a link carries them (ui.links checks it first)
MAX_EPOCHS, MAX_SEED = 1000, 999_999
# The sidebar starts at the notes' full-batch gradient descent, long enough to watch it learn;
# everything else is TrainConfig's default, as on the command line.
START = TrainConfig(epochs=100, batch_size=None)
DEFAULTS = {  # START as the sidebar's fields hold it
    "lr": START.lr,
    "epochs": START.epochs,
    "batch_size": batch_size_text(START.batch_size),
    "hidden": ",".join(map(str, START.hidden)),
    "optimizer": START.optimizer,
    "seed": START.seed,
    "augment": START.augment,
}

HELP = {
    "lr": "α in the notes' W = W − α·dW: how big a step each update takes. Too small and learning crawls; "
    "too large and every step overshoots, the loss explodes and training diverges (try 10). The slider is "
    "logarithmic.",
    "epochs": "How many times the network goes through all 55,000 training digits. With batch size 'all' "
    "an epoch is a single step, so use many (100 or more).",
    "batch_size": "How many digits each step looks at before updating the weights. 'all' is the notes' "
    "full-batch "
    "gradient descent: one careful step per epoch. Smaller batches take many quick, noisy steps and learn "
    "far faster.",
    "hidden": "Sizes of the hidden layers, separated by commas. 10 is the notes' network (784 → 10 → 10); "
    "try 100, or 256,128 for two hidden layers. Each hidden unit is a ReLU that learns to look for a "
    "pattern.",
    "optimizer": "How a gradient becomes a step. Gradient descent is the notes' rule W = W − α·dW. Momentum "
    "keeps part of "
    "the previous step, so it rolls through flat stretches. Adam gives every weight its own step size (use "
    "a small α like 0.001).",
    "seed": "The random start: the initial weights and the order of the batches. The same seed and settings "
    "give the same run.",
    "augment": "Show the network slightly shifted, rotated, resized, thicker or thinner versions of the "
    "digits, "
    "so it copes better with real handwriting. Training takes a little longer.",
    "name": "How the class board (the teacher's page) shows your runs. Left empty, you are 'Student' and a "
    "number.",
    "train": "Train a new network from random weights with these settings. Your drawing is read by it as it "
    "learns.",
    "stop": "Stop the training now; the network keeps what it has learnt so far.",
    "reset": "Go back to the pretrained network the app started with.",
}


def sidebar(
    s: Session, beside_train: Callable[[Session, bool], None] | None = None
) -> st.delta_generator.DeltaGenerator:
    """The Train section; returns a slot for the dataset's status, filled later
    (loading MNIST must not hold up the first drawing)."""
    busy = s.active_run is not None
    with st.sidebar:
        st.header("Train")
        st.text_input(
            "Your name", key=keep.NAME, max_chars=40, on_change=keep.name_changed, help=HELP["name"]
        )
        st.select_slider(
            "Learning rate",
            LEARNING_RATES,
            value=DEFAULTS["lr"],
            format_func=lambda v: f"{v:g}",
            key="lr",
            bind=BIND,
            help=HELP["lr"],
        )
        st.number_input(
            "Epochs",
            min_value=1,
            max_value=MAX_EPOCHS,
            value=links.start_value("epochs"),  # in the URL, but not bound by Streamlit (see ui.links)
            step=1,
            key="epochs",
            help=HELP["epochs"],
        )
        st.select_slider(
            "Batch size",
            BATCH_SIZES,
            value=DEFAULTS["batch_size"],
            format_func=str,
            key="batch_size",
            bind=BIND,
            help=HELP["batch_size"],
        )
        hidden = st.text_input(
            "Hidden layer sizes", value=DEFAULTS["hidden"], key="hidden", bind=BIND, help=HELP["hidden"]
        )
        try:
            parse_hidden(hidden)
            field_error = None
        except ValueError as e:
            field_error = str(e)
            st.error(plain(field_error))
        st.selectbox(
            "Optimiser",
            list(OPTIMIZERS),
            format_func=OPTIMIZERS.get,
            key="optimizer",
            bind=BIND,
            help=HELP["optimizer"],
        )
        st.number_input(
            "Seed",
            min_value=0,
            max_value=MAX_SEED,
            value=links.start_value("seed"),
            step=1,
            key="seed",
            help=HELP["seed"],
        )
        st.toggle(
            "Augment the training digits",
            value=DEFAULTS["augment"],
            key="augment",
            bind=BIND,
            help=HELP["augment"],
        )
        train_col, stop_col = st.columns(2)
        train_col.button(
            "Train",
            key="train",
            type="primary",
            disabled=busy,
            on_click=start,
            help=HELP["train"],
            width="stretch",
        )
        stop_col.button(
            "Stop", key="stop", disabled=not busy, on_click=stop, help=HELP["stop"], width="stretch"
        )
        if beside_train is not None:  # Step and Step x10 (ui.step)
            beside_train(s, busy)
        st.button("Reset to default model", key="reset", on_click=reset, help=HELP["reset"], width="stretch")
        for notice in s.take_notices("train"):
            if field_error is None or notice.text != plain(field_error):  # already said under the field
                getattr(st, notice.kind)(notice.text)
        return st.empty()


def dataset_status(slot) -> None:
    data = resources.dataset()
    if isinstance(data, str):
        slot.error(plain(f"Training is not available: {data} Drawing still works with the default model."))


# -- the buttons (callbacks: they run before the page is redrawn) -------------


def settings() -> dict:
    """The sidebar's values, as they are shown (the run table lists these)."""
    shown = {**DEFAULTS, **{key: st.session_state[key] for key in DEFAULTS if key in st.session_state}}
    return {
        "lr": float(shown["lr"]),
        "epochs": int(shown["epochs"]),
        "batch_size": shown["batch_size"],
        "hidden": str(shown["hidden"]).strip(),
        "optimizer": shown["optimizer"],
        "seed": int(shown["seed"]),
        "augment": bool(shown["augment"]),
    }


def config_from(settings: dict, n_train: int) -> TrainConfig:
    """Raises ValueError with a plain sentence for settings that cannot be trained here."""
    batch = parse_batch_size(settings["batch_size"])
    steps_per_epoch = 1 if batch is None else math.ceil(n_train / batch)
    config = TrainConfig(
        hidden=parse_hidden(settings["hidden"]),
        lr=settings["lr"],
        epochs=settings["epochs"],
        batch_size=batch,
        optimizer=settings["optimizer"],
        augment=settings["augment"],
        n_val=START.n_val,
        seed=settings["seed"],
        eval_every=max(1, steps_per_epoch // CHECKS_PER_EPOCH),
    )
    check_affordable(config, n_train)
    return config


def start() -> None:
    s = session()
    if s.active_run is not None:  # Train pressed twice: one run
        s.notify("info", "Already training: press Stop first to start another run.")
        return
    data = resources.dataset()
    if isinstance(data, str):
        s.notify("error", plain(f"Cannot train: {data}"))
        return
    X, y, X_val, y_val = data.split(START.n_val)
    X, y = training_set(X, y)  # My digits too, if the sidebar says so
    chosen = settings()
    try:
        config = config_from(chosen, len(y))
    except ValueError as e:
        s.notify("error", plain(str(e)))
        return
    job = TrainingJob(config, (X, y, X_val, y_val), slots=slots.machine_slots(), alive=_page_connected())
    run = Run(len(s.runs) + 1, chosen, job)
    s.runs.append(run)
    s.last_run_notice = None
    run.job.start()
    keep.track(s, run)  # on the class board as it trains, and back after a reload
    run.beat_and_read()
    if isinstance(st.session_state.get("compare"), list):  # show the new run in the comparison too
        st.session_state["compare"] = [*st.session_state["compare"], run.label]


def stop() -> None:
    s = session()
    job = s.active_job
    if job is None:  # Stop with nothing training: harmless
        s.notify("info", "Nothing is training, so there is nothing to stop.")
        return
    job.stop()  # settled at once from what the page has received; the worker winds down meanwhile
    settle(s)


def reset() -> None:
    s = session()
    run = s.active_run
    job = None if run is None else run.job
    if job is not None:
        run.reset = True  # whenever it ends, it does not replace the model chosen here
    s.model = default()
    if job is not None:
        job.stop()
        settle(s)
    else:
        s.last_run_notice = None  # it said the last run's network reads the drawings: no longer true
    s.notify("success", f"Back to {s.model.name}: your drawings are read by it again.")


def _page_connected() -> Callable[[], bool] | None:
    """Whether this browser tab is still connected (a hidden tab's timers slow down,
    so missed heartbeats alone do not prove it has gone)."""
    try:
        from streamlit.runtime import Runtime
        from streamlit.runtime.scriptrunner import get_script_run_ctx

        ctx = get_script_run_ctx()
        if ctx is None or not Runtime.exists():
            return None
        runtime, session_id = Runtime.instance(), ctx.session_id
        return lambda: runtime.is_active_session(session_id) is True
    except Exception:
        return None


# -- the live panel -------------------------------------------------------------


def training_panel(s: Session) -> None:
    """The active (or last) run: a line of its settings, its state (waiting, progress, or
    how it ended) and its curves. Every part keeps its place and its size whatever
    happens, so nothing on the screen jumps when a run starts or ends: before the first
    run the curves are empty frames, and a new run shows the previous run's curves until
    its own first points arrive."""
    run = s.active_run or (s.runs[-1] if s.runs else None)
    snap = None if run is None else run.beat_and_read()
    # The run's state keeps its height from before the first run to how the last one ended, so
    # nothing below it moves; a message longer than that (a narrow screen, a divergence) scrolls.
    with st.container(key="run_status", gap="small", height=STATUS_HEIGHT, border=False):
        if run is None:
            st.caption(
                "Press **Train** in the sidebar to train a network of your own: its loss and accuracy curves "
                "grow here while you keep drawing, and the prediction uses its weights as they are learnt."
            )
        else:
            _run_status(s, run, snap)
    left, right = layout.row(
        "loss_chart", "accuracy_chart", gap="small"
    )  # side by side, or one above the other
    if not s.whole:  # the page's first run: the charts come with the second (ui/student.py)
        for box in (left, right):
            with box:
                layout.frame(charts.CURVES_HEIGHT)
        return
    shown = next((r for r in reversed(s.runs) if r.snapshot and r.snapshot.history.steps), None)
    curves = shown.snapshot.history if shown else NO_CURVES
    epochs = shown.settings["epochs"] if shown else settings()["epochs"]
    loss, accuracy = charts.learning_curves(curves, epochs, height=charts.CURVES_HEIGHT)
    left.vega_lite_chart(charts.live(charts.for_screen(loss, layout.projector())), width="stretch")
    right.vega_lite_chart(charts.live(charts.for_screen(accuracy, layout.projector())), width="stretch")


STATUS_HEIGHT = 112  # px: the settings' line and three lines of a message
NO_CURVES = History()  # the frames drawn before the first run


def _run_status(s: Session, run: Run, snap) -> None:
    st.container(key="run_header").markdown(
        f"**Run {run.number}** — α = {run.settings['lr']:g}, hidden {run.settings['hidden']}, "
        f"batch {run.settings['batch_size']}, {OPTIMIZERS[run.settings['optimizer']].lower()}, "
        f"{run.settings['epochs']} epochs"
    )
    if snap.status == "waiting":
        next_up = " — you are next" if snap.ahead == 0 else ""
        n = slots.machine_slots().n
        st.info(
            f"Waiting for a free training slot: {snap.ahead} ahead of you{next_up}. It starts by itself "
            f"({n} run{'s' * (n != 1)} at a time here); you can keep drawing."
        )
    elif snap.status == "running":
        p = snap.progress
        if p is None:
            st.progress(0.0, text="Starting…")
        else:
            left = "" if math.isnan(p.seconds_left) else f" · about {_duration(p.seconds_left)} left"
            st.progress(
                snap.fraction,
                text=f"Epoch {p.epoch:.1f} of {run.settings['epochs']} · step {p.step:,} of "
                f"{p.total_steps:,}{left}",
            )
    elif s.last_run_notice is not None:
        getattr(st, s.last_run_notice.kind)(s.last_run_notice.text)


def live_every(s: Session) -> float | None:
    """How often the live panel redraws itself: several times a second while the run
    trains, once a second while it waits for a slot, never when nothing runs."""
    job = s.active_job
    return None if job is None else LIVE_EVERY.get(job.status, LIVE_EVERY["running"])


def weights_every(s: Session) -> float | None:
    """How often what the network's weights show (the answer, Look inside) redraws itself while
    a run trains: twice a second, so the class sees them change and drawing stays quick (the
    curves, the live panel's, more often); never otherwise."""
    job = s.active_job
    return WEIGHTS_EVERY if job is not None and job.status == "running" else None


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{max(1, round(seconds))} s"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs:02d} s"
