"""Photos that work: realistic photos of MNIST test digits (explorer.data.photos) go through the
preprocessing and a shipped model reads them; transparent drawings; large uploads in little memory;
every step's note is in the catalogs."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
import tracemalloc

import numpy as np
import pytest
from PIL import Image, ImageDraw

from explorer import i18n
from explorer.data import preprocess
from explorer.data.photos import KINDS, photo_set, render_photo
from explorer.data.preprocess import ImageError, Step, open_upload, preprocess_digit
from explorer.nn.pretrained import load_pretrained

PHOTOS_PER_KIND = 40
# lenet (fast) on PHOTOS_PER_KIND photos of each kind; heavy shadows are the hardest kind.
TARGET = {kind: 0.95 for kind in KINDS} | {"shadow": 0.9}
MEMORY_LIMIT = 100 * 1024 * 1024


@pytest.fixture(scope="module")
def lenet():
    return load_pretrained("lenet")[0]


def our_digit(photo: bytes) -> np.ndarray:
    return preprocess_digit(open_upload(photo)).digit


# --- the photos themselves -----------------------------------------------------------------


def test_photos_are_seeded_jpegs_of_every_kind(mnist):
    digit = mnist.test_images[0]
    for kind in KINDS:
        photo = render_photo(digit, kind, seed=3)
        assert photo[:2] == b"\xff\xd8", kind  # a JPEG
        assert photo == render_photo(digit, kind, seed=3), kind
        assert photo != render_photo(digit, kind, seed=4), kind
    with pytest.raises(ValueError):
        render_photo(digit, "underwater")


def test_a_desk_photo_has_a_dark_border_around_light_paper(mnist):
    gray = np.asarray(Image.open(io.BytesIO(render_photo(mnist.test_images[1], "desk", seed=0))).convert("L"))
    height, width = gray.shape
    middle = gray[height // 3 : -height // 3, width // 3 : -width // 3]
    corners = [gray[:5, :5], gray[:5, -5:], gray[-5:, :5], gray[-5:, -5:]]
    assert np.median(middle) > 180
    assert min(np.median(corner) for corner in corners) < 0.6 * np.median(middle)


def test_a_shadow_darkens_a_corner_by_35_to_45_percent():
    blank = np.zeros((28, 28), np.uint8)  # no ink: only paper and light
    for seed in range(5):
        gray = np.asarray(Image.open(io.BytesIO(render_photo(blank, "shadow", seed=seed))).convert("L"), float)
        corners = [gray[:8, :8], gray[:8, -8:], gray[-8:, :8], gray[-8:, -8:]]
        levels = sorted(np.median(corner) for corner in corners)
        darker = 1 - levels[0] / np.median(gray)
        assert 0.25 < darker < 0.55, (seed, darker)  # 35-45% plus the gentle slope of the light


# --- the preprocessing on every kind ------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_photos_of_each_kind_are_read(kind, mnist, lenet):
    photos, labels = photo_set(mnist.test_images, mnist.test_labels, kind, PHOTOS_PER_KIND)
    digits = np.stack([our_digit(photo) for photo in photos])
    accuracy = np.mean(lenet.predict(digits) == labels)
    assert accuracy >= TARGET[kind], f"{kind}: {accuracy:.0%}"
    # MNIST-like ink: strokes are not thinned (MNIST's mean pixel is about 33 of 255).
    assert digits.mean() > 0.8 * mnist.test_images[:PHOTOS_PER_KIND].mean(), kind


def test_the_desk_is_not_taken_for_ink(mnist):
    """The bug of issue 17: the dark border made the white paper the 'ink'."""
    photo = render_photo(mnist.test_images[0], "desk", seed=0)
    result = preprocess_digit(open_upload(photo))
    codes = [note.code for note in result.notes]
    assert "inverted" in codes and "desk_ignored" in codes
    ink_box = np.argwhere(result.digit > 64)
    height, width = ink_box.max(axis=0) - ink_box.min(axis=0) + 1
    assert max(height, width) >= 19 and min(height, width) < 19  # a '7', not a filled page


def test_each_note_says_what_it_decided_in_every_language(mnist):
    photo = render_photo(mnist.test_images[3], "uneven_light", seed=2)
    result = preprocess_digit(open_upload(photo))
    codes = [note.code for note in result.notes]
    assert codes[:2] == ["paper_found", "uneven_light"] or codes[0] == "paper_found"
    for note in [*result.notes, *(title for title, _ in result.steps)]:
        assert isinstance(note, Step) and note.key.startswith("photo.")
        for lang in i18n.LANGUAGES:
            text = i18n.catalog(lang)[note.key]
            assert i18n.placeholders(text) == set(note.params), (lang, note.key)
    with i18n.language("zh-Hans"):
        paper = next(note for note in result.notes if note.code == "paper_found")
        assert "纸" in i18n.t(paper.key, **paper.params)


def test_image_errors_carry_a_code_and_parameters():
    with pytest.raises(ImageError) as caught:
        open_upload(encode(Image.new("L", (5, 200), 255), "PNG"))
    error = caught.value
    assert error.key == "photo.error.too_small" and error.params == {"width": 5, "height": 200}
    assert str(error) == "The image is too small (5x200 pixels) to hold a digit."
    with i18n.language("zh-Hans"):
        assert "5x200" in i18n.t(error.key, **error.params)


# --- transparent backgrounds --------------------------------------------------------------


def encode(image: Image.Image, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def thick_zero(ink, background) -> Image.Image:
    image = Image.new("RGBA", (200, 200), background)
    ImageDraw.Draw(image).ellipse([20, 10, 180, 190], outline=ink, width=45)
    return image


@pytest.mark.parametrize("ink", [(0, 0, 0, 255), (255, 255, 255, 255), (20, 40, 160, 255)])
def test_a_tightly_cropped_drawing_on_transparent_is_accepted(ink):
    """Most of its pixels are opaque ink: the transparent part is still the background."""
    drawing = thick_zero(ink, (0, 0, 0, 0))
    drawing = drawing.crop(drawing.getbbox())
    alpha = np.asarray(drawing)[..., 3]
    assert (alpha > 127).mean() > 0.5
    digit = preprocess_digit(open_upload(encode(drawing))).digit
    page = Image.new("RGBA", (400, 400), (255, 255, 255, 255))  # the same ring on a white page
    page.alpha_composite(thick_zero((0, 0, 0, 255), (0, 0, 0, 0)), (100, 100))
    on_white = preprocess_digit(page.convert("L")).digit
    assert np.abs(digit.astype(float) - on_white).mean() < 6
    assert digit[14, 14] == 0 and digit.max() == 255  # a ring: the hole stays background


# --- large uploads in little memory --------------------------------------------------------


def big_rgba_png(side: int) -> bytes:
    image = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    ImageDraw.Draw(image).line([(side // 4, side // 5), (3 * side // 4, side // 5), (side // 2, 4 * side // 5)],
                               fill=(0, 0, 0, 255), width=side // 25)  # fmt: skip
    return encode(image)


def test_a_large_png_is_decoded_a_band_at_a_time_like_a_whole_one(monkeypatch):
    """Bands (each unfiltered by Pillow after the previous band's last row) give the same pixels."""
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (600, 700, 4), dtype=np.uint8)
    pixels[..., 3] = 255
    data = encode(Image.fromarray(pixels, "RGBA"))  # noise: Pillow picks every PNG filter type
    whole = Image.open(io.BytesIO(data)).reduce(3)
    monkeypatch.setattr(preprocess, "DECODE_MAX_SIDE", 256)
    monkeypatch.setattr(preprocess, "PNG_BAND_BYTES", 50_000)  # many bands
    banded = preprocess._load_reduced(Image.open(io.BytesIO(data)), data)
    assert banded.size == whole.size == (234, 200)
    assert np.array_equal(np.asarray(banded), np.asarray(whole))


def test_a_damaged_large_png_is_refused(monkeypatch):
    data = big_rgba_png(2000)
    with pytest.raises(ImageError, match="damaged"):
        open_upload(data[: len(data) // 2] + data[-12:])


def test_peak_memory_of_a_5000x5000_rgba_png_in_python():
    data = big_rgba_png(5000)
    assert len(data) < preprocess.MAX_UPLOAD_BYTES
    tracemalloc.start()
    try:
        result = preprocess_digit(open_upload(data))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.digit.max() == 255
    assert peak < MEMORY_LIMIT, f"{peak / 2**20:.0f} MiB"


MEMORY_PROBE = textwrap.dedent("""
    import json, re, sys
    from pathlib import Path
    from explorer.data.preprocess import open_upload, preprocess_digit
    def kib(field):
        return int(re.search(field + r":\\s+(\\d+)", Path("/proc/self/status").read_text()).group(1))
    data = sys.stdin.buffer.read()
    before = kib("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # the peak (VmHWM) starts again from here
    digit = preprocess_digit(open_upload(data)).digit
    print(json.dumps({"grew_kib": kib("VmHWM") - before, "ink": int(digit.max())}))
""")


@pytest.mark.parametrize("kind", ["rgba_png", "rgb_jpeg"])
def test_peak_memory_of_the_largest_uploads_in_the_whole_process(kind, repo_root):
    """Pillow's own buffers are invisible to tracemalloc: the process's peak size says it all."""
    side = 5000
    if kind == "rgba_png":
        data = big_rgba_png(side)
    else:
        image = Image.new("RGB", (side, side), "white")
        ImageDraw.Draw(image).line([(1200, 1000), (3800, 1000), (2500, 4000)], fill="black", width=200)
        data = encode(image, "JPEG")
    assert len(data) < preprocess.MAX_UPLOAD_BYTES
    probe = subprocess.run([sys.executable, "-c", MEMORY_PROBE], input=data, capture_output=True, cwd=repo_root,
                           timeout=300, check=True)  # fmt: skip
    report = json.loads(probe.stdout)
    assert report["ink"] == 255
    assert report["grew_kib"] * 1024 < MEMORY_LIMIT, f"{report['grew_kib'] / 1024:.0f} MiB"


def test_the_app_shows_the_notes_and_titles_in_the_readers_language(mnist):
    from explorer.ui.digit_input import step_notes, step_text
    from tests.english_check import english_runs

    result = preprocess_digit(open_upload(render_photo(mnist.test_images[5], "ruled", seed=1)))
    assert "lines_removed" in [note.code for note in result.notes]
    english = step_notes(result)
    assert english == " ".join(result.notes)  # the English notes are the Steps' own text
    for lang in ("zh-Hans", "zh-Hant"):
        with i18n.language(lang):
            texts = [step_notes(result), *(step_text(title) for title, _ in result.steps)]
        assert all(english_runs(text) == [] for text in texts), (lang, texts)
        assert texts[0] != english


def test_a_step_survives_pickle_and_copy():
    import copy
    import pickle

    step = Step("crop_done", height=30, width=12)
    for again in (pickle.loads(pickle.dumps(step)), copy.deepcopy(step)):
        assert type(again) is Step and again == step == "Cropped to the ink's bounding box (30x12 px)."
        assert (again.code, again.params) == ("crop_done", {"height": 30, "width": 12})


def test_formats_decoded_whole_must_fit_a_decode_budget():
    """WebP (like GIF, BMP and interlaced PNG) cannot be decoded reduced: past the budget it is
    refused from its header, before any pixel is decoded."""
    from PIL import features

    if not features.check("webp"):
        pytest.skip("Pillow built without WebP")
    buffer = io.BytesIO()
    Image.new("RGBA", (5000, 5000), (0, 0, 0, 0)).save(buffer, format="WEBP", lossless=True)
    assert 5000 * 5000 * 4 > preprocess.MAX_FULL_DECODE_BYTES and len(buffer.getvalue()) < preprocess.MAX_UPLOAD_BYTES
    tracemalloc.start()
    try:
        with pytest.raises(ImageError) as caught:
            open_upload(buffer.getvalue())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert caught.value.code == "error.too_large_to_decode"
    assert peak < 10 * 1024 * 1024
