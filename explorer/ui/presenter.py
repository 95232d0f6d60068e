"""Presenter mode: a link with `present=1` shows the app for a projector.

Larger fonts, the sidebar collapsed, Streamlit's header and toolbar hidden and less blank space at
the top, so a page's key chart fits a 1280x720 window. Pages ask `presenting()` to skip intro
paragraphs and controls the lesson does not need.
"""

from __future__ import annotations

import streamlit as st

PRESENT_PARAM = "present"
PRESENT_ON = "1"

# Streamlit scrolls inside stMain; its header bar and the block container's top padding take about
# 130 px of a 720 px window, which the key chart needs more.
_PRESENTER_CSS = """
<style>
html { font-size: 20px; }
[data-testid="stMainMenu"], [data-testid="stToolbarActions"], [data-testid="stDecoration"] { display: none; }
/* The header bar goes, but not its button that opens the collapsed sidebar. */
header[data-testid="stHeader"] { background: transparent; pointer-events: none; }
header[data-testid="stHeader"] button { pointer-events: auto; }
[data-testid="stMainBlockContainer"] { padding-top: 1.2rem; padding-bottom: 2rem; }
[data-testid="stMain"] h1 { font-size: 2.1rem; padding-top: 0.2rem; }
/* A phone opening a lesson link: no projector; the sidebar's open button needs its own line. */
@media (max-width: 640px) { html { font-size: 17px; } [data-testid="stMainBlockContainer"] { padding-top: 3.2rem; } }
</style>
"""


def presenting() -> bool:
    """True when the page's URL carries present=1."""
    return st.query_params.get(PRESENT_PARAM) == PRESENT_ON


def use_presenter_style() -> None:
    """Called once per run by the entrypoint, after st.set_page_config: in presenter mode, the
    sidebar starts collapsed and the page gets the projector style; otherwise nothing changes."""
    if not presenting():
        return
    st.set_page_config(initial_sidebar_state="collapsed")
    st.html(_PRESENTER_CSS)
