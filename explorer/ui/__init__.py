"""Streamlit helpers for the app (the only part of `explorer` besides Home.py that imports streamlit)."""
