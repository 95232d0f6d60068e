"""The section "One backward step, with numbers" (issue 18 §3), placed on a page by one call:

    backward_step_section(net)

For one training image and one kernel of the network's first convolution: the loss, dL/d(output
map) arriving from above, dL/dW (one weight term by term), dL/db, dL/dx, and the SGD update of the
kernel; every number checked against the network's own backward pass and a finite difference. The
"take the step" button applies the update to this session's float64 copy of the network.
"""
from __future__ import annotations

import numpy as np
import streamlit as st

from explorer.figures.backward_step import gradient_maps_figure, kernel_gradient_figure, loss_steps_figure
from explorer.i18n import t
from explorer.lab.backward_step import (
    BackwardStep,
    BackwardStepError,
    backward_step,
    bias_gradient,
    finite_difference,
    float64_copy,
    gradient_from_above,
    image_loss,
    input_gradient,
    sgd_numbers,
    take_sgd_step,
    weight_gradient,
)
from explorer.nn.conv import (
    Conv2D,
    MaxPool2D,
    convolution_bias_gradient,
    convolution_input_gradient,
    convolution_weight_gradient,
    max_pool_backward,
)
from explorer.nn.layers import ReLU, Sigmoid, relu_backward, sigmoid_backward
from explorer.nn.losses import softmax
from explorer.nn.network import Network
from explorer.nn.optimizers import SGD
from explorer.ui import url_state
from explorer.ui.charts import chart
from explorer.ui.figure_cache import content_key, shared
from explorer.ui.code_view import show_code
from explorer.ui.resources import mnist_or_none, show_missing_data

OPEN_KEY = "backward_open"  # the expander holding the worked step, open or not (in the link)
STATE = "_backward_step"  # {"token", "net": the float64 copy, "losses": the image's loss before and after each step}
LEARNING_RATES = (0.001, 0.01, 0.1, 0.5, 1.0)
DEFAULT_LEARNING_RATE = 0.01  # small enough that a few steps in a row each lower the loss
SCANNED_IMAGES = 256  # the default image: the one of the first training images the network is least sure of
SHOWN_TERMS = 4
AGREES = 1e-4  # relative difference under which two numbers count as the same (float64: far under)
# The layers whose backward pass has a readable definition beside the fast one the network runs.
READABLE_BACKWARD = {MaxPool2D: max_pool_backward, ReLU: relu_backward, Sigmoid: sigmoid_backward, Conv2D: convolution_input_gradient}


def latex_number(value: float, digits: int = 4) -> str:
    """A number for st.latex: 4 significant digits, powers of ten written as such."""
    text = f"{value:.{digits}g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        return rf"{mantissa} \times 10^{{{int(exponent)}}}"
    return text


def parenthesised(value: float) -> str:
    return f"({latex_number(value)})" if value < 0 else latex_number(value)


def relative_difference(a: float, b: float) -> float:
    return abs(a - b) / max(abs(a), abs(b), 1e-300)


def least_sure_image(net: Network, data) -> int:
    """Among the first training images, the one whose true class the network gives the lowest
    probability: a step there has something to change. The same for every session showing the
    same weights, so found once per process."""
    return _least_sure_image(content_key(net.state()), net, data)


@st.cache_resource(show_spinner=False, max_entries=16)
def _least_sure_image(weights: tuple, _net: Network, _data) -> int:  # noqa: ARG001 - the weights key the cache
    probabilities = _net.predict_proba(np.asarray(_data.train_images[:SCANNED_IMAGES]))
    true_class = probabilities[np.arange(SCANNED_IMAGES), np.asarray(_data.train_labels[:SCANNED_IMAGES])]
    return int(true_class.argmin())


def session_copy(net: Network, token: tuple) -> dict:
    """This session's float64 copy of `net`, made again when the network, image or kernel changes."""
    state = st.session_state.get(STATE)
    if state is None or state["token"] != token:
        state = st.session_state[STATE] = {"token": token, "net": float64_copy(net), "losses": []}
    return state


def take_the_step(x: np.ndarray, label: int, kernel: int, weight: tuple[int, int], lr: float) -> None:
    """The button's callback: one SGD step of the kernel on the session copy, and the new loss."""
    state = st.session_state.get(STATE)
    if state is None:
        return
    copy = state["net"]
    step = backward_step(copy, x, label, kernel, weight)
    if not state["losses"]:
        state["losses"].append(step.loss)
    take_sgd_step(copy, step, lr)
    state["losses"].append(image_loss(copy, x, label))


def start_again() -> None:
    st.session_state.pop(STATE, None)


def controls(net: Network, data) -> tuple[int, int, float]:
    count, filters = len(data.train_images), net.layers[0].filters
    url_state.bind_number("backward_image", least_sure_image(net, data), 0, count - 1)
    url_state.bind_number("backward_kernel", 0, 0, filters - 1)
    url_state.bind_choice("backward_lr", DEFAULT_LEARNING_RATE, LEARNING_RATES)
    c1, c2, c3 = st.columns(3)
    index = int(c1.number_input(t("backward.image_index", count=f"{count:,}"), 0, count - 1, key="backward_image"))
    kernel = int(c2.number_input(t("backward.kernel", last=filters - 1), 0, filters - 1, key="backward_kernel"))
    lr = float(c3.select_slider(t("backward.learning_rate"), LEARNING_RATES, key="backward_lr"))
    return index, kernel, lr


def weight_choice(kernel_size: int) -> tuple[int, int]:
    url_state.bind_number("backward_row", kernel_size // 2, 0, kernel_size - 1)
    url_state.bind_number("backward_col", kernel_size // 2, 0, kernel_size - 1)
    c1, c2 = st.columns(2)
    row = int(c1.number_input(t("backward.weight_row"), 0, kernel_size - 1, key="backward_row"))
    col = int(c2.number_input(t("backward.weight_col"), 0, kernel_size - 1, key="backward_col"))
    return row, col


def check(agrees: bool, text: str) -> None:
    """The page says what was checked, and whether it held."""
    if agrees:
        st.success(text, icon=":material/check_circle:")
    else:
        st.error(text + " " + t("backward.check_failed"), icon=":material/error:")


def show_loss(step: BackwardStep, net: Network) -> None:
    st.markdown(t("backward.loss_intro", label=step.label))
    st.latex(rf"L = -\log p_{{{step.label}}} = -\log {latex_number(step.probability)} = {latex_number(step.loss)}")
    show_code(softmax)
    show_code(type(net.loss).forward)


def show_backward_code(net: Network) -> None:
    """How δ got here: the loss's gradient, then each kind of layer above the convolution, backward."""
    show_code(gradient_from_above)
    show_code(type(net.loss).backward)
    kinds = list(dict.fromkeys(type(layer) for layer in reversed(net.layers[1:])))
    for kind in kinds:
        if kind in READABLE_BACKWARD:
            show_code(READABLE_BACKWARD[kind], fast=kind.fast_backward if kind is Conv2D else kind.backward)


def show_weight_gradient(step: BackwardStep, name: str, net: Network, x: np.ndarray) -> None:
    st.subheader(t("backward.weights_title"))
    chart(shared(kernel_gradient_figure)(step), key="backward_kernel_figure")
    st.markdown(t("backward.weights_intro"))
    i, j = step.weight
    st.latex(r"\frac{\partial L}{\partial W_{" + f"{i},{j}" + r"}} = \sum_{r,c} x_{r+" + str(i) + r",\,c+" + str(j) + r"}\;\delta_{r,c}")
    terms = step.terms
    largest = terms[np.argsort(-np.abs(terms[:, 4]), kind="stable")[:SHOWN_TERMS]]
    products = [rf"{parenthesised(pixel)} \cdot {parenthesised(delta)}" for _, _, pixel, delta, _ in largest]
    lines = [" + ".join(products[start : start + 2]) for start in range(0, len(products), 2)]  # two a line: fits a phone
    st.latex(r"\begin{aligned} &= " + r" \\ &\quad + ".join(lines) + r" + \cdots \\ &= " + latex_number(step.worked_gradient) + r"\end{aligned}")
    nonzero = int(np.count_nonzero(terms[:, 4]))
    st.caption(t("backward.terms_caption", shown=len(largest), count=len(terms), nonzero=nonzero))
    show_code(weight_gradient)
    network_value = float(step.network_grad_weights[step.weight])
    check(relative_difference(step.worked_gradient, network_value) < AGREES,
          t("backward.check_network_weight", name=name, i=i, j=j, kernel=step.kernel, value=f"{network_value:.6g}"))  # fmt: skip
    show_code(convolution_weight_gradient, fast=Conv2D.fast_backward)
    measured = finite_difference(net, x, step.label, step.kernel, step.weight)
    st.latex(r"\frac{L(w+h) - L(w-h)}{2h} = " + latex_number(measured, 6) + r", \quad h = 10^{-6}")
    check(relative_difference(step.worked_gradient, measured) < AGREES,
          t("backward.check_finite_difference", difference=f"{relative_difference(step.worked_gradient, measured):.1e}"))  # fmt: skip
    show_code(finite_difference)


def show_bias_gradient(step: BackwardStep, name: str) -> None:
    st.subheader(t("backward.bias_title"))
    st.latex(r"\frac{\partial L}{\partial b} = \sum_{r,c} \delta_{r,c} = " + latex_number(step.grad_bias))
    st.caption(t("backward.bias_caption"))
    show_code(bias_gradient)
    check(relative_difference(step.grad_bias, step.network_grad_bias) < AGREES,
          t("backward.check_network_bias", name=name, kernel=step.kernel, value=f"{step.network_grad_bias:.6g}"))  # fmt: skip
    show_code(convolution_bias_gradient, fast=Conv2D.fast_backward)


def show_input_gradient(step: BackwardStep, name: str, filters: int) -> None:
    st.subheader(t("backward.input_title"))
    st.latex(r"\frac{\partial L}{\partial x} = \sum_{f} \mathrm{full}\big(\delta_f,\ \mathrm{rot}_{180}(W_f)\big)")
    st.caption(t("backward.input_caption", kernel=step.kernel))
    show_code(input_gradient)
    largest = float(np.abs(step.grad_input_all_kernels - step.network_grad_input).max())
    scale = max(float(np.abs(step.network_grad_input).max()), 1e-300)
    check(largest / scale < AGREES, t("backward.check_network_input", name=name, filters=filters, difference=f"{largest:.1e}"))
    show_code(convolution_input_gradient, fast=Conv2D.fast_backward)


def show_update(step: BackwardStep, lr: float, x: np.ndarray) -> None:
    st.subheader(t("backward.update_title"))
    numbers = sgd_numbers(step, lr)
    i, j = step.weight
    st.latex(SGD.LATEX)
    st.latex(rf"W_{{{i},{j}}} \leftarrow {latex_number(numbers['w'])} - {latex_number(lr)} \times {parenthesised(numbers['grad'])}"
             rf" = {latex_number(numbers['w_new'])}")  # fmt: skip
    st.latex(rf"b \leftarrow {latex_number(numbers['b'])} - {latex_number(lr)} \times {parenthesised(numbers['grad_b'])}"
             rf" = {latex_number(numbers['b_new'])}")  # fmt: skip
    st.caption(t("backward.update_caption"))
    show_code(SGD.rule, fast=SGD.update)
    c1, c2 = st.columns(2)
    c1.button(t("backward.take_step"), icon=":material/south:", key="backward_take",
              on_click=take_the_step, args=(x, step.label, step.kernel, step.weight, lr))  # fmt: skip
    c2.button(t("backward.start_again"), icon=":material/restart_alt:", key="backward_reset", on_click=start_again)


def show_losses(losses: list[float]) -> None:
    if len(losses) < 2:
        st.caption(t("backward.no_step_yet"))
        return
    st.metric(t("backward.loss_now", steps=len(losses) - 1), f"{losses[-1]:.6g}", delta=f"{losses[-1] - losses[-2]:.3g}", delta_color="inverse")
    if losses[-1] > losses[-2]:
        st.warning(t("backward.went_up"), icon=":material/trending_up:")
    chart(shared(loss_steps_figure)(losses), key="backward_losses")


def backward_step_section(net: Network) -> None:
    """The whole section for `net` (a CNN whose first layer is a convolution): its title and
    introduction, and the worked step in an expander drawn only while open (its state in the
    link). Drawn always, the step cost a third of every Filters rerun's server time and a phone
    its charts, for a part no lesson needs on screen."""
    st.header(t("backward.title"))
    st.markdown(t("backward.intro"))
    numbers = url_state.expander(OPEN_KEY, t("backward.open"))
    if numbers.open:
        with numbers:
            worked_step(net)


def worked_step(net: Network) -> None:
    """The step itself: the controls, every number with its check, and the update."""
    data = mnist_or_none()
    if data is None:
        show_missing_data(t("backward.title"))
        return
    index, kernel, lr = controls(net, data)
    label = int(data.train_labels[index])
    try:
        state = session_copy(net, (id(net), net.model_name, index, kernel))
    except BackwardStepError as error:
        st.info(t(f"backward.error.{error.code}", **error.params))
        return
    copy = state["net"]
    name = net.names[0]
    x = copy.prepare(np.asarray(data.train_images[index])[None])
    weight = weight_choice(copy.layers[0].kernel)
    step = backward_step(copy, x, label, kernel, weight)
    st.caption(t("backward.image_caption", index=index, label=label, name=name, kernel=kernel))
    show_loss(step, copy)
    st.subheader(t("backward.from_above_title"))
    chart(shared(gradient_maps_figure)(step), key="backward_maps")
    st.caption(t("backward.from_above_caption", name=name, kernel=kernel))
    show_backward_code(copy)
    show_weight_gradient(step, name, copy, x)
    show_bias_gradient(step, name)
    show_input_gradient(step, name, copy.layers[0].filters)
    show_update(step, lr, x)
    show_losses(state["losses"])


__all__ = ["backward_step_section"]
