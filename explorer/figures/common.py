"""Figures used on several pages: digits, probability bars, filter grids."""
from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from explorer.figures.theme import DIVERGING, PALETTE
from explorer.i18n import t

DIGIT_SCALE = [[0, "black"], [1, "white"]]


def unchecked_figure(traces: list[dict], layout: dict) -> go.Figure:
    """go.Figure(traces, layout), without plotly checking every property on the way in (ten
    times faster: Home builds two figures at every stroke of every student, the Train page its
    live charts at every update). So traces are spelt as plotly stores them ("marker":
    {"color": ...}, not marker_color); a title may stay a plain string (`_in_plotly_form` writes
    it out). The tests compare the figures made this way with the same figures checked."""
    return go.Figure(data=traces, layout=_in_plotly_form(layout), _validate=False)  # arrays are not copied either


def _in_plotly_form(layout: dict) -> dict:
    """What plotly's check makes of the shorthand we write: a title string (the figure's, an
    axis's) becomes {"text": title}, and a None is no setting at all."""
    form = {}
    for key, value in layout.items():
        if value is None:
            continue
        if key == "title" and isinstance(value, str):
            value = dict(text=value)
        elif key.startswith(("xaxis", "yaxis")):
            value = _in_plotly_form(value)
        form[key] = value
    return form


def digit_figure(image: np.ndarray, title: str = "", size: int = 220, axis_lines: bool = True) -> go.Figure:
    """A 28x28 (or any) grayscale image, white ink on black as MNIST stores it."""
    axis = dict(showticklabels=False, ticks="", showgrid=False, zeroline=False)
    if not axis_lines:
        axis["showline"] = False  # the projector template draws them
    pixels = dict(type="heatmap", z=np.array(image), colorscale=DIGIT_SCALE, showscale=False,
                  hovertemplate=t("shared.chart.pixel_hover") + "<extra></extra>")  # fmt: skip
    layout = dict(title=title, width=size, height=size + (40 if title else 0),
                  margin=dict(l=5, r=5, t=40 if title else 5, b=5), xaxis=axis, yaxis=dict(axis, autorange="reversed", scaleanchor="x"))  # fmt: skip
    return unchecked_figure([pixels], layout)


def probability_bars(probabilities: np.ndarray, true_label: int | None = None, title: str | None = None) -> go.Figure:
    """Ten bars, one per digit; the predicted digit highlighted, the true one marked if known.

    The title defaults to "What the network thinks" in the current language."""
    probabilities = np.asarray(probabilities, dtype=float)
    predicted = int(probabilities.argmax())
    bars = dict(
        type="bar",
        x=list(range(10)),
        y=probabilities,
        marker=dict(color=[PALETTE[1] if d == predicted else PALETTE[0] for d in range(10)]),
        text=[f"{p:.0%}" if p >= 0.005 else "" for p in probabilities],
        textposition="outside",
        hovertemplate=t("shared.chart.digit_hover") + "<extra></extra>",
    )
    layout = dict(title=title if title is not None else t("shared.chart.what_it_thinks"),
                  yaxis=dict(range=[-0.18 if true_label is not None else 0, 1.15], tickformat=".0%", title=t("shared.chart.probability")),
                  xaxis=dict(tickmode="linear", title=t("shared.chart.digit")), height=320, showlegend=False)  # fmt: skip
    if true_label is not None:
        layout["annotations"] = [dict(x=true_label, y=-0.12, yref="y", text=t("shared.chart.true"), showarrow=False, font=dict(color=PALETTE[2]))]
    return unchecked_figure([bars], layout)


def grid_shape(count: int, columns: int = 8) -> tuple[int, int]:
    columns = min(columns, count)
    return (count + columns - 1) // columns, columns


def tiles(maps: np.ndarray, columns: int, gap: int = 1, row_gap: int | None = None) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Tile (count, h, w) maps into one array, left to right and top to bottom, with NaN gaps
    (`gap` pixels between columns, `row_gap` between rows); and each tile's (top, left).

    One heatmap of tiles builds and draws far faster than a subplot per map. In float32: more
    than a screen shows, and half the bytes of float64 to send to every student."""
    maps = np.asarray(maps, dtype=np.float32)
    count, h, w = maps.shape
    row_gap = gap if row_gap is None else row_gap
    columns = max(1, min(columns, count))
    rows = -(-count // columns)
    z = np.full((rows * (h + row_gap) - row_gap, columns * (w + gap) - gap), np.nan, dtype=np.float32)
    origins = [((index // columns) * (h + row_gap), (index % columns) * (w + gap)) for index in range(count)]
    for m, (top, left) in zip(maps, origins):
        z[top : top + h, left : left + w] = m
    return z, origins


def heatmap_grid(maps: np.ndarray, titles: list[str] | None = None, diverging: bool = False, columns: int = 8, height_per_row: int = 130) -> go.Figure:
    """Small heatmaps (count, h, w) side by side on one colour scale, each under its title if given.

    Diverging maps (weights) use a red-blue scale centred on zero."""
    maps = np.asarray(maps, dtype=np.float64)
    count, h, w = maps.shape
    rows, cols = grid_shape(count, columns)
    row_gap = math.ceil(0.35 * h) + 1 if titles else 1  # room above each tile for its title
    z, origins = tiles(maps, cols, row_gap=row_gap)
    if titles:  # the first row's titles need the same room
        z = np.vstack([np.full((row_gap, z.shape[1]), np.nan), z])
        origins = [(top + row_gap, left) for top, left in origins]
    limit = float(np.abs(maps).max()) or 1.0
    low, high = (-limit, limit) if diverging else (float(maps.min()), float(maps.max()) or 1.0)
    heatmap = go.Heatmap(z=z, zmin=low, zmax=high, colorscale=DIVERGING if diverging else "Cividis", hoverongaps=False,
                         hovertemplate="%{z:.3f}<extra></extra>")  # fmt: skip
    notes = [dict(x=left + (w - 1) / 2, y=top - 0.5, text=title, showarrow=False, xanchor="center", yanchor="bottom", font=dict(size=14))
             for title, (top, left) in zip(titles or [], origins)]  # fmt: skip
    return go.Figure(heatmap, layout=dict(
        xaxis=dict(visible=False, constrain="domain"),
        # In a narrow column the tiles are as wide as it allows: they start under the title.
        yaxis=dict(visible=False, autorange="reversed", scaleanchor="x", constrain="domain", constraintoward="top"),
        height=max(160, rows * height_per_row + 40), margin=dict(l=10, r=10, t=40, b=10), annotations=notes,
    ))  # fmt: skip


def filter_maps(weights: np.ndarray, in_channel: int = 0) -> np.ndarray:
    """Conv weights (k, k, C_in, F) -> F kernels (F, k, k) for one input channel."""
    return np.moveaxis(weights[:, :, in_channel, :], -1, 0)
