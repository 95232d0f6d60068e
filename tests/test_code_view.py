""""The code" expanders (explorer/ui/code_view.py) and the backward-step section under AppTest:
an expander shows the source of the very function that computed the page's number (the test
wraps that function, checks the page called it, and finds its source in the expander), its file,
and which version runs; the section renders in English and in Chinese without English sentences."""
from __future__ import annotations

import functools
import inspect
import os
import textwrap

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from explorer import i18n
from explorer.data.mnist import load_mnist
from explorer.lab import backward_step as lab
from explorer.nn.conv import Conv2D, convolve
from explorer.ui.code_view import qualified_name, source_of, source_path
from tests.english_check import english_in

TIMEOUT = 240


def in_a_caption(text: str, captions: list[str]) -> bool:
    """A listing's one caption says where its source is read from and which version runs."""
    return any(text in caption for caption in captions)


def listing(function) -> str:
    """The function's source as an st.code element holds it (no trailing newline)."""
    return textwrap.dedent(inspect.getsource(function)).rstrip()


def _expander_app():
    import streamlit as st

    from explorer.nn.conv import Conv2D, convolve
    from explorer.nn.inits import init_std
    from explorer.ui.code_view import show_code

    st.write(init_std("he", 9, 16))
    show_code(init_std)
    show_code(convolve, fast=Conv2D.fast_forward)


def test_an_expander_shows_the_functions_source_its_file_and_which_version_runs():
    from explorer.nn.inits import init_std

    at = AppTest.from_function(_expander_app, default_timeout=TIMEOUT).run()
    assert not at.exception, at.exception
    assert [e.label for e in at.expander] == [i18n.t("code.title", name="init_std"), i18n.t("code.title", name="convolve")]
    codes = [code.value for code in at.code]
    assert codes == [listing(init_std), listing(convolve)]
    captions = [caption.value for caption in at.caption]
    where = i18n.t("code.where", path="explorer/nn/inits.py", line=inspect.getsourcelines(init_std)[1])
    assert f"{where} {i18n.t('code.runs_this')}" in captions
    assert in_a_caption(i18n.t("code.runs_fast", fast="explorer.nn.fast_conv.ChunkedConvolution.fast_forward", path="explorer/nn/fast_conv.py"), captions)


def test_the_source_is_read_from_the_file_that_runs():
    source, first = source_of(convolve)
    lines = open(inspect.getsourcefile(convolve)).read().splitlines()
    assert source.splitlines()[0] == lines[first - 1] and source.startswith("def convolve(")
    assert source_path(Conv2D.forward) == "explorer/nn/conv.py"
    assert source_path(Conv2D.fast_forward) == "explorer/nn/fast_conv.py"
    assert qualified_name(functools.wraps(convolve)(lambda *a: None)) == "explorer.nn.conv.convolve"


# --- the backward step section ----------------------------------------------------------------


def _section_app():
    import streamlit as st

    from explorer.nn.models import build_model
    from explorer.nn.pretrained import available, load_pretrained
    from explorer.ui.backward_step_view import backward_step_section
    from explorer.ui.language import use_session_language

    use_session_language()
    if "net" not in st.session_state:
        st.session_state["net"] = load_pretrained("lenet")[0] if "lenet" in available() else build_model("lenet")
    backward_step_section(st.session_state["net"])


def mnist_here() -> bool:
    try:
        load_mnist(download=False)
        return True
    except Exception:
        return False


def least_sure_of_the_first(count: int) -> int:
    """Computed here: of the first `count` training digits, the one lenet gives its true class the
    lowest probability (the section's default image)."""
    from explorer.nn.pretrained import load_pretrained

    data = load_mnist(download=False)
    probabilities = load_pretrained("lenet")[0].predict_proba(data.train_images[:count])
    return int(probabilities[np.arange(count), data.train_labels[:count]].argmin())


needs_mnist = pytest.mark.skipif(not mnist_here() and os.environ.get("CI") != "true", reason="needs MNIST (MNIST_DIR)")


def open_section(lang: str = "en", opened: bool = True) -> AppTest:
    """The section, its worked step opened from the link (as a teacher's link may) unless not `opened`."""
    at = AppTest.from_function(_section_app, default_timeout=TIMEOUT)
    at.query_params["lang"] = lang
    if opened:
        at.query_params["backward_open"] = "1"
    at.run()
    assert not at.exception, at.exception
    return at


@needs_mnist
def test_the_worked_step_is_computed_only_once_its_expander_is_opened(monkeypatch):
    from explorer.lab import backward_step as lab_step

    import explorer.ui.backward_step_view as view

    calls = counted(monkeypatch, lab_step, "backward_step")
    monkeypatch.setattr(view, "backward_step", lab_step.backward_step)
    at = open_section(opened=False)
    assert [h.value for h in at.header] == [i18n.t("backward.title")]
    assert [e.label for e in at.expander] == [i18n.t("backward.open")] and not at.number_input
    assert calls == []  # nothing computed for a closed section
    at.session_state["backward_open"] = True  # the student opens it
    at.run()
    assert not at.exception, at.exception
    assert calls and at.number_input(key="backward_image").value == least_sure_of_the_first(256)


def counted(monkeypatch, module, name: str) -> list:
    """Replace module.name by a wrapper that records its calls (inspect.unwrap finds the original)."""
    calls, original = [], getattr(module, name)

    @functools.wraps(original)
    def wrapper(*args, **kwargs):
        calls.append(name)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, wrapper)
    import explorer.ui.backward_step_view as view  # it imported the name itself, maybe before this patch

    if getattr(view, name, None) is original:
        monkeypatch.setattr(view, name, wrapper)
    return calls


@needs_mnist
def test_each_expander_shows_the_function_that_computed_the_sections_numbers(monkeypatch):
    shown = {name: counted(monkeypatch, lab, name) for name in ("gradient_from_above", "weight_gradient", "bias_gradient",
                                                                 "input_gradient", "finite_difference")}  # fmt: skip
    at = open_section()
    codes = [code.value for code in at.code]
    for name, calls in shown.items():
        assert calls, f"the section did not compute with {name}"
        original = inspect.unwrap(getattr(lab, name))
        assert listing(original) in codes, name
    from explorer.nn.optimizers import SGD

    assert listing(SGD.rule) in codes


@needs_mnist
def test_the_section_checks_every_number_and_the_step_lowers_the_loss():
    with i18n.language("en"):
        at = open_section()
        assert not at.error, [e.value for e in at.error]
        successes = [s.value for s in at.success]
        assert len(successes) == 4  # dL/dW and its finite difference, dL/db, dL/dx
        assert any("finite difference" in text for text in successes)
        assert at.number_input(key="backward_image").value == least_sure_of_the_first(256)
        assert not at.metric  # no step yet
        for _ in range(2):
            at.button(key="backward_take").click().run()
            assert not at.exception, at.exception
        losses = at.session_state["_backward_step"]["losses"]
        assert len(losses) == 3 and losses[2] < losses[1] < losses[0]
        assert float(at.metric[0].value) == pytest.approx(losses[-1], rel=1e-5)
        at.button(key="backward_reset").click().run()
        assert not at.metric


@needs_mnist
def test_a_step_is_taken_on_a_copy_and_the_shown_kernel_is_the_chosen_one():
    at = open_section()
    original = at.session_state["net"].layers[0].W.value.copy()
    at.number_input(key="backward_kernel").set_value(3).run()
    at.button(key="backward_take").click().run()
    assert not at.exception, at.exception
    np.testing.assert_array_equal(at.session_state["net"].layers[0].W.value, original)
    copy = at.session_state["_backward_step"]["net"]
    moved = np.flatnonzero(np.any(copy.layers[0].W.value != original, axis=(0, 1, 2)))
    assert moved.tolist() == [3]


@needs_mnist
@pytest.mark.parametrize("lang", ["zh-Hans", "zh-Hant"])
def test_the_section_in_chinese_has_no_english_sentence(lang):
    with i18n.language(lang):
        at = open_section(lang)
        assert at.header[0].value == i18n.t("backward.title")
        at.button(key="backward_take").click().run()
        assert not at.exception, at.exception
        assert english_in(at) == []


@needs_mnist
def test_the_fast_passes_that_ran_are_named_beside_their_readable_definitions(monkeypatch):
    """δ comes from the loss's backward and the fast backward of every layer above the first
    convolution; the network's own gradients from Conv2D.backward. Each expander shows the
    readable definition and names the fast method that ran."""
    from explorer.nn.conv import MaxPool2D, convolution_input_gradient, convolution_weight_gradient, max_pool_backward
    from explorer.nn.layers import ReLU, relu_backward
    from explorer.nn.losses import SoftmaxCrossEntropy

    fast = {ReLU: relu_backward, MaxPool2D: max_pool_backward, Conv2D: convolution_weight_gradient}
    calls = {kind: counted(monkeypatch, kind, "fast_backward" if kind is Conv2D else "backward") for kind in fast}
    loss_calls = counted(monkeypatch, SoftmaxCrossEntropy, "backward")
    with i18n.language("en"):
        at = open_section()
    codes = [code.value for code in at.code]
    captions = [caption.value for caption in at.caption]
    assert loss_calls and listing(SoftmaxCrossEntropy.backward) in codes
    for kind, readable in fast.items():
        assert calls[kind], f"{kind.__name__}'s backward did not run"
        assert listing(readable) in codes
        ran = Conv2D.fast_backward if kind is Conv2D else kind.backward
        with i18n.language("en"):
            named = i18n.t("code.runs_fast", fast=qualified_name(ran), path=source_path(ran))
        assert in_a_caption(named, captions)
    assert listing(convolution_input_gradient) in codes


# --- the pages' expanders: each shows the function that computed the page's number ------------

from explorer.ui.app_setup import REPO_ROOT  # noqa: E402

PAGES = REPO_ROOT / "pages"


def page(name: str, **params) -> AppTest:
    at = AppTest.from_file(str(PAGES / f"{name}.py"), default_timeout=TIMEOUT)
    for key, value in params.items():
        at.query_params[key] = value
    return at


def fast_named(kind) -> str:
    """The caption naming the fast forward that ran: Conv2D's hands over to fast_conv.py."""
    fast = Conv2D.fast_forward if kind is Conv2D else kind.forward
    return i18n.t("code.runs_fast", fast=qualified_name(fast), path=source_path(fast))


@needs_mnist
def test_the_filters_page_shows_the_code_of_its_numbers(monkeypatch):
    from explorer.lab import dissect
    from explorer.nn import losses
    from explorer.nn.conv import MaxPool2D, im2col, max_pool
    from explorer.nn.layers import ReLU, relu

    computed = {name: counted(monkeypatch, dissect, name) for name in ("saliency", "convolution_at")}
    softmax_calls = counted(monkeypatch, losses, "softmax")
    forward_calls = {kind: counted(monkeypatch, kind, "forward") for kind in (Conv2D, ReLU, MaxPool2D)}
    with i18n.language("en"):
        at = page("filters", filters_model="lenet").run()
        assert not at.exception, at.exception
        codes = [code.value for code in at.code]
        captions = [caption.value for caption in at.caption]
        for name, calls in computed.items():
            assert calls and listing(inspect.unwrap(getattr(dissect, name))) in codes, name
        assert softmax_calls and listing(inspect.unwrap(losses.softmax)) in codes
        for kind, readable in ((Conv2D, convolve), (Conv2D, im2col), (ReLU, relu), (MaxPool2D, max_pool)):
            assert forward_calls[kind] and listing(readable) in codes and in_a_caption(fast_named(kind), captions)
        assert i18n.t("backward.title") in [header.value for header in at.header]


@needs_mnist
def test_the_optimizer_paths_show_each_optimizers_rule(monkeypatch):
    from explorer.nn.optimizers import OPTIMIZERS

    updates = {name: counted(monkeypatch, OPTIMIZERS[name], "update") for name in OPTIMIZERS}
    with i18n.language("en"):
        at = page("train", tr_mode="paths").run()
        assert not at.exception, at.exception
        codes = [code.value for code in at.code]
        chosen = at.pills(key="path_opts").value
        assert chosen
        for name in chosen:
            assert updates[name], f"{name}'s path did not run its update"
            assert listing(OPTIMIZERS[name].rule) in codes
            cls = OPTIMIZERS[name]
            named = i18n.t("code.runs_fast", fast=f"explorer.nn.optimizers.{cls.__name__}.update", path="explorer/nn/optimizers.py")
            assert in_a_caption(named, [caption.value for caption in at.caption])


@needs_mnist
def test_the_train_page_shows_the_rule_and_the_initialisation_that_ran(monkeypatch):
    from explorer.nn import inits
    from explorer.nn.optimizers import OPTIMIZERS

    init_calls = counted(monkeypatch, inits, "init_std")
    with i18n.language("en"):
        at = page("train").run()
        assert not at.exception, at.exception
        at.selectbox(key="tr_model").set_value("nielsen").run()
        at.select_slider(key="tr_train_size").set_value(1000).run()
        optimizer = at.selectbox(key="tr_optimizer").value
        update_calls = counted(monkeypatch, OPTIMIZERS[optimizer], "update")
        at.button(key="btn_start").click().run()
        at.run()
        assert not at.exception, at.exception
        codes = [code.value for code in at.code]
        assert update_calls and listing(OPTIMIZERS[optimizer].rule) in codes
        assert init_calls and listing(inspect.unwrap(inits.init_std)) in codes and listing(inits.init_weights) in codes
        # the three steps of the draw in one expander, in the order they run
        init_title = i18n.t("code.title", name="init_std, init_weights, init_bias")
        init_expander = next(e for e in at.expander if e.label == init_title)
        assert [code.value for code in init_expander.code] == [listing(inspect.unwrap(f)) for f in (inits.init_std, inits.init_weights, inits.init_bias)]


@needs_mnist
def test_the_receptive_field_calculator_shows_the_recurrence(monkeypatch):
    from explorer.lab import receptive

    calls = counted(monkeypatch, receptive, "receptive_fields")
    at = page("receptive_fields", rf_tab="calculator").run()
    assert not at.exception, at.exception
    assert calls and listing(inspect.unwrap(receptive.receptive_fields)) in [code.value for code in at.code]
