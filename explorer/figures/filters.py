"""Figures of the Filters & feature maps page: filter and feature-map grids, one channel in
detail, one convolution with its numbers, and saliency.

Signed values (weights, pre-activation maps) use the diverging red-blue scale centred on zero:
blue is negative, white zero, red positive. Every map is drawn on a symmetric range -L..L,
so zero is always white and the same colour means the same thing across a figure.

Grids of many maps are drawn as one heatmap of tiles (a mosaic with blank gaps): one trace
instead of dozens of subplots keeps a 64-channel layer fast to build and to draw.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from explorer.dissect import ConvolutionStep
from explorer.theme import DIVERGING, PALETTE, TEMPLATE_NAME

GAP = 1  # blank pixels between tiles
MAX_TILE_LABELS = 64
HIGHLIGHT = PALETTE[3]  # orange: the selected channel / window / cell
INK_SCALE = [[0.0, "rgba(0,0,0,0)"], [0.15, "rgba(230,159,0,0.15)"], [1.0, "rgba(230,159,0,0.95)"]]
GREYS = [[0, "black"], [1, "white"]]


def _columns_for(count: int, tile: int) -> int:
    """A roughly wide grid: small tiles get more columns."""
    if count <= 1:
        return 1
    wanted = 16 if tile <= 7 else 8
    return int(min(count, wanted))


def mosaic(maps: np.ndarray, limits: np.ndarray, columns: int, normalise: bool, row_gap: int = GAP) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]:
    """Tile maps (n, h, w) into one array with NaN gaps.

    Returns (z, raw, origins): z is what is coloured (each map divided by its limit when
    `normalise`), raw holds the true values for hover, origins the (row, col) of each tile."""
    maps = np.asarray(maps, dtype=np.float64)
    n, h, w = maps.shape
    rows = (n + columns - 1) // columns
    z = np.full((rows * (h + row_gap) - row_gap, columns * (w + GAP) - GAP), np.nan)
    raw = z.copy()
    origins = []
    for index in range(n):
        top, left = (index // columns) * (h + row_gap), (index % columns) * (w + GAP)
        origins.append((top, left))
        raw[top : top + h, left : left + w] = maps[index]
        z[top : top + h, left : left + w] = maps[index] / limits[index] if normalise else maps[index]
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
) -> go.Figure:
    """Many small maps (n, h, w) as tiles on a diverging scale centred on zero.

    `limits` gives each map's colour limit L (scale -L..L); when they differ (per-map colour
    range) every tile is scaled to its own L and the colour bar reads as a fraction of it."""
    maps = np.asarray(maps, dtype=np.float64)
    n, h, w = maps.shape
    limits = np.broadcast_to(np.asarray(limits, dtype=np.float64), (n,))
    columns = columns or _columns_for(n, max(h, w))
    normalise = not np.allclose(limits, limits[0])
    small_labelled = max(h, w) <= 7 and n > columns and n <= MAX_TILE_LABELS  # room for labels between rows
    z, raw, origins = mosaic(maps, limits, columns, normalise, row_gap=2 if small_labelled else GAP)
    zmax = 1.0 if normalise else float(limits[0])
    labels = labels if labels is not None else [str(i) for i in range(n)]
    tile_of = np.full(z.shape, np.nan)
    for index, (top, left) in enumerate(origins):
        tile_of[top : top + h, left : left + w] = index
    fig = go.Figure(
        go.Heatmap(
            z=z, customdata=np.dstack([raw, tile_of]), zmin=-zmax, zmax=zmax, zmid=0, colorscale=DIVERGING,
            hovertemplate=f"{unit} %{{customdata[1]}}<br>value %{{customdata[0]:.3f}}<extra></extra>", hoverongaps=False,
            colorbar=dict(title=dict(text="× own max" if normalise else "value", side="right"), thickness=14, len=0.9),
        )
    )  # fmt: skip
    show_labels = n <= MAX_TILE_LABELS and max(h, w) >= 3
    annotations = [
        dict(x=left - 0.5, y=top - 0.5, text=labels[index], showarrow=False, xanchor="left", yanchor="bottom", font=dict(size=13, color="#444"))
        for index, (top, left) in enumerate(origins)
    ] if show_labels else []  # fmt: skip
    if highlight is not None and 0 <= highlight < n:
        top, left = origins[highlight]
        fig.add_shape(type="rect", x0=left - 0.5, x1=left + w - 0.5, y0=top - 0.5, y1=top + h - 0.5, line=dict(color=HIGHLIGHT, width=4))
    rows = (n + columns - 1) // columns
    tile_px = tile_px or ((100 if n <= 8 else 60) if max(h, w) <= 7 else 90 if n > 8 else 130)
    label_px = 22 if show_labels else 0
    height = int(rows * (tile_px + label_px) + 70)
    width = int(columns * tile_px * w / h + 140)
    fig.update_xaxes(visible=False, constrain="domain")
    fig.update_yaxes(visible=False, autorange="reversed", scaleanchor="x", constrain="domain")
    fig.update_layout(
        template=TEMPLATE_NAME, title=dict(text=title, font=dict(size=18)), height=max(height, 190), width=max(width, 320),
        margin=dict(l=10, r=10, t=50 + label_px, b=10), annotations=annotations,
    )  # fmt: skip
    return fig


def filters_figure(weights: np.ndarray, in_channel: int, limits: np.ndarray | float, title: str = "", highlight: int | None = None) -> go.Figure:
    """The kernels (one per output channel) that read input channel `in_channel`. W is (K, K, C_in, F)."""
    kernels = np.moveaxis(np.asarray(weights)[:, :, in_channel, :], -1, 0)
    labels = [f"filter {f}" if len(kernels) <= 16 else str(f) for f in range(len(kernels))]
    return map_grid_figure(kernels, limits, title or f"Filters reading input channel {in_channel}", labels, highlight, unit="filter")


def feature_maps_figure(maps_hwc: np.ndarray, limits: np.ndarray | float, title: str, highlight: int | None = None) -> go.Figure:
    """All channels of one layer's output (H, W, C) as tiles."""
    maps = np.moveaxis(np.asarray(maps_hwc), -1, 0)
    labels = [f"ch {c}" if len(maps) <= 16 else str(c) for c in range(len(maps))]
    return map_grid_figure(maps, limits, title, labels, highlight)


def panels_figure(panels: list[tuple[str, np.ndarray, float]], title: str = "", height: int = 300) -> go.Figure:
    """Side-by-side heatmaps (title, 2-D array, limit), each on its own diverging scale -L..L."""
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=[p[0] for p in panels], horizontal_spacing=0.04)
    for index, (name, values, limit) in enumerate(panels):
        limit = float(limit) or 1.0
        fig.add_trace(
            go.Heatmap(z=np.asarray(values, dtype=float), zmin=-limit, zmax=limit, zmid=0, colorscale=DIVERGING, showscale=False,
                       hovertemplate=f"{name}<br>row %{{y}}, col %{{x}}: %{{z:.3f}}<extra></extra>"),
            row=1, col=index + 1,
        )  # fmt: skip
    fig.update_xaxes(visible=False, constrain="domain")
    fig.update_yaxes(visible=False, autorange="reversed", constrain="domain")
    for index in range(len(panels)):
        fig.update_yaxes(scaleanchor=f"x{index + 1 if index else ''}", row=1, col=index + 1)
    fig.update_layout(template=TEMPLATE_NAME, title=title or None, height=height, margin=dict(l=10, r=10, t=70 if title else 40, b=10))
    fig.update_annotations(font_size=16)
    return fig


def _numbers_heatmap(values: np.ndarray, limit: float, name: str, padded: np.ndarray, colorscale=DIVERGING, zmin=None) -> go.Heatmap:
    text = np.array([[f"{v:.2f}".replace("-0.00", "0.00") for v in row] for row in values], dtype=object)
    text[padded] = text[padded] + "<br>(pad)"
    return go.Heatmap(
        z=values, zmin=-limit if zmin is None else zmin, zmax=limit, colorscale=colorscale, showscale=False, text=text,
        texttemplate="%{text}", textfont=dict(size=14 if values.shape[0] <= 5 else 11),
        hovertemplate=f"{name}<br>row %{{y}}, col %{{x}}: %{{z:.4f}}<extra></extra>",
    )  # fmt: skip


def convolution_figure(step: ConvolutionStep, in_channel: int) -> go.Figure:
    """Input window × kernel = products, for one input channel, every cell labelled with its number."""
    window, kernel, products = (a[:, :, in_channel] for a in (step.window, step.kernel, step.products))
    titles = [f"input window (channel {in_channel})", f"kernel (filter {step.channel})", "window × kernel"]
    fig = make_subplots(rows=1, cols=3, subplot_titles=titles, horizontal_spacing=0.05)
    limits = [float(np.abs(a).max()) or 1.0 for a in (window, kernel, products)]
    fig.add_trace(_numbers_heatmap(window, limits[0], "input", step.padded), row=1, col=1)
    fig.add_trace(_numbers_heatmap(kernel, limits[1], "weight", np.zeros_like(step.padded)), row=1, col=2)
    fig.add_trace(_numbers_heatmap(products, limits[2], "product", step.padded), row=1, col=3)
    fig.update_xaxes(visible=False, constrain="domain")
    fig.update_yaxes(visible=False, autorange="reversed", constrain="domain")
    for index in range(3):
        fig.update_yaxes(scaleanchor=f"x{index + 1 if index else ''}", row=1, col=index + 1)
    fig.update_layout(template=TEMPLATE_NAME, height=340, margin=dict(l=10, r=10, t=50, b=10))
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
        subplot_titles=[f"layer input, channel {in_channel}" + (f" (+{p} padding)" if p else ""), f"output, channel {step.channel} (click a cell)"],
    )  # fmt: skip
    in_limit = float(np.nanmax(np.abs(plane))) if np.isfinite(plane).any() else 1.0
    fig.add_trace(go.Heatmap(z=plane, x0=-p, y0=-p, zmin=-(in_limit or 1), zmax=in_limit or 1, zmid=0, colorscale=DIVERGING, showscale=False,
                             hovertemplate="row %{y}, col %{x}: %{z:.3f}<extra></extra>"), row=1, col=1)  # fmt: skip
    if p:  # padding drawn as a light grey frame
        fig.add_shape(type="rect", x0=-p - 0.5, x1=step.input_size[1] + p - 0.5, y0=-p - 0.5, y1=step.input_size[0] + p - 0.5,
                      line=dict(color="#bbbbbb", width=1, dash="dot"), row=1, col=1)  # fmt: skip
    top, left = step.origin
    k = step.kernel_size
    fig.add_shape(type="rect", x0=left - 0.5, x1=left + k - 0.5, y0=top - 0.5, y1=top + k - 0.5, line=dict(color=HIGHLIGHT, width=4), row=1, col=1)
    fig.add_trace(go.Heatmap(z=feature_map, zmin=-limit, zmax=limit, zmid=0, colorscale=DIVERGING, showscale=False,
                             hovertemplate="row %{y}, col %{x}: %{z:.3f}<extra></extra>"), row=1, col=2)  # fmt: skip
    rows, cols = np.mgrid[0:out_h, 0:out_w]
    fig.add_trace(go.Scatter(x=cols.ravel(), y=rows.ravel(), mode="markers", marker=dict(size=14, opacity=0.01, color="black"),
                             hovertemplate="click: row %{y}, col %{x}<extra></extra>", showlegend=False, name="cells"), row=1, col=2)  # fmt: skip
    fig.add_shape(type="rect", x0=step.out_col - 0.5, x1=step.out_col + 0.5, y0=step.out_row - 0.5, y1=step.out_row + 0.5, line=dict(color=HIGHLIGHT, width=4), row=1, col=2)
    fig.update_xaxes(visible=False, constrain="domain")
    fig.update_yaxes(visible=False, autorange="reversed", constrain="domain")
    fig.update_yaxes(scaleanchor="x", row=1, col=1)
    fig.update_yaxes(scaleanchor="x2", row=1, col=2)
    fig.update_layout(template=TEMPLATE_NAME, height=380, margin=dict(l=10, r=10, t=50, b=10), clickmode="event+select", dragmode=False)
    fig.update_annotations(font_size=16)
    return fig


def saliency_figure(digit: np.ndarray, gradient: np.ndarray, target: int) -> go.Figure:
    """The gradient of the class score w.r.t. each pixel (signed), and its size over the digit."""
    gradient = np.asarray(gradient, dtype=float)
    limit = float(np.abs(gradient).max()) or 1.0
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.06, subplot_titles=[
        f"gradient of the '{target}' score (red: more ink here raises it)", "where it matters most, over the digit"])  # fmt: skip
    fig.add_trace(go.Heatmap(z=gradient, zmin=-limit, zmax=limit, zmid=0, colorscale=DIVERGING, colorbar=dict(x=0.46, thickness=12, len=0.9),
                             hovertemplate="row %{y}, col %{x}: %{z:.4f}<extra></extra>"), row=1, col=1)  # fmt: skip
    fig.add_trace(go.Heatmap(z=np.asarray(digit, dtype=float), colorscale=GREYS, zmin=0, zmax=255, showscale=False, hoverinfo="skip"), row=1, col=2)
    fig.add_trace(go.Heatmap(z=np.abs(gradient), zmin=0, zmax=limit, colorscale=INK_SCALE, showscale=False,
                             hovertemplate="|gradient| %{z:.4f}<extra></extra>"), row=1, col=2)  # fmt: skip
    fig.update_xaxes(visible=False, constrain="domain")
    fig.update_yaxes(visible=False, autorange="reversed", constrain="domain")
    fig.update_yaxes(scaleanchor="x", row=1, col=1)
    fig.update_yaxes(scaleanchor="x2", row=1, col=2)
    fig.update_layout(template=TEMPLATE_NAME, height=420, margin=dict(l=10, r=10, t=50, b=10))
    fig.update_annotations(font_size=16)
    return fig


def units_figure(values: np.ndarray, title: str) -> go.Figure:
    """A dense layer's outputs as bars (red positive, blue negative)."""
    values = np.asarray(values, dtype=float).ravel()
    colours = np.where(values >= 0, "#B2182B", "#2166AC")
    fig = go.Figure(go.Bar(x=np.arange(len(values)), y=values, marker_color=colours, marker_line_width=0,
                           hovertemplate="unit %{x}: %{y:.3f}<extra></extra>"))  # fmt: skip
    fig.update_layout(template=TEMPLATE_NAME, title=dict(text=title, font=dict(size=18)), height=260, bargap=0.1,
                      xaxis=dict(title="unit", showgrid=False), yaxis=dict(title="value"), margin=dict(l=60, r=20, t=50, b=50))  # fmt: skip
    return fig
