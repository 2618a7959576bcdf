"""Model files: an .npz holding W1, b1, ..., WL, bL and a JSON `meta` string
(format version, layer sizes, training settings, accuracy), enough to rebuild
the network and to reproduce it. Loading never unpickles and checks every
array, so an upload of anything else gets a plain message, not a traceback."""

from __future__ import annotations

import io
import json
import math
import struct
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
    try:
        tmp.write_bytes(to_bytes(net, meta))
        tmp.replace(path)
    except OSError:
        tmp.unlink(missing_ok=True)  # nothing half-written left behind
        raise


def load(source: str | Path | bytes | BinaryIO = DEFAULT_MODEL) -> tuple[Network, dict]:
    """Read and validate a model; raises ModelFileError with a plain message.

    Each array's .npy header (shape, type) is read and checked against what the
    file's own layer sizes allow before any of its data is decompressed, and the
    total is capped: a small file that would inflate to gigabytes is refused
    after reading a few kilobytes of it."""
    data = _read(source)
    if len(data) == 0:
        raise ModelFileError("The file is empty.")
    if len(data) > MAX_BYTES:
        raise ModelFileError(
            f"The file is over {MAX_BYTES // 2**20} MB; a DigitNet model is at most {MAX_BYTES // 2**20} MB."
        )
    _check_directory(data)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return _read_model(zf)
    except ModelFileError:
        raise
    except Exception as e:  # a damaged zip can raise zipfile, zlib, struct or OS errors
        raise ModelFileError(f"The .npz file is damaged and cannot be read ({type(e).__name__}).") from None


def _read(source) -> bytes:
    """The file's bytes, at most MAX_BYTES + 1 of them (enough to know it is too large)."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    if hasattr(source, "read"):
        return source.read(MAX_BYTES + 1)
    path = Path(source)
    if not path.is_file():
        raise ModelFileError(f"No model file at {path}.")
    with path.open("rb") as f:
        return f.read(MAX_BYTES + 1)


# A model of L layers holds W1..WL, b1..bL and meta: at most this many entries.
MAX_ENTRIES = 2 * (MAX_LAYERS + 1) + 1
MAX_META_CHARS = 100_000  # the JSON metadata; DigitNet's own is under 2,000 characters
# Arrays decompressed, in all: twice the file limit (float64 weights compress a little). The
# layer-size limits alone would allow 400 MB (784-4096-4096-4096-4096-10 in float64).
MAX_UNCOMPRESSED = 2 * MAX_BYTES
FLOAT32_MAX = float(np.finfo(np.float32).max)
# Z of any layer, for any input in [0, 1], must stay below this: far from float32's
# 3.4e38, so that softmax and the sums after it stay finite too.
MAX_ACTIVATION = 1e30


def _check_directory(data: bytes) -> None:
    """Count the zip's entries from its end record, before zipfile reads the central
    directory (a 64 MB file can list a million entries, gigabytes as Python objects)."""
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - 22 - 65535))
    if end < 0 or len(data) < end + 22:
        raise ModelFileError("This is not a DigitNet model: expected an .npz file saved by DigitNet.")
    entries, directory_size = struct.unpack_from("<HI", data, end + 10)
    zip64 = end >= 20 and data[end - 20 : end - 16] == b"PK\x06\x07"  # its counts would replace these
    if zip64 or entries > MAX_ENTRIES or directory_size > MAX_ENTRIES * 1024:
        raise ModelFileError(
            f"The file lists {'more than ' if zip64 else ''}{entries} entries; "
            f"a DigitNet model holds at most {MAX_ENTRIES}."
        )


def _read_model(zf: zipfile.ZipFile) -> tuple[Network, dict]:
    infos = {info.filename: info for info in zf.infolist()}
    if len(infos) != len(zf.infolist()):
        raise ModelFileError("The .npz file lists the same array twice.")
    for info in infos.values():
        if info.flag_bits & 0x1 or info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise ModelFileError("The .npz file is encrypted or compressed in a way numpy never writes.")
    if "meta.npy" not in infos:
        raise ModelFileError("This .npz is not a DigitNet model: it has no DigitNet metadata.")
    shape, dtype, exact = _header(zf, infos["meta.npy"])
    if dtype.kind != "U" or shape != () or dtype.itemsize > 4 * MAX_META_CHARS:
        raise ModelFileError("This .npz is not a DigitNet model: it has no DigitNet metadata.")
    _check_length(infos["meta.npy"], exact)
    meta, sizes = _meta(str(_data(zf, infos["meta.npy"])[()]))
    L = len(sizes) - 1
    expected = {f"W{l}": (sizes[l], sizes[l - 1]) for l in range(1, L + 1)}
    expected |= {f"b{l}": (sizes[l], 1) for l in range(1, L + 1)}
    if set(infos) != {"meta.npy", *(name + ".npy" for name in expected)}:
        held = sorted(name.removesuffix(".npy") for name in infos if name != "meta.npy")
        raise ModelFileError(
            f"The model should hold {', '.join(sorted(expected))}, but holds {_brief(', '.join(held))}."
        )
    # every header first: shapes, types and the total are known before any weight is inflated
    headers = {}
    for name, shape in sorted(expected.items()):
        got, dtype, exact = _header(zf, infos[name + ".npy"])
        headers[name] = got, dtype
        if got != shape:
            raise ModelFileError(
                f"{name} has shape {' x '.join(map(str, got)) or 'a single number'}; "
                f"a {'-'.join(map(str, sizes))} network needs {shape[0]} x {shape[1]}."
            )
        if not (dtype.kind == "f" and dtype.itemsize in (4, 8)):
            raise ModelFileError(f"{name} holds {dtype} numbers; a model holds float32 or float64.")
        _check_length(infos[name + ".npy"], exact)
    total = sum(math.prod(shape) * dtype.itemsize for shape, dtype in headers.values())
    if total > MAX_UNCOMPRESSED:
        raise ModelFileError(
            f"The model's arrays take {total / 2**20:.0f} MB; "
            f"DigitNet loads at most {MAX_UNCOMPRESSED // 2**20} MB."
        )
    params = {}
    for name in sorted(expected):
        a = _data(zf, infos[name + ".npy"])
        if not np.isfinite(a).all():
            raise ModelFileError(
                f"{name} holds NaN or infinite values (was it saved after training diverged?)."
            )
        if np.abs(a).max() > FLOAT32_MAX:
            raise ModelFileError(
                f"{name} holds numbers beyond float32's range (up to 3.4e38), which DigitNet uses."
            )
        params[name] = a.astype(np.float32)
    net = Network(sizes, params)
    _check_forward_is_finite(net)
    return net, meta


def _header(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[tuple[int, ...], np.dtype, bool]:
    """An entry's .npy header, read without inflating its data: the shape, the type,
    and whether the entry's size is that of the header plus exactly that array."""
    with zf.open(info) as f:
        try:
            version = np.lib.format.read_magic(f)
            read = {(1, 0): np.lib.format.read_array_header_1_0, (2, 0): np.lib.format.read_array_header_2_0}
            shape, fortran, dtype = read[version](f)
        except (ValueError, KeyError, SyntaxError, TypeError, EOFError):
            raise ModelFileError(f"{_brief(info.filename)} is not a numpy array.") from None
        if dtype.hasobject:
            raise ModelFileError(
                "The file holds pickled Python objects, which DigitNet never loads (they can run code)."
            )
        return shape, dtype, info.file_size == f.tell() + math.prod(shape) * dtype.itemsize


def _check_length(info: zipfile.ZipInfo, exact: bool) -> None:
    if not exact:  # more would be inflated (and the zip's CRC check comes only at the end)
        raise ModelFileError(f"{_brief(info.filename)} holds more or less data than its header says.")


def _data(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> np.ndarray:
    """An entry's array, once its header has been checked (it holds exactly what the header says)."""
    with zf.open(info) as f:
        version = np.lib.format.read_magic(f)
        shape, fortran, dtype = (
            np.lib.format.read_array_header_1_0(f)
            if version == (1, 0)
            else np.lib.format.read_array_header_2_0(f)
        )
        raw = f.read(math.prod(shape) * dtype.itemsize)
    a = np.frombuffer(raw, dtype)
    return a.reshape(shape[::-1]).T if fortran else a.reshape(shape)


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
