"""Figures of the Filters & feature maps page: filter and feature-map grids, one channel in
detail, one convolution with its numbers, and saliency.

Signed values (weights, pre-activation maps) use the diverging red-blue scale centred on zero:
blue is negative, white zero, red positive. Every map is drawn on a symmetric range -L..L,
so zero is always white and the same colour means the same thing across a figure.

Grids of many maps are drawn as one heatmap of tiles (a mosaic with blank gaps): one trace
instead of dozens of subplots keeps a 64-channel layer fast to build and to draw.
"""
from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from explorer.figures.common import tiles
from explorer.i18n import t
from explorer.lab.dissect import ConvolutionStep
from explorer.figures.theme import DIVERGING, PALETTE

GAP = 1  # blank pixels between tiles
MAX_TILE_LABELS = 64
HIGHLIGHT = PALETTE[3]  # orange: the selected channel / window / cell
INK_SCALE = [[0.0, "rgba(0,0,0,0)"], [0.15, "rgba(230,159,0,0.15)"], [1.0, "rgba(230,159,0,0.95)"]]
GREYS = [[0, "black"], [1, "white"]]


GROUP_COLUMNS = 4  # tiles per row in one group; a page shows two groups side by side on a wide screen


def _columns_for(count: int, tile: int) -> int:
    """Four tiles per row: large enough to read from the back of a room, and a group still fits a phone."""
    return int(max(1, min(count, GROUP_COLUMNS)))


def tile_groups(count: int) -> list[range]:
    """Channels split for side-by-side figures: one group up to four tiles, otherwise two halves.

    Side by side on a wide screen (eight tiles a row), stacked on a phone (four a row)."""
    if count <= GROUP_COLUMNS:
        return [range(count)]
    half = -(-count // 2)  # ceil, in whole rows of four when it can
    half = -(-half // GROUP_COLUMNS) * GROUP_COLUMNS if half > GROUP_COLUMNS else half
    return [range(0, min(half, count)), range(min(half, count), count)]


def mosaic(maps: np.ndarray, limits: np.ndarray, columns: int, normalise: bool, row_gap: int = GAP) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]:
    """Tile maps (n, h, w) into one array with NaN gaps.

    Returns (z, raw, origins): z is what is coloured (each map divided by its limit when
    `normalise`), raw holds the true values for hover, origins the (row, col) of each tile."""
    maps = np.asarray(maps, dtype=np.float64)
    raw, origins = tiles(maps, columns, GAP, row_gap)
    z = tiles(maps / np.asarray(limits, dtype=np.float64)[:, None, None], columns, GAP, row_gap)[0] if normalise else raw
    return z, raw, origins


def map_grid_figure(
    maps: np.ndarray,
    limits: np.ndarray | float,
    title: str,
    labels: list[str] | None = None,
    highlight: int | None = None,
    columns: int | None = None,
    tile_px: int | None = None,
    unit: str = "channel",
    numbers: list[int] | None = None,
    normalise: bool | None = None,
    colorbar: bool = True,
) -> go.Figure:
    """Many small maps (n, h, w) as tiles on a diverging scale centred on zero.

    `limits` gives each map's colour limit L (scale -L..L); when they differ (per-map colour
    range) every tile is scaled to its own L and the colour bar reads as a fraction of it.
    `numbers` are the maps' channel numbers (for hover, when the figure shows part of a layer);
    `normalise` forces the per-map scaling, so the parts of one layer agree."""
    maps = np.asarray(maps, dtype=np.float64)
    n, h, w = maps.shape
    limits = np.broadcast_to(np.asarray(limits, dtype=np.float64), (n,))
    columns = columns or _columns_for(n, max(h, w))
    if normalise is None:
        normalise = not np.allclose(limits, limits[0])
    show_labels = n <= MAX_TILE_LABELS and max(h, w) >= 3
    # Each label sits in the gap above its tile: leave about a third of a tile there (in the map's
    # own pixels, so the gap grows with the tiles on any screen).
    row_gap = math.ceil(0.3 * h) + 1 if show_labels and n > columns else GAP
    z, raw, origins = mosaic(maps, limits, columns, normalise, row_gap=row_gap)
    zmax = 1.0 if normalise else float(limits[0])
    labels = labels if labels is not None else [str(i) for i in range(n)]
    numbers = list(numbers) if numbers is not None else list(range(n))
    tile_of = np.full(z.shape, np.nan, dtype=np.float32)
    for index, (top, left) in enumerate(origins):
        tile_of[top : top + h, left : left + w] = numbers[index]
    heatmap = go.Heatmap(
        z=z, customdata=np.dstack([raw, tile_of]), zmin=-zmax, zmax=zmax, zmid=0, colorscale=DIVERGING,
        hovertemplate=t("filters.fig.tile_hover", unit=t(f"filters.fig.unit_{unit}")) + "<extra></extra>", hoverongaps=False,
        # Under the tiles, not beside them: a side bar would shrink this group's tiles against its neighbour's.
        colorbar=dict(title=dict(text=t("filters.fig.own_max") if normalise else t("filters.fig.value"), side="right"),
                      thickness=12, len=0.8,
                      orientation="h", x=0.5, xanchor="center", y=0, yanchor="top", ypad=8),
        showscale=colorbar,
    )  # fmt: skip
    annotations = [
        dict(x=left - 0.5, y=top - 0.5, text=labels[index], showarrow=False, xanchor="left", yanchor="bottom", font=dict(size=15, color="#444"))
        for index, (top, left) in enumerate(origins)
    ] if show_labels else []  # fmt: skip
    shapes = []
    if highlight is not None and 0 <= highlight < n:
        top, left = origins[highlight]
        shapes.append(dict(type="rect", x0=left - 0.5, x1=left + w - 0.5, y0=top - 0.5, y1=top + h - 0.5, line=dict(color=HIGHLIGHT, width=4)))
    rows = (n + columns - 1) // columns
    tile_px = tile_px or 100
    label_px = 24 if show_labels else 0
    bar_px = 60  # room for the colour bar, also in a group without one: side-by-side groups must line up
    height = int(rows * tile_px * (h + row_gap) / h + label_px + (60 if title else 20) + bar_px)
    width = int(columns * tile_px * w / h + 20)
    # One go.Figure call with the whole layout: a figure's updates one after another each check
    # their part again (the Filters page draws dozens of these grids).
    return go.Figure(heatmap, layout=dict(
        # Tiles start at the top left, so groups side by side line up even with different row counts.
        xaxis=dict(visible=False, constrain="domain", constraintoward="left"),
        yaxis=dict(visible=False, autorange="reversed", scaleanchor="x", constrain="domain", constraintoward="top"),
        title=dict(text=title, font=dict(size=18)) if title else None, height=max(height, 190),
        width=max(width, 320), margin=dict(l=10, r=10, t=(50 if title else 10) + label_px, b=10 + bar_px),
        annotations=annotations, shapes=shapes,
    ))  # fmt: skip


def filters_figure(
    weights: np.ndarray, in_channel: int, limits: np.ndarray | float, title: str = "", highlight: int | None = None,
    channels: range | None = None, colorbar: bool = True, tile_px: int | None = None,
) -> go.Figure:
    """The kernels (one per output channel) that read input channel `in_channel`. W is (K, K, C_in, F).

    `channels` draws only those filters (a group of `tile_groups`); `highlight` is a filter number."""
    kernels = np.moveaxis(np.asarray(weights)[:, :, in_channel, :], -1, 0)
    return _channel_grid(kernels, limits, title, highlight, channels, colorbar, "filter", tile_px)


def feature_maps_figure(
    maps_hwc: np.ndarray, limits: np.ndarray | float, title: str, highlight: int | None = None,
    channels: range | None = None, colorbar: bool = True, tile_px: int | None = None,
) -> go.Figure:
    """The channels of one layer's output (H, W, C) as tiles (all, or the group `channels`)."""
    maps = np.moveaxis(np.asarray(maps_hwc), -1, 0)
    return _channel_grid(maps, limits, title, highlight, channels, colorbar, "channel", tile_px)


def _channel_grid(maps, limits, title, highlight, channels, colorbar, unit, tile_px) -> go.Figure:
    count = len(maps)
    channels = list(channels) if channels is not None else list(range(count))
    limits = np.broadcast_to(np.asarray(limits, dtype=np.float64), (count,))
    labels = [t("filters.fig.tile_filter", number=c) if unit == "filter" else t("filters.fig.tile_channel", number=c) for c in channels]
    shown = channels.index(highlight) if highlight in channels else None
    return map_grid_figure(
        maps[channels], limits[channels], title or "", labels, shown, unit=unit, numbers=channels,
        normalise=not np.allclose(limits, limits[0]), colorbar=colorbar, tile_px=tile_px,
    )  # fmt: skip


PANEL_SPACING = 0.04  # between side-by-side panels, as a share of the figure's width


def panels_figure(panels: list[tuple[str, np.ndarray, float]], title: str = "", height: int = 300) -> go.Figure:
    """Side-by-side heatmaps (title, 2-D array, limit), each on its own diverging scale -L..L.

    The panels' axes and titles are laid out here as make_subplots would, in one go: make_subplots
    and the updates after it took 13 ms for one panel, this 1.6 ms, and the Filters page draws 22."""
    width = (1 - PANEL_SPACING * (len(panels) - 1)) / max(len(panels), 1)
    traces, layout, titles = [], {}, []
    for index, (name, values, limit) in enumerate(panels):
        limit, axis = float(limit) or 1.0, str(index + 1) if index else ""
        left = index * (width + PANEL_SPACING)
        layout[f"xaxis{axis}"] = dict(domain=[left, left + width], anchor=f"y{axis}", visible=False, constrain="domain")
        layout[f"yaxis{axis}"] = dict(domain=[0, 1], anchor=f"x{axis}", visible=False, constrain="domain", autorange="reversed",
                                      scaleanchor=f"x{axis}")  # fmt: skip
        titles.append(dict(text=name, x=left + width / 2, y=1, xref="paper", yref="paper", xanchor="center", yanchor="bottom",
                           showarrow=False, font=dict(size=16)))  # fmt: skip
        traces.append(go.Heatmap(z=np.asarray(values, dtype=float), zmin=-limit, zmax=limit, zmid=0, colorscale=DIVERGING, showscale=False,
                                 xaxis=f"x{axis}", yaxis=f"y{axis}", hovertemplate=f"{name}<br>" + t("filters.fig.cell_hover") + "<extra></extra>"))  # fmt: skip
    extra_lines = max(name.count("<br>") for name, _, _ in panels) if panels else 0  # two-line panel titles
    layout.update(title=title or None, height=height, annotations=titles,
                  margin=dict(l=10, r=10, t=(70 if title else 40) + 20 * extra_lines, b=10))  # fmt: skip
    return go.Figure(data=traces, layout=layout)


def _numbers_heatmap(values: np.ndarray, limit: float, name: str, padded: np.ndarray, colorscale=DIVERGING, zmin=None) -> go.Heatmap:
    text = np.array([[f"{v:.2f}".replace("-0.00", "0.00") for v in row] for row in values], dtype=object)
    text[padded] = text[padded] + "<br>" + t("filters.fig.pad")
    return go.Heatmap(
        z=values, zmin=-limit if zmin is None else zmin, zmax=limit, colorscale=colorscale, showscale=False, text=text,
        texttemplate="%{text}", textfont=dict(size=14 if values.shape[0] <= 5 else 11),
        hovertemplate=f"{name}<br>" + t("filters.fig.cell_hover_fine") + "<extra></extra>",
    )  # fmt: skip


def convolution_figure(step: ConvolutionStep, in_channel: int) -> go.Figure:
    """Input window × kernel = products, for one input channel, every cell labelled with its number."""
    window, kernel, products = (a[:, :, in_channel] for a in (step.window, step.kernel, step.products))
    titles = [t("filters.fig.window_title", channel=in_channel), t("filters.fig.kernel_title", channel=step.channel),
              t("filters.fig.product_title")]
    fig = make_subplots(rows=1, cols=3, subplot_titles=titles, horizontal_spacing=0.05)
    limits = [float(np.abs(a).max()) or 1.0 for a in (window, kernel, products)]
    fig.add_trace(_numbers_heatmap(window, limits[0], t("filters.fig.input"), step.padded), row=1, col=1)
    fig.add_trace(_numbers_heatmap(kernel, limits[1], t("filters.fig.weight"), np.zeros_like(step.padded)), row=1, col=2)
    fig.add_trace(_numbers_heatmap(products, limits[2], t("filters.fig.product"), step.padded), row=1, col=3)
    fig.update_xaxes(visible=False, constrain="domain")
    fig.update_yaxes(visible=False, autorange="reversed", constrain="domain")
    for index in range(3):
        fig.update_yaxes(scaleanchor=f"x{index + 1 if index else ''}", row=1, col=index + 1)
    fig.update_layout(height=340, margin=dict(l=10, r=10, t=70, b=10))
    fig.update_annotations(font_size=16)
    return fig


def position_figure(step: ConvolutionStep, in_channel: int, feature_map: np.ndarray, limit: float) -> go.Figure:
    """Where the window sits on the (padded) layer input, and which output cell it makes.

    The output map carries an invisible marker on every cell, so a click selects a position."""
    p = step.padding
    plane = np.pad(step.layer_input[:, :, in_channel], p, constant_values=np.nan) if p else step.layer_input[:, :, in_channel]
    out_h, out_w = step.output_size
    fig = make_subplots(
        rows=1, cols=2, horizontal_spacing=0.08,
        subplot_titles=[t("filters.fig.layer_input_title", channel=in_channel) + (t("filters.fig.padding_note", padding=p) if p else ""),
                        t("filters.fig.output_title", channel=step.channel)],  # two lines: fits a phone
    )  # fmt: skip
    in_limit = float(np.nanmax(np.abs(plane))) if np.isfinite(plane).any() else 1.0
    fig.add_trace(go.Heatmap(z=plane, x0=-p, y0=-p, zmin=-(in_limit or 1), zmax=in_limit or 1, zmid=0, colorscale=DIVERGING, showscale=False,
                             hovertemplate=t("filters.fig.cell_hover") + "<extra></extra>"), row=1, col=1)  # fmt: skip
    if p:  # padding drawn as a light grey frame
        fig.add_shape(type="rect", x0=-p - 0.5, x1=step.input_size[1] + p - 0.5, y0=-p - 0.5, y1=step.input_size[0] + p - 0.5,
                      line=dict(color="#bbbbbb", width=1, dash="dot"), row=1, col=1)  # fmt: skip
    top, left = step.origin
    k = step.kernel_size
    fig.add_shape(type="rect", x0=left - 0.5, x1=left + k - 0.5, y0=top - 0.5, y1=top + k - 0.5, line=dict(color=HIGHLIGHT, width=4), row=1, col=1)
    fig.add_trace(go.Heatmap(z=feature_map, zmin=-limit, zmax=limit, zmid=0, colorscale=DIVERGING, showscale=False,
                             hovertemplate=t("filters.fig.cell_hover") + "<extra></extra>"), row=1, col=2)  # fmt: skip
    rows, cols = np.mgrid[0:out_h, 0:out_w]
    fig.add_trace(go.Scatter(x=cols.ravel(), y=rows.ravel(), mode="markers", marker=dict(size=14, opacity=0.01, color="black"),
                             hovertemplate=t("filters.fig.click_hover") + "<extra></extra>", showlegend=False, name="cells"), row=1, col=2)  # fmt: skip
    fig.add_shape(type="rect", x0=step.out_col - 0.5, x1=step.out_col + 0.5, y0=step.out_row - 0.5, y1=step.out_row + 0.5, line=dict(color=HIGHLIGHT, width=4), row=1, col=2)
    fig.update_xaxes(visible=False, constrain="domain")
    fig.update_yaxes(visible=False, autorange="reversed", constrain="domain")
    fig.update_yaxes(scaleanchor="x", row=1, col=1)
    fig.update_yaxes(scaleanchor="x2", row=1, col=2)
    fig.update_layout(height=380, margin=dict(l=10, r=10, t=70, b=10), clickmode="event+select", dragmode=False)
    fig.update_annotations(font_size=16)
    return fig


def saliency_figure(digit: np.ndarray, gradient: np.ndarray, target: int) -> go.Figure:
    """The gradient of the class score w.r.t. each pixel (signed), and its size over the digit."""
    gradient = np.asarray(gradient, dtype=float)
    limit = float(np.abs(gradient).max()) or 1.0
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.06, subplot_titles=[
        t("filters.fig.gradient_title", digit=target), t("filters.fig.matters_title")])  # fmt: skip
    fig.add_trace(go.Heatmap(z=gradient, zmin=-limit, zmax=limit, zmid=0, colorscale=DIVERGING, colorbar=dict(x=0.46, thickness=12, len=0.9),
                             hovertemplate=t("filters.fig.cell_hover_fine") + "<extra></extra>"), row=1, col=1)  # fmt: skip
    fig.add_trace(go.Heatmap(z=np.asarray(digit, dtype=float), colorscale=GREYS, zmin=0, zmax=255, showscale=False, hoverinfo="skip"), row=1, col=2)
    fig.add_trace(go.Heatmap(z=np.abs(gradient), zmin=0, zmax=limit, colorscale=INK_SCALE, showscale=False,
                             hovertemplate=t("filters.fig.gradient_size_hover") + "<extra></extra>"), row=1, col=2)  # fmt: skip
    fig.update_xaxes(visible=False, constrain="domain")
    fig.update_yaxes(visible=False, autorange="reversed", constrain="domain")
    fig.update_yaxes(scaleanchor="x", row=1, col=1)
    fig.update_yaxes(scaleanchor="x2", row=1, col=2)
    fig.update_layout(height=420, margin=dict(l=10, r=10, t=70, b=10))
    fig.update_annotations(font_size=16)
    return fig


def units_figure(values: np.ndarray, title: str) -> go.Figure:
    """A dense layer's outputs as bars (red positive, blue negative)."""
    values = np.asarray(values, dtype=float).ravel()
    colours = np.where(values >= 0, "#B2182B", "#2166AC")
    fig = go.Figure(go.Bar(x=np.arange(len(values)), y=values, marker_color=colours, marker_line_width=0,
                           hovertemplate=t("filters.fig.unit_hover") + "<extra></extra>"))  # fmt: skip
    fig.update_layout(title=dict(text=title, font=dict(size=18)), height=260, bargap=0.1,
                      xaxis=dict(title=t("filters.fig.unit_axis"), showgrid=False), yaxis=dict(title=t("filters.fig.value")),
                      margin=dict(l=60, r=20, t=50, b=50))  # fmt: skip
    return fig
