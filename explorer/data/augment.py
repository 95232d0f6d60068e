"""Data augmentation on uint8 digit batches (N, 28, 28): new training images for free.

Shifts and small rotations produce digits a writer could have drawn. A horizontal flip
does not: a mirrored 2, 3, 4, 5, 7 or 9 is not a digit at all, and a flipped 6 is no
longer a 6 - it is offered only so students can measure how much it hurts.
"""
from __future__ import annotations

from functools import partial

import numpy as np

AUGMENTATIONS = {
    "shift": "Move each digit up to 2 pixels in each direction.",
    "shift1": "Move each digit up to 1 pixel in each direction (the TensorFlow article's shifts).",
    "rotate": "Rotate each digit by up to 10 degrees.",
    "flip": "Mirror half of the digits left-right (harmful for digits: try it and see).",
}


def shift(images: np.ndarray, rng: np.random.Generator, max_shift: int = 2) -> np.ndarray:
    """Shift every image by its own random (dy, dx), filling with background."""
    n, h, w = images.shape
    m = max_shift
    padded = np.pad(images, ((0, 0), (m, m), (m, m)))
    dy, dx = rng.integers(-m, m + 1, (2, n))
    rows = np.arange(h) + m - dy[:, None]
    cols = np.arange(w) + m - dx[:, None]
    return padded[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]


def rotate(images: np.ndarray, rng: np.random.Generator, max_degrees: float = 10) -> np.ndarray:
    """Rotate every image by its own random angle about its centre (bilinear sampling)."""
    return rotate_by(images, rng.uniform(-max_degrees, max_degrees, len(images)))


def rotate_by(images: np.ndarray, degrees) -> np.ndarray:
    """Rotate image i by degrees[i] (a scalar: all by the same angle) about its centre."""
    n, h, w = images.shape
    angles = np.deg2rad(np.broadcast_to(np.asarray(degrees, dtype=np.float64), (n,)))
    cos, sin = np.cos(angles)[:, None, None], np.sin(angles)[:, None, None]
    centre_y, centre_x = (h - 1) / 2, (w - 1) / 2
    y, x = np.mgrid[0:h, 0:w]
    y, x = y - centre_y, x - centre_x
    # Where each output pixel comes from: rotate its coordinates backwards.
    src_y = cos * y - sin * x + centre_y
    src_x = sin * y + cos * x + centre_x
    return _bilinear(images, src_y, src_x).round().astype(np.uint8)


def _bilinear(images, src_y, src_x):
    n, h, w = images.shape
    padded = np.pad(images.astype(np.float32), ((0, 0), (1, 1), (1, 1)))  # zero outside
    src_y = np.clip(src_y + 1, 0, h)  # +1 for the padding; stays inside the padded image
    src_x = np.clip(src_x + 1, 0, w)
    y0, x0 = np.floor(src_y).astype(int), np.floor(src_x).astype(int)
    fy, fx = src_y - y0, src_x - x0
    b = np.arange(n)[:, None, None]

    def at(yy, xx):
        return padded[b, np.minimum(yy, h + 1), np.minimum(xx, w + 1)]

    top = at(y0, x0) * (1 - fx) + at(y0, x0 + 1) * fx
    bottom = at(y0 + 1, x0) * (1 - fx) + at(y0 + 1, x0 + 1) * fx
    return top * (1 - fy) + bottom * fy


def flip(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Mirror a random half of the images left-right."""
    chosen = rng.random(len(images)) < 0.5
    out = images.copy()
    out[chosen] = images[chosen, :, ::-1]
    return out


def rotated_sample(images: np.ndarray, labels: np.ndarray, size: int = 1000, degrees: float = 15, seed: int = 0):
    """`size` test digits, each turned by `degrees` one way or the other (a random side each): a
    handwriting slant the training digits rarely have. Returns (images, labels)."""
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(images), size=min(size, len(images)), replace=False)
    signs = rng.choice([-1.0, 1.0], size=len(chosen))
    return rotate_by(images[chosen], signs * degrees), labels[chosen]


def parse_augment(spec: str) -> list[str]:
    """'shift+rotate' -> ['shift', 'rotate']; 'none' or '' -> []."""
    names = [name for name in spec.replace(",", "+").split("+") if name and name != "none"]
    unknown = [name for name in names if name not in AUGMENTATIONS]
    if unknown:
        raise ValueError(f"Unknown augmentation '{unknown[0]}'; choose from: none, {', '.join(AUGMENTATIONS)}")
    return names


def augment(images: np.ndarray, names: list[str], rng: np.random.Generator) -> np.ndarray:
    transforms = {"shift": shift, "shift1": partial(shift, max_shift=1), "rotate": rotate, "flip": flip}
    for name in names:
        images = transforms[name](images, rng)
    return images
