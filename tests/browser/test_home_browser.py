"""The Home page in real Chromium: draw a digit on the hero canvas with mouse events and get an
answer from the pretrained CNN, with the 28x28 input and the probability bars shown."""

from __future__ import annotations

import re

import pytest

from tests.browser.drawing import SLOW, canvas_locator, draw_seven

pytestmark = pytest.mark.browser


def test_draw_a_digit_on_home_and_get_an_answer(app_server, page, wait_for_app, screenshot):
    page.goto(app_server)
    wait_for_app(page, SLOW)
    page.get_by_text("The drawing is empty").first.wait_for(timeout=SLOW)  # the friendly hint
    assert page.get_by_text(re.compile(r"It's a \d")).count() == 0
    draw_seven(page, canvas_locator(page))

    verdict = page.get_by_text(re.compile(r"It's a \d"))
    verdict.first.wait_for(timeout=SLOW)
    wait_for_app(page, SLOW)
    screenshot(page, "home_draw")
    exceptions = page.locator("[data-testid='stException']")
    assert exceptions.count() == 0, exceptions.first.inner_text()
    assert page.js_errors == []
    assert page.get_by_text("The drawing is empty").count() == 0
    assert re.search(r"\d+% sure", page.locator("[data-testid='stMain']").inner_text())
    charts = page.locator("[data-testid='stMain'] [data-testid='stPlotlyChart']")
    assert charts.count() == 2  # the 28x28 input and the probability bars
    assert page.get_by_text("Its input: 28×28").first.is_visible()
