"""Evaluate saved weights on all 10,000 MNIST test images.

    python -m explorer.evaluate pretrained/lenet.npz [--json]
"""
from __future__ import annotations

import argparse
import json
import sys

from explorer.nn.checkpoints import ModelFileError, load_model
from explorer.data.mnist import DataError, load_mnist
from explorer.nn.metrics import evaluation_report


def format_report(name: str, report: dict) -> str:
    lines = [f"{name}: test accuracy {report['accuracy']:.2%} ({report['correct']:,}/{report['total']:,})", ""]
    lines.append("digit  accuracy")
    lines += [f"  {digit}    {acc:.2%}" for digit, acc in enumerate(report["per_class_accuracy"])]
    lines += ["", "confusion matrix (rows: true digit, columns: predicted)"]
    lines.append("     " + "".join(f"{d:>6}" for d in range(10)))
    lines += [f"  {d}  " + "".join(f"{n:>6}" for n in row) for d, row in enumerate(report["confusion_matrix"])]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m explorer.evaluate", description=__doc__.split("\n\n")[0])
    parser.add_argument("weights", help="a .npz file with its .json model card beside it")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--data-dir", help="folder with the MNIST files (default: MNIST_DIR, the cache, or download)")
    args = parser.parse_args(argv)
    try:
        net, card = load_model(args.weights)
        data = load_mnist(args.data_dir)
    except (ModelFileError, DataError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    report = evaluation_report(net, data.test_images, data.test_labels)
    print(json.dumps({"model": card["model"], **report}) if args.json else format_report(card["model"], report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
