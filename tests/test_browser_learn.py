"""Learn by doing, in a real browser: teach the network a drawing as another digit and
see it read so; press Step and see its numbers change. (Server and browser as in
test_browser.py; run alone with `python -m pytest tests/test_browser_learn.py`.)"""

from __future__ import annotations

import re

import pytest
from browser_support import click_button, draw_digit, exceptions, prediction, wait_for_app_run
from test_browser import TIMEOUT, _expect, app_url, browser, page  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser


def test_teaching_a_drawing_as_another_digit_makes_it_read_so(page):  # noqa: F811
    expect = _expect()
    draw_digit(page, 1)
    expect(prediction(page)).to_have_text("1", timeout=TIMEOUT)
    page.locator(".st-key-teach_label").get_by_role("radio", name="7", exact=True).click()
    wait_for_app_run(page)
    click_button(page, "teach")
    expect(page.get_by_text(re.compile(r"Taught a 7: this drawing 1 \(\d+%\) → 7")).first).to_be_visible(
        timeout=TIMEOUT
    )
    expect(prediction(page)).to_have_text("7", timeout=TIMEOUT)
    expect(
        page.get_by_text(re.compile(r"MNIST validation accuracy \d+\.\d\d% → \d+\.\d\d%")).first
    ).to_be_visible()
    page.get_by_role("tab", name="My digits").click()  # the drawing joined My digits, read as taught
    page.locator(".st-key-views").scroll_into_view_if_needed()  # drawn once on the screen
    expect(page.get_by_text("a 7, read 7 ✓")).to_be_visible(timeout=TIMEOUT)
    page.get_by_role("tab", name="Why this answer").click()  # the gradient for the answer and the runner-up
    page.locator(".st-key-views").scroll_into_view_if_needed()  # drawn once on the screen
    expect(page.get_by_role("heading", name="Why a 7")).to_be_visible(timeout=TIMEOUT)
    expect(page.get_by_role("heading", name=re.compile(r"^What would make it a \d$"))).to_be_visible()
    expect(exceptions(page)).to_have_count(0)


def _step_line(p) -> str:
    line = p.get_by_text(re.compile(r"^Step \d+ \(this press")).first
    _expect()(line).to_be_visible(timeout=TIMEOUT)
    return line.inner_text()


def test_step_takes_one_step_and_its_numbers_change(page):  # noqa: F811
    expect = _expect()
    draw_digit(page, 7)
    expect(prediction(page)).to_have_text("7", timeout=TIMEOUT)
    click_button(page, "step")  # from the default model: a new run from random weights
    wait_for_app_run(page)
    first = _step_line(page)
    assert first.startswith("Step 1 (this press: 1 step)"), first
    click_button(page, "step")
    expect(page.get_by_text(re.compile(r"^Step 2 \(this press")).first).to_be_visible(timeout=TIMEOUT)
    second = _step_line(page)
    numbers = [re.findall(r"\d+\.\d+", line) for line in (first, second)]
    assert numbers[0] != numbers[1] and len(numbers[1]) >= 4, (first, second)  # loss and P before -> after
    page.get_by_role("tab", name="Step by step").click()
    page.locator(".st-key-views").scroll_into_view_if_needed()  # drawn once on the screen
    expect(page.get_by_text("The update rule, with numbers").first).to_be_visible(timeout=TIMEOUT)
    expect(page.get_by_text(re.compile(r"Run \d+ — Step 2")).first).to_be_visible()
    expect(exceptions(page)).to_have_count(0)
