"""The kernel sliding over its input, played in the browser: the window moves in reading order,
its numbers show beside it, and the output map fills in behind a curtain as it goes.

Each frame carries only what moves (four rectangles, the window's numbers and one line of text),
so even a 24x24 output is a small figure; plotly plays it on the student's own machine.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from explorer.figures.filters import GREYS, HIGHLIGHT
from explorer.figures.theme import DIVERGING
from explorer.i18n import t

MAX_FRAMES = 300  # beyond this the window moves two (or more) pixels a frame
SPEEDS = {"slow": 250, "fast": 60}  # milliseconds a frame
CURTAIN = "rgba(255,255,255,0.92)"


class AnimatedFigure(go.Figure):
    """A figure whose frames are plain dicts in plotly's own form, which plotly does not check.

    Checking them is what took the time: 0.4 s for 200 frames, against 0.03 s to make them, paid
    by a class at every model switch on the Filters page. tests/test_overview.py has plotly check
    them and finds the same figure."""

    _plain_frames: list = []

    def set_plain_frames(self, frames: list[dict]) -> None:
        self._plain_frames = frames

    def to_dict(self) -> dict:
        spec = super().to_dict()
        if self._plain_frames:
            spec["frames"] = copy.deepcopy(self._plain_frames)
        return spec


def positions(out_h: int, out_w: int, max_frames: int = MAX_FRAMES) -> list[tuple[int, int]]:
    """The output cells the animation visits, in reading order, every `step`-th row and column."""
    step = max(1, math.ceil(math.sqrt(out_h * out_w / max_frames)))
    return [(row, col) for row in range(0, out_h, step) for col in range(0, out_w, step)]


def window_at(image: np.ndarray, row: int, col: int, kernel: int, stride: int, padding: int) -> np.ndarray:
    """The k x k input pixels output cell (row, col) sees (zeros where it hangs over the padding)."""
    padded = np.pad(image, padding)
    top, left = row * stride, col * stride
    return padded[top:top + kernel, left:left + kernel]


def _shapes(row, col, kernel, stride, padding, out_h, out_w):
    top, left = row * stride - padding - 0.5, col * stride - padding - 0.5
    return [
        dict(type="rect", xref="x", yref="y", x0=left, x1=left + kernel, y0=top, y1=top + kernel, line=dict(color=HIGHLIGHT, width=3)),
        dict(type="rect", xref="x3", yref="y3", x0=-0.5, x1=out_w - 0.5, y0=row + 0.5, y1=out_h - 0.5, fillcolor=CURTAIN, line=dict(width=0)),
        dict(type="rect", xref="x3", yref="y3", x0=col + 0.5, x1=out_w - 0.5, y0=row - 0.5, y1=row + 0.5, fillcolor=CURTAIN, line=dict(width=0)),
        dict(type="rect", xref="x3", yref="y3", x0=col - 0.5, x1=col + 0.5, y0=row - 0.5, y1=row + 0.5, line=dict(color=HIGHLIGHT, width=3)),
    ]  # fmt: skip


def _window_text(window: np.ndarray) -> list[list[str]]:
    return [[f"{value:.2f}" for value in line] for line in window]


def kernel_animation(image: np.ndarray, kernel: np.ndarray, bias: float, output: np.ndarray, stride: int = 1,
                     padding: int = 0, height: int = 380) -> go.Figure:  # fmt: skip
    """`image` (h, w): the input channel; `kernel` (k, k); `output` (out_h, out_w): the layer's own
    output channel (the frames reveal it, they do not recompute it)."""
    k = kernel.shape[0]
    out_h, out_w = output.shape
    visits = positions(out_h, out_w)
    fig = make_subplots(figure=AnimatedFigure(), rows=1, cols=3, column_widths=[0.4, 0.2, 0.4], horizontal_spacing=0.04,
                        subplot_titles=(t("overview.anim_input"), t("overview.anim_window"), t("overview.anim_output")))  # fmt: skip
    fig.add_trace(go.Heatmap(z=image, colorscale=GREYS, showscale=False, hoverinfo="skip"), 1, 1)
    first = window_at(image, *visits[0], k, stride, padding)
    fig.add_trace(go.Heatmap(z=first, text=_window_text(first), texttemplate="%{text}", colorscale=GREYS,
                             zmin=float(image.min()), zmax=float(image.max()), showscale=False, hoverinfo="skip"), 1, 2)  # fmt: skip
    limit = float(np.abs(output).max()) or 1.0
    fig.add_trace(go.Heatmap(z=output, colorscale=DIVERGING, zmin=-limit, zmax=limit, showscale=False,
                             hovertemplate="(%{y}, %{x}): %{z:.2f}<extra></extra>"), 1, 3)  # fmt: skip
    # Each frame carries only what moves; the sum is the window panel's axis title, so the frames
    # need no annotations (a frame's annotations replace all of the figure's, panel titles
    # included: each frame would carry those again).
    fig.set_plain_frames([
        dict(
            name=str(number),
            data=[dict(type="heatmap", z=window.tolist(), text=_window_text(window))],  # lists: plotly sends them as they are
            traces=[1],
            layout=dict(shapes=_shapes(row, col, k, stride, padding, out_h, out_w),
                        xaxis2=dict(title=dict(text=_sum_text(window, kernel, bias, output[row, col])))),
        )
        for number, (row, col) in enumerate(visits)
        for window in [window_at(image, row, col, k, stride, padding)]
    ])  # fmt: skip
    hidden = dict(showticklabels=False, showgrid=False, zeroline=False, showline=False, ticks="")
    fig.update_layout(
        shapes=_shapes(*visits[0], k, stride, padding, out_h, out_w), height=height, margin=dict(l=8, r=8, t=60, b=70),
        updatemenus=[_buttons()],
        xaxis=dict(visible=False), xaxis3=dict(visible=False),
        xaxis2=dict(title=dict(text=_sum_text(first, kernel, bias, output[visits[0]]), font=dict(size=14)), **hidden),
    )  # fmt: skip
    for axis in ("yaxis", "yaxis2", "yaxis3"):
        fig.layout[axis].update(autorange="reversed", scaleanchor=axis.replace("yaxis", "x"), visible=False)
    return fig


def _sum_text(window: np.ndarray, kernel: np.ndarray, bias: float, value: float) -> str:
    """Under the window: sum of window x kernel, plus the bias, is the output cell."""
    products = float((window * kernel).sum())
    return t("overview.anim_sum", products=f"{products:.2f}", bias=f"{bias:+.2f}", value=f"{value:.2f}")


def _buttons() -> dict:
    def play(duration: int) -> dict:
        return dict(frame=dict(duration=duration, redraw=True), transition=dict(duration=0), fromcurrent=True, mode="immediate")

    return dict(
        type="buttons", direction="left", x=0.0, y=-0.2, xanchor="left", yanchor="top", showactive=False,
        buttons=[
            dict(label=t("overview.play_slow"), method="animate", args=[None, play(SPEEDS["slow"])]),
            dict(label=t("overview.play_fast"), method="animate", args=[None, play(SPEEDS["fast"])]),
            dict(label=t("overview.pause"), method="animate", args=[[None], dict(frame=dict(duration=0, redraw=False), mode="immediate")]),
        ],
    )  # fmt: skip
