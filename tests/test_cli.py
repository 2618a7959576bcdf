"""python -m digitnet: train, evaluate and predict, as a person or a script calls them."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from digitnet.__main__ import main
from digitnet.model_io import load

ROOT = Path(__file__).resolve().parent.parent


def last_json(text: str) -> dict:
    return json.loads(text.strip().splitlines()[-1])


def test_train_saves_a_model_and_ends_with_json(tmp_path, capsys):
    out = tmp_path / "m.npz"
    code = main(
        [
            "train",
            "--hidden",
            "10",
            "--lr",
            "0.1",
            "--epochs",
            "2",
            "--batch-size",
            "128",
            "--seed",
            "0",
            "--out",
            str(out),
            "--json",
        ]
    )
    assert code == 0
    summary = last_json(capsys.readouterr().out)
    assert summary["epochs"] == 2 and 0.85 < summary["test_accuracy"] <= 1 and summary["train_seconds"] > 0
    net, meta = load(out)
    assert net.sizes == (784, 10, 10)
    assert meta["config"]["lr"] == 0.1 and meta["test_accuracy"] == summary["test_accuracy"]
    assert meta["command"].startswith("python -m digitnet train --hidden 10")


def test_train_several_layers_full_batch(capsys):
    assert (
        main(["train", "--hidden", "32,16", "--batch-size", "all", "--lr", "0.5", "--epochs", "2", "--json"])
        == 0
    )
    summary = last_json(capsys.readouterr().out)
    assert summary["sizes"] == [784, 32, 16, 10] and summary["epochs"] == 2


def test_diverging_training_says_so(capsys):
    assert main(["train", "--lr", "10", "--epochs", "1", "--json"]) == 1
    captured = capsys.readouterr()
    assert last_json(captured.out)["status"] == "diverged"
    assert "smaller learning rate" in captured.err


@pytest.mark.parametrize(
    "args,words",
    [
        (["--batch-size", "many"], "batch-size"),
        (["--hidden", "0"], "hidden"),
        (["--lr", "0"], "learning rate"),
        (["--elastic-alpha", "-1"], "elastic"),
        (["--flag-ones", "2"], "flag"),
        (["--pen", "1.5"], "pen"),
    ],
)
def test_bad_arguments_get_one_sentence(capsys, args, words):
    assert main(["train", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and words in err.lower() and "Traceback" not in err


def test_evaluate_default_model_json(capsys):
    assert main(["evaluate", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["n"] == 10000 and summary["test_accuracy"] >= 0.988
    assert set(summary["per_digit"]) == {str(d) for d in range(10)}


def test_evaluate_refuses_a_bad_model_file(tmp_path, capsys):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a model")
    assert main(["evaluate", "--model", str(bad)]) == 2
    assert "not a DigitNet model" in capsys.readouterr().err


def test_predict_reads_mnist_digits_and_refuses_blank_images(tmp_path, capsys, mnist):
    paths = []
    for i in range(5):
        path = tmp_path / f"digit{i}.png"
        Image.fromarray((mnist.test_images[i].reshape(28, 28) * 255).astype(np.uint8)).resize(
            (140, 140)
        ).save(path)
        paths.append(str(path))
    blank = tmp_path / "blank.png"
    Image.new("L", (100, 100), 0).save(blank)
    assert main(["predict", *paths, str(blank), "--json"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert [line["digit"] for line in lines[:5]] == mnist.test_labels[:5].tolist()
    assert all(
        len(line["probabilities"]) == 10 and abs(sum(line["probabilities"]) - 1) < 1e-4 for line in lines[:5]
    )
    assert lines[5]["file"] == str(blank) and lines[5]["digit"] is None and lines[5]["reason"]


def test_predict_reports_unreadable_files(tmp_path, capsys):
    bad = tmp_path / "notes.png"
    bad.write_text("this is not an image")
    assert main(["predict", str(bad), "--json"]) == 2
    captured = capsys.readouterr()
    assert json.loads(captured.out)["digit"] is None and "Traceback" not in captured.err


def test_module_runs_as_a_program():
    result = subprocess.run(
        [sys.executable, "-m", "digitnet", "evaluate"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert "test accuracy" in result.stdout


# -- every flag checked before any work; JSON that any parser reads -------------------------


def strict_json(line: str):
    """json.loads that refuses NaN and Infinity, which are not JSON."""

    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")

    return json.loads(line, parse_constant=refuse)


@pytest.mark.parametrize(
    "args,words",
    [
        (["--val", "60000"], "--val takes from 1 to 59,999"),
        (["--val", "0"], "--val takes from 1"),
        (["--lr-decay", "0"], "--lr-decay"),
        (["--lr-decay", "1.5"], "--lr-decay"),
        (["--momentum", "1"], "--momentum"),
        (["--momentum", "-0.1"], "--momentum"),
        (["--epochs", "0"], "--epochs"),
        (["--epochs", "9" * 23], "--epochs takes a whole number from 1 to 100,000 (got a 23-digit number)"),
        (["--batch-size", "9" * 5000], "5,000-digit number"),
        (["--seed", "-1"], "--seed"),
        (["--lr", "inf"], "learning rate"),
        (["--out", "no/such/folder/m.npz"], "does not exist"),
    ],
)
def test_bad_flags_are_refused_before_any_work(capsys, monkeypatch, args, words):
    import digitnet.__main__ as cli

    monkeypatch.setattr(
        cli, "load_mnist", lambda: pytest.fail("the data was loaded before the flags were checked")
    )
    assert main(["train", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and words in err and err.count("\n") == 1, err


def test_out_naming_a_folder_is_refused_and_leaves_nothing(tmp_path, capsys):
    assert main(["train", "--out", str(tmp_path)]) == 2
    assert "names a folder" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_json_is_valid_even_for_numbers_that_are_not(capsys):
    from digitnet.__main__ import _json

    assert strict_json(_json({"a": float("nan"), "b": [float("inf"), 0.5], "c": "x"})) == {
        "a": None,
        "b": [None, 0.5],
        "c": "x",
    }
    assert main(["train", "--lr", "10", "--epochs", "1", "--json"]) == 1  # diverges
    assert strict_json(capsys.readouterr().out.strip().splitlines()[-1])["status"] == "diverged"
    assert main(["evaluate", "--json"]) == 0
    strict_json(capsys.readouterr().out)


@pytest.mark.parametrize("damage", ["missing", "damaged"])
def test_evaluate_without_a_usable_default_model_names_it(tmp_path, monkeypatch, capsys, damage):
    import digitnet.__main__ as cli
    from digitnet import model_io

    shipped = tmp_path / "default_model.npz"
    if damage == "damaged":
        shipped.write_bytes(b"PK\x03\x04 cut short")
    monkeypatch.setattr(model_io, "DEFAULT_MODEL", shipped)
    monkeypatch.setattr(cli, "DEFAULT_MODEL", shipped)
    assert main(["evaluate"]) == 2
    err = capsys.readouterr().err
    assert "assets/default_model.npz" in err and "git checkout -- assets/default_model.npz" in err, err
    assert err.count("\n") == 1
