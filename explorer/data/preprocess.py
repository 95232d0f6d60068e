"""Turn any digit image (canvas drawing, photo, scan) into an MNIST-style 28x28 input.

MNIST digits are white ink on a black background, scaled to fit a 20x20 box
(keeping the aspect ratio) and pasted into a 28x28 frame so that the centre of
mass of the ink sits at the centre of the frame. A model trained on MNIST only
works well on inputs prepared the same way, so this module repeats those steps
and records every stage, so the app can show students why each one matters:

    1. grayscale        4. scale to fit 20x20
    2. invert           5. centre of mass at (14, 14) in a 28x28 frame
    3. crop to the ink  6. scale to the model's input range (done by the model)

Nothing here touches the disk: uploads are decoded from bytes in memory.
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

MAX_UPLOAD_BYTES = 5 * 1024 * 1024  # 5 MB
MAX_PIXELS = 25_000_000  # width * height, checked before decoding
MIN_SIDE = 8  # smaller images cannot hold a recognisable digit
ALLOWED_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP")

MNIST_SIZE = 28
BOX_SIZE = 20  # MNIST digits fit a 20x20 box inside the 28x28 frame
FRAME_CENTRE = 14.0  # MNIST puts the centre of mass at pixel (14, 14)
WORK_MAX_SIDE = 1024  # larger images are reduced first, to keep things fast
THUMB_SIDE = 140  # side of the (square) step images shown in the app
LINK_LEVELS = 16  # grey levels of a digit carried in a link (4 bits per pixel)
MAX_LINK_CHARS = 600
THUMB_MARGIN = 0.06  # blank margin around a step image, as a fraction of its longest side

MIN_CONTRAST = 0.15  # ink must differ this much (0..1) from the background
INK_THRESHOLD = 0.2  # fraction of the brightest ink that counts as ink when cropping

STEP_NAMES = (
    "1. Grayscale",
    "2. Invert to white ink on black",
    "3. Crop to the ink",
    "4. Scale to fit 20x20",
    "5. Centre of mass at (14, 14)",
    "6. Model input (0..255, the model scales it)",
)

EMPTY_DRAWING = "The drawing is empty — draw a digit first."
NO_DIGIT = (
    "The image has no visible digit — it is blank or has too little contrast "
    "between the ink and the background."
)

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
)


class ImageError(ValueError):
    """A problem with the user's image, with a one-sentence message to show them."""


@dataclass
class PreprocessOptions:
    """Which pipeline steps to run; switch one off to see why it matters."""

    invert: str = "auto"  # "auto", "always" or "never"
    crop: bool = True
    fit_20: bool = True
    center_of_mass: bool = True


@dataclass
class Preprocessed:
    """The result: `digit` is 28x28 uint8, white ink on black, like MNIST."""

    digit: np.ndarray
    steps: list[tuple[str, np.ndarray]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------
# Uploads
# ---------------------------------------------------------------------------


def open_upload(data: bytes) -> Image.Image:
    """Decode uploaded bytes safely and return an 8-bit grayscale ("L") image.

    Raises ImageError for empty, oversized, corrupt, tiny or hostile files.
    Animated images use their first frame; transparency becomes background.
    """
    if not data:
        raise ImageError("The file is empty.")
    if len(data) > MAX_UPLOAD_BYTES:
        raise ImageError(
            f"The file is too large ({len(data) / 1e6:.1f} MB); "
            f"the limit is {MAX_UPLOAD_BYTES / 1e6:.0f} MB."
        )
    image = _decode(bytes(data))
    gray = _pil_to_float(image)
    return Image.fromarray(_to_uint8(gray), mode="L")


def _decode(data: bytes) -> Image.Image:
    """Open, check the size from the header, then decode the first frame."""
    with warnings.catch_warnings():
        # Pillow only warns for moderately huge images: make that an error too.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            # Image.open only reads the header; pixels are decoded by load().
            image = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
            _check_dimensions(image.size)
            image.seek(0)  # first frame of an animated GIF/WebP
            image.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageError(_too_many_pixels_message()) from exc
        except ImageError:
            raise
        except UnidentifiedImageError as exc:
            raise ImageError(
                "The file is not an image we can read; use PNG, JPEG, GIF, BMP or WebP."
            ) from exc
        except _DECODE_ERRORS as exc:
            raise ImageError("The image file is damaged or incomplete.") from exc
        except MemoryError as exc:
            raise ImageError(_too_many_pixels_message()) from exc
    return _upright(image)


def _upright(image: Image.Image) -> Image.Image:
    """Rotate phone photos as their EXIF data says; ignore broken EXIF data."""
    try:
        return ImageOps.exif_transpose(image)
    except _DECODE_ERRORS:
        return image


def _check_dimensions(size: tuple[int, int]) -> None:
    width, height = size
    if width * height > MAX_PIXELS:
        raise ImageError(_too_many_pixels_message())
    if width < MIN_SIDE or height < MIN_SIDE:
        raise ImageError(
            f"The image is too small ({width}x{height} pixels) to hold a digit."
        )


def _too_many_pixels_message() -> str:
    return (
        f"The image has too many pixels; the limit is "
        f"{MAX_PIXELS / 1e6:.0f} million."
    )


# ---------------------------------------------------------------------------
# Grayscale
# ---------------------------------------------------------------------------


def to_grayscale(image_or_array: Image.Image | np.ndarray) -> np.ndarray:
    """Return a float32 (H, W) array in [0, 1] (0 = black, 1 = white).

    Accepts a PIL image of any mode, or a uint8 array shaped (H, W), (H, W, 3)
    or (H, W, 4) such as a drawing canvas. Transparent pixels become background.
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
    if "A" in mode or "a" in mode or "transparency" in image.info:
        return _array_to_float(np.asarray(image.convert("RGBA")))
    if mode not in ("1", "L", "RGB", "CMYK", "YCbCr"):
        image = image.convert("RGB")
    return _array_to_float(np.asarray(image.convert("L")))


def _array_to_float(array: np.ndarray) -> np.ndarray:
    if array.size == 0:
        raise ImageError(EMPTY_DRAWING)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim == 2:
        return _unit_range(array)
    if array.ndim != 3 or array.shape[2] not in (2, 3, 4):
        raise ImageError(
            f"The image has an unexpected shape {array.shape}; "
            "expected a grayscale, RGB or RGBA image."
        )
    values = _unit_range(array)
    channels = values.shape[2]
    gray = values[:, :, 0] if channels == 2 else _luminance(values[:, :, :3])
    if channels in (2, 4):
        gray = _composite_alpha(gray, values[:, :, -1])
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
        raise ImageError("The image contains invalid pixel values.")
    low, high = values.min(), values.max()
    if low >= 0 and high <= 1 and array.dtype.kind == "f":
        return values.astype(np.float32)
    for full_scale in (255.0, 65535.0):
        if low >= 0 and high <= full_scale:
            return (values / full_scale).astype(np.float32)
    span = high - low
    return ((values - low) / span if span > 0 else values * 0).astype(np.float32)


def _luminance(rgb: np.ndarray) -> np.ndarray:
    # ITU-R 601 weights, the same ones Pillow uses for "L".
    return rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)


def _composite_alpha(gray: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Put the image on a background so that transparent areas are background."""
    background = _background_for_transparency(gray, alpha)
    return gray * alpha + background * (1.0 - alpha)


def _background_for_transparency(gray: np.ndarray, alpha: np.ndarray) -> float:
    opaque = alpha > 0.5
    if not opaque.any():
        return 0.0
    level = float(np.median(gray[opaque]))
    if opaque.mean() < 0.5:
        # Little is opaque, so the opaque pixels are the ink (a canvas stroke):
        # choose the background that contrasts with them.
        return 1.0 if level < 0.5 else 0.0
    # Mostly opaque (a photo with transparent margins): match its own background.
    return level


# ---------------------------------------------------------------------------
# The MNIST pipeline
# ---------------------------------------------------------------------------


def preprocess_digit(
    image: Image.Image | np.ndarray,
    options: PreprocessOptions | None = None,
) -> Preprocessed:
    """Run the MNIST-style pipeline on a PIL image or a canvas array.

    Arrays are treated as drawings (their "empty" message says so).
    Raises ImageError when there is no visible digit.
    """
    options = options or PreprocessOptions()
    if options.invert not in ("auto", "always", "never"):
        raise ValueError(f"invert must be 'auto', 'always' or 'never', not {options.invert!r}")
    empty_message = EMPTY_DRAWING if isinstance(image, np.ndarray) else NO_DIGIT
    notes: list[str] = []
    steps: list[tuple[str, np.ndarray]] = []

    # 1. Grayscale
    gray = _limit_size(to_grayscale(image), notes)
    steps.append((STEP_NAMES[0], _thumbnail(gray, _border_median(gray))))

    # 2. Invert (and level the background, so it is exactly black)
    light_background = _border_median(gray) > 0.5
    ink = 1.0 - gray if light_background else gray
    ink = _normalise_contrast(ink, empty_message)
    invert = {"auto": light_background, "always": True, "never": False}[options.invert]
    working = ink if invert == light_background else 1.0 - ink
    background = 0.0 if invert == light_background else 1.0  # forced wrong polarity: light
    notes.append(_invert_note(options.invert, light_background, invert))
    steps.append((_title(1, True), _thumbnail(working, background)))

    # 3. Crop to the ink's bounding box
    if options.crop:
        rows, cols = _ink_bounds(working)
        working = working[rows, cols]
        notes.append(f"Cropped to the ink's bounding box ({working.shape[0]}x{working.shape[1]} px).")
    else:
        notes.append("Crop is off: the whole image is scaled, empty margins and all, so the digit ends up small.")
    steps.append((_title(2, options.crop), _thumbnail(working, background)))

    # 4. Scale to fit 20x20, keeping the aspect ratio
    box = _scale(working, options.fit_20, notes)
    if box.max() <= 0:
        raise ImageError(empty_message)
    steps.append((_title(3, options.fit_20), _thumbnail(box, background)))

    # 5. Paste into 28x28 with the centre of mass at (14, 14)
    frame = _place_in_frame(box, options.center_of_mass, notes, background)
    digit = _to_uint8(frame)
    steps.append((_title(4, options.center_of_mass), digit))

    # 6. The model divides by 255 itself; we hand over uint8 like MNIST.
    steps.append((STEP_NAMES[5], digit))
    return Preprocessed(digit=digit, steps=steps, notes=notes)


def _title(index: int, enabled: bool) -> str:
    return STEP_NAMES[index] + ("" if enabled else " (off)")


def _limit_size(gray: np.ndarray, notes: list[str]) -> np.ndarray:
    height, width = gray.shape
    if max(height, width) <= WORK_MAX_SIDE:
        return gray
    scale = WORK_MAX_SIDE / max(height, width)
    size = (max(1, round(height * scale)), max(1, round(width * scale)))
    notes.append(f"The image was reduced from {width}x{height} to {size[1]}x{size[0]} px for speed.")
    return _resize(gray, size, Image.Resampling.BOX)


def _border(gray: np.ndarray) -> np.ndarray:
    return np.concatenate([gray[0], gray[-1], gray[1:-1, 0], gray[1:-1, -1]])


def _border_median(gray: np.ndarray) -> float:
    return float(np.median(_border(gray)))


def _normalise_contrast(ink: np.ndarray, empty_message: str) -> np.ndarray:
    """Stretch white-on-black ink so the background is 0 and the brightest ink is 1.

    Photos have a grey, noisy background: everything up to a few noise widths
    above the border's median becomes exactly black.
    """
    border = _border(ink)
    background = float(np.median(border))
    brightest = float(ink.max())
    if brightest - background < MIN_CONTRAST:
        raise ImageError(empty_message)
    noise = 1.4826 * float(np.median(np.abs(border - background)))  # robust std dev
    low = min(background + 3 * noise, background + 0.5 * (brightest - background))
    return np.clip((ink - low) / (brightest - low), 0.0, 1.0).astype(np.float32)


def _invert_note(choice: str, light_background: bool, inverted: bool) -> str:
    if choice == "auto":
        if inverted:
            return "The background was light, so the image was inverted (MNIST digits are white on black)."
        return "The background was already dark, so no inversion was needed."
    if inverted == light_background:
        return f"Invert is forced to '{choice}', which matches what the image needed."
    if inverted:
        return "Invert is forced on: the digit is now dark on a light background, unlike MNIST."
    return "Invert is off: the digit stays dark on a light background, unlike MNIST."


def _ink_bounds(working: np.ndarray) -> tuple[slice, slice]:
    """Bounding box of the ink, ignoring faint pixels and isolated specks of noise."""
    mask = working > INK_THRESHOLD * working.max()
    solid = mask & (_neighbour_count(mask) > 0)
    if solid.any():
        mask = solid
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)


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


def _scale(working: np.ndarray, fit_20: bool, notes: list[str]) -> np.ndarray:
    height, width = working.shape
    if fit_20:
        scale = BOX_SIZE / max(height, width)
        size = (max(1, round(height * scale)), max(1, round(width * scale)))
        notes.append(
            f"Scaled from {height}x{width} to {size[0]}x{size[1]} px to fit a 20x20 box (aspect ratio kept)."
        )
    else:
        size = (MNIST_SIZE, MNIST_SIZE)
        notes.append(
            "Fit-to-20 is off: the image is squeezed straight to 28x28, "
            "losing its aspect ratio and MNIST's 4-pixel margin."
        )
    # Pillow's BILINEAR antialiases when shrinking; unlike LANCZOS it does not
    # ring, so the background around the digit stays exactly black.
    box = _resize(working, size, Image.Resampling.BILINEAR)
    # Shrinking a thin stroke leaves it faint; MNIST ink always reaches full white.
    return box / box.max() if box.max() > 0 else box


def _resize(values: np.ndarray, size: tuple[int, int], resample) -> np.ndarray:
    """Resize a float image to size=(height, width); Pillow antialiases when shrinking."""
    image = Image.fromarray(np.ascontiguousarray(values, dtype=np.float32), mode="F")
    resized = image.resize((size[1], size[0]), resample)
    return np.clip(np.asarray(resized, dtype=np.float32), 0.0, 1.0)


def _place_in_frame(
    box: np.ndarray, use_centre_of_mass: bool, notes: list[str], background: float = 0.0
) -> np.ndarray:
    """Paste `box` into a 28x28 frame, centred by mass or by bounding box.

    The frame is black, unless the image was forced to a light background.
    """
    rows = np.flatnonzero(box.any(axis=1))
    cols = np.flatnonzero(box.any(axis=0))
    first, last = np.array([rows[0], cols[0]]), np.array([rows[-1], cols[-1]])
    if use_centre_of_mass:
        wanted = np.floor(FRAME_CENTRE - np.array(centre_of_mass(box)) + 0.5).astype(int)
    else:
        ink_size = last - first + 1
        wanted = (MNIST_SIZE - ink_size) // 2 - first
    # Never push ink out of the frame (only matters for unusual shapes or sizes).
    offset = np.clip(wanted, -first, MNIST_SIZE - 1 - last)
    frame = _paste(box, offset, background)
    if use_centre_of_mass:
        notes.append("Shifted so the centre of mass is at (14, 14), as in MNIST.")
        if (offset != wanted).any():
            notes.append("The shift was limited so that no ink leaves the 28x28 frame.")
    else:
        row, col = centre_of_mass(frame)
        notes.append(
            f"Centre of mass is off: the ink's bounding box is centred instead, "
            f"so the centre of mass is at ({row:.1f}, {col:.1f}) rather than (14, 14)."
        )
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
