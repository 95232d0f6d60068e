"""Figures of the Class digits page: digits per label, accuracy on the class's digits next to
MNIST's test set, the confusion matrix, and digit strips (NumPy images for st.image)."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from explorer.figures.theme import PALETTE
from explorer.i18n import t

GAP_GREY = 90  # the pixel value between digits in a strip: the digits' black edges stay visible


def counts_figure(counts: np.ndarray) -> go.Figure:
    """Ten bars: how many digits of each label the class has drawn."""
    counts = np.asarray(counts, dtype=int)
    fig = go.Figure(go.Bar(x=list(range(10)), y=counts, marker_color=PALETTE[0], text=[str(c) for c in counts],
                           textposition="outside", hovertemplate="%{x}: %{y}<extra></extra>"))  # fmt: skip
    fig.update_layout(title=t("class_digits.fig.counts_title"), height=300, showlegend=False,
                      xaxis=dict(tickmode="linear", title=t("class_digits.fig.digit")),
                      yaxis=dict(title=t("class_digits.fig.count"), range=[0, max(1, int(counts.max())) * 1.2]))  # fmt: skip
    return fig


def accuracy_figure(names: list[str], mnist_accuracy: list[float], class_accuracy: list[float]) -> go.Figure:
    """Per network, two bars: accuracy on MNIST's 10,000 test digits and on the class's digits."""
    def bars(values, name, colour):
        values = [float(v) if v is not None else float("nan") for v in values]
        return go.Bar(y=names, x=values, name=name, orientation="h", marker_color=colour,
                      text=[f"{v:.1%}" if np.isfinite(v) else "" for v in values], textposition="outside", cliponaxis=False,
                      hovertemplate="%{y}: %{x:.1%}<extra></extra>")  # fmt: skip

    fig = go.Figure([bars(mnist_accuracy, t("class_digits.fig.mnist_test"), PALETTE[0]),
                     bars(class_accuracy, t("class_digits.fig.class_set"), PALETTE[1])])  # fmt: skip
    fig.update_layout(title=t("class_digits.fig.accuracy_title"), barmode="group",
                      height=120 + 56 * len(names), xaxis=dict(range=[0, 1.3], tickformat=".0%", tickvals=[0, 0.5, 1]),
                      yaxis=dict(autorange="reversed"), legend=dict(orientation="h"))  # fmt: skip
    return fig


def confusion_figure(matrix: np.ndarray, model: str) -> go.Figure:
    """Rows: the digit the student meant; columns: what the network read. The diagonal is right."""
    matrix = np.asarray(matrix, dtype=int)
    text = [[str(v) if v else "" for v in row] for row in matrix]
    fig = go.Figure(go.Heatmap(z=matrix, x=list(range(10)), y=list(range(10)), text=text, texttemplate="%{text}",
                               colorscale="Blues", showscale=False, hovertemplate="%{y} → %{x}: %{z}<extra></extra>"))  # fmt: skip
    fig.update_layout(title=t("class_digits.fig.confusion_title", model=model), height=460,
                      xaxis=dict(tickmode="linear", title=t("class_digits.fig.read_as"), side="bottom"),
                      yaxis=dict(tickmode="linear", title=t("class_digits.fig.meant"), autorange="reversed",
                                 scaleanchor="x"))  # fmt: skip
    return fig


def strip(images: np.ndarray, scale: int = 3, gap: int = 2) -> np.ndarray:
    """Digits side by side as one uint8 image (each enlarged `scale` times), with grey gaps."""
    images = np.asarray(images, dtype=np.uint8)
    if len(images) == 0:
        return np.full((28 * scale, 28 * scale), GAP_GREY, dtype=np.uint8)
    big = images.repeat(scale, axis=1).repeat(scale, axis=2)
    side = big.shape[1]
    out = np.full((side, len(big) * (side + gap) - gap), GAP_GREY, dtype=np.uint8)
    for index, image in enumerate(big):
        out[:, index * (side + gap):index * (side + gap) + side] = image
    return out
