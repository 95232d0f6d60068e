"""One way to draw a plotly figure in the app."""
from __future__ import annotations

import streamlit as st

from explorer.figures.theme import fit_layout


def chart(fig, key: str | None = None, toolbar: bool = True, **kwargs):
    """Draw `fig` with our projector template: theme=None keeps Streamlit's own chart theme off it.

    The title and the legend are fitted first (explorer.figures.theme.fit_layout), so they stay readable
    and apart on a phone as on a projector."""
    height = kwargs.get("height")
    fit_layout(fig, height if isinstance(height, int) else None)
    config = {"displaylogo": False} if toolbar else {"displaylogo": False, "displayModeBar": False}
    return st.plotly_chart(fig, theme=None, key=key, config=config, **kwargs)
