""""The code" expanders: the NumPy that computed a number on the page, read from its source file
when the page runs (inspect.getsource), so the listing can never drift from what runs.

    show_code(saliency)                          # this function computed the number, as shown
    show_code(convolve, fast=Conv2D.forward)     # the readable definition; the network runs
                                                 # the fast version, tested to give the same numbers
"""
from __future__ import annotations

import functools
import inspect
import os
import textwrap
from pathlib import Path
from typing import Callable

import streamlit as st

from explorer.i18n import t
from explorer.nn.conv import Conv2D, MaxPool2D, convolve, im2col, max_pool
from explorer.nn.inits import init_bias, init_std, init_weights
from explorer.nn.layers import ReLU, Sigmoid, relu, sigmoid
from explorer.nn.optimizers import OPTIMIZERS

REPO_ROOT = Path(__file__).resolve().parents[2]
# The readable forward definitions of each kind of layer, beside the fast forward the network runs.
FORWARD_DEFINITIONS = {Conv2D: (im2col, convolve), ReLU: (relu,), Sigmoid: (sigmoid,), MaxPool2D: (max_pool,)}
FAST_FORWARD = {Conv2D: Conv2D.fast_forward}  # where a layer's forward only hands over to its fast kernel
SHOWN_KEY = "_code_shown"  # the qualified names this run's expanders showed (for tests and links)


def qualified_name(function: Callable) -> str:
    """module.Class.function, as a student would import it."""
    function = inspect.unwrap(function)
    return f"{function.__module__}.{function.__qualname__}"


@functools.lru_cache(maxsize=256)
def source_path(function: Callable) -> str:
    """The file that defines `function`, relative to the repository (explorer/nn/conv.py).
    Found once per process: resolving a path asks the file system about every folder on it."""
    path = Path(source_file(function)).resolve()
    try:
        return path.relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return path.as_posix()


@functools.lru_cache(maxsize=256)
def source_file(function: Callable) -> str:
    return inspect.getsourcefile(inspect.unwrap(function))


def source_of(function: Callable) -> tuple[str, int]:
    """The function's source text, as the file has it now, and its first line number."""
    function = inspect.unwrap(function)
    return _source_in(function, os.stat(source_file(function)).st_mtime_ns)


@functools.lru_cache(maxsize=256)
def _source_in(function: Callable, file_version: int) -> tuple[str, int]:
    """Read once per version of the file (finding a function's lines tokenises its module)."""
    lines, first = inspect.getsourcelines(function)
    return textwrap.dedent("".join(lines)).rstrip(), first


def show_code(function: Callable, fast: Callable | None = None) -> None:
    """An expander "The code" with the source of `function`, its file and line, and which version
    runs: `function` itself, or (with `fast`) the fast version beside this readable definition."""
    with code_expander(short_name(function)):
        show_listing(function, fast)


def code_expander(name: str):
    """The expander "The code: name" that holds listings."""
    return st.expander(t("code.title", name=name), icon=":material/code:")


def short_name(function: Callable) -> str:
    return inspect.unwrap(function).__qualname__


def show_listing(function: Callable, fast: Callable | None = None) -> None:
    """One caption (where the source is read from, which version runs), then the source."""
    source, first = source_of(function)
    st.session_state.setdefault(SHOWN_KEY, []).append(qualified_name(function))
    where = t("code.where", path=source_path(function), line=first)
    runs = t("code.runs_this") if fast is None else t("code.runs_fast", fast=qualified_name(fast), path=source_path(fast))
    st.caption(t("code.caption", where=where, runs=runs))
    st.code(source, language="python")


def show_forward_code(net) -> None:
    """The readable forward definitions of the kinds of layer `net` has (convolution, activations,
    max-pooling), each naming the fast forward that computed the page's maps."""
    for kind in dict.fromkeys(type(layer) for layer in net.layers):
        for definition in FORWARD_DEFINITIONS.get(kind, ()):
            show_code(definition, fast=FAST_FORWARD.get(kind, kind.forward))


def show_optimizer_code(name: str) -> None:
    """The update rule of optimizer `name` (sgd, adam, ...), beside the in-place update training runs."""
    optimizer = OPTIMIZERS[name]
    show_code(optimizer.rule, fast=optimizer.update)


def show_init_code() -> None:
    """How the first weights are drawn, in one expander: the standard deviation of each
    initialisation, the draw of the weights, the biases."""
    functions = (init_std, init_weights, init_bias)
    with code_expander(", ".join(map(short_name, functions))):
        for function in functions:
            show_listing(function)


__all__ = ["qualified_name", "show_code", "show_forward_code", "show_init_code", "show_listing", "show_optimizer_code", "source_of", "source_path"]
