"""The Streamlit page, driven without a browser by streamlit.testing.v1.AppTest.

AppTest cannot draw on the canvas (a custom component): the drawing path is a
plain function, read(net, from_canvas(pixels)) as ui/draw.py calls it, tested here on synthetic canvas
pixels; the page's prediction panel is tested through the picture upload,
which feeds the same panel."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from digitnet import data as data_module
from digitnet.explain import read
from digitnet.model_io import DEFAULT_MODEL, load, to_bytes
from digitnet.network import Network
from digitnet.preprocess import PreprocessError, from_bytes, from_canvas

APP = str(Path(__file__).resolve().parent.parent / "app.py")


# -- helpers ----------------------------------------------------------------------


@pytest.fixture
def app():
    """A fresh session of the page; its trainings are stopped afterwards."""
    at = AppTest.from_file(APP, default_timeout=30)
    at.run()
    at.run()  # a browser asks for the tab below once it has painted the first run (ui/after.py)
    yield at
    stop_runs(at)


def stop_runs(at) -> None:
    """Stop a page's trainings (after a test)."""
    s = at.session_state["digitnet"] if "digitnet" in at.session_state else None
    for run in getattr(s, "runs", []):
        if run.job is not None:
            run.job.stop()
            run.job.join(2)


def session(at):
    return at.session_state["digitnet"]


def texts(elements) -> list[str]:
    return [e.value for e in elements]


def no_problems(at) -> None:
    assert not at.exception, [e.value for e in at.exception]


def set_training(at, hidden="8", epochs=1, batch_size=512, lr=0.5) -> None:
    at.text_input(key="hidden").set_value(hidden)
    at.number_input(key="epochs").set_value(epochs)
    at.select_slider(key="batch_size").set_value(batch_size)
    at.select_slider(key="lr").set_value(lr)
    at.run()


def train(at, wait=True):
    at.button(key="train").click().run()
    no_problems(at)
    run = session(at).runs[-1] if session(at).runs else None
    if wait and run is not None and run.job is not None:
        assert run.job.join(30), "the tiny run did not finish"
        at.run()  # the page notices the end
    return run


def prediction(at) -> str:
    return next(m.value for m in at.metric if m.label == "Prediction")


def digit_png(mnist, index: int, scale: int = 10) -> bytes:
    """A test digit as a picture: dark ink on white paper, like a photo."""
    image = (255 - mnist.test_images[index].reshape(28, 28) * 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(image).resize((28 * scale, 28 * scale), Image.Resampling.BILINEAR).save(buffer, "PNG")
    return buffer.getvalue()


def canvas_rgba(mnist, index: int) -> np.ndarray:
    """What the canvas sends for a drawing: 280x280 RGBA, white strokes on black."""
    grey = np.asarray(
        Image.fromarray((mnist.test_images[index].reshape(28, 28) * 255).astype(np.uint8)).resize(
            (280, 280), Image.Resampling.BILINEAR
        )
    )
    rgba = np.zeros((280, 280, 4), np.uint8)
    rgba[..., :3] = grey[..., None]
    rgba[..., 3] = 255
    return rgba


# -- opening the page and reading a drawing ----------------------------------------------


def test_page_opens_with_the_default_model_and_asks_for_a_drawing(app):
    no_problems(app)
    assert app.title[0].value == "DigitNet"
    assert prediction(app) == "—"  # no guess without a drawing
    assert any("Draw a digit" in t for t in texts(app.info))
    assert not app.error
    assert session(app).model.name == "the default model"
    for key in (
        "lr",
        "epochs",
        "batch_size",
        "hidden",
        "optimizer",
        "seed",
        "augment",
        "train",
        "stop",
        "reset",
        "upload_image",
        "upload_model",
        "download_model",
        "pen_width",
        "clear",
    ):
        assert app.get_by_key(key) is not None, key
    assert app.select_slider(key="lr").label == "Learning rate"


def test_the_drawing_path_reads_canvas_pixels(mnist):
    net, _ = load(DEFAULT_MODEL)
    right = sum(
        read(net, from_canvas(canvas_rgba(mnist, i))).digit == mnist.test_labels[i] for i in range(20)
    )
    assert right >= 18
    empty = read(net, from_canvas(np.zeros((280, 280, 4), np.uint8)))
    assert not empty.has_ink and empty.digit is None and "empty" in empty.sentence()
    dot = np.zeros((280, 280, 4), np.uint8)
    dot[138:142, 138:142] = 255
    assert not read(net, from_canvas(dot)).has_ink
    white = np.full((280, 280, 4), 255, np.uint8)  # the whole canvas painted white
    assert not read(net, from_canvas(white)).has_ink
    reading = read(net, from_canvas(canvas_rgba(mnist, 0)))
    assert reading.proba.shape == (10,) and abs(reading.proba.sum() - 1) < 1e-5
    assert reading.cache["A0"].shape == (784, 1) and reading.cache[f"A{net.L}"].shape == (10, 1)


def test_an_uploaded_picture_is_read_and_bad_pictures_get_a_sentence(app, mnist):
    app.file_uploader(key="upload_image").set_value(("seven.png", digit_png(mnist, 0), "image/png")).run()
    no_problems(app)
    assert prediction(app) == str(mnist.test_labels[0])
    png = digit_png(mnist, 1)
    huge = io.BytesIO()
    Image.new("L", (7200, 7200), 255).save(huge, "PNG")  # 52 megapixels
    for name, content in [
        ("notes.png", b"not a picture at all"),  # a text file, renamed
        ("empty.png", b""),
        ("cut.png", png[: len(png) // 2]),
        ("huge.png", huge.getvalue()),
    ]:
        with pytest.raises(PreprocessError) as refused:
            from_bytes(content)
        app.file_uploader(key="upload_image").set_value((name, content, "image/png")).run()
        no_problems(app)
        assert str(refused.value) in texts(app.error), (
            name,
            texts(app.error),
        )  # the library's plain sentence
        assert prediction(app) == "—"  # no guess from a file that could not be read


# -- training ----------------------------------------------------------------------------


def test_a_tiny_run_trains_is_listed_and_becomes_the_model(app):
    set_training(app)
    run = train(app)
    no_problems(app)
    s = session(app)
    assert run.number == 1 and run.job is None and run.snapshot.status == "finished"
    assert s.model.name == "run 1" and s.model.net.sizes == (784, 8, 10)
    assert any("Run 1: Trained 1 epoch" in t for t in texts(app.success))
    assert run.snapshot.history.steps == 108 and len(run.snapshot.history.val_accuracy) >= 5
    assert run.final_val_accuracy() > 0.7
    assert len(app.get("vega_lite_chart")) >= 3  # probabilities, loss, accuracy
    app.session_state["view"] = "Compare runs"
    app.run()
    table = app.dataframe[0].value
    assert list(table["run"]) == [1] and table["status"][0] == "finished" and table["hidden"][0] == "8"


def test_stop_keeps_what_was_learnt_and_is_harmless_twice(app):
    set_training(app, hidden="16", epochs=1000, batch_size=8, lr=0.05)
    run = train(app, wait=False)
    assert run.job is not None
    deadline = time.monotonic() + 30  # let it learn a little (a worker starts slowly on a busy machine)
    while run.job.snapshot().history.steps <= 100 and time.monotonic() < deadline:
        run.job.join(0.05)
    app.run()
    assert app.get("progress"), "no progress bar while training"
    assert app.button(key="stop").disabled is False and app.button(key="train").disabled is True
    app.button(key="stop").click().run()
    no_problems(app)
    assert run.job is None and run.snapshot.status == "stopped"
    assert any("Stopped after" in t for t in texts(app.warning))
    assert session(app).model.name == "run 1"  # what was learnt is kept
    assert app.button(key="stop").disabled and not app.button(key="train").disabled


def test_double_presses_and_stop_without_training_are_harmless():
    """A double click reaches the server before the page has redrawn the buttons
    (disabled ones cannot be pressed), so the handlers themselves must cope."""
    at = AppTest.from_string(
        """
import streamlit as st
from ui import state, training
s = state.session()
training.stop()                      # Stop with nothing training
training.start(); training.start()   # Train pressed twice quickly
running = s.active_run is not None
training.stop(); training.stop()     # Stop pressed twice
job = s.runs[0].job                  # a loaded machine may take longer than Stop waits: the
if job is not None:                  # run must end all the same, whenever the page looks next
    job.join(15)
    state.settle(s)
st.text(f"{len(s.runs)} {running} {s.runs[0].snapshot.status} " + " | ".join(n.text for n in s.notices))
""",
        default_timeout=30,
    ).run()
    no_problems(at)
    shown = at.text[0].value
    assert shown.startswith("1 True stopped"), shown  # one run, stopped
    assert "Nothing is training" in shown and "Already training" in shown


def test_divergence_is_shown_and_the_previous_model_is_kept(app):
    set_training(app, hidden="10", epochs=5, batch_size="all", lr=10.0)
    run = train(app)
    no_problems(app)
    assert run.snapshot.status == "diverged"
    errors = texts(app.error)
    assert any(
        "diverged" in e and "learning rate 10" in e and "You keep the default model" in e for e in errors
    ), errors
    assert session(app).model.name == "the default model"


def test_two_runs_can_be_compared_on_one_chart(app):
    set_training(app, lr=0.01)
    train(app)
    set_training(app, lr=1.0)
    train(app)
    app.session_state["view"] = "Compare runs"
    app.run()
    no_problems(app)
    table = app.dataframe[0].value
    assert sorted(table["learning rate"]) == ["0.01", "1"]
    accuracy = list(table["validation accuracy"])
    assert accuracy == sorted(accuracy, reverse=True)  # the best run first
    chosen = app.multiselect(key="compare").value
    assert len(chosen) == 2  # by default: the runs that ended and differ in the learning rate
    spec = json.dumps([c.proto.spec for c in app.get("vega_lite_chart")])
    assert "Validation accuracy" in spec
    app.radio(key="compare_metric").set_value("Training loss").run()
    no_problems(app)


# -- bad settings and files ----------------------------------------------------------------


@pytest.mark.parametrize(
    "hidden, words",
    [
        ("0", "between 1 and 4096"),
        ("5000", "between 1 and 4096"),
        ("ten", "whole numbers"),
        ("", "at least one"),
        ("2000", "too many"),
        ("4096,4096", "could not be saved and loaded again"),
    ],
)
def test_bad_hidden_sizes_get_a_sentence_and_start_nothing(app, hidden, words):
    app.text_input(key="hidden").set_value(hidden).run()
    app.button(key="train").click().run()
    no_problems(app)
    assert any(words in e for e in texts(app.error)), texts(app.error)
    assert session(app).runs == [] and session(app).model.name == "the default model"


def test_too_much_work_per_step_is_refused(app):
    set_training(app, hidden="256,128", batch_size="all")
    app.button(key="train").click().run()
    assert any("too much work" in e for e in texts(app.error))
    assert session(app).runs == []


def test_unreachable_settings_in_a_shared_link_are_ignored():
    at = AppTest.from_file(APP, default_timeout=30)
    at.query_params.update({"epochs": "0", "lr": "0", "batch_size": "99999", "hidden": "32"})
    at.run().run()  # and the rest, which a browser asks for once it has painted the first run (ui/after.py)
    no_problems(at)
    assert at.number_input(key="epochs").value >= 1 and at.select_slider(key="lr").value > 0
    assert at.select_slider(key="batch_size").value != 99999
    assert at.text_input(key="hidden").value == "32"  # a valid setting from the link is used


def _npz(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def test_bad_model_uploads_keep_the_previous_model(app, mnist):
    good = Network.init((784, 12, 10), seed=1)
    wrong_shape = Network(good.sizes, {**good.params, "W1": np.zeros((12, 700), np.float32)})
    pickled = io.BytesIO()
    np.savez(pickled, meta=np.array({"format": "digitnet"}, dtype=object))
    for name, content, words in [
        ("holiday.npz", digit_png(mnist, 0), "not a DigitNet model"),
        ("empty.npz", b"", "empty"),
        ("shapes.npz", to_bytes(wrong_shape), "W1 has shape 12 x 700"),
        ("pickled.npz", pickled.getvalue(), "pickled"),
        ("other.npz", _npz(weights=np.zeros(3)), "not a DigitNet model"),
    ]:
        app.file_uploader(key="upload_model").set_value((name, content, "application/octet-stream")).run()
        no_problems(app)
        assert any(words in e and "You keep the default model" in e for e in texts(app.error)), (
            name,
            texts(app.error),
        )
        assert session(app).model.name == "the default model"
    app.file_uploader(key="upload_image").set_value(("digit.png", digit_png(mnist, 0), "image/png")).run()
    assert prediction(app) == str(mnist.test_labels[0])  # the previous model still reads
    app.file_uploader(key="upload_model").set_value(
        ("mine.npz", to_bytes(good, {"note": "test"}), "application/octet-stream")
    ).run()
    assert session(app).model.name == "`mine.npz`" and session(app).model.net.sizes == (784, 12, 10)
    assert any("Loaded `mine.npz`" in t for t in texts(app.success))  # a file's name is shown as code


def test_reset_goes_back_to_the_default_model(app):
    set_training(app)
    train(app)
    assert session(app).model.name == "run 1"
    app.button(key="reset").click().run()
    no_problems(app)
    assert session(app).model.name == "the default model"
    assert any("Back to the default model" in t for t in texts(app.success))


def test_the_model_in_use_can_be_downloaded(app):
    button = app.get_by_key("download_model")
    assert button is not None and button.label.startswith("Download this model")


def test_look_inside_and_the_test_set_show_the_model(app, mnist):
    set_training(app, hidden="8")
    train(app)
    app.file_uploader(key="upload_image").set_value(("digit.png", digit_png(mnist, 0), "image/png")).run()
    latex = " ".join(texts(app.latex))
    assert r"\underset{(8 \times 784)}{W^{[1]}}" in latex  # W1 is h x 784, not 10 x m
    assert r"dW^{[1]} &= \tfrac{1}{m}\, dZ^{[1]} X^{T} && (8 \times 784)" in latex  # not 10 x 728
    assert (
        r"\underset{(10 \times m)}{A^{[2]}} = \mathrm{softmax}(Z^{[2]})" in latex and "A^{[3]}" not in latex
    )  # the output is A2
    assert any("units fire" in t for t in texts(app.markdown))
    app.session_state["view"] = "Test set"
    app.run()
    no_problems(app)
    accuracy = next(m.value for m in app.metric if m.label == "Test accuracy")
    assert accuracy.endswith("%") and 60 < float(accuracy[:-1]) <= 100
    misread = [m.value for m in app.html if "<figcaption" in m.value and " → " in m.value]
    assert (
        misread and misread[0].count("<figure") == 40 and not app.get("imgs")
    )  # inline pictures, no media files


def test_the_first_run_sends_the_canvas_and_the_answer_and_leaves_the_rest_for_after():
    """Page ready (issue 17): the first run leaves out the sidebar's controls, the charts
    (their library is the page's largest), Teach, the pen and the upload, and Look inside,
    which a browser asks for once it has painted the canvas and the answer; any later run
    draws them. A note about the link shows in both runs."""
    later = ["train", "pen_width", "upload_image", "teach", "teach_label"]
    at = AppTest.from_file(APP, default_timeout=30)
    at.query_params["epochs"] = "-1"
    at.run()
    no_problems(at)
    assert prediction(at) == "—" and at.get_by_key("clear") is not None  # the canvas's buttons
    assert not at.latex and not at.get("vega_lite_chart")
    for key in later:
        with pytest.raises(KeyError):
            at.get_by_key(key)
    assert any("The link's epochs" in n for n in texts(at.warning))
    at.run()
    assert len(at.latex) >= 6 and len(at.get("vega_lite_chart")) == 3  # probabilities, loss, accuracy
    assert all(at.get_by_key(key) is not None for key in later)
    assert any("The link's epochs" in n for n in texts(at.warning))
    at.run()
    assert not texts(at.warning)  # shown, and then gone


def test_the_tab_below_is_drawn_only_while_it_is_on_the_screen(app):
    """Out of sight (the browser says, ui/after.py) the open tab is a line, not its equations:
    every run, a stroke's too, makes the browser render the whole page again (issue 17)."""
    assert len(app.latex) >= 6
    session(app).views_in_view = False
    app.run()
    no_problems(app)
    assert not app.latex and "Drawn when you scroll here." in texts(app.caption)
    assert prediction(app) == "—" and app.get_by_key("train") is not None  # the rest of the page is there
    session(app).views_in_view = True
    app.run()
    assert len(app.latex) >= 6 and "Drawn when you scroll here." not in texts(app.caption)


@pytest.fixture
def painting(monkeypatch):
    """A session whose page is drawn whole with the view on the screen, for the after-paint
    report's callback (ui/student.py's _painted): the reruns it asks for, each of which ends
    it, as a rerun ends a callback."""
    import streamlit as st

    from ui import state

    s = state.Session(model=None, whole=True, views_in_view=True)
    monkeypatch.setattr(state, "session", lambda: s)
    asked = []

    def rerun(scope="app"):
        asked.append(scope)
        raise RuntimeError("a rerun ends the callback")

    monkeypatch.setattr(st, "rerun", rerun)
    return s, asked


def test_a_report_that_comes_with_a_stroke_keeps_the_strokes_answer(painting):
    """Under load Streamlit merges the after-paint report with a Clear or a stroke that comes
    right after it into one run: the canvas's and Clear's callbacks run, then the report's.
    Its rerun of the view alone (a keyed rerun) would replace the drawing's run, and the
    answer never came (issue 17). With a stroke owed, the report lets the drawing's run go
    on, and asks for the view again once that answer is painted."""
    from ui import after, priority, student

    s, asked = painting
    with pytest.raises(RuntimeError):
        student._painted(after.Report(due=7, in_view=True))  # the answer was painted, nothing more
    assert asked == [student.VIEWS_KEY]
    s.views_due = 8
    priority.answer_begins(id(s))  # a Clear or a stroke, in the same run, its callback first
    try:
        student._painted(after.Report(due=8, in_view=True))
    finally:
        priority.answer_ends(id(s))
    assert asked == [student.VIEWS_KEY]  # no rerun asked: the drawing's, the interaction's own, goes on
    assert s.views_due not in (None, 8)  # a new request, reported once that answer is painted


def test_a_view_still_waiting_on_the_screen_is_drawn_again_not_a_view_already_there(painting):
    """A report that the view is on the screen, as the server already knew, asks for nothing
    (a scroll within the view); one that says the view is on the screen and still waiting (its
    run's messages were lost on the way, ui/after.py) reruns the view."""
    from ui import after, student

    s, asked = painting
    student._painted(after.Report(due=None, in_view=True))
    assert asked == []
    with pytest.raises(RuntimeError):
        student._painted(after.Report(due=None, in_view=True, redraw=True))
    assert asked == [student.VIEWS_KEY]


def test_look_inside_pictures_are_inline_not_media_files(app, mnist):
    """The weight pictures and heat strips are PNG data: URLs in the page, not st.image
    media files, which the live panel's frequent reruns can drop (a broken picture, HTTP 404)."""

    def inline() -> list[str]:
        return [m.value for m in app.html if 'src="data:image/png;base64,' in m.value]

    assert len(inline()) == 2 and not app.get(
        "imgs"
    )  # no drawing: what the network sees (blank), the weight grid
    app.file_uploader(key="upload_image").set_value(("digit.png", digit_png(mnist, 0), "image/png")).run()
    no_problems(app)
    assert len(inline()) == 4 and not app.get("imgs")  # and the 800-unit Z1 and A1 as heat strips
    set_training(app, hidden="8")
    train(app)
    assert sum(v.count("unit ") for v in inline()) == 8  # small layers: one captioned picture per unit
    assert any("unit " in v and "A = " in v for v in inline())


def test_missing_mnist_still_lets_people_draw(monkeypatch, tmp_path, mnist):
    monkeypatch.setattr(data_module, "MNIST_DIR", tmp_path)
    at = (
        AppTest.from_file(APP, default_timeout=30).run().run()
    )  # and the rest, which a browser asks for once it has painted the first run (ui/after.py)
    no_problems(at)
    assert any("MNIST file missing" in e for e in texts(at.error))
    at.file_uploader(key="upload_image").set_value(("digit.png", digit_png(mnist, 0), "image/png")).run()
    assert prediction(at) == str(mnist.test_labels[0])
    at.button(key="train").click().run()
    no_problems(at)
    assert session(at).runs == [] and any("Cannot train" in e for e in texts(at.error))


def test_a_queued_run_says_how_many_are_ahead(app, monkeypatch, mnist):
    from digitnet.jobs import slots as machine
    from digitnet.jobs.job import TrainingJob
    from digitnet.train import TrainConfig

    slots = machine.Slots(1)
    monkeypatch.setattr(machine, "machine_slots", lambda: slots)
    small = (
        mnist.train_images[:2000],
        mnist.train_labels[:2000],
        mnist.train_images[-500:],
        mnist.train_labels[-500:],
    )
    other = TrainingJob(
        TrainConfig(hidden=(8,), epochs=1000, batch_size=8, n_val=500), small, slots=slots
    ).start()
    try:
        assert other.join(0.2) is False and other.running  # another student's run holds the only slot
        set_training(app)
        run = train(app, wait=False)
        app.run()
        assert any("Waiting for a free training slot: 0 ahead of you" in t for t in texts(app.info)), texts(
            app.info
        )
        assert prediction(app) == "—"  # the page still works while waiting
    finally:
        other.stop()
    assert run.job.join(30)
    app.run()
    assert run.snapshot.status == "finished" and session(app).model.name == "run 1"


def test_no_fragment_is_drawn_inside_another_and_each_comes_first_in_its_container(monkeypatch):
    """What keeps the page whole when a busy server drops a fragment's unsent messages (the
    browser test of it: tests/test_browser_burst.py; why: ui/student.py, _fragment): no
    fragment of the page is drawn inside another, and each one's box is the first child of
    the container it is drawn in."""
    from streamlit.delta_generator_singletons import context_dg_stack
    from streamlit.runtime.fragment import MemoryFragmentStorage

    seen = []  # (key, parent fragment, index of its box in its container)
    register = MemoryFragmentStorage.register

    def recording(self, fragment_id, fragment, *, parent_fragment_id=None, **kw):
        seen.append((kw.get("target_key"), parent_fragment_id, context_dg_stack.get()[-1]._cursor.index))
        register(self, fragment_id, fragment, parent_fragment_id=parent_fragment_id, **kw)

    monkeypatch.setattr(MemoryFragmentStorage, "register", recording)
    at = AppTest.from_file(APP, default_timeout=30)
    at.run()
    at.run()  # the whole page, Look inside drawn
    no_problems(at)
    assert {key for key, _, _ in seen} >= {"draw", "live", "views"}, seen
    assert all(parent is None and index == 0 for _, parent, index in seen), seen
