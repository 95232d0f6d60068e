"""The Robustness & confidence page under AppTest, inside the app (explorer/Home.py, then
switch_page), in English, 简体中文 and 繁體中文: every view renders without an exception, the Chinese
pages show no English sentence, and the figures it shows are the lab's."""

from __future__ import annotations

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from explorer import i18n
from explorer.lab import calibration as cal
from explorer.lab import robustness as rb
from explorer.ui.app_setup import REPO_ROOT
from tests import app_pages
from tests.app_pages import in_language
from tests.english_check import english_in

HOME = str(REPO_ROOT / "explorer" / "Home.py")
PAGE = "../pages/robustness.py"
TIMEOUT = 300
LANGUAGES = ("en", "zh-Hans", "zh-Hant")
VIEWS = ("curves", "digit", "confidence")


def open_page(lang: str, **state) -> AppTest:
    return app_pages.open_page(PAGE, lang, TIMEOUT, **state)


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("view", VIEWS)
def test_every_view_in_every_language(mnist, lang, view):
    at = open_page(lang, rb_view=view, rb_models=["lenet", "zhou-cnn"])
    assert [title.value for title in at.title] == [in_language(lang, "robustness.title")]
    assert at.radio(key="rb_view").value == view
    assert len(at.get("plotly_chart")) >= 2
    if lang != "en":
        assert english_in(at) == []


def test_the_table_shows_the_labs_clean_and_worst_accuracy(mnist):
    from explorer.nn.pretrained import load_pretrained

    at = open_page("en", rb_view="curves", rb_kind="noise", rb_models=["lenet"])
    table = at.dataframe[0].value
    indices = rb.fixed_sample(mnist.test_labels)
    net, _ = load_pretrained("lenet")
    curve = rb.accuracy_curve(net.predict_proba, mnist.test_images[indices], mnist.test_labels[indices], "noise")
    row = table.iloc[0].tolist()
    assert row[:3] == ["lenet", f"{curve.at(0.0):.1%}", f"{curve.worst:.1%}"]


def test_the_confidence_view_shows_the_cards_temperature_and_the_labs_ece(mnist):
    from explorer.nn.pretrained import card, load_pretrained

    at = open_page("en", rb_view="confidence", rb_model="zhou-cnn")
    metrics = {metric.label: metric.value for metric in at.metric}
    temperature = card("zhou-cnn")["temperature"]
    net, _ = load_pretrained("zhou-cnn")
    result = cal.calibrate("zhou-cnn", cal.logits(net, mnist.test_images), mnist.test_labels, temperature)
    assert metrics[i18n.catalog("en")["confidence.metric.temperature"]] == f"{temperature:.2f}"
    assert metrics[i18n.catalog("en")["confidence.metric.ece_before"]] == f"{result.before.ece:.2%}"
    assert metrics[i18n.catalog("en")["confidence.metric.ece_after"]] == f"{result.after.ece:.2%}"
    assert metrics[i18n.catalog("en")["confidence.metric.accuracy"]] == f"{result.accuracy:.2%}"
    assert len(at.latex) == 2


def test_the_students_digit_moves_with_the_slider(mnist):
    at = open_page("en", rb_view="digit", rb_kind="inversion", rb_model="lenet")
    index = at.session_state["rb_test_index"]
    answers = []
    for amount in (0.0, 1.0):
        at.select_slider(key="rb_amount").set_value(amount).run()
        assert not at.exception, at.exception
        answers.append([m.value for m in at.markdown if "The network answers" in m.value])
    assert at.session_state["rb_test_index"] == index  # the same digit, only changed
    from explorer.nn.pretrained import load_pretrained

    net, _ = load_pretrained("lenet")
    digit = mnist.test_images[index]
    for amount, shown in zip((0.0, 1.0), answers):
        p = net.predict_proba(rb.perturb(digit, "inversion", amount)[None])[0]
        assert shown == [in_language("en", "robustness.digit.answer", digit=int(p.argmax()), share=f"{p.max():.0%}")]


def test_a_view_keeps_its_choices_while_another_view_is_open(mnist):
    at = open_page("en", rb_view="curves", rb_kind="blur", rb_models=["lenet"])
    at.session_state["rb_view"] = "confidence"
    at.run()
    at.session_state["rb_view"] = "curves"
    at.run()
    assert not at.exception, at.exception
    assert at.selectbox(key="rb_kind").value == "blur"
    assert at.query_params.get("rb_kind") in ("blur", ["blur"])  # the view is in the link


def test_a_link_opens_the_view_it_names(mnist):
    """The URL carries ids and numbers: a shared link opens the same view in any language."""
    at = AppTest.from_file(HOME, default_timeout=TIMEOUT)
    at.query_params["lang"] = "zh-Hant"
    at.run()
    for key, value in {"rb_view": "digit", "rb_kind": "rotation", "rb_amount": "-45", "rb_model": "lenet"}.items():
        at.query_params[key] = value
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    assert at.radio(key="rb_view").value == "digit"
    assert at.select_slider(key="rb_amount").value == -45
    assert at.selectbox(key="rb_model").value == "lenet"
    assert english_in(at) == []


def test_without_mnist_the_page_explains_instead_of_failing(monkeypatch):
    monkeypatch.delenv("MNIST_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", "/nonexistent-robustness-test")
    st.cache_resource.clear()
    st.cache_data.clear()
    try:
        for view in VIEWS:
            at = open_page("zh-Hans", rb_view=view)
            if view != "digit":
                assert in_language("zh-Hans", "robustness.no_data") in [w.value for w in at.warning]
            assert english_in(at) == []
    finally:
        st.cache_resource.clear()
        st.cache_data.clear()


@pytest.mark.parametrize("lang", ["zh-Hans", "zh-Hant"])
@pytest.mark.parametrize("source, invitation", [("draw", "robustness.digit.draw_first"), ("upload", "robustness.digit.upload_info")])
def test_the_drawing_and_upload_sources_invite_a_digit(mnist, lang, source, invitation):
    at = open_page(lang, rb_view="digit", rb_source=source)
    assert in_language(lang, invitation) in [info.value for info in at.info]
    assert english_in(at) == []
