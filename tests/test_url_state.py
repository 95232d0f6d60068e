"""explorer/ui/url_state.py: links restore a view, the URL follows the widgets, bad links are ignored."""

import pytest
from streamlit.testing.v1 import AppTest

from explorer.ui import url_state
from explorer.ui.url_state import _Invalid, decode, encode


def _page():
    import streamlit as st

    from explorer.ui import url_state

    url_state.begin_run()
    url_state.bind("model", "mlp", options=["mlp", "cnn"])
    st.selectbox("Model", ["mlp", "cnn"], key="model")
    url_state.bind("lr", 0.01, options=[0.001, 0.01, 0.1])
    st.select_slider("Learning rate", [0.001, 0.01, 0.1], key="lr")
    url_state.bind("seed", 0, valid=lambda v: 0 <= v <= 99)
    st.number_input("Seed", 0, 99, key="seed")
    url_state.bind("log", False)
    st.toggle("Log", key="log")
    url_state.bind("shown", ["a"], options=["a", "b", "c"])
    st.multiselect("Shown", ["a", "b", "c"], key="shown")
    url_state.publish()


def _run(params: dict) -> AppTest:
    at = AppTest.from_function(_page)
    for key, value in params.items():
        at.query_params[key] = value
    return at.run()


def test_a_link_sets_the_widgets():
    at = _run({"model": "cnn", "lr": "1e-3", "seed": "42", "log": "1", "shown": "b,c"})
    assert not at.exception
    assert at.selectbox(key="model").value == "cnn"
    assert at.select_slider(key="lr").value == 0.001
    assert at.number_input(key="seed").value == 42
    assert at.toggle(key="log").value is True
    assert at.multiselect(key="shown").value == ["b", "c"]
    assert not at.toast


def test_the_url_follows_the_widgets_and_leaves_defaults_out():
    at = _run({})
    assert dict(at.query_params) == {}
    at.selectbox(key="model").select("cnn").run()
    at.number_input(key="seed").set_value(7).run()
    assert at.query_params["model"] == "cnn" and at.query_params["seed"] == "7"
    at.selectbox(key="model").select("mlp").run()
    assert "model" not in at.query_params and at.query_params["seed"] == "7"


def test_invalid_and_unknown_parameters_are_dropped_with_a_note():
    at = _run({"model": "transformer", "seed": "1000", "lr": "nan", "colour": "red", "lesson": "inits"})
    assert not at.exception
    assert at.selectbox(key="model").value == "mlp" and at.number_input(key="seed").value == 0
    assert at.select_slider(key="lr").value == 0.01
    note = at.toast[0].value
    for piece in ("model=transformer", "seed=1000", "lr=nan", "colour=red"):
        assert piece in note
    assert "lesson" not in note  # a parameter of the whole app
    assert "colour" not in at.query_params and at.query_params["lesson"] == "inits"


def test_the_session_keeps_its_value_when_the_url_does_not_change():
    at = _run({"model": "cnn"})
    at.selectbox(key="model").select("mlp").run()  # the user changes it: the old link must not win
    assert at.selectbox(key="model").value == "mlp"
    at.run()
    assert at.selectbox(key="model").value == "mlp"


@pytest.mark.parametrize("value", [True, 3, 0.25, "cnn", ["a", "b"], [1, 2]])
def test_encode_then_decode_gives_the_value_back(value):
    default = type(value)() if not isinstance(value, list) else []
    options = value if isinstance(value, list) else None
    assert decode(encode(value), default, options) == value


@pytest.mark.parametrize("text, default, options", [("x", 0, None), ("inf", 1.0, None), ("maybe", False, None),
                                                    ("d", ["a"], ["a", "b"]), ("0.5", 0.1, [0.1, 0.2])])  # fmt: skip
def test_decode_rejects_what_the_widget_cannot_show(text, default, options):
    with pytest.raises(_Invalid):
        decode(text, default, options)


def test_the_app_wide_parameters_are_named_once():
    assert set(url_state.GLOBAL_PARAMS) >= {"lang", "lesson", "present"}


def _ranged_page():
    import streamlit as st

    from explorer.ui import url_state

    url_state.begin_run()
    high = st.session_state.get("high", 10)
    url_state.bind_number("row", 5, 0, high)
    st.number_input("Row", 0, high, key="row")
    url_state.bind_choice("layer", "conv1", ["conv1", "conv2"] if high == 10 else ["conv1"])
    st.selectbox("Layer", ["conv1", "conv2"] if high == 10 else ["conv1"], key="layer")
    url_state.publish()


def test_a_value_outside_a_changed_range_is_clamped_or_reset():
    at = AppTest.from_function(_ranged_page)
    at.query_params["row"] = "9"
    at.query_params["layer"] = "conv2"
    at.run()
    assert at.number_input(key="row").value == 9 and at.selectbox(key="layer").value == "conv2"
    at.session_state["high"] = 3  # e.g. another model with a smaller output and fewer layers
    at.run()
    assert not at.exception
    assert at.number_input(key="row").value == 3 and at.selectbox(key="layer").value == "conv1"


def _page_in_the_session_language():
    import streamlit as st

    from explorer.ui import url_state
    from explorer.ui.language import use_session_language

    url_state.begin_run()
    use_session_language()
    url_state.bind("model", "mlp", options=["mlp", "cnn"])
    st.selectbox("Model", ["mlp", "cnn"], key="model")
    url_state.publish()


@pytest.mark.parametrize("lang", ["en", "zh-Hans", "zh-Hant"])
def test_the_note_about_a_dropped_parameter_is_in_the_session_language(lang):
    from explorer.i18n import language, t

    at = AppTest.from_function(_page_in_the_session_language)
    at.query_params["lang"] = lang
    at.query_params["colour"] = "red"
    at.run()
    assert not at.exception
    with language(lang):
        assert at.toast[0].value == t("shared.link_ignored", parameters="colour=red")
    assert "colour" not in at.query_params and at.query_params.get("lang", "en") == lang
