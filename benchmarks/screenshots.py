"""The README's screenshots, taken from the running app in Chromium.

    python benchmarks/screenshots.py [--out assets/screenshots] [--width 1280 --height 720]

Starts `streamlit run app.py` on a free localhost port and writes, at a projector's
screen with the sidebar open (the tabs on a taller one, 1280 x 900):

  draw-and-predict.png   a 3 drawn with the mouse, the prediction, the probabilities, the 28x28 input
  live-training.png      a run training from the sidebar: progress bar, loss and accuracy curves growing
  compare-runs.png       runs at learning rates 0.01, 0.1, 1 and 10 on one chart, the diverged one marked
  look-inside.png        the notes' equations with the 784-10-10 network's shapes, beside the numbers
  test-set.png           the default model on the 10,000 test digits: confusion matrix, misread digits
  projector.png          projector mode while a run trains: large type, a huge answer, black on white
  phone.png              a 7 drawn with a finger on a 390 x 844 phone: the answer right under the canvas

Each PNG is reduced to a 256-colour palette (Pillow) so it stays small (< 300 KB).
Needs Playwright and Debian's Chromium (requirements-dev.txt); downloads nothing.
"""

from __future__ import annotations

import argparse
import io
import re
import sys
import time
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from browser_support import (  # noqa: E402
    APP,
    DIGITS,
    StreamlitServer,
    chromium,
    click_button,
    draw_digit,
    open_app,
    prediction,
    progress_value,
    set_learning_rate,
    set_number,
    sidebar_key,
    touch_draw,
    wait_for_app_run,
)

MAX_BYTES = 300 * 1024


def save_small(png: bytes, path: Path) -> int:
    """A screenshot as an optimised 256-colour PNG; returns its size in bytes."""
    img = Image.open(io.BytesIO(png)).convert("RGB")
    for colours in (256, 128, 64):
        small = img.quantize(colors=colours, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        buf = io.BytesIO()
        small.save(buf, "PNG", optimize=True)
        if buf.tell() <= MAX_BYTES:
            break
    path.write_bytes(buf.getvalue())
    return buf.tell()


def wait_run_done(page, number: int, timeout_s: float = 240) -> None:
    """Until the notice saying how run `number` ended is shown."""
    from playwright.sync_api import expect

    ended = page.get_by_text(re.compile(rf"^Run {number}(:| diverged)"))
    expect(ended.first).to_be_visible(timeout=timeout_s * 1000)
    wait_for_app_run(page)


def set_batch_size(page, value: str) -> None:
    """Move the "Batch size" select-slider with the keyboard until it shows `value`."""
    order = ["1", "8", "32", "128", "512", "2048", "all"]
    thumb = sidebar_key(page, "batch_size").get_by_role("slider")
    for _ in range(10):
        now = (thumb.get_attribute("aria-valuetext") or "").strip()
        if now == value:
            break
        thumb.press("ArrowRight" if order.index(now) < order.index(value) else "ArrowLeft")
        time.sleep(0.15)
    wait_for_app_run(page)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "assets" / "screenshots")
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=720)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import expect

    shots: dict[str, int] = {}
    with StreamlitServer(APP, log=Path("/tmp") / "digitnet_screenshots.log") as server, chromium() as browser:
        ctx = browser.new_context(
            viewport={"width": args.width, "height": args.height}, device_scale_factor=1
        )
        page = ctx.new_page()
        open_app(page, server.url)

        def shoot(name: str, **kw) -> None:
            time.sleep(0.8)  # charts finish their transition
            shots[name] = save_small(page.screenshot(**kw), args.out / name)

        # 1. Draw and predict.
        draw_digit(page, 3)
        expect(prediction(page)).to_have_text("3", timeout=30_000)
        wait_for_app_run(page)
        page.mouse.move(5, args.height - 5)  # no hover tooltips in the picture
        shoot("draw-and-predict.png")

        # 2. Live training: the notes' network, full batch, caught halfway.
        set_number(page, "epochs", 100)
        wait_for_app_run(page)
        click_button(page, "train")
        expect(page.get_by_test_id("stVegaLiteChart").nth(1)).to_be_visible(timeout=30_000)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and (progress_value(page) or 0) < 45:
            time.sleep(0.1)
        page.mouse.move(5, args.height - 5)  # canvas, answer, progress and both curves: one screen
        shoot("live-training.png")
        wait_run_done(page, 1)

        # 3. Compare runs: run 1 was α = 0.1; add α = 0.01, α = 1 and α = 10 (it diverges).
        page.set_viewport_size({"width": args.width, "height": 900})
        set_number(page, "epochs", 60)
        for number, lr in ((2, "0.01"), (3, "1"), (4, "10")):
            set_learning_rate(page, lr)
            click_button(page, "train")
            wait_run_done(page, number)
        page.get_by_role("tab", name="Compare runs").click()
        _scroll_main_to(page, page.get_by_role("tab", name="Compare runs"))  # drawn once on the screen
        wait_for_app_run(page)
        table = page.get_by_test_id("stDataFrame").first
        expect(table).to_be_visible(timeout=30_000)
        chart = page.get_by_test_id("stVegaLiteChart").last
        expect(chart).to_be_visible(timeout=30_000)
        _scroll_main_to(page, page.get_by_role("tab", name="Compare runs"))
        shoot("compare-runs.png")

        # 4. Look inside: the notes' 784-10-10 network (run 4: mini-batches of 128,
        #    a few epochs, ~90 %), for the drawing on the canvas.
        set_learning_rate(page, "0.1")
        set_batch_size(page, "128")
        set_number(page, "epochs", 5)
        click_button(page, "train")
        wait_run_done(page, 5)
        page.get_by_role("tab", name="Look inside").click()
        _scroll_main_to(page, page.get_by_role("tab", name="Look inside"))  # drawn once on the screen
        wait_for_app_run(page)
        expect(
            page.get_by_test_id("stMarkdown").filter(has_text="These are the notes' equations").first
        ).to_be_visible(timeout=30_000)
        _scroll_main_to(page, page.get_by_role("tab", name="Look inside"))
        shoot("look-inside.png")

        # 5. The test set, for the pretrained default model.
        click_button(page, "reset")
        wait_for_app_run(page)
        page.get_by_role("tab", name="Test set").click()
        _scroll_main_to(page, page.get_by_role("tab", name="Test set"))  # drawn once on the screen
        wait_for_app_run(page)
        expect(page.get_by_test_id("stMetric").filter(has_text="Test accuracy")).to_be_visible(timeout=60_000)
        _scroll_main_to(page, page.get_by_role("tab", name="Test set"))
        shoot("test-set.png")
        ctx.close()

        # 6. Projector mode, from its link, while a run trains.
        ctx = browser.new_context(
            viewport={"width": args.width, "height": args.height}, device_scale_factor=1
        )
        page = ctx.new_page()
        open_app(page, server.url + "?projector=true&epochs=100")
        draw_digit(page, 3)
        expect(prediction(page)).to_have_text("3", timeout=30_000)
        click_button(page, "train")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and (progress_value(page) or 0) < 30:
            time.sleep(0.1)
        page.mouse.move(5, args.height - 5)
        shoot("projector.png")
        click_button(page, "stop")
        ctx.close()

        # 7. A phone: a 7 drawn with a finger, the canvas at the top of the screen.
        ctx = browser.new_context(
            viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True, device_scale_factor=1
        )
        page = ctx.new_page()
        open_app(page, server.url)
        touch_draw(page, ctx.new_cdp_session(page), DIGITS[7])
        expect(prediction(page)).to_have_text("7", timeout=30_000)
        wait_for_app_run(page)
        _scroll_main_to(page, page.locator(".st-key-canvas"), offset=64)
        shoot("phone.png")
        ctx.close()

    for name, size in shots.items():
        flag = "" if size <= MAX_BYTES else "  (over 300 KB)"
        print(f"{args.out / name}: {size / 1024:.0f} KB{flag}")


def _scroll_main_to(page, locator, offset: int = 16) -> None:
    """Scroll the main area so that `locator` sits just under the top bar."""
    locator.evaluate(
        """(el, offset) => {
            const main = document.querySelector('[data-testid=stMain]') || document.scrollingElement;
            let scroller = el.parentElement;
            while (scroller && scroller.scrollHeight <= scroller.clientHeight + 1)
                scroller = scroller.parentElement;
            scroller = scroller || main;
            const top = el.getBoundingClientRect().top - scroller.getBoundingClientRect().top
                + scroller.scrollTop - offset;
            scroller.scrollTo(0, Math.max(0, top));
        }""",
        offset,
    )
    time.sleep(0.3)


if __name__ == "__main__":
    main()
