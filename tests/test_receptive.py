"""Tests for explorer.lab.receptive: hand-worked stacks, a brute-force check, costs."""

import numpy as np
import pytest

from explorer.lab.receptive import (
    FORMULAS,
    LayerSpec,
    compare_single_vs_stack,
    conv,
    conv_macs,
    conv_macs_latex,
    conv_params,
    conv_params_latex,
    dependency_mask,
    input_window,
    output_size,
    pool,
    presets,
    receptive_field_closed_form,
    receptive_fields,
)


def last(layers, input_size=28):
    return receptive_fields(layers, input_size)[-1]


# --- hand-worked stacks --------------------------------------------------------


def test_two_3x3_see_5x5():
    row = last([conv("a", 3), conv("b", 3)])
    assert (row.receptive_field, row.jump, row.output_size) == (5, 1, 24)
    assert row.start == 2.0  # centre of input pixels 0..4


def test_conv_pool_conv():
    rows = receptive_fields([conv("a", 3), pool("p", 2), conv("b", 3)])
    assert [r.output_size for r in rows] == [26, 13, 11]
    assert [r.receptive_field for r in rows] == [3, 4, 8]
    assert [r.jump for r in rows] == [1, 2, 2]
    assert [r.start for r in rows] == [1.0, 1.5, 3.5]  # first unit sees pixels 0..7


def test_stride_2_conv():
    rows = receptive_fields([conv("a", 3, stride=2), conv("b", 3)])
    assert rows[0].output_size == 13  # floor((28 - 3) / 2) + 1
    assert [r.receptive_field for r in rows] == [3, 7]
    assert [r.jump for r in rows] == [2, 2]


def test_dilated_3x3_sees_5x5():
    row = last([conv("a", 3, dilation=2)])
    assert (row.receptive_field, row.output_size) == (5, 24)


def test_padding_moves_the_start_left():
    rows = receptive_fields([conv("a", 3, padding=1), conv("b", 3, padding=1)])
    assert [r.start for r in rows] == [0.0, 0.0]
    assert [r.first for r in rows] == [-1, -2]


def test_output_size_formula():
    assert output_size(28, conv("a", 5, padding=2)) == 28
    assert output_size(28, pool("p", 3, stride=2)) == 13
    assert output_size(7, conv("a", 3, stride=2, padding=1)) == 4
    assert output_size(28, conv("a", 3, dilation=3)) == 22


def test_layer_that_leaves_no_output():
    with pytest.raises(ValueError):
        receptive_fields([conv("a", 5), conv("b", 5)], input_size=8)


def test_invalid_layers():
    with pytest.raises(ValueError):
        LayerSpec("x", 3, kind="dense")
    with pytest.raises(ValueError):
        LayerSpec("x", 0)


# --- presets -------------------------------------------------------------------


def test_deepconvnet_output_sizes():
    sizes = [r.output_size for r in receptive_fields(presets()["deepconvnet"])]
    assert sizes == [28, 28, 14, 14, 16, 8, 8, 8, 4]


@pytest.mark.parametrize(
    "name, sizes, field",
    [
        ("zhou-cnn", [26, 13], 4),
        ("lenet", [28, 14, 10, 5], 16),
        ("tf-cnn", [28, 13, 13, 6], 13),
        ("rf-5x5", [24], 5),
        ("rf-3x3", [26, 24], 5),
    ],
)
def test_preset_sizes_and_fields(name, sizes, field):
    rows = receptive_fields(presets()[name])
    assert [r.output_size for r in rows] == sizes
    assert rows[-1].receptive_field == field == receptive_field_closed_form(presets()[name])


def test_presets_are_fresh_copies():
    presets()["lenet"].clear()
    assert presets()["lenet"]


# --- closed form against the recurrence ------------------------------------------


def random_stack(rng):
    layers = []
    for i in range(rng.integers(1, 7)):
        if rng.random() < 0.3:
            layers.append(pool(f"p{i}", int(rng.integers(2, 4)), stride=int(rng.integers(1, 4))))
        else:
            layers.append(
                conv(
                    f"c{i}",
                    int(rng.integers(1, 8)),
                    stride=int(rng.integers(1, 3)),
                    padding=int(rng.integers(0, 3)),
                    dilation=int(rng.integers(1, 4)),
                )
            )
    return layers


def test_closed_form_equals_recurrence_on_random_stacks():
    rng = np.random.default_rng(0)
    for _ in range(300):
        layers = random_stack(rng)
        rows = receptive_fields(layers, input_size=10_000)
        assert rows[-1].receptive_field == receptive_field_closed_form(layers)
        # the jump is the product of the strides
        assert rows[-1].jump == int(np.prod([layer.stride for layer in layers]))


# --- input windows, checked against an actual forward pass -------------------------


def forward_1d(signal, layers):
    """Each layer sums its (dilated) window of the zero-padded input: a positive
    linear network, so an output is non-zero exactly where its inputs are."""
    for layer in layers:
        padded = np.pad(signal, layer.padding)
        size = output_size(len(signal), layer)
        starts = np.arange(size) * layer.stride
        taps = np.arange(layer.kernel) * layer.dilation
        signal = padded[starts[:, None] + taps].sum(axis=1)
    return signal


def brute_force_dependencies(layers, out_index, input_size):
    """Which input pixels change output unit out_index, one pixel at a time."""
    return np.array([forward_1d(np.eye(input_size)[i], layers)[out_index] > 0 for i in range(input_size)])


def test_windows_match_a_real_forward_pass():
    rng = np.random.default_rng(1)
    checked = 0
    while checked < 60:
        layers = random_stack(rng)
        try:
            rows = receptive_fields(layers, 28)
        except ValueError:
            continue
        size = rows[-1].output_size
        out_row, out_col = int(rng.integers(0, size)), int(rng.integers(0, size))
        mask = dependency_mask(layers, out_row, out_col, 28)
        expected = np.outer(
            brute_force_dependencies(layers, out_row, 28), brute_force_dependencies(layers, out_col, 28)
        )
        assert np.array_equal(mask, expected), layers
        row0, row1, col0, col1 = input_window(layers, out_row, out_col, 28)
        rows_seen = np.flatnonzero(expected.any(axis=1))
        cols_seen = np.flatnonzero(expected.any(axis=0))
        if rows_seen.size:
            assert (row0, row1) == (rows_seen[0], rows_seen[-1] + 1)
            assert (col0, col1) == (cols_seen[0], cols_seen[-1] + 1)
        checked += 1


def test_window_in_the_middle_has_the_full_field():
    layers = [conv("a", 3), pool("p", 2), conv("b", 3)]
    row0, row1, col0, col1 = input_window(layers, 5, 3)
    assert row1 - row0 == col1 - col0 == 8
    assert (row0, col0) == (10, 6)  # first + index * jump


def test_corner_window_with_padding_is_clipped():
    layers = presets()["lenet"]  # conv 5x5 pad 2 first
    assert input_window(layers[:1], 0, 0) == (0, 3, 0, 3)  # 5x5 minus 2 rows/cols of padding
    assert input_window(layers[:1], 27, 27) == (25, 28, 25, 28)
    row0, row1, col0, col1 = input_window(layers, 0, 0)
    assert row0 == 0 and col0 == 0
    assert row1 < last(layers).receptive_field  # clipped: the field hangs over the edge


def test_trailing_pixels_dropped_by_a_stride_are_not_in_the_window():
    # input 5, pool 2 stride 2 drops pixel 4; the next layer's padding is zeros.
    layers = [pool("p", 2), conv("c", 3, padding=1)]
    assert input_window(layers, 1, 1, input_size=5) == (0, 4, 0, 4)


def test_output_index_out_of_range():
    with pytest.raises(ValueError):
        input_window([conv("a", 3)], 26, 0)


# --- cost ----------------------------------------------------------------------------


@pytest.mark.parametrize("k, c_in, c_out", [(3, 1, 16), (5, 16, 32), (1, 8, 8), (7, 3, 64)])
def test_conv_params_count_real_arrays(k, c_in, c_out):
    weights = np.zeros((k, k, c_in, c_out))
    biases = np.zeros(c_out)
    assert conv_params(k, c_in, c_out) == (weights.size, biases.size)


def test_conv_macs_counts_one_dot_product_per_output():
    k, c_in, c_out, out = 3, 2, 4, 5
    x = np.ones((out + k - 1, out + k - 1, c_in))
    w = np.ones((k, k, c_in, c_out))
    # Summing all products of a real valid convolution on ones counts every multiply.
    windows = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(0, 1))
    products = np.einsum("hwcij,ijco->hwo", windows, w)
    assert conv_macs(k, c_in, c_out, out, out) == products.sum()


def test_equal_channels_save_28_percent():
    for channels in (1, 16, 64):
        result = compare_single_vs_stack(2, channels, channels)
        assert result.single.weights == 25 * channels**2
        assert result.stack.weights == 18 * channels**2
        assert result.weight_saving == pytest.approx(0.28)


def test_one_to_sixteen_channels():
    result = compare_single_vs_stack(2, 1, 16)
    assert result.single.params == 416
    assert result.stack.params == 2480
    assert (result.single.biases, result.stack.biases) == (16, 32)
    assert result.param_saving < 0  # with one input channel the stack costs more
    assert "2{,}480" in result.stack.params_latex


def test_comparison_fields_and_nonlinearities():
    for n in (1, 2, 3, 4):
        result = compare_single_vs_stack(n, 8, 8)
        assert result.single.receptive_field == result.stack.receptive_field == 2 * n + 1
        assert (result.single.nonlinearities, result.stack.nonlinearities) == (1, n)
        assert result.single.output_size == result.stack.output_size == 28 - 2 * n


def test_comparison_macs_valid_and_same():
    valid = compare_single_vs_stack(2, 1, 16, padding="valid")
    assert valid.single.macs == 25 * 16 * 24 * 24
    assert valid.stack.macs == 9 * 16 * 26 * 26 + 9 * 16 * 16 * 24 * 24
    same = compare_single_vs_stack(2, 1, 16, padding="same")
    assert same.single.output_size == same.stack.output_size == 28
    assert same.single.macs == 25 * 16 * 28 * 28
    assert same.stack.macs == (9 * 16 + 9 * 16 * 16) * 28 * 28


def test_bad_comparisons():
    with pytest.raises(ValueError):
        compare_single_vs_stack(0, 1, 1)
    with pytest.raises(ValueError):
        compare_single_vs_stack(2, 1, 1, padding="full")
    with pytest.raises(ValueError):
        compare_single_vs_stack(14, 1, 1)  # a 29x29 valid conv does not fit 28x28


def test_latex_strings():
    assert conv_params_latex(5, 1, 16).endswith("= 416")
    assert conv_macs_latex(5, 1, 16, 24, 24).endswith("= 230{,}400")
    assert conv_macs(5, 1, 16, 24, 24) == 230_400
    assert all(isinstance(text, str) and text for text in FORMULAS.values())
