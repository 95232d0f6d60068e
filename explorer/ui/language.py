"""The session's language: from the link (?lang=zh-Hant), else the browser's, and a switch in the
sidebar. The choice is an id in the URL, so a lesson link carries it and a reload keeps it; the
page's own state (its widgets and the URL's other parameters) stays when the language changes."""

from __future__ import annotations

import streamlit as st

from explorer import i18n
from explorer.i18n import LANGUAGES
from explorer.ui import url_state

KEY = "lang"
SHOWN = "_lang_shown"  # the language the last run was drawn in


def _session_language() -> str | None:
    try:
        return st.session_state.get(KEY)
    except Exception:  # noqa: BLE001 - outside a script run (a worker thread): the context's default
        return None


def use_session_language() -> None:
    """Before any text is read: the session's language, set from the link or the browser."""
    i18n.set_language_source(_session_language)
    first_visit = KEY not in st.session_state
    url_state.bind(KEY, i18n.DEFAULT, options=list(LANGUAGES))  # English is the default a link leaves out
    if first_visit and KEY not in st.query_params:
        st.session_state[KEY] = i18n.match_locale(st.context.locale)
    if st.session_state.get(SHOWN, st.session_state[KEY]) != st.session_state[KEY]:
        url_state.resend_values()  # the choices on screen are relabelled in the new language
    st.session_state[SHOWN] = st.session_state[KEY]


def language_switch() -> None:
    """The switch in the sidebar (its label in all three languages: whoever cannot read the page
    can still find it)."""
    st.sidebar.selectbox("🌐 Language · 语言 · 語言", list(LANGUAGES), format_func=LANGUAGES.get, key=KEY)
