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


def test_the_server_warm_up_loads_mnist_and_every_shipped_network(tmp_path, monkeypatch, fresh):
    arrays = fake_arrays(seed=3)
    monkeypatch.setenv("MNIST_DIR", str(write_fake_mnist(tmp_path / "mnist", arrays)))
    monkeypatch.setattr(resources, "_loaded", set())
    resources.load_shared_resources()
    assert (resources._load_shared_mnist, ()) in resources._loaded  # no spinner for the first session
    assert np.array_equal(resources.mnist_or_none().test_images, arrays["t10k-images-idx3-ubyte"])
    shipped = resources.pretrained_models()
    assert shipped and all((resources._load_shared_pretrained, (name,)) in resources._loaded for name in shipped)


def test_the_warm_up_skips_a_damaged_network_and_mnist_that_is_missing(tmp_path, monkeypatch, fresh):
    monkeypatch.setenv("MNIST_DIR", str(tmp_path / "empty"))
    monkeypatch.setattr(resources, "_loaded", set())
    monkeypatch.setattr(resources, "available", lambda: ["lenet", "broken"])
    shipped = resources.load_pretrained

    def load(name):
        if name == "broken":
            raise resources.ModelFileError("broken.npz is damaged")
        return shipped(name)

    monkeypatch.setattr(resources, "load_pretrained", load)
    resources.load_shared_resources()
    assert resources._loaded == {(resources._load_shared_pretrained, ("lenet",))}
