"""The whole CNN at a glance (as CNN Explainer draws it): one digit flowing left to right, every
layer's feature maps a column of thumbnails, the ten probabilities at the right end, and the
connections from a selected map to the maps it reads from.

One heatmap per column (its maps stacked with blank gaps) and one scatter of click targets keep
even DeepConvNet's 15 columns quick to build and to send.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from explorer.figures.filters import mosaic
from explorer.figures.theme import DIVERGING, PALETTE
from explorer.i18n import t
from explorer.lab.dissect import Dissection

THUMB = 10.0  # every thumbnail is drawn this many units wide, whatever its map's size
GAP_Y = 2.0  # between two thumbnails of a column
COLUMN_STEP = 16.0  # from one column's left edge to the next
PROBABILITY_WIDTH = 1.8 * THUMB  # the softmax's cells: "7: 100%" fits inside (white on the answer's dark blue)
MAPS_PER_COLUMN = 6  # more would not fit a projector's height; the column says how many it hides
HIGHLIGHT = PALETTE[3]


def overview_columns(view: Dissection, per_column: int = MAPS_PER_COLUMN) -> list[dict]:
    """The columns left to right: the input, then every layer whose output is a stack of maps.
    Each: layer index (-1 for the input), name, maps (n, h, w) shown, channels in all, kind."""
    columns = [dict(index=-1, name=t("overview.input"), maps=view.input.transpose(2, 0, 1), channels=1, kind="input")]
    for layer in view.maps:
        maps = layer.output.transpose(2, 0, 1)
        columns.append(dict(index=layer.index, name=layer.name, maps=maps[:per_column], channels=maps.shape[0], kind=layer.kind))
    return columns


def sources_of(columns: list[dict], column: int, channel: int) -> list[int]:
    """Which maps of the column before a map reads: all of them for a convolution (each output
    channel sums over every input channel), the same channel for everything else."""
    if column <= 0:
        return []
    before = columns[column - 1]
    if columns[column]["kind"] == "conv":
        return list(range(len(before["maps"])))
    return [channel] if channel < len(before["maps"]) else []


def _row_gap(size: int) -> int:
    """Blank pixels between two maps of `size` pixels, so the gap shows about GAP_Y wide."""
    return max(1, round(size * GAP_Y / THUMB))


def _centre(columns: list[dict], column: int, channel: int) -> tuple[float, float]:
    size = columns[column]["maps"].shape[1]
    pitch = (size + _row_gap(size)) * THUMB / size  # from one thumbnail's top to the next
    return column * COLUMN_STEP + THUMB / 2, -(channel * pitch + THUMB / 2)


def network_overview(view: Dissection, selected: tuple[int, int] | None = None, height: int = 440) -> go.Figure:
    """`selected`: (column, channel) of the map whose inputs are drawn as lines."""
    columns = overview_columns(view)
    tilted = len(columns) > 9  # many columns: their names slant so they do not overlap
    fig = go.Figure()
    targets_x, targets_y, targets_data, hover = [], [], [], []
    for number, column in enumerate(columns):
        maps = column["maps"]
        limits = np.maximum(np.abs(maps).reshape(len(maps), -1).max(axis=1), 1e-12)
        z, _, _ = mosaic(maps, limits, columns=1, normalise=True, row_gap=_row_gap(maps.shape[1]))
        scale = THUMB / maps.shape[2]
        fig.add_trace(go.Heatmap(z=z, x0=number * COLUMN_STEP + scale / 2, dx=scale, y0=-scale / 2, dy=-scale,
                                 colorscale=DIVERGING, zmin=-1, zmax=1, showscale=False, hoverinfo="skip"))  # fmt: skip
        hidden = column["channels"] - len(maps)
        label = column["name"] + (f"<br>+{hidden}" if hidden > 0 else "")
        fig.add_annotation(x=number * COLUMN_STEP + THUMB / 2, y=THUMB * 0.2, text=label, showarrow=False,
                           yanchor="bottom", font=dict(size=11), textangle=-45 if tilted else 0)  # fmt: skip
        for channel in range(len(maps)):
            x, y = _centre(columns, number, channel)
            targets_x.append(x)
            targets_y.append(y)
            targets_data.append([number, channel])
            hover.append(t("overview.hover", layer=column["name"], channel=channel + 1))
    _add_probabilities(fig, view, len(columns))
    if selected is not None and 0 <= selected[0] < len(columns):
        _add_connections(fig, columns, *selected)
    fig.add_trace(go.Scatter(x=targets_x, y=targets_y, customdata=targets_data, text=hover, mode="markers",
                             marker=dict(size=22, symbol="square", color="rgba(0,0,0,0)"),
                             hovertemplate="%{text}<extra></extra>", showlegend=False))  # fmt: skip
    lowest = -MAPS_PER_COLUMN * (THUMB + GAP_Y)
    fig.update_xaxes(visible=False, range=[-2, (len(columns) + 1) * COLUMN_STEP + 4])
    fig.update_yaxes(visible=False, range=[lowest - 2, THUMB * (2.4 if tilted else 1.2)])
    fig.update_layout(height=height, margin=dict(l=4, r=4, t=8, b=4), showlegend=False,
                      clickmode="event+select", dragmode=False)  # fmt: skip
    return fig


def _add_probabilities(fig: go.Figure, view: Dissection, column: int) -> None:
    """The softmax at the right end: ten cells, the network's answer outlined."""
    x, width = column * COLUMN_STEP, PROBABILITY_WIDTH
    cell = (MAPS_PER_COLUMN * (THUMB + GAP_Y)) / 10
    fig.add_trace(go.Heatmap(z=view.probabilities[:, None], x0=x + width / 2, dx=width, y0=-cell / 2, dy=-cell,
                             colorscale="Blues", zmin=0, zmax=1, showscale=False,
                             text=[[f"{digit}: {p:.0%}"] for digit, p in enumerate(view.probabilities)],
                             texttemplate="%{text}", textfont=dict(size=11), hoverinfo="skip"))  # fmt: skip
    fig.add_annotation(x=x + width / 2, y=THUMB * 0.2, text=t("overview.softmax"), showarrow=False, yanchor="bottom",
                       font=dict(size=11))  # fmt: skip
    top = view.predicted
    fig.add_shape(type="rect", x0=x, x1=x + width, y0=-top * cell, y1=-(top + 1) * cell, line=dict(color=HIGHLIGHT, width=3))


def _add_connections(fig: go.Figure, columns: list[dict], column: int, channel: int) -> None:
    if channel >= len(columns[column]["maps"]):
        return
    x1, y1 = _centre(columns, column, channel)
    xs, ys = [], []
    for source in sources_of(columns, column, channel):
        x0, y0 = _centre(columns, column - 1, source)
        xs += [x0 + THUMB / 2, x1 - THUMB / 2, None]
        ys += [y0, y1, None]
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", line=dict(color=HIGHLIGHT, width=1.5), hoverinfo="skip", showlegend=False))
    fig.add_shape(type="rect", x0=x1 - THUMB / 2, x1=x1 + THUMB / 2, y0=y1 - THUMB / 2, y1=y1 + THUMB / 2,
                  line=dict(color=HIGHLIGHT, width=3))  # fmt: skip
