"""Comparison logic (same weights, same batches, fair stepping), live runs and optimizer paths.

Uses a small random stand-in for MNIST (same dtypes and shapes), so it runs everywhere in seconds."""
import threading
import time
from types import SimpleNamespace

import numpy as np
import pytest

from explorer.i18n import LANGUAGES, catalog
from explorer.lab.compare import (
    MAX_CONFIGS, PRESETS, Comparison, CurveLog, LiveRun, Monitor, Problem, Result, downsample, final_loss, footprint_bytes, preset,
    preset_configs, record_of, run_label, smooth, varying_label,
)  # fmt: skip
from explorer.lab.optim_paths import SURFACES, optimizer_path
from explorer.nn.training import TrainConfig


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (5600, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, 5600).astype(np.uint8)
    return SimpleNamespace(train_images=images, train_labels=labels, test_images=images[:300], test_labels=labels[:300])


BASE = TrainConfig(model="nielsen", batch_size=20, epochs=1, train_size=400, seed=3)


def small(configs, **changes):
    """A preset's configs on the stand-in data: fewer images and epochs, all else as the preset has it."""
    changes = {"train_size": 400, "epochs": 1, **changes}
    return [TrainConfig(**{**c.to_dict(), **changes}) for c in configs]


def test_optimizer_preset_starts_from_identical_weights_and_batches(data):
    cmp = Comparison(small(preset_configs("optimizers")), data)
    assert [r.config.optimizer for r in cmp.runs] == ["sgd", "momentum", "adagrad", "adam"]
    first = cmp.runs[0].net.state()
    for run in cmp.runs[1:]:
        for name, value in run.net.state().items():
            assert np.array_equal(value, first[name]), name
            assert value is not first[name]  # own copy: training one must not move the others
    batches = [run.trainer.next_batch() for run in cmp.runs]
    for x, y in batches[1:]:
        assert np.array_equal(x, batches[0][0]) and np.array_equal(y, batches[0][1])  # bit-identical first batch


def test_init_preset_differs_in_weights_but_not_in_batch_order(data):
    cmp = Comparison(small(preset_configs("inits")), data)
    w = [run.net.parameters()["dense1.W"].value for run in cmp.runs]
    assert np.std(w[0]) < 0.02 < np.std(w[1])
    assert not np.array_equal(w[1], w[2])
    orders = [run.trainer.batch_rng.permutation(10) for run in cmp.runs]
    assert all(np.array_equal(o, orders[0]) for o in orders)


def test_training_moves_runs_apart_and_stepping_is_fair(data):
    cmp = Comparison(small(preset_configs("optimizers"), model="nielsen", batch_size=20), data)
    assert cmp.advance(seconds=0.3) == 0  # not started
    cmp.running = True
    cmp.advance(seconds=0.3)
    steps = [run.step for run in cmp.runs]
    assert min(steps) >= 1 and max(steps) - min(steps) <= 1
    weights = [run.net.parameters()["dense1.W"].value for run in cmp.runs]
    assert not np.array_equal(weights[0], weights[3])
    while not cmp.done:
        cmp.advance(seconds=1)
    assert all(run.step == run.trainer.total_steps for run in cmp.runs)
    assert all(len(run.losses) == run.step for run in cmp.runs)


def test_comparison_limits(data):
    with pytest.raises(ValueError):
        Comparison([BASE] * (MAX_CONFIGS + 1), data)
    with pytest.raises(ValueError):
        Comparison([BASE, TrainConfig(**{**BASE.to_dict(), "seed": 4})], data)
    assert set(PRESETS) == {"optimizers", "inits", "augment"}
    with pytest.raises(ValueError, match="Unknown comparison"):
        preset("SGD vs Momentum")


def test_live_run_divergence_is_a_message_not_an_exception(data):
    run = LiveRun(TrainConfig(model="keras-mlp", optimizer="sgd", lr=1000.0, batch_size=20, train_size=400, epochs=2), data)
    for _ in range(20):
        run.advance(steps=10)
        if run.done:
            break
    assert run.status == "diverged"
    assert "learning rate" in run.message and "smaller" in run.message
    english = catalog("en")[f"train.stop.{run.message_code}"].format(**run.message_params)
    assert english == run.message  # the page's text (from its code) says what the CLI says


def test_live_run_finishes_with_test_evaluation_and_footprint(data):
    run = LiveRun(BASE, data)
    while run.status != "evaluating":
        run.advance(seconds=1)
    run.evaluate()
    assert run.status == "finished"
    assert run.trainer.history.test_accuracy == pytest.approx(float((run.evaluator.predictions == data.test_labels).mean()))
    assert run.evaluator.confusion().sum() == len(data.test_labels)
    sizes = footprint_bytes(run.trainer)
    assert sizes["parameters"] == 4 * run.net.parameter_count()
    assert sizes["buffers"] == 0  # released at the end


def test_footprint_counts_both_copies_of_a_network_that_trains_in_halves():
    """A batch split over two copies of the network: the twin's caches and gradients and every
    worker's im2col buffer count too."""
    from explorer.nn.models import build_model
    from explorer.nn.optimizers import make_optimizer

    net = build_model("lenet", seed=0)
    trainer = SimpleNamespace(net=net, optimizer=make_optimizer("adam", net.parameters().values()))
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (64, 28, 28), dtype=np.uint8)
    net.train_step_gradients(net.prepare(images), rng.integers(0, 10, 64))
    assert len(net.copies()) == 2
    twin = net.copies()[1]
    sizes = footprint_bytes(trainer)
    assert sizes["gradients"] == 2 * 4 * net.parameter_count()
    twin_arrays = [a for layer in twin.layers for a in vars(layer).values() if isinstance(a, np.ndarray)]
    twin_buffers = sum(a.nbytes for a in twin_arrays if a.base is None)
    work = [b for layer in net.layers + twin.layers for b in getattr(layer, "_work", []) if b is not None]
    work_buffers = sum(b.nbytes for b in work)
    assert work_buffers > 0 and sizes["buffers"] >= twin_buffers + work_buffers


# Streamlit can run two script threads of one session at once for a moment: a click starts a
# new run while the old thread still trains. These tests play both threads.
def test_pausing_from_another_thread_ends_the_slice_early(data):
    run = LiveRun(TrainConfig(model="lenet", batch_size=20, train_size=5000, epochs=5), data)
    run.status = "running"
    trainer = threading.Thread(target=run.advance, kwargs={"seconds": 60})
    trainer.start()
    while run.step < 2:
        time.sleep(0.01)
    run.status = "paused"
    trainer.join(timeout=20)
    assert not trainer.is_alive()
    assert run.status == "paused" and 2 <= run.step < run.trainer.total_steps


def test_pausing_a_comparison_from_another_thread_ends_the_slice_early(data):
    cmp = Comparison(small(preset_configs("optimizers"), model="nielsen", batch_size=20, epochs=50), data)
    cmp.running = True
    trainer = threading.Thread(target=cmp.advance, kwargs={"seconds": 60})
    trainer.start()
    time.sleep(0.2)
    cmp.running = False
    trainer.join(timeout=20)
    assert not trainer.is_alive() and not cmp.done


def test_predicting_while_another_thread_trains_is_safe(data):
    """Forward passes of another batch size between a training step's forward and backward
    used to break the step (the layers' cached arrays no longer fit): the network's lock
    keeps every pass whole."""
    run = LiveRun(TrainConfig(model="lenet", batch_size=20, train_size=5000, epochs=5), data)
    run.status = "running"

    def train_in_slices():  # like the page's timer: short slices, other work in between
        for _ in range(40):
            run.advance(steps=2)

    trainer = threading.Thread(target=train_in_slices)
    trainer.start()
    predictions = 0
    while trainer.is_alive():
        run.net.predict_proba(data.test_images[:6])
        run.release()
        predictions += 1
    assert predictions > 5
    assert run.status == "running", run.message
    assert run.step == 80


def test_monitor_sees_saturation_and_collapse(data):
    std1 = Monitor(LiveRun(TrainConfig(model="nielsen", init="std1", train_size=400), data).net, data.test_images[:64])
    tiny = Monitor(LiveRun(TrainConfig(model="nielsen", init="std0.01", train_size=400), data).net, data.test_images[:64])
    saturated = std1.current[0].fractions[[0, -1]].sum()  # share of sigmoid outputs in the end bins
    assert saturated > 0.5
    assert tiny.current[0].std < 0.1 < std1.current[0].std  # collapsed near 0.5 vs spread out


def test_curve_helpers():
    log = CurveLog()
    for i in range(1000):
        log.extend([i, i + 0.5])
    assert len(log) == 2000 and log.values[-1] == 999.5 and log.values.dtype == np.float32
    steps, values = downsample(np.arange(10_000, dtype=float), 1000)
    assert len(steps) <= 1001 and steps[-1] == 10_000
    assert values[0] == pytest.approx(np.mean(np.arange(10)))
    assert np.allclose(smooth(np.full(50, 3.0)), 3.0)


# --- presets: complete, fair experiments -------------------------------------------------------
@pytest.mark.parametrize("preset_id", list(PRESETS))
def test_every_preset_fixes_everything_but_what_it_compares(preset_id):
    p = PRESETS[preset_id]
    for lang in LANGUAGES:  # the title and claim the page shows
        assert catalog(lang)[f"train.presets.{preset_id}.title"] and catalog(lang)[f"train.presets.{preset_id}.claim"][-1] in ".。"
    assert len(p.runs) >= 2
    for config in p.configs:
        assert None not in (config.optimizer, config.lr, config.init, config.batch_size, config.epochs, config.train_size, config.augment)
        assert config.hyper == {}  # nothing carried over from elsewhere (issue 14: "SGD has no hyperparameter eps, rho")
    fixed = ("model", "batch_size", "epochs", "train_size", "seed", "val_size")
    assert all(len({getattr(c, name) for c in p.configs}) == 1 for name in fixed)
    assert len(set(p.labels)) == len(p.labels)


def test_preset_labels_name_what_differs():
    assert preset("inits").labels == ["std 0.01 init", "Xavier init", "He init"]
    assert preset("optimizers").labels == ["SGD η=0.01", "Momentum η=0.01", "AdaGrad η=0.01", "Adam η=0.001"]
    assert preset("augment").labels == ["no augmentation", "shifts", "shifts + rotations", "shifts + flips"]
    inits = [c.resolved() for c in preset("inits").configs]
    assert [varying_label(c, inits) for c in inits] == preset("inits").labels  # not "RMSprop η=0.001"
    for preset_id, p in PRESETS.items():  # the page relabels a preset's runs in the reader's language from their configs
        configs = [c.resolved() for c in p.configs]
        assert [run_label(c, configs) for c in configs] == p.labels, preset_id


def test_run_labels_take_the_words_of_the_page():
    configs = [c.resolved() for c in preset("augment").configs]
    shouted = [run_label(c, configs, lambda kind, value: f"{kind}:{value}".upper()) for c in configs]
    assert shouted == ["AUGMENT:NONE", "AUGMENT:SHIFT", "AUGMENT:SHIFT+ROTATE", "AUGMENT:SHIFT+FLIP"]
    single = run_label(configs[0], [], lambda kind, value: f"<{kind} {value}>")
    assert single.endswith("<batch 64>") and "lenet" in single


def test_init_preset_labels_reach_the_run_list(data):
    cmp = Comparison(small(preset_configs("inits")), data)
    cmp.running = True
    while not cmp.done:
        cmp.advance(seconds=1)
    assert [record_of(run).label for run in cmp.runs] == ["std 0.01 init", "Xavier init", "He init"]
    records = [record_of(run) for run in cmp.runs]  # a record keeps its peers, so the page can label it in any language
    peers = [TrainConfig(**peer) for peer in records[0].peers]
    assert [run_label(TrainConfig(**r.config), peers) for r in records] == ["std 0.01 init", "Xavier init", "He init"]


def test_preset_checks_see_a_broken_claim():
    inits = preset("inits")
    good = {"std 0.01 init": Result("std 0.01 init", 2.30, 0.10), "Xavier init": Result("Xavier init", 0.9, 0.8),
            "He init": Result("He init", 0.45, 0.89)}  # fmt: skip
    assert inits.problems(good) == []
    assert inits.problems({**good, "std 0.01 init": Result("std 0.01 init", 0.5, 0.85)})  # std 0.01 learned
    assert inits.problems({**good, "Xavier init": Result("Xavier init", 0.45, 0.89)})  # on top of He
    assert inits.problems({k: v for k, v in good.items() if k != "He init"}) == [Problem("missing", {"labels": "He init"})]
    learned = inits.problems({**good, "std 0.01 init": Result("std 0.01 init", 0.5, 0.85)})
    assert Problem("tiny_learned", {"loss": "0.500"}) in learned
    for problem in learned:  # every problem has its sentence, with the same placeholders, in every language
        for lang in LANGUAGES:
            assert catalog(lang)[f"train.problem.{problem.code}"].format(**problem.params)
    opts = preset("optimizers")
    fine = [Result("SGD η=0.01", 0.43, 0.90), Result("Momentum η=0.01", 0.15, 0.95), Result("AdaGrad η=0.01", 0.08, 0.96),
            Result("Adam η=0.001", 0.09, 0.96)]  # fmt: skip
    assert opts.problems(fine) == []
    assert opts.problems([*fine[:3], Result("Adam η=0.001", 0.40, 0.91)])
    aug = preset("augment")
    ok = [Result("no augmentation", 0.1, 0.96, 0.85), Result("shifts", 0.2, 0.96, 0.85), Result("shifts + rotations", 0.2, 0.97, 0.89),
          Result("shifts + flips", 0.4, 0.91, 0.72)]  # fmt: skip
    assert aug.problems(ok) == []
    assert aug.problems([*ok[:3], Result("shifts + flips", 0.2, 0.97, 0.90)])
    assert aug.problems([ok[0], Result("shifts", 0.2, 0.96, 0.90), *ok[2:]])  # rotations not the best on rotated digits


def test_final_loss_is_the_mean_of_the_last_steps():
    assert final_loss(np.r_[np.full(100, 5.0), np.full(50, 1.0)]) == 1.0
    assert np.isnan(final_loss([]))


@pytest.mark.mnist
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("preset_id", list(PRESETS))
def test_preset_claim_holds_on_mnist(preset_id, mnist_dir):
    """The real preset, as the page runs it: its claim holds on its own numbers."""
    from explorer.data.mnist import load_mnist

    mnist = load_mnist(mnist_dir)
    cmp = Comparison.of_preset(preset_id, mnist)
    cmp.running = True
    while not cmp.done:
        cmp.advance(seconds=5)
    out = cmp.results()
    print(preset_id, [(r.label, round(r.final_loss, 3), r.val_accuracy, r.rotated_accuracy) for r in out])
    assert all(run.status == "finished" for run in cmp.runs)
    assert PRESETS[preset_id].problems(out) == []
    assert (out[0].rotated_accuracy is not None) == PRESETS[preset_id].rotated_test


# --- optimizer paths ---------------------------------------------------------------------------
def test_sgd_on_the_bowl_follows_the_formula():
    path = optimizer_path("sgd", start=(-7, 2), steps=3, lr=0.95)
    x, y = -7.0, 2.0
    for point in path[1:]:
        x, y = x - 0.95 * x / 10, y - 0.95 * 2 * y
        assert point == pytest.approx([x, y])


def test_adam_reaches_the_minimum_and_sgd_zigzags():
    end = optimizer_path("adam", steps=300)[-1]
    assert np.hypot(*end) < 0.1
    ys = optimizer_path("sgd", steps=10)[:, 1]
    assert np.all(np.sign(ys[1:]) != np.sign(ys[:-1]))  # y flips sign every step: the zig-zag


def test_why_text_depends_on_the_surface():
    def why(optimizer, surface, lang="en"):
        return catalog(lang).get(f"train.paths.why.{surface}.{optimizer}", "")

    assert "zig-zag" in why("sgd", "bowl") and "bowl" not in why("sgd", "valley").lower()
    assert "floor" in why("sgd", "valley")
    names = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam")
    assert all(why(name, surface, lang) for name in names for surface in SURFACES for lang in LANGUAGES)
    assert all(catalog(lang).get(f"train.paths.surface.{surface}") for surface in SURFACES for lang in LANGUAGES)


def test_every_optimizer_path_is_finite_even_when_it_diverges():
    for name in ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"):
        for surface in SURFACES:
            path = optimizer_path(name, surface_name=surface)
            assert np.isfinite(path).all() and path.shape[1] == 2
    assert len(optimizer_path("sgd", steps=50, lr=50.0)) < 51  # cut where it blew up
    with pytest.raises(ValueError):
        optimizer_path("lbfgs")
