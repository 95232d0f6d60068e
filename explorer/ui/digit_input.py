"""Reusable digit inputs: "draw a digit" on a canvas and "pick a test digit" from MNIST.

Both hand back an MNIST-style 28x28 uint8 digit (white ink on black) or None after a friendly
message, never a traceback. Keys are prefixed with the caller's `key`, so several pages (or
two inputs on one page) can use them side by side.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from explorer.data.preprocess import EMPTY_DRAWING, ImageError, Preprocessed, decode_digit, encode_digit, preprocess_digit
from explorer.ui import url_state

try:  # a custom component: if it cannot register, drawing is off but the page still works
    from streamlit_drawable_canvas import st_canvas
except Exception as _error:  # noqa: BLE001
    st_canvas, CANVAS_PROBLEM = None, str(_error)
else:
    CANVAS_PROBLEM = ""

CANVAS_SIDE = 280  # px: fits a phone screen, large enough to draw with a finger
STROKE_WIDTH = 22  # px: after scaling to 20x20, about as thick as MNIST's pen
DRAW_HINT = "Draw one digit, large, in the middle of the black square. The bin icon just above it clears it."


@dataclass(frozen=True)
class Digit:
    """A 28x28 uint8 MNIST-style digit and where it came from."""

    image: np.ndarray
    description: str  # e.g. "your drawing", "test digit #42"
    label: int | None = None  # the true label, for test digits
    index: int | None = None  # the index in the MNIST test set, for test digits
    steps: Preprocessed | None = None  # the preprocessing of a drawing


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


def canvas(key: str, *, side: int = CANVAS_SIDE, white_ink: bool = True, hint: str = DRAW_HINT) -> np.ndarray | None:
    """A drawing canvas; the RGBA array of the drawing, or None while it is empty or unavailable."""
    if st_canvas is None:
        st.warning(f"The drawing canvas is not available on this server ({CANVAS_PROBLEM}).",
                   icon=":material/draw:")  # fmt: skip
        return None
    ink, paper = ("#FFFFFF", "#000000") if white_ink else ("#000000", "#FFFFFF")
    st.space(28)  # the canvas's toolbar floats above its top edge: keep it off the widget above
    result = st_canvas(
        stroke_width=STROKE_WIDTH, stroke_color=ink, background_color=paper, width=side, height=side,
        drawing_mode="freedraw", return_image_data=True, key=f"{key}_canvas_{'white' if white_ink else 'black'}",
    )  # fmt: skip
    st.caption(hint)
    return canvas_image(result)


def draw_digit(key: str, *, side: int = CANVAS_SIDE, hint: str = DRAW_HINT) -> Digit | None:
    """A white-on-black drawing canvas; the drawing, preprocessed like MNIST, or None.

    An empty canvas returns None and shows nothing: the caller decides how to invite a drawing."""
    image = canvas(key, side=side, hint=hint)
    if image is None:
        return None
    try:
        steps = preprocess_digit(image)
    except ImageError as error:  # e.g. a stroke too faint to count as ink
        st.info(str(error), icon=":material/draw:")
        return None
    except Exception as error:  # noqa: BLE001 - never a traceback for a drawing
        st.info(f"This drawing could not be turned into a digit ({type(error).__name__}). Try again.",
                icon=":material/draw:")  # fmt: skip
        return None
    return Digit(steps.digit, "your drawing", steps=steps)


def _new_index(key: str, labels: np.ndarray, wanted: int | None) -> int:
    rng = np.random.default_rng()
    members = np.flatnonzero(labels == wanted) if wanted is not None else np.arange(len(labels))
    return int(members[rng.integers(len(members))]) if len(members) else 0


def pick_test_digit(data, key: str) -> Digit | None:
    """Choose a digit class (or any) and get a random test digit of it; "New digit" draws again.

    `data` is an explorer.data.mnist.MNIST (or None: then a message and None)."""
    if data is None:
        st.info("Test digits need the MNIST data, which is not on this server yet (see *The MNIST data* "
                "below). You can draw a digit instead.", icon=":material/cloud_off:")  # fmt: skip
        return None
    labels = data.test_labels
    state_index, state_class = f"{key}_test_index", f"{key}_test_class"
    left, right = st.columns([1, 1], vertical_alignment="bottom")
    wanted = left.selectbox("Show me a", ["any digit", *range(10)], key=f"{key}_class")
    wanted = None if wanted == "any digit" else int(wanted)
    again = right.button("New digit", icon=":material/casino:", key=f"{key}_again", width="stretch")
    url_state.bind(state_index, -1, valid=lambda v: -1 <= v < len(labels))  # a link can name the digit
    index = st.session_state[state_index]
    class_changed = state_class in st.session_state and st.session_state[state_class] != wanted
    if again or index < 0 or class_changed:
        index = _new_index(key, labels, wanted)
    st.session_state[state_index], st.session_state[state_class] = index, wanted
    label = int(labels[index])
    st.caption(f"Test digit #{index} of {len(labels):,}, labelled **{label}**.")
    return Digit(np.asarray(data.test_images[index]), f"test digit #{index}", label=label, index=index)


# --- a drawing in the link ---------------------------------------------------------------
# Strokes cannot go into a URL, but the 28x28 digit they make can (about 100-500 characters):
# a reload or a shared link brings the digit back while the canvas starts empty.

DIGIT_PARAM = "digit"
LINK_DIGIT_TEXT = "the digit from the link"


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
            st.caption(f":material/link_off: The digit in the link was ignored ({error}).")
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
    st.info(EMPTY_DRAWING.replace("—", "–") + " The network answers as soon as you lift the pen.",
            icon=":material/draw:")  # fmt: skip


__all__ = [
    "CANVAS_SIDE", "DIGIT_PARAM", "LINK_DIGIT_TEXT", "Digit", "canvas", "canvas_image", "digit_from_link", "draw_digit",
    "empty_hint", "pick_test_digit", "put_digit_in_link",
]  # fmt: skip
