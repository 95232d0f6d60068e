"""The shared dataset: read early in a thread of its own, and that early read used only when it
is still the folder the app would read."""
from __future__ import annotations

import numpy as np
import pytest
import streamlit as st

from explorer.ui import resources
from tests.test_data import fake_arrays, write_fake_mnist


@pytest.fixture
def fresh(monkeypatch):
    monkeypatch.setattr(resources, "_early_mnist", None)
    st.cache_resource.clear()
    yield
    st.cache_resource.clear()


def test_the_early_read_is_what_the_pages_get(tmp_path, monkeypatch, fresh):
    arrays = fake_arrays(seed=1)
    monkeypatch.setenv("MNIST_DIR", str(write_fake_mnist(tmp_path / "mnist", arrays)))
    resources.start_loading_mnist()
    early = resources._early_mnist[1]
    data = resources._load_shared_mnist()
    assert data is early.result()
    assert np.array_equal(data.test_images, arrays["t10k-images-idx3-ubyte"])
    assert resources._early_mnist is None  # used once


def test_an_early_read_of_another_folder_is_not_used(tmp_path, monkeypatch, fresh):
    monkeypatch.setenv("MNIST_DIR", str(write_fake_mnist(tmp_path / "first", fake_arrays(seed=1))))
    resources.start_loading_mnist()
    resources._early_mnist[1].result()
    second = fake_arrays(seed=2)
    monkeypatch.setenv("MNIST_DIR", str(write_fake_mnist(tmp_path / "second", second)))
    assert np.array_equal(resources._load_shared_mnist().test_images, second["t10k-images-idx3-ubyte"])


def test_without_mnist_nothing_starts_and_the_pages_say_so(tmp_path, monkeypatch, fresh):
    monkeypatch.setenv("MNIST_DIR", str(tmp_path / "empty"))
    resources.start_loading_mnist()
    assert resources._early_mnist is None
    assert resources.mnist_or_none() is None
