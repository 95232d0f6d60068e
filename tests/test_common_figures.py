"""The digit and probability figures, built without plotly's checks, against the same figures built
and checked step by step with plotly's update calls (the readable way, ten times slower)."""
import numpy as np
import plotly.graph_objects as go
import pytest

from explorer.figures.common import DIGIT_SCALE, digit_figure, probability_bars
from explorer.figures.theme import PALETTE, fit_layout
from explorer.i18n import t


@pytest.mark.parametrize("title, axis_lines", [("", True), ("Its input", False)])
def test_digit_figure_is_the_step_by_step_figure(title, axis_lines):
    image = np.random.default_rng(0).random((28, 28)).astype(np.float32)
    fig = go.Figure(go.Heatmap(z=image, colorscale=DIGIT_SCALE, showscale=False, hovertemplate=t("shared.chart.pixel_hover") + "<extra></extra>"))
    fig.update_yaxes(autorange="reversed", scaleanchor="x", showticklabels=False, ticks="", showgrid=False, zeroline=False)
    fig.update_xaxes(showticklabels=False, ticks="", showgrid=False, zeroline=False)
    fig.update_layout(title=title, width=250, height=250 + (40 if title else 0), margin=dict(l=5, r=5, t=40 if title else 5, b=5))
    if not axis_lines:
        fig.update_xaxes(showline=False).update_yaxes(showline=False)
    made = digit_figure(image, title, size=250, axis_lines=axis_lines)
    assert made.to_dict() == fig.to_dict()
    assert fit_layout(made).to_dict() == fit_layout(fig).to_dict()  # and so as every chart is sent


@pytest.mark.parametrize("true_label, title", [(None, None), (3, "Probability of each digit")])
def test_probability_bars_are_the_step_by_step_figure(true_label, title):
    probabilities = np.random.default_rng(1).dirichlet(np.ones(10))
    predicted = int(probabilities.argmax())
    fig = go.Figure(go.Bar(x=list(range(10)), y=probabilities, marker_color=[PALETTE[1] if d == predicted else PALETTE[0] for d in range(10)],
                           text=[f"{p:.0%}" if p >= 0.005 else "" for p in probabilities], textposition="outside",
                           hovertemplate=t("shared.chart.digit_hover") + "<extra></extra>"))  # fmt: skip
    if true_label is not None:
        fig.add_annotation(x=true_label, y=-0.12, yref="y", text=t("shared.chart.true"), showarrow=False, font=dict(color=PALETTE[2]))
    fig.update_layout(title=title if title is not None else t("shared.chart.what_it_thinks"),
                      yaxis=dict(range=[-0.18 if true_label is not None else 0, 1.15], tickformat=".0%", title=t("shared.chart.probability")),
                      xaxis=dict(tickmode="linear", title=t("shared.chart.digit")), height=320, showlegend=False)  # fmt: skip
    made = probability_bars(probabilities, true_label, title)
    assert made.to_dict() == fig.to_dict()
    assert fit_layout(made).to_dict() == fit_layout(fig).to_dict()  # and so as every chart is sent
