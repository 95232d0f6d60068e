"""The Filters & feature maps page: what a link restores (ids in the URL, a drawing's 28x28 digit),
what it opens on without MNIST, and the one-convolution panel (where it starts, which activation
it shows). AppTest runs the page alone, so the URL is read (bind) but not written back here."""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from explorer.lab.dissect import convolution_at, strongest_position
from explorer.nn.models import build_model
from explorer.data.preprocess import encode_digit, open_upload, preprocess_digit
from explorer.nn.pretrained import available, load_pretrained
from test_filters_page import PAGE, TIMEOUT, digit_png, texts, use_upload, widget

SHIPPED = [name for name in ("zhou-cnn", "lenet", "deepconvnet") if name in available()]


@pytest.fixture
def no_mnist(monkeypatch):
    monkeypatch.delenv("MNIST_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", "/nonexistent-filters-test")
    import streamlit as st

    st.cache_resource.clear()  # an earlier test in this process may have cached MNIST


def app_with(params: dict) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def upload_digit() -> np.ndarray:
    return preprocess_digit(open_upload(digit_png())).digit


def page_net(at: AppTest):
    name = widget(at.sidebar.selectbox, "CNN to look inside").value
    return load_pretrained(name)[0] if name in available() else build_model(name)


def test_without_mnist_the_page_opens_on_draw(no_mnist):
    at = app_with({})
    assert widget(at.button_group, "Where the digit comes from").value == "draw"
    assert any("drawing is empty" in info.value for info in at.info)
    assert not any("needs the MNIST" in warning.value for warning in at.warning)


@pytest.mark.parametrize("name", SHIPPED)
def test_one_convolution_starts_on_ink_and_shows_only_the_real_activation(name):
    at = use_upload(app_with({"filters_model": name}), digit_png())
    digit = upload_digit()
    net = page_net(at)
    row, col = widget(at.slider, "Row").value, widget(at.slider, "Column").value
    x = net.prepare(digit[None])
    step = convolution_at(net, 0, x, row, col, 0)
    low = net.input_range[0]
    assert (step.window[~step.padded] > low).any(), "the starting window is all background"
    feature = net.trace(x)[0][0, :, :, 0]
    assert (row, col) == strongest_position(feature)
    relu_lines = [line.value for line in at.latex if "ReLU" in line.value]
    follows_relu = type(net.layers[1]).__name__ == "ReLU"
    assert bool(relu_lines) == follows_relu
    if not follows_relu:
        assert "no activation after conv1" in texts(at) or "batch norm" in texts(at)


def test_zhou_cnn_has_no_relu_line():
    if "zhou-cnn" not in available():
        pytest.skip("zhou-cnn weights are not shipped")
    at = use_upload(app_with({"filters_model": "zhou-cnn"}), digit_png())
    assert not any("ReLU" in line.value for line in at.latex)
    assert "no activation after conv1" in texts(at)


def test_strongest_position_prefers_ink_over_a_blank_maximum():
    # A filter that punishes ink: the blank background gives the largest value, the ink the
    # most different one. The starting window must be on the ink.
    feature = np.full((6, 6), 0.5)
    feature[2:4, 3] = [-3.0, -2.0]
    assert strongest_position(feature) == (2, 3)


def test_a_link_sets_every_control():
    if "lenet" not in available():
        pytest.skip("lenet weights are not shipped")
    at = app_with({
        "filters_model": "lenet", "filters_weights": "random", "filters_seed": "7", "filters_colour": "map",
        "filters_source": "upload", "upload_crop": "0", "upload_invert": "always",
        "filters_conv": "conv2", "filters_channel": "5", "filters_row": "3", "filters_col": "4",
    })  # fmt: skip
    assert widget(at.sidebar.selectbox, "CNN to look inside").value == "lenet"
    assert widget(at.sidebar.radio, "Weights").value == "random"
    assert widget(at.sidebar.number_input, "Random seed").value == 7
    assert widget(at.sidebar.radio, "Colour range of the maps").value == "map"
    assert widget(at.button_group, "Where the digit comes from").value == "upload"
    assert widget(at.toggle, "Crop").value is False
    assert widget(at.selectbox, "Invert").value == "always"
    at.file_uploader[0].upload("digit.png", digit_png(), "image/png").run()
    assert not at.exception
    assert widget(at.selectbox, "Conv layer").value == "conv2"
    assert [widget(at.slider, label).value for label in ("Output channel", "Row", "Column")] == [5, 3, 4]


def test_bad_link_values_are_ignored_quietly(no_mnist):
    at = app_with({"filters_model": "no-such-net", "filters_source": "Draw", "filters_seed": "-4",
                   "filters_colour": "rainbow", "filters_row": "999"})  # fmt: skip
    assert widget(at.sidebar.selectbox, "CNN to look inside").value in widget(at.sidebar.selectbox, "CNN to look inside").options
    assert widget(at.button_group, "Where the digit comes from").value == "draw"  # "Draw" is a label, not an id
    assert widget(at.sidebar.radio, "Colour range of the maps").value == "layer"


def test_a_links_digit_is_the_input(no_mnist):
    digit = upload_digit()
    at = app_with({"filters_source": "draw", "digit": encode_digit(digit)})
    assert "the digit from the link" in texts(at)
    assert "reads the digit from the link as **" in texts(at)
    net = page_net(at)
    shown = net.predict_proba(np.round(digit / 17).astype(np.uint8)[None] * 17)[0].argmax()
    assert f"as **{int(shown)}**" in texts(at)


@pytest.mark.parametrize("text", ["%%%", "AAAA", "x" * 700])
def test_a_malformed_digit_in_the_link_gets_a_quiet_note(no_mnist, text):
    at = app_with({"filters_source": "draw", "digit": text})
    assert "digit in the link was ignored" in texts(at)
    assert any("drawing is empty" in info.value for info in at.info)
    assert "digit" not in at.query_params


def test_a_link_restores_the_random_test_digit(mnist_dir):
    at = app_with({"filters_source": "test", "filters_pick": "random", "filters_random_index": "42"})
    assert at.session_state["filters_random_index"] == 42
    assert any("#42" in caption.value for caption in at.caption)


@pytest.mark.skipif("lenet" not in SHIPPED, reason="needs the shipped lenet")
def test_a_link_restores_the_stage_controls_and_the_one_convolution_input_channel(mnist_dir):
    at = app_with({"filters_source": "test", "filters_model": "lenet", "m_lenet_t_conv2_open": "1", "m_lenet_t_conv2_inch": "2",
                   "m_lenet_t_conv2_channel": "5", "filters_conv": "conv2", "filters_conv2_inch": "4"})  # fmt: skip
    assert at.number_input(key="m_lenet_t_conv2_inch").value == 2
    assert at.number_input(key="m_lenet_t_conv2_channel").value == 5
    assert at.slider(key="filters_conv2_inch").value == 4


@pytest.mark.skipif("lenet" not in SHIPPED, reason="needs the shipped lenet")
def test_only_the_first_stage_draws_its_pictures_until_a_link_opens_another(mnist_dir):
    """Every stage keeps its heading and layer list; the filters and maps of stage 2 on are drawn
    only once their expander is open, and the link says which are."""
    closed = app_with({"filters_source": "test", "filters_model": "lenet"})
    opened = app_with({"filters_source": "test", "filters_model": "lenet", "m_lenet_t_conv2_open": "1"})
    for at in (closed, opened):
        assert any("conv2" in heading.value for heading in at.subheader)
        assert at.number_input(key="m_lenet_t_conv1_channel")
    assert opened.session_state["m_lenet_t_conv2_open"] and not closed.session_state["m_lenet_t_conv2_open"]
    assert "m_lenet_t_conv2_channel" not in [widget.key for widget in closed.number_input]
    assert opened.number_input(key="m_lenet_t_conv2_channel")
    assert len(opened.get("plotly_chart")) > len(closed.get("plotly_chart"))
