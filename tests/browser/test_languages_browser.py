"""The app in Chinese, in Chromium: every page in zh-Hans at 1280x720 with nothing cut off (a
screenshot of each in docs/screenshots/zh-Hans-<page>.png), a lesson link with lang=zh-Hant opening
the lesson in Traditional characters, every lesson link at both sizes in both scripts, and the sidebar's language switch keeping the page's state
after the rerun and after a reload."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest

from explorer import i18n
from explorer.i18n import t
from explorer.ui.app_setup import PAGES, REPO_ROOT
from explorer.ui.lessons import LESSONS, lesson_by_id, lesson_link
from tests.browser.drawing import SLOW, canvas_locator
from tests.browser.test_layout import _CHARTS_DRAWN_JS, chart_problems, truncated_texts
from tests.browser.test_reload import CHANGES, _view, change_settings
from tests.test_languages import SIMPLIFIED_ONLY

pytestmark = pytest.mark.browser

DOCS = REPO_ROOT / "docs" / "screenshots"
PAGE_PATHS = ["", *(info.url_path for info in PAGES)]  # "" is Home
LANGUAGE_NAMES = i18n.LANGUAGES  # what the switch shows: "简体中文", "繁體中文", "English"


def _query(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlparse(url).query).items()}


def open_path(new_page, viewports, wait_for_app, base_url: str, path: str):
    page = new_page(**viewports["1280x720"])
    page.goto(f"{base_url}/{path}")
    wait_for_app(page, SLOW)
    page.wait_for_function(_CHARTS_DRAWN_JS, polling=250, timeout=SLOW)
    page.wait_for_timeout(500)  # plotly places titles and legends after its first draw
    return page


def main_text(page) -> str:
    return page.locator("[data-testid='stMain']").inner_text()


def switch_language(page, wait_for_app, lang: str) -> None:
    """Pick the language in the sidebar's switch, as a teacher does, and wait for the rerun."""
    field = page.locator(".st-key-lang input[role='combobox']")
    option = page.get_by_role("option", name=LANGUAGE_NAMES[lang], exact=True)
    for _ in range(5):  # a page's periodic fragment (Train's live digits) may close the list as it opens
        field.click()
        try:
            option.wait_for(timeout=5_000)
            option.click(timeout=5_000)
            break
        except Exception:  # noqa: BLE001 - Playwright's timeout: the list closed, open it again
            page.keyboard.press("Escape")
    else:
        raise AssertionError(f"the language list never offered {LANGUAGE_NAMES[lang]}")
    expected = None if lang == i18n.DEFAULT else lang
    page.wait_for_function("lang => new URLSearchParams(location.search).get('lang') === lang",
                           arg=expected, polling=250, timeout=SLOW)  # fmt: skip
    wait_for_app(page, SLOW)


@pytest.mark.parametrize("path", PAGE_PATHS, ids=lambda path: path or "home")
def test_every_page_in_zh_hans_fits_a_projector(app_server, new_page, viewports, wait_for_app, exception_texts,
                                                mnist_dir, path):
    page = open_path(new_page, viewports, wait_for_app, app_server, f"{path}?lang=zh-Hans")
    DOCS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(DOCS / f"zh-Hans-{path or 'home'}.png"))  # the 1280x720 window, as projected
    assert exception_texts(page) == []
    with i18n.language("zh-Hans"):
        title = t(f"pages.{path or 'home'}.title")
    assert title in page.locator("[data-testid='stSidebarNav']").inner_text()  # the navigation speaks Chinese
    problems = truncated_texts(page) + chart_problems(page)
    assert not problems, f"/{path}?lang=zh-Hans: {len(problems)} layout problem(s):\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("lesson_id", ["receptive-fields", "draw"])
def test_a_lesson_link_with_zh_hant_opens_the_lesson_in_traditional(app_server, new_page, viewports, wait_for_app,
                                                                    exception_texts, mnist_dir, lesson_id):
    lesson = lesson_by_id(lesson_id)
    page = open_path(new_page, viewports, wait_for_app, app_server, lesson_link(lesson, lang="zh-Hant"))
    card = page.locator(".st-key-lesson_card")
    card.wait_for(timeout=SLOW)
    page.screenshot(path=str(DOCS / f"zh-Hant-lesson-{lesson.id}.png"))
    shown = card.inner_text()
    with i18n.language("zh-Hant"):
        assert lesson.title in shown and lesson.goal in shown
    assert set(shown) & SIMPLIFIED_ONLY == set(), sorted(set(shown) & SIMPLIFIED_ONLY)
    assert set(main_text(page)) & SIMPLIFIED_ONLY == set(), "the page around the card is not all Traditional"
    assert exception_texts(page) == [] and page.js_errors == []


# Every lesson link at both sizes in both scripts: the projector and phone checks apply to every language.
LESSON_CASES = [(lesson, viewport, lang) for lesson in LESSONS for viewport in ("1280x720", "390x844")
                for lang in ("zh-Hans", "zh-Hant")]  # fmt: skip


@pytest.mark.parametrize("lesson, viewport, lang", LESSON_CASES,
                         ids=[f"{lesson.id}-{viewport}-{lang}" for lesson, viewport, lang in LESSON_CASES])  # fmt: skip
def test_each_lesson_link_in_chinese_fits_a_projector_and_a_phone(app_server, new_page, viewports, wait_for_app,
                                                                  exception_texts, mnist_dir, lesson, viewport, lang):
    """The projector and phone checks of the lesson links, in Chinese: the card on the first screen,
    nothing cut off, and on a projector the drawing lesson's canvas on the first screen too."""
    page = new_page(**viewports[viewport])
    page.goto(f"{app_server}/{lesson_link(lesson, lang=lang)}")
    wait_for_app(page, SLOW)
    page.wait_for_function(_CHARTS_DRAWN_JS, polling=250, timeout=SLOW)
    card = page.locator(".st-key-lesson_card")
    card.wait_for(timeout=SLOW)
    with i18n.language(lang):
        assert lesson.title in card.inner_text()
    box = card.bounding_box()
    assert box is not None and 0 <= box["y"] < page.viewport_size["height"] / 2, f"the card is not on the first screen: {box}"
    if lesson.id == "draw" and viewport == "1280x720":
        canvas = canvas_locator(page)
        canvas.wait_for(timeout=SLOW)
        box = canvas.bounding_box()
        assert box is not None and box["y"] + box["height"] <= page.viewport_size["height"], f"the canvas is cut: {box}"
    assert exception_texts(page) == []
    page.wait_for_timeout(500)  # plotly places titles and legends after its first draw
    problems = truncated_texts(page) + chart_problems(page)
    assert not problems, f"{lesson.id} at {viewport} in {lang}: {len(problems)} layout problem(s):\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("path", ["lessons", "receptive_fields", "train"])
def test_the_language_switch_keeps_the_page_state_after_the_rerun_and_a_reload(app_server, new_page, viewports,
                                                                               wait_for_app, exception_texts,
                                                                               mnist_dir, path):
    page = open_path(new_page, viewports, wait_for_app, app_server, path)
    change_settings(page, wait_for_app, CHANGES[path])
    english_view, english_query = _view(page), _query(page.url)
    english_view.pop("lang", None)

    switch_language(page, wait_for_app, "zh-Hans")
    assert _query(page.url) == {**english_query, "lang": "zh-Hans"}  # the other parameters stay
    with i18n.language("zh-Hans"):
        assert t(f"pages.{path}.title") in page.locator("[data-testid='stSidebarNav']").inner_text()

    page.reload()
    wait_for_app(page, SLOW)
    assert _query(page.url) == {**english_query, "lang": "zh-Hans"}
    assert re.search(r"[\u4e00-\u9fff]", main_text(page)), "after a reload the page is no longer in Chinese"

    switch_language(page, wait_for_app, "en")
    page.wait_for_timeout(1_000)  # the widgets redraw their labels after the run
    back = _view(page)
    back.pop("lang", None)
    assert back == english_view, "the widgets changed on the way through Chinese and back"
    assert _query(page.url) == english_query
    assert exception_texts(page) == []
