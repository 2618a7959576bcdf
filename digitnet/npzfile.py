"""Reading an .npz that somebody uploaded, without trusting it.

An .npz is a zip of .npy files. np.load on it would unpickle object arrays if
asked to, and would decompress whatever a member's deflate stream expands to
(a few kB can claim gigabytes). So, before any array's data is decompressed:
the file's size is capped, every member's declared size is capped, and every
member's .npy header (its dtype and shape, the first bytes of the member) is
read and handed to `check`, which refuses what the caller does not expect.
Only then are the arrays read, with allow_pickle=False, each at most its
declared size (zipfile stops there and checks the CRC).
"""

from __future__ import annotations

import io
import math
import struct
import zipfile
import zlib
from collections.abc import Callable

import numpy as np


class NpzError(ValueError):
    """The file cannot be used; the message says why in one sentence."""


Check = Callable[[str, np.dtype, tuple[int, ...]], None]  # raises NpzError for an unwanted member


MAX_NAME = 100  # characters in a member's name: every name is short, and a message may quote it
MAX_MEMBERS = 16  # the zip's entries: DigitNet's files hold at most 11


def read(
    data: bytes,
    what: str,
    max_bytes: int,
    max_member_bytes: int,
    check: Check,
    max_total_bytes: int | None = None,
) -> dict[str, np.ndarray]:
    """The arrays of an .npz held in `data` (a `what`, e.g. "DigitNet model"), by name without .npy.
    Every member's data together is at most max_total_bytes once decompressed."""
    if len(data) == 0:
        raise NpzError("The file is empty.")
    if len(data) > max_bytes:
        raise NpzError(
            f"The file is {len(data) / 2**20:.1f} MB; a {what} is at most {max_bytes / 2**20:g} MB."
        )
    if not zipfile.is_zipfile(io.BytesIO(data)):
        raise NpzError(f"This is not a {what}: expected an .npz file.")
    _count_members(data, what)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            infos = z.infolist()
            headers, total = {}, 0
            for info in infos:
                name = info.filename.removesuffix(".npy")
                if len(info.filename) > MAX_NAME:
                    raise NpzError(
                        f"This is not a {what}: it holds a member named by {len(info.filename):,} characters."
                    )
                if not info.filename.endswith(".npy") or name in headers:
                    raise NpzError(f"This is not a {what}: it holds {info.filename!r}, not an array.")
                if info.flag_bits & 0x1 or info.compress_type not in (
                    zipfile.ZIP_STORED,
                    zipfile.ZIP_DEFLATED,
                ):
                    raise NpzError(f"{name} is encrypted or compressed in a way NumPy never writes.")
                if info.file_size > max_member_bytes:
                    raise NpzError(
                        f"{name} would unpack to {info.file_size / 2**20:.1f} MB; a {what} holds at most "
                        f"{max_member_bytes / 2**20:g} MB per array."
                    )
                with z.open(info) as f:
                    dtype, shape = _header(f, name)
                    header_bytes = f.tell()
                if dtype.hasobject:
                    raise NpzError(
                        f"{name} holds pickled Python objects, which DigitNet never loads "
                        "(unpickling can run code)."
                    )
                check(name, dtype, shape)
                size = math.prod(shape) * dtype.itemsize
                if info.file_size != header_bytes + size:  # zipfile would inflate up to file_size
                    raise NpzError(f"{name} holds more or less data than its header says.")
                total += size
                if max_total_bytes is not None and total > max_total_bytes:
                    raise NpzError(
                        f"Its arrays would unpack to more than {max_total_bytes / 2**20:g} MB, "
                        f"the most a {what} holds."
                    )
                headers[name] = info
            arrays = {}
            for name, info in headers.items():
                with z.open(info) as f:
                    arrays[name] = np.lib.format.read_array(f, allow_pickle=False)
    except NpzError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError) as e:
        raise NpzError(f"The .npz file is damaged and cannot be read ({type(e).__name__}).") from None
    return arrays


def _count_members(data: bytes, what: str) -> None:
    """Count the members from the zip's end record before zipfile reads its directory:
    a few MB can list a million members, gigabytes as Python objects."""
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - 22 - 65535))
    if end < 0 or len(data) < end + 22:
        raise NpzError(f"This is not a {what}: expected an .npz file.")
    members, directory_bytes = struct.unpack_from("<HI", data, end + 10)
    zip64 = end >= 20 and data[end - 20 : end - 16] == b"PK\x06\x07"  # its counts would replace these
    if zip64 or members > MAX_MEMBERS or directory_bytes > MAX_MEMBERS * (46 + MAX_NAME + 64):
        raise NpzError(
            f"The file lists {'more than ' if zip64 else ''}{members} members; "
            f"a {what} holds at most {MAX_MEMBERS}."
        )


def _header(f, name: str) -> tuple[np.dtype, tuple[int, ...]]:
    """The dtype and shape from a .npy header: only its first bytes are decompressed."""
    try:
        version = np.lib.format.read_magic(f)
        read_header = {
            (1, 0): np.lib.format.read_array_header_1_0,
            (2, 0): np.lib.format.read_array_header_2_0,
        }
        if version not in read_header:
            raise ValueError(version)
        shape, _, dtype = read_header[version](f)
    except ValueError:
        raise NpzError(f"{name} is not a NumPy array (its header is damaged).") from None
    return dtype, tuple(shape)
