"""Step, Teach and My digits on the page, driven by AppTest: the picture upload stands
in for a drawing (it feeds the same prediction panel, see test_app.py)."""

from __future__ import annotations

import numpy as np
from test_app import app, digit_png, no_problems, prediction, session, set_training  # noqa: F401 (app: fixture)

from digitnet import my_digits
from digitnet.model_io import load
from digitnet.my_digits import MyDigits
from ui import resources


def learning(at):
    return at.session_state["digitnet_learning"]


def draw(at, mnist, index: int = 0) -> None:
    at.file_uploader(key="upload_image").set_value(("digit.png", digit_png(mnist, index), "image/png")).run()


def default_unchanged() -> None:
    """The model every session starts with is still the file's."""
    shared, _, _ = resources.default_model()
    for name, P in load()[0].params.items():
        np.testing.assert_array_equal(shared.params[name], P)


def captions(at) -> list[str]:
    return [c.value for c in at.caption]


def test_step_starts_a_run_from_random_weights_and_counts_its_steps(app, mnist):  # noqa: F811
    draw(app, mnist)
    set_training(app, hidden="10", batch_size=128, lr=0.5)
    app.button(key="step").click().run()
    no_problems(app)
    s, L = session(app), learning(app)
    assert L.stepper.steps == 1 and s.model.name == "run 1" and s.model.net.sizes == (784, 10, 10)
    assert s.runs[-1].snapshot.status == "stepped" and s.runs[-1].snapshot.history.steps == 1
    assert any(c.startswith("Step 1 (this press: 1 step) · this drawing, as a") for c in captions(app))
    W1 = s.model.net.params["W1"].copy()
    app.button(key="step10").click().run()
    no_problems(app)
    assert L.stepper.steps == 11 and len(s.runs) == 1 and s.runs[-1].snapshot.history.steps == 11
    assert any(c.startswith("Step 11 (this press: 10 steps)") for c in captions(app))
    assert not np.array_equal(W1, s.model.net.params["W1"])
    assert len(s.runs[-1].snapshot.history.val_accuracy) == 2  # checked after each press
    default_unchanged()


def test_step_continues_a_model_of_the_session_and_refuses_too_much_work(app, mnist):  # noqa: F811
    app.file_uploader(key="upload_model").set_value(
        ("mine.npz", _tiny_model(), "application/octet-stream")
    ).run()
    app.button(key="step").click().run()
    s = session(app)
    assert s.model.net.sizes == (784, 6, 10) and "from `mine.npz`" in s.runs[-1].snapshot.message
    set_training(app, hidden="4000", batch_size="all")
    app.button(key="reset").click().run()  # from the default model: a new 784-4000-10 run would be too much
    app.button(key="step").click().run()
    no_problems(app)
    assert any("too much work" in e.value or "too many" in e.value for e in app.sidebar.error)
    assert session(app).model.shared  # nothing started, the default model still in use


def _tiny_model() -> bytes:
    from digitnet.model_io import to_bytes
    from digitnet.network import Network

    return to_bytes(Network.init((784, 6, 10), seed=3))


def test_teach_makes_the_drawing_read_as_taught_on_a_copy(app, mnist):  # noqa: F811
    draw(app, mnist, 0)
    assert prediction(app) == "7"
    app.button(key="teach").click().run()
    assert any("Choose the digit you drew" in i.value for i in app.info)  # no label yet: nothing taught
    assert session(app).model.shared
    app.segmented_control(key="teach_label").set_value(1).run()
    app.button(key="teach").click().run()
    no_problems(app)
    s, L = session(app), learning(app)
    assert prediction(app) == "1"
    assert s.model.name == "the default model, taught" and not s.model.shared
    line = next(x.value for x in app.success if x.value.startswith("Taught a 1"))
    assert "this drawing 7 (" in line and "→ 1 (" in line and "MNIST validation accuracy 99." in line
    assert len(L.mine) == 1 and L.mine.labels[0] == 1 and L.mine.images[0].dtype == np.uint8
    default_unchanged()


def test_my_digits_upload_and_training_on_them(app, mnist):  # noqa: F811
    digits = MyDigits()
    for i in range(3):
        digits.add(
            np.rint(mnist.test_images[i] * 255).astype(np.uint8).reshape(28, 28), int(mnist.test_labels[i])
        )
    app.file_uploader(key="upload_mine").set_value(
        ("mine.npz", my_digits.to_bytes(digits), "application/octet-stream")
    )
    app.run()
    L = learning(app)
    assert len(L.mine) == 3 and any("Added 3 drawings" in x.value for x in app.sidebar.success)
    app.file_uploader(key="upload_mine").set_value(
        ("bad.npz", b"not a zip", "application/octet-stream")
    ).run()
    assert len(L.mine) == 3 and any("`bad.npz` was not added" in e.value for e in app.sidebar.error)
    set_training(app, hidden="10", batch_size=8, lr=0.1)
    app.toggle(key="train_mine").set_value(True).run()
    app.button(key="step").click().run()
    no_problems(app)
    assert L.stepper.steps_per_epoch == -(
        -(55_000 + 3 * 20) // 8
    )  # MNIST's training digits + 20 copies of each
