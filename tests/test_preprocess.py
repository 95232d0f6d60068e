"""Tests for explorer.data.preprocess, on synthetic digits drawn with Pillow."""

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageDraw, features

from explorer.data.preprocess import (
    MAX_PIXELS,
    MAX_UPLOAD_BYTES,
    DRAWING_MAX_SIDE,
    ImageError,
    PreprocessOptions,
    Preprocessed,
    centre_of_mass,
    decode_digit,
    encode_digit,
    open_upload,
    _composite_alpha,
    _unit_range,
    preprocess_digit,
    to_grayscale,
)

CANVAS = 280


def draw_seven(offset=(0, 0), width=18, size=CANVAS, ink=255, background=0, scale=1.0):
    """A '7'-like stroke: a bar and a slanted leg, drawn in a square image."""
    image = Image.new("L", (size, size), background)
    dx, dy = offset
    points = [(60, 60), (150, 60), (95, 210)]
    points = [(x * scale + dx, y * scale + dy) for x, y in points]
    ImageDraw.Draw(image).line(points, fill=ink, width=width, joint="curve")
    return image


def ink_box(digit):
    rows = np.flatnonzero(digit.any(axis=1))
    cols = np.flatnonzero(digit.any(axis=0))
    return rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1


def assert_mnist_like(digit):
    assert digit.shape == (28, 28) and digit.dtype == np.uint8
    assert digit.max() == 255
    row, col = centre_of_mass(digit)
    assert abs(row - 14) <= 1 and abs(col - 14) <= 1
    height, width = ink_box(digit)
    assert height <= 20 and width <= 20
    assert max(height, width) >= 19  # the digit was scaled up to the box


def mean_abs_diff(a, b):
    return np.abs(a.astype(float) - b.astype(float)).mean()


def encode(image, fmt, **kwargs):
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def png_chunk(kind, payload):
    body = kind + payload
    return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))


def png_header_only(width, height):
    """A PNG whose header claims width x height pixels, with almost no pixel data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit grayscale
    idat = zlib.compress(b"\x00" * 16)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


# --- the pipeline ------------------------------------------------------------


def test_centred_digit_is_mnist_like():
    result = preprocess_digit(draw_seven())
    assert isinstance(result, Preprocessed)
    assert_mnist_like(result.digit)
    assert len(result.steps) == 6
    for title, picture in result.steps:
        assert isinstance(title, str) and picture.dtype == np.uint8 and picture.ndim == 2
    assert result.notes


@pytest.mark.parametrize("options", [PreprocessOptions(), PreprocessOptions(crop=False, fit_20=False, invert="always")])
def test_without_pictures_the_same_digit_and_notes_and_no_steps(options):
    drawing = draw_seven(offset=(40, -30))
    full, bare = preprocess_digit(drawing, options), preprocess_digit(drawing, options, pictures=False)
    assert np.array_equal(full.digit, bare.digit) and full.notes == bare.notes
    assert bare.steps == [] and len(full.steps) == 6


def test_off_centre_digit_is_moved_to_the_centre():
    centred = preprocess_digit(draw_seven()).digit
    corner = preprocess_digit(draw_seven(offset=(110, 60))).digit
    assert_mnist_like(corner)
    assert mean_abs_diff(centred, corner) < 3


@pytest.mark.parametrize("width", [8, 22])
def test_a_canvas_worked_on_at_half_size_gives_nearly_the_same_digit(width):
    canvas = np.asarray(draw_seven(offset=(30, 20), width=width))
    full = preprocess_digit(canvas, pictures=False)
    half = preprocess_digit(canvas, pictures=False, max_side=DRAWING_MAX_SIDE)
    assert DRAWING_MAX_SIDE < CANVAS
    assert "reduced" in [note.code for note in half.notes] and "reduced" not in [note.code for note in full.notes]
    assert_mnist_like(half.digit)
    assert mean_abs_diff(full.digit, half.digit) < 6


def test_black_on_white_matches_white_on_black():
    white_ink = preprocess_digit(draw_seven()).digit
    black_ink = preprocess_digit(draw_seven(ink=0, background=255))
    assert_mnist_like(black_ink.digit)
    assert mean_abs_diff(white_ink, black_ink.digit) < 2
    assert any("inverted" in note for note in black_ink.notes)


@pytest.mark.parametrize("width", [2, 6, 40])
def test_thin_and_thick_strokes(width):
    digit = preprocess_digit(draw_seven(width=width)).digit
    assert_mnist_like(digit)
    ink_fraction = (digit > 64).mean()
    assert 0.02 < ink_fraction < 0.5


def test_thick_strokes_cover_more_than_thin_ones():
    thin = preprocess_digit(draw_seven(width=4)).digit
    thick = preprocess_digit(draw_seven(width=40)).digit
    assert (thick > 128).sum() > 1.5 * (thin > 128).sum()


def test_tiny_digit_is_scaled_up_to_20_pixels():
    image = Image.new("L", (300, 300), 255)
    ImageDraw.Draw(image).rectangle([140, 140, 149, 149], outline=0, width=2)  # 10x10 ink
    digit = preprocess_digit(image).digit
    assert_mnist_like(digit)
    assert ink_box(digit) == (20, 20)


def test_noisy_photo_background_is_removed():
    rng = np.random.default_rng(0)
    clean = np.asarray(draw_seven(ink=40, background=200), dtype=float)
    photo = np.clip(clean + rng.normal(0, 12, clean.shape), 0, 255).astype(np.uint8)
    noisy = preprocess_digit(Image.fromarray(photo)).digit
    assert_mnist_like(noisy)
    assert mean_abs_diff(noisy, preprocess_digit(draw_seven()).digit) < 12


def test_steps_can_be_switched_off_and_still_give_28x28():
    image = draw_seven(offset=(80, 40), scale=0.6)
    full = preprocess_digit(image).digit
    for options in [
        PreprocessOptions(crop=False),
        PreprocessOptions(fit_20=False),
        PreprocessOptions(center_of_mass=False),
        PreprocessOptions(invert="always"),
        PreprocessOptions(invert="always", crop=False, fit_20=False, center_of_mass=False),
    ]:
        result = preprocess_digit(image, options)
        assert result.digit.shape == (28, 28) and result.digit.dtype == np.uint8
        assert len(result.steps) == 6
        assert mean_abs_diff(result.digit, full) > 1, options  # the switch has an effect


def test_without_crop_the_digit_stays_small():
    digit = preprocess_digit(draw_seven(), PreprocessOptions(crop=False)).digit
    assert max(ink_box(digit)) < 16


def test_without_centre_of_mass_the_bounding_box_is_centred():
    result = preprocess_digit(draw_seven(), PreprocessOptions(center_of_mass=False))
    rows = np.flatnonzero(result.digit.any(axis=1))
    cols = np.flatnonzero(result.digit.any(axis=0))
    assert abs((rows[0] + rows[-1]) / 2 - 13.5) <= 1
    assert abs((cols[0] + cols[-1]) / 2 - 13.5) <= 1
    # The '7' is heavy at the top, so its centre of mass is clearly above 14.
    assert centre_of_mass(result.digit)[0] < 13


def test_forcing_the_wrong_polarity_gives_a_light_background():
    forced_on = preprocess_digit(draw_seven(), PreprocessOptions(invert="always"))
    forced_off = preprocess_digit(draw_seven(ink=0, background=255), PreprocessOptions(invert="never"))
    for result in (forced_on, forced_off):
        assert result.digit.shape == (28, 28)
        assert np.median(result.digit) > 200
        assert result.digit.min() < 50  # the dark digit is still there
        assert any("unlike MNIST" in note for note in result.notes)


def test_forcing_the_right_polarity_changes_nothing():
    image = draw_seven(ink=0, background=255)
    auto = preprocess_digit(image).digit
    assert np.array_equal(preprocess_digit(image, PreprocessOptions(invert="always")).digit, auto)
    dark = draw_seven()
    assert np.array_equal(
        preprocess_digit(dark, PreprocessOptions(invert="never")).digit, preprocess_digit(dark).digit
    )


def test_bad_invert_option():
    with pytest.raises(ValueError):
        preprocess_digit(draw_seven(), PreprocessOptions(invert="sometimes"))


# --- canvas arrays -----------------------------------------------------------


@pytest.mark.parametrize("stroke", [0, 255])
def test_canvas_with_transparent_background(stroke):
    """streamlit-drawable-canvas: RGBA, alpha 0 where nothing was drawn."""
    mask = np.asarray(draw_seven(), dtype=np.uint8)
    canvas = np.zeros((CANVAS, CANVAS, 4), dtype=np.uint8)
    canvas[..., :3] = stroke
    canvas[..., 3] = mask  # antialiased stroke edges are partly transparent
    expected = preprocess_digit(draw_seven()).digit
    digit = preprocess_digit(canvas).digit
    assert_mnist_like(digit)
    assert mean_abs_diff(digit, expected) < 2


def test_to_grayscale_shapes_and_range():
    gray = np.asarray(draw_seven())
    for array in [gray, np.stack([gray] * 3, axis=-1), gray[..., None]]:
        result = to_grayscale(array)
        assert result.shape == gray.shape and result.dtype == np.float32
        assert np.allclose(result, gray / 255.0, atol=1e-3)
    rgba = np.zeros((10, 10, 4), np.uint8)
    rgba[2:8, 4:6] = (255, 255, 255, 255)
    result = to_grayscale(rgba)
    assert result[5, 5] == 1.0 and result[0, 0] == 0.0
    assert to_grayscale(Image.fromarray(gray)).shape == gray.shape


@pytest.mark.parametrize("channels", [3, 4])
def test_a_colour_pixels_gray_is_its_brightest_channel(channels):
    rng = np.random.default_rng(channels)
    array = rng.integers(0, 256, (37, 41, channels), dtype=np.uint8)
    array[..., 3:] = 255  # opaque: no background mixed in
    brightest = (array[..., :3].astype(np.float32) / 255.0).max(axis=2)
    assert np.array_equal(to_grayscale(array), brightest)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
@pytest.mark.parametrize("channels", [2, 3, 4])
def test_gray_is_the_brightest_channel_scaled_then_put_on_its_background(dtype, channels):
    """The readable order (every channel scaled to 0..1, the brightest picked, then put on the
    background) and the fast one for uint8 (picked first: a third as many numbers to scale)
    give the same numbers, transparent pixels included."""
    rng = np.random.default_rng(channels)
    full_scale = {np.uint8: 255, np.uint16: 65535, np.float32: 1.0}[dtype]
    array = (rng.random((37, 41, channels)) * full_scale).astype(dtype)
    array[:5, ..., -1] = 0  # see-through rows, and the rest partly transparent
    values = _unit_range(array)
    brightest = values[..., 0] if channels == 2 else values[..., :3].max(axis=2)
    expected = _composite_alpha(brightest, values[..., -1]) if channels in (2, 4) else brightest
    assert np.array_equal(to_grayscale(array), expected.astype(np.float32))


def test_empty_canvas_is_rejected():
    with pytest.raises(ImageError, match="empty"):
        preprocess_digit(np.zeros((CANVAS, CANVAS, 4), dtype=np.uint8))
    with pytest.raises(ImageError, match="empty"):
        preprocess_digit(np.zeros((0, 0, 4), dtype=np.uint8))


def test_fully_painted_canvas_is_rejected():
    with pytest.raises(ImageError):
        preprocess_digit(np.full((CANVAS, CANVAS, 4), 255, dtype=np.uint8))


@pytest.mark.parametrize("level", [0, 255])
def test_blank_images_are_rejected(level):
    with pytest.raises(ImageError, match="no visible digit"):
        preprocess_digit(Image.new("L", (100, 100), level))


def test_faint_smudge_is_rejected():
    image = Image.new("L", (100, 100), 200)
    ImageDraw.Draw(image).line([(20, 20), (80, 80)], fill=190, width=5)
    with pytest.raises(ImageError):
        preprocess_digit(image)


def test_wrong_array_shape_is_rejected():
    with pytest.raises(ImageError):
        to_grayscale(np.zeros((10, 10, 7), dtype=np.uint8))


# --- uploads -----------------------------------------------------------------

LOSSLESS = ["PNG", "BMP", "GIF"] + (["WEBP"] if features.check("webp") else [])


@pytest.mark.parametrize("fmt", LOSSLESS)
def test_lossless_uploads_round_trip(fmt):
    original = draw_seven(ink=0, background=255)
    kwargs = {"lossless": True} if fmt == "WEBP" else {}
    image = open_upload(encode(original, fmt, **kwargs))
    assert image.mode == "L" and image.size == original.size
    assert np.array_equal(np.asarray(image), np.asarray(original))


def test_jpeg_upload():
    original = draw_seven(ink=0, background=255).convert("RGB")
    image = open_upload(encode(original, "JPEG", quality=90))
    assert image.mode == "L"
    assert mean_abs_diff(np.asarray(image), np.asarray(original.convert("L"))) < 3
    assert_mnist_like(preprocess_digit(image).digit)


def test_animated_gif_uses_first_frame():
    first = draw_seven(ink=0, background=255)
    second = Image.new("L", first.size, 255)
    ImageDraw.Draw(second).ellipse([40, 40, 240, 240], outline=0, width=20)
    data = encode(first, "GIF", save_all=True, append_images=[second], duration=100, loop=0)
    assert Image.open(io.BytesIO(data)).n_frames == 2
    image = open_upload(data)
    assert np.array_equal(np.asarray(image), np.asarray(first))


@pytest.mark.skipif(not features.check("webp"), reason="Pillow built without WebP")
def test_animated_webp_uses_first_frame():
    first = draw_seven(ink=0, background=255).convert("RGB")
    second = Image.new("RGB", first.size, "white")
    ImageDraw.Draw(second).ellipse([40, 40, 240, 240], outline="black", width=20)
    data = encode(first, "WEBP", save_all=True, append_images=[second], lossless=True)
    image = open_upload(data)
    assert mean_abs_diff(np.asarray(image), np.asarray(first.convert("L"))) < 1


def test_cmyk_jpeg():
    image = Image.new("CMYK", (120, 120), (0, 0, 0, 0))  # no ink: white paper
    ImageDraw.Draw(image).rectangle([40, 20, 80, 100], fill=(0, 0, 0, 255))  # black
    gray = np.asarray(open_upload(encode(image, "JPEG", quality=95)))
    assert gray[60, 60] < 40 and gray[5, 5] > 215
    assert_mnist_like(preprocess_digit(Image.fromarray(gray)).digit)


def test_16_bit_png():
    values = np.zeros((64, 64), dtype=np.uint16)
    values[16:48, 28:36] = 65535
    values[0, 0] = 32768
    image = Image.fromarray(values)
    assert image.mode.startswith("I;16")
    gray = np.asarray(open_upload(encode(image, "PNG")))
    assert gray[30, 30] == 255 and gray[30, 10] == 0
    assert abs(int(gray[0, 0]) - 128) <= 1


def test_palette_png_with_transparency():
    """Black ink on a transparent background: transparent must become background."""
    image = Image.new("P", (100, 100), 0)
    image.putpalette([0, 0, 0] * 256)  # every colour is black...
    image.info["transparency"] = 0  # ...but index 0 is fully transparent
    ImageDraw.Draw(image).line([(30, 20), (70, 20), (45, 85)], fill=1, width=6)
    data = encode(image, "PNG", transparency=0)
    assert Image.open(io.BytesIO(data)).mode == "P"
    gray = np.asarray(open_upload(data))
    assert gray[5, 5] == 255 and gray[20, 50] == 0  # background white, ink black
    assert_mnist_like(preprocess_digit(Image.fromarray(gray)).digit)


def test_rgba_png_with_white_ink_on_transparent():
    rgba = Image.new("RGBA", (100, 100), (0, 0, 0, 0))
    ImageDraw.Draw(rgba).line([(30, 20), (70, 20), (45, 85)], fill=(255, 255, 255, 255), width=6)
    gray = np.asarray(open_upload(encode(rgba, "PNG")))
    assert gray[5, 5] == 0 and gray[20, 50] == 255


def test_upload_is_never_written_to_disk(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    open_upload(encode(draw_seven(), "PNG"))
    assert list(tmp_path.iterdir()) == []


# --- upload errors -----------------------------------------------------------


def test_empty_bytes():
    with pytest.raises(ImageError, match="empty"):
        open_upload(b"")


def test_too_many_bytes():
    with pytest.raises(ImageError, match="too large"):
        open_upload(b"\x00" * (MAX_UPLOAD_BYTES + 1))


def test_random_bytes():
    data = np.random.default_rng(1).integers(0, 256, 5000, dtype=np.uint8).tobytes()
    with pytest.raises(ImageError, match="not an image"):
        open_upload(data)


def test_text_file():
    with pytest.raises(ImageError):
        open_upload(b"<svg xmlns='http://www.w3.org/2000/svg'></svg>")


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_truncated_file(fmt):
    noise = np.random.default_rng(2).integers(0, 256, (200, 200), dtype=np.uint8)
    data = encode(Image.fromarray(noise), fmt)
    with pytest.raises(ImageError, match="damaged"):
        open_upload(data[: len(data) // 2])


@pytest.mark.parametrize("size", [(1, 1), (5, 200), (200, 7)])
def test_tiny_images(size):
    with pytest.raises(ImageError, match="too small"):
        open_upload(encode(Image.new("L", size, 255), "PNG"))


def test_decompression_bomb_header_is_rejected_before_decoding():
    # 30000 x 30000 is far beyond Pillow's own limit...
    with pytest.raises(ImageError, match="too many pixels"):
        open_upload(png_header_only(30_000, 30_000))
    # ...while 6000 x 5000 passes Pillow's limit but not ours.
    assert 6000 * 5000 > MAX_PIXELS
    with pytest.raises(ImageError, match="too many pixels"):
        open_upload(png_header_only(6000, 5000))


def test_crafted_header_is_otherwise_valid():
    """The bomb test only means something if the crafted PNG header parses."""
    image = Image.open(io.BytesIO(png_header_only(64, 48)))
    assert image.size == (64, 48)


@pytest.mark.parametrize("level", [0, 255])
def test_uniform_uploads_have_no_digit(level):
    image = open_upload(encode(Image.new("RGB", (64, 64), (level,) * 3), "PNG"))
    with pytest.raises(ImageError, match="no visible digit"):
        preprocess_digit(image)


# --- step thumbnails ---------------------------------------------------------


def border(picture):
    return np.concatenate([picture[0], picture[-1], picture[:, 0], picture[:, -1]])


@pytest.mark.parametrize("shape", ["one", "seven", "dash"])
def test_thumbnails_of_a_drawing_with_blank_borders_have_blank_borders(shape):
    """A tall '1' or a flat '-' crops to a thin strip whose ink touches its edges: the square
    thumbnail must pad it with background, not smear the edge ink into streaks."""
    canvas = Image.new("RGBA", (CANVAS, CANVAS), (0, 0, 0, 0))  # the canvas: transparent outside the strokes
    draw = ImageDraw.Draw(canvas)
    lines = {"one": [(140, 50), (140, 230)], "seven": [(60, 60), (150, 60), (95, 210)], "dash": [(60, 140), (220, 140)]}
    draw.line(lines[shape], fill=(255, 255, 255, 255), width=22)
    result = preprocess_digit(np.asarray(canvas))
    for title, picture in result.steps:
        assert picture.shape[0] == picture.shape[1], title  # square, so the page needs no padding of its own
        assert border(picture).max() == 0, f"{title}: ink on the border"
        assert picture.max() > 0, title


def test_thumbnails_of_black_ink_on_paper_keep_the_paper_colour_at_the_border():
    result = preprocess_digit(draw_seven(ink=0, background=255), PreprocessOptions(invert="never"))
    grayscale, *rest = [picture for _, picture in result.steps[:4]]
    assert border(grayscale).min() == 255
    for picture in rest:  # forced to stay dark on light: the margin is light too
        assert border(picture).min() == 255


# --- a digit in a link -------------------------------------------------------


def test_digit_link_round_trip_keeps_16_grey_levels():
    digit = preprocess_digit(draw_seven()).digit
    text = encode_digit(digit)
    assert len(text) < 600 and set(text) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    back = decode_digit(text)
    assert back.dtype == np.uint8 and back.shape == (28, 28)
    assert np.abs(back.astype(int) - digit.astype(int)).max() <= 8  # half a grey step of 17
    assert set(np.unique(back)) <= set(range(0, 256, 17))
    assert decode_digit(encode_digit(back)).tolist() == back.tolist()


def test_digit_link_stays_short_even_for_noise():
    noise = np.random.default_rng(0).integers(0, 256, (28, 28)).astype(np.uint8)
    assert len(encode_digit(noise)) < 600
    assert np.abs(decode_digit(encode_digit(noise)).astype(int) - noise).max() <= 8


@pytest.mark.parametrize(
    "text",
    ["", "!!!not base64!!!", "abc", "A" * 601,
     encode_digit(np.zeros((28, 28), np.uint8))[:-4],  # cut short
     "eJwLAQAAAQAAAAA",  # valid zlib of the wrong length
     __import__("base64").urlsafe_b64encode(zlib.compress(bytes(392) + bytes(50))).decode().rstrip("=")],
)
def test_malformed_digit_link_is_rejected(text):
    with pytest.raises(ValueError):
        decode_digit(text)


def _pieces_by_flood_fill(mask):
    """The readable definition: a flood fill from each unlabelled pixel of ink, 8 neighbours."""
    labels = np.zeros(mask.shape, dtype=int)
    pieces = 0
    for start in zip(*np.nonzero(mask)):
        if labels[start]:
            continue
        pieces += 1
        labels[start] = pieces
        todo = [start]
        while todo:
            y, x = todo.pop()
            for ny in range(max(0, y - 1), min(mask.shape[0], y + 2)):
                for nx in range(max(0, x - 1), min(mask.shape[1], x + 2)):
                    if mask[ny, nx] and not labels[ny, nx]:
                        labels[ny, nx] = pieces
                        todo.append((ny, nx))
    return labels


@pytest.mark.parametrize("seed", range(6))
def test_connected_pieces_agree_with_a_flood_fill(seed):
    from explorer.data.preprocess import _connected_pieces

    rng = np.random.default_rng(seed)
    mask = rng.random((40 + seed, 57)) < (0.35 + 0.05 * seed)  # from many specks to a few large pieces
    mask[5, 3:50] = True  # and one long stroke, which takes label propagation many steps
    fast, readable = _connected_pieces(mask), _pieces_by_flood_fill(mask)
    assert ((fast > 0) == mask).all()
    assert fast.max() == readable.max() > 1
    # the same pieces, whatever their numbers: each label of one maps to exactly one of the other
    pairs = set(zip(fast[mask].tolist(), readable[mask].tolist()))
    assert len(pairs) == len({f for f, _ in pairs}) == len({r for _, r in pairs})


def _opened_by_the_filters(image, window):
    from explorer.data.preprocess import _running_twice

    return _running_twice(image, window, np.minimum, np.maximum)


@pytest.mark.parametrize("seed", range(6))
def test_the_opening_of_strokes_on_an_even_background_is_the_filters_opening(seed):
    """The opening's shortcut (an even background left as it is; taken with the wider windows here)
    against the two filters it skips."""
    from explorer.data.preprocess import _opening

    rng = np.random.default_rng(seed)
    window = (3, 5, 9, 15, 9, 15)[seed]
    image = np.zeros((40 + seed, 50), np.float32)
    for _ in range(6):  # strokes, thinner than the window
        y, x = rng.integers(1, 35), rng.integers(1, 40)
        image[y : y + window // 2, x : x + int(rng.integers(1, 12))] = rng.random(dtype=np.float32)
    assert np.array_equal(_opening(image, window), _opened_by_the_filters(image, window))


@pytest.mark.parametrize("light_part", ["a blot the window fits in", "ink along the border"])
def test_the_opening_keeps_what_the_window_fits_in(light_part):
    """Where the shortcut must not be taken: the opening keeps a light part as wide as the window."""
    from explorer.data.preprocess import _opening

    window = 9
    image = np.zeros((40, 50), np.float32)
    if light_part == "a blot the window fits in":
        image[10:19, 20:30] = 0.5
    else:  # a square beyond the edge holds copies of the border's ink only
        image[0, 5:15] = 0.7
    expected = _opened_by_the_filters(image, window)
    assert expected.max() > 0
    assert np.array_equal(_opening(image, window), expected)


def test_the_closing_of_dark_strokes_on_an_even_background_is_the_filters_closing():
    """The same shortcut for dark ink on light paper (the Filters page's black-ink canvas)."""
    from explorer.data.preprocess import _closing, _every_square_holds, _running_twice

    image = 1.0 - to_grayscale(draw_seven())  # black strokes on white, 280x280
    window = 93
    assert _every_square_holds(image == image.max(), window)
    filtered = _running_twice(image, window, np.maximum, np.minimum)
    assert np.array_equal(_closing(image, window), filtered)


def test_a_drawing_on_the_canvas_takes_the_openings_shortcut():
    from explorer.data.preprocess import _every_square_holds, _paper_window

    gray = to_grayscale(draw_seven())  # white strokes on the canvas's black, 280x280
    assert _every_square_holds(gray == gray.min(), _paper_window(gray.shape))


@pytest.mark.parametrize("window", [1, 2, 3, 4, 7, 8, 13])
def test_running_max_and_min_agree_with_a_window_per_pixel(window):
    """The doubling filter against its definition: the max (min) of the window x window square
    around each pixel, the image continued beyond its edges as it is at the edges."""
    from explorer.data.preprocess import _running

    rng = np.random.default_rng(window)
    image = rng.random((23, 31)).astype(np.float32)
    before, after = window // 2, window - 1 - window // 2
    padded = np.pad(image, [(before, after), (before, after)], mode="edge")
    for pick, reduce in ((np.maximum, np.max), (np.minimum, np.min)):
        expected = np.array([[reduce(padded[y : y + window, x : x + window]) for x in range(image.shape[1])]
                             for y in range(image.shape[0])])  # fmt: skip
        assert np.array_equal(_running(image, window, pick), expected)
