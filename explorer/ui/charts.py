"""One way to draw a plotly figure in the app."""
from __future__ import annotations

import streamlit as st

from explorer.figures.theme import fit_layout
from explorer.ui.figure_cache import is_shared


# Zoom, pan, reset and save are what a class uses; without the rest the toolbar is short enough
# not to cover a chart's title on a phone.
FEWER_BUTTONS = ["select2d", "lasso2d", "zoomIn2d", "zoomOut2d", "autoScale2d"]


def chart(fig, key: str | None = None, toolbar: bool = True, min_width: int | None = None, **kwargs):
    """Draw `fig` with our projector template: theme=None keeps Streamlit's own chart theme off it.

    The title and the legend are fitted first (explorer.figures.theme.fit_layout), so they stay readable
    and apart on a phone as on a projector. A chart with a `key` and a `min_width` (px) never
    shrinks below it: on a narrower screen it scrolls sideways, its details still readable."""
    if key and min_width:
        st.html(f"<style>{scroll_css(key, min_width)}</style>")
    height = kwargs.get("height")
    if not is_shared(fig):  # a shared figure was fitted once, before any session could send it
        fit_layout(fig, height if isinstance(height, int) else None)
    config = {"displaylogo": False, "modeBarButtonsToRemove": FEWER_BUTTONS} if toolbar else {"displaylogo": False, "displayModeBar": False}
    return st.plotly_chart(fig, theme=None, key=key, config=config, **kwargs)


def scroll_css(key: str, min_width: int) -> str:
    """The style that keeps the chart with `key` at least `min_width` px wide, scrolling sideways
    instead. A page that redraws the chart often puts it in its own style block, drawn once."""
    return f".st-key-{key} {{ overflow-x: auto; }} .st-key-{key} > div {{ min-width: {min_width}px; }}"
