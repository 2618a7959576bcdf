"""What every session shares, loaded once per server process and never written to:
the MNIST arrays, the default model, the default model's test-set evaluation."""

from __future__ import annotations

import dataclasses

import streamlit as st

from digitnet import data as _data
from digitnet.data import FILES, MNIST, DataError, load_mnist
from digitnet.explain import Evaluation, evaluate
from digitnet.jobs import shared
from digitnet.jobs.budget import limit_blas_threads
from digitnet.model_io import DEFAULT_MODEL, ModelFileError, load
from digitnet.network import Network


@st.cache_resource(show_spinner=False)
def process_setup() -> bool:
    """Once per process: NumPy's BLAS on one thread (see digitnet.jobs.budget)."""
    limit_blas_threads(1)
    return True


def dataset() -> MNIST | str:
    """MNIST, or the plain sentence saying why it cannot be loaded. Keyed on the
    files' sizes and times, so restoring a damaged file needs no restart."""
    directory = _data.MNIST_DIR  # read at call time, so a test can point it elsewhere
    return _dataset(str(directory), tuple((name, *_stat(directory / name)) for name in FILES))


def _stat(path) -> tuple[int, int]:
    try:
        s = path.stat()
        return s.st_size, s.st_mtime_ns
    except OSError:
        return -1, -1


@st.cache_resource(show_spinner="Loading the 70,000 MNIST digits (once for everyone)…", max_entries=1)
def _dataset(directory: str, signature: tuple) -> MNIST | str:
    try:
        data = load_mnist(directory)
    except DataError as e:
        return str(e)
    # the training set into shared memory, so that training processes map it rather than copy it
    return dataclasses.replace(
        data, **shared.share({"train_pixels": data.train_pixels, "train_labels": data.train_labels})
    )


@st.cache_resource(show_spinner=False)
def default_model() -> tuple[Network, dict, str | None]:
    """The shipped model; if it is missing or damaged, an untrained network of the
    notes' shape and the sentence saying so (drawing still works, badly)."""
    try:
        net, meta = load(DEFAULT_MODEL)
        return net, meta, None
    except ModelFileError as e:
        # drawing and training still work; the page says so, and what reads the drawings is untrained
        net = Network.init((784, 10, 10), seed=0)
        return (
            net,
            {"untrained": True},
            f"The default model `{SHIPPED}` cannot be used: {str(e).rstrip('.')}. "
            f"Restore it with `git checkout -- {SHIPPED}`; until then an untrained network reads your "
            "drawings "
            "(training still works).",
        )


SHIPPED = "assets/default_model.npz"  # as the repository names it: the command to restore it uses this


@st.cache_resource(show_spinner="Evaluating the default model on the 10,000 test digits…", max_entries=1)
def default_evaluation(_data: MNIST) -> Evaluation:
    """Shared: every session starts with the default model."""
    net, _, _ = default_model()
    return evaluate(net, _data.test_images, _data.test_labels)
