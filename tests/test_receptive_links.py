"""The Receptive fields page from a link: every control that decides the view is read from the
URL (ids and numbers), bad values are ignored quietly, and the effective-receptive-field text
counts only the part of the field that lies inside the image."""

import re

import pytest
from streamlit.testing.v1 import AppTest

from explorer.lab import receptive_measure as rm
from explorer.ui.app_setup import REPO_ROOT
from tests.test_receptive_page import click_tab

PAGE = str(REPO_ROOT / "pages" / "receptive_fields.py")
TIMEOUT = 120


@pytest.fixture(autouse=True)
def no_mnist(monkeypatch):
    monkeypatch.delenv("MNIST_DIR", raising=False)  # the bare-machine page: no data needed
    monkeypatch.setenv("XDG_CACHE_HOME", "/nonexistent-receptive-test")
    import streamlit as st

    st.cache_resource.clear()


def app_with(params: dict) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def values(at: AppTest) -> dict:
    widgets = [*at.slider, *at.selectbox, *at.number_input, *at.select_slider]
    return {w.key: w.value for w in widgets if w.key}


def test_a_link_sets_every_control():
    at = app_with({"rf_n": "3", "rf_c_in": "64", "rf_c_out": "40", "rf_row": "4", "rf_col": "17",
                   "rf_preset": "deepconvnet", "rf_input_size": "32", "rf_erf_model": "lenet",
                   "rf_erf_layer": "conv1", "rf_erf_count": "5", "rf_tab": "erf"})  # fmt: skip
    assert at.session_state["rf_tab"] == "erf"
    got = values(at)  # only the open tab's controls are drawn
    assert (got["rf_erf_model"], got["rf_erf_layer"], got["rf_erf_count"]) == ("lenet", "conv1", 5)
    assert "rf_n" not in got and "rf_preset" not in got

    click_tab(at, "compare")  # the other tabs' values from the link were kept while closed
    got = values(at)
    assert {key: got[key] for key in ("rf_n", "rf_c_in", "rf_c_out", "rf_row", "rf_col")} == \
        {"rf_n": 3, "rf_c_in": 64, "rf_c_out": 40, "rf_row": 4, "rf_col": 17}  # fmt: skip
    assert any("Output unit **(4, 17)**" in m.value for m in at.markdown)
    click_tab(at, "calculator")
    got = values(at)
    assert (got["rf_preset"], got["rf_input_size"]) == ("deepconvnet", 32)


def test_bad_link_values_are_ignored_quietly():
    at = app_with({"rf_n": "9", "rf_c_in": "abc", "rf_preset": "no-such-net", "rf_erf_model": "nielsen",
                   "rf_row": "-3", "rf_tab": "Effective receptive field"})  # fmt: skip
    state = at.session_state
    assert (state["rf_n"], state["rf_c_in"], state["rf_preset"], state["rf_erf_model"]) == (2, 16, "lenet", "deepconvnet")
    assert state["rf_row"] == 12  # the centre of the 24x24 output
    assert state["rf_tab"] == "compare" and values(at)["rf_row"] == 12


def test_output_position_stays_inside_when_n_grows():
    at = app_with({"rf_row": "23", "rf_col": "23"})  # the corner of n = 2's 24x24 output
    at.slider(key="rf_n").set_value(5).run()
    assert not at.exception
    got = values(at)
    assert (got["rf_row"], got["rf_col"]) == (17, 17)  # 28 - 2*5 = 18 positions: clamped to the last


def test_erf_text_gives_the_share_of_the_field_inside_the_image():
    at = app_with({"rf_tab": "erf", "rf_erf_model": "deepconvnet", "rf_erf_layer": "conv6", "rf_erf_count": "2"})
    text = " ".join(m.value for m in at.markdown)
    net = rm.build_model("deepconvnet")
    index = dict((name, i) for i, name in rm.conv_layers(net))["conv6"]
    r = rm.receptive_fields(rm.layer_specs(net, index), 28)[-1].receptive_field
    assert r > 28  # the field is wider than the image
    share = re.search(r"theoretical field of conv6 is \*\*(\d+)x\1\*\* pixels, but only \*\*(\d+)%\*\*", text)
    assert share, text
    assert int(share.group(1)) == r and int(share.group(2)) == round(100 * 28 * 28 / r**2)
    assert "of the field's part inside the image" in text
    assert "of the theoretical field (an even spread" not in text


def test_erf_text_without_clipping_speaks_of_the_theoretical_field():
    at = app_with({"rf_tab": "erf", "rf_erf_model": "lenet", "rf_erf_layer": "conv1", "rf_erf_count": "2"})
    text = " ".join(m.value for m in at.markdown)
    assert "lies inside the 28x28 image" not in text
    assert "of the theoretical field (an even spread" in text
