"""Process-wide resources shared by every session, and per-session model copies.

MNIST (about 55 MB of uint8) and the pretrained weights are loaded once per server
process with st.cache_resource and shared read-only by all sessions. Layers keep
forward-pass state for their backward pass, so a Network object must never be shared
between sessions that run at the same time: each session builds its own small copy from
the shared arrays (a few hundred KB to 2 MB).
"""
from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import streamlit as st

from explorer.nn.checkpoints import ModelFileError, network_from
from explorer.data.mnist import MNIST, DataError, find_mnist, how_to_provide_params, load_mnist, mnist_status_message
from explorer.i18n import t
from explorer.nn.pretrained import available, load_pretrained

CNN_MODELS = ("zhou-cnn", "lenet", "deepconvnet", "tf-cnn-bn", "tf-cnn")
SESSION_MODEL_KEY = "trained_model"  # the Train page leaves the session's own model here


def error_text(error: Exception) -> str:
    """What to tell the user about `error`: its catalog text when the core gave it a key and
    parameters (explorer.data and explorer.nn errors do), else its own message."""
    key = getattr(error, "key", None)
    if not isinstance(key, str):
        return str(error)
    params = getattr(error, "params", {})
    if key.startswith("errors."):  # the core's errors: [errors] of the catalogs (written so the check sees them used)
        text = t(f"errors.{key.removeprefix('errors.')}", **params)
    else:
        text = t(key, **params)
    if getattr(error, "how_to_provide", False):
        text += " " + t("errors.data.how_to_provide", **how_to_provide_params())
    return text


_loaded: set = set()  # (loader, arguments) this process has loaded: no spinner for them any more


def _with_spinner(load, message: str, *args):
    """load(*args) from its cache, under a spinner in the session's language the first time (a
    spinner starts a thread: every rerun of every page paid for one around a cached value)."""
    if (load, args) in _loaded:
        return load(*args)
    with st.spinner(message):
        value = load(*args)
    _loaded.add((load, args))
    return value


def _shared_mnist() -> MNIST:
    """The dataset every session shares."""
    return _with_spinner(_load_shared_mnist, t("shared.loading_mnist"))


_early_mnist: tuple[Path, Future] | None = None  # (folder, its loading) started by start_loading_mnist


def start_loading_mnist() -> None:
    """Start reading MNIST, if it is there, in a thread of its own: decompressing it releases the
    GIL, so on a fresh server it goes on beside the first sessions' imports instead of after them."""
    global _early_mnist
    folder = find_mnist()
    if folder is None or _early_mnist is not None:
        return
    loader = ThreadPoolExecutor(1, thread_name_prefix="load-mnist")
    _early_mnist = (folder, loader.submit(load_mnist, download=False))
    loader.shutdown(wait=False)


@st.cache_resource(show_spinner=False)
def _load_shared_mnist() -> MNIST:
    global _early_mnist
    early, _early_mnist = _early_mnist, None  # used once: a later load reads the files again
    data = early[1].result() if early is not None and early[0] == find_mnist() else load_mnist(download=False)
    for array in (data.train_images, data.train_labels, data.test_images, data.test_labels):
        array.flags.writeable = False  # shared by every session: nobody may write into it
    return data


def mnist_or_none() -> MNIST | None:
    """The shared dataset, or None when it is not available yet (pages then explain how to get it)."""
    try:
        return _shared_mnist()
    except DataError:
        return None


def show_missing_data(what: str | None = None) -> None:
    """A warning that `what` (by default "this part of the page") needs MNIST, and how to get it."""
    key, params = mnist_status_message()
    st.warning(t("shared.missing_data", what=what or t("shared.this_part"), status=t(key, **params)),
               icon=":material/cloud_download:")  # fmt: skip


def _shared_pretrained(name: str) -> tuple[dict[str, np.ndarray], dict]:
    return _with_spinner(_load_shared_pretrained, t("shared.loading_weights"), name)


@st.cache_resource(show_spinner=False)
def _load_shared_pretrained(name: str) -> tuple[dict[str, np.ndarray], dict]:
    net, card = load_pretrained(name)
    return net.state(), card


def pretrained_models(kinds: tuple[str, ...] | None = None) -> list[str]:
    """Shipped model names, optionally restricted to `kinds` (in that order)."""
    shipped = available()
    return [name for name in kinds if name in shipped] if kinds else shipped


def load_shared_resources() -> None:
    """MNIST (when it is there) and every shipped network's weights, loaded into the process's
    caches before any session asks: the server's warm-up (explorer/ui/warmup.py)."""
    if find_mnist() is not None:
        _load_shared_mnist()
        _loaded.add((_load_shared_mnist, ()))
    for name in available():
        try:
            _load_shared_pretrained(name)
        except ModelFileError:
            continue  # the page that shows this network says what is wrong with its file
        _loaded.add((_load_shared_pretrained, (name,)))


def session_pretrained(name: str):
    """(network, card) for this session: built from the shared arrays on first use.

    Raises ModelFileError with a readable message if the weights are missing or corrupt."""
    models = st.session_state.setdefault("_pretrained_models", {})
    if name not in models:
        arrays, card = _shared_pretrained(name)
        models[name] = (network_from(arrays, card, f"{name}.npz"), card)
    return models[name]


def session_trained_model():
    """(network, card) of the model trained on the Train page in this session, or None."""
    return st.session_state.get(SESSION_MODEL_KEY)


__all__ = [
    "CNN_MODELS",
    "ModelFileError",
    "error_text",
    "mnist_or_none",
    "pretrained_models",
    "session_pretrained",
    "session_trained_model",
    "show_missing_data",
]
