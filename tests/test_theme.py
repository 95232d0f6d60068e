"""explorer.figures.theme.fit_layout: titles wrap to fit a phone, legends sit between the title and the plot."""

import plotly.graph_objects as go
import pytest

from explorer.figures.theme import (
    LINE_HEIGHT_EM,
    TITLE_FONT_SIZE,
    TITLE_PAD_PX,
    fit_layout,
    visible_length,
    wrap_title,
)


def test_a_short_title_stays_on_one_line():
    assert wrap_title("Training loss per step", 29) == "Training loss per step"


@pytest.mark.parametrize("title", [
    "Activations of each layer on a fixed batch",
    "Dead ReLUs: units silent on every probe image",
    "16 filters of 3×3, the slice for input channel 0 and then some more words to go",
])
def test_a_long_title_wraps_into_even_lines_that_fit(title):
    lines = wrap_title(title, 29).split("<br>")
    assert len(lines) == -(-len(title) // 29)  # as few lines as the length allows
    assert all(visible_length(line) <= 29 for line in lines)
    assert " ".join(lines) == title  # nothing lost, broken only between words
    assert max(map(len, lines)) - min(map(len, lines)) < 12  # about even, not one long and one stub


def test_tags_take_no_room_and_are_never_split():
    title = "A <b>bold</b> word and <span style='color: red'>a red one</span> in a title this long"
    lines = wrap_title(title, 29).split("<br>")
    assert len(lines) == 2
    assert all(line.count("<") == line.count(">") for line in lines)
    assert any("<span style='color: red'>" in line for line in lines)


def test_existing_breaks_stay_and_a_long_word_keeps_its_own_line():
    assert wrap_title("first<br>second", 29) == "first<br>second"
    assert wrap_title("Supercalifragilisticexpialidocious-and-more short", 20) == \
        "Supercalifragilisticexpialidocious-and-more<br>short"


def two_line_figure(**layout):
    fig = go.Figure([go.Scatter(y=[1, 2], name="train"), go.Scatter(y=[2, 1], name="validation")])
    fig.update_layout(title="Validation accuracy of every configuration per epoch", legend=dict(x=1, y=-0.3),
                      height=400, **layout)
    return fig


def test_the_legend_goes_under_the_title_above_the_plot():
    fig = fit_layout(two_line_figure())
    lines = fig.layout.title.text.count("<br>") + 1
    assert lines == 2
    legend = fig.layout.legend
    assert (legend.orientation, legend.yref, legend.yanchor, legend.x, legend.xanchor) == ("h", "container", "top", 0, "left")
    title_bottom_px = TITLE_PAD_PX + lines * LINE_HEIGHT_EM * TITLE_FONT_SIZE
    assert (1 - legend.y) * 400 > title_bottom_px  # the legend starts below the title's last line
    assert fig.layout.title.yref == "container" and fig.layout.title.yanchor == "top"


def test_without_a_legend_the_top_margin_holds_the_title():
    fig = go.Figure(go.Heatmap(z=[[1, 2], [3, 4]]))
    fig.update_layout(title="Confusion matrix of the test digits after training", margin=dict(t=20))
    fit_layout(fig)
    assert fig.layout.legend.yref is None  # untouched: no legend to place
    assert fig.layout.margin.t >= TITLE_PAD_PX + 2 * LINE_HEIGHT_EM * TITLE_FONT_SIZE


def test_a_single_trace_has_no_legend_unless_asked():
    alone = fit_layout(go.Figure(go.Scatter(y=[1, 2], name="loss")))
    asked = fit_layout(go.Figure(go.Scatter(y=[1, 2], name="loss", showlegend=True)))
    hidden = fit_layout(two_line_figure(showlegend=False))
    assert alone.layout.legend.yref is None and hidden.layout.legend.yref is None
    assert asked.layout.legend.yref == "container"


def test_fitting_twice_changes_nothing():
    once = fit_layout(two_line_figure())
    twice = fit_layout(go.Figure(once))
    assert twice.to_plotly_json() == once.to_plotly_json()


def test_a_figure_of_fixed_width_wraps_at_its_own_width():
    fig = fit_layout(go.Figure(layout=dict(title="Its input: 28×28 pixels", width=160)))
    assert "<br>" in fig.layout.title.text
