"""The Receptive fields page in 简体中文 and 繁體中文: every tab (opened one by one, as the page
draws only the open one), the comparison with changed controls, the calculator with an invalid
stack, the effective receptive field of every CNN the page offers, the head-to-head's controls,
and the page without MNIST: no exception, no English sentence.

The page runs inside the app (explorer/Home.py, then switch_page), as in a browser: the entrypoint
reads ?lang= and tells the catalogs which language this session speaks. AppTest formats a choice
widget's value in the test's own thread, so each test speaks the page's language too."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from explorer import i18n
from explorer.lab import receptive_measure as rm
from tests import app_pages
from tests.english_check import english_in
from tests.test_receptive_page import click_tab

PAGE = "../pages/receptive_fields.py"
TIMEOUT = 180
CHINESE = ("zh-Hans", "zh-Hant")
ERF_MODELS = [name for name in rm.preset_names() if name != "tf-cnn-bn"]  # as the page offers them


def open_page(lang: str, **state) -> AppTest:
    at = app_pages.open_page(PAGE, lang, TIMEOUT, **state)
    assert_all_translated(at, lang)
    return at


def assert_all_translated(at: AppTest, lang: str) -> None:
    assert not at.exception, at.exception
    assert [title.value for title in at.title] == [i18n.t("pages.receptive_fields.title")]
    assert english_in(at) == []


@pytest.mark.parametrize("lang", CHINESE)
def test_comparison_and_calculator_in_chinese(lang):
    with i18n.language(lang):
        at = open_page(lang)
        assert [tab.label for tab in at.tabs][:4] == [i18n.t(f"receptive.tab.{tab}") for tab in
                                                       ("compare", "calculator", "erf", "head-to-head")]  # fmt: skip
        # One 3x3 conv against one stacked 3x3 on a 1-channel input: the claim fails, a singular stack.
        at.slider(key="rf_n").set_value(1)
        at.slider(key="rf_c_in").set_value(1)
        at.run()
        assert_all_translated(at, lang)
        assert any(i18n.t("receptive.design.stack_one", n=1) in error.value for error in at.error)

        # A 2x2 pool cannot read a 1x1 input: the calculator explains it in the page's language.
        click_tab(at, "calculator")
        assert_all_translated(at, lang)
        columns = [str(column) for table in at.dataframe for column in table.value.columns]  # not seen by english_in
        assert i18n.t("receptive.column.receptive_field") in columns and "receptive field r" not in columns
        at.selectbox(key="rf_preset").set_value("deepconvnet")
        at.number_input(key="rf_input_size").set_value(1)
        at.run()
        assert_all_translated(at, lang)
        _, problems = rm.parse_stack(rm.spec_rows(rm.model_stack("deepconvnet")), 1)
        assert problems[0].code == "no_output"
        assert i18n.t(problems[0].key, **problems[0].params) in [error.value for error in at.error]
        click_tab(at, "head-to-head")
        assert_all_translated(at, lang)


@pytest.mark.parametrize("lang", CHINESE)
@pytest.mark.parametrize("model", ERF_MODELS)
def test_effective_field_of_every_cnn_in_chinese(lang, model):
    with i18n.language(lang):
        at = open_page(lang, rf_tab="erf")
        at.selectbox(key="rf_erf_model").set_value(model)
        at.slider(key="rf_erf_count").set_value(2)
        at.run()
        assert_all_translated(at, lang)
        assert at.selectbox(key="rf_erf_model").value == model  # the URL's value stays an id


@pytest.fixture
def no_mnist(monkeypatch):
    monkeypatch.delenv("MNIST_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", "/nonexistent-receptive-test")
    import streamlit as st

    st.cache_resource.clear()  # an earlier test in this process may have cached MNIST


@pytest.mark.parametrize("lang", CHINESE)
def test_without_mnist_in_chinese(lang, no_mnist):
    with i18n.language(lang):
        at = open_page(lang)
        assert any(i18n.t("receptive.synthetic_caption") in caption.value for caption in at.caption)
        for tab in ("calculator", "erf", "head-to-head"):
            click_tab(at, tab)
            assert_all_translated(at, lang)
        assert any(i18n.t("receptive.h2h.missing_feature") in warning.body for warning in at.warning)
