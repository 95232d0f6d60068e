"""The Train page's buttons on a phone and on a projector (issue 14), in real Chromium.

On a 390x844 phone Streamlit stacks columns one per line: Start, Step, Reset and the log-scale
toggle took four lines and pushed the live loss chart below the fold. They must stay on one or
two rows, so that Start and the top of the loss chart are both on the first screen; at 1280x720
no button or label may be cut off. The six numbers under the charts sit in rows of three on a projector
and of two on a phone, all as wide as each other. Screenshots: tests/artifacts/screenshots/train_phone_*.png."""

from __future__ import annotations

from collections import Counter

import pytest

from explorer.ui.lessons import lesson_by_id, lesson_link

pytestmark = pytest.mark.browser

CONTROLS = ("btn_start", "btn_step", "btn_reset", "tr_log")
CHART_TOP_SHOWN = 60  # px of the loss chart (its title and the top of the plot) that must be on screen

_BOXES_JS = """(keys) => Object.fromEntries(keys.map(key => {
    const element = document.querySelector(`.st-key-${key}`);
    if (!element) return [key, null];
    const box = element.getBoundingClientRect();
    return [key, {top: box.top, bottom: box.bottom, left: box.left, right: box.right}];
}))"""

# Texts cut off with an ellipsis or clipped: wider content than their box.
_CUT_OFF_JS = """() => [...document.querySelectorAll(
        ".st-key-tr_buttons button p, .st-key-tr_buttons label p, .st-key-tr_buttons label")]
    .filter(e => e.getClientRects().length > 0 && e.scrollWidth > e.clientWidth + 1)
    .map(e => e.innerText)"""

_METRICS_JS = """() => [...document.querySelectorAll(".st-key-tr_metrics [data-testid='stMetric']")].map(e => {
    const box = e.getBoundingClientRect();
    const value = e.querySelector("[data-testid='stMetricValue']");
    return {top: Math.round(box.top), width: Math.round(box.width),
            cut: [value, ...value.querySelectorAll("*")].some(v => v.scrollWidth > v.clientWidth + 1)};
})"""


def open_train(new_page, viewports, wait_for_app, app_server, size: str):
    page = new_page(**viewports[size])
    page.goto(f"{app_server}/train")
    wait_for_app(page)
    page.locator(".st-key-fig_loss .js-plotly-plot").wait_for()
    wait_for_app(page)
    return page


def boxes(page) -> dict:
    found = page.evaluate(_BOXES_JS, [*CONTROLS, "fig_loss"])
    missing = [key for key, box in found.items() if box is None]
    assert not missing, f"not on the page: {missing}"
    return found


def rows(found: dict) -> int:
    """How many rows the controls take (controls whose vertical centres are within 12 px share a row:
    the toggle is lower than a button, centred on it)."""
    centres = sorted((found[key]["top"] + found[key]["bottom"]) / 2 for key in CONTROLS)
    return 1 + sum(1 for a, b in zip(centres, centres[1:]) if b - a > 12)


def test_on_a_phone_start_and_the_loss_chart_are_on_the_first_screen(new_page, viewports, wait_for_app, app_server, screenshot,
                                                                      exception_texts, mnist_dir):  # fmt: skip
    page = open_train(new_page, viewports, wait_for_app, app_server, "390x844")
    screenshot(page, "train_phone_390x844")
    found = boxes(page)
    height, width = viewports["390x844"]["viewport"]["height"], viewports["390x844"]["viewport"]["width"]
    assert rows(found) <= 2, found
    assert 0 <= found["btn_start"]["top"] and found["btn_start"]["bottom"] <= height, found["btn_start"]
    assert found["fig_loss"]["top"] + CHART_TOP_SHOWN <= height, f"the loss chart starts at {found['fig_loss']['top']:.0f} px"
    assert all(found[key]["right"] <= width + 1 for key in CONTROLS), found
    assert page.evaluate(_CUT_OFF_JS) == []  # the toggle's label (the buttons show icons, their labels are tooltips)
    assert exception_texts(page) == [] and page.js_errors == []


def test_on_a_projector_no_control_is_cut_off(new_page, viewports, wait_for_app, app_server, screenshot, exception_texts, mnist_dir):
    page = open_train(new_page, viewports, wait_for_app, app_server, "1280x720")
    screenshot(page, "train_phone_1280x720")
    found = boxes(page)
    assert rows(found) == 1, found
    assert page.evaluate(_CUT_OFF_JS) == []
    for name in ("Start", "Step", "Reset", "Log scale"):  # the labels are shown, not only the icons
        assert page.locator(".st-key-tr_buttons").get_by_text(name, exact=True).first.is_visible()
    assert found["btn_start"]["bottom"] <= viewports["1280x720"]["viewport"]["height"]
    assert exception_texts(page) == [] and page.js_errors == []


@pytest.mark.parametrize("size, per_row", [("1280x720", 3), ("390x844", 2)])
def test_the_six_numbers_sit_in_even_rows(new_page, viewports, wait_for_app, app_server, exception_texts, mnist_dir, size, per_row):
    page = open_train(new_page, viewports, wait_for_app, app_server, size)
    found = page.evaluate(_METRICS_JS)
    assert len(found) == 6, found
    assert sorted(Counter(metric["top"] for metric in found).values()) == [per_row] * (6 // per_row), found
    widths = [metric["width"] for metric in found]
    assert max(widths) - min(widths) <= 1, widths
    assert not any(metric["cut"] for metric in found), found
    assert exception_texts(page) == [] and page.js_errors == []


def test_on_a_phone_the_optimizer_paths_lesson_shows_its_paths_on_the_first_screen(new_page, viewports, wait_for_app, app_server,
                                                                                   exception_texts, screenshot):  # fmt: skip
    """The controls column comes first on a projector; on a phone the columns stack, and the
    function, the optimizers, the steps and each η filled the first screen: the paths go first."""
    page = new_page(**viewports["390x844"])
    page.goto(f"{app_server}/{lesson_link(lesson_by_id('paths'))}")
    wait_for_app(page)
    page.locator(".st-key-fig_paths .js-plotly-plot").wait_for()
    wait_for_app(page)
    screenshot(page, "train_paths_lesson_390x844")
    found = page.evaluate(_BOXES_JS, ["fig_paths", "path_surface"])
    assert found["fig_paths"]["top"] + CHART_TOP_SHOWN <= viewports["390x844"]["viewport"]["height"], found
    assert found["fig_paths"]["bottom"] <= found["path_surface"]["top"], found  # the controls under the paths
    assert exception_texts(page) == [] and page.js_errors == []
