"""Figures of the Robustness & confidence page: accuracy curves, a strip of perturbed digits,
probability bars, reliability diagrams and galleries of digits."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from explorer.figures.common import DIGIT_SCALE
from explorer.figures.theme import PALETTE
from explorer.i18n import t
from explorer.lab.calibration import Reliability
from explorer.lab.robustness import PERTURBATIONS, Curve

GAP = 2  # px of black between the digits of a strip


def level_text(perturbation: str, level: float) -> str:
    """An amount as the slider shows it: 15°, +2 px, 1.2×, 30%, ..."""
    unit = PERTURBATIONS[perturbation].unit
    if unit == "deg":
        return f"{level:+g}°" if level else "0°"
    if unit == "x":
        return f"{level:g}×"
    if unit == "share":
        return f"{level:.0%}" if level * 100 == round(level * 100) else f"{level:.1%}"
    if unit == "steps":
        return f"{level:+g}" if level else "0"
    return f"{level:+g} px" if level and perturbation == "shift" else f"{level:g} px"


def curves_figure(curves: dict[str, Curve], perturbation: str, show_confidence: bool = True) -> go.Figure:
    """One line per model: its accuracy on the sample at each level; dotted, its mean confidence."""
    levels = PERTURBATIONS[perturbation].levels
    labels = [level_text(perturbation, level) for level in levels]
    fig = go.Figure()
    for index, (model, curve) in enumerate(curves.items()):
        colour = PALETTE[index % len(PALETTE)]
        fig.add_trace(go.Scatter(
            x=labels, y=curve.accuracy, name=model, mode="lines+markers", line=dict(color=colour, width=3),
            hovertemplate=f"{model}: %{{y:.1%}}<extra>%{{x}}</extra>", legendgroup=model,
        ))  # fmt: skip
        if show_confidence:
            fig.add_trace(go.Scatter(
                x=labels, y=curve.confidence, name=t("robustness.figure.confidence_of", model=model),
                mode="lines", line=dict(color=colour, width=2, dash="dot"), legendgroup=model, showlegend=False,
                hovertemplate=t("robustness.figure.confidence_hover", model=model) + ": %{y:.1%}<extra>%{x}</extra>",
            ))  # fmt: skip
    fig.update_layout(
        height=460, title=t("robustness.figure.curves_title", what=t(f"robustness.kind.{perturbation}")),
        xaxis=dict(title=t(f"robustness.unit.{perturbation}"), type="category"),
        yaxis=dict(title=t("robustness.figure.accuracy_axis"), range=[0, 1.03], tickformat=".0%"),
    )  # fmt: skip
    return fig


def strip(images: np.ndarray, captions: list[str], height: int = 150) -> go.Figure:
    """Digits side by side in one picture (white ink on black), each with its caption underneath."""
    count = len(images)
    side = images.shape[-1]
    canvas = np.zeros((side, count * (side + GAP) - GAP))
    for index, image in enumerate(images):
        start = index * (side + GAP)
        canvas[:, start : start + side] = image
    fig = go.Figure(go.Heatmap(z=canvas, colorscale=DIGIT_SCALE, zmin=0, zmax=255, showscale=False, hoverinfo="skip"))
    centres = [index * (side + GAP) + (side - 1) / 2 for index in range(count)]
    fig.update_xaxes(tickmode="array", tickvals=centres, ticktext=captions, showgrid=False, zeroline=False, ticks="", showline=False)
    fig.update_yaxes(autorange="reversed", scaleanchor="x", showticklabels=False, showgrid=False, zeroline=False, ticks="", showline=False)
    fig.update_layout(height=height, margin=dict(l=5, r=5, t=5, b=40))
    return fig


def gallery(images: np.ndarray, captions: list[str], columns: int = 8) -> go.Figure:
    """A grid of digits, `columns` a row, each with a caption above it."""
    rows = max(1, -(-len(images) // columns))
    side = images.shape[-1] if len(images) else 28
    pad = 12  # rows of black between lines of digits, room for a caption
    canvas = np.zeros((rows * (side + pad), columns * (side + GAP) - GAP))
    fig = go.Figure()
    for index, image in enumerate(images):
        row, col = divmod(index, columns)
        top, left = row * (side + pad) + pad, col * (side + GAP)
        canvas[top : top + side, left : left + side] = image
        fig.add_annotation(x=left + (side - 1) / 2, y=top - 1, text=captions[index], showarrow=False,
                           yanchor="bottom", font=dict(color="white", size=14))  # fmt: skip
    fig.add_trace(go.Heatmap(z=canvas, colorscale=DIGIT_SCALE, zmin=0, zmax=255, showscale=False, hoverinfo="skip"))
    fig.update_xaxes(visible=False)
    fig.update_yaxes(autorange="reversed", scaleanchor="x", visible=False)
    fig.update_layout(height=70 + rows * 95, margin=dict(l=5, r=5, t=5, b=5))
    return fig


def probability_bars(probabilities: np.ndarray, true_label: int | None = None) -> go.Figure:
    """Ten bars, one per digit; the answer in vermillion, the true digit (if known) in green."""
    probabilities = np.asarray(probabilities, dtype=float)
    answer = int(probabilities.argmax())
    colours = [PALETTE[1] if d == answer else PALETTE[2] if d == true_label else PALETTE[0] for d in range(10)]
    fig = go.Figure(go.Bar(
        x=list(range(10)), y=probabilities, marker_color=colours, textposition="outside",
        text=[f"{p:.0%}" if p >= 0.005 else "" for p in probabilities],
        hovertemplate=t("robustness.figure.bar_hover") + "<extra></extra>",
    ))  # fmt: skip
    fig.update_layout(
        height=320, showlegend=False, margin=dict(t=20, l=90),
        yaxis=dict(range=[0, 1.15], tickformat=".0%", title=dict(text=t("robustness.figure.probability_axis"), standoff=12), automargin=True),
        xaxis=dict(tickmode="linear", title=t("robustness.figure.digit_axis")),
    )  # fmt: skip
    return fig


def reliability_figure(before: Reliability, after: Reliability, temperature: float) -> go.Figure:
    """Accuracy per confidence bin before and after temperature scaling, against the diagonal of
    perfect calibration; only bins with predictions are drawn."""
    centres = (before.edges[:-1] + before.edges[1:]) / 2
    fig = go.Figure(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line=dict(color="#888888", dash="dash"),
                               name=t("confidence.figure.perfect"), hoverinfo="skip"))  # fmt: skip
    series = ((before, t("confidence.figure.before"), PALETTE[1]),
              (after, t("confidence.figure.after", temperature=f"{temperature:.2f}"), PALETTE[0]))  # fmt: skip
    for result, name, colour in series:
        shown = result.counts > 0
        fig.add_trace(go.Scatter(
            x=result.confidence[shown], y=result.accuracy[shown], mode="lines+markers", name=name,
            marker=dict(color=colour, size=8 + 14 * np.sqrt(result.counts[shown] / result.counts.max())),
            line=dict(color=colour, width=2), customdata=np.stack([result.counts[shown], centres[shown]], axis=1),
            hovertemplate=t("confidence.figure.bin_hover") + "<extra></extra>",
        ))  # fmt: skip
    fig.update_layout(
        height=480, title=t("confidence.figure.reliability_title"),
        xaxis=dict(title=t("confidence.figure.confidence_axis"), range=[0, 1.02], tickformat=".0%"),
        yaxis=dict(title=t("confidence.figure.accuracy_axis"), range=[0, 1.02], tickformat=".0%"),
    )  # fmt: skip
    return fig


def confidence_histogram(before: Reliability, after: Reliability) -> go.Figure:
    """How many test digits fall in each confidence bin (log scale: nearly all sit in the top bin)."""
    labels = [f"{low:.0%}–{high:.0%}" for low, high in zip(before.edges[:-1], before.edges[1:])]
    fig = go.Figure([
        go.Bar(x=labels, y=before.counts, name=t("confidence.figure.before"), marker_color=PALETTE[1]),
        go.Bar(x=labels, y=after.counts, name=t("confidence.figure.after_short"), marker_color=PALETTE[0]),
    ])  # fmt: skip
    fig.update_layout(
        height=360, barmode="group", title=t("confidence.figure.histogram_title"),
        xaxis=dict(title=t("confidence.figure.confidence_axis"), type="category"),
        yaxis=dict(title=t("confidence.figure.count_axis"), type="log"),
    )  # fmt: skip
    return fig
