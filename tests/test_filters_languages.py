"""The Filters & feature maps page in 简体中文 and 繁體中文: for every CNN the page offers, the opening
view and a few changed controls render without an exception and without an English sentence.

The page runs inside the app (explorer/Home.py, then switch_page), as in a browser: the entrypoint
reads ?lang= and tells the catalogs which language this session speaks."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from explorer import i18n
from explorer.lab.dissect import COLOUR_MODES
from explorer.nn.pretrained import available
from explorer.ui.resources import CNN_MODELS
from tests import app_pages
from tests.app_pages import in_language
from tests.english_check import english_in
from tests.test_filters_page import digit_png, step_captions

PAGE = "../pages/filters.py"
TIMEOUT = 180
CHINESE = ("zh-Hans", "zh-Hant")
OFFERED = [name for name in CNN_MODELS if name in available()] or list(CNN_MODELS)  # as the page offers them


def open_page(lang: str) -> AppTest:
    return app_pages.open_page(PAGE, lang, TIMEOUT)


def assert_all_translated(at: AppTest, lang: str) -> None:
    assert not at.exception, at.exception
    assert [title.value for title in at.title] == [in_language(lang, "pages.filters.title")]
    assert english_in(at) == []


@pytest.mark.parametrize("lang", CHINESE)
@pytest.mark.parametrize("model", OFFERED)
def test_every_cnn_in_chinese(lang, model):
    with i18n.language(lang):
        every_cnn_in(lang, model)


def every_cnn_in(lang: str, model: str) -> None:
    at = open_page(lang)
    at.sidebar.selectbox(key="filters_model").set_value(model).run()
    assert_all_translated(at, lang)

    # Random weights, a per-map colour range and the deepest convolution: other captions and tiles.
    at.sidebar.radio(key="filters_weights").set_value("random")
    at.sidebar.radio(key="filters_colour").set_value("map")
    at.run()
    conv_layer = at.selectbox(key="filters_conv")
    conv_layer.set_value(conv_layer.options[-1]).run()
    assert_all_translated(at, lang)
    assert in_language(lang, "filters.random_info") in [info.value for info in at.info]


@pytest.mark.parametrize("lang", CHINESE)
def test_drawing_source_and_its_options_in_chinese(lang):
    with i18n.language(lang):
        drawing_source_in(lang)


def drawing_source_in(lang: str) -> None:
    at = open_page(lang)
    at.button_group(key="filters_source").set_value("draw").run()
    assert_all_translated(at, lang)
    assert in_language(lang, "filters.empty_drawing") in [info.value for info in at.info]
    assert at.selectbox(key="draw_invert").format_func("auto") == in_language(lang, "filters.invert.auto")


@pytest.mark.parametrize("lang", CHINESE)
def test_an_uploaded_photo_and_its_preprocessing_steps_in_chinese(lang):
    with i18n.language(lang):
        at = open_page(lang)
        at.button_group(key="filters_source").set_value("upload").run()
        assert_all_translated(at, lang)
        at.file_uploader[0].upload("digit.png", digit_png(), "image/png").run()
        assert_all_translated(at, lang)
        captions = step_captions(at)
        assert len(captions) == 6 and not any(english_in_text(caption) for caption in captions)
        assert in_language(lang, "filters.your_picture") in " ".join(text.value for text in at.markdown)


def english_in_text(text: str) -> bool:
    """True when `text` has a Latin word of three letters or more (a step title left in English)."""
    return any(len(word) >= 3 and word.isascii() and word.isalpha() for word in text.split())


def test_the_two_scripts_differ_and_the_choices_stay_ids():
    """zh-Hant is its own text, not zh-Hans; a choice widget shows labels but its value (the URL's) is an id."""
    intros = {}
    for lang in CHINESE:
        with i18n.language(lang):
            at = open_page(lang)
        intros[lang] = in_language(lang, "filters.intro")
        assert intros[lang] in [text.value for text in at.markdown]
        colour = at.sidebar.radio(key="filters_colour")
        assert colour.value == "layer"
        assert colour.options == [in_language(lang, f"filters.colour_mode.{mode}") for mode in COLOUR_MODES]
    assert intros["zh-Hans"] != intros["zh-Hant"]
