"""One way to draw a plotly figure in the app."""
from __future__ import annotations

import streamlit as st


def chart(fig, key: str | None = None, toolbar: bool = True, **kwargs):
    """Draw `fig` with our projector template: theme=None keeps Streamlit's own chart theme off it."""
    config = {"displaylogo": False} if toolbar else {"displaylogo": False, "displayModeBar": False}
    return st.plotly_chart(fig, theme=None, key=key, config=config, **kwargs)
