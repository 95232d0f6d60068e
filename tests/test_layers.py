"""Layers, losses and initialisations: numerical gradient checks (float64) of the input
gradient and of every parameter gradient, plus forward values against the textbook formulas."""
from __future__ import annotations

import mmap
from pathlib import Path

import numpy as np
import pytest

from explorer.nn.conv import AvgPool2D, Conv2D, MaxPool2D
from explorer.nn.inits import INITS, init_bias, init_std, init_weights
from explorer.nn.layers import SELU, BatchNorm, Dense, Dropout, Flatten, LeakyReLU, ReLU, Sigmoid, Tanh, zero_pages
from explorer.nn.losses import MeanSquaredError, SoftmaxCrossEntropy
from tests.gradcheck import assert_grad_close, check_layer, numerical_gradient

F64 = np.float64


def build(layer, input_shape, seed=0, init="he", dtype=F64):
    """Build `layer` for `input_shape` (no batch axis) and give every parameter random values,
    so no check relies on the zeros / ones the initialisers start with."""
    rng = np.random.default_rng(1000 + seed)
    out_shape = layer.build(tuple(input_shape), rng, init, dtype)
    for p in layer.parameters().values():
        p.value[...] = rng.standard_normal(p.value.shape) * 0.5
    return out_shape


def away_from_zero(rng, shape, margin=0.05):
    """Random values with |v| in [margin, 2]: central differences never straddle the kink at 0."""
    return rng.choice([-1.0, 1.0], size=shape) * rng.uniform(margin, 2.0, size=shape)


def distinct_values(rng, shape, spread=4.0):
    """A shuffled grid of values spaced `spread / size` apart (>> h): no two entries of a
    pooling window are within 2h of each other, so the max-pool winner never switches."""
    n = int(np.prod(shape))
    return (rng.permutation(n).reshape(shape) - n / 2) * (spread / n)


# --- Dense, Flatten -----------------------------------------------------------------------


@pytest.mark.parametrize("n, d_in, units", [(5, 7, 4), (1, 3, 6), (8, 12, 1)])
def test_dense_gradients(n, d_in, units):
    rng = np.random.default_rng(n)
    layer = Dense(units)
    assert build(layer, (d_in,)) == (units,)
    x = rng.standard_normal((n, d_in))
    check_layer(layer, x, expect_params={"W", "b"})


def test_dense_forward_is_affine_map():
    rng = np.random.default_rng(1)
    layer = Dense(3)
    build(layer, (4,))
    x = rng.standard_normal((2, 4))
    W, b = layer.W.value, layer.b.value
    expected = np.array([[sum(x[n, i] * W[i, j] for i in range(4)) + b[j] for j in range(3)] for n in range(2)])
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-12)
    assert layer.W.decay and not layer.b.decay


def test_flatten_gradients_and_values():
    rng = np.random.default_rng(2)
    layer = Flatten()
    assert build(layer, (3, 4, 2)) == (24,)
    x = rng.standard_normal((2, 3, 4, 2))
    out = layer.forward(x)
    assert out.shape == (2, 24)
    # NHWC flattening: row-major over (H, W, C).
    np.testing.assert_array_equal(out[1], [x[1, i, j, c] for i in range(3) for j in range(4) for c in range(2)])
    check_layer(layer, x, expect_params=set())


# --- convolution and pooling -------------------------------------------------------------------

# (kernel, stride, padding, height, width, c_in, c_out): kernels 1/3/5, strides 1/2, paddings
# 0/1/2/"same"/"valid", non-square inputs, strides that do not divide the input evenly.
CONV_CASES = [
    (1, 1, 0, 4, 5, 2, 3),
    (1, 2, 0, 5, 6, 3, 2),
    (1, 1, 1, 3, 4, 1, 2),
    (3, 1, 0, 6, 5, 1, 2),
    (3, 1, 1, 5, 7, 2, 3),
    (3, 2, 1, 7, 6, 2, 2),
    (3, 2, 0, 8, 5, 3, 1),
    (3, 1, "same", 5, 6, 2, 3),
    (3, 2, "same", 7, 8, 2, 2),
    (3, 1, "valid", 6, 7, 3, 2),
    (3, 2, 2, 6, 5, 2, 2),
    (5, 1, 0, 7, 6, 2, 2),
    (5, 1, 2, 6, 7, 2, 2),
    (5, 2, 2, 7, 9, 1, 3),
    (5, 1, "same", 6, 5, 1, 2),
    (5, 2, "valid", 9, 7, 2, 2),
    (5, 1, 1, 4, 6, 1, 1),
    # stride 1 with padding >= kernel - 1 (the input gradient's border k-1-p is 0 or negative)
    (3, 1, 2, 5, 4, 2, 2),
    (3, 1, 3, 4, 5, 1, 2),
    (1, 1, 2, 3, 3, 2, 1),
    (5, 1, 4, 3, 4, 1, 2),
]


@pytest.mark.parametrize("k, s, p, h, w, c_in, c_out", CONV_CASES, ids=[
    f"k{c[0]}-s{c[1]}-p{c[2]}-{c[3]}x{c[4]}x{c[5]}-to-{c[6]}" for c in CONV_CASES])
def test_conv2d_gradients(k, s, p, h, w, c_in, c_out, input_gradient_method):
    rng = np.random.default_rng(k * 100 + s * 10 + h)
    layer = Conv2D(c_out, k, stride=s, padding=p)
    out_shape = build(layer, (h, w, c_in))
    assert layer.W.value.shape == (k, k, c_in, c_out) and layer.b.value.shape == (c_out,)
    x = rng.standard_normal((2, h, w, c_in))
    assert layer.forward(x).shape == (2,) + out_shape
    check_layer(layer, x, expect_params={"W", "b"})


# (pool class, size, stride, height, width): 2x2/2, overlapping 3x3/2, 3x3/1, odd sizes.
POOL_CASES = [
    (2, None, 4, 6), (2, 2, 5, 7), (2, 2, 7, 7), (3, 2, 7, 7), (3, 2, 6, 9), (3, 1, 5, 4), (3, 1, 3, 3), (2, 1, 4, 5),
]


@pytest.mark.parametrize("pool", [MaxPool2D, AvgPool2D])
@pytest.mark.parametrize("size, stride, h, w", POOL_CASES, ids=[f"{c[0]}x{c[0]}s{c[1]}-{c[2]}x{c[3]}" for c in POOL_CASES])
def test_pool_gradients(pool, size, stride, h, w):
    rng = np.random.default_rng(size * 10 + h)
    layer = pool(size, stride)
    out_shape = build(layer, (h, w, 2))
    x = distinct_values(rng, (2, h, w, 2))
    assert layer.forward(x).shape == (2,) + out_shape
    check_layer(layer, x, expect_params=set())


# --- activations --------------------------------------------------------------------------

ACTIVATION_CASES = [
    ("relu", ReLU, lambda x: np.where(x > 0, x, 0.0)),
    ("leaky-relu-default", LeakyReLU, lambda x: np.where(x > 0, x, 0.01 * x)),
    ("leaky-relu-0.2", lambda: LeakyReLU(0.2), lambda x: np.where(x > 0, x, 0.2 * x)),
    ("sigmoid", Sigmoid, lambda x: 1 / (1 + np.exp(-x))),
    ("tanh", Tanh, lambda x: (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x))),
    # SELU constants from Klambauer et al. (2017), eq. 14.
    ("selu", SELU, lambda x: 1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * (np.exp(x) - 1))),
]


@pytest.mark.parametrize("name, make, formula", ACTIVATION_CASES, ids=[c[0] for c in ACTIVATION_CASES])
@pytest.mark.parametrize("shape", [(4, 6), (2, 3, 5, 2)])
def test_activation_gradients(name, make, formula, shape):
    rng = np.random.default_rng(len(name))
    layer = make()
    assert build(layer, shape[1:]) == shape[1:]
    x = away_from_zero(rng, shape)
    check_layer(layer, x, expect_params=set())


@pytest.mark.parametrize("name, make, formula", ACTIVATION_CASES, ids=[c[0] for c in ACTIVATION_CASES])
def test_activation_values(name, make, formula):
    rng = np.random.default_rng(3)
    x = rng.uniform(-6, 6, (5, 7))
    x[0, :3] = [0.0, -0.0, 1e-9]
    layer = make()
    build(layer, (7,))
    out = layer.forward(x.copy())
    np.testing.assert_allclose(out, formula(x), rtol=1e-12, atol=1e-15)
    assert out.dtype == F64


def test_sigmoid_is_stable_for_huge_inputs():
    layer = Sigmoid()
    x = np.array([[-1000.0, -50.0, 0.0, 50.0, 1000.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = layer.forward(x)
        dx = layer.backward(np.ones_like(x))
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(dx))
    np.testing.assert_allclose(out[0], [0.0, np.exp(-50), 0.5, 1.0, 1.0], atol=1e-30, rtol=1e-12)
    assert dx[0, 2] == 0.25


def test_sigmoid_is_the_split_by_sign_formula_bit_for_bit():
    """1 / (1 + z) for x >= 0 and z / (1 + z) below, z = exp(-|x|): exactly those float32 numbers,
    at ±0, denormals, ±inf and across the range (the layer computes the numerator as exp(min(x, 0)))."""
    rng = np.random.default_rng(5)
    edges = [0.0, -0.0, 1e-45, -1e-45, 1e-39, -1e-39, 88.0, -88.0, 104.0, -104.0, np.inf, -np.inf]
    x = np.concatenate([edges, rng.normal(0, 20, 2000)]).astype(np.float32)[None]
    z = np.exp(-np.abs(x))
    expected = np.where(x >= 0, 1 / (1 + z), z / (1 + z))
    out = Sigmoid().forward(x)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, expected)


def test_selu_is_its_formula_bit_for_bit():
    """The in-place SELU gives exactly the float32 numbers of the formula as written, forward and
    backward, at ±0, denormals, ±inf and across the range."""
    scale, alpha = SELU.SCALE, SELU.ALPHA
    rng = np.random.default_rng(6)
    edges = [0.0, -0.0, 1e-45, -1e-45, 1e-39, -1e-39, 88.0, -88.0, 104.0, -104.0, np.inf, -np.inf]
    x = np.concatenate([edges, rng.normal(0, 5, 2000)]).astype(np.float32)[None]
    dout = rng.normal(0, 1, x.shape).astype(np.float32)
    layer = SELU()
    out, dx = layer.forward(x), layer.backward(dout)
    assert out.dtype == dx.dtype == np.float32
    np.testing.assert_array_equal(out, np.where(x > 0, scale * x, scale * alpha * np.expm1(np.minimum(x, 0))))
    np.testing.assert_array_equal(dx, dout * np.where(x > 0, scale, scale * alpha * np.exp(np.minimum(x, 0))))


@pytest.mark.parametrize("make", [ReLU, LeakyReLU, Sigmoid, Tanh, SELU, Flatten,
                                  lambda: Dense(5), lambda: BatchNorm(), lambda: Conv2D(3, 3, padding=1),
                                  lambda: MaxPool2D(2), lambda: AvgPool2D(2), lambda: Dropout(0.5)])
def test_float32_stays_float32(make):
    """The app trains in float32: no layer may silently upcast activations or gradients."""
    rng = np.random.default_rng(4)
    layer = make()
    x = rng.standard_normal((3, 6, 6, 2)).astype(np.float32)
    if isinstance(layer, Dense):
        x = x.reshape(3, -1)
    build(layer, x.shape[1:], dtype=np.float32)
    out = layer.forward(x, train=True)
    dx = layer.backward(np.ones_like(out))
    assert out.dtype == np.float32 and dx.dtype == np.float32, (out.dtype, dx.dtype)
    for name, p in layer.parameters().items():
        assert p.value.dtype == np.float32 and p.grad.dtype == np.float32, name


# --- dropout --------------------------------------------------------------------------------


@pytest.mark.parametrize("rate", [0.5, 0.25])
def test_dropout_gradients_with_fixed_mask(rate):
    rng = np.random.default_rng(5)
    layer = Dropout(rate)
    build(layer, (4, 3, 2))
    x = rng.standard_normal((3, 4, 3, 2))
    mask = rng.random(x.shape) >= rate
    assert 0 < mask.sum() < mask.size
    layer.fixed_mask = mask
    np.testing.assert_allclose(layer.forward(x, train=True), np.where(mask, x / (1 - rate), 0.0), rtol=1e-15)
    check_layer(layer, x, train=True, expect_params=set())


def test_dropout_is_identity_in_eval_and_at_rate_zero():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((4, 10))
    layer = Dropout(0.5)
    np.testing.assert_array_equal(layer.forward(x, train=False), x)
    np.testing.assert_array_equal(layer.backward(x * 2), x * 2)
    np.testing.assert_array_equal(Dropout(0.0).forward(x, train=True), x)


def test_dropout_random_mask_rate_and_scaling():
    layer = Dropout(0.3)
    x = np.ones((200, 500))
    out = layer.forward(x, train=True)
    dropped = out == 0
    assert abs(dropped.mean() - 0.3) < 0.01
    np.testing.assert_allclose(out[~dropped], 1 / 0.7, rtol=1e-15)
    # The backward pass uses the very mask of the forward pass.
    dx = layer.backward(np.full_like(x, 2.0))
    np.testing.assert_array_equal(dx == 0, dropped)
    np.testing.assert_allclose(dx[~dropped], 2 / 0.7, rtol=1e-15)
    # A new forward pass draws a new mask.
    assert not np.array_equal(layer.forward(x, train=True) == 0, dropped)


# --- batch norm -------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(6, 4), (3, 4, 3, 2)], ids=["after-dense", "after-conv"])
def test_batchnorm_train_gradients(shape):
    rng = np.random.default_rng(7)
    layer = BatchNorm()
    assert build(layer, shape[1:]) == shape[1:]
    x = rng.standard_normal(shape) * 2 + 0.7
    check_layer(layer, x, train=True, expect_params={"gamma", "beta"})


@pytest.mark.parametrize("shape", [(6, 4), (3, 4, 3, 2)], ids=["after-dense", "after-conv"])
def test_batchnorm_eval_gradients(shape):
    rng = np.random.default_rng(8)
    layer = BatchNorm()
    build(layer, shape[1:])
    layer.running_mean[...] = rng.standard_normal(shape[-1])
    layer.running_var[...] = rng.uniform(0.5, 2.0, shape[-1])
    x = rng.standard_normal(shape)
    check_layer(layer, x, train=False, expect_params={"gamma", "beta"})


@pytest.mark.parametrize("shape", [(6, 4), (3, 4, 3, 2)], ids=["after-dense", "after-conv"])
def test_batchnorm_values_and_running_statistics(shape):
    rng = np.random.default_rng(9)
    layer = BatchNorm(momentum=0.8, eps=1e-3)
    build(layer, shape[1:])
    gamma, beta = layer.gamma.value.copy(), layer.beta.value.copy()
    assert set(layer.buffers()) == {"running_mean", "running_var"}
    np.testing.assert_array_equal(layer.running_mean, 0)
    np.testing.assert_array_equal(layer.running_var, 1)
    x = rng.standard_normal(shape) * 3 + 2
    channels = shape[-1]
    rows = x.reshape(-1, channels)  # every axis but the last is "the batch"
    mean = rows.sum(axis=0) / len(rows)
    var = ((rows - mean) ** 2).sum(axis=0) / len(rows)
    out = layer.forward(x, train=True)
    np.testing.assert_allclose(out, gamma * (x - mean) / np.sqrt(var + 1e-3) + beta, rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(layer.running_mean, 0.8 * 0 + 0.2 * mean, rtol=1e-12)
    np.testing.assert_allclose(layer.running_var, 0.8 * 1 + 0.2 * var, rtol=1e-12)
    # Eval mode uses (and does not change) the running statistics.
    rm, rv = layer.running_mean.copy(), layer.running_var.copy()
    x2 = rng.standard_normal(shape)
    out2 = layer.forward(x2, train=False)
    np.testing.assert_allclose(out2, gamma * (x2 - rm) / np.sqrt(rv + 1e-3) + beta, rtol=1e-11, atol=1e-12)
    np.testing.assert_array_equal(layer.running_mean, rm)
    np.testing.assert_array_equal(layer.running_var, rv)


# --- losses ---------------------------------------------------------------------------------


def direct_cross_entropy(z, labels):
    total = 0.0
    for row, y in zip(z, labels):
        total += -(row[y] - np.log(np.sum(np.exp(row))))
    return total / len(labels)


def direct_mse(a, labels):
    total = 0.0
    for row, y in zip(a, labels):
        target = np.zeros(len(row))
        target[y] = 1.0
        total += 0.5 * np.sum((row - target) ** 2)
    return total / len(labels)


@pytest.mark.parametrize("loss_cls, direct, n", [
    (SoftmaxCrossEntropy, direct_cross_entropy, 5),
    (SoftmaxCrossEntropy, direct_cross_entropy, 1),
    (MeanSquaredError, direct_mse, 6),
])
def test_loss_value_and_gradient(loss_cls, direct, n):
    rng = np.random.default_rng(10 + n)
    z = rng.standard_normal((n, 10)) * 2
    labels = rng.integers(0, 10, n)
    loss = loss_cls()
    value = loss.forward(z, labels)
    assert isinstance(value, float)
    np.testing.assert_allclose(value, direct(z, labels), rtol=1e-12)
    analytic = loss.backward()
    assert analytic.shape == z.shape
    numeric = numerical_gradient(lambda: loss.forward(z, labels), z)
    assert_grad_close(analytic, numeric, f"{loss_cls.__name__} dL/dz")


def test_softmax_cross_entropy_is_stable_for_huge_logits():
    loss = SoftmaxCrossEntropy()
    z = np.array([[1000.0, 0.0, -1000.0], [5.0, 5.0, 5.0]])
    with np.errstate(over="raise", invalid="raise"):
        value = loss.forward(z, np.array([0, 2]))
        probs = loss.probabilities(z)
    np.testing.assert_allclose(value, np.log(3) / 2, rtol=1e-12)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-15)
    np.testing.assert_allclose(probs[1], 1 / 3, rtol=1e-15)


def test_loss_probabilities_rows_sum_to_one():
    rng = np.random.default_rng(11)
    z = rng.standard_normal((4, 10))
    for loss in (SoftmaxCrossEntropy(), MeanSquaredError()):
        p = loss.probabilities(1 / (1 + np.exp(-z)))
        assert np.all(p >= 0)
        np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-12)


# --- initialisations --------------------------------------------------------------------------


def expected_std(scheme, fan_in, fan_out):
    return {"std0.01": 0.01, "std1": 1.0, "xavier": (2 / (fan_in + fan_out)) ** 0.5, "he": (2 / fan_in) ** 0.5}[scheme]


def test_zeros_init_gives_zeros():
    rng = np.random.default_rng(0)
    np.testing.assert_array_equal(init_weights("zeros", (30, 20), 30, 20, rng, np.float32), 0)
    layer = Conv2D(4, 3)
    layer.build((8, 8, 2), rng, "zeros", np.float32)
    np.testing.assert_array_equal(layer.W.value, 0)
    np.testing.assert_array_equal(layer.b.value, 0)
    assert layer.W.value.dtype == np.float32


@pytest.mark.parametrize("scheme", ["std0.01", "std1", "xavier", "he"])
def test_dense_init_std(scheme):
    layer = Dense(400)
    layer.build((500,), np.random.default_rng(1), scheme, np.float32)
    w = layer.W.value.astype(F64)
    assert w.dtype == F64 and layer.W.value.dtype == np.float32
    target = expected_std(scheme, 500, 400)
    assert init_std(scheme, 500, 400) == pytest.approx(target, rel=1e-12)
    assert abs(w.std() / target - 1) < 0.03, (w.std(), target)
    assert abs(w.mean()) < 0.03 * target
    if scheme == "std1":  # Nielsen's network draws the biases from N(0, 1) too
        assert abs(layer.b.value.std() - 1) < 0.2 and np.count_nonzero(layer.b.value) == 400
    else:
        np.testing.assert_array_equal(layer.b.value, 0)


@pytest.mark.parametrize("scheme", ["xavier", "he", "std0.01"])
def test_conv_init_std_uses_kernel_fans(scheme):
    layer = Conv2D(64, 3)
    layer.build((10, 10, 32), np.random.default_rng(2), scheme, F64)
    fan_in, fan_out = 3 * 3 * 32, 3 * 3 * 64  # inputs per unit; units fed per input
    assert abs(layer.W.value.std() / expected_std(scheme, fan_in, fan_out) - 1) < 0.03


def test_init_bias_std1_large():
    b = init_bias("std1", 50000, np.random.default_rng(3), F64)
    assert abs(b.std() - 1) < 0.02 and abs(b.mean()) < 0.02
    for scheme in ("zeros", "std0.01", "xavier", "he"):
        np.testing.assert_array_equal(init_bias(scheme, 7, np.random.default_rng(3), F64), 0)


def test_init_seed_reproducibility():
    def draw(seed, scheme="he"):
        return init_weights(scheme, (40, 30), 40, 30, np.random.default_rng(seed), F64)

    np.testing.assert_array_equal(draw(5), draw(5))
    assert not np.any(draw(5) == draw(6))
    assert set(INITS) == {"zeros", "std0.01", "std1", "xavier", "he"}


def test_unknown_init_raises():
    with pytest.raises(ValueError, match="glorot"):
        init_weights("glorot", (3, 3), 3, 3, np.random.default_rng(0), F64)


def test_dense_reads_only_the_weight_rows_of_a_blank_images_inked_pixels(monkeypatch):
    """One mostly blank input (a drawn digit) takes the sparse path; it computes what the full
    product computes, and the gradients stay exact."""
    import explorer.nn.layers as layers_module

    monkeypatch.setattr(layers_module, "BIG_WEIGHTS", 0)
    rng = np.random.default_rng(21)
    layer = Dense(7)
    build(layer, (40,))
    x = np.zeros((1, 40))
    x[0, [3, 17, 18, 30]] = rng.standard_normal(4)  # 10% inked
    expected = x @ layer.W.value + layer.b.value
    clean = layer.W.value.copy()
    layer.W.value[x[0] == 0] = np.nan  # a weight row the sparse path reads would spoil the output
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-12, atol=1e-12)
    layer.W.value[...] = clean
    check_layer(layer, x, expect_params={"W", "b"})
    dense_input = rng.standard_normal((1, 40))  # mostly inked: the full product
    np.testing.assert_allclose(layer.forward(dense_input), dense_input @ layer.W.value + layer.b.value, rtol=1e-12)


def resident_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096 / 2**20


@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="reads resident memory from Linux's /proc")
def test_relus_zeros_take_no_memory_however_many():
    """ReLU's shared zeros (explorer.nn.layers.zero_pages) are read from the kernel's one page of
    zeros: 64 MB of them, read in full, add next to nothing to the process's resident memory."""
    before = resident_mb()
    zeros = zero_pages(16 << 20, np.float32)
    assert zeros.sum() == 0 and zeros.size == 16 << 20 and not zeros.flags.writeable
    assert resident_mb() - before < 8


def test_relus_zeros_without_mmap_are_plain_read_only_zeros(monkeypatch):
    """Where mmap cannot map read-only private pages (Windows), zero_pages falls back to np.zeros."""
    def no_such_flags(*args, **kwargs):
        raise TypeError("mmap() got an unexpected keyword argument 'flags'")

    monkeypatch.setattr(mmap, "mmap", no_such_flags)
    zeros = zero_pages(10, np.float32)
    assert zeros.dtype == np.float32 and zeros.shape == (10,) and not zeros.any() and not zeros.flags.writeable
