"""Fit each shipped model's temperature on the validation split and write it into its model card.

    python -m explorer.cli.calibrate [MODEL ...] [--dry-run] [--data-dir DIR]

The validation split is the last 5,000 training images (as explorer.nn.training splits them),
never the test set. Prints, per model, the temperature, the validation NLL before and after, and
the test set's accuracy and expected calibration error (ECE) before and after. Only the card's
"temperature" field changes; the weights (.npz) are never touched.
"""
from __future__ import annotations

import argparse
import json
import sys

from explorer.data.mnist import DataError, load_mnist
from explorer.lab import calibration as cal
from explorer.nn.checkpoints import ModelFileError, card_path
from explorer.nn.pretrained import available, load_pretrained, weights_path


def write_temperature(model: str, temperature: float) -> None:
    """Set the "temperature" field of a shipped model's card, keeping the card's layout."""
    path = card_path(weights_path(model))
    card = json.loads(path.read_text())
    card["temperature"] = round(float(temperature), 4)
    path.write_text(json.dumps(card, indent=2) + "\n")


def measure(model: str, data) -> dict:
    net, _ = load_pretrained(model)
    val_images, val_labels = cal.validation_split(data)
    val_scores = cal.logits(net, val_images)
    temperature = cal.fit_temperature(val_scores, val_labels)
    result = cal.calibrate(model, cal.logits(net, data.test_images), data.test_labels, temperature)
    return {
        "model": model,
        "temperature": temperature,
        "val_nll_before": cal.nll(val_scores, val_labels),
        "val_nll_after": cal.nll(val_scores, val_labels, temperature),
        "test_accuracy": result.accuracy,
        "ece_before": result.before.ece,
        "ece_after": result.after.ece,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m explorer.cli.calibrate", description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="*", help="shipped model names (default: all)")
    parser.add_argument("--dry-run", action="store_true", help="print the figures, write nothing")
    parser.add_argument("--data-dir", help="folder with the MNIST files (default: MNIST_DIR or the cache)")
    args = parser.parse_args(argv)
    models = args.models or available()
    unknown = [name for name in models if name not in available()]
    if unknown:
        print(f"error: no shipped model {', '.join(unknown)} (found: {', '.join(available())})", file=sys.stderr)
        return 2
    try:
        data = load_mnist(args.data_dir, download=False)
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"{'model':<20} {'T':>6} {'val NLL':>17} {'test acc':>9} {'test ECE':>17}")
    for model in models:
        try:
            row = measure(model, data)
        except ModelFileError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        print(f"{model:<20} {row['temperature']:>6.3f} {row['val_nll_before']:>7.4f} -> {row['val_nll_after']:<7.4f}"
              f" {row['test_accuracy']:>9.2%} {row['ece_before']:>7.2%} -> {row['ece_after']:<7.2%}")  # fmt: skip
        if not args.dry_run:
            write_temperature(model, row["temperature"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
