"""The words the app shows, in English, 简体中文 and 繁體中文.

Every sentence a user reads comes from a catalog, one TOML file per language in explorer/locales/,
with its keys grouped by page ([home], [train], ...): `t("home.title")`. Placeholders are plain
`{name}`; the caller formats numbers (`t("train.accuracy", value=f"{acc:.1%}")`).

zh-Hant.toml is generated from zh-Hans.toml with OpenCC (Taiwan phrases), then the reviewed
overrides in zh-Hant.overrides.toml are applied: `python -m explorer.i18n hant`.
`python -m explorer.i18n check` lists missing keys, unused keys and placeholder mismatches. Both
are a maintainer's tools (explorer/cli/catalogs.py, OpenCC from requirements.txt); the app
only reads the catalogs.

No Streamlit here: the UI tells `t` where the session's language is (`set_language_source`);
elsewhere (tests, figures built outside a page) it is `with language("zh-Hans"): ...`.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import re
import sys
import tomllib
from pathlib import Path
from typing import Callable

LANGUAGES = {"en": "English", "zh-Hans": "简体中文", "zh-Hant": "繁體中文"}
DEFAULT = "en"
LOCALES = Path(__file__).with_name("locales")
PLACEHOLDER = re.compile(r"\{(\w+)\}")

_language = contextvars.ContextVar("language", default=DEFAULT)
_source: Callable[[], str | None] | None = None


@functools.cache
def catalog(lang: str) -> dict[str, str]:
    """The catalog of `lang` as flat keys: {"home.title": "..."}."""
    with open(LOCALES / f"{lang}.toml", "rb") as file:
        return dict(_flatten(tomllib.load(file)))


def _flatten(table: dict, prefix: str = ""):
    for name, value in table.items():
        if isinstance(value, dict):
            yield from _flatten(value, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}", value


def set_language_source(source: Callable[[], str | None]) -> None:
    """The UI's way to say where the current session's language is kept."""
    global _source
    _source = source


def current() -> str:
    lang = _source() if _source is not None else None
    return lang if lang in LANGUAGES else _language.get()


@contextlib.contextmanager
def language(lang: str):
    """Within this block (and where no UI session says otherwise), `t` speaks `lang`."""
    token = _language.set(lang)
    try:
        yield
    finally:
        _language.reset(token)


def t(key: str, **params) -> str:
    """The text of `key` in the current language (English where a catalog lacks it; the key itself
    where English lacks it too, which the catalog test prevents)."""
    text = catalog(current()).get(key) or catalog(DEFAULT).get(key) or key
    if not params:
        return text
    return PLACEHOLDER.sub(lambda m: str(params[m.group(1)]) if m.group(1) in params else m.group(0), text)


def match_locale(locale: str | None) -> str:
    """The language for a browser locale: zh-TW, zh-HK, zh-MO and zh-Hant-* read Traditional,
    other zh Simplified, everything else English."""
    parts = (locale or "").replace("_", "-").lower().split("-")
    if parts[0] != "zh":
        return DEFAULT
    return "zh-Hant" if {"hant", "tw", "hk", "mo"} & set(parts[1:]) else "zh-Hans"


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


if __name__ == "__main__":  # `python -m explorer.i18n check|hant`: the maintainer's tool in explorer/cli/catalogs.py
    from explorer.cli.catalogs import main

    sys.exit(main())
