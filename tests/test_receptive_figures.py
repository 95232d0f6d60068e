"""Figure builders of the Receptive fields page: the right traces, shapes and numbers."""

import numpy as np
import plotly.graph_objects as go

from explorer.figures import receptive as figs
from explorer.lab import receptive_measure as rm
from explorer.lab.receptive import compare_single_vs_stack, input_window, receptive_fields


def _rects(fig):
    return [(s.x0, s.x1, s.y0, s.y1) for s in fig.layout.shapes if s.type == "rect"]


def _as_rect(window):
    r0, r1, c0, c1 = window
    return (c0 - 0.5, c1 - 0.5, r0 - 0.5, r1 - 0.5)


def test_overlay_draws_each_window_on_the_digit():
    digit = rm.synthetic_digit()
    single, stack = rm.compare_footprints(2, 4, 9)
    fig = figs.overlay_figure(digit, single, stack)
    heatmaps = [t for t in fig.data if isinstance(t, go.Heatmap)]
    assert len(heatmaps) == 2 and np.array_equal(np.asarray(heatmaps[0].z), digit)
    rects = _rects(fig)
    assert _as_rect(single.window) in rects and _as_rect(stack.intermediate[0]) in rects
    dots = next(t for t in fig.data if t.name == "units of the layer in between")
    assert len(dots.x) == 9
    assert "5x5 input pixels" in fig.layout.annotations[0].text


def test_footprint_figure_says_whether_they_agree():
    single, stack = rm.compare_footprints(2, 0, 0)
    fig = figs.footprint_figure(single, stack)
    assert [a.text.endswith("agrees ✓") for a in fig.layout.annotations] == [True, True]
    z = np.asarray(fig.data[0].z, dtype=float)
    assert np.isfinite(z).sum() == 25  # only the field is coloured, zero gradient stays blank
    stack.measured = ~stack.measured
    assert "differs" in figs.footprint_figure(single, stack).layout.annotations[1].text


def test_cost_figure_shows_both_designs():
    cmp = compare_single_vs_stack(2, 1, 16)
    fig = figs.cost_figure(cmp)
    params = fig.data[0]
    assert list(params.text) == ["416", "2,480"]
    assert list(fig.data[2].y) == [cmp.single.macs, cmp.stack.macs]
    assert list(fig.data[3].y) == [1, 2]


def test_calculator_and_nested_figures():
    specs = rm.model_stack("lenet")
    rows = receptive_fields(specs)
    fig = figs.calculator_figure(rows)
    assert list(fig.data[0].y) == [r.receptive_field for r in rows]
    assert list(fig.data[1].y) == [r.output_size for r in rows]
    windows = [input_window(specs[: i + 1], r.output_size // 2, r.output_size // 2) for i, r in enumerate(rows)]
    nested = figs.nested_fields_figure(rm.synthetic_digit(), rows, windows)
    assert _rects(nested) == [_as_rect(w) for w in windows]


def test_erf_figure_draws_theoretical_and_central_squares():
    net = rm.build_model("lenet")
    erf = rm.effective_field(net, rm.conv_layers(net)[-1][0], rm.random_inputs(net, 2))
    fig = figs.erf_figure([erf, erf])
    assert len([t for t in fig.data if isinstance(t, go.Heatmap)]) == 2
    assert _as_rect(erf.window) in _rects(fig) and _as_rect(erf.central_window) in _rects(fig)
    profile = figs.erf_profile_figure([erf])
    assert max(profile.data[0].y) == 1.0


def test_head_to_head_figures():
    results = [
        rm.TwinResult("rf-5x5", 4000, 416, 10, 10, 1.5, 1.6, 0.9, 0.91, 100, np.zeros((16, 5, 5)), [2.3, 1.0, 0.5]),
        rm.TwinResult("rf-3x3", 25000, 2480, 10, 10, 3.0, 3.1, 0.92, 0.93, 100, np.zeros((16, 3, 3)), [2.3, 0.9, 0.4]),
    ]
    fig = figs.head_to_head_figure(results)
    assert list(fig.data[0].y) == [416, 2480]
    assert list(fig.data[2].text) == ["91.0%", "93.0%"]
    assert len(figs.loss_curves_figure(results).data) == 2
