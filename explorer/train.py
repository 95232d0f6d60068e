"""Train a registry model on MNIST from the command line and save it with its model card.

    python -m explorer.train --model lenet --epochs 5 --out pretrained/lenet.npz

Prints one line per epoch; the validation split (never the test set) picks the best
epoch when --keep-best is given; the test set is evaluated once, at the end.
"""
from __future__ import annotations

import argparse
import platform
import shlex
import sys
import time

import numpy as np

from explorer.checkpoints import save_model
from explorer.data import DataError, load_mnist
from explorer.metrics import evaluation_report
from explorer.models import MODELS
from explorer.optimizers import OPTIMIZERS
from explorer.inits import INITS
from explorer.training import TrainConfig, Trainer


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
    parser.add_argument("--out", required=True, help="where to write the .npz (the .json card goes beside it)")
    return parser.parse_args(argv)


def config_from(args) -> TrainConfig:
    hyper = {name: getattr(args, name) for name in ("momentum", "beta1", "beta2", "rho", "eps") if getattr(args, name) is not None}
    return TrainConfig(
        model=args.model, optimizer=args.optimizer, lr=args.lr, init=args.init, activation=args.activation,
        batch_size=args.batch_size, epochs=args.epochs, train_size=args.train_size, val_size=args.val_size,
        augment=args.augment, seed=args.seed, weight_decay=args.weight_decay, lr_decay=args.lr_decay, hyper=hyper,
    )  # fmt: skip


def epoch_line(record, epochs: int) -> str:
    val = f"  val {record.val_accuracy:.2%}" if record.val_accuracy is not None else ""
    return (
        f"epoch {record.epoch}/{epochs}  loss {record.loss:.4f}  train {record.train_accuracy:.2%}{val}"
        f"  {record.seconds:.1f} s ({record.images_per_second:,.0f} img/s)"
    )


class BestEpoch:
    """Remembers the weights of the epoch with the best validation accuracy."""

    def __init__(self, net):
        self.net, self.accuracy, self.epoch, self.state = net, -1.0, None, None

    def __call__(self, record):
        if record.val_accuracy is not None and record.val_accuracy > self.accuracy:
            self.accuracy, self.epoch = record.val_accuracy, record.epoch
            self.state = {name: value.copy() for name, value in self.net.state().items()}

    def restore(self):
        if self.state is not None:
            self.net.load_state(self.state)


def train(args, argv) -> int:
    config = config_from(args).resolved()
    data = load_mnist(args.data_dir, progress=lambda f, msg: print(f"\r{msg} {f:.0%}", end="", file=sys.stderr))
    trainer = Trainer(config, data)
    best = BestEpoch(trainer.net)
    print(f"{config.model}: {trainer.net.parameter_count():,} parameters, {len(trainer.train_idx):,} training images, "
          f"{config.optimizer} lr {config.lr:g}, batch {config.batch_size}, init {config.init}, augment {config.augment}")  # fmt: skip

    def on_epoch(record):
        print(epoch_line(record, config.epochs), flush=True)
        best(record)

    start = time.perf_counter()
    trainer.run(on_epoch=on_epoch)
    if trainer.stop_reason:
        print(trainer.stop_reason, file=sys.stderr)
        return 1
    if args.keep_best:
        best.restore()
        print(f"kept epoch {best.epoch} (best validation accuracy {best.accuracy:.2%})")
    duration = time.perf_counter() - start
    report = evaluation_report(trainer.net, data.test_images, data.test_labels)
    first_1000 = trainer.net.accuracy(data.test_images[:1000], data.test_labels[:1000])
    print(f"test accuracy {report['accuracy']:.2%} on {report['total']:,} images, {first_1000:.2%} on the first 1,000"
          f"  ({duration:.0f} s in all)")  # fmt: skip
    save_model(
        trainer.net, args.out,
        command="python -m explorer.train " + shlex.join(argv),
        config=config.to_dict(),
        epochs_trained=trainer.epoch,
        kept_epoch=best.epoch if args.keep_best else trainer.epoch,
        history=[vars(r) for r in trainer.history.epochs],
        training_seconds=round(duration, 1),
        machine=f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}, numpy {np.__version__}",
        test_accuracy=report["accuracy"],
        per_class_accuracy=report["per_class_accuracy"],
        test_accuracy_first_1000=first_1000,
    )  # fmt: skip
    print(f"wrote {args.out} and its model card")
    return 0


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse_args(argv)
    try:
        return train(args, argv)
    except (ValueError, DataError, OSError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
