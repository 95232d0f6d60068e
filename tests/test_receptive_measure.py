"""The analytic receptive fields (explorer.lab.receptive) against the gradients of BUILT networks
(explorer.lab.receptive_measure), and the cost formulas against the arrays of built layers."""

import numpy as np
import pytest

from explorer.nn.conv import AvgPool2D, Conv2D, MaxPool2D
from explorer.nn.layers import ReLU
from explorer.nn.losses import SoftmaxCrossEntropy
from explorer.nn.models import build_model
from explorer.nn.network import Network
from explorer.lab.receptive import (
    compare_single_vs_stack,
    conv,
    conv_macs,
    conv_params,
    dependency_mask,
    input_window,
    pool,
    presets,
    receptive_fields,
)
from explorer.lab import receptive_measure as rm


def _custom(layers):
    return Network(layers, SoftmaxCrossEntropy(), (28, 28, 1)).build("he", seed=3)


def _check_layer(net, layer_index, positions, samples=6):
    """At every given output position: measured union of non-zero gradients == dependency_mask,
    and its bounding box == input_window."""
    specs = rm.layer_specs(net, layer_index)
    inputs = rm.random_inputs(net, samples, seed=1)
    for row, col in positions:
        _, measured = rm.gradient_footprint(net, layer_index, row, col, inputs)
        expected = dependency_mask(specs, row, col)
        assert np.array_equal(measured, expected), (net.names[layer_index], row, col)
        rows, cols = np.flatnonzero(measured.any(axis=1)), np.flatnonzero(measured.any(axis=0))
        assert (rows[0], rows[-1] + 1, cols[0], cols[-1] + 1) == input_window(specs, row, col)


def _positions(size):
    """Corners (the padding cuts fields there), an edge, and the centre."""
    last = size - 1
    return sorted({(0, 0), (last, last), (0, last // 2), (size // 2, size // 2), (last, 0)})


# --- measured footprints of the built registry networks ------------------------------


@pytest.mark.parametrize("name", ["rf-5x5", "rf-3x3", "lenet", "deepconvnet"])
def test_gradient_footprint_equals_analytic_field_at_every_conv_layer(name):
    net = build_model(name, seed=0)
    convs = rm.conv_layers(net)
    assert convs, name
    for layer_index, _ in convs:
        _check_layer(net, layer_index, _positions(net.shapes[layer_index][0]))


def test_twins_see_the_same_5x5_window():
    single, stack = rm.compare_footprints(2, 7, 11)
    for fp in (single, stack):
        assert fp.agrees
        assert fp.window == (7, 12, 11, 16)
        assert fp.measured.sum() == 25
    assert len(stack.intermediate) == 9 and not single.intermediate
    # The nine units of the layer in between each see a 3x3 patch; together the 5x5 window.
    union = np.zeros((28, 28), bool)
    for r0, r1, c0, c1 in stack.intermediate:
        assert (r1 - r0, c1 - c0) == (3, 3)
        union[r0:r1, c0:c1] = True
    assert np.array_equal(union, stack.analytic)


@pytest.mark.parametrize("n", [1, 3])
def test_generalised_designs_agree(n):
    single, stack = rm.compare_footprints(n, 3, 4)
    side = 2 * n + 1
    for fp in (single, stack):
        assert fp.agrees and fp.measured.sum() == side * side


def test_stride_2_stack():
    net = _custom([Conv2D(6, 3, stride=2), ReLU(), Conv2D(6, 3, padding=1)])
    assert [(s.kernel, s.stride, s.padding) for s in rm.layer_specs(net)] == [(3, 2, 0), (3, 1, 1)]
    _check_layer(net, 2, _positions(net.shapes[2][0]))
    assert receptive_fields(rm.layer_specs(net))[-1].receptive_field == 7


@pytest.mark.parametrize("pool_layer", [MaxPool2D(2), AvgPool2D(2), MaxPool2D(3, 2)], ids=["max2", "avg2", "max3s2"])
def test_pooled_stack(pool_layer):
    net = _custom([Conv2D(8, 3), ReLU(), pool_layer, Conv2D(8, 3)])
    # Max pooling routes the gradient to one winner per window, so a union over several
    # inputs is needed (overlapping 3x3 windows need the most).
    _check_layer(net, 3, _positions(net.shapes[3][0]), samples=16)


def test_pool_output_itself():
    """At a pool layer the union over inputs recovers every pixel of every window."""
    net = _custom([Conv2D(8, 3), ReLU(), MaxPool2D(2)])
    _check_layer(net, 2, [(0, 0), (6, 9), (12, 12)], samples=10)


def test_digit_gradient_can_miss_pixels_but_never_adds_any():
    single, stack = rm.compare_footprints(2, 10, 10, digit=rm.synthetic_digit())
    for fp in (single, stack):
        touched = fp.digit_gradient != 0
        assert not (touched & ~fp.analytic).any()
    assert single.digit_pixels == 25  # one conv, measured before its ReLU: nothing can die


# --- network -> LayerSpec ---------------------------------------------------------------


def _numbers(specs):
    return [(s.kind, s.kernel, s.stride, s.padding, s.dilation) for s in specs]


@pytest.mark.parametrize("name", ["lenet", "deepconvnet", "tf-cnn", "zhou-cnn"])
def test_specs_derived_from_built_network_match_the_presets(name):
    assert _numbers(rm.model_stack(name)) == _numbers(presets()[name])


def test_twin_specs_and_conv_output_sizes_match_the_network_shapes():
    for name in ("rf-5x5", "rf-3x3", "lenet", "deepconvnet", "tf-cnn"):
        net = build_model(name)
        for index, _ in rm.spatial_layers(net):
            rows = receptive_fields(rm.layer_specs(net, index))
            assert rows[-1].output_size == net.shapes[index][0], (name, index)
    assert _numbers(rm.model_stack("rf-3x3")) == [("conv", 3, 1, 0, 1), ("conv", 3, 1, 0, 1), ("pool", 2, 2, 0, 1)]


def test_layer_specs_rejects_dense_layers():
    net = build_model("lenet")
    dense = next(i for i, layer in enumerate(net.layers) if type(layer).__name__ == "Dense")
    with pytest.raises(ValueError):
        rm.layer_specs(net, dense)
    assert "keras-mlp" not in rm.preset_names() and "lenet" in rm.preset_names()


# --- cost formulas against the arrays of built layers -------------------------------------


@pytest.mark.parametrize("c_in, c_out", [(1, 16), (16, 16), (3, 8)])
def test_parameter_formulas_count_the_real_arrays(c_in, c_out):
    for k in (3, 5, 7):
        layer = Conv2D(c_out, k)
        layer.build((28, 28, c_in), np.random.default_rng(0), "he", np.float32)
        assert conv_params(k, c_in, c_out) == (layer.W.value.size, layer.b.value.size)


def test_twin_parameter_counts_match_the_comparison():
    cmp = compare_single_vs_stack(2, 1, 16)
    for net, cost in ((build_model("rf-5x5"), cmp.single), (build_model("rf-3x3"), cmp.stack)):
        convs = [layer for layer in net.layers if isinstance(layer, Conv2D)]
        assert sum(c.W.value.size for c in convs) == cost.weights
        assert sum(c.b.value.size for c in convs) == cost.biases
    assert (cmp.single.params, cmp.stack.params) == (416, 2480)


def test_macs_count_the_real_multiplications():
    """One multiply-add per (output value, kernel entry): the im2col matrix product's size."""
    for k, c_in, c_out in ((5, 1, 16), (3, 16, 16)):
        layer = Conv2D(c_out, k)
        layer.build((28, 28, c_in), np.random.default_rng(0), "he", np.float32)
        out = layer.forward(np.zeros((1, 28, 28, c_in), np.float32))
        rows, inner = layer.im2col(np.zeros((1, 28, 28, c_in), np.float32)).shape
        assert rows * inner * c_out == conv_macs(k, c_in, c_out, out.shape[1], out.shape[2])


def test_cost_latex_shows_the_numbers():
    tex = rm.cost_latex(compare_single_vs_stack(2, 1, 16).stack)
    assert r"3^2 \cdot 1 \cdot 16" in tex["weights"] and r"3^2 \cdot 16 \cdot 16" in tex["weights"]
    assert tex["weights"].endswith(r"= 2{,}448\end{aligned}")
    assert tex["biases"].endswith("16 + 16 = 32")
    assert tex["params"].endswith("= 2{,}480")


def test_closed_form_latex_sums_to_the_recurrence():
    specs = rm.model_stack("deepconvnet")
    assert rm.closed_form_latex(specs).endswith(f"= {receptive_fields(specs)[-1].receptive_field}")


# --- calculator input ----------------------------------------------------------------------


def test_parse_stack_round_trip():
    specs = [conv("a", 3, 2, 1, 2), pool("p", 2)]
    parsed, problems = rm.parse_stack(rm.spec_rows(specs))
    assert problems == [] and parsed == specs


@pytest.mark.parametrize("row, words", [
    ({"kernel": 40}, "no output"),
    ({"stride": 0}, "stride must be at least 1"),
    ({"padding": -1}, "padding must be zero or more"),
    ({"kernel": -3}, "kernel must be at least 1"),
    ({"kernel": 2.5}, "whole number"),
    ({"kernel": "abc"}, "whole number"),
    ({"kind": "dense"}, "'conv' or 'pool'"),
    ({"dilation": 0}, "dilation must be at least 1"),
])
def test_parse_stack_explains_invalid_rows(row, words):
    base = {"name": "x", "kind": "conv", "kernel": 3, "stride": 1, "padding": 0, "dilation": 1}
    specs, problems = rm.parse_stack([base | row])
    assert specs == [] and problems and words in " ".join(problems)


def test_parse_stack_fills_empty_cells_and_skips_empty_rows():
    nan = float("nan")
    rows = [{"name": nan, "kind": nan, "kernel": 5.0, "stride": nan, "padding": nan, "dilation": nan},
            {key: None for key in rm.CALC_COLUMNS}]
    specs, problems = rm.parse_stack(rows)
    assert problems == [] and len(specs) == 1
    assert (specs[0].kind, specs[0].kernel, specs[0].stride, specs[0].padding) == ("conv", 5, 1, 0)
    assert rm.parse_stack([])[1] != []
    # a stack that shrinks the map to nothing is caught at the layer that breaks it
    _, problems = rm.parse_stack(rm.spec_rows([conv("a", 5), conv("b", 5)]), input_size=8)
    assert "b" in problems[0]


# --- effective receptive field -----------------------------------------------------------


def test_effective_field_is_concentrated_inside_the_theoretical_one():
    net = build_model("deepconvnet", seed=0)
    layer_index = rm.conv_layers(net)[3][0]  # conv4: a 14-pixel field well inside the image
    erf = rm.effective_field(net, layer_index, rm.random_inputs(net, 6))
    specs = rm.layer_specs(net, layer_index)
    mask = dependency_mask(specs, *erf.unit)
    assert erf.receptive_field == receptive_fields(specs)[-1].receptive_field
    assert erf.heat.max() == pytest.approx(1.0)
    assert not (erf.heat[~mask] > 0).any()  # no gradient outside the theoretical field
    assert erf.central_mass > erf.central_area  # more mass in the middle than an even spread
    assert erf.effective_std < erf.receptive_field / np.sqrt(12)  # narrower than a uniform square


@pytest.mark.parametrize("conv_number, clipped", [(3, False), (5, True)])
def test_effective_field_counts_only_the_part_of_the_field_inside_the_image(conv_number, clipped):
    """conv6 of DeepConvNet sees 32x32 pixels around the centre of a 28x28 image: a quarter of
    its field is padding, and the shares on the page are of the 28x28 part that is real."""
    net = build_model("deepconvnet", seed=0)
    layer_index = rm.conv_layers(net)[conv_number][0]
    erf = rm.effective_field(net, layer_index, rm.random_inputs(net, 4))
    r = erf.receptive_field
    reached = int((erf.heat > 0).sum())  # pixels that pass a gradient: exactly the field's inside part
    assert erf.inside_share == pytest.approx(reached / r**2)
    assert (erf.inside_share < 1) == clipped
    rows, cols = erf.inside_sides
    central = (erf.central_window[1] - erf.central_window[0]) * (erf.central_window[3] - erf.central_window[2])
    assert erf.central_area == pytest.approx(central / reached)
    evenly = np.ones((rows, cols))
    yy, xx = np.mgrid[0:rows, 0:cols]
    spread = np.sqrt((((yy - yy.mean()) ** 2 + (xx - xx.mean()) ** 2) * evenly).sum() / evenly.sum() / 2)
    assert erf.uniform_std == pytest.approx(spread)


def test_synthetic_digit_looks_like_a_digit():
    digit = rm.synthetic_digit()
    assert digit.shape == (28, 28) and digit.dtype == np.uint8
    assert digit.max() == 255 and 60 < (digit > 128).sum() < 300
    assert digit[:3].max() < 30 and digit[:, :3].max() < 30  # a dark border, as in MNIST


# --- head to head ---------------------------------------------------------------------------


@pytest.mark.mnist
def test_train_twins_same_batches(require):
    import os

    require(os.environ.get("MNIST_DIR"), "env MNIST_DIR is not set")
    from explorer.data.mnist import load_mnist

    data = load_mnist(download=False)
    results = rm.train_twins(data, train_size=256, epochs=1, batch_size=64, test_images=200)
    assert [r.model for r in results] == list(rm.TWINS)
    assert all(r.complete and r.steps == 4 and 0 <= r.test_accuracy <= 1 for r in results)
    assert [r.conv_parameters for r in results] == [416, 2480]
    assert [r.filters.shape for r in results] == [(16, 5, 5), (16, 3, 3)]
