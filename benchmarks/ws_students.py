"""Simulated students that speak Streamlit's websocket protocol directly (no browser).

One real Chromium tab records what the page sends when a person draws each digit,
presses Clear, sets Epochs and presses Train (BackMsg protobufs: the widget ids of
keyed widgets are the same in every session). A `WsStudent` then opens its own
session on /_stcore/stream and replays those messages, answering the server's
auto-rerun requests for the live panel the way the page's timer does. It costs the
machine almost nothing, so N of them load the server the way N students on their
own computers would; the time from sending a drawing to receiving the Prediction
metric is the server's part of mouse-up -> prediction (the page adds the canvas's
~200 ms debounce and its own rendering).

Used by load_test.py; nothing here is a test on its own.
"""

from __future__ import annotations

import asyncio
import collections
import random
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from browser_support import DIGITS  # noqa: E402

from ui import after  # noqa: E402

DRAW_DIGITS = [1, 7, 0, 2, 3]
SLOW = 5.0  # s: a drawing answered later than this keeps its messages too (stalls)
LATE = after.LATE_MS / 1000  # s: the page asks for the drawing's part again when no answer came
TRIGGERS = ("trigger_value", "string_trigger_value", "json_trigger_value")


@dataclass
class Recording:
    load: bytes
    draw: dict[int, bytes]  # digit -> the rerun carrying the canvas with it drawn
    clear: list[bytes]  # Clear's trigger, then the canvas's empty drawing
    train: bytes  # Train's trigger (Epochs as recorded: set it with with_epochs)
    auto: bytes  # an auto-rerun of the live panel (fragment)
    painted: bytes | None = (
        None  # "the answer is painted": the page then asks for the tab below (ui/after.py)
    )

    def painted_in_view(self, in_view: bool, nothing: bool = False) -> bytes:
        """The "painted" report, saying whether the tab below is on the screen; with `nothing`,
        the one the page sends when no run of the drawing followed a stroke (ui/after.py):
        nothing painted (due null), which reruns the drawing's part."""
        from streamlit.proto.BackMsg_pb2 import BackMsg

        m = BackMsg()
        m.ParseFromString(self.painted)
        for w in m.rerun_script.widget_states.widgets:
            if w.WhichOneof("value") == "json_trigger_value" and "after_paint" in w.id:
                value = re.sub(
                    r'"in_view":\s*(true|false)', f'"in_view": {str(in_view).lower()}', w.json_trigger_value
                )
                w.json_trigger_value = re.sub(r'"due":\s*[^,}]+', '"due": null', value) if nothing else value
        return m.SerializeToString()

    def with_epochs(self, msg: bytes, epochs: int) -> bytes:
        from streamlit.proto.BackMsg_pb2 import BackMsg

        m = BackMsg()
        m.ParseFromString(msg)
        for w in m.rerun_script.widget_states.widgets:
            if w.id.endswith("-epochs"):
                w.int_value = epochs
        m.rerun_script.query_string = re.sub(r"epochs=\d+", f"epochs={epochs}", m.rerun_script.query_string)
        return m.SerializeToString()


def record(page, expect_prediction) -> Recording:
    """Drive one real page (sync Playwright) and keep the messages it sends."""
    from browser_support import (
        clear_canvas,
        click_button,
        draw_digit,
        prediction,
        set_number,
        wait_for_app_run,
    )
    from streamlit.proto.BackMsg_pb2 import BackMsg

    sent: list[tuple[str, bytes]] = []
    tag = ["load"]
    page.on(
        "websocket",
        lambda ws: ws.on("framesent", lambda p: isinstance(p, bytes) and sent.append((tag[0], p))),
    )
    page.reload()
    wait_for_app_run(page)
    page.locator(".st-key-canvas canvas.upper-canvas").wait_for(timeout=60_000)
    time.sleep(0.5)
    draws = {}
    for d in DRAW_DIGITS:
        tag[0] = f"clear{d}"
        clear_canvas(page)
        expect_prediction(prediction(page), "—")
        wait_for_app_run(page)
        tag[0] = f"draw{d}"
        draw_digit(page, d)
        expect_prediction(prediction(page), str(d))
        wait_for_app_run(page)
    tag[0] = "clear"
    clear_canvas(page)
    expect_prediction(prediction(page), "—")
    wait_for_app_run(page)
    tag[0] = "epochs"
    set_number(page, "epochs", 500)  # long enough to record the live panel's auto-reruns; stopped below
    wait_for_app_run(page)
    tag[0] = "train"
    click_button(page, "train")
    deadline = time.monotonic() + 30
    auto = None
    while time.monotonic() < deadline and auto is None:
        page.wait_for_timeout(200)
        for t, p in sent:
            m = BackMsg()
            m.ParseFromString(p)
            if t == "train" and m.WhichOneof("type") == "rerun_script" and m.rerun_script.fragment_id:
                auto = p
                break
    stop = page.locator(".st-key-stop button:visible").first
    if stop.is_enabled():
        stop.click()

    def reruns(t, widget: str | None = None, painted: bool = False):
        """The reruns the page asked for (not its timer's), those that change `widget`, and
        with the "painted" report after the answer (ui/after.py) or without it."""
        out = []
        for tg, p in sent:
            m = BackMsg()
            m.ParseFromString(p)
            if tg != t or m.WhichOneof("type") != "rerun_script" or m.rerun_script.is_auto_rerun:
                continue
            ids = [
                w.id
                for w in m.rerun_script.widget_states.widgets
                if w.WhichOneof("value") == "json_trigger_value"
            ]
            if any("after_paint" in i for i in ids) != painted:
                continue
            if widget is None or any(w.id.endswith(widget) for w in m.rerun_script.widget_states.widgets):
                out.append(p)
        return out

    for d in DRAW_DIGITS:
        draws[d] = reruns(f"draw{d}", "canvas")[-1]  # the last: the whole stroke
    load = next(p for t, p in sent if t == "load")
    if auto is None:
        raise RuntimeError("no auto-rerun of the live panel was recorded")
    painted = reruns("load", painted=True) or reruns(f"draw{DRAW_DIGITS[0]}", painted=True)
    return Recording(
        load=load,
        draw=draws,
        clear=reruns("clear"),
        train=reruns("train")[0],
        auto=auto,
        painted=painted[0] if painted else None,
    )


@dataclass
class WsStudent:
    number: int
    trainer: bool
    url: str
    rec: Recording
    latencies: list[tuple[float, float]] = field(default_factory=list)  # (wall time sent, seconds)
    failures: list[str] = field(default_factory=list)
    exceptions: int = 0
    outcome: str | None = None
    waited: bool = False
    max_ahead: int | None = None
    train_clicked: float | None = None
    train_ended: float | None = None
    runs: int = 0
    progress_seen: float | None = None  # when a progress bar (a run training) last arrived
    headers: dict[str, str] | None = None  # sent with the WebSocket request (a cookie, as a browser would)
    # seconds from an answer on the screen to the next drawing sent (Clear, then drawing a digit),
    # drawn at random between the two, each student its own: a class is not in step
    pause: tuple[float, float] = (0.5, 0.5)
    # whether the tab below the lesson is on this student's screen: on a laptop the lesson
    # fills it, and the page redraws the tab after a drawing only once it is scrolled to
    in_view: bool = True
    _ws: object = None
    _reader: asyncio.Task | None = None
    _auto: asyncio.Task | None = None
    _prediction: str | None = None
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    _finished: asyncio.Event = field(default_factory=asyncio.Event)
    _whole: asyncio.Event = field(default_factory=asyncio.Event)  # the sidebar's Train has arrived
    _timers: dict[str, float] = field(default_factory=dict)  # fragment id -> run_every, as the page has them
    _texts: list[str] = field(default_factory=list)
    # the last messages both ways, (seconds, "in"/"out", what), and a copy of them for each
    # drawing that got no answer in time or a late one (SLOW): which run was lost, or held up
    heard: collections.deque = field(default_factory=lambda: collections.deque(maxlen=200))
    stalls: list[dict] = field(default_factory=list)
    nudged: int = 0  # drawings whose answer the page asked for again (LATE)
    _rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.number)  # the same pauses at every run of the test

    _states: bytes | None = None  # the widget states last sent (an auto-rerun carries them too)

    async def _send(self, msg: bytes, changes: str | None = None) -> None:
        """Send a recorded rerun with this student's own widget values, but for the widget
        whose id ends with `changes` (the one the person changed) and button triggers; and
        remember them. (A recorded Clear carries the recording tab's drawing: sent as it is,
        it would change this student's canvas to that drawing.)"""
        from streamlit.proto.BackMsg_pb2 import BackMsg
        from streamlit.proto.WidgetStates_pb2 import WidgetStates

        m = BackMsg()
        m.ParseFromString(msg)
        if m.WhichOneof("type") == "rerun_script" and not m.rerun_script.is_auto_rerun:
            mine = WidgetStates()
            if self._states is not None:
                mine.ParseFromString(self._states)
            current = {w.id: w for w in mine.widgets}
            sent = WidgetStates()
            for w in m.rerun_script.widget_states.widgets:
                if w.WhichOneof("value") in TRIGGERS or (changes and w.id.endswith(changes)):
                    sent.widgets.add().CopyFrom(w)
                elif w.id in current:  # this student's own value, not the recording tab's
                    sent.widgets.add().CopyFrom(current[w.id])
                # else: a value this student never set (the recording tab's drawing): left out
            m.rerun_script.widget_states.CopyFrom(sent)
            self._log("out", f"rerun {m.rerun_script.fragment_id or 'whole'} {changes or ''}".strip())
            for w in sent.widgets:
                if w.WhichOneof("value") not in TRIGGERS:
                    current[w.id] = w
            keep = WidgetStates()  # every value this student has, not only those in this message
            for w in current.values():
                keep.widgets.add().CopyFrom(w)
            self._states = keep.SerializeToString()
            self._query = m.rerun_script.query_string
            msg = m.SerializeToString()
        await self._ws.send(msg)

    def _auto_message(self, fragment_id: str) -> bytes:
        from streamlit.proto.BackMsg_pb2 import BackMsg

        m = BackMsg()
        m.ParseFromString(self.rec.auto)
        m.rerun_script.fragment_id = fragment_id
        if self._states is not None:
            m.rerun_script.widget_states.ParseFromString(self._states)
            m.rerun_script.query_string = self._query
        return m.SerializeToString()

    async def connect(self, timeout: float = 90) -> float:
        import websockets

        t0 = time.monotonic()
        ws_url = self.url.replace("http://", "ws://") + "/_stcore/stream"
        self._ws = await websockets.connect(
            ws_url,
            subprotocols=["streamlit"],
            max_size=None,
            open_timeout=timeout,
            additional_headers=self.headers,
        )
        self._reader = asyncio.create_task(self._read())
        self._auto = asyncio.create_task(self._auto_rerun())
        self._finished.clear()
        await self._send(self.rec.load)
        await asyncio.wait_for(self._wait_prediction(lambda v: v is not None), timeout)
        await self._painted(first=True)
        # As a person: Train can be pressed once it is on the screen. The page's first run
        # leaves out the sidebar, which comes in the run the "painted" report asks for; a
        # Train sent before it reached a page without the button and was lost (ui/after.py).
        await asyncio.wait_for(self._whole.wait(), timeout)
        return time.monotonic() - t0

    async def _painted(self, first: bool = False) -> None:
        """What the page does once it has painted the answer: ask for the rest of the page
        (its first run), or for the tab below if it is on the screen (ui/after.py)."""
        if self.rec.painted is not None and (first or self.in_view):
            await self._send(self.rec.painted_in_view(self.in_view))

    async def close(self) -> None:
        for task in (self._auto, self._reader):
            if task is not None:
                task.cancel()
        if self._ws is not None:
            await self._ws.close()
            self._ws = None

    async def _read(self) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        async for raw in self._ws:
            m = ForwardMsg()
            m.ParseFromString(raw)
            kind = m.WhichOneof("type")
            if kind == "new_session":
                self._log("in", f"run {','.join(m.metadata.run.fragment_ids) or 'whole'}")
            elif kind in ("script_finished", "auto_rerun", "stop_auto_rerun"):
                self._log("in", f"{kind} {str(getattr(m, kind)).strip()[:60]}")
            if kind == "delta" and m.delta.WhichOneof("type") == "new_element":
                el = m.delta.new_element
                which = el.WhichOneof("type")
                if which == "metric":
                    self._log("in", f"metric {el.metric.label}={el.metric.body}")
                if which == "metric" and el.metric.label == "Prediction":
                    self._prediction = el.metric.body
                    self._changed.set()
                elif which == "button" and el.button.label == "Train":
                    self._whole.set()
                elif which == "exception":
                    self.exceptions += 1
                    self.failures.append(f"exception: {el.exception.message[:120]}")
                elif which == "progress":
                    self.progress_seen = time.monotonic()
                elif which == "alert":
                    self._texts.append(el.alert.body)
                    self._note(el.alert.body)
                elif which == "markdown":
                    self._note(el.markdown.body)
            elif kind == "auto_rerun":
                self._timers[m.auto_rerun.fragment_id] = m.auto_rerun.interval
            elif kind == "stop_auto_rerun":
                for fragment_id in m.stop_auto_rerun.fragment_ids:
                    self._timers.pop(fragment_id, None)
            elif kind == "script_finished":
                self._finished.set()

    def _log(self, way: str, what: str) -> None:
        self.heard.append((round(time.monotonic(), 3), way, what))

    def _note(self, text: str) -> None:
        m = re.search(r"Waiting for a free training slot: (\d+) ahead", text)
        if m:
            self.waited = True
            self.max_ahead = max(self.max_ahead or 0, int(m.group(1)))
        if self.runs and re.match(rf"Run {self.runs}(:| diverged)", text) and self.outcome is None:
            self.outcome = text.strip()
            self.train_ended = time.monotonic()

    async def _auto_rerun(self) -> None:
        """What the page's timers do: each fragment with run_every set (the live run, the
        answer while a run trains, Look inside while a run trains) asks for its own rerun at
        its own pace."""
        due: dict[str, float] = {}
        while True:
            await asyncio.sleep(0.02)
            now = time.monotonic()
            for fragment_id, interval in list(self._timers.items()):
                if fragment_id not in due:
                    due[fragment_id] = now + interval
                elif now >= due[fragment_id] and self._ws is not None:
                    due[fragment_id] = now + interval
                    self._log("out", f"timer {fragment_id}")
                    await self._ws.send(self._auto_message(fragment_id))
            for fragment_id in set(due) - set(self._timers):
                del due[fragment_id]

    async def _wait_prediction(self, ok) -> str:
        while not ok(self._prediction):
            self._changed.clear()
            await self._changed.wait()
        return self._prediction

    async def draw(self, digit: int, timeout: float = 90) -> None:
        """Clear, then send the drawing; time until the Prediction metric shows a digit."""
        for msg, changes in zip(self.rec.clear, (None, "canvas"), strict=False):
            self._finished.clear()
            await self._send(msg, changes)
        await asyncio.wait_for(self._wait_prediction(lambda v: v is not None and not v.isdigit()), timeout)
        await self._painted()
        await asyncio.wait_for(self._finished.wait(), timeout)  # the page is drawn: now the person draws
        await asyncio.sleep(self._rng.uniform(*self.pause))
        wall = time.monotonic()
        self._prediction = None
        await self._send(self.rec.draw[digit], "canvas")
        answered = asyncio.ensure_future(self._wait_prediction(lambda v: v is not None and v.isdigit()))
        try:  # as the page does: no answer after LATE s, ask for the drawing's part again
            await asyncio.wait_for(asyncio.shield(answered), LATE)
        except TimeoutError:
            self.nudged += 1
            self._log("out", "nudge")
            await self._send(self.rec.painted_in_view(self.in_view, nothing=True))
            await asyncio.wait_for(answered, timeout - LATE)
        self.latencies.append((wall, time.monotonic() - wall))
        if self.latencies[-1][1] > SLOW:
            late = round(self.latencies[-1][1], 2)
            self.stalls.append({"answered_after_s": late, "messages": list(self.heard)})
        await self._painted()

    async def train(self, epochs: int) -> None:
        self.runs += 1
        self.outcome = None
        self.train_clicked = time.monotonic()
        await self._send(self.rec.with_epochs(self.rec.train, epochs), "epochs")

    async def wait_trained(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.outcome is None and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        if self.outcome is None:
            self.outcome = "no end notice within the time limit"

    async def rounds(self, n: int) -> None:
        for r in range(n):
            try:
                await self.draw(DRAW_DIGITS[(self.number + r) % len(DRAW_DIGITS)])
            except Exception as e:
                self.failures.append(f"drawing round {r}: {type(e).__name__}")
                self.stalls.append({"round": r, "messages": list(self.heard)})


assert set(DRAW_DIGITS) <= set(DIGITS)
