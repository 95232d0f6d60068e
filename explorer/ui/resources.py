"""Process-wide resources shared by every session, and per-session model copies.

MNIST (about 55 MB of uint8) and the pretrained weights are loaded once per server
process with st.cache_resource and shared read-only by all sessions. Layers keep
forward-pass state for their backward pass, so a Network object must never be shared
between sessions that run at the same time: each session builds its own small copy from
the shared arrays (a few hundred KB to 2 MB).
"""
from __future__ import annotations

import numpy as np
import streamlit as st

from explorer.nn.checkpoints import ModelFileError, network_from
from explorer.data.mnist import MNIST, DataError, how_to_provide_params, load_mnist, mnist_status_message
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


def _shared_mnist() -> MNIST:
    """The dataset every session shares (a spinner in the session's language while it loads)."""
    with st.spinner(t("shared.loading_mnist")):
        return _load_shared_mnist()


@st.cache_resource(show_spinner=False)
def _load_shared_mnist() -> MNIST:
    data = load_mnist(download=False)
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
    with st.spinner(t("shared.loading_weights")):
        return _load_shared_pretrained(name)


@st.cache_resource(show_spinner=False)
def _load_shared_pretrained(name: str) -> tuple[dict[str, np.ndarray], dict]:
    net, card = load_pretrained(name)
    return net.state(), card


def pretrained_models(kinds: tuple[str, ...] | None = None) -> list[str]:
    """Shipped model names, optionally restricted to `kinds` (in that order)."""
    shipped = available()
    return [name for name in kinds if name in shipped] if kinds else shipped


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
