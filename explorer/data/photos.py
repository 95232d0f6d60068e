"""Realistic photos of handwritten digits, made from MNIST digits, to test the preprocessing on.

A student photographs a digit written on paper: the page lies on a darker desk, the light is
uneven, a hand or a phone casts a shadow over a corner, the paper is ruled or squared, the pen is
a pencil or a blue ballpoint, the phone is tilted, the picture is a little blurred and saved as
JPEG. `render_photo(digit, kind, seed)` draws such a photo around an MNIST digit (its label is
known, so a benchmark can count how often the preprocessing lets a model read it).

Everything is seeded: the same (digit, kind, seed) always gives the same JPEG bytes.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageFilter

# What each kind of photo adds to the common ones (paper texture, a slight tilt, a little blur,
# sensor noise and JPEG): the classroom situations the preprocessing must survive.
KINDS = ("plain", "desk", "uneven_light", "shadow", "ruled", "graph", "pencil", "blue_ink", "rotated", "blurry")

DIGIT_SCALE = (4.0, 7.0)  # photo pixels per MNIST pixel: a digit 110-200 px high
PAPER = np.array([236, 233, 224], np.float32) / 255  # slightly warm white
INKS = {
    "black": np.array([28, 28, 34], np.float32) / 255,
    "blue": np.array([25, 45, 140], np.float32) / 255,
    "pencil": np.array([95, 95, 100], np.float32) / 255,
}
RULE_COLOUR = np.array([140, 175, 220], np.float32) / 255  # light blue lines of a notebook
GRID_COLOUR = np.array([150, 200, 175], np.float32) / 255  # light green squares
DESKS = np.array([[92, 66, 44], [70, 70, 74], [120, 90, 60], [45, 40, 38]], np.float32) / 255


def render_photo(digit: np.ndarray, kind: str, seed: int = 0, jpeg_quality: int | None = None) -> bytes:
    """JPEG bytes of a photo of `digit` (28x28 uint8, MNIST style) written on paper, of one of KINDS."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    rng = np.random.default_rng([seed, KINDS.index(kind)])
    ink_alpha = _digit_strokes(digit, rng, kind)
    photo = _paper_with_ink(ink_alpha, rng, kind)
    photo *= _light(photo.shape[:2], rng, kind)[..., None]
    if kind == "desk":
        photo = _on_a_desk(photo, rng)
    photo = _camera(photo, rng, kind)
    quality = jpeg_quality or int(rng.integers(60, 92))
    buffer = io.BytesIO()
    Image.fromarray(photo).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


# --- the digit and the paper ------------------------------------------------------------------


def _digit_strokes(digit: np.ndarray, rng: np.random.Generator, kind: str) -> np.ndarray:
    """The digit enlarged to pen size: 0..1, how much ink covers each photo pixel."""
    scale = rng.uniform(*DIGIT_SCALE)
    side = round(28 * scale)
    image = Image.fromarray(np.asarray(digit, np.float32) / 255, mode="F").resize((side, side), Image.Resampling.BICUBIC)
    angle = rng.uniform(-25, 25) if kind == "rotated" else rng.uniform(-6, 6)
    image = image.rotate(angle, Image.Resampling.BILINEAR, expand=True)
    # MNIST's soft edges, made a little crisper, as a pen's stroke is.
    strokes = np.clip((np.asarray(image) - 0.15) / 0.6, 0.0, 1.0)
    return strokes.astype(np.float32)


def _paper_with_ink(ink_alpha: np.ndarray, rng: np.random.Generator, kind: str) -> np.ndarray:
    """An RGB float page (a margin around the digit) with texture, rules and the ink."""
    height, width = ink_alpha.shape
    margin = rng.uniform(0.35, 0.8, size=4) * max(height, width)
    top, bottom, left, right = (round(m) for m in margin)
    shape = (height + top + bottom, width + left + right)
    paper = np.ones((*shape, 3), np.float32) * (PAPER * rng.uniform(0.96, 1.02))
    paper *= (1 + _texture(shape, rng, 0.025))[..., None]
    if kind == "ruled":
        _draw_lines(paper, rng, spacing=rng.uniform(0.18, 0.3) * height, vertical=False, colour=RULE_COLOUR)
    if kind == "graph":
        spacing = rng.uniform(0.1, 0.2) * height
        _draw_lines(paper, rng, spacing=spacing, vertical=False, colour=GRID_COLOUR)
        _draw_lines(paper, rng, spacing=spacing, vertical=True, colour=GRID_COLOUR)
    alpha = np.zeros(shape, np.float32)
    alpha[top : top + height, left : left + width] = ink_alpha
    ink = {"pencil": INKS["pencil"], "blue_ink": INKS["blue"]}.get(kind, INKS["black"])
    if kind == "pencil":  # graphite: grainy, and pressed lightly
        alpha *= np.clip(rng.uniform(0.55, 0.75) + _texture(shape, rng, 0.15, grain=1), 0, 1)
    return paper * (1 - alpha[..., None]) + ink * alpha[..., None]


def _texture(shape: tuple[int, int], rng: np.random.Generator, amount: float, grain: int = 6) -> np.ndarray:
    """Smooth random variation (paper fibres, graphite grain), zero mean, about `amount` strong."""
    small = rng.normal(0, amount, size=(max(2, shape[0] // grain), max(2, shape[1] // grain))).astype(np.float32)
    return np.asarray(Image.fromarray(small, mode="F").resize(shape[::-1], Image.Resampling.BICUBIC))


def _draw_lines(paper: np.ndarray, rng: np.random.Generator, spacing: float, vertical: bool, colour: np.ndarray):
    """Printed lines across the whole page, 2-3 px wide, every `spacing` px."""
    thickness = int(rng.integers(2, 4))
    positions = np.arange(rng.uniform(0, spacing), paper.shape[1 if vertical else 0], spacing)
    for position in positions.astype(int):
        if vertical:
            paper[:, position : position + thickness] = colour
        else:
            paper[position : position + thickness, :] = colour


# --- light, desk and camera -------------------------------------------------------------------


def _light(shape: tuple[int, int], rng: np.random.Generator, kind: str) -> np.ndarray:
    """How much light falls on each pixel (1 = full): a gentle slope, steeper for uneven light,
    and for a shadow a corner 35-45% darker with a soft edge."""
    rows, cols = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
    rows, cols = rows / shape[0], cols / shape[1]
    angle = rng.uniform(0, 2 * np.pi)
    slope = rng.uniform(0.3, 0.45) if kind == "uneven_light" else rng.uniform(0.0, 0.12)
    light = 1 - slope * (0.5 + 0.5 * (np.cos(angle) * (cols - 0.5) + np.sin(angle) * (rows - 0.5)) * 1.4)
    if kind == "shadow":
        corner = rng.integers(0, 2, size=2)  # which corner
        d_row = rows if corner[0] == 0 else 1 - rows
        d_col = cols if corner[1] == 0 else 1 - cols
        reach = rng.uniform(0.55, 0.8)  # the shadow's edge crosses the page diagonally
        edge = (d_row * rng.uniform(0.8, 1.2) + d_col * rng.uniform(0.8, 1.2)) - reach
        softness = rng.uniform(0.02, 0.08)
        shade = 1 / (1 + np.exp(edge / softness))  # 1 inside the shadow, 0 outside
        light *= 1 - rng.uniform(0.35, 0.45) * shade
    return np.clip(light, 0.2, 1.2)


def _on_a_desk(page: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The page lying on a darker desk that shows on two to four sides."""
    height, width = page.shape[:2]
    margins = (rng.uniform(0.04, 0.2, size=4) * np.array([height, height, width, width])).astype(int)
    margins[rng.integers(0, 4)] *= rng.integers(0, 2)  # sometimes the page touches one edge
    top, bottom, left, right = margins
    shape = (height + top + bottom, width + left + right)
    desk_colour = DESKS[rng.integers(len(DESKS))] * rng.uniform(0.8, 1.1)
    grain = _texture((shape[0], shape[1]), rng, 0.08, grain=3)
    desk = desk_colour * (1 + grain)[..., None] * np.ones((*shape, 1), np.float32)
    tilt = rng.uniform(-3, 3)
    page_image = Image.fromarray(_to_uint8(page)).rotate(tilt, Image.Resampling.BILINEAR, expand=False)
    mask = Image.new("L", (width, height), 255).rotate(tilt, Image.Resampling.BILINEAR, expand=False)
    photo = Image.fromarray(_to_uint8(desk))
    photo.paste(page_image, (int(left), int(top)), mask)
    return np.asarray(photo, np.float32) / 255


def _camera(photo: np.ndarray, rng: np.random.Generator, kind: str) -> np.ndarray:
    """Focus blur and sensor noise, as uint8 RGB."""
    radius = rng.uniform(2.0, 3.5) if kind == "blurry" else rng.uniform(0.3, 1.2)
    image = Image.fromarray(_to_uint8(photo)).filter(ImageFilter.GaussianBlur(radius))
    noisy = np.asarray(image, np.float32) / 255 + rng.normal(0, 0.012, size=photo.shape).astype(np.float32)
    return _to_uint8(noisy)


def _to_uint8(values: np.ndarray) -> np.ndarray:
    return np.round(np.clip(values, 0.0, 1.0) * 255).astype(np.uint8)


def photo_set(images: np.ndarray, labels: np.ndarray, kind: str, count: int, seed: int = 0):
    """(photos as JPEG bytes, labels): the first `count` digits photographed as `kind`."""
    photos = [render_photo(images[i], kind, seed=seed * 100_003 + i) for i in range(count)]
    return photos, np.asarray(labels[:count])
