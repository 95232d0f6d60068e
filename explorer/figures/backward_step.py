"""Figures of one backward step (explorer.lab.backward_step): the maps the gradient flows through,
the kernel beside its gradient with every number written in, and the loss over the steps taken.

Signed values on the diverging red-blue scale centred on zero, as on the rest of the Filters page.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from explorer.figures.theme import DIVERGING, PALETTE
from explorer.i18n import t
from explorer.lab.backward_step import BackwardStep

HIGHLIGHT = PALETTE[3]  # orange: the weight worked out term by term


def _limit(values: np.ndarray) -> float:
    return float(np.abs(values).max()) or 1.0


def _square_axes(fig: go.Figure, count: int) -> None:
    fig.update_xaxes(visible=False, constrain="domain")
    fig.update_yaxes(visible=False, autorange="reversed", constrain="domain")
    for index in range(count):
        fig.update_yaxes(scaleanchor=f"x{index + 1 if index else ''}", row=1, col=index + 1)


def _hover(name: str, digits: int = 4) -> str:
    return f"{name}<br>{t('backward.fig.row')} %{{y}}, {t('backward.fig.col')} %{{x}}: %{{z:.{digits}g}}<extra></extra>"


def gradient_maps_figure(step: BackwardStep) -> go.Figure:
    """The input, dL/d(output map) arriving from above, and this kernel's share of dL/d(input)."""
    panels = [
        (t("backward.fig.input_title"), step.image, _limit(step.image)),
        (t("backward.fig.grad_out_title", kernel=step.kernel), step.grad_out, _limit(step.grad_out)),
        (t("backward.fig.grad_input_title", kernel=step.kernel), step.grad_input, _limit(step.grad_input)),
    ]
    fig = make_subplots(rows=1, cols=3, subplot_titles=[title for title, _, _ in panels], horizontal_spacing=0.04)
    for index, (title, values, limit) in enumerate(panels):
        fig.add_trace(go.Heatmap(z=values, zmin=-limit, zmax=limit, zmid=0, colorscale=DIVERGING, showscale=False,
                                 hovertemplate=_hover(title.replace("<br>", " "))), row=1, col=index + 1)  # fmt: skip
    _square_axes(fig, 3)
    fig.update_layout(height=330, margin=dict(l=10, r=10, t=90, b=10))
    fig.update_annotations(font_size=16)
    return fig


def _numbers(values: np.ndarray, name: str) -> go.Heatmap:
    limit = _limit(values)
    text = [[f"{v:.3g}" for v in row] for row in values]
    return go.Heatmap(z=values, zmin=-limit, zmax=limit, zmid=0, colorscale=DIVERGING, showscale=False, text=text,
                      texttemplate="%{text}", textfont=dict(size=14 if len(values) <= 3 else 11),
                      hovertemplate=_hover(name, 6))  # fmt: skip


def kernel_gradient_figure(step: BackwardStep) -> go.Figure:
    """The kernel and dL/dW side by side, every cell numbered; the worked weight framed in orange."""
    titles = [t("backward.fig.kernel_title", kernel=step.kernel), t("backward.fig.grad_weights_title")]
    fig = make_subplots(rows=1, cols=2, subplot_titles=titles, horizontal_spacing=0.08)
    fig.add_trace(_numbers(step.weights, titles[0].replace("<br>", " ")), row=1, col=1)
    fig.add_trace(_numbers(step.grad_weights, titles[1].replace("<br>", " ")), row=1, col=2)
    i, j = step.weight
    for col in (1, 2):
        fig.add_shape(type="rect", x0=j - 0.5, x1=j + 0.5, y0=i - 0.5, y1=i + 0.5, line=dict(color=HIGHLIGHT, width=4), row=1, col=col)
    _square_axes(fig, 2)
    fig.update_layout(height=320, margin=dict(l=10, r=10, t=90, b=10))
    fig.update_annotations(font_size=16)
    return fig


def loss_steps_figure(losses: list[float]) -> go.Figure:
    """The loss on the image before any step (step 0) and after each step taken."""
    fig = go.Figure(go.Scatter(x=list(range(len(losses))), y=losses, mode="lines+markers", line=dict(color=PALETTE[0], width=3),
                               marker=dict(size=10), hovertemplate=t("backward.fig.loss_hover") + "<extra></extra>"))  # fmt: skip
    fig.update_layout(height=280, margin=dict(l=10, r=10, t=50, b=10), title=t("backward.fig.loss_title"),
                      xaxis=dict(title=t("backward.fig.steps_axis"), dtick=1), yaxis=dict(title=t("backward.fig.loss_axis")))  # fmt: skip
    return fig


__all__ = ["gradient_maps_figure", "kernel_gradient_figure", "loss_steps_figure"]
