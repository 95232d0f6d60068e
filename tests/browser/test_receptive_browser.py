"""The Receptive fields page in Chromium: moving the output-position slider with the keyboard
moves the receptive-field window (its text and the overlay)."""

import re

import pytest

from explorer.receptive import conv, input_window

pytestmark = pytest.mark.browser

WINDOW_TEXT = re.compile(r"Output unit \((\d+), (\d+)\) of both designs sees input rows (\d+)–(\d+) and columns (\d+)–(\d+)")


def _window_text(page):
    text = page.locator("[data-testid='stMarkdown']").filter(has_text="Output unit (").first.inner_text()
    match = WINDOW_TEXT.search(text)
    assert match, text
    return tuple(int(g) for g in match.groups())


def test_moving_the_output_slider_moves_the_window(app_server, page, wait_for_app, screenshot):
    page.goto(f"{app_server}/receptive_fields")
    wait_for_app(page)
    before = _window_text(page)
    row, col = before[:2]
    twin = [conv("conv1", 3), conv("conv2", 3)]
    r0, r1, c0, c1 = input_window(twin, row, col)
    assert before[2:] == (r0, r1 - 1, c0, c1 - 1)

    thumb = page.get_by_role("slider", name="output column")
    for step in range(1, 4):  # one key at a time: a key pressed while the page reruns may be dropped
        thumb.focus()
        thumb.press("ArrowRight")
        page.wait_for_function(
            "() => [...document.querySelectorAll('[data-testid=stMarkdown]')]"
            f".some(e => e.innerText.includes('Output unit ({row}, {col + step})'))",
            timeout=60_000,
        )
        wait_for_app(page)
    after = _window_text(page)
    r0, r1, c0, c1 = input_window(twin, row, col + 3)
    assert after == (row, col + 3, r0, r1 - 1, c0, c1 - 1)
    assert after[4] == before[4] + 3  # the window moved three pixels to the right

    assert page.locator("[data-testid='stException']").count() == 0
    assert page.get_by_text("exactly").first.is_visible()  # measured footprint still agrees
    screenshot(page, "receptive_fields_slider")
    assert page.js_errors == []
