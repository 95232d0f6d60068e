"""One backward step, with numbers: the gradients of one kernel of a CNN's first convolution
for one training image, worked out by hand, checked, and one SGD step that lowers the loss.

Pure NumPy, no Streamlit. Everything runs on a float64 copy of the network, so the checks
can be tight and the step never touches the network the rest of the page shows:

    net64 = float64_copy(net)
    step = backward_step(net64, x, label, kernel=3, weight=(1, 2))
    step.grad_weights      # dL/dW of that kernel, the correlation of the input with step.grad_out
    step.network_grad_weights   # the same numbers from the network's own backward pass
    finite_difference(net64, x, label, kernel=3, weight=(1, 2))   # and from two forward passes
    take_sgd_step(net64, step, lr=0.1)   # the kernel moves; image_loss(net64, x, label) goes down

The functions the page shows in its "The code" expanders (weight_gradient, bias_gradient,
input_gradient) are written for reading: plain loops over the k x k kernel offsets.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explorer.nn.conv import Conv2D
from explorer.nn.layers import Parameter
from explorer.nn.models import build_model
from explorer.nn.network import Network
from explorer.nn.optimizers import SGD

FINITE_DIFFERENCE_H = 1e-6


class BackwardStepError(ValueError):
    """A network this section cannot take apart. `code` and `params` name the page's message
    (the catalog key backward.error.<code>, as `key`); the English str is for logs."""

    def __init__(self, code: str, message: str, **params):
        super().__init__(message)
        self.code, self.params = code, params
        self.key = f"backward.error.{code}"


# --- the network copy and its loss -----------------------------------------------------------


def float64_copy(net: Network) -> Network:
    """The same model and weights in float64, built fresh: a copy the step may change."""
    if not net.layers or getattr(net.layers[0], "kind", "") != Conv2D.kind:
        raise BackwardStepError("no_conv", "the first layer of this network is not a convolution")
    try:
        copy = build_model(net.model_name, activation=net.activation or None, dtype=np.float64)
        copy.load_state(net.state())
    except ValueError as error:
        raise BackwardStepError("copy", f"this network cannot be copied: {error}", error=str(error)) from None
    return copy


def image_loss(net: Network, x: np.ndarray, label: int) -> float:
    """The loss on one image (1, H, W, 1), dropout off: the number the step should lower."""
    return net.loss.forward(net.forward(x, train=False), np.array([label]))


def gradient_from_above(net: Network, x: np.ndarray, label: int) -> tuple[float, np.ndarray]:
    """The loss, and dL/d(output of the first convolution) (out_h, out_w, F): forward through
    every layer, then the loss's gradient backward through every layer above the first."""
    outputs = x
    for layer in net.layers:
        outputs = layer.forward(outputs, train=False)
    loss = net.loss.forward(outputs, np.array([label]))
    grad = net.loss.backward()
    for layer in reversed(net.layers[1:]):
        grad = layer.backward(grad)
    return loss, grad[0]


# --- the three gradients of one kernel, by hand ----------------------------------------------


def weight_gradient(x_padded: np.ndarray, grad_out: np.ndarray, kernel: int, stride: int = 1) -> np.ndarray:
    """dL/dW[i, j] = sum over output positions (r, c) of x[r*s + i, c*s + j] * dL/dout[r, c]:
    the correlation of the (padded) input with the gradient arriving from above."""
    out_h, out_w = grad_out.shape
    grad = np.zeros((kernel, kernel))
    for i in range(kernel):
        for j in range(kernel):
            pixels_this_weight_met = x_padded[i : i + stride * out_h : stride, j : j + stride * out_w : stride]
            grad[i, j] = (pixels_this_weight_met * grad_out).sum()
    return grad


def bias_gradient(grad_out: np.ndarray) -> float:
    """The bias is added at every position of the map, so dL/db is the sum of dL/dout."""
    return float(grad_out.sum())


def input_gradient(grad_out: np.ndarray, weights: np.ndarray, input_size: tuple, padding: int, stride: int = 1) -> np.ndarray:
    """dL/dx: the 'full' convolution of dL/dout with the kernel flipped (rotated 180 degrees):
    pad dL/dout with k-1 zeros, slide the flipped kernel over it, drop the padding border."""
    k = len(weights)
    out_h, out_w = grad_out.shape
    spread = np.zeros((stride * (out_h - 1) + 1, stride * (out_w - 1) + 1))
    spread[::stride, ::stride] = grad_out  # a stride leaves gaps between the outputs
    framed = np.pad(spread, k - 1)
    flipped = weights[::-1, ::-1]
    full = np.zeros((len(framed) - k + 1, framed.shape[1] - k + 1))
    for i in range(k):
        for j in range(k):
            full += flipped[i, j] * framed[i : i + len(full), j : j + full.shape[1]]
    h, w = input_size
    on_padded_input = np.zeros((h + 2 * padding, w + 2 * padding))
    on_padded_input[: len(full), : full.shape[1]] = full  # rows no window read get no gradient
    return on_padded_input[padding : padding + h, padding : padding + w]


def weight_gradient_terms(x_padded: np.ndarray, grad_out: np.ndarray, weight: tuple[int, int], stride: int = 1) -> np.ndarray:
    """The terms of dL/dW[i, j], one per output position: rows of (r, c, x, dL/dout, product)."""
    i, j = weight
    out_h, out_w = grad_out.shape
    r, c = np.meshgrid(np.arange(out_h), np.arange(out_w), indexing="ij")
    pixels = x_padded[i + stride * r, j + stride * c]
    return np.stack([r, c, pixels, grad_out, pixels * grad_out], axis=-1).reshape(-1, 5)


# --- the whole step --------------------------------------------------------------------------


@dataclass
class BackwardStep:
    """One kernel's backward step for one image, by hand and from the network's own pass."""

    kernel: int  # which filter of the first convolution
    label: int
    loss: float
    probability: float  # of the true class
    weight: tuple[int, int]  # the weight worked out term by term
    stride: int
    padding: int
    image: np.ndarray  # (H, W): the layer's input
    x_padded: np.ndarray  # the input with its zero border
    grad_out: np.ndarray  # (out_h, out_w): dL/d(this kernel's output map), from above
    weights: np.ndarray  # (k, k): the kernel
    bias: float
    grad_weights: np.ndarray  # (k, k), by weight_gradient
    grad_bias: float  # by bias_gradient
    grad_input: np.ndarray  # (H, W): this kernel's share of dL/dx, by input_gradient
    grad_input_all_kernels: np.ndarray  # (H, W): the shares of every kernel added up
    terms: np.ndarray  # weight_gradient_terms of the worked weight
    network_grad_weights: np.ndarray  # (k, k): conv.W.grad from the network's backward pass
    network_grad_bias: float
    network_grad_input: np.ndarray  # (H, W): dL/dx from the network's backward pass

    @property
    def kernel_size(self) -> int:
        return len(self.weights)

    @property
    def worked_gradient(self) -> float:
        return float(self.grad_weights[self.weight])

    def largest_error(self) -> float:
        """The largest difference between the numbers by hand and the network's own, relative to
        the largest gradient of each kind."""

        def relative(mine, theirs):
            return float(np.abs(np.asarray(mine) - theirs).max() / max(np.abs(theirs).max(), 1e-300))

        return max(relative(self.grad_weights, self.network_grad_weights),
                   relative(self.grad_bias, self.network_grad_bias),
                   relative(self.grad_input_all_kernels, self.network_grad_input))  # fmt: skip


def backward_step(net: Network, x: np.ndarray, label: int, kernel: int, weight: tuple[int, int] | None = None) -> BackwardStep:
    """The backward step of `kernel` of net's first convolution on one image x (1, H, W, 1).

    `weight` (i, j) is the weight to work out term by term; by default the one with the
    largest gradient."""
    conv = net.layers[0]
    if not 0 <= kernel < conv.filters:
        raise BackwardStepError("kernel", f"kernel {kernel} does not exist", kernel=kernel)
    loss, grad_from_above = gradient_from_above(net, x, label)
    probability = float(net.loss.probabilities(net.forward(x))[0, label])
    network_grad_input = conv.backward(grad_from_above[None])[0, :, :, 0]  # fills conv.W.grad, conv.b.grad
    k, s, p = conv.kernel, conv.stride, conv.padding
    image = np.asarray(x[0, :, :, 0], np.float64)
    x_padded = np.pad(image, p)
    grad_out = grad_from_above[:, :, kernel]
    weights = conv.W.value[:, :, 0, kernel]
    grad_weights = weight_gradient(x_padded, grad_out, k, s)
    if weight is None:
        weight = tuple(int(v) for v in np.unravel_index(np.abs(grad_weights).argmax(), grad_weights.shape))
    all_shares = sum(input_gradient(grad_from_above[:, :, f], conv.W.value[:, :, 0, f], image.shape, p, s) for f in range(conv.filters))
    return BackwardStep(
        kernel=kernel, label=int(label), loss=loss, probability=probability, weight=weight, stride=s, padding=p,
        image=image, x_padded=x_padded, grad_out=grad_out, weights=weights.copy(), bias=float(conv.b.value[kernel]),
        grad_weights=grad_weights, grad_bias=bias_gradient(grad_out),
        grad_input=input_gradient(grad_out, weights, image.shape, p, s), grad_input_all_kernels=all_shares,
        terms=weight_gradient_terms(x_padded, grad_out, weight, s),
        network_grad_weights=conv.W.grad[:, :, 0, kernel].copy(), network_grad_bias=float(conv.b.grad[kernel]),
        network_grad_input=network_grad_input.copy(),
    )  # fmt: skip


def finite_difference(net: Network, x: np.ndarray, label: int, kernel: int, weight: tuple[int, int], h: float = FINITE_DIFFERENCE_H) -> float:
    """(L(w + h) - L(w - h)) / 2h for one weight of the first convolution: the slope of the
    loss measured with two forward passes, no backward pass at all."""
    W = net.layers[0].W.value
    where = (*weight, 0, kernel)
    original = W[where]
    try:
        W[where] = original + h
        above = image_loss(net, x, label)
        W[where] = original - h
        below = image_loss(net, x, label)
    finally:
        W[where] = original
    return (above - below) / (2 * h)


def take_sgd_step(net: Network, step: BackwardStep, lr: float) -> None:
    """Move the kernel and its bias one SGD step down their gradients (the app's own SGD)."""
    conv = net.layers[0]
    kernel = Parameter(conv.W.value[:, :, 0, step.kernel])  # views: the step writes into the network
    bias = Parameter(conv.b.value[step.kernel : step.kernel + 1])
    kernel.grad, bias.grad = step.grad_weights, np.array([step.grad_bias])
    SGD([kernel, bias], lr=lr).step()


def sgd_numbers(step: BackwardStep, lr: float) -> dict[str, float]:
    """The worked weight's and the bias's update, number by number, for the formula."""
    w = float(step.weights[step.weight])
    return {
        "w": w, "grad": step.worked_gradient, "lr": lr, "w_new": w - lr * step.worked_gradient,
        "b": step.bias, "grad_b": step.grad_bias, "b_new": step.bias - lr * step.grad_bias,
    }  # fmt: skip


__all__ = [
    "BackwardStep",
    "BackwardStepError",
    "backward_step",
    "bias_gradient",
    "finite_difference",
    "float64_copy",
    "gradient_from_above",
    "image_loss",
    "input_gradient",
    "sgd_numbers",
    "take_sgd_step",
    "weight_gradient",
    "weight_gradient_terms",
]
