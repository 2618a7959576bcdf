"""The page under a busy server, in a real browser: several runs' messages arriving in one batch,
part of them dropped by Streamlit, must still make a page that answers (issue 17: under the
load test, one run in three, the page stopped with "Cannot set a node at a delta path").

The server is tests/held_app.py: the app, with its sending held back on purpose. (Server and
browser otherwise as in test_browser.py; run alone with
`python -m pytest tests/test_browser_burst.py`.)"""

from __future__ import annotations

import re
import time

import pytest
from browser_support import (
    DIGITS,
    ROOT,
    StreamlitServer,
    click_button,
    draw,
    exceptions,
    open_app,
    prediction,
    set_number,
)
from test_browser import TIMEOUT, _expect, _need_browser, _new_page, _stop, browser  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

# What the page itself reports: Streamlit's element tree throws while it applies the messages.
ERRORS = """window.digitnetErrors = [];
const report = console.error.bind(console);
console.error = (...args) => { window.digitnetErrors.push(args.map(String).join(' ')); report(...args); };
window.addEventListener('error', e => window.digitnetErrors.push(e.message));"""


@pytest.fixture(scope="module")
def held(tmp_path_factory):
    """The held app on a free port: (its address, the flag that holds its sending, the run log)."""
    _need_browser()
    tmp = tmp_path_factory.mktemp("held")
    hold, runs, log = tmp / "hold", tmp / "runs.log", tmp / "server.log"
    server = StreamlitServer(
        ROOT / "tests" / "held_app.py",
        log=log,
        env={"DIGITNET_HOLD": str(hold), "DIGITNET_RUN_LOG": str(runs)},
    )
    try:
        server.start(timeout=90)
    except Exception:
        server.stop()
        raise
    yield server.url, hold, runs
    server.stop()
    assert "Traceback" not in log.read_text(), f"the server logged a traceback:\n{log.read_text()[-3000:]}"


@pytest.fixture(scope="module")
def app_url(held):  # for test_browser's browser fixture
    return held[0]


def test_a_burst_of_runs_while_training_leaves_a_page_that_answers(browser, held):  # noqa: F811
    """While a run trains (the answer, the live panel and Look inside redraw themselves), the
    server sends nothing for a few seconds: a whole run (a sidebar setting), a stroke and a
    change of tab happen, with the timed redraws between them. Then all of it arrives at once.
    The page shows no error and still reads a drawing."""
    expect = _expect()
    url, hold, runs = held
    # tall enough for the canvas and Look inside at once: the view below redraws only on the screen
    context, page = _new_page(browser, viewport={"width": 1400, "height": 1300})
    page.add_init_script(ERRORS)
    try:
        open_app(page, url + "/?epochs=1000&batch_size=128", timeout=60_000)
        draw(page, DIGITS[7])
        expect(prediction(page)).to_have_text("7", timeout=TIMEOUT)
        click_button(page, "train")
        expect(page.get_by_text(re.compile(r"Run 1, still training")).first).to_be_attached(timeout=60_000)

        hold.touch()
        try:
            set_number(page, "seed", 1)  # a whole run
            time.sleep(1.5)  # the timed redraws: the answer's, the live panel's, Look inside's
            draw(page, DIGITS[1])  # the answer (and the canvas's Undo)
            time.sleep(1.5)
            page.get_by_role("tab", name="Compare runs").click()  # the views
            time.sleep(1.5)
        finally:
            hold.unlink()
        # What makes the case: after the whole run, runs of fragments dropped unsent messages.
        held_runs = runs.read_text().splitlines()
        whole = next((i for i, run in enumerate(held_runs) if run.startswith("whole")), len(held_runs))
        assert any(int(run.split()[-1]) for run in held_runs[whole + 1 :]), held_runs

        expect(page.get_by_text(re.compile(r"Run 1, still training")).first).to_be_attached(timeout=TIMEOUT)
        time.sleep(2)  # the batch is handled, and the redraws after it
        assert page.evaluate("window.digitnetErrors") == []
        _stop(page, expect)
        click_button(page, "clear")
        expect(prediction(page)).to_have_text("—", timeout=TIMEOUT)
        page.evaluate("document.querySelector('[data-testid=stMain]').scrollTo(0, 0)")  # the canvas whole
        draw(page, DIGITS[1])
        expect(prediction(page)).to_have_text(re.compile(r"^[0-9]$"), timeout=TIMEOUT)
        expect(exceptions(page)).to_have_count(0)
    finally:
        context.close()
