"""Reusable digit inputs: "draw a digit" on a canvas and "pick a test digit" from MNIST.

Both hand back an MNIST-style 28x28 uint8 digit (white ink on black) or None after a friendly
message, never a traceback. Keys are prefixed with the caller's `key`, so several pages (or
two inputs on one page) can use them side by side.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from explorer.data.preprocess import DRAWING_MAX_SIDE, ImageError, Preprocessed, decode_digit, encode_digit, preprocess_digit
from explorer.i18n import t
from explorer.ui import url_state
from explorer.ui.resources import error_text


def _canvas_component():
    """(st_canvas, "") or (None, why not). Imported on first use: a custom component registers only
    inside a script run, and an import outside one (a test's) would turn drawing off for good."""
    try:
        from streamlit_drawable_canvas import st_canvas
    except Exception as error:  # noqa: BLE001 - drawing is off, but the page still works
        return None, str(error)
    return st_canvas, ""


def step_text(step) -> str:
    """A title, note or error of the preprocessing (explorer.data.preprocess gives each a code under
    [photo] of the catalogs and its parameters) in the session's language."""
    return t(f"photo.{step.code}", **step.params)


def step_notes(result: Preprocessed) -> str:
    """What each preprocessing step decided and why, as one caption."""
    return " ".join(step_text(note) for note in result.notes)


CANVAS_SIDE = 280  # px: fits a phone screen, large enough to draw with a finger
STROKE_WIDTH = 22  # px: after scaling to 20x20, about as thick as MNIST's pen
ANY_DIGIT = "any"  # the class picker's id for "any digit" (in the URL: an id, never a label)


@dataclass(frozen=True)
class Digit:
    """A 28x28 uint8 MNIST-style digit and where it came from."""

    image: np.ndarray
    description: str  # e.g. "your drawing", "test digit #42", in the session's language
    label: int | None = None  # the true label, for test digits
    index: int | None = None  # the index in the MNIST test set, for test digits


def canvas_image(result) -> np.ndarray | None:
    """The RGBA array of a canvas result, or None while nothing is drawn."""
    drawing = getattr(result, "json_data", None) or {}
    if not isinstance(drawing, dict) or not drawing.get("objects"):
        return None
    try:
        image = np.asarray(result.image_data)
    except Exception:  # noqa: BLE001 - a broken data URL from the browser
        return None
    return image if image.size else None


def canvas(key: str, *, side: int = CANVAS_SIDE, white_ink: bool = True, hint: str | None = None) -> np.ndarray | None:
    """A drawing canvas (with `hint` under it, by default how to draw); the RGBA array of the drawing,
    or None while it is empty or unavailable."""
    st_canvas, problem = _canvas_component()
    if st_canvas is None:
        st.warning(t("shared.draw.no_canvas", problem=problem), icon=":material/draw:")
        return None
    ink, paper = ("#FFFFFF", "#000000") if white_ink else ("#000000", "#FFFFFF")
    st.space(28)  # the canvas's toolbar floats above its top edge: keep it off the widget above
    result = st_canvas(
        stroke_width=STROKE_WIDTH, stroke_color=ink, background_color=paper, width=side, height=side,
        drawing_mode="freedraw", return_image_data=True, key=f"{key}_canvas_{'white' if white_ink else 'black'}",
    )  # fmt: skip
    st.caption(hint if hint is not None else t("shared.draw.hint"))
    return canvas_image(result)


def draw_digit(key: str, *, side: int = CANVAS_SIDE, hint: str | None = None) -> Digit | None:
    """A white-on-black drawing canvas; the drawing, preprocessed like MNIST, or None.

    An empty canvas returns None and shows nothing: the caller decides how to invite a drawing."""
    image = canvas(key, side=side, hint=hint)
    if image is None:
        return None
    try:
        # The digit only (no page shows a drawing's steps), from the canvas at half size: cheaper, as good
        result = preprocess_digit(image, pictures=False, max_side=DRAWING_MAX_SIDE)
    except ImageError as error:  # e.g. a stroke too faint to count as ink
        st.info(error_text(error), icon=":material/draw:")
        return None
    except Exception as error:  # noqa: BLE001 - never a traceback for a drawing
        st.info(t("shared.draw.not_a_digit", error=type(error).__name__), icon=":material/draw:")
        return None
    return Digit(result.digit, t("shared.draw.your_drawing"))


def _new_index(key: str, labels: np.ndarray, wanted: int | None) -> int:
    rng = np.random.default_rng()
    members = np.flatnonzero(labels == wanted) if wanted is not None else np.arange(len(labels))
    return int(members[rng.integers(len(members))]) if len(members) else 0


def pick_test_digit(data, key: str) -> Digit | None:
    """Choose a digit class (or any) and get a random test digit of it; "New digit" draws again.

    `data` is an explorer.data.mnist.MNIST (or None: then a message and None)."""
    if data is None:
        st.info(t("shared.test_digit.needs_mnist"), icon=":material/cloud_off:")
        return None
    labels = data.test_labels
    state_index, state_class = f"{key}_test_index", f"{key}_test_class"
    left, right = st.columns([1, 1], vertical_alignment="bottom")
    wanted = left.selectbox(t("shared.test_digit.show_me"), [ANY_DIGIT, *range(10)], key=f"{key}_class",
                            format_func=lambda choice: t("shared.test_digit.any") if choice == ANY_DIGIT else str(choice))  # fmt: skip
    wanted = None if wanted == ANY_DIGIT else int(wanted)
    again = right.button(t("shared.test_digit.new"), icon=":material/casino:", key=f"{key}_again", width="stretch")
    url_state.bind(state_index, -1, valid=lambda v: -1 <= v < len(labels))  # a link can name the digit
    index = st.session_state[state_index]
    class_changed = state_class in st.session_state and st.session_state[state_class] != wanted
    if again or index < 0 or class_changed:
        index = _new_index(key, labels, wanted)
    st.session_state[state_index], st.session_state[state_class] = index, wanted
    label = int(labels[index])
    st.caption(t("shared.test_digit.caption", index=index, total=f"{len(labels):,}", label=label))
    description = t("shared.test_digit.description", index=index)
    return Digit(np.asarray(data.test_images[index]), description, label=label, index=index)


# --- a drawing in the link ---------------------------------------------------------------
# Strokes cannot go into a URL, but the 28x28 digit they make can (about 100-500 characters):
# a reload or a shared link brings the digit back while the canvas starts empty.

DIGIT_PARAM = "digit"
LINK_DIGIT_TEXT = "the digit from the link"  # English, for pages not yet translated: link_digit_text() is the same in the session's language


def link_digit_text() -> str:
    return t("shared.draw.from_link")


def digit_from_link(key: str) -> np.ndarray | None:
    """The 28x28 digit the link carries (parameter `digit`), or None.

    Read once per new link value and kept for the session; a malformed value gets a quiet
    note, never a traceback."""
    url_state.claim(DIGIT_PARAM)
    text = st.query_params.get(DIGIT_PARAM)
    state = st.session_state.setdefault(f"{key}_link_digit", {"text": None, "digit": None})
    if text is None:
        state.update(text=None, digit=None)
        return None
    if text != state["text"]:  # a link opened or reloaded (our own writes are recorded below)
        state["text"] = text
        try:
            state["digit"] = decode_digit(text)
        except ValueError as error:
            state["digit"] = None
            st.caption(":material/link_off: " + t("shared.draw.link_ignored", reason=error_text(error)))
            del st.query_params[DIGIT_PARAM]
    return state["digit"]


def put_digit_in_link(key: str, digit: np.ndarray | None) -> None:
    """Write the digit of a new drawing into the link (None removes it): it replaces a link's digit."""
    url_state.claim(DIGIT_PARAM)
    state = st.session_state.setdefault(f"{key}_link_digit", {"text": None, "digit": None})
    if digit is None:
        if DIGIT_PARAM in st.query_params:
            del st.query_params[DIGIT_PARAM]
        state.update(text=None, digit=None)
        return
    text = encode_digit(digit)
    if st.query_params.get(DIGIT_PARAM) != text:
        st.query_params[DIGIT_PARAM] = text
    state.update(text=text, digit=None)  # our own drawing: not a digit "from the link"


def empty_hint() -> None:
    """The friendly message shown while the canvas is empty."""
    st.info(t("shared.draw.empty"), icon=":material/draw:")


# --- how much to trust an answer ---------------------------------------------------------
# When is an answer not worth trusting? The network always picks one of ten digits (softmax sums
# to 1), so the page must say when that pick means little.
UNSURE_BELOW = 0.6  # a top probability under this: "the network is unsure"
LITTLE_INK = 0.02  # fraction of inked pixels of the 28x28 input; every MNIST test digit has more than 0.024
SCRIBBLE_INK = 0.36  # ... and less than 0.33: more ink than this is a blob or a scribble, not a digit
INK_LEVEL = 128  # a pixel at least this bright (0..255) counts as ink
TOP_ANSWERS = 3


def top_answers(probabilities, count: int = TOP_ANSWERS) -> list[tuple[int, float]]:
    """The `count` most probable digits with their probabilities, most probable first."""
    order = np.argsort(probabilities)[::-1][:count]
    return [(int(digit), float(probabilities[digit])) for digit in order]


def ink_fraction(image) -> float:
    """The share of the 28x28 input's pixels that are ink."""
    return float((np.asarray(image) >= INK_LEVEL).mean())


def doubt(probabilities, image) -> str | None:
    """Why the answer should not be trusted ("little_ink", "scribble", "low_confidence"), or None.

    The input comes first: a blob gets a confident answer as easily as a digit does."""
    ink = ink_fraction(image)
    if ink < LITTLE_INK:
        return "little_ink"
    if ink > SCRIBBLE_INK:
        return "scribble"
    if float(np.max(probabilities)) < UNSURE_BELOW:
        return "low_confidence"
    return None


def percent_text(probability: float) -> str:
    """97%, and <1% for what would round to 0%."""
    return f"{probability:.0%}" if probability >= 0.005 else "<1%"


__all__ = [
    "ANY_DIGIT", "CANVAS_SIDE", "DIGIT_PARAM", "LINK_DIGIT_TEXT", "UNSURE_BELOW", "Digit", "canvas", "canvas_image",
    "digit_from_link", "doubt", "draw_digit", "empty_hint", "ink_fraction", "link_digit_text", "percent_text",
    "pick_test_digit", "put_digit_in_link", "top_answers",
]  # fmt: skip
