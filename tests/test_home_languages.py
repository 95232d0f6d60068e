"""Home in 简体中文 and 繁體中文, and its honest confidence.

Under AppTest, Home shows no English sentence in zh-Hans or zh-Hant (with and without MNIST, for a
test digit and for a drawing carried by the link), ?lang=zh-Hant reads Traditional, and the language
switch keeps the page's state. The answer shows its top three digits, and says when the network is
unsure: a low top probability, or an input that is hardly a digit (almost no ink, or a scribble)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from explorer.data.mnist import load_mnist
from explorer.data.preprocess import encode_digit
from explorer.i18n import catalog, language, t
from explorer.lab.results import HERO_MODELS
from explorer.nn.pretrained import available, load_pretrained
from explorer.ui.digit_input import (
    LITTLE_INK,
    SCRIBBLE_INK,
    UNSURE_BELOW,
    doubt,
    ink_fraction,
    percent_text,
    top_answers,
)
from tests.english_check import english_in
from tests.home_app import HOME, TIMEOUT, fresh_caches  # noqa: F401 (fresh_caches is an autouse fixture)

CHINESE = ("zh-Hans", "zh-Hant")


def seven() -> np.ndarray:
    """A plain 7 as MNIST stores it (white ink on black), like a drawing the link carries."""
    digit = np.zeros((28, 28), np.uint8)
    digit[6:9, 7:21] = 255
    for row in range(9, 23):
        digit[row, 19 - (row - 9) // 2 : 22 - (row - 9) // 2] = 255
    return digit


def scribble() -> np.ndarray:
    """Ink over nearly the whole 20x20 box: no digit looks like this."""
    blob = np.zeros((28, 28), np.uint8)
    blob[4:24, 4:24] = 255
    return blob


def home(params: dict) -> AppTest:
    at = AppTest.from_file(HOME, default_timeout=TIMEOUT)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def texts(at: AppTest) -> str:
    kinds = ("markdown", "caption", "info", "warning", "success", "error", "header", "title")
    return "\n".join(str(e.value) for kind in kinds for e in getattr(at, kind))


def maybe(digit: int) -> str:
    """The verdict of an answer the network is unsure of, "Maybe a <b>7</b>?", in the current language."""
    return t(f"home.verdict.maybe_{'an' if digit == 8 else 'a'}", digit=f"<b>{digit}</b>")


def hero_network():
    name = next(name for name in HERO_MODELS if name in available())
    return load_pretrained(name)[0]


@pytest.fixture
def no_mnist(monkeypatch, tmp_path):
    """A server without MNIST: no MNIST_DIR, an empty cache."""
    monkeypatch.delenv("MNIST_DIR", raising=False)
    monkeypatch.setenv("MNIST_CACHE_DIR", str(tmp_path / "empty-cache"))


@pytest.fixture
def with_mnist(mnist_dir, monkeypatch):
    monkeypatch.setenv("MNIST_DIR", str(mnist_dir))
    return mnist_dir


# --- no English in Chinese ----------------------------------------------------------------------


@pytest.mark.parametrize("lang", CHINESE)
def test_home_without_mnist_has_no_english(lang, no_mnist):
    at = home({"lang": lang})
    with language(lang):
        assert at.title[0].value == t("app.title")
        assert t("shared.data.download") in [button.label for button in at.button]
    assert english_in(at) == []
    with language(lang):  # AppTest formats the choice here, as the page labels it: in `lang`
        at.button_group(key="home_source").set_value("test").run()  # test digits need MNIST: a note says so
        assert t("shared.test_digit.needs_mnist") in texts(at)
    assert not at.exception and english_in(at) == []


@pytest.mark.parametrize("lang", CHINESE)
def test_home_with_a_test_digit_has_no_english(lang, with_mnist):
    at = home({"lang": lang, "home_source": "test", "home_test_index": "7"})
    assert len(at.get("plotly_chart")) == 2  # the network answered: its input and its bars
    assert english_in(at) == []
    with language(lang):
        assert t("home.verdict.sure", percent="").strip() in texts(at)


@pytest.mark.parametrize("lang", CHINESE)
@pytest.mark.parametrize("drawing", [seven, scribble])
def test_home_with_a_linked_drawing_has_no_english(lang, drawing, no_mnist):
    at = home({"lang": lang, "digit": encode_digit(drawing())})
    assert len(at.get("plotly_chart")) == 2
    assert english_in(at) == []


def test_a_link_in_traditional_reads_traditional():
    at = home({"lang": "zh-Hant"})
    with language("zh-Hant"):
        hant = t("app.title"), t("home.hero")
    with language("zh-Hans"):
        hans = t("app.title"), t("home.hero")
    assert at.title[0].value == hant[0] and hant[0] != hans[0]
    assert at.header[0].value == hant[1] and hant[1] != hans[1]


def test_switching_the_language_keeps_the_test_digit(with_mnist):
    label = int(load_mnist(with_mnist).test_labels[123])
    at = home({"home_source": "test", "home_class": str(label), "home_test_index": "123"})
    assert t("shared.test_digit.caption", index=123, total="10,000", label=label) in texts(at)

    at.selectbox(key="lang").set_value("zh-Hant").run()
    assert not at.exception
    assert at.button_group(key="home_source").value == "test"
    assert at.selectbox(key="home_class").value == label
    assert at.query_params["home_test_index"] == "123" and at.query_params["lang"] == "zh-Hant"
    with language("zh-Hant"):
        assert t("shared.test_digit.caption", index=123, total="10,000", label=label) in texts(at)
        assert at.title[0].value == t("app.title")


# --- honest confidence on Home ------------------------------------------------------------------


def test_a_clear_digit_shows_its_top_three_answers(no_mnist):
    at = home({"digit": encode_digit(seven())})
    probabilities = hero_network().predict_proba(seven()[None])[0]
    ranked = np.argsort(probabilities)[::-1]
    verdict = next(m.value for m in at.markdown if "sure**" in m.value)
    shown = [int(d) for d in re.findall(r"(\d) \(", verdict)]  # "next: 9 (2%), 1 (<1%)"
    assert verdict.startswith(f"**{percent_text(probabilities[ranked[0]])} sure**")
    assert shown == [int(ranked[1]), int(ranked[2])]
    unsure = doubt(probabilities, seven()) is not None
    assert (maybe(int(ranked[0])) in texts(at)) == unsure


def test_a_scribble_is_called_unsure_in_every_language(no_mnist):
    for lang in ("en", *CHINESE):
        at = home({"lang": lang, "digit": encode_digit(scribble())})
        with language(lang):
            assert [w.value for w in at.warning if w.value == t("home.unsure.scribble")], lang
            predicted = int(hero_network().predict_proba(scribble()[None])[0].argmax())
            assert any(maybe(predicted) in m.value for m in at.markdown)


def test_two_digits_drawn_over_each_other_make_the_network_unsure(with_mnist):
    """Two test digits of different classes on top of each other: the first such pair the network is
    unsure about (found here with the same network) shows the low-confidence note."""
    from explorer.data.preprocess import decode_digit

    images, labels = load_mnist(with_mnist).test_images, load_mnist(with_mnist).test_labels
    net = hero_network()
    for first in range(100):
        second = first + 100
        linked = encode_digit(np.maximum(images[first], images[second]))
        digit = decode_digit(linked)  # what the page gets from the link
        probabilities = net.predict_proba(digit[None])[0]
        if labels[first] != labels[second] and doubt(probabilities, digit) == "low_confidence":
            break
    else:
        pytest.skip("the network was sure of every pair tried")
    at = home({"digit": linked})
    expected = t("home.unsure.low_confidence", percent=percent_text(probabilities.max()),
                 threshold=f"{UNSURE_BELOW:.0%}")
    assert [w.value for w in at.warning] == [expected]
    assert any(maybe(int(probabilities.argmax())) in m.value for m in at.markdown)


def test_top_answers_are_the_three_most_probable():
    probabilities = np.array([0.01, 0.05, 0.02, 0.6, 0.0, 0.3, 0.0, 0.01, 0.01, 0.0])
    assert top_answers(probabilities) == [(3, 0.6), (5, 0.3), (1, 0.05)]
    assert [digit for digit, _ in top_answers(probabilities, 1)] == [3]


@pytest.mark.parametrize("probability, text", [(0.974, "97%"), (0.02, "2%"), (0.004, "<1%"), (0.0, "<1%")])
def test_percent_text(probability, text):
    assert percent_text(probability) == text


def test_doubt_names_the_reason():
    confident = np.eye(10)[7] * 0.9 + 0.01
    torn = np.array([0, 0, 0, 0.45, 0, 0.4, 0, 0, 0.15, 0])
    assert doubt(confident, seven()) is None
    assert doubt(torn, seven()) == "low_confidence"
    assert doubt(confident, scribble()) == "scribble"  # however sure the network is
    faint = np.zeros((28, 28), np.uint8)
    faint[10:12, 10:14] = 255  # 8 pixels of ink
    assert doubt(confident, faint) == "little_ink"


def test_the_unsure_threshold_sits_on_the_probability():
    just_under = np.full(10, (1 - (UNSURE_BELOW - 0.01)) / 9)
    just_under[4] = UNSURE_BELOW - 0.01
    just_over = np.full(10, (1 - (UNSURE_BELOW + 0.01)) / 9)
    just_over[4] = UNSURE_BELOW + 0.01
    assert doubt(just_under, seven()) == "low_confidence" and doubt(just_over, seven()) is None


def test_real_test_digits_are_not_taken_for_scribbles(mnist_dir):
    """The ink limits are measured on MNIST: every test digit lies between them."""
    images = load_mnist(mnist_dir).test_images
    ink = np.array([ink_fraction(image) for image in images])
    assert LITTLE_INK < ink.min() and ink.max() < SCRIBBLE_INK
    assert ink_fraction(scribble()) > SCRIBBLE_INK


def test_the_english_verdict_keeps_its_article():
    with language("en"):
        assert t("home.verdict.an", digit="8") == "It's an 8" and t("home.verdict.a", digit="7") == "It's a 7"
        assert t("home.verdict.maybe_an", digit="8") == "Maybe an 8?"
    for lang in CHINESE:
        assert catalog(lang)["home.verdict.a"] == catalog(lang)["home.verdict.an"]  # Chinese has no article


def test_thumbnails_are_drawn_in_the_language_when_a_font_can():
    from explorer.ui.app_setup import PAGES, _cjk_font_file, page_thumbnail

    drawn = [info.url_path for info in PAGES if info.url_path in ("train", "filters", "receptive_fields", "lessons")]
    for url_path in drawn:
        with language("en"):
            english = np.asarray(page_thumbnail(url_path))
        with language("zh-Hant"):
            chinese = np.asarray(page_thumbnail(url_path))
        assert (english != chinese).any() == (_cjk_font_file() is not None), url_path


# --- errors from the core reach the user in their language --------------------------------------


def _core_errors(tmp_path, monkeypatch) -> list[Exception]:
    """Real errors of explorer.data and explorer.nn, each as the app would catch it."""
    from explorer.data import mnist
    from explorer.nn.checkpoints import ModelFileError, load_model

    caught = []
    monkeypatch.delenv("MNIST_DIR", raising=False)
    monkeypatch.setenv("MNIST_CACHE_DIR", str(tmp_path / "empty-cache"))
    for attempt in (lambda: mnist.load_mnist(download=False),  # not in the cache
                    lambda: mnist.load_mnist(tmp_path),  # a folder without MNIST
                    lambda: load_pretrained("no-such-model"),
                    lambda: load_model(tmp_path / "missing.npz")):  # fmt: skip
        with pytest.raises((mnist.DataError, ModelFileError)) as error:
            attempt()
        caught.append(error.value)
    return caught


def test_core_errors_carry_a_key_the_catalogs_know(tmp_path, monkeypatch):
    from explorer.i18n import PLACEHOLDER

    for error in _core_errors(tmp_path, monkeypatch):
        assert error.key.startswith("errors.") and not error.key.endswith(".other"), error
        for lang in ("en", *CHINESE):
            template = catalog(lang)[error.key]
            assert set(PLACEHOLDER.findall(template)) <= set(error.params), (lang, error.key)
        assert str(error)  # the English message stays, for the command line and logs


@pytest.mark.parametrize("lang", CHINESE)
def test_core_errors_read_in_chinese(lang, tmp_path, monkeypatch):
    from explorer.ui.resources import error_text
    from tests.english_check import english_runs

    for error in _core_errors(tmp_path, monkeypatch):
        with language(lang):
            text = error_text(error)
            sentence = t(error.key, **{name: "0" for name in error.params})  # its words, not its names and paths
        assert "{" not in text and text != str(error), text
        assert english_runs(sentence) == [], sentence


def test_the_mnist_status_is_a_key_with_its_english_kept(tmp_path, monkeypatch):
    from explorer.data.mnist import mnist_status, mnist_status_message

    monkeypatch.delenv("MNIST_DIR", raising=False)
    monkeypatch.setenv("MNIST_CACHE_DIR", str(tmp_path / "cache"))
    key, params = mnist_status_message()
    assert key == "errors.data.status.not_downloaded"
    with language("en"):
        assert mnist_status() == t(key, **params)  # the CLI's English and the app's English agree


def test_the_hero_models_are_named_in_every_language():
    from explorer.nn.models import MODELS

    from explorer.nn.pretrained import available, card

    for name in HERO_MODELS:
        with language("en"):
            if name in MODELS:  # an architecture's own weights: its title
                assert t(f"home.model.{name}") == MODELS[name].title
            elif name in available():  # other weights of an architecture (deepconvnet-realworld)
                assert card(name)["model"] in MODELS
        for lang in CHINESE:
            assert f"home.model.{name}" in catalog(lang)


@pytest.mark.parametrize("lang", CHINESE)
def test_downloading_mnist_speaks_the_language(lang, mnist_dir, monkeypatch, tmp_path):
    """The Download button (here from a local 'mirror') in Chinese: its progress, then MNIST ready."""
    from explorer.data import mnist as mnist_data

    monkeypatch.delenv("MNIST_DIR", raising=False)
    monkeypatch.setenv("MNIST_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(mnist_data, "MIRRORS", (mnist_dir.resolve().as_uri() + "/",))
    at = home({"lang": lang})
    at.button(key="home_data_download").click().run()
    assert not at.exception, at.exception
    with language(lang):
        ready = t("shared.data.ready", train="60,000", test="10,000", source="").split("（")[0]
    assert any(s.value.startswith(ready) for s in at.success)
    assert english_in(at) == []
