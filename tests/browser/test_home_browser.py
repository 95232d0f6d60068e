"""The Home page in real Chromium: draw a digit on the hero canvas with mouse events and get an
answer from the pretrained CNN, with the 28x28 input and the probability bars shown."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.browser

SLOW = 180_000  # ms: two shared cores


def canvas_locator(page, timeout_ms: float = SLOW):
    """The drawing surface: in the page (components v2) or inside the component's iframe.
    Polls for either, since count() does not wait for the component to load."""
    direct = page.locator("canvas.upper-canvas")
    framed = page.frame_locator("iframe").first.locator("canvas.upper-canvas")
    for _ in range(int(timeout_ms / 250)):
        if direct.count():
            return direct.first
        if page.locator("iframe").count() and framed.count():
            return framed.first
        page.wait_for_timeout(250)
    raise AssertionError("no drawing canvas on the page")


def test_draw_a_digit_on_home_and_get_an_answer(app_server, page, wait_for_app, screenshot):
    page.goto(app_server)
    wait_for_app(page, SLOW)
    page.get_by_text("The drawing is empty").first.wait_for(timeout=SLOW)  # the friendly hint
    assert page.get_by_text(re.compile(r"It's a \d")).count() == 0
    canvas = canvas_locator(page)
    canvas.wait_for(timeout=SLOW)
    box = canvas.bounding_box()
    x0, y0, w, h = box["x"], box["y"], box["width"], box["height"]
    # a '7' as a student draws it: across the top, then down to the bottom left
    page.mouse.move(x0 + 0.28 * w, y0 + 0.2 * h)
    page.mouse.down()
    for step in range(1, 16):
        page.mouse.move(x0 + (0.28 + 0.44 * step / 15) * w, y0 + 0.2 * h)
    for step in range(1, 21):
        page.mouse.move(x0 + (0.72 - 0.3 * step / 20) * w, y0 + (0.2 + 0.65 * step / 20) * h)
    page.mouse.up()

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
