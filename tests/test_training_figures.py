"""The Train page's figure builders: right traces, axes and titles, sane on empty input."""
import json

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from explorer.lab.compare import LayerHistogram, layer_histogram
from explorer.figures import training as figs
from explorer.figures.theme import fit_layout
from explorer.nn.layers import ReLU, Sigmoid
from explorer.lab.optim_paths import contour_grid, optimizer_path


def title(fig) -> str:
    return fig.layout.title.text


def test_loss_figure_raw_and_smoothed():
    fig = figs.loss_figure([1, 2, 3], [2.3, 2.0, 1.5], [2.3, 2.1, 1.9], log_y=True)
    assert [t.name for t in fig.data] == ["raw", "smoothed"]
    assert list(fig.data[1].y) == [2.3, 2.1, 1.9]
    assert fig.layout.yaxis.type == "log" and "step" in fig.layout.xaxis.title.text
    assert "loss" in title(fig).lower()
    assert figs.loss_figure([], [], []).layout.annotations  # an empty chart says what will appear


def test_accuracy_figure_with_test_line():
    fig = figs.accuracy_figure([1, 2], [0.8, 0.9], [0.78, None], test_accuracy=0.91)
    assert [t.name for t in fig.data] == ["train", "validation"]
    assert np.isnan(fig.data[1].y[1])
    assert any("91.00%" in (a.text or "") for a in fig.layout.annotations)
    assert fig.layout.yaxis.tickformat == ".0%"


def test_comparison_overlays_one_colour_per_configuration():
    curves = [{"label": f"c{i}", "steps": [1, 2], "values": [1.0, 0.5]} for i in range(4)]
    curves.append({"label": "past", "steps": [1], "values": [2.0], "dash": "dash"})
    fig = figs.comparison_loss_figure(curves)
    assert [t.name for t in fig.data] == ["c0", "c1", "c2", "c3", "past"]
    assert len({t.line.color for t in fig.data[:4]}) == 4
    assert fig.data[4].line.dash == "dash"
    acc = figs.comparison_accuracy_figure([{"label": "a", "epochs": [1], "values": [0.5]}])
    assert acc.data[0].y == (0.5,)


def test_activation_histograms_one_panel_per_layer():
    rng = np.random.default_rng(0)
    hs = [layer_histogram("relu1", ReLU(), np.maximum(rng.normal(size=500), 0)),
          layer_histogram("sigmoid1", Sigmoid(), 1 / (1 + np.exp(-rng.normal(size=500))))]  # fmt: skip
    assert 0.3 < hs[0].zero_fraction < 0.7 and hs[1].zero_fraction == 0
    assert hs[1].fractions.sum() == np.float64(1.0) or abs(hs[1].fractions.sum() - 1) < 1e-9
    fig = figs.activation_histograms(hs, hs)
    bars = [t for t in fig.data if isinstance(t, go.Bar)]
    assert len(bars) == 2 and len(fig.data) == 4
    assert "zero" in fig.layout.annotations[0].text and "sigmoid1" in fig.layout.annotations[1].text
    assert legend_above(fig)  # below, it covered the axis titles


def legend_above(fig) -> bool:
    """A horizontal legend whose bottom edge is above the plot area (y >= 1 in paper units)."""
    legend = fig.layout.legend
    return legend.orientation == "h" and legend.y >= 1 and legend.yanchor == "bottom"


def test_norm_and_dead_relu_figures():
    fig = figs.norms_figure([0, 10], {"dense1.W": [1.0, 0.0], "dense2.W": [2, 3]}, "Gradient norm per layer", "norm")
    assert fig.layout.yaxis.type == "log" and [t.name for t in fig.data] == ["dense1.W", "dense2.W"]
    assert legend_above(fig)
    assert np.isnan(fig.data[0].y[1])  # a zero norm cannot sit on a log axis
    dead = figs.dead_relu_figure([0, 10], {"relu1": [0.0, 0.25]})
    assert list(dead.data[0].y) == [0.0, 0.25] and dead.layout.yaxis.tickformat == ".0%"
    assert figs.dead_relu_figure([], {}).layout.annotations


def test_filters_and_stream():
    w = np.random.default_rng(1).normal(size=(5, 5, 1, 6))
    fig = figs.filters_figure(w, columns=3)
    z = np.array(fig.data[0].z, dtype=float)
    assert z.shape == (11, 17)  # 2 rows x 3 columns of 5x5 with 1-pixel gaps
    assert np.allclose(z[:5, :5], w[:, :, 0, 0]) and np.isnan(z[5]).all()
    assert fig.data[0].zmin == -fig.data[0].zmax
    probs = np.eye(10)[[3, 1]] * 0.9 + 0.01
    stream = figs.prediction_stream_figure(np.zeros((2, 28, 28)), probs, [3, 7])
    bar = stream.data[1]
    assert len(bar.y) == 20
    texts = [a.text for a in stream.layout.annotations]
    assert texts[0].startswith("✓ 3") and texts[1].startswith("✗ 1")
    # readable from the back of a classroom: no label under 14 px
    assert stream.layout.xaxis.tickfont.size >= 14 and stream.layout.yaxis.tickfont.size >= 14
    assert all(a.font.size >= 14 for a in stream.layout.annotations)


def test_optimizer_paths_figure():
    xs, ys, zs = contour_grid("bowl", 40)
    paths = {"SGD": optimizer_path("sgd"), "Adam": optimizer_path("adam")}
    fig = figs.optimizer_paths_figure(xs, ys, zs, paths, (0, 0), title="bowl")
    assert isinstance(fig.data[0], go.Contour)
    names = [t.name for t in fig.data if t.name]
    assert "SGD (30 steps)" in names and "Adam (30 steps)" in names and "minimum" in names
    assert legend_above(fig)
    one = figs.optimizer_paths_figure(xs, ys, zs, {"SGD": optimizer_path("sgd", steps=1)}, (0, 0))
    assert one.data[1].name == "SGD (1 step)"  # not "1 steps"
    assert fig.layout.height == 540 and figs.optimizer_paths_figure(xs, ys, zs, paths, height=470).layout.height == 470


def test_confusion_and_misclassified():
    counts = np.diag(np.full(10, 90)) + 1
    fig = figs.confusion_figure(counts)
    assert fig.data[0].z[0][0] == 91 / 100
    assert fig.layout.xaxis.title.text == "predicted digit"
    # digits 0..9 on both axes whatever the frame (autorange with square cells showed -5 to 14), 0 at the top
    assert tuple(fig.layout.xaxis.range) == (-0.5, 9.5) and tuple(fig.layout.yaxis.range) == (9.5, -0.5)
    assert list(fig.layout.xaxis.tickvals) == list(range(10)) == list(fig.layout.yaxis.tickvals)
    assert fig.layout.yaxis.scaleanchor == "x" and fig.layout.yaxis.scaleratio == 1  # square cells
    assert fig.layout.xaxis.constrain == "domain" == fig.layout.yaxis.constrain  # no padding beyond 0..9
    assert fig.data[0].textfont.size <= 12  # four-digit counts fit their cell
    gallery = figs.misclassified_figure(np.zeros((3, 28, 28)), [4, 9, 3], [9, 4, 5], [0.9, 0.8, 0.7], columns=3)
    assert [a.text for a in gallery.layout.annotations] == ["4→9 90%", "9→4 80%", "3→5 70%"]
    assert figs.misclassified_figure(np.zeros((0, 28, 28)), [], [], []).layout.annotations


def test_histogram_of_nothing_is_harmless():
    h = layer_histogram("x", ReLU(), np.array([np.nan, np.inf]))
    assert isinstance(h, LayerHistogram) and h.fractions.sum() == 0


def _histograms():
    rng = np.random.default_rng(0)
    return [layer_histogram("relu1", ReLU(), np.maximum(rng.normal(size=500), 0)),
            layer_histogram("sigmoid1", Sigmoid(), 1 / (1 + np.exp(-rng.normal(size=500))))]  # fmt: skip


UNCHECKED_FIGURES = {  # every figure made by figs._figure, full and empty
    "loss": lambda: figs.loss_figure(np.arange(3), [2.3, 2.0, 1.5], [2.3, 2.1, 1.9]),
    "loss, log axis": lambda: figs.loss_figure([1, 2, 3], [2.3, 2.0, 1.5], log_y=True),
    "loss, empty": lambda: figs.loss_figure([], []),
    "accuracy with the test line and the class's digits": lambda: figs.accuracy_figure(
        [1, 2], [0.8, 0.9], [0.78, None], test_accuracy=0.91, class_curve=([1, 2], [0.5, 0.6])),
    "accuracy, empty": lambda: figs.accuracy_figure([], [], []),
    "comparison loss": lambda: figs.comparison_loss_figure([{"label": "a", "steps": [1, 2], "values": [1.0, 0.5], "dash": "dash"}], log_y=True),
    "comparison loss, empty": lambda: figs.comparison_loss_figure([]),
    "comparison accuracy": lambda: figs.comparison_accuracy_figure([{"label": "a", "epochs": [1, 2], "values": [0.5, 0.7]}]),
    "activations": lambda: figs.activation_histograms(_histograms(), _histograms()),
    "norms": lambda: figs.norms_figure([0, 10], {"dense1.W": [1.0, 0.0], "dense2.W": [2, 3]}, "norms", "norm"),
    "norms, empty": lambda: figs.norms_figure([], {}, "norms", "norm"),
    "dead units": lambda: figs.dead_relu_figure([0, 10], {"relu1": [0.0, 0.25]}),
    "prediction stream": lambda: figs.prediction_stream_figure(np.zeros((2, 28, 28)), np.eye(10)[[3, 1]] * 0.9 + 0.01, [3, 7]),
    "no mistakes": lambda: figs.misclassified_figure(np.zeros((0, 28, 28)), [], [], []),
}


@pytest.mark.parametrize("name", UNCHECKED_FIGURES)
def test_plotly_checking_a_figure_changes_nothing(name):
    """The Train page's figures skip plotly's check (figs._figure): each is already in the form
    the check would give it, as made and as chart() sends it (fitted to a phone)."""
    fig = UNCHECKED_FIGURES[name]()
    for _ in ("as made", "as sent"):
        sent = json.loads(pio.to_json(fig.to_dict(), validate=False))
        checked = json.loads(pio.to_json(go.Figure(fig.to_dict()), validate=False))
        assert sent == checked
        fit_layout(fig)
