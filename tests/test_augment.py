"""Data augmentation on uint8 digit batches: shift, rotate, flip, parsing."""
from __future__ import annotations

import numpy as np
import pytest

from explorer.data.augment import (
    AUGMENTATIONS,
    REAL_WORLD,
    affine,
    augment,
    elastic,
    flip,
    noise,
    parse_augment,
    rotate,
    rotate_by,
    rotated_sample,
    scale,
    shift,
    thickness,
    turns_digits,
)


def centre_of_mass(image):
    image = image.astype(np.float64)
    rows, cols = np.mgrid[0:image.shape[0], 0:image.shape[1]]
    total = image.sum()
    return np.array([(rows * image).sum() / total, (cols * image).sum() / total])


def translate(image, dy, dx):
    """Move the content by (dy, dx), filling with 0: out[r, c] = image[r - dy, c - dx]."""
    out = np.zeros_like(image)
    h, w = image.shape
    for r in range(h):
        for c in range(w):
            if 0 <= r - dy < h and 0 <= c - dx < w:
                out[r, c] = image[r - dy, c - dx]
    return out


def disc(radius, centre=(13.5, 13.5), value=200):
    rows, cols = np.mgrid[0:28, 0:28]
    return np.where((rows - centre[0]) ** 2 + (cols - centre[1]) ** 2 <= radius**2, value, 0).astype(np.uint8)


# --- shift --------------------------------------------------------------------------------------


def test_shift_moves_a_single_pixel_by_the_drawn_amount():
    n = 400
    images = np.zeros((n, 28, 28), np.uint8)
    images[:, 13, 14] = 255
    out = shift(images, np.random.default_rng(0))
    assert out.shape == images.shape and out.dtype == np.uint8
    moves = []
    for image in out:
        assert np.count_nonzero(image) == 1 and image.max() == 255  # the pixel moved, intact
        moves.append(tuple(np.round(centre_of_mass(image) - [13, 14]).astype(int)))
    assert all(-2 <= dy <= 2 and -2 <= dx <= 2 for dy, dx in moves)
    assert len(set(moves)) == 25  # every (dy, dx) in [-2, 2]^2 is drawn
    counts = np.array([moves.count((dy, dx)) for dy in range(-2, 3) for dx in range(-2, 3)])
    assert counts.min() >= 4  # roughly uniform (400 / 25 = 16 expected each)


def test_one_pixel_shifts_draw_every_move_of_at_most_one_pixel():
    images = np.zeros((200, 28, 28), np.uint8)
    images[:, 13, 14] = 255
    out = augment(images, ["shift1"], np.random.default_rng(3))
    moves = {tuple(np.argwhere(image)[0] - [13, 14]) for image in out}
    assert moves == {(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)}


def test_shift_translates_the_whole_image_with_background_fill():
    rng = np.random.default_rng(1)
    images = rng.integers(1, 256, (30, 28, 28), dtype=np.uint8)
    images[:, 13, 13] = 0  # a marker: the only zero pixel of every image
    out = shift(images, np.random.default_rng(2))
    for image, moved in zip(images, out):
        inside = moved[2:-2, 2:-2]  # never filled with background
        (r,), (c,) = np.nonzero(inside == 0)
        dy, dx = r + 2 - 13, c + 2 - 13
        assert -2 <= dy <= 2 and -2 <= dx <= 2
        np.testing.assert_array_equal(moved, translate(image, dy, dx))


def test_shift_is_reproducible_and_keeps_the_input():
    images = np.random.default_rng(3).integers(0, 256, (10, 28, 28), dtype=np.uint8)
    before = images.copy()
    a = shift(images, np.random.default_rng(7))
    b = shift(images, np.random.default_rng(7))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(images, before)
    np.testing.assert_array_equal(shift(images, np.random.default_rng(7), max_shift=0), images)


# --- rotate -------------------------------------------------------------------------------------


def test_rotate_by_zero_degrees_is_identity():
    images = np.random.default_rng(4).integers(0, 256, (20, 28, 28), dtype=np.uint8)
    out = rotate(images, np.random.default_rng(5), max_degrees=0)
    assert out.dtype == np.uint8 and out.shape == images.shape
    np.testing.assert_array_equal(out, images)


def test_rotate_keeps_total_ink():
    rng = np.random.default_rng(6)
    images = np.zeros((40, 28, 28), np.uint8)
    for image in images:  # digit-like strokes away from the border
        for _ in range(3):
            r0, c0 = rng.integers(6, 18, 2)
            image[r0:r0 + 6, c0:c0 + 3] = rng.integers(150, 256)
    out = rotate(images, np.random.default_rng(7))
    assert out.dtype == np.uint8 and out.shape == images.shape
    ink_in = images.reshape(40, -1).sum(axis=1).astype(float)
    ink_out = out.reshape(40, -1).sum(axis=1).astype(float)
    np.testing.assert_allclose(ink_out, ink_in, rtol=0.10)
    assert np.mean([not np.array_equal(a, b) for a, b in zip(images, out)]) > 0.9  # really rotated


def test_rotate_turns_about_the_centre_by_at_most_max_degrees():
    n = 60
    images = np.stack([disc(2.5, centre=(13.5, 22.0))] * n)  # a blob 8.5 px right of the centre
    out = rotate(images, np.random.default_rng(8), max_degrees=10)
    angles = []
    for image in out:
        dy, dx = centre_of_mass(image) - 13.5
        assert np.hypot(dy, dx) == pytest.approx(8.5, abs=0.3)  # same distance from the centre
        angles.append(np.degrees(np.arctan2(dy, dx)))
    angles = np.abs(angles)
    assert angles.max() <= 10.5
    assert angles.max() > 5  # the drawn angles cover the range


def test_rotating_a_centred_disc_changes_little():
    images = np.stack([disc(7)] * 10)
    out = rotate(images, np.random.default_rng(9), max_degrees=30)
    for image in out:
        np.testing.assert_allclose(centre_of_mass(image), [13.5, 13.5], atol=0.1)
        assert np.mean(np.abs(image.astype(int) - images[0])) < 5


# --- flip ---------------------------------------------------------------------------------------


def test_flip_of_a_symmetric_image_is_itself():
    half = np.random.default_rng(10).integers(0, 256, (50, 28, 14), dtype=np.uint8)
    symmetric = np.concatenate([half, half[:, :, ::-1]], axis=2)
    out = flip(symmetric, np.random.default_rng(11))
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, symmetric)


def test_flip_mirrors_about_half_of_the_images():
    images = np.random.default_rng(12).integers(0, 256, (1000, 28, 28), dtype=np.uint8)
    before = images.copy()
    out = flip(images, np.random.default_rng(13))
    np.testing.assert_array_equal(images, before)  # the input is not modified
    mirrored = np.array([np.array_equal(o, i[:, ::-1]) for o, i in zip(out, images)])
    kept = np.array([np.array_equal(o, i) for o, i in zip(out, images)])
    assert np.all(mirrored ^ kept)
    assert 0.4 < mirrored.mean() < 0.6


# --- parsing and chaining -----------------------------------------------------------------------


@pytest.mark.parametrize("spec, names", [
    ("none", []), ("", []), ("shift", ["shift"]), ("shift+rotate", ["shift", "rotate"]),
    ("rotate,flip", ["rotate", "flip"]), ("none+shift", ["shift"]),
])
def test_parse_augment(spec, names):
    assert parse_augment(spec) == names


@pytest.mark.parametrize("spec, bad", [("mixup", "mixup"), ("shift+blur", "blur"), ("Shift", "Shift")])
def test_parse_augment_errors(spec, bad):
    with pytest.raises(ValueError, match=bad) as error:
        parse_augment(spec)
    for name in AUGMENTATIONS:
        assert name in str(error.value)  # the message lists the choices


def test_augment_chains_in_order():
    images = np.random.default_rng(14).integers(0, 256, (8, 28, 28), dtype=np.uint8)
    np.testing.assert_array_equal(augment(images, [], np.random.default_rng(0)), images)
    chained = augment(images, ["shift", "flip"], np.random.default_rng(15))
    rng = np.random.default_rng(15)
    np.testing.assert_array_equal(chained, flip(shift(images, rng), rng))


# --- rotation by a given angle, and the rotated test sample --------------------------------------


def test_rotate_by_zero_is_identity_and_a_half_turn_flips_both_axes():
    images = np.random.default_rng(20).integers(0, 256, (3, 28, 28), dtype=np.uint8)
    np.testing.assert_array_equal(rotate_by(images, 0.0), images)
    np.testing.assert_array_equal(rotate_by(images, 180.0), images[:, ::-1, ::-1])
    both = rotate_by(images, [0.0, 180.0, 0.0])  # one angle per image
    np.testing.assert_array_equal(both[1], images[1, ::-1, ::-1])
    np.testing.assert_array_equal(both[2], images[2])


def test_rotated_sample_turns_each_digit_by_the_angle_either_way():
    rng = np.random.default_rng(21)
    images = rng.integers(0, 256, (40, 28, 28), dtype=np.uint8)
    labels = np.arange(40) % 10
    sample, sample_labels = rotated_sample(images, labels, size=12, degrees=20, seed=3)
    assert sample.shape == (12, 28, 28) and sample.dtype == np.uint8
    again, _ = rotated_sample(images, labels, size=12, degrees=20, seed=3)
    np.testing.assert_array_equal(sample, again)  # the same sample every time
    left, right = rotate_by(images, -20.0), rotate_by(images, 20.0)
    sides = set()
    for image, label in zip(sample, sample_labels):
        origin = [(i, side) for i in range(len(images)) for side, turned in (("left", left), ("right", right))
                  if np.array_equal(image, turned[i])]  # fmt: skip
        assert len(origin) == 1 and labels[origin[0][0]] == label  # each is one digit turned 20°, its label kept
        sides.add(origin[0][1])
    assert sides == {"left", "right"}


# --- the real-world recipe: scale, thickness, elastic, noise -------------------------------------


@pytest.fixture
def mnist_sample():
    """200 digit-like shapes: rings ("0") and bars ("1") of different sizes, white on black."""
    rng = np.random.default_rng(5)
    shapes = []
    for _ in range(100):
        outer = rng.uniform(6, 10)
        shapes.append(disc(outer) - disc(outer - 2.5, value=200))
        bar = np.zeros((28, 28), np.uint8)
        left = int(rng.integers(10, 16))
        bar[int(rng.integers(3, 7)) : int(rng.integers(21, 25)), left : left + 3] = 230
        shapes.append(bar)
    return np.stack(shapes)


def ink_radius(images):
    """The radius of a disc with each image's ink mass at full intensity."""
    return np.sqrt(images.reshape(len(images), -1).astype(np.float64).sum(axis=1) / 200 / np.pi)


def test_scale_resizes_each_digit_about_the_centre_within_the_range():
    images = np.repeat(disc(6)[None], 300, axis=0)
    out = scale(images, np.random.default_rng(0), max_change=0.2)
    ratios = ink_radius(out) / ink_radius(images)
    assert 0.77 < ratios.min() < 0.85 and 1.15 < ratios.max() < 1.23  # the whole range is drawn
    centres = np.array([centre_of_mass(image) for image in out])
    assert np.abs(centres - 13.5).max() < 0.2


def test_thickness_makes_some_strokes_thinner_and_some_thicker():
    bar = np.zeros((28, 28), np.uint8)
    bar[4:24, 12:16] = 255
    images = np.repeat(bar[None], 200, axis=0)
    out = thickness(images, np.random.default_rng(0))
    widths = out[:, 14, :].astype(np.float64).sum(axis=1) / 255  # the bar's width in pixels at row 14
    # A 4-pixel bar: down to 1 pixel (1.5 steps of erosion on each side), up to 6 (one step of dilation)
    assert widths.min() < 1.5 and widths.max() > 5.5
    assert np.all((widths > 0.95) & (widths < 6.01))
    assert np.all(out[:, :, :10] == 0) and np.all(out[:, :, 18:] == 0)  # nothing appears far from the stroke


def test_affine_turns_and_resizes_in_one_resampling():
    bar = np.zeros((28, 28), np.uint8)
    bar[4:24, 13:15] = 255  # upright
    out = affine(np.repeat(bar[None], 300, axis=0), np.random.default_rng(4), max_degrees=20, max_change=0.2)
    angles, lengths = [], []
    for image in out:
        rows, cols = np.nonzero(image > 128)
        slope = np.polyfit(rows, cols, 1)[0]  # columns moved per row: tan of the turn
        angles.append(np.degrees(np.arctan(slope)))
        lengths.append((rows.max() - rows.min() + 1) / np.cos(np.radians(angles[-1])))
    assert 15 < max(np.abs(angles)) <= 21 and min(angles) < -10 < 10 < max(angles)
    assert min(lengths) < 18 and max(lengths) > 22  # 20 pixels long, resized by up to 20% either way


def test_elastic_bends_about_half_of_the_digits_and_keeps_them_recognisable(mnist_sample):
    images = mnist_sample
    out = elastic(images, np.random.default_rng(1))
    changed = np.any(out != images, axis=(1, 2))
    assert 0.35 < changed.mean() < 0.65
    moved = out[changed].reshape(changed.sum(), -1).astype(np.float64)
    original = images[changed].reshape(changed.sum(), -1).astype(np.float64)
    correlation = [np.corrcoef(a, b)[0, 1] for a, b in zip(moved, original)]
    assert 0.5 < min(correlation) and np.median(correlation) > 0.8  # bent, not scrambled
    assert np.abs(moved.sum(axis=1) / original.sum(axis=1) - 1).max() < 0.3  # ink is moved, not made


def test_noise_touches_about_half_of_the_digits_with_bounded_strength():
    images = np.full((400, 28, 28), 128, np.uint8)
    out = noise(images, np.random.default_rng(2), max_sigma=0.3)
    residual_std = (out.astype(np.float64) - 128).reshape(400, -1).std(axis=1)
    assert 0.4 < np.mean(residual_std > 0) < 0.6
    assert residual_std.max() < 0.3 * 255 * 1.1 and residual_std.max() > 0.2 * 255


def test_the_real_world_recipe_parses_and_keeps_images_uint8(mnist_sample):
    out = augment(mnist_sample, parse_augment(REAL_WORLD), np.random.default_rng(0))
    assert out.dtype == np.uint8 and out.shape == mnist_sample.shape
    assert np.any(out != mnist_sample)
    assert parse_augment(REAL_WORLD) == ["shift", "affine", "thickness", "elastic", "noise"]


@pytest.mark.parametrize("spec, turns", [("none", False), ("shift", False), ("shift+flip", False), ("shift+scale", False),
                                         ("shift+rotate", True), (REAL_WORLD, True)])  # fmt: skip
def test_which_recipes_turn_the_digits(spec, turns):
    assert turns_digits(spec) is turns
