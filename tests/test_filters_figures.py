"""Figure builders of the Filters & feature maps page: traces, zero-centred colour scales, titles."""

import numpy as np
import plotly.graph_objects as go
import pytest

from explorer.lab.dissect import convolution_at
from explorer.figures.filters import (
    GAP,
    convolution_figure,
    feature_maps_figure,
    filters_figure,
    map_grid_figure,
    mosaic,
    panels_figure,
    position_figure,
    saliency_figure,
    tile_groups,
    units_figure,
)
from explorer.nn.models import build_model
from explorer.figures.theme import DIVERGING

RDBU_R = go.Heatmap(colorscale=DIVERGING).colorscale


def heatmaps(fig):
    return [t for t in fig.data if t.type == "heatmap"]


def centred(trace) -> bool:
    return trace.zmin == pytest.approx(-trace.zmax) and trace.zmax > 0


def test_mosaic_places_each_map_in_its_tile():
    maps = np.arange(5 * 3 * 2, dtype=float).reshape(5, 3, 2) + 1
    z, raw, origins = mosaic(maps, np.ones(5), columns=2, normalise=False)
    assert z.shape == (3 * 3 + 2 * GAP, 2 * 2 + GAP)
    for index, (top, left) in enumerate(origins):
        assert (raw[top : top + 3, left : left + 2] == maps[index]).all()
    assert np.isnan(z).sum() == z.size - maps.size  # gaps and the empty sixth tile


def test_grid_with_shared_range_uses_true_values_centred_on_zero():
    maps = np.random.default_rng(0).normal(size=(6, 4, 4))
    fig = map_grid_figure(maps, 3.0, "six maps")
    (trace,) = fig.data
    assert trace.type == "heatmap" and centred(trace) and trace.zmax == pytest.approx(3.0) and trace.zmid == 0
    assert trace.colorscale == RDBU_R
    assert fig.layout.title.text == "six maps"
    assert np.nanmax(np.abs(np.asarray(trace.z, dtype=float))) == pytest.approx(np.abs(maps).max())


def test_grid_with_per_map_ranges_normalises_each_tile():
    maps = np.stack([np.full((3, 3), 0.1), np.full((3, 3), -50.0)])
    fig = map_grid_figure(maps, np.array([0.1, 50.0]), "per map")
    (trace,) = fig.data
    z = np.asarray(trace.z, dtype=float)
    assert np.nanmax(z) == pytest.approx(1.0) and np.nanmin(z) == pytest.approx(-1.0)
    assert (trace.zmin, trace.zmax) == (-1.0, 1.0)
    assert "own max" in trace.colorbar.title.text
    raw = np.asarray(trace.customdata, dtype=float)[..., 0]
    assert np.nanmin(raw) == pytest.approx(-50.0)  # hover still shows the true value


def test_filters_figure_shows_one_tile_per_filter_and_highlights_the_chosen_one():
    net = build_model("lenet", seed=0)
    W = net.layers[3].W.value  # (5, 5, 6, 16)
    fig = filters_figure(W, in_channel=2, limits=float(np.abs(W).max()), title="conv2 filters", highlight=5)
    (trace,) = heatmaps(fig)
    assert centred(trace) and trace.colorscale == RDBU_R
    assert fig.layout.title.text == "conv2 filters"
    raw = np.asarray(trace.customdata, dtype=float)
    tiles = raw[..., 1]
    assert sorted(set(tiles[np.isfinite(tiles)].astype(int))) == list(range(16))
    first = raw[0:5, 0:5, 0]  # tile 0 is filter 0 of input channel 2
    assert first == pytest.approx(W[:, :, 2, 0])
    assert len(fig.layout.shapes) == 1 and fig.layout.annotations[5].text.endswith("5")


def test_feature_maps_figure_has_channel_labels():
    maps = np.random.default_rng(1).normal(size=(10, 10, 4))
    fig = feature_maps_figure(maps, np.ones(4), "conv1 — before ReLU")
    assert [a.text for a in fig.layout.annotations] == ["ch 0", "ch 1", "ch 2", "ch 3"]
    assert fig.layout.title.text == "conv1 — before ReLU"


def test_panels_figure_each_panel_centred():
    fig = panels_figure([("a", np.ones((3, 3)), 2.0), ("b", -np.ones((5, 5)), 0.0)], "Channel 0 up close")
    assert len(heatmaps(fig)) == 2 and all(centred(t) for t in heatmaps(fig))
    assert [a.text for a in fig.layout.annotations] == ["a", "b"]
    assert fig.layout.title.text == "Channel 0 up close"


def test_convolution_figure_numbers():
    net = build_model("lenet", seed=0)
    x = net.prepare(np.random.default_rng(2).integers(0, 256, (1, 28, 28)).astype(np.uint8))
    step = convolution_at(net, 3, x, 2, 7, 4)
    fig = convolution_figure(step, in_channel=1)
    window, kernel, products = heatmaps(fig)
    assert np.asarray(window.z) == pytest.approx(step.window[:, :, 1])
    assert np.asarray(kernel.z) == pytest.approx(step.kernel[:, :, 1])
    assert np.asarray(products.z) == pytest.approx(step.window[:, :, 1] * step.kernel[:, :, 1])
    assert all(centred(t) for t in (window, kernel, products))
    assert kernel.text[0][0] == f"{step.kernel[0, 0, 1]:.2f}".replace("-0.00", "0.00")
    assert [a.text for a in fig.layout.annotations][1] == "kernel<br>(filter 4)"


def test_position_figure_marks_window_and_cell():
    net = build_model("lenet", seed=0)
    x = net.prepare(np.random.default_rng(3).integers(0, 256, (1, 28, 28)).astype(np.uint8))
    step = convolution_at(net, 0, x, 0, 3, 1)  # padded border: origin (-2, 1)
    feature = net.trace(x)[0][0, :, :, 1]
    fig = position_figure(step, 0, feature, 1.0)
    window_rect = [s for s in fig.layout.shapes if s.line.width == 4][0]
    assert (window_rect.x0, window_rect.y0) == (0.5, -2.5)
    cells = [t for t in fig.data if t.type == "scatter"][0]
    assert len(cells.x) == 28 * 28
    assert np.asarray(heatmaps(fig)[0].z).shape == (32, 32)  # the padded input


def test_saliency_figure_signed_and_overlay():
    grad = np.zeros((28, 28))
    grad[5, 5], grad[6, 6] = 0.5, -2.0
    fig = saliency_figure(np.zeros((28, 28), np.uint8), grad, 7)
    signed = heatmaps(fig)[0]
    assert centred(signed) and signed.zmax == pytest.approx(2.0) and signed.colorscale == RDBU_R
    assert "'7'" in fig.layout.annotations[0].text
    assert np.asarray(heatmaps(fig)[2].z).min() >= 0  # the overlay shows |gradient|


def test_units_figure():
    fig = units_figure(np.array([1.0, -2.0, 0.0]), "dense1: 3 units")
    (bar,) = fig.data
    assert list(bar.y) == [1.0, -2.0, 0.0] and fig.layout.title.text == "dense1: 3 units"
    assert bar.marker.color[0] != bar.marker.color[1]


# --- large tiles, in groups that sit side by side or stack on a phone -------------------------


@pytest.mark.parametrize("count", [1, 4, 6, 8, 12, 16, 32, 64])
def test_tile_groups_cover_every_channel_once_in_at_most_two_groups(count):
    groups = tile_groups(count)
    assert [c for group in groups for c in group] == list(range(count))
    assert len(groups) == (1 if count <= 4 else 2)
    if len(groups) == 2:  # whole rows of four in the first group, so both groups line up
        assert len(groups[0]) % 4 == 0 or len(groups[0]) < 4
        assert len(groups[0]) >= len(groups[1])


def tile_columns(fig, tile: int) -> int:
    z = np.asarray(fig.data[0].z, dtype=float)
    return (z.shape[1] + GAP) // (tile + GAP)


def test_a_group_of_filters_shows_four_large_tiles_a_row_with_their_own_numbers():
    W = build_model("deepconvnet", seed=0).layers[0].W.value  # (3, 3, 1, 16)
    second = tile_groups(16)[1]
    fig = filters_figure(W, 0, float(np.abs(W).max()), highlight=10, channels=second, colorbar=False)
    assert tile_columns(fig, 3) == 4
    assert [a.text for a in fig.layout.annotations] == [f"filter {c}" for c in second]
    assert min(a.font.size for a in fig.layout.annotations) >= 14  # readable from the back of the room
    tiles = np.asarray(fig.data[0].customdata, dtype=float)[..., 1]
    assert sorted(set(tiles[np.isfinite(tiles)].astype(int))) == list(second)  # hover names the true filter
    assert len(fig.layout.shapes) == 1  # filter 10 is in this group
    assert fig.data[0].showscale is False
    rows = -(-len(second) // 4)
    assert (fig.layout.height - 20) / rows >= 100  # about 100 px or more per tile row


def test_per_map_scaling_is_decided_for_the_whole_layer():
    maps = np.ones((4, 4, 8))
    limits = np.array([1.0] * 4 + [2.0] * 4)  # each half alone looks like one shared range
    for channels in tile_groups(8):
        fig = feature_maps_figure(maps, limits, "", channels=channels)
        assert fig.data[0].zmax == 1.0 and "own max" in fig.data[0].colorbar.title.text
