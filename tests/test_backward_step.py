"""One backward step with numbers (explorer.lab.backward_step): the numbers by hand equal the
network's own gradients, a finite difference agrees for single weights, and one SGD step lowers
the image's loss."""
from __future__ import annotations

import numpy as np
import pytest

from explorer.lab.backward_step import (
    BackwardStepError,
    backward_step,
    finite_difference,
    float64_copy,
    image_loss,
    input_gradient,
    sgd_numbers,
    take_sgd_step,
    weight_gradient,
)
from explorer.nn.conv import convolution_input_gradient, convolution_weight_gradient
from explorer.nn.models import build_model

CNNS = ["zhou-cnn", "lenet", "deepconvnet", "tf-cnn-bn"]


def an_image(seed: int = 0) -> np.ndarray:
    """A stroke-like uint8 digit (1, 28, 28), different for each seed."""
    rng = np.random.default_rng(seed)
    image = np.zeros((28, 28), np.uint8)
    top, left = rng.integers(4, 10, 2)
    image[top : top + 16, left + 6 : left + 9] = 255
    image[top : top + 3, left : left + 14] = rng.integers(120, 256)
    return image[None]


def network_and_input(name: str, seed: int = 0):
    net = float64_copy(build_model(name, seed=seed))
    return net, net.prepare(an_image(seed)), seed % 10


@pytest.mark.parametrize("name", CNNS)
def test_the_numbers_by_hand_are_the_networks_gradients(name):
    net, x, label = network_and_input(name)
    for kernel in (0, net.layers[0].filters - 1):
        step = backward_step(net, x, label, kernel)
        np.testing.assert_allclose(step.grad_weights, step.network_grad_weights, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(step.grad_bias, step.network_grad_bias, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(step.grad_input_all_kernels, step.network_grad_input, rtol=1e-10, atol=1e-14)
        assert step.largest_error() < 1e-10
        # the worked weight: its terms add up to the network's number
        assert step.terms[:, 4].sum() == pytest.approx(step.network_grad_weights[step.weight], rel=1e-10, abs=1e-14)
        np.testing.assert_allclose(step.terms[:, 2] * step.terms[:, 3], step.terms[:, 4])
        assert np.abs(step.grad_weights).max() > 0


@pytest.mark.parametrize("name", CNNS)
def test_a_finite_difference_agrees_with_the_gradient_in_float64(name):
    net, x, label = network_and_input(name, seed=3)
    k = net.layers[0].kernel
    for kernel, weight in ((1, None), (0, (0, k - 1)), (2, (k // 2, 0))):
        step = backward_step(net, x, label, kernel, weight)
        measured = finite_difference(net, x, label, kernel, step.weight)
        if abs(measured) < 1e-9:  # a weight whose pixels are all blank has no slope to compare
            continue
        assert step.worked_gradient == pytest.approx(measured, rel=1e-4)


def test_the_finite_difference_leaves_the_weights_as_they_were():
    net, x, label = network_and_input("lenet")
    before = net.layers[0].W.value.copy()
    finite_difference(net, x, label, 0, (2, 2))
    np.testing.assert_array_equal(net.layers[0].W.value, before)


@pytest.mark.parametrize("name", CNNS)
def test_a_small_sgd_step_lowers_the_loss_on_that_image(name):
    net, x, label = network_and_input(name, seed=5)
    step = backward_step(net, x, label, kernel=1)
    numbers = sgd_numbers(step, 0.01)
    take_sgd_step(net, step, 0.01)
    assert image_loss(net, x, label) < step.loss
    W = net.layers[0].W.value[:, :, 0, 1]
    assert W[step.weight] == pytest.approx(numbers["w_new"], rel=1e-12)
    assert net.layers[0].b.value[1] == pytest.approx(numbers["b_new"], rel=1e-12)
    np.testing.assert_allclose(W, step.weights - 0.01 * step.grad_weights, rtol=1e-12)


def test_only_the_chosen_kernel_moves():
    net, x, label = network_and_input("lenet")
    before = net.layers[0].W.value.copy()
    take_sgd_step(net, backward_step(net, x, label, kernel=2), 0.1)
    changed = np.flatnonzero(np.any(net.layers[0].W.value != before, axis=(0, 1, 2)))
    assert changed.tolist() == [2]


@pytest.mark.parametrize("stride, padding", [(1, 0), (1, 2), (2, 1), (3, 0)])
def test_the_hand_gradients_match_the_general_definitions_for_any_stride(stride, padding):
    """weight_gradient and input_gradient (one channel, one kernel) against explorer.nn.conv's
    readable im2col versions, strides above 1 included."""
    rng = np.random.default_rng(stride * 7 + padding)
    image, weights = rng.standard_normal((9, 8)), rng.standard_normal((3, 3))
    out_h, out_w = (9 + 2 * padding - 3) // stride + 1, (8 + 2 * padding - 3) // stride + 1
    grad_out = rng.standard_normal((out_h, out_w))
    expected_w = convolution_weight_gradient(image[None, :, :, None], grad_out[None, :, :, None], 3, stride, padding)
    np.testing.assert_allclose(weight_gradient(np.pad(image, padding), grad_out, 3, stride), expected_w[:, :, 0, 0], rtol=1e-12)
    expected_x = convolution_input_gradient(grad_out[None, :, :, None], weights[:, :, None, None], (1, 9, 8, 1), stride, padding)
    np.testing.assert_allclose(input_gradient(grad_out, weights, (9, 8), padding, stride), expected_x[0, :, :, 0], rtol=1e-12, atol=1e-14)
    # a kernel that is not flipped gives other numbers: the check can tell
    assert not np.allclose(input_gradient(grad_out, weights[::-1, ::-1], (9, 8), padding, stride), expected_x[0, :, :, 0])


def test_a_network_without_a_first_convolution_is_refused_with_a_message_key():
    with pytest.raises(BackwardStepError) as raised:
        float64_copy(build_model("keras-mlp"))
    assert raised.value.key == "backward.error.no_conv"


def test_the_figures_show_the_steps_arrays_and_frame_the_worked_weight():
    from explorer.figures.backward_step import gradient_maps_figure, kernel_gradient_figure, loss_steps_figure

    net, x, label = network_and_input("lenet")
    step = backward_step(net, x, label, kernel=1, weight=(3, 1))
    maps = gradient_maps_figure(step)
    for trace, expected in zip(maps.data, (step.image, step.grad_out, step.grad_input)):
        np.testing.assert_array_equal(np.asarray(trace.z), expected)
    kernel = kernel_gradient_figure(step)
    np.testing.assert_array_equal(np.asarray(kernel.data[1].z), step.grad_weights)
    frame = kernel.layout.shapes[0]
    assert (frame.x0 + 0.5, frame.y0 + 0.5) == (1, 3)  # column 1, row 3
    assert list(loss_steps_figure([0.5, 0.4]).data[0].y) == [0.5, 0.4]
