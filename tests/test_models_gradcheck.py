"""Whole registry models: gradient checks in float64 (every parameter, the input, and
Network.input_gradient), and the Network container (names, counts, state, prediction, trace)."""
from __future__ import annotations

import numpy as np
import pytest

from explorer.nn.conv import Conv2D
from explorer.nn.layers import BatchNorm, Dense, Dropout
from explorer.nn.losses import MeanSquaredError, SoftmaxCrossEntropy
from explorer.nn.models import MODELS, build_model
from tests.gradcheck import forward_with_signature, sampled_gradient_check


ALL_MODELS = ["nielsen", "keras-mlp", "deep-mlp", "zhou-cnn", "lenet", "deepconvnet", "tf-cnn", "tf-cnn-bn", "rf-5x5", "rf-3x3"]


def test_registry_holds_the_documented_models():
    assert sorted(MODELS) == sorted(ALL_MODELS)


def random_images(rng, n):
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)


def fix_dropout_masks(net, batch, rng):
    """Give every Dropout layer a fixed random mask (and check it has one to act on)."""
    for index, layer in enumerate(net.layers):
        if isinstance(layer, Dropout):
            shape = (batch,) + tuple(net.shapes[index])
            layer.fixed_mask = rng.random(shape) >= layer.rate
            assert 0 < layer.fixed_mask.sum() < layer.fixed_mask.size


# --- every parameter of every model -------------------------------------------------------------


@pytest.mark.parametrize("name", ALL_MODELS)
def test_model_parameter_and_input_gradients(name):
    rng = np.random.default_rng(sum(map(ord, name)))
    net = build_model(name, dtype=np.float64, seed=1)
    assert all(p.value.dtype == np.float64 for p in net.parameters().values())
    # Batch norm over only 2 samples is degenerate (each feature normalises to about +-1 and
    # the loss becomes ill-conditioned), so batch-norm models get 4 images.
    batch = 4 if any(isinstance(layer, BatchNorm) for layer in net.layers) else 2
    x = net.prepare(random_images(rng, batch))
    assert x.dtype == np.float64
    labels = rng.integers(0, 10, batch)
    fix_dropout_masks(net, batch, rng)

    # Analytic gradients through the network's own training path and its own loss.
    loss = net.train_step_gradients(x, labels)
    analytic = {key: p.grad.copy() for key, p in net.parameters().items()}
    dx = net.backward(net.loss.backward(), input_grad=True)

    # The inputs of every layer, so a parameter's numerical check only re-runs its own layer and
    # the layers above it (train mode: batch statistics, fixed dropout masks).
    inputs, h = [], x
    for layer in net.layers:
        inputs.append(h.copy())
        h = layer.forward(h, True)
    assert net.loss.forward(h, labels) == pytest.approx(loss, rel=1e-12)

    def loss_from(k):
        def f():
            out, signature = forward_with_signature(net.layers[k:], inputs[k], True)
            return net.loss.forward(out, labels), signature
        return f

    seen = set()
    for k, (layer_name, layer) in enumerate(zip(net.names, net.layers)):
        next_layer = net.layers[k + 1] if k + 1 < len(net.layers) else None
        for key, p in layer.parameters().items():
            full = f"{layer_name}.{key}"
            seen.add(full)
            assert analytic[full].shape == p.value.shape and analytic[full].dtype == np.float64
            # Batch norm (train mode) subtracts the batch mean, so the bias just before it has
            # no effect on the loss: its true gradient is exactly 0, and the analytic one must
            # be ~0 too. The numerical side is checked against the 1e-9 floor; as the loss is
            # exactly constant along such a bias, any step measures 0, and a large one (1e-3)
            # shrinks the rounding noise (L+ - L-) / 2h from ~3e-10 to ~3e-12.
            before_bn = key == "b" and isinstance(next_layer, BatchNorm)
            if before_bn:
                assert np.max(np.abs(analytic[full])) < 1e-9, full
            sampled_gradient_check(loss_from(k), p.value, analytic[full], f"{name} dL/d{full}", rng,
                                   n_random=3, n_top=2, require_signal=not before_bn,
                                   **({"steps": (1e-3, 1e-5)} if before_bn else {}))
    assert seen == set(net.parameters()), "a parameter escaped the check"

    # dL/dx, the gradient the saliency pages rely on.
    assert dx.shape == x.shape
    sampled_gradient_check(loss_from(0), inputs[0], dx, f"{name} dL/dx", rng, n_random=4, n_top=3)


# --- Network.input_gradient ---------------------------------------------------------------------

INPUT_GRADIENT_CASES = [  # (model, layer name, unit)
    ("lenet", "conv2", (4, 5, 7)),
    ("lenet", "dense3", (3,)),
    ("rf-3x3", "conv2", (10, 12, 5)),
    ("rf-5x5", "maxpool1", (5, 6, 2)),
    ("tf-cnn-bn", "dense3", (7,)),
    ("zhou-cnn", "dense1", (2,)),
    ("nielsen", "sigmoid2", (4,)),
    ("deepconvnet", "relu2", (11, 6, 3)),
]


@pytest.mark.parametrize("name, layer_name, unit", INPUT_GRADIENT_CASES)
def test_input_gradient_matches_numerical(name, layer_name, unit):
    rng = np.random.default_rng(len(name) + len(layer_name))
    net = build_model(name, dtype=np.float64, seed=2)
    if any(isinstance(layer, BatchNorm) for layer in net.layers):
        # Non-trivial running statistics for eval mode.
        for _ in range(3):
            net.forward(net.prepare(random_images(rng, 8)), train=True)
    index = net.names.index(layer_name)
    x = net.prepare(random_images(rng, 1))
    analytic = net.input_gradient(x, index, unit)
    assert analytic.shape == x.shape

    def f():
        out, signature = forward_with_signature(net.layers[: index + 1], x, False)
        return out[(0,) + tuple(unit)], signature

    sampled_gradient_check(f, x, analytic, f"{name} d{layer_name}{unit}/dx", rng, n_random=12, n_top=12)


def test_input_gradient_of_a_5x5_unit_is_its_kernel():
    """rf-5x5's conv1 unit (r, c, f) reads the 5x5 window at (r, c): its input gradient is that
    filter, placed there, and zero everywhere else (its receptive field)."""
    net = build_model("rf-5x5", dtype=np.float64)
    x = net.prepare(random_images(np.random.default_rng(0), 1))
    r, c, f = 9, 14, 11
    grad = net.input_gradient(x, 0, (r, c, f))
    expected = np.zeros(x.shape)
    expected[0, r:r + 5, c:c + 5, 0] = net.parameters()["conv1.W"].value[:, :, 0, f]
    np.testing.assert_array_equal(grad, expected)


def test_stacked_3x3_receptive_field_is_5x5():
    net = build_model("rf-3x3", dtype=np.float64)
    x = net.prepare(random_images(np.random.default_rng(1), 1))
    r, c = 6, 17
    # Sum over every filter of conv2 at (r, c): the union of their receptive fields.
    support = np.zeros((28, 28), bool)
    for f in range(16):
        support |= net.input_gradient(x, net.names.index("conv2"), (r, c, f))[0, :, :, 0] != 0
    rows, cols = np.nonzero(support)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (r, r + 4, c, c + 4)


# --- the Network container ----------------------------------------------------------------------


def test_layer_and_parameter_names():
    net = build_model("lenet")
    assert net.names == ["conv1", "relu1", "maxpool1", "conv2", "relu2", "maxpool2", "flatten1",
                         "dense1", "relu3", "dense2", "relu4", "dense3"]
    assert list(net.parameters()) == ["conv1.W", "conv1.b", "conv2.W", "conv2.b", "dense1.W", "dense1.b",
                                      "dense2.W", "dense2.b", "dense3.W", "dense3.b"]
    assert net.parameters()["conv1.W"] is net.layers[0].W
    bn = build_model("tf-cnn-bn")
    names = set(bn.parameters())
    assert {"batchnorm1.gamma", "batchnorm1.beta", "batchnorm4.gamma", "dense3.W"} <= names
    assert "batchnorm1.running_mean" not in names
    assert {"batchnorm1.running_mean", "batchnorm4.running_var"} <= set(bn.state())
    # Biases and batch-norm scales are not weight-decayed; weights are.
    decays = {key: p.decay for key, p in bn.parameters().items()}
    assert decays["conv1.W"] and decays["dense3.W"]
    assert not decays["conv1.b"] and not decays["batchnorm1.gamma"] and not decays["batchnorm1.beta"]


@pytest.mark.parametrize("name", ALL_MODELS)
def test_an_empty_batch_passes_through(name):
    """No images: no predictions and no error, forward and backward."""
    net = build_model(name)
    out = net.forward(net.prepare(np.zeros((0, 28, 28), np.uint8)))
    assert out.shape == (0, 10)
    assert net.backward(out, input_grad=True).shape == (0,) + net.input_shape


@pytest.mark.parametrize("name", ALL_MODELS)
def test_parameter_count_is_sum_of_array_sizes(name):
    net = build_model(name)
    total = sum(p.value.size for p in net.parameters().values())
    assert net.parameter_count() == total
    counts = net.parameter_counts()
    assert [n for n, _ in counts] == net.names
    assert sum(c for _, c in counts) == total


def test_parameter_counts_computed_by_hand():
    assert build_model("nielsen").parameter_count() == 784 * 30 + 30 + 30 * 10 + 10
    rf5 = dict(build_model("rf-5x5").parameter_counts())
    assert rf5["conv1"] == 5 * 5 * 1 * 16 + 16 == 416
    rf3 = dict(build_model("rf-3x3").parameter_counts())
    assert rf3["conv1"] + rf3["conv2"] == (3 * 3 * 1 * 16 + 16) + (3 * 3 * 16 * 16 + 16) == 2480
    # Their dense heads: 12x12x16 features (28 -> 24 -> pool 12) into 10 classes.
    assert rf5["dense1"] == rf3["dense1"] == 12 * 12 * 16 * 10 + 10
    lenet = (5 * 5 * 1 * 6 + 6) + (5 * 5 * 6 * 16 + 16) + (5 * 5 * 16 * 120 + 120) + (120 * 84 + 84) + (84 * 10 + 10)
    assert build_model("lenet").parameter_count() == lenet
    assert build_model("zhou-cnn").parameter_count() == (3 * 3 * 8 + 8) + (13 * 13 * 8 * 10 + 10)


def test_shapes_computed_by_hand():
    assert build_model("lenet").shapes == [
        (28, 28, 6), (28, 28, 6), (14, 14, 6), (10, 10, 16), (10, 10, 16), (5, 5, 16),
        (400,), (120,), (120,), (84,), (84,), (10,)]
    # tf-cnn: "same" 3x3 convs, overlapping 3x3/2 pools: 28 -> 13 -> 6.
    tf = build_model("tf-cnn")
    assert tf.shapes[:7] == [(28, 28, 12), (28, 28, 12), (13, 13, 12), (13, 13, 16), (13, 13, 16), (6, 6, 16), (576,)]
    # deepconvnet: 28 -> pool 14 -> pad-2 conv 16 -> pool 8 -> pool 4.
    deep = build_model("deepconvnet")
    assert deep.shapes[deep.names.index("flatten1")] == (4 * 4 * 64,)
    assert deep.shapes[-1] == (10,) and build_model("nielsen").shapes[-1] == (10,)


def test_same_seed_same_weights_different_seed_different():
    a, b, c = build_model("lenet", seed=3), build_model("lenet", seed=3), build_model("lenet", seed=4)
    for key, p in a.parameters().items():
        np.testing.assert_array_equal(p.value, b.parameters()[key].value)
        if key.endswith(".W"):
            assert not np.array_equal(p.value, c.parameters()[key].value), key


def test_state_round_trip_includes_batchnorm_statistics():
    rng = np.random.default_rng(0)
    a = build_model("tf-cnn-bn", seed=0)
    a.forward(a.prepare(random_images(rng, 6)), train=True)  # moves the running statistics
    b = build_model("tf-cnn-bn", seed=1)
    state = {key: value.copy() for key, value in a.state().items()}
    assert not np.array_equal(state["batchnorm1.running_mean"], b.state()["batchnorm1.running_mean"])
    b.load_state(state)
    for key, value in a.state().items():
        np.testing.assert_array_equal(b.state()[key], value, err_msg=key)
    images = random_images(rng, 5)
    np.testing.assert_array_equal(b.predict_proba(images), a.predict_proba(images))
    # load_state copies: changing the source arrays afterwards does not touch the model.
    state["conv1.W"][...] = 0
    assert np.any(b.parameters()["conv1.W"].value != 0)


def test_load_state_rejects_wrong_shape_missing_and_extra_keys():
    net = build_model("rf-5x5")
    good = {key: value.copy() for key, value in net.state().items()}
    wrong_shape = dict(good, **{"dense1.W": np.zeros((10, 10), np.float32)})
    with pytest.raises(ValueError, match="dense1.W"):
        net.load_state(wrong_shape)
    missing = {key: value for key, value in good.items() if key != "conv1.b"}
    with pytest.raises(ValueError, match="conv1.b"):
        net.load_state(missing)
    with pytest.raises(ValueError, match="conv9.W"):
        net.load_state(dict(good, **{"conv9.W": np.zeros(3)}))
    with pytest.raises(ValueError):  # another architecture's weights
        net.load_state(build_model("rf-3x3").state())


@pytest.mark.parametrize("name", ALL_MODELS)
def test_predict_proba_rows_sum_to_one(name):
    rng = np.random.default_rng(5)
    net = build_model(name)
    images = random_images(rng, 7)
    probs = net.predict_proba(images, batch_size=3)  # three chunks: 3 + 3 + 1
    assert probs.shape == (7, 10)
    assert np.all(probs >= 0)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(probs, net.predict_proba(images), rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(net.predict(images), probs.argmax(axis=1))
    labels = rng.integers(0, 10, 7)
    assert net.accuracy(images, labels) == pytest.approx(np.mean(probs.argmax(axis=1) == labels))
    assert net.predict_proba(images[:0]).shape == (0, 10)


def test_prepare_maps_uint8_into_the_input_range():
    images = np.array([np.full((28, 28), 0), np.full((28, 28), 255), np.full((28, 28), 51)], np.uint8)
    for name, (low, high), shape in [("lenet", (0, 1), (28, 28, 1)), ("zhou-cnn", (-0.5, 0.5), (28, 28, 1)),
                                     ("nielsen", (0, 1), (784,))]:
        net = build_model(name)
        x = net.prepare(images)
        assert x.shape == (3,) + shape and x.dtype == np.float32
        np.testing.assert_allclose(x[0], low, atol=1e-7)
        np.testing.assert_allclose(x[1], high, atol=1e-6)
        np.testing.assert_allclose(x[2], low + 0.2 * (high - low), atol=1e-6)


@pytest.mark.parametrize("name", ["lenet", "tf-cnn-bn", "nielsen"])
def test_trace_gives_every_layer_output(name):
    rng = np.random.default_rng(6)
    net = build_model(name)
    x = net.prepare(random_images(rng, 2))
    outputs = net.trace(x)
    assert len(outputs) == len(net.layers) == len(net.shapes)
    for out, shape, layer_name in zip(outputs, net.shapes, net.names):
        assert out.shape == (2,) + tuple(shape), layer_name
    np.testing.assert_allclose(outputs[-1], net.forward(x, train=False), rtol=1e-6)
    # Each output is the layer applied to the previous one (eval mode).
    for k in range(1, len(outputs)):
        np.testing.assert_allclose(net.layers[k].forward(outputs[k - 1].copy(), train=False), outputs[k],
                                   rtol=1e-6, atol=1e-6, err_msg=net.names[k])


def test_losses_of_the_registry():
    assert isinstance(build_model("nielsen").loss, MeanSquaredError)
    for name in ALL_MODELS:
        if name != "nielsen":
            assert isinstance(build_model(name).loss, SoftmaxCrossEntropy), name
    net = build_model("keras-mlp")
    assert [type(layer) for layer in net.layers][::2] == [Dense, Dense]
    assert isinstance(build_model("rf-5x5").layers[0], Conv2D)


def test_release_buffers_keeps_the_model_working():
    rng = np.random.default_rng(7)
    net = build_model("lenet")
    images = random_images(rng, 4)
    before = net.predict_proba(images)
    net.train_step_gradients(net.prepare(images), rng.integers(0, 10, 4))
    net.release_buffers()
    np.testing.assert_array_equal(net.predict_proba(images), before)
    net.train_step_gradients(net.prepare(images), rng.integers(0, 10, 4))


@pytest.mark.parametrize("name", ["lenet", "deepconvnet", "tf-cnn"])
def test_pooling_before_relu_gives_exactly_the_same_numbers(monkeypatch, name):
    """Forward and backward run max-pooling before the ReLU it follows (on 4x fewer numbers);
    the outputs, the loss and every gradient are bit for bit those of the layers' own order,
    ties at zero included."""
    import explorer.nn.network as network_module

    rng = np.random.default_rng(8)
    images = random_images(rng, 6)
    images[:, :10] = 0  # blank rows: windows whose values tie
    labels = rng.integers(0, 10, 6)
    results = []
    for order in (network_module.running_order, list):
        monkeypatch.setattr(network_module, "running_order", order)
        net = build_model(name, seed=2)
        for layer in net.layers:
            if isinstance(layer, Dropout):
                layer.rate = 0.0
        outputs = net.forward(net.prepare(images))
        loss = net.train_step_gradients(net.prepare(images), labels)
        results.append((outputs, loss, {key: p.grad for key, p in net.parameters().items()}, net._running_order))
    (swapped_outputs, swapped_loss, swapped, swapped_order), (outputs, loss, grads, order) = results
    assert [type(layer) for layer in swapped_order] != [type(layer) for layer in order]
    np.testing.assert_array_equal(swapped_outputs, outputs)
    assert swapped_loss == loss
    for key in grads:
        np.testing.assert_array_equal(swapped[key], grads[key], err_msg=key)
