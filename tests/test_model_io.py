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
    assert accuracy >= 0.993  # Simard et al.'s record for 784-800-10: 0.7% error
    assert meta["test_accuracy"] == pytest.approx(accuracy, abs=1e-4)
    assert meta["config"]["elastic_alpha"] > 0 and "command" in meta  # trained on elastic distortions
    assert meta["config"]["pen"] > 0 and meta["config"]["flag_ones"] > 0  # and on the app's kind of digits


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
    with pytest.raises(ModelFileError, match="no DigitNet metadata|cannot be read|not an array"):
        load(buffer.getvalue())


def test_missing_path(tmp_path):
    with pytest.raises(ModelFileError, match="No model file"):
        load(tmp_path / "nope.npz")


# -- files built to hurt: too large inside, too many entries, numbers that overflow ----------


def npy_header(shape, dtype="<f4") -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": dtype, "fortran_order": False, "shape": shape})
    return buffer.getvalue()


def bomb(W1_header: bytes, zeros: int) -> bytes:
    """A good model whose W1 entry is a header followed by `zeros` zero bytes, deflated
    (a thousand to one): a small file that inflates to far more than it says."""
    buffer = io.BytesIO()
    arrays = good_arrays()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for name, a in arrays.items():
            if name != "W1":
                z.writestr(name + ".npy", _npy(a))
        with z.open("W1.npy", "w", force_zip64=True) as f:
            f.write(W1_header)
            chunk = bytes(2**20)
            for _ in range(zeros // 2**20):
                f.write(chunk)
    return buffer.getvalue()


def _npy(a) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, a)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "header,words",
    [
        (npy_header((10, 784)), "more or less data than its header says"),  # a W1 header, then 64 MB
        (npy_header((10, 784 * 100_000)), "W1 has shape 10 x 78400000"),  # a header that says so
        (npy_header((300_000_000,), "<f8"), "W1 has shape 300000000"),
    ],
)
def test_a_zip_bomb_is_refused_before_it_is_inflated(header, words):
    import tracemalloc

    data = bomb(header, 64 * 2**20)
    assert len(data) < 2 * 2**20  # the file is small
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError, match=words):
            load(data)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5 * 2**20, peak  # a few MB, not the 64 MB the entry inflates to


def test_the_total_of_the_arrays_is_capped_from_their_headers(monkeypatch):
    # the layer-size limits alone allow 400 MB (784-4096-4096-4096-4096-10 in float64); the total is capped
    from digitnet import model_io

    monkeypatch.setattr(model_io, "MAX_UNCOMPRESSED", 32_000)  # W1 of a 784-10-10 network fits, not all
    monkeypatch.setattr(np.lib.format, "read_array", lambda *a, **k: pytest.fail("inflated an array"))
    with pytest.raises(ModelFileError, match="would unpack to more than"):
        load(to_bytes(Network.init((784, 10, 10))))


def test_a_file_listing_many_entries_is_refused_before_they_are_read():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for i in range(5000):
            z.writestr(f"{i}.npy", b"")
    with pytest.raises(ModelFileError, match="5000 members"):
        load(buffer.getvalue())


def test_huge_metadata_is_refused_unread():
    with pytest.raises(ModelFileError, match="no DigitNet metadata"):
        load(with_(meta=np.array("x" * 200_000)))


@pytest.mark.parametrize(
    "W2,words",
    [
        (np.full((10, 10), 1e300), "beyond float32's range"),  # float64 that float32 cannot hold
        (np.full((10, 10), 3e38, np.float32), "infinite values"),  # finite, but the forward pass overflows
    ],
)
def test_weights_that_cannot_give_finite_answers_are_refused(W2, words):
    with pytest.raises(ModelFileError, match=words):
        load(with_(W2=W2))


def test_a_weight_that_overflows_only_for_some_drawings_is_refused(mnist):
    # the top-left pixel is 0 in every MNIST digit, so a few test images would not show it; a drawing may
    W1 = Network.init((784, 10, 10)).params["W1"]
    W1[:, 0] = 1e38
    assert np.isfinite(
        Network((784, 10, 10), {**good_net_params(), "W1": W1}).predict_proba(mnist.test_images[:50].T)
    ).all()
    with pytest.raises(ModelFileError, match="infinite values"):
        load(with_(W1=W1))


def good_net_params():
    return {k: v for k, v in good_arrays().items() if k != "meta"}


def test_every_model_that_loads_reads_test_digits_with_finite_numbers(mnist):
    for scale in (1, 1e3, 1e6):
        params = {k: v * np.float32(scale) for k, v in good_net_params().items()}
        try:
            net, _ = load(with_(**params))
        except ModelFileError:
            continue
        assert np.isfinite(net.predict_proba(mnist.test_images[:100].T)).all(), scale


def test_numbers_in_the_metadata_are_kept_only_when_they_can_be_true():
    meta = {
        "format": "digitnet",
        "format_version": 1,
        "sizes": [784, 10, 10],
        "test_accuracy": 5.0,
        "val_accuracy": 0.9,
        "epochs": -3,
        "train_seconds": "fast",
    }
    _, loaded = load(with_(meta=np.array(json.dumps(meta))))
    assert loaded["test_accuracy"] is None and loaded["epochs"] is None and loaded["train_seconds"] is None
    assert loaded["val_accuracy"] == 0.9


def test_big_endian_and_fortran_ordered_arrays_load_as_they_are():
    arrays = good_arrays()
    W1 = arrays["W1"]
    _, _ = load(with_(W1=np.asfortranarray(W1).astype(">f4")))
    net, _ = load(with_(W1=np.asfortranarray(W1).astype(">f8")))
    np.testing.assert_array_equal(net.params["W1"], W1)


def test_messages_quote_at_most_a_little_of_the_file():
    meta = {"format": "digitnet", "format_version": "9" * 10_000, "sizes": [784, 10, 10]}
    with pytest.raises(ModelFileError) as refused:
        load(with_(meta=np.array(json.dumps(meta))))
    assert len(str(refused.value)) < 200
