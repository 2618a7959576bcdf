"""Model files: an .npz holding W1, b1, ..., WL, bL and a JSON `meta` string
(format version, layer sizes, training settings, accuracy), enough to rebuild
the network and to reproduce it. Loading never unpickles and checks every
array, so an upload of anything else gets a plain message, not a traceback."""

from __future__ import annotations

import io
import json
import math
import zipfile
from pathlib import Path
from typing import BinaryIO

import numpy as np

from .data import ASSETS
from .network import N_CLASSES, N_INPUT, Network
from .settings import MAX_HIDDEN, MAX_LAYERS

FORMAT_VERSION = 1
DEFAULT_MODEL = ASSETS / "default_model.npz"
MAX_BYTES = (
    64 * 1024 * 1024
)  # a 784-4096-4096-10 float32 model is ~80 MB; nothing sensible is larger than this


class ModelFileError(ValueError):
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
    tmp.write_bytes(to_bytes(net, meta))
    tmp.replace(path)


def load(source: str | Path | bytes | BinaryIO = DEFAULT_MODEL) -> tuple[Network, dict]:
    """Read and validate a model; raises ModelFileError with a plain message."""
    data = _read(source)
    if len(data) == 0:
        raise ModelFileError("The file is empty.")
    if len(data) > MAX_BYTES:
        raise ModelFileError(
            f"The file is {len(data) / 2**20:.0f} MB; a DigitNet model is at most {MAX_BYTES // 2**20} MB."
        )
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise ModelFileError("This is not a DigitNet model: expected an .npz file saved by DigitNet.")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except ValueError as e:
        if "pickle" in str(e).lower():
            raise ModelFileError(
                "The file holds pickled Python objects, which DigitNet never loads (they can run code)."
            ) from None
        raise ModelFileError(f"The .npz file cannot be read: {e}.") from None
    except Exception as e:  # a damaged zip can raise zipfile, zlib or OS errors
        raise ModelFileError(f"The .npz file is damaged and cannot be read ({type(e).__name__}).") from None
    return _validate(arrays)


def _read(source) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    if hasattr(source, "read"):
        return source.read()
    path = Path(source)
    if not path.is_file():
        raise ModelFileError(f"No model file at {path}.")
    return path.read_bytes()


def _validate(arrays: dict[str, np.ndarray]) -> tuple[Network, dict]:
    if "meta" not in arrays or arrays["meta"].dtype.kind != "U" or arrays["meta"].ndim != 0:
        raise ModelFileError("This .npz is not a DigitNet model: it has no DigitNet metadata.")
    try:
        meta = json.loads(str(arrays["meta"]))
    except json.JSONDecodeError:
        raise ModelFileError("The model's metadata is damaged (not valid JSON).") from None
    if not isinstance(meta, dict) or meta.get("format") != "digitnet":
        raise ModelFileError("This .npz is not a DigitNet model: its metadata names another format.")
    if meta.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(
            f"This model has format version {meta.get('format_version')}; this DigitNet reads version {FORMAT_VERSION}."
        )
    sizes = meta.get("sizes")
    if (
        not isinstance(sizes, list)
        or not 3 <= len(sizes) <= MAX_LAYERS + 2
        or not all(isinstance(n, int) and 1 <= n <= MAX_HIDDEN for n in sizes)
        or sizes[0] != N_INPUT
        or sizes[-1] != N_CLASSES
    ):
        raise ModelFileError(
            f"The model's layer sizes {sizes} are not {N_INPUT} -> hidden layers -> {N_CLASSES}."
        )
    L = len(sizes) - 1
    expected = {f"W{l}": (sizes[l], sizes[l - 1]) for l in range(1, L + 1)}
    expected |= {f"b{l}": (sizes[l], 1) for l in range(1, L + 1)}
    if set(arrays) - {"meta"} != set(expected):
        raise ModelFileError(
            f"The model should hold {', '.join(sorted(expected))}, but holds {', '.join(sorted(set(arrays) - {'meta'}))}."
        )
    params = {}
    for name, shape in sorted(expected.items()):
        a = arrays[name]
        if a.shape != shape:
            got = " x ".join(map(str, a.shape)) or "a single number"
            raise ModelFileError(
                f"{name} has shape {got}; a {'-'.join(map(str, sizes))} network needs {shape[0]} x {shape[1]}."
            )
        if a.dtype not in (np.float32, np.float64):
            raise ModelFileError(f"{name} holds {a.dtype} numbers; a model holds float32 or float64.")
        if not np.isfinite(a).all():
            raise ModelFileError(
                f"{name} holds NaN or infinite values (was it saved after training diverged?)."
            )
        params[name] = a.astype(np.float32)
    accuracy = meta.get("test_accuracy")
    if accuracy is not None and not (isinstance(accuracy, (int, float)) and math.isfinite(accuracy)):
        meta["test_accuracy"] = None
    return Network(sizes, params), meta
