"""Plotly figure builders: plain functions from arrays to figures, testable without a browser."""
