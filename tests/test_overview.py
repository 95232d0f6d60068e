"""The whole network at a glance and the kernel animation (explorer/figures/overview.py,
conv_animation.py): the columns follow the network, a map's connections go to what it reads, and
every frame of the animation shows the window and the output cell the layer really computed."""

from __future__ import annotations

import numpy as np
import orjson
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from explorer.figures.conv_animation import kernel_animation, positions, window_at
from explorer.figures.overview import MAPS_PER_COLUMN, network_overview, overview_columns, sources_of
from explorer.lab.dissect import convolution_at, conv_indices, dissect
from explorer.nn.pretrained import available, load_pretrained
from tests.plotly_arrays import values

CNNS = [name for name in ("zhou-cnn", "lenet", "deepconvnet", "tf-cnn-bn") if name in available()]


def digit() -> np.ndarray:
    image = np.zeros((28, 28), np.float32)
    image[6:22, 13:16] = 1.0  # a "1"
    return image


@pytest.fixture(scope="module", params=CNNS)
def network_and_view(request):
    net, _ = load_pretrained(request.param)
    return net, dissect(net, net.prepare(digit()[None]))


def test_the_columns_are_the_input_and_every_map_layer_in_order(network_and_view):
    net, view = network_and_view
    columns = overview_columns(view)
    assert columns[0]["kind"] == "input" and columns[0]["maps"].shape == (1, 28, 28)
    assert [c["index"] for c in columns[1:]] == [layer.index for layer in view.maps]
    for column, layer in zip(columns[1:], view.maps):
        assert column["channels"] == layer.output.shape[2]
        assert len(column["maps"]) == min(MAPS_PER_COLUMN, layer.output.shape[2])
        np.testing.assert_array_equal(column["maps"][0], layer.output[:, :, 0])


def test_a_convolution_reads_every_map_before_it_and_a_pool_only_its_own(network_and_view):
    net, view = network_and_view
    columns = overview_columns(view)
    for number in range(1, len(columns)):
        shown_before = len(columns[number - 1]["maps"])
        reads = sources_of(columns, number, 0)
        if columns[number]["kind"] == "conv":
            assert reads == list(range(shown_before))
        else:
            assert reads == [0]
    assert sources_of(columns, 0, 0) == []


def test_the_selected_map_gets_its_connections_and_every_map_a_click_target(network_and_view):
    net, view = network_and_view
    columns = overview_columns(view)
    conv_column = next(i for i, c in enumerate(columns) if c["kind"] == "conv")
    plain = network_overview(view)
    selected = network_overview(view, (conv_column, 0))
    lines = [trace for trace in selected.data if trace.type == "scatter" and trace.mode == "lines"]
    assert not [trace for trace in plain.data if trace.type == "scatter" and trace.mode == "lines"]
    assert len(lines) == 1 and list(lines[0].x).count(None) == len(columns[conv_column - 1]["maps"])
    targets = next(trace for trace in selected.data if trace.type == "scatter" and trace.mode == "markers")
    assert sorted(map(tuple, targets.customdata)) == sorted((n, c) for n, col in enumerate(columns) for c in range(len(col["maps"])))
    probabilities = [trace for trace in selected.data if trace.type == "heatmap"][-1]
    np.testing.assert_allclose(np.ravel(probabilities.z), view.probabilities)


def test_positions_cover_the_output_in_reading_order_within_the_frame_budget():
    assert positions(3, 4) == [(r, c) for r in range(3) for c in range(4)]
    visits = positions(24, 24, max_frames=300)
    assert len(visits) <= 300 and visits[0] == (0, 0) and visits == sorted(visits)
    assert {r for r, _ in visits} == set(range(0, 24, 2))


@pytest.mark.parametrize("name", CNNS[:2])
def test_each_frame_shows_the_window_and_value_the_layer_computed(name):
    net, _ = load_pretrained(name)
    x = net.prepare(digit()[None])
    view = dissect(net, x)
    first = conv_indices(net)[0]
    layer = net.layers[first]
    output = next(item for item in view.layers if item.index == first).output[:, :, 0]
    figure = go.Figure(kernel_animation(view.input[:, :, 0], layer.W.value[:, :, 0, 0], float(layer.b.value[0]), output,
                                        stride=layer.stride, padding=layer.padding).to_dict())  # plotly checks the frames  # fmt: skip
    visits = positions(*output.shape)
    assert len(figure.frames) == len(visits)
    for frame, (row, col) in list(zip(figure.frames, visits))[:: max(1, len(visits) // 7)]:
        step = convolution_at(net, first, x, row, col, 0)
        np.testing.assert_allclose(values(frame.data[0].z), step.window[:, :, 0], atol=1e-6)
        np.testing.assert_allclose(window_at(view.input[:, :, 0], row, col, layer.kernel, layer.stride, layer.padding),
                                   step.window[:, :, 0], atol=1e-6)  # fmt: skip
        assert f"{step.output:.2f}" in frame.layout.xaxis2.title.text
    assert [button.label for button in figure.layout.updatemenus[0].buttons]


def test_the_unchecked_frames_are_what_plotly_would_have_made_of_them():
    """The animation's frames skip plotly's checks (explorer.figures.conv_animation.AnimatedFigure):
    checked, the figure sends the same JSON."""
    rng = np.random.default_rng(0)
    image, kernel, output = rng.random((28, 28), np.float32), rng.random((3, 3), np.float32), rng.random((28, 28), np.float32)
    spec = kernel_animation(image, kernel, 0.1, output, padding=1).to_dict()
    assert len(spec["frames"]) == len(positions(28, 28))
    checked = go.Figure(spec)
    assert len(checked.frames) == len(spec["frames"])
    assert orjson.loads(pio.to_json(checked, validate=False)) == orjson.loads(pio.to_json(spec, validate=False))
