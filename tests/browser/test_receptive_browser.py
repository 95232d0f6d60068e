"""The Receptive fields page in Chromium: moving the output-position slider with the keyboard
moves the receptive-field window (its text and the overlay)."""

import re

import pytest

from explorer.lab.receptive import conv, input_window
from tests.browser.test_filters_browser import VIEWPORTS, layout_problems

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


def _pixel_on_screen(plot, row: int, col: int, subplot: int = 2) -> dict:
    """Screen coordinates of input pixel (row, col) in one subplot of a plotly chart."""
    suffix = "" if subplot == 1 else str(subplot)
    return plot.evaluate(
        f"""(g) => {{ const xa = g._fullLayout.xaxis{suffix}, ya = g._fullLayout.yaxis{suffix};
            const r = g.getBoundingClientRect();
            return {{x: r.left + xa._offset + xa.l2p({col}), y: r.top + ya._offset + ya.l2p({row})}}; }}""")


def test_clicking_a_pixel_moves_the_output_unit_there(app_server, page, wait_for_app):
    page.goto(f"{app_server}/receptive_fields")
    wait_for_app(page)
    assert _window_text(page)[:2] == (12, 12)  # n = 2: the centre of the 24x24 output
    index = page.evaluate("""() => [...document.querySelectorAll('.js-plotly-plot')]
        .findIndex(g => (g.data || []).some(t => t.name === 'click targets'))""")
    assert index >= 0, "no overlay chart with click targets"
    plot = page.locator(".js-plotly-plot").nth(index)
    plot.scroll_into_view_if_needed()
    where = _pixel_on_screen(plot, row=6, col=20)  # on the stack's picture
    page.mouse.move(where["x"], where["y"])
    page.mouse.click(where["x"], where["y"])
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=stMarkdown]')]"
        ".some(e => e.innerText.includes('Output unit (4, 18)'))",
        timeout=60_000,
    )  # the unit whose 5x5 field is centred on pixel (6, 20)
    wait_for_app(page)
    assert _window_text(page) == (4, 18, 4, 8, 18, 22)
    assert "rf_row=4" in page.url and "rf_col=18" in page.url  # and the link keeps it
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.js_errors == []


def test_a_tab_is_drawn_when_opened_and_the_closed_tabs_keep_their_values(app_server, page, wait_for_app):
    page.goto(f"{app_server}/receptive_fields?rf_c_in=64&rf_erf_count=5")
    wait_for_app(page)
    calculator_header = page.get_by_role("heading", name="Receptive field of any stack")
    # Only the open tab is drawn: the others are not in the page at all, not even hidden.
    assert page.locator("[data-testid='stHeading']", has_text="Receptive field of any stack").count() == 0
    assert page.locator("[data-testid='stDataFrame']").count() == 0  # the calculator's editor and table

    page.get_by_role("tab", name="Any stack: calculator").click()
    calculator_header.wait_for(timeout=60_000)
    wait_for_app(page)
    assert page.locator("[data-testid='stHeading']", has_text="One big kernel or a stack of small ones?").count() == 0
    for part in ("rf_tab=calculator", "rf_c_in=64", "rf_erf_count=5"):  # the closed tabs' values stay in the link
        assert part in page.url, page.url

    page.get_by_role("tab", name="3x3 + 3x3 vs 5x5").click()
    page.get_by_role("heading", name="One big kernel or a stack of small ones?").wait_for(timeout=60_000)
    wait_for_app(page)
    assert page.get_by_role("slider", name="input channels").get_attribute("aria-valuetext") == "64"
    assert "rf_c_in=64" in page.url and "rf_erf_count=5" in page.url and "rf_tab" not in page.url
    assert page.locator("[data-testid='stException']").count() == 0
    assert page.js_errors == []


@pytest.mark.parametrize("viewport", VIEWPORTS)
@pytest.mark.parametrize("tab", ["compare", "calculator", "erf"])
def test_nothing_is_cut_off_or_overlapping(app_server, page, wait_for_app, viewport, tab):
    page.set_viewport_size(VIEWPORTS[viewport])
    page.goto(f"{app_server}/receptive_fields?rf_tab={tab}")
    wait_for_app(page)
    assert layout_problems(page) == {"cut": [], "overlaps": []}
    assert page.locator("[data-testid='stException']").count() == 0


def test_presenter_mode_shows_both_cards_without_scrolling(app_server, page, wait_for_app):
    page.set_viewport_size(VIEWPORTS["projector"])
    page.goto(f"{app_server}/receptive_fields?lesson=receptive-fields&present=1&rf_c_in=64&rf_c_out=64")
    wait_for_app(page)
    values = page.locator("[data-testid='stMetricValue']")
    assert values.count() >= 6
    for index in range(6):  # parameters, nonlinearities and receptive field of both designs
        box = values.nth(index).bounding_box()
        assert box["y"] + box["height"] <= 720, (index, box)
    assert page.get_by_text("A neuron in a convolutional network looks at").count() == 0  # no intro paragraph
    assert page.locator("[data-testid='stException']").count() == 0
