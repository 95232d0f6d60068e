"""The Receptive fields page in streamlit's in-process AppTest."""

import os

import pytest
from streamlit.testing.v1 import AppTest

from explorer.i18n import t
from explorer.lab.receptive import compare_single_vs_stack, conv_params, input_window
from explorer.ui.app_setup import REPO_ROOT
from tests.app_pages import open_tab

PAGE = str(REPO_ROOT / "pages" / "receptive_fields.py")
TIMEOUT = 120


@pytest.fixture
def app(monkeypatch):
    monkeypatch.delenv("MNIST_DIR", raising=False)  # the bare-machine page: no data needed
    monkeypatch.setenv("XDG_CACHE_HOME", "/nonexistent-receptive-test")
    import streamlit as st

    st.cache_resource.clear()  # an earlier test in this process may have cached MNIST
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    return at


def _metric(at, label):
    return [m.value for m in at.metric if m.label == label]


def click_tab(at, tab: str):
    """Open one of the page's tabs (by its URL id), as a click does."""
    return open_tab(at, "_rf_tab_label", t(f"receptive.tab.{tab}"), {"rf_tab": tab})


def test_renders_without_data(app):
    assert any("Receptive fields" in title.value for title in app.title)
    # the synthetic digit stands in for MNIST
    assert any("synthetic digit" in c.value for c in app.caption)
    click_tab(app, "head-to-head")
    assert any("needs the MNIST training data" in w.body for w in app.warning)


def test_only_the_open_tab_is_drawn_and_closed_tabs_keep_their_values(app):
    headers = {tab: t(f"receptive.{section}.header") for tab, section in
               (("compare", "compare"), ("calculator", "calc"), ("erf", "erf"), ("head-to-head", "h2h"))}  # fmt: skip
    assert [h.value for h in app.header] == [headers["compare"]]
    assert not app.dataframe and not app.selectbox  # the calculator's table and the ERF's choices wait for a click
    app.slider(key="rf_c_in").set_value(64).run()

    click_tab(app, "calculator")
    assert [h.value for h in app.header] == [headers["calculator"]] and not app.slider
    app.selectbox(key="rf_preset").set_value("deepconvnet").run()
    click_tab(app, "erf")
    assert [h.value for h in app.header] == [headers["erf"]]
    app.slider(key="rf_erf_count").set_value(3).run()

    click_tab(app, "compare")
    assert app.slider(key="rf_c_in").value == 64
    click_tab(app, "calculator")
    assert app.selectbox(key="rf_preset").value == "deepconvnet"
    assert app.session_state["rf_calc"] == {"r": 36, "jump": 8, "size": 4}  # DeepConvNet's stack, not LeNet's
    click_tab(app, "erf")
    assert app.slider(key="rf_erf_count").value == 3


@pytest.mark.parametrize("c_in, c_out", [(1, 16), (64, 64), (3, 40)])
def test_channel_sliders_update_the_counts(app, c_in, c_out):
    app.slider(key="rf_c_in").set_value(c_in)
    app.slider(key="rf_c_out").set_value(c_out)
    app.run()
    assert not app.exception
    single = sum(conv_params(5, c_in, c_out))
    stack = sum(conv_params(3, c_in, c_out)) + sum(conv_params(3, c_out, c_out))
    assert _metric(app, "parameters")[:2] == [f"{single:,}", f"{stack:,}"]
    verdict = (app.success if stack < single else app.error)[0].value
    assert f"{stack:,}" in verdict and f"{single:,}" in verdict
    assert any(f"{stack:,}".replace(",", "{,}") in l.body for l in app.latex)


def test_mnist_preset_button_shows_the_caveat(app):
    app.button[1].click().run()
    assert (app.slider(key="rf_c_in").value, app.slider(key="rf_c_out").value) == (1, 16)
    cmp = compare_single_vs_stack(2, 1, 16)
    assert _metric(app, "parameters")[:2] == [f"{cmp.single.params:,}", f"{cmp.stack.params:,}"]
    assert "fails" in app.error[0].value


@pytest.mark.parametrize("n, row, col", [(2, 0, 0), (2, 23, 5), (3, 10, 21), (1, 25, 3)])
def test_overlay_window_matches_the_calculator(app, n, row, col):
    app.slider(key="rf_n").set_value(n).run()
    app.slider(key="rf_row").set_value(row)
    app.slider(key="rf_col").set_value(col)
    app.run()
    assert not app.exception
    cmp = compare_single_vs_stack(n, 16, 16)
    expected = input_window(list(cmp.single.layers), row, col)
    assert expected == input_window(list(cmp.stack.layers), row, col)
    shown = app.session_state["rf_window"]
    assert shown["single"] == expected and shown["stack"] == expected
    r0, r1, c0, c1 = expected
    assert any(f"rows **{r0}–{r1 - 1}** and columns **{c0}–{c1 - 1}**" in m.value for m in app.markdown)
    assert any("exactly" in s.value for s in app.success)  # measured == analytic


def test_the_calculators_edits_survive_a_tab_switch(app):
    click_tab(app, "calculator")
    assert app.session_state["rf_calc"]["r"] == 16  # LeNet: 5x5, pool, 5x5, pool
    # AppTest cannot type into the table: the edit state is what a browser's edit sends
    app.session_state["rf_editor_lenet"] = {"edited_rows": {0: {"kernel": 7}}, "added_rows": [], "deleted_rows": []}
    app.run()
    assert app.session_state["rf_calc"]["r"] == 18
    click_tab(app, "compare")
    click_tab(app, "calculator")  # the editor comes back new, without its edit state...
    assert app.session_state["rf_calc"]["r"] == 18  # ...but from the rows last shown
    assert list(app.data_editor[0].value["kernel"]) == [7, 2, 5, 2]
    app.selectbox(key="rf_preset").set_value("deepconvnet").run()
    app.selectbox(key="rf_preset").set_value("lenet").run()
    assert app.session_state["rf_calc"]["r"] == 16  # another preset starts from its own layers


def test_calculator_reports_invalid_rows(app):
    click_tab(app, "calculator")
    assert app.session_state["rf_calc"] == {"r": 16, "jump": 4, "size": 5}  # lenet
    app.selectbox(key="rf_preset").set_value("deepconvnet").run()
    assert not app.exception and app.session_state["rf_calc"]["jump"] == 8
    app.number_input(key="rf_input_size").set_value(1).run()  # a 2x2 pool does not fit a 1x1 map
    assert not app.exception
    assert app.session_state["rf_calc"] is None
    assert any("no output" in e.value for e in app.error)


@pytest.mark.mnist
def test_head_to_head_with_mnist(require, monkeypatch):
    mnist = os.environ.get("MNIST_DIR", "")
    require(mnist and os.path.isdir(mnist), "env MNIST_DIR is not set (the folder with MNIST's four IDX files)")
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    at.query_params["rf_tab"] = "head-to-head"
    at.run()
    assert not at.exception
    at.select_slider(key="rf_h2h_size").set_value(1000)
    at.button(key="rf_h2h_train").click().run(timeout=300)
    assert not at.exception, at.exception
    accuracies = _metric(at, "test accuracy")
    assert len(accuracies) == 2
    for value in accuracies:
        assert value.endswith("%") and 0 <= float(value.rstrip("%")) <= 100
    results = at.session_state["rf_head_to_head"]["results"]
    assert [f"{r.test_accuracy:.1%}" for r in results] == accuracies
    assert [r.conv_parameters for r in results] == [sum(conv_params(5, 1, 16)),
                                                     sum(conv_params(3, 1, 16)) + sum(conv_params(3, 16, 16))]
