""""The code" expanders: the NumPy that computed a number on the page, read from its source file
when the page runs (inspect.getsource), so the listing can never drift from what runs.

    show_code(saliency)                          # this function computed the number, as shown
    show_code(convolve, fast=Conv2D.forward)     # the readable definition; the network runs
                                                 # the fast version, tested to give the same numbers
"""
from __future__ import annotations

import inspect
import textwrap
from pathlib import Path
from typing import Callable

import streamlit as st

from explorer.i18n import t

REPO_ROOT = Path(__file__).resolve().parents[2]
SHOWN_KEY = "_code_shown"  # the qualified names this run's expanders showed (for tests and links)


def qualified_name(function: Callable) -> str:
    """module.Class.function, as a student would import it."""
    function = inspect.unwrap(function)
    return f"{function.__module__}.{function.__qualname__}"


def source_path(function: Callable) -> str:
    """The file that defines `function`, relative to the repository (explorer/nn/conv.py)."""
    path = Path(inspect.getsourcefile(inspect.unwrap(function))).resolve()
    try:
        return path.relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return path.as_posix()


def source_of(function: Callable) -> tuple[str, int]:
    """The function's source text, as the file has it now, and its first line number."""
    lines, first = inspect.getsourcelines(inspect.unwrap(function))
    return textwrap.dedent("".join(lines)).rstrip(), first


def show_code(function: Callable, fast: Callable | None = None, *, title: str | None = None) -> None:
    """An expander "The code" with the source of `function`, its file and line, and which version
    runs: `function` itself, or (with `fast`) the fast version beside this readable definition."""
    source, first = source_of(function)
    name = function.__name__ if title is None else title
    st.session_state.setdefault(SHOWN_KEY, []).append(qualified_name(function))
    with st.expander(t("code.title", name=name), icon=":material/code:"):
        st.caption(t("code.where", path=source_path(function), line=first))
        if fast is None:
            st.caption(t("code.runs_this"))
        else:
            st.caption(t("code.runs_fast", fast=qualified_name(fast), path=source_path(fast)))
        st.code(source, language="python")


__all__ = ["qualified_name", "show_code", "source_of", "source_path"]
