"""Model files: a round trip keeps every number, and every kind of bad file
is refused with a sentence (never unpickled, never a traceback)."""

import io
import json
import pickle
import zipfile

import numpy as np
import pytest

from digitnet.model_io import DEFAULT_MODEL, ModelFileError, load, save, to_bytes
from digitnet.network import Network


def test_round_trip_keeps_weights_and_metadata(tmp_path):
    net = Network.init((784, 32, 16, 10), seed=3)
    save(net, tmp_path / "m.npz", {"test_accuracy": 0.5, "config": {"lr": 0.1}})
    loaded, meta = load(tmp_path / "m.npz")
    assert loaded.sizes == (784, 32, 16, 10)
    for name in net.params:
        np.testing.assert_array_equal(loaded.params[name], net.params[name])
    assert meta["test_accuracy"] == 0.5 and meta["config"] == {"lr": 0.1} and meta["format_version"] == 1
    assert load(to_bytes(net))[0].sizes == net.sizes  # bytes work as well as paths


def test_default_model_ships_and_is_strong(mnist):
    net, meta = load(DEFAULT_MODEL)
    accuracy = net.accuracy(mnist.test_images.T, mnist.test_labels)
    assert accuracy >= 0.988
    assert meta["test_accuracy"] == pytest.approx(accuracy, abs=1e-4)
    assert meta["config"]["augment"] is True and "command" in meta


def npz_bytes(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def good_arrays():
    net = Network.init((784, 10, 10))
    meta = {"format": "digitnet", "format_version": 1, "sizes": [784, 10, 10]}
    return {"meta": np.array(json.dumps(meta)), **net.params}


def with_(**changes):
    arrays = good_arrays()
    arrays.update(changes)
    return npz_bytes(**arrays)


@pytest.mark.parametrize(
    "data,words",
    [
        (b"", "empty"),
        (b"hello, this is text", "not a DigitNet model"),
        (b"\x89PNG\r\n\x1a\n" + bytes(100), "not a DigitNet model"),
        (npz_bytes(W1=np.zeros((10, 784))), "no DigitNet metadata"),
        (with_(W1=np.zeros((10, 783), np.float32)), "W1 has shape 10 x 783"),
        (with_(b2=np.zeros((10,), np.float32)), "b2 has shape 10;"),
        (with_(W2=np.zeros((10, 10), np.int64)), "int64"),
        (with_(W2=np.full((10, 10), np.nan, np.float32)), "NaN"),
        (with_(meta=np.array(json.dumps({"format": "keras"}))), "another format"),
        (with_(meta=np.array("{not json")), "not valid JSON"),
        (with_(W3=np.zeros((10, 10), np.float32)), "should hold"),
    ],
)
def test_bad_files_are_refused_with_a_reason(data, words):
    with pytest.raises(ModelFileError, match=words):
        load(data)


def test_pickled_objects_are_never_loaded():
    class Boom:
        def __reduce__(self):
            return (exec, ("raise SystemExit('pickle was executed')",))

    arrays = good_arrays()
    arrays["W1"] = np.array([Boom()], dtype=object)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    with pytest.raises(ModelFileError, match="pickled"):
        load(buffer.getvalue())


def test_damaged_zip_is_refused():
    data = bytearray(to_bytes(Network.init((784, 10, 10))))
    data[len(data) // 2 : len(data) // 2 + 200] = bytes(200)
    with pytest.raises(ModelFileError):
        load(bytes(data))


def test_another_zip_based_format_is_refused():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:  # e.g. a PyTorch .pt file is a zip of pickles
        z.writestr("archive/data.pkl", pickle.dumps({"state_dict": 1}))
    with pytest.raises(ModelFileError, match="no DigitNet metadata|cannot be read"):
        load(buffer.getvalue())


def test_missing_path(tmp_path):
    with pytest.raises(ModelFileError, match="No model file"):
        load(tmp_path / "nope.npz")
