"""The Home page in real Chromium: draw a digit on the hero canvas with mouse events and get an
answer from the pretrained CNN, with the 28x28 input and the probability bars shown; on a phone,
the answer is on screen."""

from __future__ import annotations

import re

import pytest

from tests.browser.drawing import SLOW, canvas_locator, draw_seven

pytestmark = pytest.mark.browser


def test_draw_a_digit_on_home_and_get_an_answer(app_server, page, wait_for_app, screenshot):
    page.goto(app_server)
    wait_for_app(page, SLOW)
    page.get_by_text("The drawing is empty").first.wait_for(timeout=SLOW)  # the friendly hint
    assert page.get_by_text(re.compile(r"It's an? \d")).count() == 0
    draw_seven(page, canvas_locator(page))

    verdict = page.get_by_text(re.compile(r"It's an? \d"))
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


PHONE = dict(viewport={"width": 390, "height": 844}, device_scale_factor=3, is_mobile=True, has_touch=True)


def in_viewport(page, locator) -> bool:
    box = locator.bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= page.viewport_size["height"]


def test_on_a_phone_the_answer_is_on_screen(app_server, browser, wait_for_app, screenshot, mnist_dir):
    """390x844: the answer ("It's a 7", how sure) sits above the canvas, so it is on screen while the
    student draws; a test digit's answer is on screen without scrolling at all."""
    context = browser.new_context(**PHONE)
    try:
        page = context.new_page()
        page.set_default_timeout(SLOW)
        page.goto(app_server)
        wait_for_app(page, SLOW)
        canvas = canvas_locator(page)
        canvas.scroll_into_view_if_needed()
        draw_seven(page, canvas)
        verdict = page.locator(".st-key-home_verdict")
        verdict.get_by_text(re.compile(r"It's an? \d")).wait_for(timeout=SLOW)
        wait_for_app(page, SLOW)
        screenshot(page, "home_phone_draw")
        assert verdict.inner_text().startswith("It's a 7") and "% sure" in verdict.inner_text()
        assert in_viewport(page, verdict)
        assert 0 <= canvas.bounding_box()["y"] < page.viewport_size["height"] - 200  # and the canvas under it

        page.goto(f"{app_server}/?home_source=test&home_class=3")  # a link straight to a test digit
        wait_for_app(page, SLOW)
        verdict = page.locator(".st-key-home_verdict")
        verdict.get_by_text(re.compile(r"It's an? \d")).wait_for(timeout=SLOW)
        screenshot(page, "home_phone_test_digit")
        assert in_viewport(page, verdict), verdict.bounding_box()
        assert page.locator("[data-testid='stException']").count() == 0
    finally:
        context.close()
