"""Do photos of handwritten digits work? Accuracy of every shipped model on realistic photos.

Renders a labelled set of photos of each kind (explorer.data.photos: paper on a desk, uneven
light, shadows, ruled and squared paper, pencil, blue ink, rotation, blur; all JPEG) from MNIST
test digits, turns each into a 28x28 input two ways, and prints each model's accuracy:

* ours: explorer.data.preprocess (open_upload + preprocess_digit), what the app does;
* classic: the recipe of the tutorials (grayscale, invert, crop to the ink, longest side to 20 px
  with a good filter, centre of mass in 28x28), with no idea of paper, desk or light.

A measurement, not a pass/fail test (tests/test_photos.py holds the targets).

    python benchmarks/photos.py                  # 200 photos per kind, every model (~5 min)
    python benchmarks/photos.py --count 50 --models lenet deepconvnet
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from explorer.data.mnist import load_mnist  # noqa: E402
from explorer.data.photos import KINDS, photo_set  # noqa: E402
from explorer.data.preprocess import ImageError, centre_of_mass, open_upload, preprocess_digit  # noqa: E402
from explorer.nn.pretrained import available, load_pretrained  # noqa: E402


def ours(photo: bytes) -> np.ndarray | None:
    try:
        return preprocess_digit(open_upload(photo)).digit
    except ImageError:
        return None


def classic(photo: bytes) -> np.ndarray | None:
    """The tutorials' recipe: invert the grayscale photo, stretch it from the paper (its median)
    to the darkest ink, crop to the pixels above half, LANCZOS to 20 px, centre of mass at 14."""
    gray = np.asarray(Image.open(io.BytesIO(photo)).convert("L"), np.float32) / 255
    ink = 1 - gray
    paper, darkest = np.median(ink), ink.max()
    if darkest - paper < 0.15:
        return None
    ink = np.clip((ink - paper) / (darkest - paper), 0, 1)
    rows = np.flatnonzero((ink > 0.5).any(axis=1))
    cols = np.flatnonzero((ink > 0.5).any(axis=0))
    crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    scale = 20 / max(crop.shape)
    size = (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale)))
    box = np.clip(np.asarray(Image.fromarray(crop, mode="F").resize(size, Image.Resampling.LANCZOS)), 0, 1)
    frame = np.zeros((28, 28), np.float32)
    row, col = centre_of_mass(box)
    top = int(np.clip(round(14 - row), 0, 28 - box.shape[0]))
    left = int(np.clip(round(14 - col), 0, 28 - box.shape[1]))
    frame[top : top + box.shape[0], left : left + box.shape[1]] = box
    return np.round(frame * 255).astype(np.uint8)


def prepare(photos: list[bytes], recipe) -> tuple[np.ndarray, np.ndarray]:
    """(inputs, usable): a refused photo gets a blank input and counts as wrong."""
    digits = [recipe(photo) for photo in photos]
    usable = np.array([digit is not None for digit in digits])
    blank = np.zeros((28, 28), np.uint8)
    return np.stack([blank if digit is None else digit for digit in digits]), usable


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=200, help="photos per kind (the first N test digits)")
    parser.add_argument("--models", nargs="*", default=None, help="default: every shipped model")
    parser.add_argument("--kinds", nargs="*", default=list(KINDS), choices=KINDS)
    args = parser.parse_args(argv)
    data = load_mnist(download=False)
    models = args.models or [name for name in available() if not name.endswith("-article")]
    networks = {name: load_pretrained(name)[0] for name in models}
    header = "| kind | " + " | ".join(f"{name} ours / classic" for name in models) + " | mean pixel ours / classic / MNIST |"
    print(header)
    print("|" + "---|" * (len(models) + 2))
    mnist_mean = data.test_images[: args.count].mean()
    for kind in args.kinds:
        start = time.perf_counter()
        photos, labels = photo_set(data.test_images, data.test_labels, kind, args.count)
        ours_inputs, ours_ok = prepare(photos, ours)
        classic_inputs, classic_ok = prepare(photos, classic)
        cells = []
        for name, net in networks.items():
            ours_acc = np.mean((net.predict(ours_inputs) == labels) & ours_ok)
            classic_acc = np.mean((net.predict(classic_inputs) == labels) & classic_ok)
            cells.append(f"{ours_acc:.1%} / {classic_acc:.1%}")
        means = f"{ours_inputs[ours_ok].mean():.0f} / {classic_inputs[classic_ok].mean():.0f} / {mnist_mean:.0f}"
        print(f"| {kind} | " + " | ".join(cells) + f" | {means} |", flush=True)
        print(f"{kind}: {time.perf_counter() - start:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
