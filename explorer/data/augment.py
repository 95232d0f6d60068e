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
    "scale": "Shrink or enlarge each digit by up to 20% about the centre.",
    "affine": "Turn each digit by up to 20 degrees and resize it by up to 20%, in one resampling (two would blur it twice).",
    "thickness": "Make each digit's strokes up to 1.5 pixels thinner or a pixel thicker (pens and pencils differ).",
    "elastic": "Bend half of the digits with a smooth random distortion, as a hand wobbles.",
    "noise": "Add Gaussian noise to half of the digits (sensor noise, paper texture).",
}
REAL_WORLD = "shift+affine+thickness+elastic+noise"  # the recipe of the network for students' digits


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
    n = len(images)
    angles = np.deg2rad(np.broadcast_to(np.asarray(degrees, dtype=np.float64), (n,)))
    return _turn_and_resize(images, angles, np.ones(n))


def scale(images: np.ndarray, rng: np.random.Generator, max_change: float = 0.2) -> np.ndarray:
    """Resize every image's content by its own random factor in [1 - max_change, 1 + max_change]."""
    return affine(images, rng, max_degrees=0, max_change=max_change)


def affine(images: np.ndarray, rng: np.random.Generator, max_degrees: float = 20, max_change: float = 0.2) -> np.ndarray:
    """Turn every image by its own random angle and resize it by its own factor, about its centre."""
    n = len(images)
    angles = np.deg2rad(rng.uniform(-max_degrees, max_degrees, n))
    factors = rng.uniform(1 - max_change, 1 + max_change, n)
    return _turn_and_resize(images, angles, factors)


def _turn_and_resize(images: np.ndarray, angles: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """Image i turned by angles[i] (radians) and resized by factors[i], about its centre."""
    n, h, w = images.shape
    cos = (np.cos(angles) / factors)[:, None, None]
    sin = (np.sin(angles) / factors)[:, None, None]
    centre_y, centre_x = (h - 1) / 2, (w - 1) / 2
    y, x = np.mgrid[0:h, 0:w]
    y, x = y - centre_y, x - centre_x
    # Where each output pixel comes from: turn its coordinates backwards and undo the resizing.
    src_y = cos * y - sin * x + centre_y
    src_x = sin * y + cos * x + centre_x
    return _bilinear(images, src_y, src_x).round().astype(np.uint8)


def thickness(images: np.ndarray, rng: np.random.Generator, thinnest: float = -1.5, thickest: float = 1.0) -> np.ndarray:
    """Blend each image towards its grey dilation (thicker) or erosion (thinner) by a random amount.

    One unit is one step of the plus-shaped neighbourhood: about a pixel on each side of a stroke."""
    x = images.astype(np.float32)
    amount = rng.uniform(thinnest, thickest, len(images))[:, None, None].astype(np.float32)
    thicker, thinner = _plus_neighbourhood(x, np.maximum), _plus_neighbourhood(x, np.minimum)
    thinnest_step = _plus_neighbourhood(thinner, np.minimum)  # a second erosion, for amounts below -1
    target = np.where(amount > 0, thicker, np.where(amount < -1, thinnest_step, thinner))
    start = np.where(amount < -1, thinner, x)  # beyond one step, blend from the first erosion onwards
    part = np.where(amount < -1, -amount - 1, np.abs(amount))
    return (start + part * (target - start)).round().astype(np.uint8)


def _plus_neighbourhood(images, reduce):
    fill = 0 if reduce is np.maximum else 255
    p = np.pad(images, ((0, 0), (1, 1), (1, 1)), constant_values=fill)
    return reduce.reduce([p[:, 1:-1, 1:-1], p[:, :-2, 1:-1], p[:, 2:, 1:-1], p[:, 1:-1, :-2], p[:, 1:-1, 2:]])


def elastic(images: np.ndarray, rng: np.random.Generator, alpha: float = 8.0, sigma: float = 4.0) -> np.ndarray:
    """Simard et al.'s elastic distortion on a random half of the images: every pixel moves by a
    random displacement field smoothed with a Gaussian of `sigma` px, then scaled by `alpha`."""
    n, h, w = images.shape
    chosen = np.flatnonzero(rng.random(n) < 0.5)
    smooth = _gaussian_matrix(h, sigma)  # smooth @ field @ smooth.T blurs rows and columns
    dy, dx = (smooth @ rng.uniform(-1, 1, (2, len(chosen), h, w)) @ smooth.T) * alpha
    y, x = np.mgrid[0:h, 0:w]
    out = images.copy()
    out[chosen] = _bilinear(images[chosen], y + dy, x + dx).round().astype(np.uint8)
    return out


def _gaussian_matrix(size: int, sigma: float) -> np.ndarray:
    """M with M @ v the Gaussian blur of v (rows normalised: a constant field stays constant)."""
    offsets = np.arange(size)[:, None] - np.arange(size)[None, :]
    weights = np.exp(-0.5 * (offsets / sigma) ** 2)
    return weights / weights.sum(axis=1, keepdims=True)


def noise(images: np.ndarray, rng: np.random.Generator, max_sigma: float = 0.3) -> np.ndarray:
    """Gaussian noise on a random half of the images, each with its own strength up to
    `max_sigma` of the 0..255 range."""
    n = len(images)
    sigma = np.where(rng.random(n) < 0.5, rng.uniform(0, max_sigma, n), 0.0)[:, None, None] * 255
    noisy = images.astype(np.float32) + (sigma * rng.standard_normal(images.shape)).astype(np.float32)
    return np.clip(noisy.round(), 0, 255).astype(np.uint8)


def _bilinear(images, src_y, src_x):
    """Sample image i at the fractional positions (src_y[i], src_x[i]); outside the image is 0."""
    n, h, w = images.shape
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1))).reshape(n, -1)  # a zero border
    src_y = np.broadcast_to(np.clip(src_y + 1, 0, h), (n, h, w)).astype(np.float32)  # +1: the border
    src_x = np.broadcast_to(np.clip(src_x + 1, 0, w), (n, h, w)).astype(np.float32)
    y0, x0 = np.floor(src_y), np.floor(src_x)
    fy, fx = src_y - y0, src_x - x0
    corner = (y0.astype(np.int32) * (w + 2) + x0.astype(np.int32)).reshape(n, -1)

    def at(dy, dx):  # the pixel dy rows and dx columns from each top-left corner
        return np.take_along_axis(padded, corner + (dy * (w + 2) + dx), axis=1).reshape(n, h, w)

    top = at(0, 0) * (1 - fx) + at(0, 1) * fx
    bottom = at(1, 0) * (1 - fx) + at(1, 1) * fx
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


def turns_digits(spec: str) -> bool:
    """Whether the augmentations `spec` names turn the digits (so a rotated test set shows their effect)."""
    return bool({"rotate", "affine"} & set(parse_augment(spec)))


def augment(images: np.ndarray, names: list[str], rng: np.random.Generator) -> np.ndarray:
    transforms = {
        "shift": shift,
        "shift1": partial(shift, max_shift=1),
        "rotate": rotate,
        "flip": flip,
        "scale": scale,
        "affine": affine,
        "thickness": thickness,
        "elastic": elastic,
        "noise": noise,
    }
    for name in names:
        images = transforms[name](images, rng)
    return images
