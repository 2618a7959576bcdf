"""Both ends of the conversation between a job (in the server) and its worker process.

The server writes one `Job` to the worker's stdin; the worker writes `Report`s to
its stdout as it trains, then one `Done` or `Failed`. Anything more on stdin, or
stdin closing, asks the worker to stop before its next step, so a worker never
outlives the server that started it. Messages are pickled dataclasses: both ends
are this package, run by the same Python.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

from ..train import History, Progress, TrainConfig
from .shared import SharedRef

REPORT_EVERY = 0.1  # seconds between a worker's reports: the live curves' refresh
PARAMS_EVERY = 0.25  # seconds between copies of the weights in a report (the page predicts with them)

Params = dict[str, np.ndarray]


@dataclass(frozen=True)
class Job:
    """Server -> worker, once: what to train, from where."""

    config: TrainConfig
    params: Params  # the initial weights
    data: tuple[SharedRef | np.ndarray, ...]  # X_rows, y, X_val_rows, y_val, each shared or copied


@dataclass(frozen=True)
class Report:
    """Worker -> server, every REPORT_EVERY seconds and at every validation check."""

    progress: Progress  # the last step's
    history: History  # the steps and checks since the previous report
    params: Params | None  # the weights as they are now, every PARAMS_EVERY seconds


@dataclass(frozen=True)
class Done:
    """Worker -> server, last: how training ended, and the weights it ended with."""

    status: str  # "finished", "converged", "stopped" or "diverged"
    message: str
    seconds: float
    epochs: float
    params: Params


@dataclass(frozen=True)
class Failed:
    """Worker -> server, last: training raised; one sentence (the traceback is on stderr)."""

    sentence: str


def send(stream: BinaryIO, message: Job | Report | Done | Failed) -> None:
    pickle.dump(message, stream, protocol=pickle.HIGHEST_PROTOCOL)
    stream.flush()


def receive(stream: BinaryIO) -> Job | Report | Done | Failed:
    """The next message; EOFError once the other end has closed."""
    return pickle.load(stream)
