"""Driving the real app in a real browser: shared by tests/test_browser.py and benchmarks/.

Modelled on Streamlit's own e2e_playwright/conftest.py: start `streamlit run`
on a free port, poll /_stcore/health until it answers "ok", wait until the
script run has finished (the stApp element's data-test-script-state), find
elements by test id (`get_by_test_id`) or by widget key (`.st-key-<key>`), and
assert with `expect(...)` and explicit time-outs.

Playwright drives the system's Chromium (Debian: `apt-get install chromium`);
it never downloads a browser of its own (`playwright install` is not needed).

The canvas (streamlit-drawable-canvas 0.13, a Fabric.js canvas inside a
components-v2 element) takes mouse and touch events on
`.st-key-canvas canvas.upper-canvas`, and sends the drawing to the app
about 200 ms after the stroke ends.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP = Path(
    os.environ.get("DIGITNET_APP") or ROOT / "app.py"
)  # DIGITNET_APP: another script (harness development)

# Debian's Chromium as root in a container: no sandbox, no GPU, nothing phoned home.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # Many pages in one browser (the load test): keep background tabs running at full speed.
    "--disable-background-timer-throttling",
    "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
]
HOW_TO_ENABLE = (
    "pip install -r requirements-dev.txt (Playwright) and apt-get install -y chromium "
    "(Debian/Ubuntu; Playwright drives the system's Chromium, set DIGITNET_CHROMIUM to use another)"
)
CANVAS = ".st-key-canvas canvas.upper-canvas"
EMPTY_PROMPT = re.compile(r"draw a digit", re.I)  # the empty-canvas sentence (digitnet.preprocess.REASONS)


# ----------------------------------------------------------------------------- the browser


def find_chromium() -> str | None:
    """The Chromium to drive: $DIGITNET_CHROMIUM, /usr/bin/chromium, or `chromium` on PATH."""
    for candidate in (os.environ.get("DIGITNET_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None if they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed"
    if find_chromium() is None:
        return "no Chromium found (/usr/bin/chromium or chromium on PATH)"
    return None


def launch(playwright, **kwargs):
    return playwright.chromium.launch(executable_path=find_chromium(), args=CHROMIUM_ARGS, **kwargs)


# ----------------------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StreamlitServer:
    """`streamlit run app.py` on a free localhost port, in its own process group.

    Use as a context manager; `stop()` ends the server and anything it started."""

    def __init__(
        self,
        app: Path | str = APP,
        *,
        cwd: Path | str = ROOT,
        env: dict | None = None,
        log: Path | str | None = None,
        extra_args: Sequence[str] = (),
        prefix: Sequence[str] = (),
    ):
        self.app, self.cwd = Path(app), Path(cwd)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self._log_path = Path(log) if log else None
        self._extra = list(extra_args)
        self._prefix = list(prefix)  # e.g. ["nice", "-n", "-10"]: the server and every thread it starts
        self.proc: subprocess.Popen | None = None
        self._log = None

    def start(self, timeout: float = 90.0) -> StreamlitServer:
        cmd = [
            *self._prefix,
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(self.app),
            "--server.headless",
            "true",
            "--server.port",
            str(self.port),
            "--server.address",
            "127.0.0.1",
            "--browser.gatherUsageStats",
            "false",
            "--server.fileWatcherType",
            "none",
            *self._extra,
        ]
        self._log = open(self._log_path, "w") if self._log_path else subprocess.DEVNULL
        self.proc = subprocess.Popen(
            cmd,
            cwd=self.cwd,
            env=self._env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.wait_healthy(timeout)
        return self

    def wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"streamlit exited with code {self.proc.returncode}; see {self._log_path or 'its output'}"
                )
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as r:
                    if r.read().decode().strip() == "ok":
                        return
            except OSError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"streamlit did not answer /_stcore/health within {timeout:.0f} s")

    def rss_mb(self) -> float:
        """Resident memory of the server process, in MiB (Linux /proc)."""
        return rss_mb(self.proc.pid)

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self._end(force=False)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self._end(force=True)
                self.proc.wait(10)
        if self._log not in (None, subprocess.DEVNULL):
            self._log.close()
        self.proc = None

    def _end(self, force: bool) -> None:
        """Stop the server and what it started (its process group, with its training
        processes); on Windows, which has no process groups to signal, the server."""
        with contextlib.suppress(ProcessLookupError):
            if hasattr(os, "killpg"):
                os.killpg(self.proc.pid, signal.SIGKILL if force else signal.SIGTERM)
            elif force:
                self.proc.kill()
            else:
                self.proc.terminate()

    def __enter__(self) -> StreamlitServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


# ----------------------------------------------------------------------------- the page


def wait_for_app_run(page, timeout: float = 60_000) -> None:
    """Connected, and the script run finished (a live fragment may start again at once)."""
    page.wait_for_selector("[data-testid='stApp'][data-test-connection-state='CONNECTED']", timeout=timeout)
    page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=timeout)


def open_app(page, url: str, timeout: float = 60_000) -> None:
    page.goto(url, timeout=timeout)
    wait_for_app_run(page, timeout)
    page.locator(CANVAS).wait_for(state="visible", timeout=timeout)


def prediction(page):
    """The "Prediction" st.metric's value."""
    return (
        page.get_by_test_id("stMetric")
        .filter(has=page.get_by_test_id("stMetricLabel").filter(has_text=re.compile(r"^\s*Prediction\s*$")))
        .get_by_test_id("stMetricValue")
    )


def exceptions(page):
    return page.get_by_test_id("stException")


# ----------------------------------------------------------------------------- drawing

# Digits as strokes in the unit square (x right, y down), drawn into the middle of
# the canvas. Shapes a well-trained MNIST model reads without doubt once the
# drawing is preprocessed the MNIST way (crop, 20-px box, centre of mass).
DIGITS: dict[int, list[list[tuple[float, float]]]] = {
    1: [[(0.5, 0.0), (0.5, 1.0)]],
    7: [[(0.1, 0.0), (0.9, 0.0), (0.4, 1.0)]],
    0: [
        [
            (0.5 + 0.36 * math.sin(2 * math.pi * t / 24), 0.5 - 0.5 * math.cos(2 * math.pi * t / 24))
            for t in range(26)
        ]
    ],
    4: [[(0.6, 0.0), (0.05, 0.65), (0.95, 0.65)], [(0.7, 0.3), (0.7, 1.0)]],
    2: [
        [
            (0.1, 0.25),
            (0.3, 0.03),
            (0.6, 0.0),
            (0.85, 0.15),
            (0.85, 0.4),
            (0.55, 0.68),
            (0.05, 1.0),
            (0.5, 0.98),
            (0.95, 1.0),
        ]
    ],
    3: [
        [
            (0.1, 0.12),
            (0.45, 0.0),
            (0.8, 0.08),
            (0.85, 0.28),
            (0.5, 0.47),
            (0.85, 0.62),
            (0.9, 0.85),
            (0.55, 1.0),
            (0.08, 0.9),
        ]
    ],
}


def _canvas_box(page) -> dict:
    canvas = page.locator(CANVAS)
    canvas.scroll_into_view_if_needed()
    return canvas.bounding_box()


def _to_page(box: dict, pts: Sequence[tuple[float, float]], margin: float) -> list[tuple[float, float]]:
    size = 1 - 2 * margin
    return [
        (box["x"] + box["width"] * (margin + size * x), box["y"] + box["height"] * (margin + size * y))
        for x, y in pts
    ]


def _densify(pts: Sequence[tuple[float, float]], step: float) -> list[tuple[float, float]]:
    """Points every `step` px along the polyline: a mouse moves in small steps."""
    out = [pts[0]]
    for (x0, y0), (x1, y1) in itertools.pairwise(pts):
        n = max(1, int(math.hypot(x1 - x0, y1 - y0) / step))
        out += [(x0 + (x1 - x0) * i / n, y0 + (y1 - y0) * i / n) for i in range(1, n + 1)]
    return out


def draw(
    page, strokes: Sequence[Sequence[tuple[float, float]]], margin: float = 0.2, step: float = 6.0
) -> None:  # margin=0: the points are the canvas's own unit square, edges included
    """Draw strokes (unit-square coordinates) on the canvas with the mouse."""
    box = _canvas_box(page)
    for stroke in strokes:
        pts = _densify(_to_page(box, stroke, margin), step)
        page.mouse.move(*pts[0])
        page.mouse.down()
        for x, y in pts[1:]:
            page.mouse.move(x, y)
        page.mouse.up()


def draw_digit(page, digit: int, **kw) -> None:
    draw(page, DIGITS[digit], **kw)


def touch_draw(
    page, cdp, strokes: Sequence[Sequence[tuple[float, float]]], margin: float = 0.2, step: float = 6.0
) -> None:
    """Draw with a finger: Chromium's touch emulation via CDP Input.dispatchTouchEvent
    (the page's context must have has_touch=True)."""
    box = _canvas_box(page)
    for stroke in strokes:
        pts = _densify(_to_page(box, stroke, margin), step)
        cdp.send(
            "Input.dispatchTouchEvent",
            {"type": "touchStart", "touchPoints": [{"x": pts[0][0], "y": pts[0][1]}]},
        )
        for x, y in pts[1:]:
            cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def ink_at(page, x: float, y: float, radius: int = 2) -> int:
    """The brightest stroke pixel (0..255) within `radius` px of (x, y), unit-square
    coordinates on the canvas: read from the canvas's own drawing layer."""
    return page.locator(".st-key-canvas canvas.dc-canvas.lower-canvas").evaluate(
        """(c, [x, y, r]) => {
            const px = Math.round(x * c.width), py = Math.round(y * c.height);
            const x0 = Math.max(0, px - r), y0 = Math.max(0, py - r);
            const d = c.getContext('2d').getImageData(x0, y0, 2 * r + 1, 2 * r + 1).data;
            let best = 0;
            for (let i = 0; i < d.length; i += 4) best = Math.max(best, Math.min(d[i], d[i + 3]));
            return best;
        }""",
        [x, y, radius],
    )


def boxes(page, selectors: dict[str, str]) -> dict[str, tuple[int, int, int, int] | None]:
    """Where each part is on the screen now: (left, top, right, bottom) in px, rounded."""
    out = {}
    for name, selector in selectors.items():
        b = page.locator(selector).first.bounding_box()
        out[name] = (
            None
            if b is None
            else tuple(round(v) for v in (b["x"], b["y"], b["x"] + b["width"], b["y"] + b["height"]))
        )
    return out


def clear_canvas(page) -> None:
    """The app's own "Clear" button if it has one, else the canvas toolbar's reset."""
    own = page.locator(".st-key-clear button:visible")
    if own.count():
        own.first.click()
    else:
        page.locator(".st-key-canvas").get_by_role("button", name="Reset canvas & history").click()


# ----------------------------------------------------------------------------- sidebar


def sidebar_key(page, key: str):
    return page.get_by_test_id("stSidebar").locator(f".st-key-{key}")


def set_number(page, key: str, value: int | str) -> None:
    """Type into a number input or text input by widget key, committing with Enter."""
    box = sidebar_key(page, key).locator("input")
    box.fill(str(value))
    box.press("Enter")


def set_learning_rate(page, value: str) -> None:
    """Move the "Learning rate" select-slider with the keyboard until it shows `value`."""
    thumb = sidebar_key(page, "lr").get_by_role("slider")
    for _ in range(20):
        now = thumb.get_attribute("aria-valuetext") or ""
        if now.strip() == value:
            break
        order = ["0.001", "0.002", "0.005", "0.01", "0.02", "0.05", "0.1", "0.2", "0.5", "1", "2", "5", "10"]
        thumb.press("ArrowRight" if order.index(now.strip()) < order.index(value) else "ArrowLeft")
        time.sleep(0.15)
    wait_for_app_run(page)
    assert (thumb.get_attribute("aria-valuetext") or "").strip() == value, (
        f"learning rate stuck at {thumb.get_attribute('aria-valuetext')}"
    )


def click_button(page, key: str) -> None:
    page.locator(f".st-key-{key} button:visible").first.click()


def progress_value(page) -> float | None:
    """The first progress bar's value (0..100), or None if there is none."""
    bar = page.get_by_test_id("stProgress").locator("[role=progressbar]")
    if not bar.count():
        return None
    v = bar.first.get_attribute("aria-valuenow")
    return float(v) if v not in (None, "") else None


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return float("nan")
    s = sorted(values)
    return s[max(0, min(len(s) - 1, math.ceil(q / 100 * len(s)) - 1))]


@contextlib.contextmanager
def chromium(headless: bool = True) -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = launch(p, headless=headless)
        try:
            yield browser
        finally:
            browser.close()
