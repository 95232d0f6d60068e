"""A view survives a reload and travels as a link (explorer/ui/url_state.py).

On each page, change two or three settings with the mouse and keyboard as a student does, then:
reload the tab, and open the resulting URL in a fresh browser context (another device): both show
the same settings. A reload starts a new Streamlit session, so only the URL can bring them back.

Widgets are found by their key (Streamlit gives each keyed widget the class st-key-KEY), and the
view is compared as the value every keyed widget on the page shows.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from tests.browser.drawing import SLOW

pytestmark = pytest.mark.browser

# What each widget on the page shows, by key: a selectbox's value, a slider's value, a number,
# a checkbox's state, the chosen radio option or segmented-control button.
_VIEW_JS = """() => {
    const view = {};
    for (const box of document.querySelectorAll("[data-testid='stMain'] [class*='st-key-'], [data-testid='stSidebar'] [class*='st-key-']")) {
        const key = [...box.classList].find(c => c.startsWith("st-key-")).slice(7);
        const widget = box.querySelector("[data-testid]");
        const kind = widget ? widget.dataset.testid : "";
        let value = null;
        if (kind === "stSelectbox") value = box.querySelector("input[role='combobox']")?.value ?? null;
        else if (kind === "stSlider") value = [...box.querySelectorAll("input[type='range']")].map(s => s.getAttribute("aria-valuetext")).join(",");
        else if (kind === "stNumberInput") value = box.querySelector("input").value;
        else if (kind === "stCheckbox") value = box.querySelector("input").checked;
        else if (kind === "stRadio") value = (box.querySelector("input:checked")?.closest("label")?.innerText || "").trim();
        else if (kind === "stButtonGroup") value = [...box.querySelectorAll("button[aria-checked='true']")].map(b => b.innerText.trim()).join(",");
        if (value !== null) view[key] = value;
    }
    return view;
}"""

QUICK_MS = 30_000  # finding and working a widget on a page that has loaded


def _view(page) -> dict:
    return page.evaluate(_VIEW_JS)


def _widget(page, key: str):
    return page.locator(f".st-key-{key}").first


def choose_other_option(page, key: str, option: int = 1) -> None:
    """A selectbox: open it and pick its `option`-th entry other than the one shown now."""
    field = _widget(page, key).locator("input[role='combobox']")
    shown = field.input_value()
    options = page.locator("[role='option']")
    for attempt in range(3):  # a rerun that ends just after the click closes the list again
        field.click()
        try:
            options.first.wait_for(timeout=10_000)
            break
        except Exception:  # noqa: BLE001 - open it again
            if attempt == 2:
                raise
    texts = [text.strip() for text in options.all_inner_texts()]
    others = [i for i, text in enumerate(texts) if text != shown]
    options.nth(others[min(option, len(others)) - 1]).click()


def press_slider(page, key: str, presses: int = 2) -> None:
    """A slider: focus its thumb and press the right arrow, as a keyboard user does."""
    thumb = _widget(page, key).locator("input[type='range']").first
    thumb.focus()
    for _ in range(presses):
        thumb.press("ArrowRight")


def type_number(page, key: str, value: int) -> None:
    field = _widget(page, key).locator("input")
    field.fill(str(value))
    field.press("Enter")


def click_other_choice(page, key: str) -> None:
    """A radio group, or a segmented control: click an option that is not chosen now."""
    widget = _widget(page, key)
    radios = widget.locator("label:has(input[type='radio']:not(:checked))")
    if radios.count():
        radios.last.click()
        return
    widget.locator("button[aria-checked='false']").last.click()


def tick(page, key: str) -> None:
    """A checkbox or toggle: click its label."""
    _widget(page, key).locator("label").first.click()


# Per page: (what to change, how). Keys are the URL's parameter names.
CHANGES = {
    "": [("home_source", click_other_choice), ("home_class", choose_other_option)],
    "train": [("tr_model", choose_other_option), ("tr_batch", press_slider), ("tr_seed", lambda p, k: type_number(p, k, 7))],
    "filters": [("filters_weights", click_other_choice), ("filters_colour", click_other_choice),
                ("filters_index", lambda p, k: type_number(p, k, 42))],
    "receptive_fields": [("rf_n", press_slider), ("rf_row", press_slider), ("rf_digit", lambda p, k: type_number(p, k, 5))],
    "lessons": [("lessons_present", tick)],
}


def _query(url: str) -> dict:
    return {key: values[0] for key, values in parse_qs(urlparse(url).query).items()}


def change_settings(page, wait_for_app, changes) -> None:
    for key, change in changes:
        _widget(page, key).wait_for(timeout=SLOW)
        before = _query(page.url).get(key)
        change(page, key)
        # The URL follows the widget once the script has run.
        page.wait_for_function("([key, before]) => new URLSearchParams(location.search).get(key) !== before",
                               arg=[key, before], polling=250, timeout=SLOW)
        wait_for_app(page, SLOW)


@pytest.mark.parametrize("path", list(CHANGES))
def test_settings_come_back_after_a_reload_and_in_a_shared_link(app_server, new_page, viewports, wait_for_app,
                                                               exception_texts, mnist_dir, path):
    page = new_page(**viewports["1280x720"])
    page.goto(f"{app_server}/{path}")
    wait_for_app(page, SLOW)
    page.set_default_timeout(QUICK_MS)
    change_settings(page, wait_for_app, CHANGES[path])
    changed_view, link = _view(page), page.url
    keys = [key for key, _ in CHANGES[path]]
    assert set(keys) <= set(_query(link)), f"/{path}: the URL {link} lacks some of {keys}"
    assert set(keys) <= set(changed_view), f"/{path}: cannot read some of {keys} on the page: {changed_view}"
    assert exception_texts(page) == []

    page.reload()
    wait_for_app(page, SLOW)
    assert _view(page) == changed_view, f"/{path}: after a reload the settings differ"
    assert _query(page.url) == _query(link)

    elsewhere = new_page(**viewports["1280x720"])  # a fresh context: another device, no session
    elsewhere.goto(link)
    wait_for_app(elsewhere, SLOW)
    assert _view(elsewhere) == changed_view, f"/{path}: the link {link} opens another view"
    assert exception_texts(elsewhere) == []
