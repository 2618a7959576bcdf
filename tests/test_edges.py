"""Outside data on the page: shared links, file names and other user text, the shipped
model missing or damaged, a run reset while it trains, a model file loaded after a run.
Nothing from outside may crash the page, be rendered as Markdown, or leave a sentence
that is no longer true. (The files themselves: test_model_io.py; the command line: test_cli.py.)"""

from __future__ import annotations

import re

import pytest
from streamlit.testing.v1 import AppTest
from test_app import APP, no_problems, session, set_training, stop_runs, texts, train

from digitnet.model_io import to_bytes
from digitnet.network import Network
from ui import resources
from ui.text import code, plain


@pytest.fixture
def app():
    at = (
        AppTest.from_file(APP, default_timeout=30).run().run()
    )  # and the rest, which a browser asks for once it has painted the first run (ui/after.py)
    yield at
    stop_runs(at)


# -- shared links --------------------------------------------------------------------------


def open_link(**params) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    at.query_params.update(params)
    return (
        at.run().run()
    )  # and the rest, which a browser asks for once it has painted the first run (ui/after.py)


@pytest.mark.parametrize(
    "params",
    [
        {"epochs": "inf"},
        {"seed": "1e400"},
        {"lr": "1e309", "epochs": "1e309"},
        {"epochs": "-inf", "lr": "nan"},
        {"epochs": "2.5", "seed": "-1", "batch_size": "7", "optimizer": "sgd"},
        {"hidden": "9" * 5000, "augment": "maybe", "view": "Secrets"},
    ],
)
def test_a_bad_shared_link_falls_back_to_the_defaults_with_a_note(params):
    at = open_link(**params)
    no_problems(at)
    assert at.title[0].value == "DigitNet" and at.get_by_key("upload_image") is not None  # the page works
    assert at.number_input(key="epochs").value == 100 and at.number_input(key="seed").value == 0
    assert at.select_slider(key="lr").value == 0.1 and at.select_slider(key="batch_size").value == "all"
    assert at.text_input(key="hidden").value == "10" and at.selectbox(key="optimizer").value == "sgd"
    notes = texts(at.warning)
    for key in params:
        assert sum(f"The link's {key} " in n and "the default" in n for n in notes) == 1, (key, notes)
    assert all(len(n) < 200 for n in notes)  # one line each, never the whole of a long value
    assert not any(key in at.query_params for key in params)  # taken out of the address too


def test_a_good_shared_link_is_used_without_a_note():
    at = open_link(epochs="7", seed="42", lr="0.5", batch_size="32", hidden="32,16", optimizer="Adam")
    no_problems(at)
    assert at.number_input(key="epochs").value == 7 and at.number_input(key="seed").value == 42
    assert at.select_slider(key="lr").value == 0.5 and at.select_slider(key="batch_size").value == 32
    assert at.text_input(key="hidden").value == "32,16" and at.selectbox(key="optimizer").value == "adam"
    assert not texts(at.warning)
    at.number_input(key="epochs").set_value(9).run()  # kept in the address as it changes
    assert at.query_params["epochs"] in ("9", ["9"]) and at.number_input(key="epochs").value == 9
    at.number_input(key="seed").set_value(0).run()  # back to its default: out of the address
    assert "seed" not in at.query_params


# -- user text is never Markdown ------------------------------------------------------------


def test_code_and_plain_keep_outside_text_literal():
    assert code("my--model.npz") == "`my--model.npz`"
    assert code("a`b") == "``a`b``" and code("`x") == "`` `x ``"
    assert len(code("x" * 100_000)) < 70 and code("two\nlines") == "`two lines`"
    sentence = plain("![x](http://e.com/a.png) **b** :smile: $x$ www.e.com; run `git checkout -- assets`.")
    assert "`git checkout -- assets`" in sentence  # a command stays code, its -- intact
    outside = sentence.replace("`git checkout -- assets`", "")
    assert not re.search(r"(?<!\\)[!\[\]*:$`]", outside), sentence  # every Markdown character escaped
    assert "www.e" not in outside and "://" not in outside  # nothing left for GFM to turn into a link


HOSTILE = "![seen](http://127.0.0.1:9/track.png) **big** :red[x] $x$ www.example.com.npz"


def test_an_uploaded_file_name_is_shown_as_code_never_as_markdown(app):
    for content in (b"not a model", to_bytes(Network.init((784, 12, 10), seed=1))):
        app.file_uploader(key="upload_model").set_value((HOSTILE, content, "application/octet-stream")).run()
        no_problems(app)
        shown = [t for t in texts(app.error) + texts(app.success) + texts(app.markdown) + texts(app.caption)]
        with_name = [t for t in shown if "seen" in t]
        assert with_name and all(code(HOSTILE) in t for t in with_name), with_name
    assert session(app).model.name == code(HOSTILE)


def test_a_long_or_huge_hidden_size_entry_gets_a_short_true_sentence(app):
    app.text_input(key="hidden").set_value("![x](http://127.0.0.1:9/x.png)" + "x" * 100_000).run()
    errors = texts(app.error)
    assert len(errors) == 1 and len(errors[0]) < 300 and "![" not in errors[0], errors
    app.text_input(key="hidden").set_value("9" * 5000).run()
    assert any("5,000-digit number" in e and "not whole" not in e for e in texts(app.error)), texts(app.error)


def test_metadata_numbers_out_of_range_are_not_shown(app):
    net = Network.init((784, 12, 10), seed=1)
    app.file_uploader(key="upload_model").set_value(
        ("liar.npz", to_bytes(net, {"test_accuracy": 5.0}), "application/octet-stream")
    ).run()
    no_problems(app)
    in_use = next(t for t in texts(app.markdown) if t.startswith("In use:"))
    assert "%" not in in_use, in_use


def test_weights_that_overflow_are_refused_and_the_model_is_kept(app):
    net = Network.init((784, 12, 10), seed=1)
    net.params["W2"][:] = 3e38
    app.file_uploader(key="upload_model").set_value(
        ("huge.npz", to_bytes(net), "application/octet-stream")
    ).run()
    no_problems(app)
    assert any("infinite values" in e and "You keep the default model" in e for e in texts(app.error))
    assert session(app).model.name == "the default model"


# -- the shipped model missing or damaged ----------------------------------------------------


@pytest.fixture
def shipped_model_broken(monkeypatch, tmp_path):
    damaged = tmp_path / "default_model.npz"
    damaged.write_bytes(b"PK\x03\x04 cut short")
    monkeypatch.setattr(resources, "DEFAULT_MODEL", damaged)
    resources.default_model.clear()
    yield
    resources.default_model.clear()  # the next page gets the real one again


def test_a_damaged_shipped_model_is_named_and_training_still_works(shipped_model_broken):
    at = (
        AppTest.from_file(APP, default_timeout=30).run().run()
    )  # and the rest, which a browser asks for once it has painted the first run (ui/after.py)
    no_problems(at)
    said = [e for e in texts(at.error) if "assets/default_model.npz" in e]
    assert len(said) == 1 and "`git checkout -- assets/default_model.npz`" in said[0], texts(at.error)
    in_use = next(t for t in texts(at.markdown) if t.startswith("In use:"))
    assert "untrained" in in_use and "default model" not in in_use, in_use
    set_training(at)
    run = train(at)
    assert run.snapshot.status == "finished" and session(at).model.name == "run 1"


# -- one truth after Reset or a loaded file ------------------------------------------------


def test_reset_while_training_says_one_thing(app):
    set_training(app, hidden="16", epochs=1000, batch_size=8, lr=0.05)
    run = train(app, wait=False)
    while run.job is not None and run.job.snapshot().history.steps < 20:
        run.job.join(0.05)
    app.button(key="reset").click().run()
    no_problems(app)

    def shown() -> str:
        return " ".join(texts(app.success) + texts(app.warning) + texts(app.info) + texts(app.error))

    assert "Back to the default model" in shown()  # said once, in the sidebar
    if run.job is not None:  # it had not ended within Reset's half second: the page settles it later
        assert run.job.join(10)
        app.run()
    assert session(app).model.name == "the default model"
    assert "stopped by Reset" in shown()
    assert "now read by this network" not in shown() and "kept" not in shown(), shown()


def test_after_loading_a_file_the_panel_no_longer_claims_the_last_run_reads(app):
    set_training(app)
    train(app)
    assert any("now read by this network" in t for t in texts(app.success))
    app.file_uploader(key="upload_model").set_value(
        ("mine.npz", to_bytes(Network.init((784, 12, 10), seed=1)), "application/octet-stream")
    ).run()
    no_problems(app)
    assert not any("now read by this network" in t for t in texts(app.success)), texts(app.success)
    assert session(app).model.name == "`mine.npz`"
