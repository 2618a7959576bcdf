"""How fast the app feels in a real browser: three figures, printed.

  (a) mouse-up -> prediction shown: the time from releasing the mouse after a
      stroke to the "Prediction" metric showing the digit, over N drawings
      (median and p95). The canvas component waits ~200 ms after a stroke
      before it sends the drawing: that is the floor.
  (b) page ready: navigation start -> the Prediction area shows the
      empty-canvas prompt (first open, then warm opens).
  (c) curve updates per second while training: how often the loss chart's
      lines actually change on screen (a MutationObserver on the charts' SVG
      paths; changes less than 100 ms apart count as one redraw), and how
      often the progress bar moves.

All times are taken inside the page (performance.now()), so Playwright's own
round trips do not count.

Usage (from the repository root; needs Playwright and Debian's Chromium, see
requirements-dev.txt; no browser is downloaded):

    python benchmarks/ui_latency.py [--drawings 10] [--opens 5] [--epochs 30] [--json]

It starts `streamlit run app.py` on a free localhost port and stops it at the end.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from browser_support import (  # noqa: E402
    APP,
    CANVAS,
    EMPTY_PROMPT,
    StreamlitServer,
    chromium,
    clear_canvas,
    click_button,
    draw_digit,
    open_app,
    percentile,
    prediction,
    set_number,
    wait_for_app_run,
)

# In-page probes. window.__dn.up: performance.now() of the last mouse/touch
# release; window.__dn.shown: when the Prediction metric last changed text.
PROBES = r"""
() => {
  if (window.__dn) return;
  const dn = window.__dn = {up: null, shown: [], chart: [], progress: [], prompt: null, watch: true};
  const release = () => { dn.up = performance.now(); };
  window.addEventListener('pointerup', release, true);
  window.addEventListener('mouseup', release, true);
  window.addEventListener('touchend', release, true);
  // textContent, not innerText: innerText lays the page out, and this runs after every change
  // to the page (the probe's own cost was ~4 ms of each stroke's time, a devtools profile said)
  const predictionText = () => {
    for (const m of document.querySelectorAll('[data-testid=stMetric]')) {
      const l = m.querySelector('[data-testid=stMetricLabel]');
      if (l && l.textContent.trim() === 'Prediction') {
        const v = m.querySelector('[data-testid=stMetricValue]');
        return v ? v.textContent.trim() : null;
      }
    }
    return null;
  };
  const chartSig = () => {
    let s = '';
    for (const p of document.querySelectorAll('[data-testid=stVegaLiteChart] .mark-line path'))
      s += (p.getAttribute('d') || '').length + ':' + (p.getAttribute('d') || '').slice(-24) + '|';
    return s;
  };
  const progress = () => {
    const b = document.querySelector('[data-testid=stProgress] [role=progressbar]');
    return b ? b.getAttribute('aria-valuenow') : null;
  };
  let last = {pred: predictionText(), chart: chartSig(), prog: progress()};
  new MutationObserver(() => {
    const t = performance.now();
    const pred = predictionText();
    if (pred !== last.pred) { dn.shown.push([t, pred]); last.pred = pred; }
    const c = dn.watch ? chartSig() : last.chart;  // off while drawings are timed: it reads every path
    // one redraw of the panel changes both charts a few ms apart: count it once
    if (c !== last.chart) {
        if (c && !(dn.chart.length && t - dn.chart[dn.chart.length - 1] < 100)) dn.chart.push(t);
        last.chart = c;
    }
    const p = progress();
    if (p !== last.prog) { if (p !== null) dn.progress.push([t, p]); last.prog = p; }
  }).observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true});
}
"""


def mouse_up_to_prediction(page, n: int, training: bool = False) -> list[float]:
    """Seconds from mouse-up to the right digit shown, for n drawings (canvas cleared in between).
    While a run `training` reads them, its answer may be any digit: then to the first digit shown."""
    from playwright.sync_api import expect

    digits = [1, 7, 0, 2, 3]  # one stroke each: the time counts from the only mouse-up
    out = []
    for i in range(n):
        d = digits[i % len(digits)]
        clear_canvas(page)
        expect(prediction(page)).to_have_text("—" if training else re.compile(rf"^(?!{d}$)"), timeout=30_000)
        wait_for_app_run(page)
        page.evaluate("() => { window.__dn.up = null; window.__dn.shown = []; }")
        draw_digit(page, d)
        # Leave the page alone while it answers: Playwright's polling runs on the page's own
        # main thread, the one that draws the answer, and would be counted in its time.
        time.sleep(1.0)
        page.wait_for_function(
            "(want) => window.__dn.up !== null && window.__dn.shown.some(([t, v]) => t >= window.__dn.up"
            " && (want === null ? /^[0-9]$/.test(v) : v === want))",
            arg=None if training else str(d),
            polling=250,
            timeout=30_000,
        )
        up, shown = page.evaluate("() => [window.__dn.up, window.__dn.shown]")
        t_shown = next(t for t, text in shown if (text.isdigit() if training else text == str(d)) and t >= up)
        out.append((t_shown - up) / 1000)
    return out


def while_training(page, n: int, epochs: int = 1000) -> list[float]:
    """mouse_up_to_prediction while this page's own run trains (then stopped)."""
    set_number(page, "epochs", epochs)
    wait_for_app_run(page)
    page.evaluate("() => { window.__dn.chart = []; }")
    click_button(page, "train")
    page.wait_for_function("() => window.__dn.chart.length >= 3", timeout=120_000)
    page.evaluate("() => { window.__dn.watch = false; }")
    out = mouse_up_to_prediction(page, n, training=True)
    page.evaluate("() => { window.__dn.watch = true; }")
    click_button(page, "stop")
    page.get_by_text(re.compile(r"Stopped after")).first.wait_for(timeout=60_000)
    return out


def page_ready(browser, url: str, n: int) -> list[float]:
    """Seconds from navigation start to the empty-canvas prompt, for n fresh tabs."""
    from playwright.sync_api import expect

    times = []
    for _ in range(n):
        ctx = browser.new_context(viewport={"width": 1400, "height": 900})
        page = ctx.new_page()
        page.add_init_script(
            "new MutationObserver((_, o) => { if (document.body && /draw a "
            "digit/i.test(document.body.innerText)"
            " && document.querySelector('[data-testid=stMetric]')) { window.__ready = performance.now(); "
            "o.disconnect(); } })"
            ".observe(document, {subtree: true, childList: true, characterData: true});"
        )
        page.goto(url)
        expect(page.get_by_text(EMPTY_PROMPT).first).to_be_visible(timeout=60_000)
        page.locator(CANVAS).wait_for(timeout=60_000)
        page.wait_for_function("() => window.__ready !== undefined", timeout=60_000)
        times.append(page.evaluate("() => window.__ready") / 1000)
        ctx.close()
    return times


def curve_updates(page, epochs: int) -> dict:
    """Train (epochs of the default settings) and count chart and progress-bar changes per second."""
    from playwright.sync_api import expect

    set_number(page, "epochs", epochs)
    wait_for_app_run(page)
    page.evaluate("() => { window.__dn.chart = []; window.__dn.progress = []; }")
    t0 = page.evaluate("() => performance.now()")
    click_button(page, "train")
    done = page.get_by_text(re.compile(r"Trained \d+ epochs?|Stopped|diverged|broke down|Converged")).first
    expect(done).to_be_visible(timeout=300_000)
    time.sleep(1.0)  # the last redraws after the end
    chart, prog = page.evaluate("() => [window.__dn.chart, window.__dn.progress]")
    if len(chart) < 2:
        return {
            "chart_updates": len(chart),
            "chart_updates_per_s": 0.0,
            "progress_updates_per_s": 0.0,
            "seconds": 0.0,
        }
    span = (chart[-1] - chart[0]) / 1000
    gaps = [(b - a) / 1000 for a, b in itertools.pairwise(chart)]
    pspan = (prog[-1][0] - prog[0][0]) / 1000 if len(prog) > 1 else 0.0
    return {
        "click_to_first_chart_s": (chart[0] - t0) / 1000,
        "chart_updates": len(chart),
        "seconds": span,
        "chart_updates_per_s": (len(chart) - 1) / span if span else 0.0,
        "chart_gap_median_s": statistics.median(gaps),
        "chart_gap_max_s": max(gaps),
        "progress_updates_per_s": (len(prog) - 1) / pspan if pspan else 0.0,
    }


def stop_settles(page, epochs: int = 1000) -> dict:
    """Seconds from clicking Stop to the page saying so, and to the curves' last change."""
    from playwright.sync_api import expect

    set_number(page, "epochs", epochs)
    wait_for_app_run(page)
    page.evaluate("() => { window.__dn.chart = []; }")
    click_button(page, "train")
    page.wait_for_function("() => window.__dn.chart.length >= 3", timeout=120_000)
    page.evaluate(
        "() => { const b = document.querySelector(\"[class*='st-key-stop'] button\");"
        " b.addEventListener('click', () => { window.__dn.stopAt = performance.now(); }, true); }"
    )
    click_button(page, "stop")
    said = page.get_by_text(re.compile(r"Stopped after")).first
    expect(said).to_be_visible(timeout=60_000)
    t_said = page.evaluate("() => performance.now()")
    time.sleep(3.0)  # any late redraw of the curves would land in here
    t0, chart = page.evaluate("() => [window.__dn.stopAt, window.__dn.chart]")
    return {"said_s": (t_said - t0) / 1000, "curves_still_s": max(0.0, (chart[-1] - t0) / 1000)}


def _summary(times: list[float]) -> dict | None:
    if not times:
        return None
    return {
        "n": len(times),
        "median": statistics.median(times),
        "p95": percentile(times, 95),
        "min": min(times),
        "max": max(times),
        "all": [round(x, 3) for x in times],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--drawings", type=int, default=10, help="drawings timed in (a); 0 skips it")
    ap.add_argument("--training-drawings", type=int, default=None, help="in (a'); default --drawings")
    ap.add_argument("--opens", type=int, default=5, help="page opens timed in (b); 0 skips it")
    ap.add_argument(
        "--epochs", type=int, default=30, help="epochs of the training watched in (c); 0 skips it"
    )
    ap.add_argument("--stops", type=int, default=3, help="trainings stopped in (d)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    n_training = args.drawings if args.training_drawings is None else args.training_drawings

    with StreamlitServer(APP, log=Path("/tmp") / "digitnet_ui_latency.log") as server, chromium() as browser:
        ready = page_ready(browser, server.url, args.opens) if args.opens else []
        ctx = browser.new_context(viewport={"width": 1400, "height": 900})
        page = ctx.new_page()
        open_app(page, server.url)
        page.evaluate(PROBES)
        lat = mouse_up_to_prediction(page, args.drawings)
        # curves first: a run stopped before would say "Stopped" already
        curves = curve_updates(page, args.epochs) if args.epochs else None
        lat_training = while_training(page, n_training) if n_training else []
        stops = [stop_settles(page) for _ in range(args.stops)]
        ctx.close()

    result = {
        "mouse_up_to_prediction_s": _summary(lat),
        "mouse_up_to_prediction_while_training_s": _summary(lat_training),
        "page_ready_s": {
            "first": ready[0],
            "warm_median": statistics.median(ready[1:]) if len(ready) > 1 else None,
            "all": [round(x, 3) for x in ready],
        }
        if ready
        else None,
        "training_epochs": args.epochs,
        "curves": curves,
        "stop_s": stops,
    }
    if args.json:
        print(json.dumps(result))
        return
    m, w, r = (
        result[k]
        for k in ("mouse_up_to_prediction_s", "mouse_up_to_prediction_while_training_s", "page_ready_s")
    )
    if m:
        print(
            f"mouse-up -> prediction shown ({m['n']} drawings): median {m['median'] * 1000:.0f} ms, "
            f"p95 {m['p95'] * 1000:.0f} ms, min {m['min'] * 1000:.0f} ms, max {m['max'] * 1000:.0f} ms "
            f"(floor: the canvas's ~200 ms debounce)"
        )
    if w:
        print(
            f"the same while this page's run trains ({w['n']} drawings): median {w['median'] * 1000:.0f} ms, "
            f"p95 {w['p95'] * 1000:.0f} ms"
        )
    if r:
        print(
            f"page ready (navigation -> prompt): first open {r['first']:.2f} s, "
            f"warm median {r['warm_median']:.2f} s over {len(r['all']) - 1} more opens"
            if r["warm_median"] is not None
            else f"page ready: {r['first']:.2f} s"
        )
    c = curves
    if c:
        print(
            f"training {args.epochs} epochs: chart changed {c['chart_updates']} times in "
            f"{c['seconds']:.1f} s = {c['chart_updates_per_s']:.1f} updates/s (median gap "
            f"{c.get('chart_gap_median_s', 0) * 1000:.0f} ms, "
            f"max {c.get('chart_gap_max_s', 0) * 1000:.0f} ms); "
            f"progress bar {c['progress_updates_per_s']:.1f} updates/s"
        )
    if stops:
        said = ", ".join(f"{x['said_s'] * 1000:.0f}" for x in stops)
        still = ", ".join(f"{x['curves_still_s'] * 1000:.0f}" for x in stops)
        print(
            f"Stop ({len(stops)} runs): click -> 'Stopped' shown {said} ms; "
            f"click -> curves' last change {still} ms"
        )


if __name__ == "__main__":
    main()
