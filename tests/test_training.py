"""The training loop (explorer/nn/training.py) on a small fake data set, and on the full MNIST
(marked `mnist`): reproducibility, stepping, epochs, divergence, config errors, accuracy."""
from __future__ import annotations

import math
import time
from types import SimpleNamespace

import numpy as np
import pytest

from explorer.nn.training import DIVERGE_FACTOR, DIVERGE_WINDOW, EpochRecord, TrainConfig, Trainer

N_TRAIN, N_TEST, VAL = 300, 100, 50  # 250 training images, 50 validation images


def fake_data(seed=0, n_train=N_TRAIN, n_test=N_TEST):
    rng = np.random.default_rng(seed)
    return SimpleNamespace(
        train_images=rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        train_labels=rng.integers(0, 10, n_train),
        test_images=rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        test_labels=rng.integers(0, 10, n_test),
    )


def toy_digits(seed=0, n_train=N_TRAIN, n_test=N_TEST):
    """A learnable toy problem: class k lights a 6x6 block at its own place, plus noise."""
    rng = np.random.default_rng(seed)

    def make(n):
        labels = rng.integers(0, 10, n)
        images = rng.integers(0, 60, (n, 28, 28)).astype(np.uint8)
        for i, k in enumerate(labels):
            r, c = 2 + 8 * (k // 4), 2 + 6 * (k % 4)
            images[i, r:r + 6, c:c + 6] = 250
        return images, labels

    (train_images, train_labels), (test_images, test_labels) = make(n_train), make(n_test)
    return SimpleNamespace(train_images=train_images, train_labels=train_labels,
                           test_images=test_images, test_labels=test_labels)


@pytest.fixture(scope="module")
def data():
    return fake_data()


def config(**kw):
    return TrainConfig(**dict({"val_size": VAL, "epochs": 50}, **kw))


def weights(trainer):
    return {key: value.copy() for key, value in trainer.net.state().items()}


def assert_same_arrays(a: dict, b: dict):
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


# --- reproducibility ------------------------------------------------------------------------------

REPRO_CASES = [
    # batch norm, dropout and every augmentation (their random streams must all be seeded)
    dict(model="tf-cnn-bn", batch_size=4, augment="shift+rotate+flip", seed=3),
    dict(model="nielsen", batch_size=10),
    dict(model="lenet", batch_size=8, optimizer="momentum", lr=0.01, weight_decay=1e-3, augment="shift"),
]


@pytest.mark.parametrize("kw", REPRO_CASES, ids=[c["model"] for c in REPRO_CASES])
def test_same_config_gives_bit_identical_runs(data, kw):
    a, b = Trainer(config(**kw), data), Trainer(config(**kw), data)
    assert_same_arrays(weights(a), weights(b))
    assert a.run(steps=5) == b.run(steps=5) == 5
    assert np.array_equal(a.history.losses, b.history.losses)
    assert all(math.isfinite(loss) for loss in a.history.losses)
    assert_same_arrays(weights(a), weights(b))  # includes batch-norm running statistics


def test_dropout_and_augmentation_draw_fresh_randomness_each_step(data):
    """The bit-identical runs above are not identical because nothing is random: with the
    learning rate ~0, the same images give different losses (dropout, augmentation)."""
    t = Trainer(config(model="tf-cnn-bn", train_size=16, batch_size=16, augment="shift", optimizer="sgd",
                       lr=1e-30), data)
    # One batch is the whole (16-image) training set, so every step sees the same images.
    t.run(steps=3)
    losses = t.history.losses
    assert len(set(losses)) == 3, losses


def test_different_seeds_differ(data):
    kw = dict(model="tf-cnn-bn", batch_size=4, augment="shift")
    a, b = Trainer(config(seed=0, **kw), data), Trainer(config(seed=1, **kw), data)
    assert not np.array_equal(a.net.parameters()["conv1.W"].value, b.net.parameters()["conv1.W"].value)
    a.run(steps=3)
    b.run(steps=3)
    assert not np.array_equal(a.history.losses, b.history.losses)


def test_configs_differing_only_in_optimizer_start_identically(data):
    kw = dict(model="lenet", batch_size=8, augment="shift+rotate", seed=5)
    sgd, adam = config(optimizer="sgd", lr=0.05, **kw), config(optimizer="adam", lr=0.001, **kw)
    a, b = Trainer(sgd, data), Trainer(adam, data)
    assert_same_arrays(weights(a), weights(b))
    (xa, ya), (xb, yb) = a.next_batch(), b.next_batch()
    np.testing.assert_array_equal(xa, xb)
    np.testing.assert_array_equal(ya, yb)
    # The first step sees the same batch with the same weights: the same loss, to the bit.
    a, b = Trainer(sgd, data), Trainer(adam, data)
    a.run(steps=1)
    b.run(steps=1)
    assert a.history.losses[0] == b.history.losses[0]
    assert not np.array_equal(a.net.parameters()["conv1.W"].value, b.net.parameters()["conv1.W"].value)


# --- stepping and epochs --------------------------------------------------------------------------


def test_run_steps_advances_by_n(data):
    t = Trainer(config(model="zhou-cnn"), data)
    assert t.run(steps=7) == 7 and t.step == 7 and len(t.history.losses) == 7
    assert t.run(steps=4) == 4 and t.step == 11 and len(t.history.losses) == 11
    assert t.run(steps=0) == 0 and t.step == 11


def test_run_seconds_stops(data):
    t = Trainer(config(model="zhou-cnn", epochs=1000), data)
    assert t.run(seconds=0) == 0
    start = time.perf_counter()
    done = t.run(seconds=0.3)
    elapsed = time.perf_counter() - start
    assert done > 0 and t.step == done and not t.finished
    assert 0.3 <= elapsed < 0.3 + 5.0  # one step and one epoch evaluation of slack, on a busy machine


def test_epochs_produce_epoch_records(data):
    t = Trainer(config(model="nielsen", batch_size=50, epochs=3), data)
    assert (t.steps_per_epoch, t.total_steps) == (5, 15)
    seen = []
    done = t.run(on_epoch=seen.append)
    assert done == 15 and t.step == 15 and t.epoch == 3 and t.finished
    records = t.history.epochs
    assert seen == records and len(records) == 3
    for number, record in enumerate(records, start=1):
        assert isinstance(record, EpochRecord)
        assert (record.epoch, record.step) == (number, 5 * number)
        assert record.loss == pytest.approx(np.mean(t.history.losses[5 * (number - 1):5 * number]), rel=1e-12)
        assert 0 <= record.train_accuracy <= 1 and 0 <= record.val_accuracy <= 1
        assert record.seconds > 0 and record.images_per_second > 0
    # The last record's accuracies are those of the final weights.
    last = records[-1]
    assert last.val_accuracy == t.net.accuracy(data.train_images[250:], data.train_labels[250:])
    assert last.train_accuracy == t.net.accuracy(data.train_images[:250], data.train_labels[:250])
    assert t.history.test_accuracy is None  # the test set is only evaluated when asked
    assert t.evaluate_test() == t.net.accuracy(data.test_images, data.test_labels) == t.history.test_accuracy
    assert t.run(steps=5) == 0  # finished


def test_split_and_every_image_once_per_epoch(data):
    t = Trainer(config(model="nielsen", batch_size=64, train_size=200), data)
    np.testing.assert_array_equal(t.train_idx, np.arange(200))
    np.testing.assert_array_equal(t.val_idx, np.arange(250, 300))  # the last VAL images validate
    assert t.steps_per_epoch == 4  # 64 + 64 + 64 + 8

    class Recorder:
        def __init__(self, images):
            self.images, self.calls = images, []

        def __getitem__(self, index):
            self.calls.append(np.array(index))
            return self.images[index]

    recorder = Recorder(data.train_images)
    t.data = SimpleNamespace(train_images=recorder, train_labels=data.train_labels,
                             test_images=data.test_images, test_labels=data.test_labels)
    for _ in range(4):
        t.train_step()
    sizes = [len(c) for c in recorder.calls]
    assert sizes == [64, 64, 64, 8]
    np.testing.assert_array_equal(np.sort(np.concatenate(recorder.calls)), np.arange(200))
    first_epoch = np.concatenate(recorder.calls)
    for _ in range(4):
        t.train_step()
    second_epoch = np.concatenate(recorder.calls[4:])
    np.testing.assert_array_equal(np.sort(second_epoch), np.arange(200))
    assert not np.array_equal(first_epoch, second_epoch)  # reshuffled every epoch


def test_training_learns_a_learnable_problem():
    toy = toy_digits()
    t = Trainer(config(model="zhou-cnn", epochs=1), toy)  # 250 steps of one image each
    t.run()
    assert t.finished and t.evaluate_test() >= 0.9
    losses = t.history.losses
    assert np.mean(losses[-50:]) < 0.5 * np.mean(losses[:50])


def test_monitor_records_norms(data):
    t = Trainer(config(model="lenet", batch_size=4), data, monitor_every=2)
    t.run(steps=4)
    assert [step for step, _, _ in t.history.norms] == [2, 4]
    _, weight_norms, grad_norms = t.history.norms[-1]
    assert set(weight_norms) == set(grad_norms) == {f"{layer}.W" for layer in ("conv1", "conv2", "dense1", "dense2", "dense3")}
    assert weight_norms["dense1.W"] == pytest.approx(float(np.linalg.norm(t.net.parameters()["dense1.W"].value)), rel=1e-6)


# --- learning rate ----------------------------------------------------------------------------


def test_set_learning_rate_applies_from_next_step(data):
    kw = dict(model="nielsen", optimizer="sgd", lr=3.0)
    t, twin = Trainer(config(**kw), data), Trainer(config(**kw), data)
    w = t.net.parameters()["dense1.W"]

    def step_and_delta():
        before = w.value.copy()
        t.run(steps=1)
        return w.value - before, w.grad.copy()

    delta, grad = step_and_delta()
    np.testing.assert_allclose(delta, -3.0 * grad, rtol=1e-4, atol=1e-6)
    t.set_learning_rate(0.25)
    assert t.optimizer.lr == 0.25
    delta, grad = step_and_delta()
    assert np.abs(grad).max() > 1e-4
    np.testing.assert_allclose(delta, -0.25 * grad, rtol=1e-4, atol=1e-6)
    twin.run(steps=3)
    t.run(steps=1)
    assert twin.history.losses[:2] == t.history.losses[:2]  # identical until the change
    assert twin.history.losses[2] != t.history.losses[2]


def test_lr_decay_multiplies_the_learning_rate_after_every_epoch(data):
    t = Trainer(config(model="nielsen", batch_size=50, epochs=3, optimizer="sgd", lr=2.0, lr_decay=0.5), data)
    rates = []
    t.run(on_epoch=lambda record: rates.append(t.optimizer.lr))
    assert rates == [1.0, 0.5, 0.25]


# --- divergence and invalid configs ---------------------------------------------------------------


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("model, batch", [("lenet", 4), ("keras-mlp", 4)])
def test_absurd_learning_rate_stops_with_advice(data, model, batch):
    t = Trainer(config(model=model, optimizer="sgd", lr=1e6, batch_size=batch, epochs=2), data)
    done = t.run()  # must not raise
    assert t.stop_reason is not None and t.finished
    assert done == t.step < 100
    reason = t.stop_reason
    assert f"step {t.step + 1}" in reason  # the step that failed
    assert "1e+06" in reason and "10x smaller" in reason and "100000" in reason
    assert all(math.isfinite(loss) for loss in t.history.losses)
    assert t.run(steps=3) == 0


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"])
def test_every_optimizer_at_learning_rate_1000_is_stopped(data, optimizer):
    """Adaptive optimizers rarely overflow (their steps are about lr whatever the gradient): the loss
    just stays high. Such a run is stopped too, with the same advice, well before it ends."""
    t = Trainer(config(model="keras-mlp", optimizer=optimizer, lr=1000.0, batch_size=16, epochs=10), data)
    t.run()
    assert t.stop_reason is not None, f"{optimizer}: trained {t.step} steps at lr 1000 without a warning"
    assert t.step <= DIVERGE_WINDOW < t.total_steps
    assert "1000" in t.stop_reason and "10x smaller (100)" in t.stop_reason


@pytest.mark.parametrize("model, init, batch", [("nielsen", "std1", 16), ("keras-mlp", "std1", 16), ("zhou-cnn", "xavier", 1)])
def test_a_healthy_run_is_not_taken_for_divergence(model, init, batch):
    """A high starting loss (std 1 weights) or noisy one-image batches are no divergence."""
    t = Trainer(config(model=model, init=init, batch_size=batch, epochs=5), toy_digits())
    t.run()
    assert t.stop_reason is None and t.step == t.total_steps > DIVERGE_WINDOW


def test_divergence_threshold_is_a_multiple_of_the_first_loss_or_chance(data):
    t = Trainer(config(model="keras-mlp"), data)
    assert t.divergence_threshold == pytest.approx(DIVERGE_FACTOR * math.log(10))  # before any step: chance
    t.run(steps=1)
    assert t.divergence_threshold == pytest.approx(DIVERGE_FACTOR * max(t.history.losses[0], math.log(10)))


INVALID = [
    (dict(lr=0.0), "learning rate"),
    (dict(lr=-0.1), "learning rate"),
    (dict(lr=float("nan")), "learning rate"),
    (dict(lr=float("inf")), "learning rate"),
    (dict(optimizer="adamw"), "adamw"),
    (dict(model="resnet"), "resnet"),
    (dict(augment="mixup"), "mixup"),
    (dict(augment="shift+blur"), "blur"),
    (dict(batch_size=-1), "Batch size"),
    (dict(epochs=-2), "epochs"),
    (dict(train_size=0), "training-set"),
    (dict(val_size=60000), "validation"),
    (dict(lr_decay=0.0), "decay"),
    (dict(lr_decay=1.5), "decay"),
]


@pytest.mark.parametrize("kw, words", INVALID, ids=[str(c[0]) for c in INVALID])
def test_invalid_config_raises_readable_error(data, kw, words):
    cfg = config(**dict({"model": "nielsen"}, **kw))
    with pytest.raises(ValueError, match=words):
        cfg.resolved()
    with pytest.raises(ValueError, match=words):
        Trainer(cfg, data)


@pytest.mark.parametrize("kw, words", [
    (dict(init="glorot"), "glorot"), (dict(activation="gelu"), "gelu"), (dict(hyper={"foo": 1.0}), "foo"),
])
def test_invalid_model_or_optimizer_options_raise(data, kw, words):
    with pytest.raises(ValueError, match=words):
        Trainer(config(model="lenet", **kw), data)


def test_recipe_defaults_fill_the_config():
    c = TrainConfig(model="nielsen").resolved()
    assert (c.optimizer, c.lr, c.batch_size, c.init, c.activation, c.augment) == ("sgd", 3.0, 10, "std1", "sigmoid", "none")
    assert TrainConfig(model="tf-cnn-bn").resolved().augment == "shift"
    assert TrainConfig(model="lenet", lr=0.5, optimizer="momentum").resolved().lr == 0.5


# --- the full MNIST -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def mnist(mnist_dir):
    from explorer.data.mnist import load_mnist

    loaded = load_mnist(mnist_dir)
    assert loaded.train_images.shape == (60000, 28, 28) and loaded.train_images.dtype == np.uint8
    assert loaded.test_images.shape == (10000, 28, 28)
    return loaded


@pytest.mark.mnist
@pytest.mark.parametrize("model, floor", [("nielsen", 0.80), ("zhou-cnn", 0.85)])
def test_one_epoch_on_10000_mnist_images(mnist, model, floor):
    """The article recipes (seed 0) reach their accuracy after one epoch on 10,000 images."""
    t = Trainer(TrainConfig(model=model, train_size=10000, epochs=1, seed=0), mnist)
    assert len(t.train_idx) == 10000
    t.run()
    assert t.finished and t.stop_reason is None and t.step == t.total_steps
    accuracy = t.evaluate_test()
    assert accuracy == t.history.test_accuracy
    assert accuracy >= floor, f"{model}: test accuracy {accuracy:.3f} < {floor}"
