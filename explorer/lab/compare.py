"""Live runs and fair comparisons for the Train page (core: no streamlit).

A LiveRun wraps one Trainer with what a live page needs: compact loss storage, a monitor that
looks inside the network on a fixed probe batch, an incremental test-set evaluation, speed
and memory figures. A Comparison trains two to six LiveRuns from the same initial weights and
the same mini-batch order, stepping them round-robin under one shared time budget.
"""
from __future__ import annotations

import hashlib
import math
import secrets
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from explorer.data.augment import REAL_WORLD, rotated_sample
from explorer.nn.layers import ReLU
from explorer.nn.metrics import confusion_matrix
from explorer.nn.optimizers import OPTIMIZERS
from explorer.nn.training import TrainConfig, Trainer

MAX_CONFIGS = 6
EVAL_SAMPLE = 1000  # images for the per-epoch train and validation accuracy of a live run
PROBE_SIZE = 64  # fixed batch for activation histograms and dead ReLUs
MAX_MONITOR_POINTS = 400  # norm/dead-ReLU series are thinned beyond this
MAX_CURVE_POINTS = 1500  # plotted loss curves are bucket-averaged down to this
MAX_RUN_LIST = 12
HIST_BINS = 30
TEST_CHUNK = 250

# --- compact curves ------------------------------------------------------------------------
class CurveLog:
    """Per-step losses as float32 in a growing buffer (4 bytes a step, amortised appends)."""

    def __init__(self):
        self._values = np.zeros(256, np.float32)
        self._size = 0

    def extend(self, values) -> None:
        values = np.asarray(values, np.float32)
        need = self._size + len(values)
        if need > len(self._values):
            grown = np.zeros(max(need, 2 * len(self._values)), np.float32)
            grown[: self._size] = self._values[: self._size]
            self._values = grown
        self._values[self._size : need] = values
        self._size = need

    @property
    def values(self) -> np.ndarray:
        return self._values[: self._size]

    def __len__(self) -> int:
        return self._size

    @property
    def nbytes(self) -> int:
        return self._values.nbytes


def downsample(values, max_points: int = MAX_CURVE_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """(steps, values) with at most `max_points` points: bucket means; steps are 1-based bucket ends."""
    values = np.asarray(values, dtype=np.float64)
    n = len(values)
    if n <= max_points:
        return np.arange(1, n + 1), values
    size = math.ceil(n / max_points)
    full = n // size * size
    means = values[:full].reshape(-1, size).mean(axis=1)
    steps = np.arange(size, full + 1, size)
    if full < n:
        means = np.append(means, values[full:].mean())
        steps = np.append(steps, n)
    return steps, means


def smooth(values, weight: float = 0.9) -> np.ndarray:
    """Exponential moving average with bias correction (TensorBoard-style smoothing)."""
    values = np.asarray(values, dtype=np.float64)
    out = np.empty_like(values)
    average, norm = 0.0, 0.0
    for i, v in enumerate(values):
        average = weight * average + (1 - weight) * v
        norm = weight * norm + (1 - weight)
        out[i] = average / norm
    return out


# --- trainers ------------------------------------------------------------------------------
class LiveTrainer(Trainer):
    """A Trainer whose per-epoch accuracies use EVAL_SAMPLE images, so an epoch end costs a
    fraction of a second even for the deep models (the final test uses all 10,000)."""

    eval_sample = EVAL_SAMPLE

    def accuracy_on(self, train_indices):
        return super().accuracy_on(train_indices[: self.eval_sample])


def footprint_bytes(trainer: Trainer) -> dict[str, int]:
    """Memory one run holds: parameters, gradients, optimizer state, cached forward buffers
    (of both copies of the network when it trains its batches in halves)."""
    params = trainer.net.parameters().values()
    held = {}  # each block of memory once, however many views of it the layers keep
    for layer in (layer for net in trainer.net.copies() for layer in net.layers):
        for value in vars(layer).values():
            for array in value if isinstance(value, list) else [value]:  # a list: one buffer per worker
                if isinstance(array, np.ndarray):
                    owner = array if array.base is None else array.base
                    held[id(owner)] = getattr(owner, "nbytes", array.nbytes)
    buffers = sum(held.values())
    gradients = [p.grad for net in trainer.net.copies() for p in net.parameters().values() if p.grad is not None]
    return {
        "parameters": sum(p.value.nbytes for p in params),
        "gradients": sum(g.nbytes for g in gradients),
        "optimizer state": sum(a.nbytes for state in trainer.optimizer.state for a in state.values()),
        "buffers": buffers,
    }


# --- looking inside ------------------------------------------------------------------------
@dataclass
class LayerHistogram:
    name: str
    edges: np.ndarray
    fractions: np.ndarray  # share of the values in each bin (of those binned)
    std: float
    zero_fraction: float  # exactly-zero outputs (ReLU), excluded from the bins


def watched_layers(net) -> list[int]:
    """Indices of the layers whose outputs the histograms show: the activations, or (for
    models without any) every layer with weights but the last."""
    acts = [i for i, layer in enumerate(net.layers) if layer.kind == "activation"]
    if acts:
        return acts
    weighted = [i for i, layer in enumerate(net.layers) if layer.parameters()]
    return weighted[:-1] or weighted


def layer_histogram(name: str, layer, values: np.ndarray) -> LayerHistogram:
    values = np.asarray(values, np.float64).ravel()
    values = values[np.isfinite(values)]
    if values.size == 0:
        return LayerHistogram(name, np.linspace(0, 1, HIST_BINS + 1), np.zeros(HIST_BINS), float("nan"), 0.0)
    kind = type(layer).__name__
    zero_fraction = 0.0
    if kind == "Sigmoid":
        low, high = 0.0, 1.0
    elif kind == "Tanh":
        low, high = -1.0, 1.0
    else:
        if kind == "ReLU":
            zero_fraction = float((values == 0).mean())
            values = values[values != 0]
        low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 1.0)
        if high - low < 1e-12:
            low, high = low - 0.5, high + 0.5
    counts, edges = np.histogram(values, bins=HIST_BINS, range=(low, high))
    total = counts.sum()
    std = float(np.std(values)) if values.size else 0.0
    return LayerHistogram(name, edges, counts / total if total else counts.astype(float), std, zero_fraction)


class Monitor:
    """Per-layer weight and gradient norms and dead-ReLU fractions over time, and activation
    histograms on a fixed probe batch (at the start and now). Series stay short: beyond
    MAX_MONITOR_POINTS every other point is dropped."""

    def __init__(self, net, probe_images: np.ndarray):
        self.probe = net.prepare(probe_images)
        self.steps: list[int] = []
        self.weight_norms: dict[str, list[float]] = {}
        self.grad_norms: dict[str, list[float]] = {}
        self.dead: dict[str, list[float]] = {}
        self.initial: list[LayerHistogram] = []
        self.current: list[LayerHistogram] = []
        self.record(net, 0)

    def record(self, net, step: int) -> None:
        with np.errstate(all="ignore"):
            outputs = net.trace(self.probe)
            watched = watched_layers(net)
            self.current = [layer_histogram(net.names[i], net.layers[i], outputs[i]) for i in watched]
            if not self.initial:
                self.initial = self.current
            weights, grads = net.weight_norms(), net.gradient_norms()
            dead = {
                net.names[i]: float((outputs[i].reshape(len(self.probe), -1) <= 0).all(axis=0).mean())
                for i, layer in enumerate(net.layers)
                if isinstance(layer, ReLU)
            }
        n = len(self.steps)
        self.steps.append(step)
        for series, values in ((self.weight_norms, weights), (self.grad_norms, grads), (self.dead, dead)):
            for name in values.keys() | series.keys():
                series.setdefault(name, [math.nan] * n).append(values.get(name, math.nan))
        if len(self.steps) > MAX_MONITOR_POINTS:
            self._thin()

    def _thin(self) -> None:
        keep = slice(None, None, 2)
        last = self.steps[-1]
        self.steps = self.steps[keep]
        for series in (self.weight_norms, self.grad_norms, self.dead):
            for name in series:
                series[name] = series[name][keep]
        if self.steps[-1] != last:  # keep the newest point in the thinned series
            self.steps.pop()
            for series in (self.weight_norms, self.grad_norms, self.dead):
                for name in series:
                    series[name].pop()

    @property
    def nbytes(self) -> int:
        points = len(self.steps) * (1 + len(self.weight_norms) + len(self.grad_norms) + len(self.dead))
        return self.probe.nbytes + 8 * points


class TestEvaluator:
    """Predicts the 10,000 test images in chunks, so a page can spread the work over reruns."""

    def __init__(self, net, images: np.ndarray, labels: np.ndarray):
        self.net, self.images, self.labels = net, images, labels
        self.predictions = np.zeros(len(labels), np.int8)
        self.confidence = np.zeros(len(labels), np.float32)
        self.done_count = 0

    @property
    def done(self) -> bool:
        return self.done_count >= len(self.labels)

    def advance(self, seconds: float | None = None) -> None:
        start = time.perf_counter()
        while not self.done and (seconds is None or time.perf_counter() - start < seconds):
            chunk = slice(self.done_count, min(self.done_count + TEST_CHUNK, len(self.labels)))
            with np.errstate(all="ignore"):
                proba = self.net.predict_proba(self.images[chunk])
            self.predictions[chunk] = proba.argmax(axis=1)
            self.confidence[chunk] = proba.max(axis=1)
            self.done_count = chunk.stop

    @property
    def accuracy(self) -> float:
        return float((self.predictions == self.labels).mean())

    def confusion(self) -> np.ndarray:
        return confusion_matrix(self.labels, self.predictions)

    def misclassified(self, limit: int = 24) -> np.ndarray:
        """Indices of wrong test predictions, the most confident mistakes first."""
        wrong = np.flatnonzero(self.predictions != self.labels)
        return wrong[np.argsort(-self.confidence[wrong], kind="stable")][:limit]


# --- one live run --------------------------------------------------------------------------
class LiveRun:
    """One trainer plus everything the live page shows about it."""

    def __init__(self, config: TrainConfig, data, label: str = "", monitor: bool = True, net=None, test_at_end: bool = True):
        self.trainer = LiveTrainer(config, data, net=net)
        self.config = self.trainer.config
        self.data = data
        self.label = label or describe(self.config)
        self.losses = CurveLog()
        probe = data.train_images[self.trainer.val_idx[:PROBE_SIZE]] if len(self.trainer.val_idx) else data.test_images[:PROBE_SIZE]
        self.monitor = Monitor(self.trainer.net, probe) if monitor else None
        self.test_at_end = test_at_end
        self.evaluator: TestEvaluator | None = None
        self.status = "ready"  # ready, running, paused, evaluating, finished, diverged or failed
        self.message: str | None = None  # why it stopped, in English (logs, CLI)
        self.message_code: str | None = None  # the same for the pages: catalog key train.stop.<code>, and its parameters
        self.message_params: dict = {}
        self.peers: list[TrainConfig] = []  # the configurations it was compared with (none: a single run)
        self.train_seconds = 0.0
        self.recent_rate: float | None = None  # steps per second in the last slice
        self.id = secrets.token_hex(3)  # a short name for the URL (`run=`), so a reload can tell the run is gone

    @property
    def net(self):
        return self.trainer.net

    @property
    def step(self) -> int:
        return self.trainer.step

    @property
    def done(self) -> bool:
        return self.status in ("finished", "diverged", "failed")

    @property
    def epoch_in_progress(self) -> int:
        """The epoch being trained (1-based); the last one once training is over."""
        return min(self.trainer.epoch + 1, self.config.epochs)

    @property
    def steps_per_second(self) -> float:
        return self.recent_rate if self.recent_rate is not None else 0.0

    @property
    def images_per_second(self) -> float:
        return self.steps_per_second * self.config.batch_size

    def advance(self, seconds: float | None = None, steps: int | None = None, record: bool = True) -> int:
        """Train for a slice; afterwards the status says what happened. Never raises.

        The slice ends early when another thread changes the status (a click on Pause)."""
        if self.done or self.status == "evaluating":
            return 0
        if self.trainer.finished:
            self._after_training()
            return 0
        start, status = time.perf_counter(), self.status
        try:
            with np.errstate(all="ignore"):
                done = self.trainer.run(steps=steps, seconds=seconds, should_stop=lambda: self.status != status)
        except Exception as error:  # a bug or an impossible setting: say it plainly, keep the page alive
            self.status, self.message = "failed", f"Training stopped with an error: {error}"
            self.message_code, self.message_params = "error", {"error": str(error)}
            self._drain()
            return 0
        elapsed = time.perf_counter() - start
        self.train_seconds += elapsed
        if done:
            self.recent_rate = done / max(elapsed, 1e-9)
        self._drain()
        if record and self.monitor is not None and done:
            self.monitor.record(self.net, self.step)
        if self.trainer.finished:
            self._after_training()
        return done

    def work(self, seconds: float) -> bool:
        """One turn of the Train page's scheduler: train (or test, at the end) for about
        `seconds`; whether there is more to do. The page's internals view records the monitor at
        its own pace, so the turn does not."""
        if self.status == "running":
            self.advance(seconds=seconds, record=False)
        elif self.status == "evaluating":
            self.evaluate(seconds=seconds)
        return self.status in ("running", "evaluating")

    def _drain(self) -> None:
        losses = self.trainer.history.losses
        if losses:
            self.losses.extend(losses)
            losses.clear()

    def _after_training(self) -> None:
        if self.trainer.stop_reason:
            self.status, self.message = "diverged", self.trainer.stop_reason
            self.message_code, self.message_params = self.trainer.stop_code, self.trainer.stop_params
            self.release()
        elif self.test_at_end:
            self.status = "evaluating"
            self.evaluator = TestEvaluator(self.net, self.data.test_images, self.data.test_labels)
        else:
            self.status = "finished"
            self.release()

    def evaluate(self, seconds: float | None = None) -> None:
        if self.status != "evaluating" or self.evaluator is None:
            return
        self.evaluator.advance(seconds)
        if self.evaluator.done:
            self.trainer.history.test_accuracy = self.evaluator.accuracy
            self.status = "finished"
            self.release()

    def release(self) -> None:
        self.net.release_buffers()

    def footprint(self) -> dict[str, int]:
        sizes = footprint_bytes(self.trainer)
        sizes["curves and monitor"] = self.losses.nbytes + (self.monitor.nbytes if self.monitor else 0)
        if self.evaluator is not None:
            sizes["curves and monitor"] += self.evaluator.predictions.nbytes + self.evaluator.confidence.nbytes
        return sizes

    @property
    def progress(self) -> float:
        return min(1.0, self.step / max(self.trainer.total_steps, 1))


# --- labels and records ----------------------------------------------------------------------
INIT_NAMES = {"zeros": "zeros", "std0.01": "std 0.01", "std1": "std 1", "xavier": "Xavier", "he": "He"}
AUGMENT_NAMES = {"none": "no augmentation", "shift": "shifts", "shift+rotate": "shifts + rotations",
                 "shift+scale": "shifts + scaling", "shift+flip": "shifts + flips",
                 REAL_WORLD: "real-world recipe"}  # fmt: skip


def english_part(kind: str, value) -> str:
    """One part of a run's label in English: kind "init", "augment" or "batch". The pages pass their
    own `part` to the labelling functions, in the reader's language; these English labels also name
    the runs of a preset (its check finds the results by them)."""
    if kind == "init":
        return f"{INIT_NAMES.get(value, value)} init"
    if kind == "augment":
        return AUGMENT_NAMES.get(value, value)
    return f"batch {value}"


def describe(config: TrainConfig, part: Callable[[str, object], str] = english_part) -> str:
    c = config
    return f"{c.model} · {c.optimizer} η={c.lr:g} · {c.init} · {part('batch', c.batch_size)}"


def optimizer_label(config: TrainConfig) -> str:
    return f"{OPTIMIZERS[config.optimizer].__name__} η={config.lr:g}"


def varying_label(config: TrainConfig, others: list[TrainConfig], part: Callable[[str, object], str] = english_part) -> str:
    """Names what sets `config` apart within `others`: only the settings that differ among them."""
    def varies(name):
        return len({repr(getattr(c, name)) for c in others}) > 1

    parts = []
    if varies("model"):
        parts.append(config.model)
    if varies("optimizer") or varies("lr") or varies("hyper"):
        parts.append(optimizer_label(config))
    if varies("init"):
        parts.append(part("init", config.init))
    if varies("activation"):
        parts.append(config.activation)
    if varies("augment"):
        parts.append(part("augment", config.augment))
    return " · ".join(parts) or optimizer_label(config)


def run_label(config: TrainConfig, peers: list[TrainConfig], part: Callable[[str, object], str] = english_part) -> str:
    """A run's label: what sets it apart from the runs it was compared with, or its whole config."""
    return varying_label(config, peers, part) if peers else describe(config, part)


@dataclass
class RunRecord:
    """A finished or stopped run, compact enough to keep a dozen per session."""

    label: str
    config: dict
    steps: np.ndarray  # downsampled loss curve
    losses: np.ndarray
    epochs: list = field(default_factory=list)  # (epoch, step, train accuracy, validation accuracy)
    test_accuracy: float | None = None
    stop_reason: str | None = None
    created: float = field(default_factory=time.time)
    peers: list = field(default_factory=list)  # the configs (dicts) it was compared with, to label it anew


def record_of(run: LiveRun) -> RunRecord:
    steps, losses = downsample(run.losses.values)
    history = run.trainer.history
    epochs = [(e.epoch, e.step, e.train_accuracy, e.val_accuracy) for e in history.epochs]
    return RunRecord(run.label, run.config.to_dict(), steps, losses.astype(np.float32), epochs, history.test_accuracy,
                     run.trainer.stop_reason, peers=[peer.to_dict() for peer in run.peers])  # fmt: skip


FINAL_WINDOW = 50  # steps averaged for a run's final loss


def final_loss(losses) -> float:
    """The mean loss of the last FINAL_WINDOW steps: the level the curve ended at, without the noise."""
    losses = np.asarray(losses, dtype=np.float64)
    return float(losses[-FINAL_WINDOW:].mean()) if len(losses) else math.nan


def add_record(records: list, record: RunRecord, limit: int = MAX_RUN_LIST) -> list:
    records.append(record)
    del records[:-limit]
    return records


# --- presets: complete, fair experiments with a claim ------------------------------------------
@dataclass(frozen=True)
class Result:
    """What the results table shows of one run of a comparison."""

    label: str
    final_loss: float
    val_accuracy: float | None
    rotated_accuracy: float | None = None  # on the rotated test sample (the augmentation preset)


@dataclass(frozen=True)
class Problem:
    """A part of a preset's claim the numbers break: a code (catalog key train.problem.<code>) and its parameters."""

    code: str
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Preset:
    """A comparison that fixes everything (model, optimizers, learning rates, data, epochs, batch,
    seed), so its claim holds every time; `check` lists the parts of the claim the numbers break.
    Its title and claim are in the catalogs, as train.presets.<id>.title and .claim."""

    id: str  # the URL value
    runs: tuple[tuple[str, TrainConfig], ...]  # (label, config)
    check: Callable[[dict[str, Result]], list[Problem]]
    rotated_test: bool = False  # also measure accuracy on ROTATED_SIZE test digits turned by ROTATED_DEGREES

    @property
    def configs(self) -> list[TrainConfig]:
        return [config for _, config in self.runs]

    @property
    def labels(self) -> list[str]:
        return [label for label, _ in self.runs]

    def problems(self, results: list[Result] | dict[str, Result]) -> list[Problem]:
        """The parts of the claim that do not hold for these results ([] when it holds)."""
        by_label = results if isinstance(results, dict) else {r.label: r for r in results}
        missing = [label for label in self.labels if label not in by_label]
        if missing:
            return [Problem("missing", {"labels": ", ".join(missing)})]
        return self.check(by_label)


ROTATED_SIZE = 1000
ROTATED_DEGREES = 20.0


def _deep_mlp(**kw) -> TrainConfig:
    """The Deep Learning from Scratch ch. 6 set-up: 10,000 images, batch 128, 5 epochs (395 steps)."""
    settings = dict(model="deep-mlp", optimizer="sgd", lr=0.01, init="he", batch_size=128, epochs=5,
                    train_size=10_000, augment="none", seed=0)  # fmt: skip
    return TrainConfig(**{**settings, **kw})


def _lenet(augment: str) -> TrainConfig:
    return TrainConfig(model="lenet", optimizer="adam", lr=0.001, init="he", batch_size=64, epochs=3,
                       train_size=5_000, augment=augment, seed=0)  # fmt: skip


def _check_optimizers(r: dict[str, Result]) -> list[Problem]:
    sgd = r["SGD η=0.01"]
    out = []
    for label in ("Momentum η=0.01", "AdaGrad η=0.01", "Adam η=0.001"):
        if not r[label].final_loss < 0.6 * sgd.final_loss:
            out.append(Problem("loss_not_below_sgd", {"label": label, "loss": f"{r[label].final_loss:.3f}", "sgd": f"{sgd.final_loss:.3f}"}))
        if not (r[label].val_accuracy or 0) > (sgd.val_accuracy or 0):
            out.append(Problem("accuracy_not_above_sgd", {"label": label}))
    return out


def _check_inits(r: dict[str, Result]) -> list[Problem]:
    tiny, xavier, he = r["std 0.01 init"], r["Xavier init"], r["He init"]
    out = []
    if not tiny.final_loss > 2.2:
        out.append(Problem("tiny_learned", {"loss": f"{tiny.final_loss:.3f}"}))
    if not he.final_loss < 1.0:
        out.append(Problem("he_stalled", {"loss": f"{he.final_loss:.3f}"}))
    if not he.final_loss + 0.1 < xavier.final_loss < tiny.final_loss - 0.3:
        out.append(Problem("xavier_not_between", {"xavier": f"{xavier.final_loss:.3f}", "he": f"{he.final_loss:.3f}"}))
    if not (he.val_accuracy or 0) > (tiny.val_accuracy or 0) + 0.5:
        out.append(Problem("he_not_reading"))
    return out


def _check_augment(r: dict[str, Result]) -> list[Problem]:
    none, rotate, flip = r["no augmentation"], r["shifts + rotations"], r["shifts + flips"]
    out = []
    if not (rotate.rotated_accuracy or 0) > (none.rotated_accuracy or 0) + 0.01:
        out.append(Problem("rotations_no_gain"))
    rotated = [x.rotated_accuracy or 0 for x in r.values()]
    if not (rotate.rotated_accuracy or 0) == max(rotated):
        out.append(Problem("rotations_not_best"))
    if not (flip.rotated_accuracy or 0) == min(rotated):
        out.append(Problem("flips_not_worst"))
    if not (flip.val_accuracy or 0) < (r["shifts"].val_accuracy or 0):
        out.append(Problem("flips_free"))
    return out


PRESETS: dict[str, Preset] = {
    preset.id: preset
    for preset in [
        Preset(
            "optimizers",
            (("SGD η=0.01", _deep_mlp(optimizer="sgd", lr=0.01)),
             ("Momentum η=0.01", _deep_mlp(optimizer="momentum", lr=0.01)),
             ("AdaGrad η=0.01", _deep_mlp(optimizer="adagrad", lr=0.01)),
             ("Adam η=0.001", _deep_mlp(optimizer="adam", lr=0.001))),
            _check_optimizers,
        ),
        Preset(
            "inits",
            (("std 0.01 init", _deep_mlp(init="std0.01")), ("Xavier init", _deep_mlp(init="xavier")), ("He init", _deep_mlp(init="he"))),
            _check_inits,
        ),
        Preset(
            "augment",
            tuple((AUGMENT_NAMES[a], _lenet(a)) for a in ("none", "shift", "shift+rotate", "shift+flip")),
            _check_augment, rotated_test=True,
        ),
    ]
}  # fmt: skip


def preset_configs(preset_id: str) -> list[TrainConfig]:
    return preset(preset_id).configs


def preset(preset_id: str) -> Preset:
    if preset_id not in PRESETS:
        raise ValueError(f"Unknown comparison '{preset_id}'; choose one of: {', '.join(PRESETS)}")
    return PRESETS[preset_id]


# --- comparisons ---------------------------------------------------------------------------
def init_key(config: TrainConfig) -> tuple:
    c = config.resolved()
    return (c.model, c.init, c.activation, c.seed)


class Comparison:
    """Two to six runs that start from the same weights (when architecture and init match)
    and see the same mini-batches in the same order (same seed)."""

    def __init__(self, configs: list[TrainConfig], data, labels: list[str] | None = None, rotated_test: bool = False):
        if not 1 <= len(configs) <= MAX_CONFIGS:
            raise ValueError(f"A comparison holds 1 to {MAX_CONFIGS} configurations, not {len(configs)}")
        seeds = {c.seed for c in configs}
        if len(seeds) != 1:
            raise ValueError("Every configuration of a comparison must use the same seed (same batch order)")
        resolved = [c.resolved() for c in configs]
        labels = _unique(labels or [varying_label(c, resolved) for c in resolved])
        self.runs: list[LiveRun] = []
        first_net: dict[tuple, object] = {}
        for config, label in zip(configs, labels):
            run = LiveRun(config, data, label=label, monitor=False, test_at_end=False)
            run.peers = resolved
            key = init_key(config)
            if key in first_net:  # same architecture and init: literally the same starting weights
                run.net.load_state(first_net[key].state())
            else:
                first_net[key] = run.net
            self.runs.append(run)
        self.initial_digests = [state_digest(run.net) for run in self.runs]
        self.train_seconds = 0.0
        self.running = False  # switched by whoever drives the comparison (the Train page)
        self.rotated = rotated_sample(data.test_images, data.test_labels, ROTATED_SIZE, ROTATED_DEGREES) if rotated_test else None
        self._rotated_accuracy: dict[int, float] = {}
        self.id = secrets.token_hex(3)

    @classmethod
    def of_preset(cls, preset_id: str, data) -> Comparison:
        p = preset(preset_id)
        return cls(p.configs, data, labels=p.labels, rotated_test=p.rotated_test)

    def results(self) -> list[Result]:
        """One Result per run (accuracy on the rotated sample once a run is done)."""
        out = []
        for i, run in enumerate(self.runs):
            epochs = run.trainer.history.epochs
            rotated = None
            if self.rotated is not None and run.done and run.status != "failed":
                if i not in self._rotated_accuracy:
                    with np.errstate(all="ignore"):
                        self._rotated_accuracy[i] = run.net.accuracy(*self.rotated)
                    run.release()
                rotated = self._rotated_accuracy[i]
            out.append(Result(run.label, final_loss(run.losses.values), epochs[-1].val_accuracy if epochs else None, rotated))
        return out

    @property
    def shared_start(self) -> bool:
        """Whether every configuration starts from bit-identical weights."""
        return len(set(self.initial_digests)) == 1

    @property
    def done(self) -> bool:
        return all(run.done for run in self.runs)

    def advance(self, seconds: float) -> int:
        """While `running`, round-robin: always step the run that has done the fewest steps,
        until `seconds` pass. Every run gets the same number of steps (within one) whatever its
        speed. Switching `running` off (Pause, from another thread) ends the slice early."""
        start, total = time.perf_counter(), 0
        while self.running:
            active = [run for run in self.runs if not run.done]
            if not active:
                break
            run = min(active, key=lambda r: r.step)
            if run.advance(steps=1) == 0 and not run.done:
                run.advance(steps=1)  # a run that had just reached its end is marked done
            total += 1
            if time.perf_counter() - start >= seconds:
                break
        self.train_seconds += time.perf_counter() - start
        return total

    def work(self, seconds: float) -> bool:
        """One turn of the Train page's scheduler; whether there is more to do."""
        self.advance(seconds)
        return self.running and not self.done

    def release(self) -> None:
        for run in self.runs:
            run.release()

    def footprint(self) -> int:
        return sum(sum(run.footprint().values()) for run in self.runs)


def state_digest(net) -> str:
    """SHA-256 over every array of a network's state: equal digests, bit-identical weights."""
    digest = hashlib.sha256()
    for name, value in sorted(net.state().items()):
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(value).tobytes())
    return digest.hexdigest()


def _unique(labels: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        out.append(label if seen[label] == 1 else f"{label} ({seen[label]})")
    return out
