"""The robustness lab: each perturbation does what it says, and the curves behave where they must."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.lab import robustness as rb


def bar_digit() -> np.ndarray:
    """A vertical bar 4 px wide and 16 px tall, off-centre to the right: a crude '1'."""
    image = np.zeros((28, 28), np.uint8)
    image[6:22, 15:19] = 255
    return image


def blob_digits(count: int = 6, seed: int = 3) -> np.ndarray:
    """A few random smooth blobs of ink, MNIST-like enough for the geometry tests."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:28, 0:28]
    images = []
    for _ in range(count):
        r, c = rng.uniform(9, 19, 2)
        a, b = rng.uniform(2, 6, 2)
        images.append(255 * np.exp(-(((rows - r) / a) ** 2 + ((cols - c) / b) ** 2)))
    return np.clip(np.array(images), 0, 255).astype(np.uint8)


def centre_of_mass(image: np.ndarray) -> np.ndarray:
    rows, cols = np.mgrid[0:28, 0:28]
    total = image.sum(dtype=float)
    return np.array([(rows * image).sum() / total, (cols * image).sum() / total])


@pytest.mark.parametrize("name", sorted(rb.PERTURBATIONS))
def test_the_neutral_amount_changes_nothing(name):
    images = blob_digits()
    out = rb.perturb(images, name, rb.PERTURBATIONS[name].neutral)
    assert out.dtype == np.uint8 and out.shape == images.shape
    np.testing.assert_array_equal(out, images)
    assert out is not images


@pytest.mark.parametrize("name", sorted(rb.PERTURBATIONS))
def test_every_level_changes_a_digit_and_keeps_the_range(name):
    images = blob_digits()
    perturbation = rb.PERTURBATIONS[name]
    for level in perturbation.levels:
        out = rb.perturb(images, name, level)
        assert out.dtype == np.uint8 and out.shape == images.shape
        if level != perturbation.neutral:
            assert not np.array_equal(out, images), (name, level)


def test_a_single_digit_goes_through_as_a_single_digit():
    out = rb.perturb(bar_digit(), "rotation", 30)
    assert out.shape == (28, 28)


def test_rotation_turns_anticlockwise_about_the_centre():
    image = np.zeros((28, 28), np.uint8)
    image[13:15, 20:24] = 255  # ink right of the centre
    turned = rb.rotate(image[None], 90)[0]
    r, c = centre_of_mass(turned)
    assert r < 9 and 12 < c < 15  # now above the centre
    back = rb.rotate(rb.rotate(image[None], 90), -90)[0]
    np.testing.assert_allclose(back.astype(float), image, atol=2)  # quarter turns land on the grid


def test_rotation_keeps_the_ink_inside_the_image():
    images = blob_digits()
    for angle in (-45, 30, 60):
        turned = rb.rotate(images, angle)
        ratio = turned.sum(axis=(1, 2), dtype=float) / images.sum(axis=(1, 2), dtype=float)
        assert np.all(np.abs(ratio - 1) < 0.05)


@pytest.mark.parametrize("amount", [0.5, 1.0, 2.0, 3.0])
def test_thicker_strokes_add_ink_and_thinner_remove_it(amount):
    image = bar_digit()[None]
    thicker, thinner = rb.stroke(image, amount), rb.stroke(image, -amount)
    assert thicker.sum(dtype=int) > image.sum(dtype=int) > thinner.sum(dtype=int)
    assert np.all(thicker >= image) and np.all(thinner <= image)  # dilation only adds, erosion only removes


def test_one_stroke_step_is_one_pixel_on_each_side():
    image = bar_digit()
    row = rb.stroke(image[None], 1.0)[0][14]
    assert np.flatnonzero(row).tolist() == list(range(14, 20))  # 4 px wide -> 6 px wide
    row = rb.stroke(image[None], -1.0)[0][14]
    assert np.flatnonzero(row).tolist() == [16, 17]  # 4 px wide -> 2 px wide


def test_stroke_amounts_are_ordered():
    image = bar_digit()[None]
    ink = [rb.stroke(image, amount).sum(dtype=int) for amount in rb.PERTURBATIONS["thickness"].levels]
    assert ink == sorted(ink)


def test_shift_moves_the_ink_by_whole_pixels():
    image = bar_digit()
    moved = rb.shift(image[None], 3)[0]
    np.testing.assert_array_equal(moved[:, 3:], image[:, :-3])
    assert rb.shift(image[None], -30).sum() == 0  # moved right out of the image


def test_scale_changes_the_size_about_the_centre():
    image = np.zeros((28, 28), np.uint8)
    image[9:19, 9:19] = 255  # a 10x10 square in the middle
    half, double = rb.scale(image[None], 0.5)[0], rb.scale(image[None], 1.5)[0]
    assert half.sum(dtype=float) == pytest.approx(image.sum(dtype=float) / 4, rel=0.15)
    assert double.sum(dtype=float) == pytest.approx(image.sum(dtype=float) * 2.25, rel=0.15)
    np.testing.assert_allclose(centre_of_mass(half), centre_of_mass(image), atol=0.3)


def test_noise_grows_with_sigma_and_is_repeatable():
    images = blob_digits()
    changes = [np.abs(rb.noise(images, s).astype(int) - images).mean() for s in (0.1, 0.3, 0.6)]
    assert changes == sorted(changes) and changes[0] > 0
    np.testing.assert_array_equal(rb.noise(images, 0.3), rb.noise(images, 0.3))


def test_blur_keeps_the_ink_but_spreads_it():
    image = bar_digit()[None]
    blurred = rb.blur(image, 1.5)
    assert blurred.max() < image.max()
    assert np.count_nonzero(blurred) > np.count_nonzero(image)
    assert blurred.sum(dtype=float) == pytest.approx(image.sum(dtype=float), rel=0.02)


def test_inversion_gives_the_negative_and_grey_halfway():
    image = bar_digit()[None]
    np.testing.assert_array_equal(rb.invert(image, 1.0), 255 - image)
    assert set(np.unique(rb.invert(image, 0.5))) <= {127, 128}


def test_occlusion_blacks_out_a_band_of_the_given_height():
    image = np.full((1, 28, 28), 200, np.uint8)
    covered = rb.occlude(image, 6)[0]
    assert (covered == 0).all(axis=1).sum() == 6  # six whole rows
    assert (covered[11:17] == 0).all() and (covered[:11] == 200).all() and (covered[17:] == 200).all()


def test_fixed_sample_is_balanced_and_always_the_same():
    labels = np.random.default_rng(0).integers(0, 10, 5000)
    first, again = rb.fixed_sample(labels), rb.fixed_sample(labels)
    np.testing.assert_array_equal(first, again)
    assert len(first) == rb.SAMPLE_SIZE == len(set(first.tolist()))
    assert np.bincount(labels[first], minlength=10).tolist() == [rb.SAMPLE_SIZE // 10] * 10


# --- curves of a real model --------------------------------------------------------------------


@pytest.fixture(scope="module")
def lenet_and_sample():
    from explorer.data.mnist import DataError, load_mnist
    from explorer.nn.pretrained import available, load_pretrained

    if "lenet" not in available():
        pytest.skip("the pretrained lenet is not shipped")
    try:
        data = load_mnist(download=False)
    except DataError:
        pytest.skip("MNIST is not available (set MNIST_DIR)")
    net, _ = load_pretrained("lenet")
    indices = rb.fixed_sample(data.test_labels)
    return net, data.test_images[indices], data.test_labels[indices]


@pytest.mark.parametrize("name", sorted(rb.PERTURBATIONS))
def test_each_curve_passes_through_the_clean_accuracy(lenet_and_sample, name):
    net, images, labels = lenet_and_sample
    curve = rb.accuracy_curve(net.predict_proba, images, labels, name)
    clean = float((net.predict(images) == labels).mean())
    assert curve.at(rb.PERTURBATIONS[name].neutral) == clean
    assert curve.worst <= clean
    assert len(curve.accuracy) == len(curve.levels) == len(curve.confidence)


@pytest.mark.parametrize("name", ["noise", "blur", "occlusion"])
def test_more_of_a_one_sided_perturbation_never_helps_much(lenet_and_sample, name):
    """Noise, blur and occlusion only destroy information: on average over the sample, accuracy
    may wobble by a digit or two between neighbouring levels but falls overall."""
    net, images, labels = lenet_and_sample
    accuracy = np.array(rb.accuracy_curve(net.predict_proba, images, labels, name).accuracy)
    assert np.all(np.diff(accuracy) <= 2 / len(labels) + 1e-9), accuracy
    assert accuracy[-1] < accuracy[0] - 0.3


def test_rotation_hurts_more_the_further_from_upright(lenet_and_sample):
    net, images, labels = lenet_and_sample
    curve = rb.accuracy_curve(net.predict_proba, images, labels, "rotation")
    by_angle = dict(zip(curve.levels, curve.accuracy))
    for small, large in ((15, 45), (30, 60), (-15, -45), (-30, -60)):
        assert by_angle[small] > by_angle[large]


def test_breaking_point_is_the_mildest_level_below_half():
    curve = rb.Curve("rotation", (-30, 0, 30, 60), (0.2, 0.9, 0.5, 0.1), (0.9, 0.9, 0.9, 0.9))
    assert rb.breaking_point(curve, 0) == -30  # 0.2 and 0.1 are below 0.45; -30 is nearer to 0 than 60
    assert rb.breaking_point(curve, 0, drop=0.1) is None
