"""A robustness lab: how a model's accuracy falls as one thing about the digits changes.

Every perturbation takes a batch of MNIST-style digits (N, 28, 28), white ink on black, values
0..255, and one number, its amount; it returns a new uint8 batch. Amount NEUTRAL[name] leaves
the digits unchanged, so each curve passes through the model's clean accuracy on the sample.
Everything is vectorised NumPy over the whole batch (no scipy).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

SIDE = 28
CENTRE = (SIDE - 1) / 2  # rotations and scalings turn about the middle of the image
SAMPLE_SIZE = 300  # test digits per curve: 30 of each class; small enough for a first view in seconds
NOISE_SEED = 17  # one fixed noise pattern, scaled: more noise is the same noise, only stronger

# ---------------------------------------------------------------------------------------------
# geometry: an affine warp with bilinear sampling


def _bilinear(images: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Sample every image at the (fractional) source positions rows, cols (28x28 each); outside is 0."""
    padded = np.pad(images.astype(np.float32), ((0, 0), (1, 1), (1, 1)))
    r, c = rows + 1, cols + 1  # in padded coordinates
    r0 = np.clip(np.floor(r).astype(int), 0, SIDE)
    c0 = np.clip(np.floor(c).astype(int), 0, SIDE)
    fr = np.clip(r - r0, 0, 1).astype(np.float32)
    fc = np.clip(c - c0, 0, 1).astype(np.float32)
    inside = (r >= 0) & (r <= SIDE + 1) & (c >= 0) & (c <= SIDE + 1)
    top = padded[:, r0, c0] * (1 - fc) + padded[:, r0, c0 + 1] * fc
    bottom = padded[:, r0 + 1, c0] * (1 - fc) + padded[:, r0 + 1, c0 + 1] * fc
    return (top * (1 - fr) + bottom * fr) * inside


def _warp(images: np.ndarray, inverse: np.ndarray, offset=(0.0, 0.0)) -> np.ndarray:
    """Output pixel p shows input pixel CENTRE + inverse @ (p - CENTRE - offset)."""
    grid_r, grid_c = np.mgrid[0:SIDE, 0:SIDE].astype(np.float64)
    dr, dc = grid_r - CENTRE - offset[0], grid_c - CENTRE - offset[1]
    rows = CENTRE + inverse[0, 0] * dr + inverse[0, 1] * dc
    cols = CENTRE + inverse[1, 0] * dr + inverse[1, 1] * dc
    return _bilinear(images, rows, cols)


def _to_uint8(values: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def rotate(images: np.ndarray, degrees: float) -> np.ndarray:
    """Turn the digits anticlockwise by `degrees` about the image centre."""
    angle = np.deg2rad(degrees)
    cos, sin = np.cos(angle), np.sin(angle)
    inverse = np.array([[cos, sin], [-sin, cos]])  # rows grow downwards: this turns the picture anticlockwise
    return _to_uint8(_warp(images, inverse))


def scale(images: np.ndarray, factor: float) -> np.ndarray:
    """Shrink (factor < 1) or enlarge (factor > 1) the digits about the image centre."""
    return _to_uint8(_warp(images, np.eye(2) / factor))


def shift(images: np.ndarray, pixels: float) -> np.ndarray:
    """Move the digits right (positive) or left (negative) by whole pixels; what leaves the image is lost."""
    step = int(round(pixels))
    out = np.zeros_like(images, dtype=np.uint8)
    if abs(step) >= SIDE:
        return out
    if step >= 0:
        out[:, :, step:] = images[:, :, : SIDE - step]
    else:
        out[:, :, :step] = images[:, :, -step:]
    return out


# ---------------------------------------------------------------------------------------------
# strokes, noise, blur, inversion, occlusion


def _neighbours(images: np.ndarray, reduce: Callable) -> np.ndarray:
    """Max (or min) of each pixel and its four neighbours: one step of grey dilation (erosion)."""
    fill = 0 if reduce is np.maximum else 255
    p = np.pad(images, ((0, 0), (1, 1), (1, 1)), constant_values=fill)
    centre = p[:, 1:-1, 1:-1]
    return reduce.reduce([centre, p[:, :-2, 1:-1], p[:, 2:, 1:-1], p[:, 1:-1, :-2], p[:, 1:-1, 2:]])


def stroke(images: np.ndarray, amount: float) -> np.ndarray:
    """Thicker strokes (amount > 0, grey dilation) or thinner ones (amount < 0, grey erosion).

    One unit is one step of a plus-shaped 3x3 neighbourhood (about a pixel on each side of the
    stroke); a fractional amount blends the last step in, so the slider moves smoothly."""
    reduce = np.maximum if amount > 0 else np.minimum
    x = images.astype(np.float32)
    whole, part = divmod(abs(float(amount)), 1.0)
    for _ in range(int(whole)):
        x = _neighbours(x, reduce)
    if part > 0:
        x = (1 - part) * x + part * _neighbours(x, reduce)
    return _to_uint8(x)


def noise(images: np.ndarray, sigma: float) -> np.ndarray:
    """Add Gaussian noise of standard deviation `sigma` (a share of the full 0..255 range)."""
    pattern = np.random.default_rng(NOISE_SEED).standard_normal(images.shape).astype(np.float32)
    return _to_uint8(images.astype(np.float32) + sigma * 255 * pattern)


def _gaussian_kernel(sigma: float) -> np.ndarray:
    radius = max(1, int(np.ceil(3 * sigma)))
    x = np.arange(-radius, radius + 1)
    kernel = np.exp(-0.5 * (x / sigma) ** 2)
    return kernel / kernel.sum()


def blur(images: np.ndarray, sigma: float) -> np.ndarray:
    """A Gaussian blur of standard deviation `sigma` pixels (separable: rows, then columns)."""
    if sigma <= 0:
        return images.astype(np.uint8, copy=True)
    kernel = _gaussian_kernel(sigma)
    radius = len(kernel) // 2
    x = np.pad(images.astype(np.float32), ((0, 0), (radius, radius), (radius, radius)))
    x = sum(w * x[:, i : i + SIDE, :] for i, w in enumerate(kernel))  # along rows
    x = sum(w * x[:, :, i : i + SIDE] for i, w in enumerate(kernel))  # along columns
    return _to_uint8(x)


def invert(images: np.ndarray, amount: float) -> np.ndarray:
    """Blend towards the negative: 0 is the digit, 1 is black ink on white paper, 0.5 is flat grey."""
    x = images.astype(np.float32)
    return _to_uint8((1 - amount) * x + amount * (255 - x))


def occlude(images: np.ndarray, height: float) -> np.ndarray:
    """Black out a horizontal band `height` pixels tall across the middle of the image."""
    rows = int(round(height))
    out = images.astype(np.uint8, copy=True)
    if rows > 0:
        top = (SIDE - rows) // 2
        out[:, top : top + rows, :] = 0
    return out


@dataclass(frozen=True)
class Perturbation:
    name: str  # the id used in URLs and catalog keys
    apply: Callable[[np.ndarray, float], np.ndarray]
    levels: tuple[float, ...]  # the amounts a curve is measured at (the slider's steps)
    neutral: float  # the amount that changes nothing
    unit: str  # how the amount is printed: "deg", "px", "x", "share"


PERTURBATIONS: dict[str, Perturbation] = {
    p.name: p
    for p in (
        Perturbation("rotation", rotate, tuple(range(-60, 61, 15)), 0, "deg"),
        Perturbation("thickness", stroke, (-2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 3.0), 0.0, "steps"),
        Perturbation("shift", shift, tuple(range(-8, 9, 2)), 0, "px"),
        Perturbation("scale", scale, (0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.2, 1.4, 1.6), 1.0, "x"),
        Perturbation("noise", noise, (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8), 0.0, "share"),
        Perturbation("blur", blur, (0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0), 0.0, "px"),
        Perturbation("inversion", invert, (0.0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1.0), 0.0, "share"),
        Perturbation("occlusion", occlude, (0, 2, 4, 6, 8, 10, 12, 14), 0, "px"),
    )
}


def perturb(images: np.ndarray, name: str, amount: float) -> np.ndarray:
    """The digits with perturbation `name` applied at `amount` (always a new uint8 array)."""
    images = np.asarray(images)
    single = images.ndim == 2
    batch = images[None] if single else images
    out = PERTURBATIONS[name].apply(batch, amount)
    return out[0] if single else out


# ---------------------------------------------------------------------------------------------
# the curves


def fixed_sample(labels: np.ndarray, size: int = SAMPLE_SIZE, seed: int = 0) -> np.ndarray:
    """Indices of `size` test digits, as many of each class as possible, always the same ones."""
    rng = np.random.default_rng(seed)
    per_class = size // 10
    chosen = [rng.choice(np.flatnonzero(labels == digit), per_class, replace=False) for digit in range(10)]
    return np.sort(np.concatenate(chosen))


@dataclass(frozen=True)
class Curve:
    perturbation: str
    levels: tuple[float, ...]
    accuracy: tuple[float, ...]  # share of the sample classified correctly at each level
    confidence: tuple[float, ...]  # mean top probability at each level

    def at(self, level: float) -> float:
        return self.accuracy[self.levels.index(level)]

    @property
    def worst(self) -> float:
        return min(self.accuracy)


Predictor = Callable[[np.ndarray], np.ndarray]  # uint8 digits (N, 28, 28) -> probabilities (N, 10)


def accuracy_curve(predict_proba: Predictor, images: np.ndarray, labels: np.ndarray, name: str) -> Curve:
    """Accuracy (and mean confidence) of one model at each level of one perturbation."""
    perturbation = PERTURBATIONS[name]
    accuracy, confidence = [], []
    for level in perturbation.levels:
        probabilities = predict_proba(perturb(images, name, level))
        accuracy.append(float((probabilities.argmax(axis=1) == labels).mean()))
        confidence.append(float(probabilities.max(axis=1).mean()))
    return Curve(name, perturbation.levels, tuple(accuracy), tuple(confidence))


def breaking_point(curve: Curve, neutral: float, drop: float = 0.5) -> float | None:
    """The mildest level (either side of neutral) where accuracy falls below `drop` of the clean
    accuracy, or None if it never does on the measured levels."""
    clean = curve.at(neutral)
    broken = [level for level, acc in zip(curve.levels, curve.accuracy) if acc < drop * clean]
    return min(broken, key=lambda level: abs(level - neutral)) if broken else None
