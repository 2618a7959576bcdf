"""Arrays that several processes read without each holding a copy.

The app trains networks in worker processes (digitnet.jobs.worker), and every
training reads the same 55,000 images (43 MB of pixels). `share()` puts such
arrays into one block of shared memory, once per server; `ref()` of an array
that lies in such a block is a small picklable note (block name, offset,
shape), and `resolve()` in the worker maps the same memory back into an array.
An array outside a shared block travels as itself, i.e. as a copy: fine for the
small sets the tests use, and the fallback where shared memory is unavailable.

No Streamlit here, and nothing that needs a particular platform: Python's
`multiprocessing.shared_memory` works on Linux, macOS and Windows.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
from dataclasses import dataclass
from multiprocessing import shared_memory

import numpy as np

log = logging.getLogger(__name__)

_ALIGN = 64  # every array starts on a cache line
# (block, address) of the blocks made here, kept for the process's life
_created: list[tuple[shared_memory.SharedMemory, int]] = []
_attached: dict[str, shared_memory.SharedMemory] = {}  # blocks mapped from another process


@dataclass(frozen=True)
class SharedRef:
    """Where an array lies in a shared block: enough to map it in another process."""

    block: str
    offset: int
    shape: tuple[int, ...]
    strides: tuple[int, ...]
    dtype: str


def share(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Copy `arrays` into one new shared block and return read-only views of it,
    under the same names. If the system refuses the memory (a container's small
    /dev/shm, say), the arrays are returned as they are, and workers get copies."""
    offsets, size = {}, 0
    for name, a in arrays.items():
        offsets[name] = size
        size += -(-a.nbytes // _ALIGN) * _ALIGN
    try:
        block = shared_memory.SharedMemory(create=True, size=max(size, 1))
    except OSError as e:
        log.warning("no shared memory (%s): each training process will get its own copy of the data", e)
        return arrays
    address = np.frombuffer(block.buf, dtype=np.uint8).ctypes.data
    _created.append((block, address))
    atexit.register(_unlink, block)
    views = {}
    for name, a in arrays.items():
        view = np.ndarray(a.shape, a.dtype, buffer=block.buf, offset=offsets[name])
        view[...] = a
        view.flags.writeable = False  # shared by every session and process: nobody writes
        views[name] = view
    return views


def ref(a: np.ndarray) -> SharedRef | np.ndarray:
    """A note to pass to another process instead of `a`, if `a` lies in a block made by share()."""
    start = a.__array_interface__["data"][0]
    for block, address in _created:
        if address <= start < address + block.size:
            return SharedRef(block.name, start - address, a.shape, a.strides, a.dtype.str)
    return a


def resolve(r: SharedRef | np.ndarray) -> np.ndarray:
    """The array a `ref()` stands for, mapped from shared memory (read-only)."""
    if isinstance(r, np.ndarray):
        return r
    block = _attached.get(r.block)
    if block is None:
        block = _attached[r.block] = _attach(r.block)
    a = np.ndarray(r.shape, np.dtype(r.dtype), buffer=block.buf, offset=r.offset, strides=r.strides)
    a.flags.writeable = False
    return a


def _attach(name: str) -> shared_memory.SharedMemory:
    if sys.version_info >= (3, 13):
        return shared_memory.SharedMemory(name=name, track=False)
    block = shared_memory.SharedMemory(name=name)
    if os.name == "posix":
        # Before Python 3.13, attaching also hands the block to this process's
        # resource tracker, which deletes it when this process ends: the server
        # and the next worker would lose the data. The server made it; it frees it.
        from multiprocessing import resource_tracker

        resource_tracker.unregister(block._name, "shared_memory")
    return block


def _unlink(block: shared_memory.SharedMemory) -> None:
    """At exit of the process that made the block: free its name (and, once every
    process has let go, its memory). Not closed: the process's arrays still map it."""
    try:
        block.unlink()
    except OSError:
        pass
