"""Figures every student sees alike, built once per server process and shared by all sessions.

Building a plotly figure validates every property it is given: the Filters page's figures for one
digit (a kernel animation of 300 frames, dozens of tile grids) take seconds to build, but a tenth
of that to send. Thirty students opening the same view (the same model, the same test digit, the
same language) would each pay the seconds. `shared(builder)` returns the builder's figure from a
process-wide cache when the arguments (arrays by their content) and the language are the same.

A shared figure is fitted to the page (explorer.figures.theme.fit_layout) before anyone sees it
and never changed afterwards: chart() leaves it as it is, so sessions can send it at the same time.
Its plain dict is made once too: st.plotly_chart asks each session's figure for `to_dict()`, a deep
copy that encodes every array again (a tenth of a second for the kernel animation).
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import threading
from collections import OrderedDict
from typing import Callable

import numpy as np

from explorer import i18n
from explorer.figures.theme import fit_layout

MAX_FIGURES = 256  # a whole Filters view of the deepest model is about 70 figures; most are small heatmaps
SHARED = "_explorer_shared"  # set on a figure that lives in the cache: never change it again

_figures: OrderedDict = OrderedDict()
_building: dict = {}  # key -> the lock its first builder holds
_lock = threading.Lock()  # guards both dicts


def content_key(value):
    """A hashable stand-in for a value (arrays by shape, type and a digest of their bytes; lists,
    tuples, dicts and dataclasses item by item), equal for equal contents."""
    if isinstance(value, np.ndarray):
        digest = hashlib.blake2b(np.ascontiguousarray(value).tobytes(), digest_size=16).hexdigest()
        return ("array", value.shape, value.dtype.str, digest)
    if isinstance(value, (list, tuple)):
        return tuple(content_key(item) for item in value)
    if isinstance(value, dict):
        return tuple(sorted((name, content_key(item)) for name, item in value.items()))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (type(value).__qualname__, tuple((item.name, content_key(getattr(value, item.name)))
                                                for item in dataclasses.fields(value)))  # fmt: skip
    if isinstance(value, (np.integer, np.floating)):
        return value.item()
    hash(value)  # anything else must be hashable: a TypeError here is a programming error
    return value


def shared(build: Callable) -> Callable:
    """`build` (a function returning a plotly figure) with its figures shared across sessions."""

    @functools.wraps(build)
    def cached(*args, **kwargs):
        key = (build.__module__, build.__qualname__, i18n.current(), content_key(args), content_key(kwargs))
        with _lock:
            if key in _figures:
                _figures.move_to_end(key)
                return _figures[key]
            building = _building.setdefault(key, threading.Lock())
        # One session builds a figure; the others asking for it meanwhile (a class arriving on a
        # fresh server) wait for that one instead of each building it again.
        with building:
            with _lock:
                if key in _figures:
                    return _figures[key]
            try:
                figure = _freeze(fit_layout(build(*args, **kwargs)))
                with _lock:
                    _figures[key] = figure
                    while len(_figures) > MAX_FIGURES:
                        _figures.popitem(last=False)
            finally:
                with _lock:
                    _building.pop(key, None)
        return figure

    return cached


def _freeze(figure):
    """Mark the figure as shared, and make its dict once: to_dict() then returns that same dict
    (st.plotly_chart only reads it) instead of a new deep copy for every session."""
    spec = figure.to_dict()
    object.__setattr__(figure, "to_dict", lambda: spec)  # the figure class forbids unknown attributes
    object.__setattr__(figure, SHARED, True)
    return figure


def is_shared(figure) -> bool:
    return getattr(figure, SHARED, False)
