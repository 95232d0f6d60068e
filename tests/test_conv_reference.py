"""Convolution and pooling against direct, obviously-correct loop implementations, output
shapes, and max-pool tie-breaking."""
from __future__ import annotations

import numpy as np
import pytest

from explorer.nn import conv as conv_module
from explorer.nn.conv import AvgPool2D, Conv2D, MaxPool2D, output_size


# --- reference implementations: plain loops over output positions and channels ------------


def n_positions(size, kernel, stride, padding):
    """How many window placements fit: count the start offsets one by one."""
    return len([start for start in range(0, size + 2 * padding) if start % stride == 0
                and start + kernel <= size + 2 * padding])


def reference_conv(x, W, b, stride, padding):
    """out[n, i, j, f] = b[f] + sum_{di, dj, c} xpad[n, i*s + di, j*s + dj, c] * W[di, dj, c, f]."""
    n, h, w, c = x.shape
    k, _, _, filters = W.shape
    xp = np.zeros((n, h + 2 * padding, w + 2 * padding, c), dtype=np.float64)
    xp[:, padding:padding + h, padding:padding + w, :] = x
    out_h, out_w = n_positions(h, k, stride, padding), n_positions(w, k, stride, padding)
    out = np.zeros((n, out_h, out_w, filters))
    for image in range(n):
        for i in range(out_h):
            for j in range(out_w):
                for f in range(filters):
                    total = float(b[f])
                    for di in range(k):
                        for dj in range(k):
                            for ch in range(c):
                                total += xp[image, i * stride + di, j * stride + dj, ch] * W[di, dj, ch, f]
                    out[image, i, j, f] = total
    return out


def reference_pool(x, size, stride, how):
    n, h, w, c = x.shape
    out_h, out_w = n_positions(h, size, stride, 0), n_positions(w, size, stride, 0)
    out = np.zeros((n, out_h, out_w, c))
    for image in range(n):
        for i in range(out_h):
            for j in range(out_w):
                for ch in range(c):
                    window = [x[image, i * stride + di, j * stride + dj, ch] for di in range(size) for dj in range(size)]
                    out[image, i, j, ch] = max(window) if how == "max" else sum(window) / len(window)
    return out


def reference_maxpool_backward(x, dout, size, stride):
    """Each window sends its gradient to exactly one input: the first maximum in row-major order."""
    n, h, w, c = x.shape
    dx = np.zeros(x.shape)
    for image in range(n):
        for i in range(dout.shape[1]):
            for j in range(dout.shape[2]):
                for ch in range(c):
                    best, best_at = None, None
                    for di in range(size):
                        for dj in range(size):
                            v = x[image, i * stride + di, j * stride + dj, ch]
                            if best is None or v > best:
                                best, best_at = v, (i * stride + di, j * stride + dj)
                    dx[image, best_at[0], best_at[1], ch] += dout[image, i, j, ch]
    return dx


def reference_avgpool_backward(x, dout, size, stride):
    dx = np.zeros(x.shape)
    for i in range(dout.shape[1]):
        for j in range(dout.shape[2]):
            dx[:, i * stride:i * stride + size, j * stride:j * stride + size, :] += dout[:, i:i + 1, j:j + 1, :] / size**2
    return dx


def built_conv(filters, kernel, stride, padding, input_shape, seed, dtype=np.float64):
    rng = np.random.default_rng(seed)
    layer = Conv2D(filters, kernel, stride=stride, padding=padding)
    layer.build(input_shape, rng, "he", dtype)
    layer.b.value[...] = rng.standard_normal(filters)  # non-zero biases
    return layer


# --- convolution ------------------------------------------------------------------------------

CONV_CASES = [  # (filters, kernel, stride, padding, (H, W, C))
    (3, 3, 1, 0, (6, 5, 2)),
    (2, 3, 1, 1, (5, 7, 3)),
    (4, 3, 2, 1, (7, 6, 1)),
    (2, 3, 2, 0, (8, 9, 2)),
    (3, 5, 1, 2, (6, 7, 2)),
    (2, 5, 2, 2, (9, 7, 1)),
    (2, 5, 3, 1, (10, 8, 2)),
    (5, 1, 1, 0, (4, 3, 3)),
    (2, 1, 2, 1, (5, 4, 2)),
    (3, 3, 1, "same", (5, 6, 2)),
    (2, 5, 1, "same", (7, 5, 1)),
    (2, 3, 2, "same", (7, 8, 2)),
    (2, 3, 1, "valid", (6, 4, 3)),
    (1, 4, 2, 1, (7, 7, 1)),
    (2, 3, 1, 2, (5, 4, 2)),  # padding = kernel - 1
    (2, 3, 1, 3, (4, 5, 1)),  # padding > kernel - 1
    (3, 1, 1, 2, (3, 3, 2)),
]


@pytest.mark.parametrize("filters, kernel, stride, padding, shape", CONV_CASES)
def test_conv_forward_matches_loops(filters, kernel, stride, padding, shape):
    layer = built_conv(filters, kernel, stride, padding, shape, seed=kernel * 7 + stride)
    x = np.random.default_rng(1).standard_normal((2,) + shape)
    p = {"same": (kernel - 1) // 2, "valid": 0}.get(padding, padding)
    expected = reference_conv(x, layer.W.value, layer.b.value, stride, p)
    out = layer.forward(x)
    assert out.shape == expected.shape
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


def test_conv_float32_matches_loops():
    layer = built_conv(4, 3, 2, 1, (9, 8, 3), seed=3, dtype=np.float32)
    x = np.random.default_rng(2).standard_normal((3, 9, 8, 3)).astype(np.float32)
    out = layer.forward(x)
    assert out.dtype == np.float32
    expected = reference_conv(x.astype(np.float64), layer.W.value.astype(np.float64),
                              layer.b.value.astype(np.float64), 2, 1)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


def test_conv_is_cross_correlation_with_documented_weight_layout():
    """W[di, dj, c_in, f] multiplies the input at (row + di, col + dj): no kernel flip."""
    layer = built_conv(1, 3, 1, 0, (3, 3, 1), seed=0)
    layer.W.value[...] = 0
    layer.b.value[...] = 0
    layer.W.value[0, 2, 0, 0] = 1.0  # top-right tap
    x = np.arange(9, dtype=np.float64).reshape(1, 3, 3, 1)
    assert layer.forward(x)[0, 0, 0, 0] == x[0, 0, 2, 0]


def test_conv_buffers_are_not_shared_between_calls():
    """Switching batch shapes and calling forward again must not corrupt earlier outputs."""
    layer = built_conv(3, 3, 1, 1, (6, 6, 2), seed=4)
    rng = np.random.default_rng(5)
    xs = [rng.standard_normal((n, 6, 6, 2)) for n in (2, 3, 2, 2)]
    outs = [layer.forward(x) for x in xs]
    for x, out in zip(xs, outs):
        np.testing.assert_allclose(out, reference_conv(x, layer.W.value, layer.b.value, 1, 1), rtol=1e-12, atol=1e-12)
    # The backward pass belongs to the latest forward pass.
    dout = rng.standard_normal(outs[-1].shape)
    layer.backward(dout)
    ref_layer = built_conv(3, 3, 1, 1, (6, 6, 2), seed=4)
    ref_layer.forward(xs[-1])
    ref_layer.backward(dout)
    np.testing.assert_allclose(layer.W.grad, ref_layer.W.grad, rtol=1e-12)


@pytest.mark.parametrize("channels", [3, 1])  # one channel: the tap-by-tap copy
@pytest.mark.parametrize("stride, padding", [(1, 1), (1, 0), (2, 1)])
def test_conv_chunks_of_the_batch_give_the_whole_batch_result(monkeypatch, stride, padding, channels, input_gradient_method):
    """Forward and backward work on chunks of images (to stay in cache), shared out over the
    worker threads: one image per chunk and the whole batch in one chunk must agree, and the
    forward must match the loops."""
    rng = np.random.default_rng(11)
    shape = (7, 6, channels)
    x = rng.standard_normal((5,) + shape)
    results = []
    for chunk_bytes in (1, 1 << 30):
        monkeypatch.setattr(conv_module, "CHUNK_BYTES", chunk_bytes)
        monkeypatch.setattr(conv_module, "ONE_CHANNEL_CHUNK_BYTES", chunk_bytes)
        layer = built_conv(4, 3, stride, padding, shape, seed=12)
        out = layer.forward(x)
        dx = layer.backward(np.cos(out))
        results.append((out, dx, layer.W.grad, layer.b.grad))
    np.testing.assert_allclose(results[0][0], reference_conv(x, layer.W.value, layer.b.value, stride, padding), rtol=1e-12, atol=1e-12)
    for one_image, whole_batch in zip(*results):
        np.testing.assert_allclose(one_image, whole_batch, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("kernel, padding", [(3, 0), (5, 2)])
def test_one_channel_products_in_small_blocks_give_the_whole_product(monkeypatch, kernel, padding):
    """A one-channel layer multiplies in blocks of rows (SMALL_PRODUCT): a block of a few rows
    and a single block must give the same output and gradients, and match the loops."""
    rng = np.random.default_rng(14)
    x = rng.standard_normal((3, 8, 7, 1))
    results = []
    for small_product in (kernel * kernel * 4 * 3, 1 << 40):  # three rows per block; one block
        monkeypatch.setattr(conv_module, "SMALL_PRODUCT", small_product)
        layer = built_conv(4, kernel, 1, padding, (8, 7, 1), seed=15)
        out = layer.forward(x)
        dx = layer.backward(np.cos(out))
        results.append((out, dx, layer.W.grad, layer.b.grad))
    assert len(conv_module.blocks_of_rows(len(layer.im2col(x)), kernel * kernel, 4)) == 1
    monkeypatch.setattr(conv_module, "SMALL_PRODUCT", kernel * kernel * 4 * 3)
    assert len(conv_module.blocks_of_rows(len(layer.im2col(x)), kernel * kernel, 4)) > 10
    expected = reference_conv(x, layer.W.value, layer.b.value, 1, padding)
    np.testing.assert_allclose(results[0][0], expected, rtol=1e-12, atol=1e-12)
    for blocked, whole in zip(*results):
        np.testing.assert_allclose(blocked, whole, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("channels", [1, 3])
def test_conv_of_a_strided_input_view_matches_its_copy(channels):
    """Windows are views over the input's memory: a non-contiguous input (every other column
    of a wider array) must give what its contiguous copy gives."""
    wide = np.random.default_rng(16).standard_normal((2, 7, 12, channels))
    x = wide[:, :, ::2]
    assert not x.flags.c_contiguous
    layer = built_conv(3, 3, 1, 0, (7, 6, channels), seed=17)
    np.testing.assert_array_equal(layer.forward(x), layer.forward(np.ascontiguousarray(x)))
    expected = reference_conv(x, layer.W.value, layer.b.value, 1, 0)
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("stride", [1, 2])
def test_conv_empty_batch(stride, input_gradient_method):
    """No images in, no images out, and zero gradients (not an error)."""
    layer = built_conv(3, 3, stride, 1, (7, 6, 2), seed=13)
    out = layer.forward(np.zeros((0, 7, 6, 2)))
    assert out.shape == (0, output_size(7, 3, stride, 1), output_size(6, 3, stride, 1), 3)
    assert layer.backward(out).shape == (0, 7, 6, 2)
    assert not layer.W.grad.any() and not layer.b.grad.any()


@pytest.mark.parametrize("stride, filters, channels", [(1, 2, 4), (1, 3, 2), (2, 2, 4)])
def test_conv_backward_twice_after_one_forward(stride, filters, channels, input_gradient_method):
    """Two backward passes after one forward pass (e.g. two units' input gradients): the
    second must still see the forward input, whatever buffers the first one reused (fewer
    filters than input channels: the input gradient's windows fit the forward's buffer)."""
    rng = np.random.default_rng(8)
    shape = (7, 6, channels)
    layer = built_conv(filters, 3, stride, 1, shape, seed=9)
    x = rng.standard_normal((2,) + shape)
    out = layer.forward(x)
    d1, d2 = rng.standard_normal(out.shape), rng.standard_normal(out.shape)
    dx1 = layer.backward(d1).copy()
    dx2 = layer.backward(d2)
    w_grad2 = layer.W.grad.copy()
    fresh = built_conv(filters, 3, stride, 1, shape, seed=9)
    fresh.forward(x)
    np.testing.assert_allclose(dx2, fresh.backward(d2), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(w_grad2, fresh.W.grad, rtol=1e-12)
    fresh.forward(x)
    np.testing.assert_allclose(dx1, fresh.backward(d1), rtol=1e-12, atol=1e-14)
    # And the weight gradient of the second pass is the direct sum over windows.
    p = 1
    xp = np.zeros((2, 7 + 2 * p, 6 + 2 * p, channels))
    xp[:, p:p + 7, p:p + 6] = x
    expected = np.zeros(layer.W.value.shape)
    for i in range(out.shape[1]):
        for j in range(out.shape[2]):
            window = xp[:, i * stride:i * stride + 3, j * stride:j * stride + 3, :]
            expected += np.einsum("nabc,nf->abcf", window, d2[:, i, j, :])
    np.testing.assert_allclose(w_grad2, expected, rtol=1e-12, atol=1e-13)


# --- pooling ----------------------------------------------------------------------------------

POOL_CASES = [  # (size, stride, (H, W, C))
    (2, 2, (6, 6, 2)),
    (2, 2, (5, 7, 3)),
    (2, 2, (7, 7, 1)),
    (3, 2, (7, 7, 2)),
    (3, 2, (6, 9, 2)),
    (3, 2, (13, 13, 1)),
    (3, 1, (5, 4, 2)),
    (3, 3, (8, 7, 1)),
    (2, 1, (3, 4, 2)),
]


@pytest.mark.parametrize("size, stride, shape", POOL_CASES)
def test_maxpool_matches_loops(size, stride, shape):
    rng = np.random.default_rng(size + stride)
    x = rng.standard_normal((2,) + shape)
    layer = MaxPool2D(size, stride)
    out = layer.forward(x)
    np.testing.assert_array_equal(out, reference_pool(x, size, stride, "max"))
    dout = rng.standard_normal(out.shape)
    np.testing.assert_allclose(layer.backward(dout), reference_maxpool_backward(x, dout, size, stride), rtol=1e-14, atol=0)


@pytest.mark.parametrize("size, stride, shape", POOL_CASES)
def test_avgpool_matches_loops(size, stride, shape):
    rng = np.random.default_rng(size * stride)
    x = rng.standard_normal((2,) + shape)
    layer = AvgPool2D(size, stride)
    out = layer.forward(x)
    np.testing.assert_allclose(out, reference_pool(x, size, stride, "avg"), rtol=1e-13, atol=1e-15)
    dout = rng.standard_normal(out.shape)
    np.testing.assert_allclose(layer.backward(dout), reference_avgpool_backward(x, dout, size, stride), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("size, stride, shape", POOL_CASES)
def test_maxpool_ties_send_gradient_to_first_maximum_only(size, stride, shape):
    """All-zero windows (as after a ReLU) and windows with repeated maxima: exactly one input
    per window receives its gradient, the first maximum, so dx sums to dout's sum."""
    rng = np.random.default_rng(7)
    layer = MaxPool2D(size, stride)
    # Mostly ties: zeros (dead ReLU units) and a few repeated small integers.
    x = np.maximum(np.round(rng.standard_normal((3,) + shape)), 0.0)
    x[0] = 0.0  # the whole first image is zero
    out = layer.forward(x)
    dout = rng.uniform(0.5, 1.5, out.shape)
    dx = layer.backward(dout)
    np.testing.assert_allclose(dx, reference_maxpool_backward(x, dout, size, stride), rtol=1e-14, atol=0)
    np.testing.assert_allclose(dx.sum(axis=(1, 2)), dout.sum(axis=(1, 2)), rtol=1e-13)
    # All-zero image: every window's gradient lands on its top-left input, nowhere else.
    expected = np.zeros(x.shape[1:])
    for i in range(out.shape[1]):
        for j in range(out.shape[2]):
            expected[i * stride, j * stride, :] += dout[0, i, j, :]
    np.testing.assert_allclose(dx[0], expected, rtol=1e-14, atol=0)
    if stride >= size:  # non-overlapping: exactly one receiving input per window
        assert np.count_nonzero(dx[0]) == dout[0].size


def test_pool_default_stride_is_size():
    x = np.random.default_rng(0).standard_normal((1, 6, 6, 1))
    np.testing.assert_array_equal(MaxPool2D(3).forward(x), reference_pool(x, 3, 3, "max"))
    assert MaxPool2D(3).config() == {"size": 3, "stride": 3}


def test_pool_outputs_are_not_overwritten_by_later_calls():
    rng = np.random.default_rng(1)
    for layer in (MaxPool2D(2), AvgPool2D(2)):
        x1, x2 = rng.standard_normal((2, 4, 4, 1)), rng.standard_normal((2, 4, 4, 1))
        out1 = layer.forward(x1)
        kept = out1.copy()
        layer.forward(x2)
        np.testing.assert_array_equal(out1, kept)


# --- output shapes ----------------------------------------------------------------------------

SHAPE_CASES = [  # (size, kernel, padding, stride)
    (28, 5, 0, 1), (28, 5, 2, 1), (28, 3, 1, 2), (7, 3, 0, 2), (8, 3, 0, 2), (9, 2, 0, 2),
    (10, 3, 1, 3), (6, 5, 2, 2), (5, 4, 0, 3), (5, 5, 0, 1), (13, 3, 0, 2), (4, 1, 1, 2),
]


@pytest.mark.parametrize("size, kernel, padding, stride", SHAPE_CASES)
def test_output_size_formula(size, kernel, padding, stride):
    expected = n_positions(size, kernel, stride, padding)
    assert expected == (size - kernel + 2 * padding) // stride + 1
    assert output_size(size, kernel, stride, padding) == expected
    # Conv2D: build and forward agree with the formula, for a non-square input (other side + 3).
    layer = built_conv(2, kernel, stride, padding, (size, size + 3, 1), seed=0)
    other = n_positions(size + 3, kernel, stride, padding)
    assert layer.build((size, size + 3, 1), np.random.default_rng(0), "he", np.float64) == (expected, other, 2)
    assert layer.forward(np.ones((1, size, size + 3, 1))).shape == (1, expected, other, 2)
    if padding == 0:
        pool_shape = MaxPool2D(kernel, stride).build((size, size + 3, 1), None, "he", np.float64)
        assert pool_shape == (expected, other, 1)
        assert AvgPool2D(kernel, stride).forward(np.ones((1, size, size + 3, 1))).shape == (1, expected, other, 1)


@pytest.mark.parametrize("kernel", [1, 3, 5, 7])
@pytest.mark.parametrize("shape", [(7, 5, 1), (9, 12, 3)])
def test_same_padding_keeps_size_for_stride_1(kernel, shape):
    layer = built_conv(2, kernel, 1, "same", shape, seed=1)
    assert layer.build(shape, np.random.default_rng(0), "he", np.float64) == shape[:2] + (2,)
    assert layer.forward(np.zeros((1,) + shape)).shape == (1,) + shape[:2] + (2,)


@pytest.mark.parametrize("kernel, shape, padding", [(5, (3, 3, 1), 0), (5, (4, 10, 1), 0), (3, (8, 2, 2), "valid"),
                                                    (7, (4, 4, 1), 1)])
def test_kernel_larger_than_input_raises(kernel, shape, padding):
    with pytest.raises(ValueError):
        Conv2D(2, kernel, padding=padding).build(shape, np.random.default_rng(0), "he", np.float64)


def test_kernel_that_fits_thanks_to_padding_is_accepted():
    assert Conv2D(2, 5, padding=1).build((3, 3, 1), np.random.default_rng(0), "he", np.float64) == (1, 1, 2)


@pytest.mark.parametrize("pool", [MaxPool2D, AvgPool2D])
def test_pool_larger_than_input_raises(pool):
    with pytest.raises(ValueError):
        pool(3).build((2, 5, 1), None, "he", np.float64)
    assert pool(3).build((3, 5, 1), None, "he", np.float64) == (1, 1, 1)


@pytest.mark.parametrize("padding", ["full", -1, 1.5, None])
def test_invalid_padding_raises(padding):
    with pytest.raises(ValueError):
        Conv2D(2, 3, padding=padding)
