"""Figures used on several pages: digits, probability bars, filter grids."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from explorer.figures.theme import DIVERGING, PALETTE
from explorer.i18n import t

DIGIT_SCALE = [[0, "black"], [1, "white"]]


def digit_figure(image: np.ndarray, title: str = "", size: int = 220) -> go.Figure:
    """A 28x28 (or any) grayscale image, white ink on black as MNIST stores it."""
    fig = go.Figure(go.Heatmap(z=image, colorscale=DIGIT_SCALE, showscale=False, hovertemplate=t("shared.chart.pixel_hover") + "<extra></extra>"))
    fig.update_yaxes(autorange="reversed", scaleanchor="x", showticklabels=False, ticks="", showgrid=False, zeroline=False)
    fig.update_xaxes(showticklabels=False, ticks="", showgrid=False, zeroline=False)
    fig.update_layout(title=title, width=size, height=size + (40 if title else 0), margin=dict(l=5, r=5, t=40 if title else 5, b=5))
    return fig


def probability_bars(probabilities: np.ndarray, true_label: int | None = None, title: str | None = None) -> go.Figure:
    """Ten bars, one per digit; the predicted digit highlighted, the true one marked if known.

    The title defaults to "What the network thinks" in the current language."""
    probabilities = np.asarray(probabilities, dtype=float)
    predicted = int(probabilities.argmax())
    colours = [PALETTE[1] if d == predicted else PALETTE[0] for d in range(10)]
    fig = go.Figure(
        go.Bar(
            x=list(range(10)),
            y=probabilities,
            marker_color=colours,
            text=[f"{p:.0%}" if p >= 0.005 else "" for p in probabilities],
            textposition="outside",
            hovertemplate=t("shared.chart.digit_hover") + "<extra></extra>",
        )
    )
    if true_label is not None:
        fig.add_annotation(x=true_label, y=-0.12, yref="y", text=t("shared.chart.true"), showarrow=False, font=dict(color=PALETTE[2]))
    fig.update_layout(title=title if title is not None else t("shared.chart.what_it_thinks"), yaxis=dict(range=[-0.18 if true_label is not None else 0, 1.15], tickformat=".0%", title=t("shared.chart.probability")), xaxis=dict(tickmode="linear", title=t("shared.chart.digit")), height=320, showlegend=False)
    return fig


def grid_shape(count: int, columns: int = 8) -> tuple[int, int]:
    columns = min(columns, count)
    return (count + columns - 1) // columns, columns


def heatmap_grid(maps: np.ndarray, titles: list[str] | None = None, diverging: bool = False, columns: int = 8, shared_range: bool = True, height_per_row: int = 130) -> go.Figure:
    """Small heatmaps side by side. `maps` is (count, h, w).

    Diverging maps (weights) use a red-blue scale centred on zero; `shared_range` puts every
    map on one colour scale so they can be compared (otherwise each uses its own range)."""
    maps = np.asarray(maps, dtype=float)
    rows, cols = grid_shape(len(maps), columns)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=titles, horizontal_spacing=0.02, vertical_spacing=0.08 if titles else 0.02)
    limit = float(np.abs(maps).max()) or 1.0
    low, high = (-limit, limit) if diverging else (float(maps.min()), float(maps.max()) or 1.0)
    for index, m in enumerate(maps):
        if not shared_range:
            limit = float(np.abs(m).max()) or 1.0
            low, high = (-limit, limit) if diverging else (float(m.min()), float(m.max()) or 1.0)
        fig.add_trace(
            go.Heatmap(z=m, zmin=low, zmax=high, colorscale=DIVERGING if diverging else "Cividis", showscale=index == 0 and shared_range, hovertemplate="%{z:.3f}<extra></extra>"),
            row=index // cols + 1, col=index % cols + 1,
        )  # fmt: skip
    fig.update_yaxes(autorange="reversed", scaleanchor="x", showticklabels=False, showgrid=False, zeroline=False, showline=False, ticks="")
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False, showline=False, ticks="")
    fig.update_layout(height=max(160, rows * height_per_row + 40), margin=dict(l=10, r=10, t=40, b=10))
    fig.update_annotations(font_size=14)
    return fig


def filter_maps(weights: np.ndarray, in_channel: int = 0) -> np.ndarray:
    """Conv weights (k, k, C_in, F) -> F kernels (F, k, k) for one input channel."""
    return np.moveaxis(weights[:, :, in_channel, :], -1, 0)
