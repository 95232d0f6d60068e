"""The readable definitions (what the "The code" expanders show) and the fast layers the network
runs give the same numbers: on the gradient-check cases, and on the pages' own inputs (a test
digit through every shipped CNN)."""
from __future__ import annotations

import numpy as np
import pytest

from explorer.nn import fast_conv
from explorer.nn.conv import (
    Conv2D,
    MaxPool2D,
    convolution_bias_gradient,
    convolution_input_gradient,
    convolution_weight_gradient,
    convolve,
    max_pool,
    max_pool_backward,
)
from explorer.nn.layers import ReLU, Sigmoid, relu, relu_backward, sigmoid, sigmoid_backward, shared_zeros
from explorer.nn.layers import Parameter
from explorer.nn.optimizers import OPTIMIZERS
from explorer.nn.pretrained import available, load_pretrained

CONV_CASES = [  # (filters, kernel, stride, padding, (H, W, C)): the gradient-check layers
    (3, 3, 1, 0, (6, 5, 2)),
    (2, 3, 1, 1, (5, 7, 3)),
    (4, 3, 2, 1, (7, 6, 1)),
    (2, 3, 2, 0, (8, 9, 2)),
    (3, 5, 1, 2, (6, 7, 2)),
    (2, 5, 3, 1, (10, 8, 2)),
    (5, 1, 1, 0, (4, 3, 3)),
    (2, 3, 1, 3, (4, 5, 1)),
    (4, 3, 1, 1, (6, 6, 12)),  # more than FEW_CHANNELS: dL/dx as a full convolution
]


def conv_layer(filters, kernel, stride, padding, shape, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    layer = Conv2D(filters, kernel, stride=stride, padding=padding)
    layer.build(shape, rng, "he", dtype)
    layer.b.value[...] = rng.standard_normal(filters)
    return layer


def assert_conv_layer_matches(layer, x, dout, rtol, atol):
    """Forward and all three gradients of the fast layer against the readable functions."""
    W, b, k, s, p = layer.W.value, layer.b.value, layer.kernel, layer.stride, layer.padding
    np.testing.assert_allclose(layer.forward(x, train=True), convolve(x, W, b, s, p), rtol=rtol, atol=atol)
    dx = layer.backward(dout)
    np.testing.assert_allclose(layer.W.grad, convolution_weight_gradient(x, dout, k, s, p), rtol=rtol, atol=atol)
    np.testing.assert_allclose(layer.b.grad, convolution_bias_gradient(dout), rtol=rtol, atol=atol)
    np.testing.assert_allclose(dx, convolution_input_gradient(dout, W, x.shape, s, p), rtol=rtol, atol=atol)


@pytest.mark.parametrize("filters, kernel, stride, padding, shape", CONV_CASES)
def test_convolution_readable_and_fast_agree(filters, kernel, stride, padding, shape, input_gradient_method):
    rng = np.random.default_rng(kernel + stride)
    layer = conv_layer(filters, kernel, stride, padding, shape)
    x = rng.standard_normal((3,) + shape)
    out_shape = layer.forward(x).shape
    assert_conv_layer_matches(layer, x, rng.standard_normal(out_shape), rtol=1e-12, atol=1e-12)


def test_the_readable_convolution_is_not_trivially_equal():
    """The check can fail: a changed weight changes the readable output."""
    layer = conv_layer(2, 3, 1, 1, (5, 5, 1))
    x = np.random.default_rng(1).standard_normal((1, 5, 5, 1))
    fast = layer.forward(x)
    W = layer.W.value.copy()
    W[1, 1, 0, 0] += 0.5
    assert not np.allclose(fast, convolve(x, W, layer.b.value, 1, 1))


@pytest.mark.parametrize("size, stride, shape", [(2, 2, (6, 8, 3)), (3, 2, (7, 7, 2)), (2, 1, (5, 4, 2)), (3, 3, (7, 8, 1))])
def test_max_pooling_and_its_routing_agree_with_ties(size, stride, shape):
    rng = np.random.default_rng(size * 10 + stride)
    x = np.maximum(rng.standard_normal((2,) + shape).round(1), 0)  # ReLU zeros: whole windows tie
    layer = MaxPool2D(size, stride)
    out = layer.forward(x)
    np.testing.assert_array_equal(out, max_pool(x, size, stride))
    dout = rng.standard_normal(out.shape)
    np.testing.assert_array_equal(layer.backward(dout), max_pool_backward(x, dout, size, stride))


@pytest.mark.parametrize("size", [2, 3])
def test_max_pool_routing_without_ties_takes_the_unique_maxima_route_and_agrees(size):
    """Distinct values: the whole-row route runs (returns True) and gives the readable routing.
    A tie, or a NaN, in one window: it writes nothing and says so, and the layer routes by order."""
    rng = np.random.default_rng(size)
    x = rng.permutation(2 * 6 * 6 * 3).reshape(2, 6, 6, 3).astype(np.float32)  # no two equal
    layer = MaxPool2D(size)
    out = layer.forward(x)
    dout = rng.standard_normal(out.shape).astype(np.float32)
    dx = np.full_like(x, 7.0)
    assert fast_conv.route_unique_maxima(dout, x, out, dx, size)
    np.testing.assert_array_equal(dx, max_pool_backward(x, dout, size, size))
    for spoil in (lambda x: x.__setitem__((1, 0, 1, 2), x[1, 0, 0, 2]), lambda x: x.__setitem__((0, 2, 3, 1), np.nan)):
        spoiled = x.copy()
        spoil(spoiled)
        spoiled[0, 0, 0, 0] = spoiled[0, 0, 1, 0] = x.max() + 1  # and a tie elsewhere
        out = layer.forward(spoiled)
        dx = np.full_like(x, 7.0)
        assert not fast_conv.route_unique_maxima(dout, spoiled, out, dx, size)
        assert (dx == 7.0).all()
        np.testing.assert_array_equal(layer.backward(dout), max_pool_backward(spoiled, dout, size, size))


def test_activations_agree():
    x = np.random.default_rng(2).standard_normal((3, 5, 5, 4)) * 4
    dout = np.cos(x)
    for layer, forward, backward in ((ReLU(), relu, relu_backward), (Sigmoid(), sigmoid, sigmoid_backward)):
        out = layer.forward(x)
        np.testing.assert_allclose(out, forward(x), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(layer.backward(dout), backward(dout, forward(x)), rtol=1e-12, atol=1e-15)


def test_the_relu_layer_gives_relus_bits_for_every_kind_of_number():
    """The layer compares with a shared, read-only buffer of zeros instead of the scalar 0 (NumPy's
    faster loop): the same bits for signed zeros, NaNs, infinities and denormals, for a batch big
    enough to be split over both cores and for smaller ones after it (the buffer has grown)."""
    specials = np.array([-0.0, 0.0, np.nan, -np.nan, np.inf, -np.inf, 1e-45, -1e-45, -3.5, 2.25], np.float32)
    for batch in (300, 1, 7):
        x = np.resize(specials, (batch, 12, 12, 8))
        out = ReLU().forward(x)
        assert out.dtype == np.float32 and out.shape == x.shape
        assert np.array_equal(out.view(np.uint32), relu(x).view(np.uint32))
    zeros = shared_zeros(x)
    assert zeros.shape == x.shape and not zeros.any() and not zeros.flags.writeable


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_each_optimizers_update_is_its_rule(name):
    """Five steps in place (update) and five by the formula (rule) end on the same weights."""
    rng = np.random.default_rng(3)
    start = rng.standard_normal((4, 5))
    param = Parameter(start.copy())
    optimizer = OPTIMIZERS[name]([param], lr=0.05)
    w, state = start.copy(), {key: value.copy() for key, value in optimizer.state[0].items()}
    for _ in range(5):
        param.grad = np.sin(param.value * 3) + rng.standard_normal(start.shape) * 0.1
        g = param.grad.copy()
        optimizer.step()  # t counts from 1, as the rule's bias correction needs
        w, state = optimizer.rule(w, g, state)
        np.testing.assert_allclose(param.value, w, rtol=1e-12, atol=1e-14)
    assert not np.allclose(w, start)


# --- the pages' own inputs: a test digit through each shipped CNN ---------------------------------


def page_digit() -> np.ndarray:
    try:
        from explorer.data.mnist import load_mnist

        return np.asarray(load_mnist(download=False).test_images[0])
    except Exception:  # no MNIST here: a drawn-looking digit
        digit = np.zeros((28, 28), np.uint8)
        digit[6:22, 13:16] = 255
        digit[6:9, 8:20] = 200
        return digit


SHIPPED_CNNS = [name for name in ("zhou-cnn", "lenet", "deepconvnet", "tf-cnn-bn") if name in available()]


@pytest.mark.parametrize("name", SHIPPED_CNNS)
def test_every_layer_of_a_shipped_cnn_agrees_on_a_page_digit(name):
    net, _card = load_pretrained(name)
    x = net.prepare(page_digit()[None])
    inputs = [x] + net.trace(x)[:-1]
    checked = 0
    for layer, layer_input in zip(net.layers, inputs):
        if isinstance(layer, Conv2D):
            dout = np.cos(layer.forward(layer_input)).astype(layer_input.dtype)
            assert_conv_layer_matches(layer, layer_input, dout, rtol=1e-4, atol=1e-5)
            checked += 1
        elif isinstance(layer, MaxPool2D):
            out = layer.forward(layer_input)
            np.testing.assert_array_equal(out, max_pool(layer_input, layer.size, layer.stride))
            dout = np.cos(out)
            np.testing.assert_array_equal(layer.backward(dout), max_pool_backward(layer_input, dout, layer.size, layer.stride))
    assert checked >= 1
