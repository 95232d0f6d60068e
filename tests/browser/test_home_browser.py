"""The Home page in real Chromium: draw a digit on the hero canvas with mouse events and get an
answer from the pretrained CNN, with the 28x28 input and the probability bars shown; on a phone,
the answer is on screen."""

from __future__ import annotations

import json
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

    # The drawing reruns only its part of the page (a fragment), which puts the digit in the link
    # itself: a reload of that link shows the same digit and the same answer.
    page.wait_for_function("() => new URLSearchParams(location.search).has('digit')", timeout=SLOW)
    answer = verdict.first.inner_text()
    page.goto(page.url)
    wait_for_app(page, SLOW)
    page.get_by_text(answer).first.wait_for(timeout=SLOW)
    assert page.get_by_text("The drawing is empty").count() == 0


def test_choosing_a_test_digit_puts_it_in_the_link(app_server, page, wait_for_app, mnist_dir):
    """The choices of the drawing's part of Home rerun only that part, and still reach the link."""
    page.goto(app_server)
    wait_for_app(page, SLOW)
    page.get_by_role("radio", name="Test digit").click()  # a segmented control's button
    page.wait_for_function("() => new URLSearchParams(location.search).get('home_source') === 'test'", timeout=SLOW)
    page.get_by_role("button", name="New digit").click()
    page.wait_for_function("() => new URLSearchParams(location.search).has('home_test_index')", timeout=SLOW)
    wait_for_app(page, SLOW)
    answer = page.get_by_text(re.compile(r"It's an? \d")).first.inner_text()
    page.goto(page.url)  # the link shows the same test digit, so the same answer
    wait_for_app(page, SLOW)
    page.get_by_text(answer).first.wait_for(timeout=SLOW)


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


# Each cell of the results table: its text, the label drawn before it, and whether it fits the table's frame.
RESULT_CELLS_JS = """() => {
    const frame = document.querySelector(".st-key-results_table");
    const headers = [...frame.querySelectorAll("thead th")].map(th => th.innerText.trim());
    return {headers, frameWidth: frame.clientWidth, tableWidth: frame.querySelector("table").scrollWidth,
            headerShown: getComputedStyle(frame.querySelector("thead")).display !== "none",
            rows: [...frame.querySelectorAll("tbody tr")].map(tr => [...tr.querySelectorAll("td")].map(td => ({
                text: td.innerText.trim(), label: getComputedStyle(td, "::before").content,
                right: td.getBoundingClientRect().right}))),
            frameRight: frame.getBoundingClientRect().right};
}"""


@pytest.mark.parametrize("language, accuracy_title", [("en", "Our test accuracy"), ("zh-Hans", "我们的测试准确率")])
def test_on_a_phone_the_results_table_is_cards_that_name_their_numbers(app_server, browser, wait_for_app, screenshot,
                                                                       language, accuracy_title):
    """390x844: the seven columns would scroll sideways; each network is a card instead, each cell
    labelled with its column's title. At 1280 px it is a table with its header row."""
    context = browser.new_context(**PHONE)
    try:
        page = context.new_page()
        page.set_default_timeout(SLOW)
        page.goto(f"{app_server}/?lang={language}#results")
        page.locator(".st-key-results_table table").wait_for(timeout=SLOW)
        wait_for_app(page, SLOW)
        page.locator(".st-key-results_table").scroll_into_view_if_needed()
        screenshot(page, f"home_phone_results_{language}")
        table = page.evaluate(RESULT_CELLS_JS)
        assert not table["headerShown"] and table["tableWidth"] <= table["frameWidth"], table["tableWidth"]
        assert len(table["rows"]) >= 5
        for row in table["rows"]:
            assert [cell["label"] for cell in row] == [json.dumps(f"{title}: ", ensure_ascii=False) for title in table["headers"]]
            assert all(cell["right"] <= table["frameRight"] + 1 for cell in row)
        accuracy = table["headers"].index(accuracy_title)
        assert all(re.fullmatch(r"\d+\.\d+%", row[accuracy]["text"]) for row in table["rows"])

        page.set_viewport_size({"width": 1280, "height": 720})
        page.wait_for_timeout(300)
        table = page.evaluate(RESULT_CELLS_JS)
        assert table["headerShown"] and all(cell["label"] in ("none", "normal") for row in table["rows"] for cell in row)
    finally:
        context.close()
