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
from explorer.data.mnist import MNIST, DataError, load_mnist, mnist_status
from explorer.nn.pretrained import available, load_pretrained

CNN_MODELS = ("zhou-cnn", "lenet", "deepconvnet", "tf-cnn-bn", "tf-cnn")
SESSION_MODEL_KEY = "trained_model"  # the Train page leaves the session's own model here


@st.cache_resource(show_spinner="Loading MNIST…")
def _shared_mnist() -> MNIST:
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


def show_missing_data(what: str = "This part of the page") -> None:
    st.warning(
        f"{what} needs the MNIST training data, which is not on this server yet ({mnist_status()}). "
        "Download it from the Home page, or set MNIST_DIR to a folder holding the four MNIST files.",
        icon=":material/cloud_download:",
    )


@st.cache_resource(show_spinner="Loading pretrained weights…")
def _shared_pretrained(name: str) -> tuple[dict[str, np.ndarray], dict]:
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
    "mnist_or_none",
    "pretrained_models",
    "session_pretrained",
    "session_trained_model",
    "show_missing_data",
]
