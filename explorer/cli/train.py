"""Train a registry model on MNIST from the command line and save it with its model card.

    python -m explorer.train --model lenet --epochs 5 --out pretrained/lenet.npz

Every option and the output folder are checked before training starts, so a typo never
costs a run. Prints one line per epoch; the validation split (never the test set) picks the
best epoch when --keep-best is given; the test set is evaluated once, at the end. Ctrl-C
saves the last finished epoch (Ctrl-C again quits without saving).
"""
from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from explorer.nn.checkpoints import card_path, save_model
from explorer.data.mnist import DataError, load_mnist
from explorer.nn.inits import INITS
from explorer.nn.metrics import evaluation_report
from explorer.nn.models import MODELS, build_model
from explorer.nn.optimizers import OPTIMIZERS, make_optimizer
from explorer.nn.training import TrainConfig, Trainer

EXIT_INTERRUPTED = 130  # the shell's code for a program stopped by Ctrl-C

# Optimizer hyperparameters that are decay rates: from 0 up to (not including) 1.
DECAY_RATES = ("momentum", "beta1", "beta2", "rho")
MAX_WEIGHT_DECAY = 1.0


class UsageError(ValueError):
    """An option or the output path cannot work; found before training."""


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m explorer.train", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, choices=MODELS)
    parser.add_argument("--optimizer", choices=OPTIMIZERS)
    parser.add_argument("--init", choices=INITS)
    parser.add_argument("--activation")
    parser.add_argument("--lr", type=float)
    parser.add_argument("--lr-decay", type=float, default=1.0, help="multiply the learning rate by this after every epoch")
    parser.add_argument("--batch-size", type=positive_int)
    parser.add_argument("--epochs", type=positive_int)
    parser.add_argument("--train-size", type=positive_int)
    parser.add_argument("--val-size", type=int, default=5000)
    parser.add_argument("--augment", nargs="?", const="shift", help="none, shift (up to 2 pixels), shift1 (up to 1), rotate, flip or a combination like shift+rotate")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--weight-decay", type=float, default=0.0)
    for name in ("momentum", "beta1", "beta2", "rho", "eps"):
        parser.add_argument(f"--{name}", type=float, help="optimizer hyperparameter")
    parser.add_argument("--keep-best", action="store_true", help="keep the weights of the epoch with the best validation accuracy")
    parser.add_argument("--data-dir", help="folder with the MNIST files (default: MNIST_DIR, the cache, or download)")
    parser.add_argument("--out", required=True, help="where to write the weights (.npz; the .json card goes beside it)")
    return parser.parse_args(argv)


def config_from(args) -> TrainConfig:
    hyper = {name: getattr(args, name) for name in ("momentum", "beta1", "beta2", "rho", "eps") if getattr(args, name) is not None}
    return TrainConfig(
        model=args.model, optimizer=args.optimizer, lr=args.lr, init=args.init, activation=args.activation,
        batch_size=args.batch_size, epochs=args.epochs, train_size=args.train_size, val_size=args.val_size,
        augment=args.augment, seed=args.seed, weight_decay=args.weight_decay, lr_decay=args.lr_decay, hyper=hyper,
    )  # fmt: skip


# ---------------------------------------------------------------------------
# Checks made before training
# ---------------------------------------------------------------------------


def checked_config(args) -> TrainConfig:
    """The run's config with the recipe filled in; UsageError for anything that cannot train."""
    try:
        config = config_from(args).resolved()
    except ValueError as error:
        raise UsageError(str(error)) from None
    check_hyperparameters(config)
    try:  # builds the network and its optimizer once: an activation or option they refuse shows now
        net = build_model(config.model, config.init, config.seed, config.activation)
        make_optimizer(config.optimizer, net.parameters().values(), config.weight_decay, lr=config.lr, **config.hyper)
    except (ValueError, KeyError) as error:
        raise UsageError(error.args[0] if error.args else str(error)) from None
    return config


def check_hyperparameters(config: TrainConfig) -> None:
    if config.seed < 0:
        raise UsageError(f"--seed must be 0 or more, not {config.seed}.")
    if not 0 <= config.weight_decay < MAX_WEIGHT_DECAY:  # also false for NaN
        raise UsageError(f"--weight-decay must be a number from 0 to below {MAX_WEIGHT_DECAY:g}, not {config.weight_decay}.")
    accepted = [name for name in OPTIMIZERS[config.optimizer].DEFAULTS if name != "lr"]
    for name, value in config.hyper.items():
        if name not in accepted:
            has = f"only {', '.join('--' + n for n in accepted)}" if accepted else "nothing but --lr"
            raise UsageError(f"--{name} does not apply to the {config.optimizer} optimizer (it has {has}).")
        if name in DECAY_RATES and not 0 <= value < 1:  # comparisons with NaN are false
            raise UsageError(f"--{name} must be a number from 0 to below 1, not {value}.")
        if name == "eps" and not 0 < value < 1:  # 0 would divide by zero on the first step
            raise UsageError(f"--eps must be a small positive number such as 1e-8, not {value}.")


def checked_output(out: str) -> Path:
    """The weights file --out names (always .npz), after checking it can be written.

    A missing folder is created when the model is saved: then its nearest existing parent
    must be writable. UsageError if the file cannot be written."""
    if not out.strip() or Path(out).name in ("", ".", ".."):
        raise UsageError(f"--out must name a file, such as models/lenet.npz, not '{out}'.")
    weights = Path(out).with_suffix(".npz")
    for path in (Path(out), weights, card_path(weights)):
        if path.is_dir():
            raise UsageError(f"--out {out}: {path} is a folder; give a file name such as {path / 'model.npz'}.")
    folder = weights.parent
    existing = next(parent for parent in (folder, *folder.parents) if parent.exists())
    if not existing.is_dir():
        raise UsageError(f"--out {out}: {existing} is a file, not a folder.")
    if existing != folder:
        if not os.access(existing, os.W_OK | os.X_OK):
            raise UsageError(f"--out {out}: cannot create the folder {folder} (no permission to write in {existing}).")
        return weights
    try:  # the surest test: write a file there
        handle, probe = tempfile.mkstemp(dir=folder, prefix=".write-test-")
        os.close(handle)
        os.unlink(probe)
    except OSError as error:
        raise UsageError(f"--out {out}: cannot write in the folder {folder} ({error.strerror or error}).") from None
    return weights


# ---------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------


def epoch_line(record, epochs: int) -> str:
    val = f"  val {record.val_accuracy:.2%}" if record.val_accuracy is not None else ""
    return (
        f"epoch {record.epoch}/{epochs}  loss {record.loss:.4f}  train {record.train_accuracy:.2%}{val}"
        f"  {record.seconds:.1f} s ({record.images_per_second:,.0f} img/s)"
    )


class EpochWeights:
    """A copy of the weights at the end of an epoch: the best one (by validation accuracy)
    or, with best=False, the last one finished."""

    def __init__(self, net, best: bool):
        self.net, self.best = net, best
        self.accuracy, self.epoch, self.state = -1.0, None, None

    def __call__(self, record):
        if self.best and (record.val_accuracy is None or record.val_accuracy <= self.accuracy):
            return
        state = {name: value.copy() for name, value in self.net.state().items()}
        # One assignment, so a Ctrl-C in the middle leaves the previous copy whole.
        self.accuracy, self.epoch, self.state = (record.val_accuracy or 0.0), record.epoch, state

    def restore(self):
        if self.state is not None:
            self.net.load_state(self.state)


def train(args, argv) -> int:
    config = checked_config(args)
    weights = checked_output(args.out)
    if Path(args.out) != weights:
        print(f"note: weights are saved as .npz: writing {weights} (and its model card {card_path(weights).name})")
    data = load_mnist(args.data_dir, progress=lambda f, msg: print(f"\r{msg} {f:.0%}", end="", file=sys.stderr))
    trainer = Trainer(config, data)
    best, last = EpochWeights(trainer.net, best=True), EpochWeights(trainer.net, best=False)
    print(f"{config.model}: {trainer.net.parameter_count():,} parameters, {len(trainer.train_idx):,} training images, "
          f"{config.optimizer} lr {config.lr:g}, batch {config.batch_size}, init {config.init}, augment {config.augment}")  # fmt: skip

    def on_epoch(record):
        best(record)
        last(record)
        # Printed after the copies, so a Ctrl-C on seeing this line saves this epoch.
        print(epoch_line(record, config.epochs), flush=True)

    start = time.perf_counter()
    try:
        trainer.run(on_epoch=on_epoch)
    except KeyboardInterrupt:
        kept = best if args.keep_best and best.epoch is not None else last
        return save_interrupted(trainer, args, argv, weights, kept, last.epoch, start)
    if trainer.stop_reason:
        print(trainer.stop_reason, file=sys.stderr)
        return 1
    if args.keep_best:
        best.restore()
        print(f"kept epoch {best.epoch} (best validation accuracy {best.accuracy:.2%})")
    evaluate_and_save(trainer, args, argv, weights, trainer.epoch, best.epoch if args.keep_best else trainer.epoch, start)
    return 0


def save_interrupted(trainer, args, argv, weights: Path, kept: EpochWeights, finished: int | None, start) -> int:
    """After Ctrl-C: save the copy of the last finished (or best) epoch, if there is one.

    The live weights may be halfway through an update; the copy taken at the epoch's end is whole."""
    if kept.epoch is None:
        print("\ninterrupted before the first epoch ended: nothing saved", file=sys.stderr)
        return EXIT_INTERRUPTED
    kept.restore()
    print(f"\ninterrupted: saving epoch {kept.epoch} of {trainer.config.epochs} "
          "(press Ctrl-C again to quit without saving)", file=sys.stderr, flush=True)  # fmt: skip
    evaluate_and_save(trainer, args, argv, weights, finished, kept.epoch, start, interrupted=True)
    return EXIT_INTERRUPTED


def evaluate_and_save(trainer, args, argv, weights: Path, epochs_trained: int, kept_epoch, start: float, interrupted=False):
    data, config = trainer.data, trainer.config
    duration = time.perf_counter() - start
    report = evaluation_report(trainer.net, data.test_images, data.test_labels)
    first_1000 = trainer.net.accuracy(data.test_images[:1000], data.test_labels[:1000])
    print(f"test accuracy {report['accuracy']:.2%} on {report['total']:,} images, {first_1000:.2%} on the first 1,000"
          f"  ({duration:.0f} s in all)")  # fmt: skip
    extra = {"interrupted_after_epoch": epochs_trained} if interrupted else {}
    save_model(
        trainer.net, weights,
        command="python -m explorer.train " + shlex.join(argv),
        config=config.to_dict(),
        epochs_trained=epochs_trained,
        kept_epoch=kept_epoch,
        history=[vars(r) for r in trainer.history.epochs[:epochs_trained]],
        training_seconds=round(duration, 1),
        machine=f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}, numpy {np.__version__}",
        test_accuracy=report["accuracy"],
        per_class_accuracy=report["per_class_accuracy"],
        test_accuracy_first_1000=first_1000,
        **extra,
    )  # fmt: skip
    print(f"wrote {weights} and its model card {card_path(weights).name}")


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    try:
        return train(args, argv)
    except (ValueError, DataError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted: nothing saved", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
