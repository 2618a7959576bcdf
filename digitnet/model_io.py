"""Model files: an .npz holding W1, b1, ..., WL, bL and a JSON `meta` string
(format version, layer sizes, training settings, accuracy), enough to rebuild
the network and to reproduce it. Loading never unpickles and checks every
array, so an upload of anything else gets a plain message, not a traceback."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import BinaryIO

import numpy as np

from . import npzfile
from .data import ASSETS
from .network import N_CLASSES, N_INPUT, Network
from .settings import MAX_HIDDEN, MAX_LAYERS

FORMAT_VERSION = 1
DEFAULT_MODEL = ASSETS / "default_model.npz"
MAX_BYTES = (
    64 * 1024 * 1024
)  # a 784-4096-4096-10 float32 model is ~80 MB; nothing sensible is larger than this


class ModelFileError(npzfile.NpzError):
    """The file is not a usable DigitNet model; the message says why in one sentence."""


def to_bytes(net: Network, meta: dict | None = None) -> bytes:
    meta = {**(meta or {}), "format": "digitnet", "format_version": FORMAT_VERSION, "sizes": list(net.sizes)}
    buffer = io.BytesIO()
    # a 0-d unicode array, not a pickled dict: readable with allow_pickle=False
    np.savez_compressed(buffer, meta=np.array(json.dumps(meta)), **net.params)
    return buffer.getvalue()


def save(net: Network, path: str | Path, meta: dict | None = None) -> None:
    """Write atomically (temporary file, then rename) so a crash never leaves half a model."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_bytes(to_bytes(net, meta))
        tmp.replace(path)
    except OSError:
        tmp.unlink(missing_ok=True)  # nothing half-written left behind
        raise


def load(source: str | Path | bytes | BinaryIO = DEFAULT_MODEL) -> tuple[Network, dict]:
    """Read and validate a model; raises ModelFileError with a plain message.

    Each array's .npy header (shape, type) is checked against what any DigitNet
    architecture allows before any data is decompressed, and the total is capped
    (digitnet.npzfile): a small file that would inflate to gigabytes is refused
    after a few kilobytes. Then the arrays are checked against the file's own layer
    sizes, and the weights against overflow."""
    try:
        arrays = npzfile.read(_read(source), WHAT, MAX_BYTES, MAX_UNCOMPRESSED, _allowed, MAX_UNCOMPRESSED)
    except ModelFileError:
        raise
    except npzfile.NpzError as e:
        raise ModelFileError(str(e)) from None
    return _validate(arrays)


WHAT = "DigitNet model"


def _read(source) -> bytes:
    """The file's bytes, at most MAX_BYTES + 1 of them (enough to know it is too large)."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    if hasattr(source, "read"):
        return source.read(MAX_BYTES + 1)
    path = Path(source)
    if not path.is_file():
        raise ModelFileError(f"No model file at {path}.")
    if path.stat().st_size > MAX_BYTES:  # said here: only MAX_BYTES + 1 of it are read
        raise ModelFileError(
            f"The file is {path.stat().st_size / 2**20:.0f} MB; a {WHAT} is at most {MAX_BYTES / 2**20:g} MB."
        )
    with path.open("rb") as f:
        return f.read(MAX_BYTES + 1)


MAX_META_CHARS = 100_000  # the JSON metadata; DigitNet's own is under 2,000 characters
# Arrays decompressed, in all: twice the file limit (float64 weights compress a little). The
# layer-size limits alone would allow 400 MB (784-4096-4096-4096-4096-10 in float64).
MAX_UNCOMPRESSED = 2 * MAX_BYTES
FLOAT32_MAX = float(np.finfo(np.float32).max)
# Z of any layer, for any input in [0, 1], must stay below this: far from float32's
# 3.4e38, so that softmax and the sums after it stay finite too.
MAX_ACTIVATION = 1e30
PARAM = re.compile(r"([Wb])([1-9])")  # W1..WL, b1..bL


def _allowed(name: str, dtype: np.dtype, shape: tuple[int, ...]) -> None:
    """From an array's header alone: refuse what no DigitNet model holds."""
    if name == "meta":
        if dtype.kind != "U" or shape != () or dtype.itemsize > 4 * MAX_META_CHARS:
            raise ModelFileError(f"This .npz is not a {WHAT}: it has no DigitNet metadata.")
        return
    param = PARAM.fullmatch(name)
    if param is None or int(param[2]) > MAX_LAYERS + 1:
        raise ModelFileError(f"This .npz is not a {WHAT}: it holds an array {name!r}, which no model has.")
    if not (dtype.kind == "f" and dtype.itemsize in (4, 8)):
        raise ModelFileError(f"{name} holds {dtype} numbers; a model holds float32 or float64.")
    largest = max(MAX_HIDDEN, N_INPUT)
    if len(shape) != 2 or not all(0 <= n <= largest for n in shape) or (param[1] == "b" and shape[1] != 1):
        raise ModelFileError(
            f"{name} has shape {_shape(shape)}; in a DigitNet layer "
            f"{'b is n x 1' if param[1] == 'b' else 'W is n x m'}, with n and m at most {largest}."
        )


def _shape(shape: tuple[int, ...]) -> str:
    return " x ".join(map(str, shape)) or "a single number"


def _validate(arrays: dict[str, np.ndarray]) -> tuple[Network, dict]:
    if "meta" not in arrays:
        raise ModelFileError(f"This .npz is not a {WHAT}: it has no DigitNet metadata.")
    meta, sizes = _meta(str(arrays["meta"][()]))
    L = len(sizes) - 1
    expected = {f"W{l}": (sizes[l], sizes[l - 1]) for l in range(1, L + 1)}
    expected |= {f"b{l}": (sizes[l], 1) for l in range(1, L + 1)}
    held = sorted(set(arrays) - {"meta"})
    if held != sorted(expected):
        raise ModelFileError(
            f"The model should hold {', '.join(sorted(expected))}, but holds {', '.join(held)}."
        )
    params = {}
    for name, shape in sorted(expected.items()):
        a = arrays[name]
        if a.shape != shape:
            raise ModelFileError(
                f"{name} has shape {_shape(a.shape)}; "
                f"a {'-'.join(map(str, sizes))} network needs {shape[0]} x {shape[1]}."
            )
        if not np.isfinite(a).all():
            raise ModelFileError(
                f"{name} holds NaN or infinite values (was it saved after training diverged?)."
            )
        if np.abs(a).max(initial=0) > FLOAT32_MAX:
            raise ModelFileError(
                f"{name} holds numbers beyond float32's range (up to 3.4e38), which DigitNet uses."
            )
        params[name] = a.astype(np.float32)
    net = Network(sizes, params)
    _check_forward_is_finite(net)
    return net, meta


def _meta(text: str) -> tuple[dict, list[int]]:
    try:
        meta = json.loads(text)
    except (ValueError, RecursionError):
        raise ModelFileError("The model's metadata is damaged (not valid JSON).") from None
    if not isinstance(meta, dict) or meta.get("format") != "digitnet":
        raise ModelFileError("This .npz is not a DigitNet model: its metadata names another format.")
    if meta.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(
            f"This model has format version {_brief(meta.get('format_version'))}; "
            f"this DigitNet reads version {FORMAT_VERSION}."
        )
    sizes = meta.get("sizes")
    if (
        not isinstance(sizes, list)
        or not 3 <= len(sizes) <= MAX_LAYERS + 2
        or not all(type(n) is int and 1 <= n <= MAX_HIDDEN for n in sizes)
        or sizes[0] != N_INPUT
        or sizes[-1] != N_CLASSES
    ):
        raise ModelFileError(
            f"The model's layer sizes {_brief(sizes)} are not {N_INPUT} -> hidden layers -> {N_CLASSES}."
        )
    for key, (low, high) in SHOWN_NUMBERS.items():  # the page shows these: only when they can be true
        value = meta.get(key)
        if value is not None and not (type(value) in (int, float) and low <= value <= high):
            meta[key] = None
    return meta, sizes


# Numbers of the metadata that the page and the command line show, and their possible range.
SHOWN_NUMBERS = {
    "test_accuracy": (0.0, 1.0),
    "val_accuracy": (0.0, 1.0),
    "epochs": (0.0, 1e6),
    "train_seconds": (0.0, 1e9),
}


def _check_forward_is_finite(net: Network) -> None:
    """Refuse weights whose forward pass can overflow for some image. The bound is
    for every input in [0, 1]^784 (every drawing), not only a few test images:
    |Z_l| <= |W_l| . a_{l-1} + |b_l| with a_0 = 1, a_l = max(Z_l bound, 0) for ReLU."""
    a = np.ones((N_INPUT, 1))
    for l in range(1, net.L + 1):
        bound = np.abs(net.params[f"W{l}"]).astype(np.float64) @ a + np.abs(net.params[f"b{l}"])
        if not bound.max() < MAX_ACTIVATION:
            raise ModelFileError(
                f"The model's weights are so large that layer {l} can give infinite values "
                f"(W{l} reaches {np.abs(net.params[f'W{l}']).max():.1e}), so it cannot read digits."
            )
        a = bound


def _brief(value, limit: int = 60) -> str:
    """Something from the file, quoted in a message: never all of a long one."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
