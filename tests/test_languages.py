"""The whole app in 简体中文 and 繁體中文 (AppTest): every page renders in both without an English
sentence, every lesson link with lang=zh-Hant opens its card in Traditional characters, and
switching the language keeps the page's state (its widgets and the URL's other parameters)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from explorer import i18n
from explorer.i18n import t
from explorer.ui import url_state
from explorer.ui.app_setup import PAGES, REPO_ROOT
from explorer.ui.lessons import LESSONS, Lesson, lesson_by_id, lesson_query
from tests.english_check import english_in, english_runs, rendered_texts
from tests.home_app import HOME, fresh_caches  # noqa: F401 (fresh_caches is an autouse fixture)

TIMEOUT = 180
CHINESE = ("zh-Hans", "zh-Hant")
PAGE_FILES = {info.url_path: info.entrypoint_relative for info in PAGES}
EVERY_PAGE = ["", *PAGE_FILES]  # "" is Home

# Characters only Simplified Chinese writes (Traditional: 們這個為網絡數據層練習...), common in the
# app's texts. A Traditional page shows none of them.
SIMPLIFIED_ONLY = set("们这个为网络数据层练习说时会过还对没样开关让进发现经从动问题读写画应该学条两种与线观节课设计终结论"
                      "变确认识图准积征权优输软页标签选择显边缘轮损类别错误")  # fmt: skip


def open_app(page: str = "", query: dict[str, str] | None = None) -> AppTest:
    """The app as a browser opens a link: its query parameters, then the page's first run."""
    at = AppTest.from_file(HOME, default_timeout=TIMEOUT)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    if page:
        at.switch_page(PAGE_FILES[page])
    at.run()
    return at


def simplified_characters(text: str) -> set[str]:
    return set(text) & SIMPLIFIED_ONLY


def card_text(at: AppTest) -> str:
    """The lesson card's words: its markdown (heading, goal, steps, notice, question, answer) and the
    labels of its folded parts."""
    return "\n".join([*(m.value for m in at.markdown), *(e.label for e in at.expander)])


@pytest.fixture
def with_mnist(mnist_dir, monkeypatch):
    monkeypatch.setenv("MNIST_DIR", str(mnist_dir))


# --- every page, in both scripts ---------------------------------------------------------------


@pytest.mark.parametrize("lang", CHINESE)
@pytest.mark.parametrize("page", EVERY_PAGE, ids=lambda page: page or "home")
def test_every_page_shows_no_english_sentence(page, lang, with_mnist):
    at = open_app(page, {"lang": lang})
    assert not at.exception, at.exception
    assert at.session_state["lang"] == lang
    assert len(rendered_texts(at)) > 3, "nothing collected: the page did not render"
    assert english_in(at) == []


@pytest.mark.parametrize("page", EVERY_PAGE, ids=lambda page: page or "home")
def test_every_page_without_mnist_shows_no_english_sentence(page, tmp_path, monkeypatch):
    """A server without MNIST: the pages say so (and offer the download) in Chinese too."""
    monkeypatch.setenv("MNIST_DIR", str(tmp_path))
    at = open_app(page, {"lang": "zh-Hans"})
    assert not at.exception, at.exception
    assert english_in(at) == []


def test_a_traditional_page_shows_no_simplified_character(with_mnist):
    at = open_app("lessons", {"lang": "zh-Hant"})
    assert not at.exception, at.exception
    shown = "\n".join(rendered_texts(at))
    assert simplified_characters(shown) == set(), sorted(simplified_characters(shown))


# --- lesson links with lang=zh-Hant --------------------------------------------------------------


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: lesson.id)
def test_each_lesson_link_with_zh_hant_opens_its_card_in_traditional(lesson, with_mnist):
    at = open_app(lesson.page, lesson_query(lesson, lang="zh-Hant"))
    assert not at.exception, at.exception
    shown = card_text(at)
    with i18n.language("zh-Hant"):
        expected = [lesson.title, lesson.goal, *lesson.steps, t("lesson_card.for_the_class"), t("lesson_card.answer")]
    assert all(text in shown for text in expected), [text for text in expected if text not in shown]
    assert simplified_characters(shown) == set(), sorted(simplified_characters(shown))
    assert at.query_params.get("lang") == "zh-Hant" and at.query_params.get("lesson") == lesson.id


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: lesson.id)
def test_each_lesson_link_with_zh_hant_shows_no_english_sentence(lesson, with_mnist):
    """The views the lessons open (Train's comparisons and optimizer paths, a presenter's Home...)."""
    at = open_app(lesson.page, lesson_query(lesson, lang="zh-Hant"))
    assert not at.exception, at.exception
    assert english_in(at) == []


def test_the_same_card_in_zh_hans_is_in_simplified_characters():
    """The detector of the test above can fail: the Simplified card is full of such characters."""
    lesson = lesson_by_id("inits")
    at = open_app(lesson.page, lesson_query(lesson, lang="zh-Hans"))
    assert not at.exception, at.exception
    with i18n.language("zh-Hans"):
        assert lesson.title in card_text(at)
    assert len(simplified_characters(card_text(at))) >= 5


# --- switching the language keeps the page's state ----------------------------------------------


def switch_language(at: AppTest, lang: str) -> AppTest:
    at.selectbox(key="lang").set_value(lang).run()
    assert not at.exception, at.exception
    return at


def test_switching_language_keeps_a_widget_and_the_url():
    at = open_app("lessons")
    at.toggle(key="lessons_present").set_value(False).run()
    assert at.query_params.get("lessons_present") == "0"

    switch_language(at, "zh-Hans")
    assert at.session_state["lessons_present"] is False and at.query_params.get("lessons_present") == "0"
    assert at.query_params.get("lang") == "zh-Hans"
    with i18n.language("zh-Hans"):
        assert at.title[0].value == t("pages.lessons.title") != i18n.catalog("en")["pages.lessons.title"]
        assert at.toggle(key="lessons_present").label == t("lessons.page.present_toggle")

    switch_language(at, "en")
    assert at.session_state["lessons_present"] is False and at.query_params.get("lessons_present") == "0"
    assert "lang" not in at.query_params  # English, the default, is left out of the link
    assert at.title[0].value == "Lessons"


def test_switching_language_on_a_lesson_link_keeps_the_lesson_and_its_preset():
    lesson = lesson_by_id("receptive-fields")
    query = {**lesson_query(lesson), "rf_n": "3"}  # the class has moved on to n = 3
    at = open_app(lesson.page, query)
    assert not at.exception, at.exception
    assert at.session_state["rf_n"] == 3

    switch_language(at, "zh-Hant")
    assert at.session_state["rf_n"] == 3
    for key, value in query.items():
        assert at.query_params.get(key) == value, key
    assert at.query_params.get("lang") == "zh-Hant"
    with i18n.language("zh-Hant"):
        assert lesson.title in card_text(at)
    assert url_state.encode(at.session_state["rf_c_in"]) == query["rf_c_in"]


def test_the_lessons_page_links_carry_the_language():
    """A teacher on the Chinese Lessons page copies a link that opens in Chinese."""
    at = open_app("lessons", {"lang": "zh-Hant"})
    assert not at.exception, at.exception
    links = [link for link in at.get("page_link") if "lesson=" in link.proto.query_string]
    assert len(links) == len(LESSONS)
    assert all("lang=zh-Hant" in link.proto.query_string for link in links)
    with i18n.language("zh-Hant"):
        assert all(t("pages.lessons.title") not in link.proto.label for link in links)
        assert {link.proto.label for link in links} <= {
            t("lessons.page.open_in", page=t(f"pages.{lesson.page or 'home'}.title")) for lesson in LESSONS}


def test_an_unknown_lesson_note_links_to_the_lessons_page_in_the_same_language():
    at = open_app("", {"lesson": "no-such-lesson", "lang": "zh-Hans"})
    assert not at.exception, at.exception
    note = next(c.value for c in at.caption if "no-such-lesson" in c.value)
    assert "(lessons?lang=zh-Hans)" in note and english_runs(note) == []


# --- the glossary ---------------------------------------------------------------------------------


def opencc_mistakes() -> set[str]:
    """The glossary's column "OpenCC writes": s2twp's wording this app corrects with an override."""
    glossary = (REPO_ROOT / "explorer" / "locales" / "glossary.md").read_text()
    rows = [line.strip().strip("|").split("|") for line in glossary.splitlines() if line.startswith("| ")]
    return {term.strip() for row in rows[1:] if len(row) == 5 and row[3].strip() != "OpenCC writes"
            for term in row[3].split(",") if term.strip()}  # fmt: skip


def test_zh_hant_has_none_of_the_opencc_wording_the_glossary_corrects():
    mistakes = opencc_mistakes()
    assert {"畫素", "引數", "最佳化器"} <= mistakes, "the glossary's table could not be read"
    found = {key: sorted(term for term in mistakes if term in text)
             for key, text in i18n.catalog("zh-Hant").items() if any(term in text for term in mistakes)}
    assert found == {}, f"{len(found)} zh-Hant text(s) need an override in zh-Hant.overrides.toml: {found}"


# --- the English detector sees every kind of element the pages use -------------------------------


def _app_with_every_kind_of_text():
    import pandas as pd
    import streamlit as st

    st.segmented_control("控件", ["draw", "test"], format_func={"draw": "Draw a digit here", "test": "测试"}.get)
    st.html("<style>.st-key-x { padding: 0.6rem 1rem; display: none; }</style><p>It's a seven for sure</p>")
    st.progress(0.5, text="Loading the test digits")
    st.dataframe(pd.DataFrame({"Test accuracy of the network": [0.99], "参数": [10]}))
    st.toast("Ignored from the link")


def test_the_english_detector_reads_controls_html_progress_tables_and_toasts():
    at = AppTest.from_function(_app_with_every_kind_of_text, default_timeout=TIMEOUT).run()
    assert not at.exception, at.exception
    found = english_in(at)
    for sentence in ("Draw a digit here", "It's a seven for sure", "Loading the test digits",
                     "Test accuracy of the network", "Ignored from the link"):  # fmt: skip
        assert sentence in found, (sentence, found)
    assert not any("padding" in run or "display" in run for run in found)  # CSS is not text
