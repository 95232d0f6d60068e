"""The catalogs: every key the code uses is in every language with the same placeholders, none is
unused, zh-Hant is what the generator makes from zh-Hans, and a browser's locale picks a language."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from explorer import i18n
from explorer.cli.catalogs import keys_in_code, problems, traditional
from explorer.i18n import LANGUAGES, match_locale, t
from tests.english_check import english_runs

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_the_catalogs_have_every_key_the_code_uses_and_no_other():
    used, prefixes = keys_in_code([REPO_ROOT / "explorer", REPO_ROOT / "pages"])
    assert used, "no t() call found: the scan is broken"
    assert problems(used, prefixes) == []


def test_a_missing_key_and_a_placeholder_mismatch_are_reported(monkeypatch):
    english = {"home.title": "Home {name}", "home.unused": "x"}
    chinese = {"home.title": "首页"}
    monkeypatch.setattr(i18n, "catalog", lambda lang: english if lang == "en" else chinese)
    found = problems({"home.title", "home.new"}, set())
    assert "missing in en: home.new" in found
    assert "missing in zh-Hans: home.unused" in found
    assert "placeholders differ in zh-Hans: home.title" in found
    assert "unused: home.unused" in found


def test_t_fills_placeholders_and_falls_back_to_english():
    with i18n.language("zh-Hans"):
        assert t("app.title") == i18n.catalog("zh-Hans")["app.title"] != i18n.catalog("en")["app.title"]
    assert t("app.title") == i18n.catalog("en")["app.title"]
    assert t("no.such.key") == "no.such.key"


@pytest.mark.skipif(importlib.util.find_spec("opencc") is None, reason="opencc (requirements-dev.txt) is not installed")
def test_zh_hant_is_generated_from_zh_hans():
    overrides = REPO_ROOT / "explorer" / "locales" / "zh-Hant.overrides.toml"
    import tomllib

    expected = traditional(i18n.catalog("zh-Hans"), dict(i18n._flatten(tomllib.loads(overrides.read_text()))))
    assert i18n.catalog("zh-Hant") == expected, "run `python -m explorer.i18n hant` after changing zh-Hans.toml"


@pytest.mark.parametrize(
    "locale, language",
    [("zh-CN", "zh-Hans"), ("zh", "zh-Hans"), ("zh-SG", "zh-Hans"), ("zh-TW", "zh-Hant"), ("zh_HK", "zh-Hant"),
     ("zh-Hant-TW", "zh-Hant"), ("en-US", "en"), ("fr", "en"), (None, "en"), ("", "en")],
)  # fmt: skip
def test_a_browser_locale_picks_a_language(locale, language):
    assert match_locale(locale) == language


def test_the_english_detector_finds_sentences_but_not_names():
    assert english_runs("Train a network on MNIST") == ["Train a network on MNIST"]
    assert english_runs("用 Adam 和 SGD 训练 LeNet") == []
    assert english_runs("ReLU, Adam, MNIST") == []
    assert english_runs("公式 $\\frac{a}{b} + c d e$") == []


def test_languages_have_their_own_names():
    assert set(LANGUAGES) == {"en", "zh-Hans", "zh-Hant"}
