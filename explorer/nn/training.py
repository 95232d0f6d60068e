"""The one training loop, shared by the Train page, the CLI and the benchmarks.

A Trainer is step-wise: the caller decides how much to run (`run(steps=...)` or
`run(seconds=...)`), so a page can train in small time-boxed slices and stay responsive.
Runs are reproducible: the same config gives the same initial weights, the same batch
order, the same augmentations and dropout masks, hence the same curves to the bit.
"""
from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import asdict, dataclass, field, replace

import numpy as np

from explorer.data.augment import augment, parse_augment
from explorer.nn.models import build_model, model_spec
from explorer.nn.optimizers import OPTIMIZERS, make_optimizer

MONITOR_SAMPLE = 2000  # images used for the per-epoch training accuracy
MAX_ABS_WEIGHT = 1e6  # beyond this the weights are exploding
# An adaptive optimizer (RMSprop, Adam...) at an absurd learning rate rarely overflows: its steps
# are about lr in size whatever the gradient, so the loss just stays high. A run whose loss stays
# this many times above the start (the first step's loss, before any update; at least chance,
# ln 10) for most of a window has diverged too.
DIVERGE_FACTOR = 3.0
DIVERGE_WINDOW = 50  # steps


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a run. None means: the model's article recipe."""

    model: str = "lenet"
    optimizer: str | None = None
    lr: float | None = None
    init: str | None = None
    activation: str | None = None
    batch_size: int | None = None
    epochs: int | None = None
    train_size: int | None = None  # None: every training image outside the validation split
    val_size: int = 5000
    augment: str | None = None
    seed: int = 0
    weight_decay: float = 0.0
    lr_decay: float = 1.0  # the learning rate is multiplied by this after every epoch
    hyper: dict = field(default_factory=dict)  # optimizer extras: momentum, beta1, rho, eps ...

    def resolved(self) -> TrainConfig:
        """The config with every None filled in from the model's recipe, and validated."""
        spec = model_spec(self.model)
        recipe = spec.recipe
        config = replace(
            self,
            optimizer=self.optimizer or recipe.optimizer,
            lr=recipe.lr if self.lr is None else self.lr,
            init=self.init or recipe.init,
            activation=self.activation or spec.activation,
            batch_size=recipe.batch_size if self.batch_size is None else self.batch_size,
            epochs=recipe.epochs if self.epochs is None else self.epochs,
            augment=recipe.augment if self.augment is None else self.augment,
        )
        config.validate()
        return config

    def validate(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"Unknown optimizer '{self.optimizer}'; choose one of: {', '.join(OPTIMIZERS)}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"The learning rate must be a positive number, not {self.lr}")
        if self.batch_size < 1 or self.epochs < 1:
            raise ValueError("Batch size and epochs must be at least 1")
        if self.train_size is not None and self.train_size < 1:
            raise ValueError("The training-set size must be at least 1")
        if not 0 < self.lr_decay <= 1:
            raise ValueError("The learning-rate decay must be in (0, 1]")
        if not 0 <= self.val_size < 60000:
            raise ValueError("The validation split must hold between 0 and 59,999 images")
        parse_augment(self.augment)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class EpochRecord:
    epoch: int
    step: int
    loss: float  # mean training loss over the epoch
    train_accuracy: float
    val_accuracy: float | None
    seconds: float  # training time of the epoch, evaluation excluded
    images_per_second: float


@dataclass
class History:
    losses: list = field(default_factory=list)  # one training loss per step
    epochs: list = field(default_factory=list)  # EpochRecord per finished epoch
    norms: list = field(default_factory=list)  # (step, {param: weight norm}, {param: grad norm})
    test_accuracy: float | None = None


def split_indices(total: int, val_size: int, train_size: int | None) -> tuple[np.ndarray, np.ndarray]:
    """The last `val_size` training images validate; the first `train_size` of the rest train."""
    train_end = total - val_size
    train_size = train_end if train_size is None else min(train_size, train_end)
    return np.arange(train_size), np.arange(train_end, total)


class Diverged(Exception):
    """Training stopped because the loss or the weights stopped being finite numbers."""


class Trainer:
    def __init__(self, config: TrainConfig, data, monitor_every: int = 0, net=None):
        """`data` has uint8 train/test images and labels (an explorer.data.mnist.MNIST). It is only
        indexed, never copied, so many trainers can share one copy."""
        self.config = config.resolved()
        c = self.config
        self.data = data
        self.net = net or build_model(c.model, c.init, c.seed, c.activation)
        self.optimizer = make_optimizer(c.optimizer, self.net.parameters().values(), c.weight_decay, lr=c.lr, **c.hyper)
        self.train_idx, self.val_idx = split_indices(len(data.train_labels), c.val_size, c.train_size)
        self.augmentations = parse_augment(c.augment)
        self.batch_rng = np.random.default_rng([c.seed, 1])
        self.augment_rng = np.random.default_rng([c.seed, 2])
        self.monitor_every = monitor_every
        self.history = History()
        self.step = 0
        self.epoch = 0
        self.stop_reason: str | None = None  # in English, for the CLI and logs
        self.stop_code: str | None = None  # the same for the pages: a code (catalog key train.stop.<code>) and its parameters
        self.stop_params: dict = {}
        self._order: np.ndarray | None = None
        self._epoch_losses: list[float] = []
        self._epoch_seconds = 0.0
        self.start_loss: float | None = None  # the first step's loss, before any update
        self._recent_losses: deque[float] = deque(maxlen=DIVERGE_WINDOW)

    # --- state ------------------------------------------------------------------------
    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(len(self.train_idx) / self.config.batch_size)

    @property
    def total_steps(self) -> int:
        return self.steps_per_epoch * self.config.epochs

    @property
    def finished(self) -> bool:
        return self.stop_reason is not None or self.epoch >= self.config.epochs

    def set_learning_rate(self, lr: float) -> None:
        """Takes effect from the next step."""
        self.optimizer.lr = float(lr)

    # --- training ---------------------------------------------------------------------
    def next_batch(self) -> tuple[np.ndarray, np.ndarray]:
        position = self.step % self.steps_per_epoch
        if position == 0:
            self._order = self.batch_rng.permutation(self.train_idx)
        chosen = self._order[position * self.config.batch_size : (position + 1) * self.config.batch_size]
        images = self.data.train_images[chosen]
        if self.augmentations:
            images = augment(images, self.augmentations, self.augment_rng)
        return self.net.prepare(images), self.data.train_labels[chosen]

    def train_step(self) -> float:
        x, labels = self.next_batch()
        loss = self.net.train_step_gradients(x, labels)
        self._check_divergence(loss)
        self.optimizer.step()
        self.step += 1
        self.history.losses.append(loss)
        self._epoch_losses.append(loss)
        if self.monitor_every and self.step % self.monitor_every == 0:
            self.history.norms.append((self.step, self.net.weight_norms(), self.net.gradient_norms()))
        return loss

    def _check_divergence(self, loss: float) -> None:
        bad_loss = not math.isfinite(loss)
        bad_weights = self.step % 25 == 0 and not all(
            np.isfinite(p.value).all() and np.abs(p.value).max() < MAX_ABS_WEIGHT
            for p in self.net.parameters().values()
        )
        lr, smaller = f"{self.optimizer.lr:g}", f"{self.optimizer.lr / 10:g}"
        if bad_loss or bad_weights:
            what = f"the loss became {loss}" if bad_loss else "the weights exploded"
            self._stop(
                "overflow_loss" if bad_loss else "overflow_weights",
                dict(loss=f"{loss}", step=self.step + 1, lr=lr, smaller=smaller),
                f"Training stopped: {what} at step {self.step + 1}. The learning rate "
                f"{lr} is too large for this model: the updates overshoot and grow "
                f"until the numbers overflow. Try a learning rate 10x smaller ({smaller}).",
            )
        if self._stuck_high(loss):
            threshold = f"{self.divergence_threshold:.3g}"
            self._stop(
                "stuck_high",
                dict(step=self.step + 1, threshold=threshold, factor=f"{DIVERGE_FACTOR:g}", window=DIVERGE_WINDOW, lr=lr, smaller=smaller),
                f"Training stopped at step {self.step + 1}: the loss was above {threshold} "
                f"({DIVERGE_FACTOR:g}x the start) for most of the last {DIVERGE_WINDOW} steps. The learning rate {lr} "
                f"is too large for this model: every step jumps past the valley instead of down into it. "
                f"Try a learning rate 10x smaller ({smaller}).",
            )

    def _stop(self, code: str, params: dict, english: str) -> None:
        """Divergence: the reason in English (CLI, logs) and as a code with its parameters (pages)."""
        self.stop_reason, self.stop_code, self.stop_params = english, code, params
        raise Diverged(english)

    @property
    def divergence_threshold(self) -> float:
        """The loss that, held for DIVERGE_WINDOW steps, means the run diverged."""
        return DIVERGE_FACTOR * max(self.start_loss or 0.0, math.log(10))

    def _stuck_high(self, loss: float) -> bool:
        if self.start_loss is None:
            self.start_loss = loss
        self._recent_losses.append(loss)
        full = len(self._recent_losses) == DIVERGE_WINDOW
        return full and float(np.median(self._recent_losses)) > self.divergence_threshold

    def run(self, steps: int | None = None, seconds: float | None = None, on_epoch=None, should_stop=None) -> int:
        """Train until `steps` more steps, `seconds` of wall time, the end, or `should_stop()`
        turns true (checked before each step); returns the steps done.

        Divergence does not raise here: it sets `stop_reason` and returns. The network stays
        locked meanwhile; a slice of `seconds` ends early, after its step, when another thread
        wants the network (a page showing what it sees), which the lock then serves first."""
        done, start = 0, time.perf_counter()
        with self.net.lock:
            while not self.finished and (steps is None or done < steps):
                if seconds is not None and (time.perf_counter() - start >= seconds or self.net.lock.wanted):
                    break
                if should_stop is not None and should_stop():
                    break
                tick = time.perf_counter()
                try:
                    self.train_step()
                except Diverged:
                    break
                self._epoch_seconds += time.perf_counter() - tick
                done += 1
                if self.step % self.steps_per_epoch == 0:
                    record = self.end_epoch()
                    if on_epoch:
                        on_epoch(record)
        return done

    def end_epoch(self) -> EpochRecord:
        self.epoch += 1
        images_seen = min(self.steps_per_epoch * self.config.batch_size, len(self.train_idx))
        record = EpochRecord(
            epoch=self.epoch,
            step=self.step,
            loss=float(np.mean(self._epoch_losses)),
            train_accuracy=self.accuracy_on(self.train_idx[:MONITOR_SAMPLE]),
            val_accuracy=self.accuracy_on(self.val_idx) if len(self.val_idx) else None,
            seconds=self._epoch_seconds,
            images_per_second=images_seen / max(self._epoch_seconds, 1e-9),
        )
        self.history.epochs.append(record)
        self._epoch_losses, self._epoch_seconds = [], 0.0
        self.optimizer.lr *= self.config.lr_decay
        return record

    # --- evaluation -------------------------------------------------------------------
    def accuracy_on(self, train_indices: np.ndarray) -> float:
        return self.net.accuracy(self.data.train_images[train_indices], self.data.train_labels[train_indices])

    def evaluate_test(self) -> float:
        """Accuracy on the 10,000 test images: call once, at the end, for the reported number."""
        self.history.test_accuracy = self.net.accuracy(self.data.test_images, self.data.test_labels)
        return self.history.test_accuracy
