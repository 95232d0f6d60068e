"""explorer.lab.dissect: the hand-computed convolution agrees with the network's im2col forward pass,
saliency is a real gradient, colour ranges and stage grouping are right."""

import numpy as np
import pytest

from explorer.nn.conv import Conv2D, MaxPool2D, output_size
from explorer.lab.dissect import (
    colour_limits,
    conv_indices,
    convolution_at,
    dissect,
    filter_colour_limits,
    is_cnn,
    layer_colour_limits,
    saliency,
)
from explorer.nn.layers import ReLU
from explorer.nn.losses import SoftmaxCrossEntropy
from explorer.nn.models import build_model
from explorer.nn.network import Network

CNNS = ["zhou-cnn", "lenet", "deepconvnet", "tf-cnn", "tf-cnn-bn"]


def digit_like(seed: int = 0) -> np.ndarray:
    """A uint8 28x28 image with a bright blob and noise (not all zeros, so maps are non-trivial)."""
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 40, (28, 28))
    image[6:22, 12:16] = 255
    image[6:9, 8:20] = 220
    return image.astype(np.uint8)[None]


def positions(out_h: int, out_w: int):
    """Corners (where padding lies), the centre, and an off-centre point."""
    return {(0, 0), (0, out_w - 1), (out_h - 1, 0), (out_h - 1, out_w - 1), (out_h // 2, out_w // 2), (1, out_w // 3)}


def check_step(net, index, x, row, col, channel, expected):
    step = convolution_at(net, index, x, row, col, channel)
    assert step.products == pytest.approx(step.window * step.kernel)
    assert step.products.sum(axis=(0, 1)) == pytest.approx(step.channel_sums, abs=1e-9)
    assert step.channel_sums.sum() + step.bias == pytest.approx(step.output, abs=1e-9)
    assert step.relu == max(0.0, step.output)
    assert step.output == pytest.approx(float(expected), rel=1e-4, abs=1e-5)
    return step


@pytest.mark.parametrize("name", CNNS)
def test_step_through_matches_forward_pass(name):
    net = build_model(name, seed=3)
    x = net.prepare(digit_like())
    outputs = net.trace(x)
    checked = 0
    for index in conv_indices(net):
        out_h, out_w, filters = outputs[index].shape[1:]
        for row, col in positions(out_h, out_w):
            for channel in {0, filters // 2, filters - 1}:
                check_step(net, index, x, row, col, channel, outputs[index][0, row, col, channel])
                checked += 1
    assert checked >= 18


def test_padded_border_window_holds_zeros_and_is_marked():
    net = build_model("lenet", seed=1)  # conv1: 5x5, padding 2
    x = net.prepare(np.full((1, 28, 28), 200, np.uint8))  # no zero pixels inside the image
    step = convolution_at(net, 0, x, 0, 0, 2)
    assert step.padding == 2 and step.origin == (-2, -2)
    expected_pad = np.zeros((5, 5), bool)
    expected_pad[:2, :] = expected_pad[:, :2] = True
    assert (step.padded == expected_pad).all()
    assert (step.window[step.padded] == 0).all()
    assert (step.window[~step.padded] > 0).all()
    assert step.output == pytest.approx(float(net.trace(x)[0][0, 0, 0, 2]), rel=1e-4, abs=1e-5)


def test_stride_two_conv_built_directly():
    net = Network([Conv2D(4, 3, stride=2, padding=1), ReLU(), MaxPool2D(2)], SoftmaxCrossEntropy(), (9, 9, 3)).build("he", seed=7)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(1, 9, 9, 3)).astype(np.float32)
    conv_out = net.trace(x)[0]
    assert conv_out.shape == (1, output_size(9, 3, 2, 1), output_size(9, 3, 2, 1), 4) == (1, 5, 5, 4)
    for row in range(5):
        for col in range(5):
            for channel in range(4):
                step = check_step(net, 0, x, row, col, channel, conv_out[0, row, col, channel])
                assert step.origin == (2 * row - 1, 2 * col - 1)
                assert step.stride == 2 and step.output_size == (5, 5)
    # The window really is the stride-2 slice of the padded input.
    padded = np.pad(x[0], ((1, 1), (1, 1), (0, 0)))
    step = convolution_at(net, 0, x, 3, 2, 1)
    assert step.window == pytest.approx(padded[6:9, 4:7, :])


def test_bad_requests_raise():
    net = build_model("lenet")
    x = net.prepare(digit_like())
    with pytest.raises(ValueError):
        convolution_at(net, 1, x, 0, 0, 0)  # relu1 is not a convolution
    with pytest.raises(ValueError):
        convolution_at(net, 0, x, 28, 0, 0)
    with pytest.raises(ValueError):
        convolution_at(net, 0, x, 0, 0, 6)


def test_saliency_is_the_gradient_of_the_class_score():
    net = build_model("lenet", seed=2, dtype=np.float64)
    x = net.prepare(digit_like(1))
    grad, target = saliency(net, x)
    assert grad.shape == (28, 28)
    assert np.abs(grad).max() > 0
    assert target == int(net.forward(x)[0].argmax())
    # Finite differences on the pixels that matter most.
    for flat in np.argsort(np.abs(grad).ravel())[-3:]:
        r, c = divmod(int(flat), 28)
        eps = 1e-5
        up, down = x.copy(), x.copy()
        up[0, r, c, 0] += eps
        down[0, r, c, 0] -= eps
        numeric = (net.forward(up)[0, target] - net.forward(down)[0, target]) / (2 * eps)
        assert grad[r, c] == pytest.approx(numeric, rel=1e-3, abs=1e-6)


def test_saliency_for_a_chosen_class():
    net = build_model("zhou-cnn", seed=0)
    x = net.prepare(digit_like())
    grad3, target3 = saliency(net, x, target=3)
    grad5, _ = saliency(net, x, target=5)
    assert target3 == 3
    assert not np.allclose(grad3, grad5)


def test_dissect_describes_every_layer_and_groups_stages():
    net = build_model("lenet")
    x = net.prepare(digit_like())
    view = dissect(net, x)
    assert [layer.name for layer in view.layers] == net.names
    assert [layer.shape for layer in view.layers] == [tuple(s) for s in net.shapes]
    assert [layer.params for layer in view.layers] == [count for _, count in net.parameter_counts()]
    assert all(layer.summary for layer in view.layers)
    assert [stage.title for stage in view.stages] == [
        "conv1 → relu1 → maxpool1", "conv2 → relu2 → maxpool2", "flatten1", "dense1 → relu3", "dense2 → relu4", "dense3"]
    assert view.probabilities.sum() == pytest.approx(1.0)
    assert view.probabilities == pytest.approx(net.predict_proba(digit_like())[0], rel=1e-5)
    assert view.predicted == int(net.predict(digit_like())[0])
    with pytest.raises(ValueError):
        dissect(net, np.concatenate([x, x]))


def test_batchnorm_joins_its_conv_stage():
    view = dissect(build_model("tf-cnn-bn"), build_model("tf-cnn-bn").prepare(digit_like()))
    assert view.stages[0].title == "conv1 → batchnorm1 → relu1 → maxpool1"
    assert view.stages[0].find("pool").name == "maxpool1"


def test_is_cnn():
    assert is_cnn(build_model("lenet")) and not is_cnn(build_model("nielsen"))


def test_colour_limits_modes():
    a = np.zeros((2, 2, 3))
    a[..., 0] = [[1, -4], [2, 0]]
    a[..., 1] = [[0.5, 0], [0, 0]]  # channel 2 stays all zero
    b = np.full((1, 1, 2), -10.0)
    per_map = colour_limits([a, b], "map")
    assert per_map[0] == pytest.approx([4, 0.5, 1.0])  # an all-zero map gets 1, never an empty range
    assert per_map[1] == pytest.approx([10, 10])
    per_layer = colour_limits([a, b], "layer")
    assert per_layer[0] == pytest.approx([4, 4, 4]) and per_layer[1] == pytest.approx([10, 10])
    glob = colour_limits([a, b], "global")
    assert glob[0] == pytest.approx([10, 10, 10]) and glob[1] == pytest.approx([10, 10])
    with pytest.raises(ValueError):
        colour_limits([a], "rainbow")


def test_layer_and_filter_limits_cover_every_map_and_conv():
    net = build_model("deepconvnet", seed=4)
    view = dissect(net, net.prepare(digit_like()))
    for mode in ("map", "layer", "global"):
        limits = layer_colour_limits(view, mode)
        assert set(limits) == {layer.index for layer in view.maps}
        for layer in view.maps:
            assert limits[layer.index].shape == (layer.shape[-1],)
            assert (np.abs(layer.output).max(axis=(0, 1)) <= limits[layer.index] + 1e-9).all()
        filters = filter_colour_limits(net, mode)
        assert set(filters) == set(conv_indices(net))
        for index, lim in filters.items():
            assert (np.abs(net.layers[index].W.value).max(axis=(0, 1, 2)) <= lim + 1e-9).all()
    glob = layer_colour_limits(view, "global")
    assert len({float(v[0]) for v in glob.values()}) == 1
