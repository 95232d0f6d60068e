"""The URL holds what defines a view, so a reload or a shared link opens the same view.

A page calls `bind(key, default)` before creating the widget with that key: the widget's value
comes from the link when the link carries a valid one, and otherwise stays what the session has
(or `default`, the first time). After the page ran, the entrypoint calls `publish()`, which writes
every bound value that differs from its default into the URL (a fragment that reruns alone
calls `publish_values()` itself). URL values are ids and numbers, never the labels a user
reads, so a link works in every language.

We don't use Streamlit's `bind="query-params"`: it writes a widget's *displayed label* into the URL.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import streamlit as st

from explorer.i18n import t

# Parameters that belong to the whole app, not to one page's widgets.
GLOBAL_PARAMS = ("lang", "lesson", "present", "room")

_BOUND = "_url_bound"  # {key: default} of the keys bound in this run
_APPLIED = "_url_applied"  # {key: URL text this session last read or wrote}, to tell a new link from our own echo
_CLAIMED = "_url_claimed"  # parameters a page reads itself (not widgets), for this run
_NOTES = "_url_notes"  # parameters the link carried that we could not use


class _Invalid(Exception):
    pass


def encode(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return repr(float(value))
    if isinstance(value, (list, tuple)):
        return ",".join(encode(item) for item in value)
    return str(value)


def _decode_one(text: str, kind: type) -> Any:
    if kind is bool:
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off"):
            return False
        raise _Invalid
    try:
        if kind is int:
            return int(text)
        if kind is float:
            number = float(text)
            if not math.isfinite(number):
                raise _Invalid
            return number
    except ValueError as error:
        raise _Invalid from error
    return text


def _match(value: Any, options: Sequence) -> Any:
    for option in options:
        if option == value or encode(option) == encode(value):
            return option
    raise _Invalid


def decode(text: str, default: Any, options: Sequence | None = None, valid: Callable[[Any], bool] | None = None) -> Any:
    """The value `text` stands for, of the default's type (or the options' type); _Invalid if none."""
    sample = options[0] if options else default
    if isinstance(default, (list, tuple)):
        sample = options[0] if options else (default[0] if default else "")
        items = [item for item in text.split(",") if item != ""]
        value = [_decode_one(item, type(sample)) for item in items]
        if options is not None:
            value = [_match(item, options) for item in value]
    else:
        kind = float if isinstance(sample, float) and not isinstance(default, int) else type(sample)
        value = _decode_one(text, kind if sample is not None else str)
        if options is not None:
            value = _match(value, options)
    if valid is not None and not valid(value):
        raise _Invalid
    return value


def begin_run() -> None:
    """The entrypoint calls this before the page runs: a fresh list of bound keys."""
    st.session_state[_BOUND] = {}
    st.session_state[_CLAIMED] = set()


def bind(key: str, default: Any, options: Sequence | None = None, valid: Callable[[Any], bool] | None = None) -> None:
    """Before a widget with `key`: take its value from the link if the link brings a new valid one."""
    ss = st.session_state
    ss.setdefault(_BOUND, {})[key] = default
    applied = ss.setdefault(_APPLIED, {})
    text = st.query_params.get(key)
    if text is not None and text != applied.get(key):
        applied[key] = text
        try:
            ss[key] = decode(text, default, options, valid)
            return
        except _Invalid:
            ss.setdefault(_NOTES, {})[key] = text
    if key not in ss:
        ss[key] = default


def bind_number(key: str, default: int | float, low, high):
    """bind() for a number widget, kept inside low..high: the session may hold a value from before
    the range changed (another model's layer, a smaller output), which the widget would refuse."""
    bind(key, default, valid=lambda value: low <= value <= high)
    st.session_state[key] = type(default)(min(max(st.session_state[key], low), high))
    return st.session_state[key]


def bind_choice(key: str, default: Any, options: Sequence) -> None:
    """bind() for a choice widget; a value that is no longer offered falls back to `default`."""
    options = list(options)
    bind(key, default, options=options)
    if st.session_state[key] not in options:
        st.session_state[key] = default


def expander(key: str, label: str, opened: bool = False):
    """An expander whose open state is in the link: its content is meant to be drawn only while
    it is open (`if box.open: with box: ...`), and opening or closing it reruns the page."""
    bind(key, opened)
    return st.expander(label, key=key, on_change="rerun")


def resend_values() -> None:
    """Send every bound widget's value to the browser again. After a language change a choice
    widget would otherwise keep showing its chosen option's label in the old language."""
    ss = st.session_state
    for key in list(ss.get(_APPLIED, {})):
        if key in ss:
            ss[key] = ss[key]


def claim(*names: str) -> None:
    """A page reads these parameters itself (they are not widgets): don't report them as unknown."""
    st.session_state.setdefault(_CLAIMED, set()).update(names)


def publish() -> None:
    """After the page ran: the bound values that differ from their defaults go into the URL; a
    parameter that no part of this page uses is dropped, with a quiet note."""
    publish_values()
    _drop_unknown_parameters()


def publish_values() -> None:
    """The bound values that differ from their defaults go into the URL. A fragment calls this
    when it reruns alone: the page's other parts did not run, so nothing else may be dropped."""
    ss = st.session_state
    bound, applied = ss.get(_BOUND, {}), ss.setdefault(_APPLIED, {})
    for key, default in bound.items():
        value = ss.get(key, default)
        text = None if value == default or value is None else encode(value)
        if text is None:
            if key in st.query_params:
                del st.query_params[key]
        elif st.query_params.get(key) != text:
            st.query_params[key] = text
        applied[key] = text


def _drop_unknown_parameters() -> None:
    ss = st.session_state
    known = set(ss.get(_BOUND, {})) | ss.get(_CLAIMED, set()) | set(GLOBAL_PARAMS)
    notes = ss.setdefault(_NOTES, {})
    for key in [key for key in st.query_params if key not in known]:
        notes[key] = st.query_params.get(key)
        del st.query_params[key]
    if notes:
        ignored = ", ".join(f"{key}={text}" for key, text in notes.items())
        st.toast(t("shared.link_ignored", parameters=ignored), icon=":material/link_off:")
        notes.clear()
