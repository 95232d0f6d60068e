"""Turn any digit image (canvas drawing, photo, scan) into an MNIST-style 28x28 input.

MNIST digits are white ink on a black background, scaled to fit a 20x20 box
(keeping the aspect ratio) and pasted into a 28x28 frame so that the centre of
mass of the ink sits at the centre of the frame. A model trained on MNIST only
works well on inputs prepared the same way, so this module repeats those steps
and records every stage, so the app can show students why each one matters:

    1. grayscale                 4. scale to fit 20x20
    2. find the paper, then the  5. centre of mass at (14, 14) in a 28x28 frame
       ink (white on black)      6. scale to the model's input range (done by the model)
    3. crop to the ink

A photo of a page is not a clean drawing: the page lies on a darker desk, the light is uneven,
a shadow covers a corner, the paper is ruled. Step 2 therefore first estimates the brightness
of the paper everywhere (the image with the ink removed: a "closing", which fills in every dark
detail thinner than a stroke can be), then measures the ink as how much darker each pixel is
than the paper around it. A desk, a shadow or a slope of light is part of that estimate, so it
is not taken for ink.

Every decision is recorded as a Step: an English sentence for logs and the command line that
also carries a catalog code and its parameters, so the app can show it in the reader's
language (`t(f"photo.{step.code}", **step.params)`).

Nothing here touches the disk: uploads are decoded from bytes in memory, and large images are
decoded already reduced (JPEG by its DCT scaling, PNG a band of rows at a time), so no upload
is ever held in memory at full size as floats.
"""

from __future__ import annotations

import base64
import binascii
import io
import struct
import warnings
import zlib
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from explorer.i18n import DEFAULT, PLACEHOLDER, catalog

MAX_UPLOAD_BYTES = 5 * 1024 * 1024  # 5 MB
MAX_PIXELS = 25_000_000  # width * height, checked before decoding
MIN_SIDE = 8  # smaller images cannot hold a recognisable digit
ALLOWED_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP")
# Formats that Pillow can only decode at full size (GIF, BMP, WebP, interlaced PNG) may take at
# most this much memory decoded; JPEG and plain PNG are decoded reduced, whatever their size.
MAX_FULL_DECODE_BYTES = 40 * 1024 * 1024
PNG_BAND_BYTES = 4 * 1024 * 1024  # a large PNG is decoded this many bytes of rows at a time

MNIST_SIZE = 28
BOX_SIZE = 20  # MNIST digits fit a 20x20 box inside the 28x28 frame
FRAME_CENTRE = 14.0  # MNIST puts the centre of mass at pixel (14, 14)
DECODE_MAX_SIDE = 1024  # larger uploads are decoded already reduced to at most this
WORK_MAX_SIDE = 512  # and then reduced to this: a digit needs no more pixels to become 20x20
# A drawing is worked on at most this size: a 280-px canvas's 22-px strokes stay 11 px wide, far
# more than a 20x20 box needs, and every step costs a quarter (the server answers every stroke).
DRAWING_MAX_SIDE = 140
# To 20x20 with Lanczos: anti-aliased like MNIST's own reduction, and sharper than a box or a
# bilinear filter (benchmarks/photos.py measured it; its slight ringing is clipped away).
SHRINK_FILTER = Image.Resampling.LANCZOS
RING = 0.03  # Lanczos's faint ripples beside a stroke (a few percent) are cleared to black
THUMB_SIDE = 140  # side of the (square) step images shown in the app
LINK_LEVELS = 16  # grey levels of a digit carried in a link (4 bits per pixel)
MAX_LINK_CHARS = 600
THUMB_MARGIN = 0.06  # blank margin around a step image, as a fraction of its longest side

MIN_CONTRAST = 0.15  # ink must differ this much (0..1) from the paper
INK_THRESHOLD = 0.2  # fraction of the brightest ink that counts as ink when cropping
# The paper is estimated with a window this fraction of the image's shorter side: wider than
# any pen stroke, so the estimate never contains ink, and as narrow as that allows, so it follows
# shadows and the edge of the page.
PAPER_WINDOW = 1 / 3
PARTS_GRID = 128  # pieces of ink are found on a grid at most this many cells wide
PART_SHARE = 0.08  # a piece of ink with less than this share of the largest piece is not the digit
TIGHT_CROP = 1 / 3  # a transparent drawing more opaque than this is cropped tightly around its ink
LINE_WIDTH = 7  # px: printed lines are thinner than this (at WORK_MAX_SIDE)
LINE_DARKNESS = 0.08  # a row or column darker than this all along holds a printed line (worth a note)
DESK_RATIO = 0.7  # a border this much darker than the paper is a desk around the page
UNEVEN_LIGHT = 0.15  # the paper's brightness varying more than this is worth a note

STEP_CODES = ("step.grayscale", "step.ink", "step.crop", "step.scale", "step.centre", "step.model_input")


class Step(str):
    """One decision of the pipeline: an English sentence (for logs, the CLI and old callers) that
    also carries its catalog code (a key under [photo]) and parameters, for the app to translate:
    `t(f"photo.{step.code}", **step.params)`."""

    code: str
    params: dict

    def __new__(cls, code: str, **params):
        english = catalog(DEFAULT).get(f"photo.{code}", f"photo.{code}")
        text = PLACEHOLDER.sub(lambda m: str(params.get(m.group(1), m.group(0))), english)
        step = super().__new__(cls, text)
        step.code, step.params = code, params
        return step

    @property
    def key(self) -> str:
        return f"photo.{self.code}"

    def __getnewargs_ex__(self):  # pickle and copy make a Step again from its code and parameters
        return (self.code,), self.params


class ImageError(ValueError):
    """A problem with the user's image: `str(error)` is one English sentence; `.code` and `.params`
    say it in any language (`t(f"photo.{error.code}", **error.params)`)."""

    def __init__(self, code: str, **params):
        self.step = Step(f"error.{code}", **params)
        self.code, self.params = self.step.code, params
        super().__init__(str(self.step))

    @property
    def key(self) -> str:
        return self.step.key


EMPTY_DRAWING = str(Step("error.empty_drawing"))
NO_DIGIT = str(Step("error.no_digit"))
STEP_NAMES = tuple(str(Step(code)) for code in STEP_CODES)


@dataclass
class PreprocessOptions:
    """Which pipeline steps to run; switch one off to see why it matters."""

    invert: str = "auto"  # "auto", "always" or "never"
    crop: bool = True
    fit_20: bool = True
    center_of_mass: bool = True


@dataclass
class Preprocessed:
    """The result: `digit` is 28x28 uint8, white ink on black, like MNIST.

    `steps` are (title, picture) pairs and `notes` what each step decided and why; titles and
    notes are Steps (English strings with a catalog code and parameters)."""

    digit: np.ndarray
    steps: list[tuple[Step, np.ndarray]] = field(default_factory=list)
    notes: list[Step] = field(default_factory=list)


# Errors Pillow raises on corrupt, truncated or hostile files.
_DECODE_ERRORS = (
    UnidentifiedImageError,
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    struct.error,
    IndexError,
    KeyError,
    TypeError,
    ZeroDivisionError,
    zlib.error,
)


# ---------------------------------------------------------------------------
# Uploads
# ---------------------------------------------------------------------------


def open_upload(data: bytes) -> Image.Image:
    """Decode uploaded bytes safely and return an 8-bit grayscale ("L") image, at most
    DECODE_MAX_SIDE pixels on its longest side.

    Raises ImageError for empty, oversized, corrupt, tiny or hostile files.
    Animated images use their first frame; transparency becomes background.
    """
    if not data:
        raise ImageError("empty_file")
    if len(data) > MAX_UPLOAD_BYTES:
        raise ImageError("file_too_large", size=f"{len(data) / 1e6:.1f}", limit=f"{MAX_UPLOAD_BYTES / 1e6:.0f}")
    image = _decode(bytes(data))
    gray = _pil_to_float(image)
    return Image.fromarray(_to_uint8(_transparent_margin(image, gray)), mode="L")


def _transparent_margin(image: Image.Image, gray: np.ndarray) -> np.ndarray:
    """A drawing on a transparent background gets a margin of that background all around: however
    tightly it was cropped, the background is then what surrounds the ink, as on a canvas (and
    the crop step removes the margin again)."""
    if not _has_alpha(image):
        return gray
    alpha = np.asarray(image.convert("RGBA"))[..., 3]
    if not (alpha == 0).any() or (alpha > 127).mean() < TIGHT_CROP:
        return gray
    background = float(np.median(gray[alpha == 0]))
    margin = max(gray.shape) // 2
    return np.pad(gray, margin, constant_values=background)


def _decode(data: bytes) -> Image.Image:
    """Open, check the size from the header, then decode the first frame, reduced if large."""
    with warnings.catch_warnings():
        # Pillow only warns for moderately huge images: make that an error too.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            # Image.open only reads the header; pixels are decoded by load().
            image = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
            _check_dimensions(image.size)
            image.seek(0)  # first frame of an animated GIF/WebP
            image = _load_reduced(image, data)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageError("too_many_pixels", limit=f"{MAX_PIXELS / 1e6:.0f}") from exc
        except ImageError:
            raise
        except UnidentifiedImageError as exc:
            raise ImageError("not_an_image") from exc
        except _DECODE_ERRORS as exc:
            raise ImageError("damaged") from exc
        except MemoryError as exc:
            raise ImageError("too_many_pixels", limit=f"{MAX_PIXELS / 1e6:.0f}") from exc
    return _upright(image)


def _reduction(size: tuple[int, int]) -> int:
    """The integer factor that brings the longest side to at most DECODE_MAX_SIDE."""
    return max(1, -(-max(size) // DECODE_MAX_SIDE))


def _load_reduced(image: Image.Image, data: bytes) -> Image.Image:
    """Decode the pixels, already reduced by _reduction(size), never holding a large image whole."""
    factor = _reduction(image.size)
    width, height = image.size
    if image.format == "JPEG" and factor > 1:
        # JPEG can decode at 1/2, 1/4 or 1/8 scale directly (DCT scaling): no full-size copy.
        image.draft(image.mode, (width // factor, height // factor))
    elif image.format == "PNG" and factor > 1 and _png_bands_possible(image):
        return _decode_png_in_bands(data, factor)
    elif width * height * _bytes_per_pixel(image) > MAX_FULL_DECODE_BYTES:
        raise ImageError("too_large_to_decode", megapixels=f"{MAX_FULL_DECODE_BYTES / 4 / 1e6:.0f}")
    image.load()
    factor = _reduction(image.size)  # what DCT scaling left to do
    if factor > 1:
        image = image.convert("RGBA" if _has_alpha(image) else "RGB") if image.mode == "P" else image
        image = image.reduce(factor)
    return image


def _bytes_per_pixel(image: Image.Image) -> int:
    return {"1": 1, "L": 1, "P": 1, "LA": 2, "La": 2, "RGB": 3}.get(image.mode, 4 if image.mode != "I;16" else 2)


def _has_alpha(image: Image.Image) -> bool:
    return "A" in image.mode or "a" in image.mode or "transparency" in image.info


# --- a large PNG, a band of rows at a time ----------------------------------------------------
# A PNG's pixels are one zlib stream of rows, each row "filtered" (stored as its difference from
# the row above or the pixel to its left). We inflate that stream a band of rows at a time and let
# Pillow unfilter each band as a small PNG of its own, headed by the band's previous row (stored
# unfiltered), which the band's first row may refer to. Each band is reduced at once.

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # colour type -> samples per pixel


def _png_bands_possible(image: Image.Image) -> bool:
    """8-bit, non-interlaced PNGs: Pillow's rows are then exactly PNG's unfiltered rows."""
    return image.info.get("interlace", 0) == 0 and image.mode in ("L", "LA", "RGB", "RGBA", "P")


def _png_chunks(data: bytes):
    position = len(PNG_SIGNATURE)
    while position + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        yield kind, data[position + 8 : position + 8 + length]
        position += 12 + length
        if kind == b"IEND":
            return


def _decode_png_in_bands(data: bytes, factor: int) -> Image.Image:
    chunks = list(_png_chunks(data))
    header = chunks[0][1]
    width, height, depth, colour = struct.unpack(">IIBB", header[:10])
    if depth != 8 or colour not in PNG_CHANNELS:
        raise ImageError("damaged")
    row_bytes = 1 + width * PNG_CHANNELS[colour]
    keep = [(kind, payload) for kind, payload in chunks if kind in (b"PLTE", b"tRNS")]
    band_rows = factor * max(1, PNG_BAND_BYTES // (row_bytes * factor))
    rows = _inflated_rows(chunks, row_bytes, band_rows)
    reduced, previous = [], None
    for start in range(0, height, band_rows):
        count = min(band_rows, height - start)
        filtered = next(rows, b"")
        if len(filtered) != count * row_bytes:
            raise ImageError("damaged")
        band = _unfilter_band(header, keep, filtered, previous, width, count)
        previous = band.crop((0, count - 1, width, count)).tobytes()
        if band.mode == "P":
            band = band.convert("RGBA" if "transparency" in band.info else "RGB")
        reduced.append(band.reduce(factor))
    return _stack_rows(reduced)


def _inflated_rows(chunks, row_bytes: int, band_rows: int):
    """The IDAT stream inflated, band_rows filtered rows at a time (never more in memory)."""
    stream, pending, wanted = zlib.decompressobj(), b"", row_bytes * band_rows
    for kind, payload in chunks:
        if kind != b"IDAT":
            continue
        data = payload
        while data:
            pending += stream.decompress(data, wanted - len(pending))
            data = stream.unconsumed_tail
            if len(pending) == wanted:
                yield pending
                pending = b""
    if pending:
        yield pending


def _unfilter_band(header: bytes, keep, filtered: bytes, previous: bytes | None, width: int, count: int) -> Image.Image:
    """Pillow decodes the band as a PNG of its own; the previous row (filter 0: stored as is)
    leads it, so the first row's filter can refer to it, and is cropped off again."""
    lead = b"\x00" + previous if previous is not None else b""
    rows = count + (previous is not None)
    band_header = struct.pack(">II", width, rows) + header[8:]
    png = PNG_SIGNATURE + _png_chunk(b"IHDR", band_header)
    for kind, payload in keep:
        png += _png_chunk(kind, payload)
    png += _png_chunk(b"IDAT", zlib.compress(lead + filtered, 1)) + _png_chunk(b"IEND", b"")
    band = Image.open(io.BytesIO(png))
    band.load()
    return band.crop((0, 1, width, rows)) if previous is not None else band


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    body = kind + payload
    return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))


def _stack_rows(bands: list[Image.Image]) -> Image.Image:
    width = bands[0].width
    stacked = Image.new(bands[0].mode, (width, sum(band.height for band in bands)))
    top = 0
    for band in bands:
        stacked.paste(band, (0, top))
        top += band.height
    return stacked


def _upright(image: Image.Image) -> Image.Image:
    """Rotate phone photos as their EXIF data says; ignore broken EXIF data."""
    try:
        return ImageOps.exif_transpose(image)
    except _DECODE_ERRORS:
        return image


def _check_dimensions(size: tuple[int, int]) -> None:
    width, height = size
    if width * height > MAX_PIXELS:
        raise ImageError("too_many_pixels", limit=f"{MAX_PIXELS / 1e6:.0f}")
    if width < MIN_SIDE or height < MIN_SIDE:
        raise ImageError("too_small", width=width, height=height)


# ---------------------------------------------------------------------------
# Grayscale
# ---------------------------------------------------------------------------


def to_grayscale(image_or_array: Image.Image | np.ndarray) -> np.ndarray:
    """Return a float32 (H, W) array in [0, 1] (0 = black, 1 = white).

    Accepts a PIL image of any mode, or a uint8 array shaped (H, W), (H, W, 3)
    or (H, W, 4) such as a drawing canvas. A colour pixel's gray is its brightest channel:
    black, blue and pencil ink stay dark, while the light blue or green lines of ruled and
    squared paper almost vanish. Transparent pixels become background.
    """
    if isinstance(image_or_array, Image.Image):
        return _pil_to_float(image_or_array)
    return _array_to_float(np.asarray(image_or_array))


def _pil_to_float(image: Image.Image) -> np.ndarray:
    mode = image.mode
    if mode == "P":
        mode = "RGBA" if "transparency" in image.info else "RGB"
        image = image.convert(mode)
    if mode in ("I", "F") or mode.startswith("I;16"):
        return _array_to_float(np.asarray(image))
    if _has_alpha(image):
        return _array_to_float(np.asarray(image.convert("RGBA")))
    if mode in ("1", "L"):
        return _array_to_float(np.asarray(image.convert("L")))
    return _array_to_float(np.asarray(image.convert("RGB")))


def _array_to_float(array: np.ndarray) -> np.ndarray:
    if array.size == 0:
        raise ImageError("empty_drawing")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim == 2:
        return _unit_range(array)
    if array.ndim != 3 or array.shape[2] not in (2, 3, 4):
        raise ImageError("bad_shape", shape=str(array.shape))
    # uint8 (a canvas, a photo): the channels are picked before the scaling to 0..1, which keeps
    # their order, so a third as many numbers are scaled. Other types: their range is guessed
    # from all channels together, so those are scaled first.
    scaled_first = array.dtype != np.uint8
    values = _unit_range(array) if scaled_first else array
    channels = values.shape[2]
    if channels == 2:
        gray = values[:, :, 0]
    else:  # the brightest channel by two elementwise maxima: max(axis=2), a reduction over 3 numbers
        # per pixel, is NumPy's slow case (for a drawing's 280x280 pixels 2.8 ms instead of 0.1)
        gray = np.maximum(np.maximum(values[:, :, 0], values[:, :, 1]), values[:, :, 2])
    alpha = values[:, :, -1] if channels in (2, 4) else None
    if not scaled_first:
        gray, alpha = _unit_range(gray), None if alpha is None else _unit_range(alpha)
    if alpha is not None:
        gray = _composite_alpha(gray, alpha)
    return gray.astype(np.float32)


def _unit_range(array: np.ndarray) -> np.ndarray:
    """Scale pixel values to float32 in [0, 1], guessing the range for odd types."""
    if array.dtype == np.bool_:
        return array.astype(np.float32)
    if array.dtype == np.uint8:
        return array.astype(np.float32) / 255.0
    if array.dtype.kind == "u" and array.dtype.itemsize == 2:  # 16-bit images
        return array.astype(np.float32) / 65535.0
    values = np.asarray(array, dtype=np.float64)
    if not np.isfinite(values).all():
        raise ImageError("invalid_values")
    low, high = values.min(), values.max()
    if low >= 0 and high <= 1 and array.dtype.kind == "f":
        return values.astype(np.float32)
    for full_scale in (255.0, 65535.0):
        if low >= 0 and high <= full_scale:
            return (values / full_scale).astype(np.float32)
    span = high - low
    return ((values - low) / span if span > 0 else values * 0).astype(np.float32)


def _composite_alpha(gray: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Put the image on a background so that transparent areas are background."""
    if alpha.min() >= 1:  # opaque everywhere (a canvas, most photos): nothing to put behind it
        return gray
    background = _background_for_transparency(gray, alpha)
    return gray * alpha + background * (1.0 - alpha)


def _background_for_transparency(gray: np.ndarray, alpha: np.ndarray) -> float:
    """The transparent part is the background, however much of the image the ink covers: it gets
    the colour that contrasts with the opaque part (white behind dark ink, black behind light)."""
    opaque = alpha > 0.5
    if not opaque.any():
        return 0.0
    return 1.0 if float(np.median(gray[opaque])) < 0.5 else 0.0


# ---------------------------------------------------------------------------
# The MNIST pipeline
# ---------------------------------------------------------------------------


def preprocess_digit(
    image: Image.Image | np.ndarray,
    options: PreprocessOptions | None = None,
    pictures: bool = True,
    max_side: int = WORK_MAX_SIDE,
) -> Preprocessed:
    """Run the MNIST-style pipeline on a PIL image or a canvas array.

    Arrays are treated as drawings (their "empty" message says so).
    Raises ImageError when there is no visible digit. Without `pictures`, `steps` stays empty:
    a page that shows only the digit saves their making (a millisecond of every drawing).
    A larger image is first reduced to `max_side` pixels (DRAWING_MAX_SIDE suits a canvas).
    """
    options = options or PreprocessOptions()
    if options.invert not in ("auto", "always", "never"):
        raise ValueError(f"invert must be 'auto', 'always' or 'never', not {options.invert!r}")
    empty_code = "empty_drawing" if isinstance(image, np.ndarray) else "no_digit"
    notes: list[Step] = []
    steps: list[tuple[Step, np.ndarray]] = []

    def picture(title: Step, make) -> None:
        if pictures:
            steps.append((title, make()))

    # 1. Grayscale
    gray = _limit_size(to_grayscale(image), max_side, notes)
    picture(Step(STEP_CODES[0]), lambda: _thumbnail(gray, _border_median(gray)))

    # 2. Find the paper, then the ink (white on black)
    light_background = _light_background(gray)
    ink = _find_ink(gray, light_background, empty_code, notes)
    invert = {"auto": light_background, "always": True, "never": False}[options.invert]
    working = ink if invert == light_background else 1.0 - ink
    background = 0.0 if invert == light_background else 1.0  # forced wrong polarity: light
    notes.append(_invert_note(options.invert, light_background, invert))
    picture(_title(1, True), lambda: _thumbnail(working, background))

    # 3. Crop to the ink's bounding box
    if options.crop:
        rows, cols = _ink_bounds(ink)
        working = working[rows, cols]
        notes.append(Step("crop_done", height=working.shape[0], width=working.shape[1]))
    else:
        notes.append(Step("crop_off"))
    picture(_title(2, options.crop), lambda: _thumbnail(working, background))

    # 4. Scale to fit 20x20, keeping the aspect ratio
    box = _scale(working, options.fit_20, notes, background)
    if np.abs(box - background).max() <= 0:
        raise ImageError(empty_code)
    picture(_title(3, options.fit_20), lambda: _thumbnail(box, background))

    # 5. Paste into 28x28 with the centre of mass at (14, 14)
    frame = _place_in_frame(box, options.center_of_mass, notes, background)
    digit = _to_uint8(frame)
    picture(_title(4, options.center_of_mass), lambda: digit)

    # 6. The model divides by 255 itself; we hand over uint8 like MNIST.
    picture(Step(STEP_CODES[5]), lambda: digit)
    return Preprocessed(digit=digit, steps=steps, notes=notes)


def _title(index: int, enabled: bool) -> Step:
    return Step(STEP_CODES[index] + ("" if enabled else "_off"))


def _limit_size(gray: np.ndarray, max_side: int, notes: list[Step]) -> np.ndarray:
    height, width = gray.shape
    if max(height, width) <= max_side:
        return gray
    scale = max_side / max(height, width)
    size = (max(1, round(height * scale)), max(1, round(width * scale)))
    notes.append(Step("reduced", width=width, height=height, new_width=size[1], new_height=size[0]))
    return _resize(gray, size, Image.Resampling.BOX)


def _border(gray: np.ndarray) -> np.ndarray:
    return np.concatenate([gray[0], gray[-1], gray[1:-1, 0], gray[1:-1, -1]])


def _border_median(gray: np.ndarray) -> float:
    return float(np.median(_border(gray)))


def _centre(values: np.ndarray) -> np.ndarray:
    """The middle three quarters of the image in each direction: where a photographed digit is,
    and the page around it, rather than the desk at the edges."""
    height, width = values.shape
    return values[height // 8 : height - height // 8, width // 8 : width - width // 8]


def _light_background(gray: np.ndarray) -> bool:
    """Is the digit dark on light paper? Near the middle the ink is the minority, so the middle's
    median is the paper: light if it is nearer the lightest than the darkest pixels. (Not the
    border's: in a photo the border is often a dark desk around white paper.)"""
    darkest, lightest = np.percentile(gray, [1, 99])
    return float(np.median(_centre(gray))) > (darkest + lightest) / 2


def _find_ink(gray: np.ndarray, light_background: bool, empty_code: str, notes: list[Step]) -> np.ndarray:
    """How much ink each pixel holds (0..1), white on black: find the paper, then the ink.

    The paper's brightness everywhere is the image with every detail thinner than a stroke can
    be filled in (a closing for dark ink, an opening for light ink). Dark ink is then how much
    darker a pixel is than its paper, as a fraction: the same in a shadow as in full light."""
    window = _paper_window(gray.shape)
    if light_background:
        paper = _closing(gray, window)
        darkness = 1.0 - gray / np.maximum(paper, 1e-3)
        _paper_notes(gray, paper, notes)
        darkness = _without_printed_lines(darkness, notes)
    else:
        paper = _opening(gray, window)
        darkness = gray - paper
        notes.append(Step("dark_background", level=f"{float(np.median(paper)):.0%}"))
    return _ink_from_darkness(np.clip(darkness, 0.0, 1.0), empty_code, notes)


def _without_printed_lines(darkness: np.ndarray, notes: list[Step]) -> np.ndarray:
    """Remove the lines of ruled or squared paper: a printed line is thin and darkens at least
    three quarters of its row (or column), while a digit's ink covers a smaller part of any row,
    or is wider than a line. Each row's such darkness, then each column's, is taken away."""
    rows = _line_darkness(darkness, axis=1)
    cleaned = darkness - rows[:, None]
    cols = _line_darkness(cleaned, axis=0)
    cleaned = cleaned - cols[None, :]
    if max(rows.max(), cols.max()) > LINE_DARKNESS:
        notes.append(Step("lines_removed", strength=f"{max(rows.max(), cols.max()):.0%}"))
    return np.clip(cleaned, 0.0, 1.0)


def _line_darkness(darkness: np.ndarray, axis: int) -> np.ndarray:
    """How much a printed line darkens each row (axis=1) or column (axis=0): the darkness of
    three quarters of it, minus that of its neighbours a few pixels away (only thin peaks)."""
    level = np.percentile(darkness, 25, axis=axis).astype(np.float32)[None, :]
    around = _running_1d(_running_1d(level, LINE_WIDTH, np.minimum, 1), LINE_WIDTH, np.maximum, 1)
    return np.clip(level - around, 0.0, None)[0]


def _paper_window(shape: tuple[int, int]) -> int:
    return max(3, round(min(shape) * PAPER_WINDOW)) | 1


def _paper_notes(gray: np.ndarray, paper: np.ndarray, notes: list[Step]) -> None:
    """Say what the paper looked like: its share of the photo, a desk around it, its lighting."""
    level = float(np.median(_centre(paper)))
    on_paper = paper > DESK_RATIO * level
    notes.append(Step("paper_found", level=f"{level:.0%}", share=f"{on_paper.mean():.0%}"))
    if _border_median(gray) < DESK_RATIO * level:
        notes.append(Step("desk_ignored", share=f"{1 - on_paper.mean():.0%}"))
    lightest, darkest = np.percentile(paper[on_paper], [99, 1]) if on_paper.any() else (level, level)
    if lightest > 0 and 1 - darkest / lightest > UNEVEN_LIGHT:
        notes.append(Step("uneven_light", darker=f"{1 - darkest / lightest:.0%}"))


def _ink_from_darkness(darkness: np.ndarray, empty_code: str, notes: list[Step]) -> np.ndarray:
    """Ink from 0 to 1: everything at the paper's noise level is 0; the strokes' core is 1, and
    the ramp between is centred on half the ink's contrast, where a blurred stroke's edge is,
    so strokes keep their width (MNIST strokes are not thin)."""
    floor = _noise_floor(darkness)
    # The strokes' core: the typical darkness of the clearly dark pixels (darker than half the
    # darkest, which ignores the few darkest specks), however little of the image the digit is.
    darkest = float(np.percentile(darkness, 99.9))
    strong = darkness[darkness > floor + 0.5 * (darkest - floor)]
    if strong.size == 0:
        raise ImageError(empty_code)
    core = float(np.median(strong))
    if core - floor < MIN_CONTRAST:
        raise ImageError(empty_code)
    contrast = (darkness - floor) / (core - floor)
    notes.append(Step("ink_found", contrast=f"{core:.0%}", floor=f"{floor:.0%}"))
    return np.clip((contrast - 0.25) / 0.5, 0.0, 1.0).astype(np.float32)


def _noise_floor(darkness: np.ndarray) -> float:
    """The paper's own variation (texture, grain, JPEG): a few robust standard deviations above
    the typical pixel, which is paper."""
    sample = darkness[::3, ::3]  # plenty of pixels for two medians, at a ninth of the cost
    typical = float(np.median(sample))
    spread = 1.4826 * float(np.median(np.abs(sample - typical)))
    return typical + 4 * spread


def _closing(values: np.ndarray, window: int) -> np.ndarray:
    """Fill in every dark detail narrower than `window` (a maximum, then a minimum filter)."""
    return _filtered_twice(values, window, np.maximum, np.minimum)


def _opening(values: np.ndarray, window: int) -> np.ndarray:
    """Remove every light detail narrower than `window` (a minimum, then a maximum filter)."""
    return _filtered_twice(values, window, np.minimum, np.maximum)


def _filtered_twice(values: np.ndarray, window: int, first, then) -> np.ndarray:
    """`first` (np.maximum or np.minimum) over every window x window square, then `then`.

    When every square holds a pixel at the level `first` picks (the image's brightest or darkest),
    the first filter gives that level everywhere, and so does the second: strokes on a drawing
    canvas's even background skip both."""
    level = first.reduce(values, axis=None)
    if _every_square_holds(values == level, window):
        return np.full_like(values, level)
    return _running_twice(values, window, first, then)


def _running_twice(values: np.ndarray, window: int, first, then) -> np.ndarray:
    """The two filters themselves, the image continued beyond its edges as it is at the edges."""
    return _beyond_the_edge(values, window, lambda v: _running(_running(v, window, first), window, then))


def _every_square_holds(found: np.ndarray, window: int) -> bool:
    """Does every window x window square, the image continued beyond its edges as it is at the
    edges, hold a pixel where `found` is true? It does when the whole border is found (a square
    reaching beyond the edge holds copies of the border) and so is a pixel of each aligned block
    of window // 2 pixels a side (a square inside the image holds one such block whole)."""
    if not (found[0].all() and found[-1].all() and found[:, 0].all() and found[:, -1].all()):
        return False
    side = window // 2
    rows, cols = found.shape[0] // side, found.shape[1] // side
    blocks = found[: rows * side, : cols * side].reshape(rows, side, cols, side)
    return bool(blocks.any(axis=(1, 3)).all())


def _beyond_the_edge(values: np.ndarray, window: int, filters) -> np.ndarray:
    """Run `filters` on the image continued beyond its edges as it is at the edges: a strip of
    desk along the border stays as wide as it really is, instead of looking like a narrow dark
    line to fill in."""
    padded = np.pad(values, window, mode="edge")
    return filters(padded)[window:-window, window:-window]


def _running(values: np.ndarray, window: int, pick) -> np.ndarray:
    """The max (or min) over a window x window square around each pixel, one axis at a time."""
    for axis in (0, 1):
        values = _running_1d(values, window, pick, axis)
    return values


def _running_1d(values: np.ndarray, window: int, pick, axis: int) -> np.ndarray:
    """Along one axis, by doubling: spans of 1, 2, 4 ... pixels, then two overlapping spans
    cover the window exactly (log2(window) array operations, not one per pixel)."""
    half = window // 2
    pad = [(0, 0), (0, 0)]
    pad[axis] = (half, half)
    result = np.moveaxis(np.pad(values, pad, mode="edge"), axis, 0)  # the axis first: slices are views
    span = 1
    while span * 2 <= window:
        result = pick(result[:-span], result[span:])  # each pixel: the span from it, and the one after
        span *= 2
    if window > span:
        result = pick(result[: span - window], result[window - span :])
    return np.moveaxis(result[: values.shape[axis]], 0, axis)


def _invert_note(choice: str, light_background: bool, inverted: bool) -> Step:
    if choice == "auto":
        return Step("inverted") if inverted else Step("not_inverted")
    if inverted == light_background:
        return Step("invert_forced_matches", choice=choice)
    return Step("invert_forced_on") if inverted else Step("invert_forced_off")


def _ink_bounds(ink: np.ndarray) -> tuple[slice, slice]:
    """Bounding box of the digit's ink, ignoring faint pixels, isolated specks of noise and small
    blots away from the digit (dust, a bit of the page's edge)."""
    mask = ink > INK_THRESHOLD * ink.max()
    solid = mask & (_neighbour_count(mask) > 0)
    if solid.any():
        mask = solid
    mask = _digit_parts(mask)
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)


def _digit_parts(mask: np.ndarray) -> np.ndarray:
    """The connected pieces of ink that hold at least PART_SHARE of the largest piece's ink
    (a digit written in two strokes keeps both), found on a coarse grid for speed."""
    factor = max(1, -(-max(mask.shape) // PARTS_GRID))
    height, width = -(-mask.shape[0] // factor), -(-mask.shape[1] // factor)
    padded = np.zeros((height * factor, width * factor), bool)
    padded[: mask.shape[0], : mask.shape[1]] = mask
    blocks = padded.reshape(height, factor, width, factor).sum(axis=(1, 3))
    labels = _connected_pieces(blocks > 0)
    ink_per_piece = np.bincount(labels.ravel(), weights=blocks.ravel())
    ink_per_piece[0] = 0  # label 0 is the background
    keep = ink_per_piece >= PART_SHARE * ink_per_piece.max()
    kept_blocks = keep[labels]
    kept = np.repeat(np.repeat(kept_blocks, factor, axis=0), factor, axis=1)[: mask.shape[0], : mask.shape[1]]
    return mask & kept


def _connected_pieces(mask: np.ndarray) -> np.ndarray:
    """Label the 8-connected pieces of a mask (0 outside it): each pixel starts with its own label,
    each label points to the largest label next to any of its pixels, and labels follow the
    pointers until every piece has one label, its largest. Following pointers to the end (pointer
    jumping) joins a long stroke in a few steps, not in one step per pixel of its length."""
    labels = np.where(mask, np.arange(1, mask.size + 1).reshape(mask.shape), 0)
    points_to = np.arange(mask.size + 1)  # label -> a larger label of the same piece, or itself
    height, width = mask.shape
    while True:
        padded = np.pad(labels, 1)
        largest_near = labels.copy()
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                np.maximum(largest_near, padded[1 + dy : 1 + dy + height, 1 + dx : 1 + dx + width], out=largest_near)
        largest_near[~mask] = 0
        np.maximum.at(points_to, labels.ravel(), largest_near.ravel())
        while not np.array_equal(followed := points_to[points_to], points_to):
            points_to = followed
        joined = points_to[labels]
        if np.array_equal(joined, labels):
            # Number the pieces 1, 2, ... in the order of their labels (0 stays the background):
            # a label's number is how many labels in use are smaller (a count, not a sort).
            in_use = np.zeros(mask.size + 1, dtype=bool)
            in_use[labels] = True
            in_use[0] = True
            return (np.cumsum(in_use) - 1)[labels]
        labels = joined


def _neighbour_count(mask: np.ndarray) -> np.ndarray:
    """How many of the 8 neighbours of each pixel are set."""
    padded = np.pad(mask.astype(np.int8), 1)
    height, width = mask.shape
    total = np.zeros(mask.shape, dtype=np.int8)
    for dy in (-1, 0, 1):  # 9 array shifts, not a loop over pixels
        for dx in (-1, 0, 1):
            if dy or dx:
                total += padded[1 + dy : 1 + dy + height, 1 + dx : 1 + dx + width]
    return total


def _scale(working: np.ndarray, fit_20: bool, notes: list[Step], background: float = 0.0) -> np.ndarray:
    height, width = working.shape
    if fit_20:
        scale = BOX_SIZE / max(height, width)
        size = (max(1, round(height * scale)), max(1, round(width * scale)))
        notes.append(Step("scaled", height=height, width=width, new_height=size[0], new_width=size[1]))
    else:
        size = (MNIST_SIZE, MNIST_SIZE)
        notes.append(Step("fit_off"))
    ink = working if background == 0.0 else 1.0 - working
    # Shrinking filters out the detail finer than the new pixels (SHRINK_FILTER), so strokes keep
    # their weight; enlarging a tiny crop interpolates instead.
    shrinking = size[0] <= height and size[1] <= width
    box = _resize(ink, size, SHRINK_FILTER if shrinking else Image.Resampling.BILINEAR)
    box[box < RING] = 0.0  # Lanczos rings: a faint halo around strokes, where MNIST is black
    # A thin stroke shrunk below a pixel is faint; MNIST ink always reaches full white.
    box = box / box.max() if box.max() > 0 else box
    return box if background == 0.0 else 1.0 - box


def _resize(values: np.ndarray, size: tuple[int, int], resample) -> np.ndarray:
    """Resize a float image to size=(height, width); Pillow antialiases when shrinking."""
    image = Image.fromarray(np.ascontiguousarray(values, dtype=np.float32), mode="F")
    resized = image.resize((size[1], size[0]), resample)
    return np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0)


def _place_in_frame(
    box: np.ndarray, use_centre_of_mass: bool, notes: list[Step], background: float = 0.0
) -> np.ndarray:
    """Paste `box` into a 28x28 frame, centred by mass or by bounding box.

    The frame is black, unless the image was forced to a light background.
    """
    ink = box if background == 0.0 else 1.0 - box
    rows = np.flatnonzero(ink.any(axis=1))
    cols = np.flatnonzero(ink.any(axis=0))
    first, last = np.array([rows[0], cols[0]]), np.array([rows[-1], cols[-1]])
    if use_centre_of_mass:
        wanted = np.floor(FRAME_CENTRE - np.array(centre_of_mass(ink)) + 0.5).astype(int)
    else:
        ink_size = last - first + 1
        wanted = (MNIST_SIZE - ink_size) // 2 - first
    # Never push ink out of the frame (only matters for unusual shapes or sizes).
    offset = np.clip(wanted, -first, MNIST_SIZE - 1 - last)
    frame = _paste(box, offset, background)
    if use_centre_of_mass:
        notes.append(Step("centred"))
        if (offset != wanted).any():
            notes.append(Step("shift_limited"))
    else:
        row, col = centre_of_mass(frame if background == 0.0 else 1.0 - frame)
        notes.append(Step("centre_off", row=f"{row:.1f}", col=f"{col:.1f}"))
    return frame


def _paste(box: np.ndarray, offset: np.ndarray, background: float) -> np.ndarray:
    """Copy box into a 28x28 frame at (top, left) = offset, clipping at the edges."""
    frame = np.full((MNIST_SIZE, MNIST_SIZE), background, dtype=np.float32)
    top, left = int(offset[0]), int(offset[1])
    src_top, src_left = max(0, -top), max(0, -left)
    dst_top, dst_left = max(0, top), max(0, left)
    height = min(box.shape[0] - src_top, MNIST_SIZE - dst_top)
    width = min(box.shape[1] - src_left, MNIST_SIZE - dst_left)
    if height > 0 and width > 0:
        frame[dst_top : dst_top + height, dst_left : dst_left + width] = box[
            src_top : src_top + height, src_left : src_left + width
        ]
    return frame


def centre_of_mass(values: np.ndarray) -> tuple[float, float]:
    """(row, col) centre of mass of a non-negative image, in pixel indices."""
    values = np.asarray(values, dtype=np.float64)
    total = values.sum()
    if total <= 0:
        raise ValueError("centre of mass of an empty image")
    rows = np.arange(values.shape[0]) @ values.sum(axis=1) / total
    cols = np.arange(values.shape[1]) @ values.sum(axis=0) / total
    return float(rows), float(cols)


def _to_uint8(values: np.ndarray) -> np.ndarray:
    return np.round(np.clip(values, 0.0, 1.0) * 255).astype(np.uint8)


def _thumbnail(values: np.ndarray, background: float) -> np.ndarray:
    """A square uint8 picture of a step for display: the image centred on its own background
    with a thin margin, then shrunk to THUMB_SIDE.

    Thin crops (a '1' is tall and narrow) must stay thin when shown in a square box: padding
    with the background, never by repeating the edge pixels, which would smear the ink that
    touches a crop's edge into streaks across the margin."""
    height, width = values.shape
    side = max(height, width)
    margin = max(1, round(THUMB_MARGIN * side))
    top, left = margin + (side - height) // 2, margin + (side - width) // 2
    framed = np.full((side + 2 * margin, side + 2 * margin), background, dtype=np.float32)
    framed[top : top + height, left : left + width] = values
    if framed.shape[0] > THUMB_SIDE:
        framed = _resize(framed, (THUMB_SIDE, THUMB_SIDE), Image.Resampling.BILINEAR)
    return _to_uint8(framed)


# --- a digit in a link -------------------------------------------------------


def encode_digit(digit: np.ndarray) -> str:
    """A 28x28 uint8 digit as a short URL-safe text: 16 grey levels (two pixels per byte),
    zlib-compressed (a digit is mostly black), base64url without padding."""
    digit = np.asarray(digit)
    if digit.shape != (MNIST_SIZE, MNIST_SIZE):
        raise ValueError(f"a digit is {MNIST_SIZE}x{MNIST_SIZE}, not {digit.shape}")
    levels = np.round(np.clip(digit, 0, 255).astype(np.float32) * (LINK_LEVELS - 1) / 255).astype(np.uint8).ravel()
    packed = (levels[0::2] << 4) | levels[1::2]
    return base64.urlsafe_b64encode(zlib.compress(packed.tobytes(), 9)).decode("ascii").rstrip("=")


def decode_digit(text: str) -> np.ndarray:
    """The 28x28 uint8 digit of `encode_digit`'s text; ValueError for anything else."""
    if not isinstance(text, str) or not 0 < len(text) <= MAX_LINK_CHARS:
        raise ValueError("the digit in the link is empty or too long")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        decompressor = zlib.decompressobj()
        packed = decompressor.decompress(raw, MNIST_SIZE * MNIST_SIZE)  # never inflate more than a digit
    except (binascii.Error, ValueError, zlib.error) as error:
        raise ValueError("the digit in the link is not readable") from error
    if len(packed) != MNIST_SIZE * MNIST_SIZE // 2 or decompressor.unconsumed_tail or not decompressor.eof:
        raise ValueError("the digit in the link has the wrong size")
    packed = np.frombuffer(packed, dtype=np.uint8)
    levels = np.empty(MNIST_SIZE * MNIST_SIZE, dtype=np.uint8)
    levels[0::2], levels[1::2] = packed >> 4, packed & 0x0F
    return (levels * (255 // (LINK_LEVELS - 1))).astype(np.uint8).reshape(MNIST_SIZE, MNIST_SIZE)
