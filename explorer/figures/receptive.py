"""Plotly figures for the Receptive fields page (pure plotly; no streamlit)."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from explorer.figures.common import DIGIT_SCALE
from explorer.figures.theme import PALETTE, SEQUENTIAL
from explorer.i18n import t

SINGLE_COLOUR = PALETTE[0]  # blue: the one big convolution
STACK_COLOUR = PALETTE[1]  # vermillion: the stack of 3x3 convolutions
INTERMEDIATE_COLOUR = PALETTE[3]  # orange: units of the layer in between
CENTRAL_COLOUR = PALETTE[2]  # green: the central part of a field
CLICK_TARGETS = "click targets"  # the name of the overlay's clickable pixel grid
# chart() puts a legend at the top, under the figure title; subplot titles sit just above the
# plot area. This top margin keeps room for both: a legend of up to two rows and two-line titles.
TOP_WITH_LEGEND = 125


def design_label(design) -> str:
    """The name of one design of the comparison (a ConvCost or a Footprint) in the page's language:
    "one 5x5 conv" or "2 stacked 3x3 convs"; its English label when it is not one of the two."""
    kind = getattr(design, "design", "")
    if kind == "single":
        return t("receptive.design.single", size=design.layers[0].kernel)
    if kind == "stack":
        n = len(design.layers)
        return t("receptive.design.stack_one", n=n) if n == 1 else t("receptive.design.stack", n=n)
    return design.label


def weights_name(weights: str) -> str:
    """'random' or 'trained' (an EffectiveField's weights) in the page's language."""
    return t(f"receptive.weights.{weights}")


def _rect(window, colour, width=4, dash="solid", row=None, col=None, fill=None):
    """A rectangle around pixels window = (row0, row1, col0, col1) (half-open), as a shape dict."""
    r0, r1, c0, c1 = window
    shape = dict(type="rect", x0=c0 - 0.5, x1=c1 - 0.5, y0=r0 - 0.5, y1=r1 - 0.5,
                 line=dict(color=colour, width=width, dash=dash), fillcolor=fill or "rgba(0,0,0,0)")
    return shape


def _image_axes(fig: go.Figure, size: int = 28, rows: int = 1, cols: int = 1) -> None:
    """Square pixel axes without ticks for every subplot, rows drawn top to bottom."""
    for index in range(1, rows * cols + 1):
        suffix = "" if index == 1 else str(index)
        fig.layout[f"xaxis{suffix}"].update(range=[-0.5, size - 0.5], showgrid=False, zeroline=False, showline=False,
                                            ticks="", showticklabels=False, constrain="domain")
        fig.layout[f"yaxis{suffix}"].update(range=[size - 0.5, -0.5], showgrid=False, zeroline=False, showline=False,
                                            ticks="", showticklabels=False, constrain="domain", scaleanchor=f"x{suffix}")


def _digit_trace(image: np.ndarray, opacity: float = 1.0) -> go.Heatmap:
    return go.Heatmap(z=np.asarray(image, float), colorscale=DIGIT_SCALE, zmin=0, zmax=255, showscale=False,
                      opacity=opacity, hovertemplate=t("receptive.fig.pixel_hover") + "<extra></extra>")


def _shapes_for(fig: go.Figure, shapes: list[dict], subplot: int) -> None:
    suffix = "" if subplot == 1 else str(subplot)
    for shape in shapes:
        fig.add_shape(**shape, xref=f"x{suffix}", yref=f"y{suffix}")


def overlay_figure(image: np.ndarray, single, stack, height: int = 510) -> go.Figure:
    """The digit twice: the field of the chosen output unit for each design.

    `single` and `stack` are explorer.lab.receptive_measure.Footprint objects. For the stack, the
    direct inputs (units of the layer in between) are drawn as dots at their centres, and the
    field of the first of them as a dashed square. Clicking a pixel picks that output unit."""
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.06,
                        subplot_titles=[t("receptive.fig.design_title", design=design_label(fp), detail=_side(fp.window))
                                        for fp in (single, stack)])  # two lines: fits a phone
    for index, (fp, colour) in enumerate(((single, SINGLE_COLOUR), (stack, STACK_COLOUR)), start=1):
        fig.add_trace(_digit_trace(image, opacity=0.85), row=1, col=index)
        shapes = [_rect(fp.window, colour, width=5, fill=_rgba(colour, 0.18))]
        if fp.intermediate:
            shapes.append(_rect(fp.intermediate[0], INTERMEDIATE_COLOUR, width=3, dash="dash"))
            centres = [((w[0] + w[1] - 1) / 2, (w[2] + w[3] - 1) / 2) for w in fp.intermediate]
            fig.add_trace(go.Scatter(
                x=[c for _, c in centres], y=[r for r, _ in centres], mode="markers",
                marker=dict(size=8, color=INTERMEDIATE_COLOUR, line=dict(color="black", width=1.5)),
                name=t("receptive.fig.in_between"), showlegend=True,
                hovertemplate=t("receptive.fig.in_between_hover") + "<extra></extra>",
            ), row=1, col=index)
        _shapes_for(fig, shapes, index)
        centre = ((fp.window[0] + fp.window[1] - 1) / 2, (fp.window[2] + fp.window[3] - 1) / 2)
        fig.add_trace(go.Scatter(
            x=[centre[1]], y=[centre[0]], mode="markers", showlegend=index == 1, name=t("receptive.fig.centre"),
            marker=dict(symbol="x", size=16, color="white", line=dict(color=colour, width=3)),
            hovertemplate=t("receptive.fig.centre_hover", row=fp.row, col=fp.col) + "<extra></extra>",
        ), row=1, col=index)
        # A grid of click targets, one per input pixel: nearly invisible, but not fully (plotly
        # ignores clicks on markers with opacity 0 or hoverinfo "skip").
        grid_r, grid_c = np.mgrid[0:28, 0:28]
        fig.add_trace(go.Scatter(
            x=grid_c.ravel(), y=grid_r.ravel(), mode="markers", marker=dict(size=12, opacity=0.01, color="black"),
            showlegend=False, name=CLICK_TARGETS,
            hovertemplate=t("receptive.fig.click_hover") + "<extra></extra>",
        ), row=1, col=index)
    _image_axes(fig, 28, 1, 2)
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=TOP_WITH_LEGEND, b=10),
                      legend=dict(orientation="h", y=-0.02, yanchor="top", x=0.5, xanchor="center"),
                      clickmode="event+select", dragmode=False)
    return fig


def _side(window) -> str:
    r0, r1, c0, c1 = window
    return t("receptive.fig.side", height=r1 - r0, width=c1 - c0)


def _rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def _crop(window, margin: int = 3, size: int = 28) -> tuple[int, int, int, int]:
    r0, r1, c0, c1 = window
    return max(r0 - margin, 0), min(r1 + margin, size), max(c0 - margin, 0), min(c1 + margin, size)


def footprint_figure(single, stack, height: int = 430) -> go.Figure:
    """Mean |gradient| of the chosen unit (over random inputs), zoomed around the field, with
    the analytic window drawn on top. Pixels with exactly zero gradient stay white."""
    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.08, subplot_titles=[
        t("receptive.fig.design_title", design=design_label(fp), detail=t("receptive.fig.agrees") if fp.agrees else t("receptive.fig.differs"))
        for fp in (single, stack)])
    for index, (fp, colour) in enumerate(((single, SINGLE_COLOUR), (stack, STACK_COLOUR)), start=1):
        r0, r1, c0, c1 = _crop(fp.window)
        grad = fp.gradient[r0:r1, c0:c1]
        shown = np.where(grad > 0, grad / (grad.max() or 1.0), np.nan)
        fig.add_trace(go.Heatmap(
            z=shown, x=np.arange(c0, c1), y=np.arange(r0, r1), colorscale=SEQUENTIAL, zmin=0, zmax=1,
            showscale=index == 2, colorbar=dict(title=dict(text=t("receptive.fig.gradient_bar"), side="top"), len=0.6, thickness=12,
                                                orientation="h", x=0.5, xanchor="center", y=-0.3, yanchor="top"),
            hovertemplate=t("receptive.fig.gradient_hover") + "<extra></extra>", xgap=1, ygap=1,
        ), row=1, col=index)
        _shapes_for(fig, [_rect(fp.window, colour, width=4)], index)
        fig.update_xaxes(range=[c0 - 0.5, c1 - 0.5], title_text=t("receptive.fig.input_column"), showgrid=False, zeroline=False,
                         constrain="domain", row=1, col=index)
        fig.update_yaxes(range=[r1 - 0.5, r0 - 0.5], title_text=t("receptive.fig.input_row") if index == 1 else None,
                         showgrid=False, zeroline=False, constrain="domain", row=1, col=index)
    fig.layout.yaxis.scaleanchor = "x"
    fig.layout.yaxis2.scaleanchor = "x2"
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=80, b=90), plot_bgcolor="white")
    return fig


def cost_figure(comparison, height: int = 420) -> go.Figure:
    """Parameters (weights + biases stacked), multiply-adds and nonlinearities of both designs."""
    single, stack = comparison.single, comparison.stack
    labels = [design_label(single), design_label(stack)]
    colours = [SINGLE_COLOUR, STACK_COLOUR]
    fig = make_subplots(rows=1, cols=3, horizontal_spacing=0.1,  # the caption names the input size
                        subplot_titles=[t("receptive.fig.parameters"), t("receptive.fig.macs"), t("receptive.fig.nonlinearities")])
    fig.add_trace(go.Bar(x=labels, y=[single.weights, stack.weights], marker_color=colours, name=t("receptive.latex.weights"),
                         text=[f"{single.params:,}", f"{stack.params:,}"], textposition="outside",
                         hovertemplate=t("receptive.fig.weights_hover") + "<extra></extra>", showlegend=False), row=1, col=1)
    fig.add_trace(go.Bar(x=labels, y=[single.biases, stack.biases], marker_color=colours, marker_pattern_shape="/",
                         name=t("receptive.latex.biases"), hovertemplate=t("receptive.fig.biases_hover") + "<extra></extra>",
                         showlegend=False), row=1, col=1)
    fig.add_trace(go.Bar(x=labels, y=[single.macs, stack.macs], marker_color=colours,
                         text=[_short(single.macs), _short(stack.macs)], textposition="outside",
                         hovertemplate=t("receptive.fig.macs_hover") + "<extra></extra>", showlegend=False), row=1, col=2)
    fig.add_trace(go.Bar(x=labels, y=[single.nonlinearities, stack.nonlinearities], marker_color=colours,
                         text=[single.nonlinearities, stack.nonlinearities], textposition="outside",
                         hovertemplate=t("receptive.fig.relus_hover") + "<extra></extra>", showlegend=False), row=1, col=3)
    fig.update_layout(barmode="stack", height=height, margin=dict(l=10, r=10, t=TOP_WITH_LEGEND, b=10))
    fig.update_xaxes(showticklabels=False, ticks="")
    for col, top in ((1, max(single.params, stack.params)), (2, max(single.macs, stack.macs)),
                     (3, max(single.nonlinearities, stack.nonlinearities))):
        fig.update_yaxes(range=[0, top * 1.25], row=1, col=col)
    for name, colour in zip(labels, colours):  # a legend that names the colours
        fig.add_trace(go.Bar(x=[None], y=[None], marker_color=colour, name=name, showlegend=True), row=1, col=1)
    fig.update_layout(legend=dict(orientation="h", y=-0.05, yanchor="top", x=0.5, xanchor="center", traceorder="normal"))
    fig.update_annotations(font_size=16)
    return fig


def _short(number: int) -> str:
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if number >= limit:
            return f"{number / limit:.3g}{suffix}"
    return str(number)


def calculator_figure(rows, height: int = 380) -> go.Figure:
    """Receptive field r and output size per layer (grouped bars), jump written on top."""
    names = [row.layer.name for row in rows]
    fig = go.Figure()
    fig.add_trace(go.Bar(x=names, y=[row.receptive_field for row in rows], name=t("receptive.fig.field_bar"),
                         marker_color=PALETTE[1], text=[row.receptive_field for row in rows], textposition="outside",
                         hovertemplate=t("receptive.fig.field_hover") + "<extra></extra>"))
    fig.add_trace(go.Bar(x=names, y=[row.output_size for row in rows], name=t("receptive.fig.size_bar"),
                         marker_color=PALETTE[0], text=[row.output_size for row in rows], textposition="outside",
                         hovertemplate=t("receptive.fig.size_hover") + "<extra></extra>"))
    top = max(max(r.receptive_field for r in rows), max(r.output_size for r in rows))
    fig.add_trace(go.Scatter(x=names, y=[top * 1.22] * len(rows), mode="text", text=[t("receptive.fig.jump", jump=r.jump) for r in rows],
                             textfont=dict(size=16, color=PALETTE[6]), showlegend=False, hoverinfo="skip"))
    fig.update_layout(barmode="group", height=height, yaxis=dict(range=[0, top * 1.32], title=t("receptive.fig.pixels_units")),
                      legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0, xanchor="left"),
                      margin=dict(l=10, r=10, t=50, b=10))
    return fig


def nested_fields_figure(image: np.ndarray, rows, windows: list[tuple[int, int, int, int]], height: int = 430) -> go.Figure:
    """The field of the centre unit of every layer, nested on the digit (the padding it
    reaches beyond the image is cut off)."""
    fig = go.Figure(_digit_trace(image, opacity=0.8))
    colours = [PALETTE[i % 6] for i in range(len(rows))]
    for row, window, colour in zip(rows, windows, colours):
        fig.add_shape(**_rect(window, colour, width=4))
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", line=dict(color=colour, width=4),
                                 name=f"{row.layer.name}: r = {row.receptive_field}"))
    _image_axes(fig)
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=10, b=10),
                      legend=dict(orientation="h", y=-0.02, yanchor="top", x=0.5, xanchor="center", font=dict(size=15)))
    return fig


def erf_figure(fields, height: int = 470) -> go.Figure:
    """One heatmap per EffectiveField: mean |gradient| of the centre unit, the theoretical field
    (solid) and its central half-side square (dashed) drawn on top."""
    fig = make_subplots(rows=1, cols=len(fields), horizontal_spacing=0.08,
                        subplot_titles=[t(f"receptive.fig.weights_title.{f.weights}") for f in fields])  # the caption says "weights"
    for index, f in enumerate(fields, start=1):
        fig.add_trace(go.Heatmap(z=f.heat, colorscale=SEQUENTIAL, zmin=0, zmax=1, showscale=index == len(fields),
                                 colorbar=dict(title=dict(text=t("receptive.fig.mean_gradient_bar"), side="top"), len=0.8),
                                 hovertemplate=t("receptive.fig.gradient_hover") + "<extra></extra>"), row=1, col=index)
        _shapes_for(fig, [_rect(f.window, STACK_COLOUR, width=4), _rect(f.central_window, CENTRAL_COLOUR, width=3, dash="dash")], index)
    _image_axes(fig, 28, 1, len(fields))
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", line=dict(color=STACK_COLOUR, width=4), name=t("receptive.fig.theoretical")))
    fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", line=dict(color=CENTRAL_COLOUR, width=3, dash="dash"),
                             name=t("receptive.fig.central")))
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=TOP_WITH_LEGEND, b=10),
                      legend=dict(orientation="h", y=-0.02, yanchor="top", x=0.5, xanchor="center"))
    return fig


def erf_profile_figure(fields, height: int = 330) -> go.Figure:
    """The row through the centre of each effective field, next to the theoretical field's
    flat top: a bump, not a plateau."""
    fig = go.Figure()
    for index, f in enumerate(fields):
        profile = f.heat.sum(axis=1)  # the heat map seen from the side: mass per input row
        profile = profile / (profile.max() or 1.0)
        fig.add_trace(go.Scatter(x=np.arange(28), y=profile, mode="lines+markers",
                                 name=t("receptive.fig.weights_legend", weights=weights_name(f.weights)),
                                 line=dict(color=(PALETTE[0], PALETTE[2], PALETTE[5])[index % 3])))
    if fields:
        r0, r1 = fields[0].window[:2]
        fig.add_trace(go.Scatter(x=[r0 - 0.5, r0 - 0.5, r1 - 0.5, r1 - 0.5], y=[0, 1, 1, 0], mode="lines",
                                 line=dict(color=STACK_COLOUR, width=3, dash="dot"), name=t("receptive.fig.theoretical")))
    fig.update_layout(height=height, xaxis_title=t("receptive.fig.input_row"),
                      yaxis=dict(title=t("receptive.fig.mass_axis"), range=[0, 1.08]),
                      margin=dict(l=10, r=10, t=20, b=10), legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0))
    return fig


def head_to_head_figure(results, height: int = 380) -> go.Figure:
    """Conv parameters, seconds per epoch and test accuracy of the two trained twins."""
    labels = [r.model for r in results]
    colours = [SINGLE_COLOUR, STACK_COLOUR][: len(results)]
    fig = make_subplots(rows=1, cols=3, horizontal_spacing=0.1,
                        subplot_titles=[t("receptive.fig.conv_parameters"), t("receptive.fig.seconds"), t("receptive.fig.accuracy")])
    values = [
        ([r.conv_parameters for r in results], [f"{r.conv_parameters:,}" for r in results]),
        ([r.seconds_per_epoch for r in results], [f"{r.seconds_per_epoch:.1f} s" for r in results]),
        ([r.test_accuracy for r in results], [f"{r.test_accuracy:.1%}" for r in results]),
    ]
    for col, (ys, texts) in enumerate(values, start=1):
        fig.add_trace(go.Bar(x=labels, y=ys, text=texts, textposition="outside", marker_color=colours,
                             showlegend=False, hovertemplate="%{x}: %{text}<extra></extra>"), row=1, col=col)
        fig.update_yaxes(range=[0, max(max(ys), 1e-9) * 1.25], row=1, col=col)
    fig.update_yaxes(tickformat=".0%", range=[0, 1.12], row=1, col=3)
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=60, b=10))
    fig.update_annotations(font_size=18)
    return fig


def loss_curves_figure(results, height: int = 320) -> go.Figure:
    """Training loss per step of both twins: same batches, so the curves are comparable step by step."""
    fig = go.Figure()
    for result, colour in zip(results, (SINGLE_COLOUR, STACK_COLOUR)):
        losses = np.asarray(result.losses, float)
        window = max(1, min(10, len(losses) // 5))
        smooth = np.convolve(losses, np.ones(window) / window, mode="valid") if len(losses) >= window else losses
        fig.add_trace(go.Scatter(x=np.arange(window, window + len(smooth)), y=smooth, mode="lines",
                                 name=result.model, line=dict(color=colour)))
    fig.update_layout(height=height, xaxis_title=t("receptive.fig.step_axis"),
                      yaxis_title=t("receptive.fig.loss_axis"), margin=dict(l=10, r=10, t=20, b=10),
                      legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0))
    return fig
