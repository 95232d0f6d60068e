"""Look inside a CNN on one input: a layer-by-layer view model, one convolution with all
its numbers, saliency, and colour ranges for feature maps (as in CNN Explainer).

Pure NumPy, no Streamlit: the Filters & feature maps page draws what this module computes.

    view = dissect(net, net.prepare(digit[None]))
    view.stages            # conv -> activation -> pool groups, each a list of LayerView
    step = convolution_at(net, layer_index, x, out_row, out_col, channel)
    step.total + step.bias == step.output == feature map value (checked by the tests)

`convolution_at` reads the arrays directly (pad, slice a window, multiply, add), so it is
independent of the im2col matrix product the network uses and doubles as a check of it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from explorer.nn.conv import Conv2D, output_size
from explorer.nn.network import Network

COLOUR_MODES = ("map", "layer", "global")  # ids; the page's catalog names them (filters.colour_mode.<id>)

# Layers that belong to the stage of the conv/dense layer before them.
_FOLLOWER_KINDS = ("activation", "batchnorm", "pool", "dropout")


def _is_conv(layer) -> bool:
    # By the layer's kind, not isinstance: Streamlit may reload explorer.nn.conv while a session
    # still holds a network built from the previous class object.
    return getattr(layer, "kind", "") == Conv2D.kind and hasattr(layer, "W")


def is_cnn(net: Network) -> bool:
    """True when the network has at least one convolution (the page only shows CNNs)."""
    return any(_is_conv(layer) for layer in net.layers)


def conv_indices(net: Network) -> list[int]:
    return [i for i, layer in enumerate(net.layers) if _is_conv(layer)]


@dataclass
class LayerView:
    """One layer on one input: what it is and what it produced (batch axis removed)."""

    index: int
    name: str
    type: str  # class name: Conv2D, ReLU, MaxPool2D, ...
    kind: str  # conv, activation, pool, dense, flatten, batchnorm, dropout
    shape: tuple  # output shape without the batch axis
    params: int
    summary: str  # one sentence on what the layer does, in English (the page reads filters.layer.<type>)
    config: dict
    output: np.ndarray  # (H, W, C) for maps, (units,) for vectors

    @property
    def is_map(self) -> bool:
        return self.output.ndim == 3

    @property
    def shape_text(self) -> str:
        return " × ".join(str(s) for s in self.shape)


@dataclass
class Stage:
    """A conv (or dense) layer with the activation / batch norm / pooling that follow it."""

    layers: list[LayerView]

    @property
    def head(self) -> LayerView:
        return self.layers[0]

    @property
    def title(self) -> str:
        return " → ".join(layer.name for layer in self.layers)

    @property
    def kind(self) -> str:
        return self.head.kind

    @property
    def params(self) -> int:
        return sum(layer.params for layer in self.layers)

    def find(self, kind: str) -> LayerView | None:
        return next((layer for layer in self.layers if layer.kind == kind), None)


@dataclass
class Dissection:
    input: np.ndarray  # the model input without batch axis, (28, 28, 1)
    layers: list[LayerView]
    stages: list[Stage]
    probabilities: np.ndarray  # (10,)

    @property
    def predicted(self) -> int:
        return int(self.probabilities.argmax())

    @property
    def maps(self) -> list[LayerView]:
        return [layer for layer in self.layers if layer.is_map]


def group_stages(layers: list[LayerView]) -> list[Stage]:
    """conv -> [batchnorm] -> activation -> [pool] (and dense -> activation -> dropout) stages."""
    stages: list[Stage] = []
    for layer in layers:
        if stages and layer.kind in _FOLLOWER_KINDS and stages[-1].kind in ("conv", "dense"):
            stages[-1].layers.append(layer)
        else:
            stages.append(Stage([layer]))
    return stages


def dissect(net: Network, x: np.ndarray) -> Dissection:
    """Run one input (1, ...) through the network and describe every layer's output."""
    if x.shape[0] != 1:
        raise ValueError(f"dissect takes one input (batch of 1), got a batch of {x.shape[0]}")
    outputs = net.trace(x)
    counts = dict(net.parameter_counts())
    views = [
        LayerView(
            index=i,
            name=name,
            type=type(layer).__name__,
            kind=layer.kind,
            shape=tuple(out.shape[1:]),
            params=counts[name],
            summary=layer.summary,
            config=layer.config(),
            output=out[0],
        )
        for i, (name, layer, out) in enumerate(zip(net.names, net.layers, outputs))
    ]
    probabilities = np.asarray(net.loss.probabilities(outputs[-1])[0], dtype=np.float64)
    return Dissection(input=x[0], layers=views, stages=group_stages(views), probabilities=probabilities)


# --- one convolution, number by number ------------------------------------------------------


@dataclass
class ConvolutionStep:
    """Everything that goes into one output value of a convolution.

    Arrays are (K, K, C_in): the input window (zeros where it covers padding), the kernel of
    the chosen output channel, and their elementwise products."""

    layer_index: int
    out_row: int
    out_col: int
    channel: int
    kernel_size: int
    stride: int
    padding: int
    input_size: tuple[int, int]  # (H, W) of the layer's input, without padding
    output_size: tuple[int, int]
    origin: tuple[int, int]  # top-left of the window in unpadded input coordinates (may be < 0)
    window: np.ndarray
    kernel: np.ndarray
    products: np.ndarray
    padded: np.ndarray  # (K, K) bool: True where the window covers padding
    channel_sums: np.ndarray  # (C_in,) sum of products per input channel
    total: float  # sum of all products
    bias: float
    output: float  # total + bias
    relu: float  # max(0, output)
    layer_input: np.ndarray = field(repr=False)  # (H, W, C_in), for drawing the window

    @property
    def in_channels(self) -> int:
        return self.window.shape[2]


def convolution_at(net: Network, layer_index: int, x: np.ndarray, out_row: int, out_col: int, channel: int) -> ConvolutionStep:
    """The output at (out_row, out_col, channel) of conv layer `layer_index` for input x (1, ...),
    computed by hand from the arrays: pad, cut the window, multiply by the kernel, add up."""
    layer = net.layers[layer_index]
    if not _is_conv(layer):
        raise ValueError(f"layer {layer_index} ({net.names[layer_index]}) is not a convolution")
    layer_input = net.trace(x)[layer_index - 1] if layer_index else x
    layer_input = np.asarray(layer_input[0], dtype=np.float64)
    h, w, c = layer_input.shape
    k, s, p = layer.kernel, layer.stride, layer.padding
    out_h, out_w = output_size(h, k, s, p), output_size(w, k, s, p)
    if not (0 <= out_row < out_h and 0 <= out_col < out_w):
        raise ValueError(f"position ({out_row}, {out_col}) is outside the {out_h}x{out_w} output")
    if not 0 <= channel < layer.filters:
        raise ValueError(f"channel {channel} does not exist; the layer has {layer.filters}")

    top, left = out_row * s - p, out_col * s - p
    window = np.zeros((k, k, c))
    padded = np.ones((k, k), bool)
    for i in range(k):
        for j in range(k):
            r, q = top + i, left + j
            if 0 <= r < h and 0 <= q < w:
                window[i, j, :] = layer_input[r, q, :]
                padded[i, j] = False
    kernel = np.asarray(layer.W.value[:, :, :, channel], dtype=np.float64)
    products = window * kernel
    channel_sums = products.sum(axis=(0, 1))
    total = float(products.sum())
    bias = float(layer.b.value[channel])
    output = total + bias
    return ConvolutionStep(
        layer_index=layer_index, out_row=out_row, out_col=out_col, channel=channel,
        kernel_size=k, stride=s, padding=p, input_size=(h, w), output_size=(out_h, out_w),
        origin=(top, left), window=window, kernel=kernel, products=products, padded=padded,
        channel_sums=channel_sums, total=total, bias=bias, output=output, relu=max(0.0, output),
        layer_input=layer_input,
    )  # fmt: skip


def strongest_position(feature_map: np.ndarray) -> tuple[int, int]:
    """The (row, col) whose value differs most from the map's typical value.

    Most of a digit is background, so the median is the background's response; the position
    furthest from it is a window that sees ink (the plain maximum can be a blank spot when
    the filter punishes ink)."""
    values = np.asarray(feature_map, dtype=np.float64)
    deviation = np.abs(values - np.median(values))
    row, col = np.unravel_index(int(np.argmax(deviation)), values.shape)
    return int(row), int(col)


def activation_after(view: Dissection, conv_index: int) -> tuple[LayerView | None, bool]:
    """The activation that follows conv layer `conv_index` in its stage (None when the network
    has none there, as zhou-cnn), and whether a batch norm sits in between."""
    stage = next((item for item in view.stages if item.head.index == conv_index), None)
    if stage is None:
        return None, False
    return stage.find("activation"), stage.find("batchnorm") is not None


def output_size_numbers(size: int, kernel: int, stride: int, padding: int) -> dict:
    """The pieces of (W - K + 2P)/S + 1 for display, with the result."""
    return {"W": size, "K": kernel, "P": padding, "S": stride, "out": output_size(size, kernel, stride, padding)}


# --- saliency -------------------------------------------------------------------------------


def saliency(net: Network, x: np.ndarray, target: int | None = None) -> tuple[np.ndarray, int]:
    """d(score of `target`)/d(input) as an (H, W) map, and the target class.

    The score is the last layer's output for that class (a logit for softmax models); the
    target defaults to the predicted class."""
    outputs = net.trace(x)
    last = len(net.layers) - 1
    if target is None:
        target = int(outputs[-1][0].argmax())
    grad = net.input_gradient(x, last, (target,))
    grad = np.asarray(grad[0], dtype=np.float64)
    if grad.ndim == 3:
        grad = grad.sum(axis=-1)
    return grad.reshape(28, 28) if grad.size == 784 else grad, target


# --- colour ranges --------------------------------------------------------------------------


def _limit(values: np.ndarray) -> float:
    """The largest |value|, or 1 for an all-zero array (a colour range must not be empty)."""
    values = np.asarray(values, dtype=np.float64)
    finite = values[np.isfinite(values)]
    top = float(np.abs(finite).max()) if finite.size else 0.0
    return top if top > 0 else 1.0


def colour_limits(arrays: list[np.ndarray], mode: str) -> list[np.ndarray]:
    """Symmetric colour limits L (the scale runs -L..L, centred on zero) for channel-last arrays.

    arrays: one per layer, each (..., C) with its maps along the last axis.
    mode "map": every map its own L; "layer": one L per array; "global": one L for all.
    Returns, per array, a (C,) vector of limits."""
    if mode not in COLOUR_MODES:
        raise ValueError(f"colour mode must be one of {COLOUR_MODES}, not {mode!r}")
    if mode == "map":
        return [np.array([_limit(a[..., ch]) for ch in range(a.shape[-1])]) for a in arrays]
    if mode == "layer":
        return [np.full(a.shape[-1], _limit(a)) for a in arrays]
    everything = _limit(np.concatenate([np.ravel(a) for a in arrays])) if arrays else 1.0
    return [np.full(a.shape[-1], everything) for a in arrays]


def layer_colour_limits(view: Dissection, mode: str) -> dict[int, np.ndarray]:
    """Colour limits of every feature-map layer's channels, keyed by layer index."""
    maps = view.maps
    limits = colour_limits([layer.output for layer in maps], mode)
    return {layer.index: lim for layer, lim in zip(maps, limits)}


def filter_colour_limits(net: Network, mode: str) -> dict[int, np.ndarray]:
    """Colour limits of every conv layer's filters (one per output channel), keyed by layer index.

    Filters are (K, K, C_in, F): "map" gives each filter (all its input channels) its own range."""
    indices = conv_indices(net)
    arrays = [net.layers[i].W.value.reshape(-1, net.layers[i].filters) for i in indices]
    return dict(zip(indices, colour_limits(arrays, mode)))


__all__ = [
    "COLOUR_MODES",
    "ConvolutionStep",
    "Dissection",
    "LayerView",
    "Stage",
    "activation_after",
    "colour_limits",
    "conv_indices",
    "convolution_at",
    "dissect",
    "filter_colour_limits",
    "is_cnn",
    "layer_colour_limits",
    "output_size_numbers",
    "saliency",
    "strongest_position",
]
