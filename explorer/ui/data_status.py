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
from explorer.data.mnist import MNIST, DataError, cache_dir, find_mnist, mnist_status
from explorer.ui import resources

DOWNLOAD_LABEL = "Download MNIST (11 MB)"
WORKS_WITHOUT = ("Drawing a digit, the pretrained networks, the filters and the receptive-field arithmetic work "
                 "without it; training and the test digits need it.")  # fmt: skip
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
    """(the shared dataset, "") when it loads, else (None, why not). Never downloads.

    Only successes are cached (explorer.ui.resources), so a later download is picked up."""
    if find_mnist() is None:
        return None, mnist_status()
    try:
        return resources._shared_mnist(), ""
    except DataError as error:  # present but unreadable or damaged: DataError says what to do
        return None, str(error)


def _download(progress_bar) -> str:
    """Download into download_target(); "" on success, else the message to show."""

    def progress(fraction: float, message: str) -> None:
        progress_bar.progress(min(max(float(fraction), 0.0), 1.0), text=message)

    lock = _download_lock()
    if not lock.acquire(blocking=False):
        progress_bar.progress(0.0, text="Another visitor is downloading MNIST right now: waiting for it…")
        lock.acquire()
    try:
        # The module globals are read at call time, so a test (or a teacher's proxy) can swap mirrors.
        mnist_data.download_mnist(download_target(), progress=progress,
                                  mirrors=mnist_data.MIRRORS, checksums=mnist_data.CHECKSUMS)  # fmt: skip
    except DataError as error:
        return str(error)
    except Exception as error:  # noqa: BLE001 - e.g. a read-only disk: a message, not a traceback
        return f"The download failed ({type(error).__name__}: {error})."
    finally:
        lock.release()
    return ""


def show_data_status(key: str = "data_status") -> MNIST | None:
    """Show whether MNIST is available, with a download button if not. Returns the dataset or None."""
    data, problem = load_problem()
    if data is not None:
        if st.session_state.pop(_JUST_DOWNLOADED, False):
            st.toast("MNIST is downloaded and ready.", icon=":material/check_circle:")
        st.success(f"**MNIST is ready**: {len(data.train_images):,} training and {len(data.test_images):,} test "
                   f"digits ({data.source}).", icon=":material/check_circle:")  # fmt: skip
        return data

    st.warning(f"**MNIST is not available yet.** {problem.rstrip('.')}.\n\n{WORKS_WITHOUT}", icon=":material/cloud_off:")
    st.caption(f"The button saves the four MNIST files in `{download_target()}`. For a classroom without "
               "internet, run `python -m explorer.data download` on a connected machine and copy its cache "
               "folder, or set `MNIST_DIR` to a folder holding the four files.")  # fmt: skip
    if st.button(DOWNLOAD_LABEL, type="primary", icon=":material/cloud_download:", key=f"{key}_download"):
        bar = st.progress(0.0, text="Connecting…")
        error = _download(bar)
        if error:
            bar.empty()
            st.error(f"**The download did not work.** {error}", icon=":material/error:")
            return None
        bar.progress(1.0, text="Checking the files…")
        data, problem = load_problem()
        if data is None:
            st.error(f"**MNIST was downloaded but cannot be loaded.** {problem}", icon=":material/error:")
            return None
        st.session_state[_JUST_DOWNLOADED] = True
        st.rerun()  # every section of the page can now use the data
    return None


__all__ = ["DOWNLOAD_LABEL", "download_target", "load_problem", "show_data_status"]
