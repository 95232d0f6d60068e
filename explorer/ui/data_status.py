"""Is MNIST on this server? Say so, and offer to download it with a progress bar.

`show_data_status(key)` is shown on the Home page; any page may call it. Pages that do not need
the training data (pretrained networks, drawing, receptive-field arithmetic) work without it.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

import streamlit as st

from explorer.data import mnist as mnist_data
from explorer.data.mnist import MNIST, DataError, cache_dir, find_mnist, mnist_status_message
from explorer.i18n import t
from explorer.ui import resources
from explorer.ui.resources import error_text

_JUST_DOWNLOADED = "_mnist_just_downloaded"


@st.cache_resource(show_spinner=False)
def _download_lock() -> threading.Lock:
    """One download at a time per server: 30 students pressing the button fetch MNIST once."""
    return threading.Lock()


def download_target() -> Path:
    """Where the button downloads to: the MNIST_DIR folder if it is set (so the app then finds
    the files there), else the per-user cache folder."""
    env_dir = os.environ.get("MNIST_DIR")
    return Path(env_dir) if env_dir else cache_dir()


def load_problem() -> tuple[MNIST | None, str]:
    """(the shared dataset, "") when it loads, else (None, why not, in the session's language). Never downloads.

    Only successes are cached (explorer.ui.resources), so a later download is picked up."""
    if find_mnist() is None:
        key, params = mnist_status_message()
        return None, t(key, **params)
    try:
        return resources._shared_mnist(), ""
    except DataError as error:  # present but unreadable or damaged: DataError says what to do
        return None, error_text(error)


def _download(progress_bar) -> str:
    """Download into download_target(); "" on success, else the message to show."""

    def progress(fraction: float, message: str) -> None:  # the core's English message stays in its logs
        fraction = min(max(float(fraction), 0.0), 1.0)
        progress_bar.progress(fraction, text=t("shared.data.downloading", percent=f"{fraction:.0%}"))

    lock = _download_lock()
    if not lock.acquire(blocking=False):
        progress_bar.progress(0.0, text=t("shared.data.waiting"))
        lock.acquire()
    try:
        # The module globals are read at call time, so a test (or a teacher's proxy) can swap mirrors.
        mnist_data.download_mnist(download_target(), progress=progress,
                                  mirrors=mnist_data.MIRRORS, checksums=mnist_data.CHECKSUMS)  # fmt: skip
    except DataError as error:
        return error_text(error)
    except Exception as error:  # noqa: BLE001 - e.g. a read-only disk: a message, not a traceback
        return t("shared.data.failed_because", error=f"{type(error).__name__}: {error}")
    finally:
        lock.release()
    return ""


def show_data_status(key: str = "data_status") -> MNIST | None:
    """Show whether MNIST is available, with a download button if not. Returns the dataset or None."""
    data, problem = load_problem()
    if data is not None:
        if st.session_state.pop(_JUST_DOWNLOADED, False):
            st.toast(t("shared.data.downloaded"), icon=":material/check_circle:")
        st.success(t("shared.data.ready", train=f"{len(data.train_images):,}", test=f"{len(data.test_images):,}",
                     source=data.source), icon=":material/check_circle:")  # fmt: skip
        return data

    st.warning(t("shared.data.not_available", problem=problem.rstrip(".。")) + "\n\n" + t("shared.data.works_without"),
               icon=":material/cloud_off:")  # fmt: skip
    st.caption(t("shared.data.where_saved", folder=download_target()))
    if st.button(t("shared.data.download"), type="primary", icon=":material/cloud_download:", key=f"{key}_download"):
        bar = st.progress(0.0, text=t("shared.data.connecting"))
        error = _download(bar)
        if error:
            bar.empty()
            st.error(t("shared.data.download_failed", error=error), icon=":material/error:")
            return None
        bar.progress(1.0, text=t("shared.data.checking"))
        data, problem = load_problem()
        if data is None:
            st.error(t("shared.data.unloadable", problem=problem), icon=":material/error:")
            return None
        st.session_state[_JUST_DOWNLOADED] = True
        st.rerun()  # every section of the page can now use the data
    return None


__all__ = ["download_target", "load_problem", "show_data_status"]
