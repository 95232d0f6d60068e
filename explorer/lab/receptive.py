"""Receptive fields and the cost of convolution stacks, computed analytically.

Conventions
-----------
* Layers are square: one `kernel`, `stride`, `padding` and `dilation` for both axes.
* Coordinates are input pixel *indices*: pixel i has its centre at i, so the
  first input pixel is at 0 (Araujo, Norris & Sim, "Computing Receptive Fields
  of Convolutional Neural Networks", Distill 2019). The `start` of a layer is
  the centre of the receptive field of its first output unit; it can be
  negative or fractional (padding, even kernels).
* Recurrences, with r_0 = 1, j_0 = 1, start_0 = 0:

      r_l     = r_{l-1} + (k_l - 1) d_l j_{l-1}
      j_l     = j_{l-1} s_l
      start_l = start_{l-1} + ((k_l - 1) d_l / 2 - p_l) j_{l-1}

  Closed form: r_L = 1 + sum_l (k_l - 1) d_l prod_{i<l} s_i.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

import numpy as np

FORMULAS = {
    "output_size": r"W_l = \left\lfloor \frac{W_{l-1} + 2p_l - d_l(k_l - 1) - 1}{s_l} \right\rfloor + 1",
    "receptive_field": r"r_l = r_{l-1} + (k_l - 1)\, d_l\, j_{l-1}, \quad r_0 = 1",
    "jump": r"j_l = j_{l-1}\, s_l, \quad j_0 = 1",
    "start": r"\mathrm{start}_l = \mathrm{start}_{l-1} + \left(\frac{(k_l - 1)\, d_l}{2} - p_l\right) j_{l-1}, \quad \mathrm{start}_0 = 0",
    "closed_form": r"r_L = 1 + \sum_{l=1}^{L} (k_l - 1)\, d_l \prod_{i=1}^{l-1} s_i",
    "params": r"k^2\, C_{in}\, C_{out} + C_{out}",
    "macs": r"k^2\, C_{in}\, C_{out}\, H_{out}\, W_{out}",
}


@dataclass(frozen=True)
class LayerSpec:
    """One convolution or pooling layer (square kernel)."""

    name: str
    kernel: int
    stride: int = 1
    padding: int = 0
    dilation: int = 1
    kind: str = "conv"  # "conv" or "pool"

    def __post_init__(self):
        if self.kind not in ("conv", "pool"):
            raise ValueError(f"kind must be 'conv' or 'pool', not {self.kind!r}")
        if self.kernel < 1 or self.stride < 1 or self.dilation < 1 or self.padding < 0:
            raise ValueError(f"invalid layer {self}")


def conv(name: str, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> LayerSpec:
    """A convolution layer."""
    return LayerSpec(name, kernel, stride, padding, dilation, kind="conv")


def pool(name: str, kernel: int, stride: int | None = None, padding: int = 0) -> LayerSpec:
    """A pooling layer; the stride defaults to the kernel size, as in most frameworks."""
    return LayerSpec(name, kernel, kernel if stride is None else stride, padding, kind="pool")


@dataclass(frozen=True)
class FieldRow:
    """Receptive-field facts about the output of one layer."""

    layer: LayerSpec
    output_size: int
    receptive_field: int  # r: side of the square of input pixels one unit sees
    jump: int  # j: input pixels between neighbouring output units
    start: float  # centre of the first unit's field, in input pixel indices
    first: int  # index of the first unit's left-most input pixel (negative = padding)


def output_size(input_size: int, layer: LayerSpec) -> int:
    """floor((W + 2P - d(K-1) - 1) / S) + 1."""
    span = layer.dilation * (layer.kernel - 1) + 1
    return (input_size + 2 * layer.padding - span) // layer.stride + 1


def receptive_fields(layers: list[LayerSpec], input_size: int = 28) -> list[FieldRow]:
    """One FieldRow per layer, describing that layer's output."""
    rows = []
    size, field, jump, start, first = input_size, 1, 1, 0.0, 0
    for layer in layers:
        size = output_size(size, layer)
        if size < 1:
            raise ValueError(f"layer {layer.name!r} leaves no output for a {input_size}x{input_size} input")
        start += ((layer.kernel - 1) * layer.dilation / 2 - layer.padding) * jump
        first -= layer.padding * jump
        field += (layer.kernel - 1) * layer.dilation * jump
        jump *= layer.stride
        rows.append(FieldRow(layer, size, field, jump, start, first))
    return rows


def receptive_field_closed_form(layers: list[LayerSpec]) -> int:
    """r = 1 + sum_l (k_l - 1) d_l prod_{i<l} s_i."""
    return 1 + sum(
        (layer.kernel - 1) * layer.dilation * prod(earlier.stride for earlier in layers[:index])
        for index, layer in enumerate(layers)
    )


def dependency_1d(layers: list[LayerSpec], out_index: int, input_size: int = 28) -> np.ndarray:
    """Boolean mask over one input axis: the pixels output unit `out_index` depends on.

    Walks back through the layers; positions that fall in a layer's padding are
    zeros, which depend on nothing, so they are dropped at every layer. Exact,
    including the holes that dilation leaves.
    """
    sizes = [input_size] + [row.output_size for row in receptive_fields(layers, input_size)]
    if not 0 <= out_index < sizes[-1]:
        raise ValueError(f"output index {out_index} is outside 0..{sizes[-1] - 1}")
    needed = np.array([out_index])
    for layer, size_before in zip(reversed(layers), reversed(sizes[:-1])):
        taps = np.arange(layer.kernel) * layer.dilation
        positions = (needed[:, None] * layer.stride - layer.padding + taps).ravel()
        needed = np.unique(positions[(positions >= 0) & (positions < size_before)])
    mask = np.zeros(input_size, dtype=bool)
    mask[needed] = True
    return mask


def dependency_mask(layers: list[LayerSpec], out_row: int, out_col: int, input_size: int = 28) -> np.ndarray:
    """(input_size, input_size) boolean mask of the input pixels one output unit sees."""
    return np.outer(dependency_1d(layers, out_row, input_size), dependency_1d(layers, out_col, input_size))


def input_window(layers: list[LayerSpec], out_row: int, out_col: int, input_size: int = 28) -> tuple[int, int, int, int]:
    """(row0, row1, col0, col1), half-open like slicing: image[row0:row1, col0:col1].

    The input pixels output unit (out_row, out_col) of the last layer depends on,
    clipped to the image (a window partly in the padding is cut off). Empty
    (row0 == row1) only if the unit sees nothing but padding.
    """
    row0, row1 = _span(dependency_1d(layers, out_row, input_size))
    col0, col1 = _span(dependency_1d(layers, out_col, input_size))
    return row0, row1, col0, col1


def _span(mask: np.ndarray) -> tuple[int, int]:
    indices = np.flatnonzero(mask)
    if indices.size == 0:
        return 0, 0
    return int(indices[0]), int(indices[-1]) + 1


# ---------------------------------------------------------------------------
# Cost
# ---------------------------------------------------------------------------


def conv_params(k: int, c_in: int, c_out: int) -> tuple[int, int]:
    """(weights, biases) of a k x k convolution from c_in to c_out channels."""
    return k * k * c_in * c_out, c_out


def conv_macs(k: int, c_in: int, c_out: int, out_h: int, out_w: int) -> int:
    """Multiply-adds: every output value is a k x k x c_in dot product."""
    return k * k * c_in * c_out * out_h * out_w


def conv_params_latex(k: int, c_in: int, c_out: int) -> str:
    """The parameter count as LaTeX, symbolic and with these numbers."""
    weights, biases = conv_params(k, c_in, c_out)
    return rf"{FORMULAS['params']} = {_params_terms(k, c_in, c_out)} = {_tex(weights + biases)}"


def conv_macs_latex(k: int, c_in: int, c_out: int, out_h: int, out_w: int) -> str:
    """The multiply-add count as LaTeX, symbolic and with these numbers."""
    macs = conv_macs(k, c_in, c_out, out_h, out_w)
    return rf"{FORMULAS['macs']} = {_macs_terms(k, c_in, c_out, out_h, out_w)} = {_tex(macs)}"


def _params_terms(k: int, c_in: int, c_out: int) -> str:
    return rf"{k}^2 \cdot {_tex(c_in)} \cdot {_tex(c_out)} + {_tex(c_out)}"


def _macs_terms(k: int, c_in: int, c_out: int, out_h: int, out_w: int) -> str:
    return rf"{k}^2 \cdot {_tex(c_in)} \cdot {_tex(c_out)} \cdot {out_h} \cdot {out_w}"


def _tex(number: int) -> str:
    return f"{number:,}".replace(",", "{,}")


@dataclass(frozen=True)
class ConvCost:
    """Cost and reach of a stack of convolutions."""

    label: str
    layers: tuple[LayerSpec, ...]
    channels: tuple[tuple[int, int], ...]  # (c_in, c_out) per layer
    weights: int
    biases: int
    macs: int
    nonlinearities: int  # one activation after each conv
    receptive_field: int
    output_size: int
    params_latex: str
    macs_latex: str
    design: str = ""  # "single" or "stack": the page names the design in its own language

    @property
    def params(self) -> int:
        return self.weights + self.biases


@dataclass(frozen=True)
class StackComparison:
    """One (2n+1)x(2n+1) convolution against n stacked 3x3 convolutions."""

    n: int
    c_in: int
    c_out: int
    input_size: int
    padding: str
    single: ConvCost
    stack: ConvCost

    @property
    def weight_saving(self) -> float:
        """Fraction of the single conv's weights the stack saves (negative: costs more)."""
        return 1 - self.stack.weights / self.single.weights

    @property
    def param_saving(self) -> float:
        return 1 - self.stack.params / self.single.params

    @property
    def mac_saving(self) -> float:
        return 1 - self.stack.macs / self.single.macs


def compare_single_vs_stack(
    n: int, c_in: int, c_out: int, input_size: int = 28, padding: str = "valid"
) -> StackComparison:
    """Compare one (2n+1)x(2n+1) conv c_in->c_out with n stacked 3x3 convs
    (the first c_in->c_out, the rest c_out->c_out). Both see 2n+1 pixels.

    padding="valid" adds none (the maps shrink); "same" keeps them input_size wide.
    """
    if n < 1 or c_in < 1 or c_out < 1:
        raise ValueError("n, c_in and c_out must be at least 1")
    if padding not in ("valid", "same"):
        raise ValueError(f"padding must be 'valid' or 'same', not {padding!r}")
    same = padding == "same"
    big = 2 * n + 1
    single = [conv(f"conv {big}x{big}", big, padding=n if same else 0)]
    stack = [conv(f"conv{i + 1} 3x3", 3, padding=1 if same else 0) for i in range(n)]
    stack_channels = [(c_in, c_out)] + [(c_out, c_out)] * (n - 1)
    return StackComparison(
        n=n,
        c_in=c_in,
        c_out=c_out,
        input_size=input_size,
        padding=padding,
        single=_stack_cost(f"one {big}x{big} conv", single, [(c_in, c_out)], input_size, "single"),
        stack=_stack_cost(f"{n} stacked 3x3 conv{'s' if n > 1 else ''}", stack, stack_channels, input_size, "stack"),
    )


def _stack_cost(label: str, layers: list[LayerSpec], channels: list[tuple[int, int]], input_size: int, design: str = "") -> ConvCost:
    rows = receptive_fields(layers, input_size)
    weights = biases = macs = 0
    params_terms, macs_terms = [], []
    for layer, row, (c_in, c_out) in zip(layers, rows, channels):
        layer_weights, layer_biases = conv_params(layer.kernel, c_in, c_out)
        weights += layer_weights
        biases += layer_biases
        macs += conv_macs(layer.kernel, c_in, c_out, row.output_size, row.output_size)
        params_terms.append(f"({_params_terms(layer.kernel, c_in, c_out)})")
        macs_terms.append(_macs_terms(layer.kernel, c_in, c_out, row.output_size, row.output_size))
    return ConvCost(
        label=label,
        layers=tuple(layers),
        channels=tuple(channels),
        weights=weights,
        biases=biases,
        macs=macs,
        nonlinearities=len(layers),
        receptive_field=rows[-1].receptive_field,
        output_size=rows[-1].output_size,
        params_latex=" + ".join(params_terms) + f" = {_tex(weights + biases)}",
        macs_latex=" + ".join(macs_terms) + f" = {_tex(macs)}",
        design=design,
    )


# ---------------------------------------------------------------------------
# Presets (all for 28x28 MNIST input)
# ---------------------------------------------------------------------------


def presets() -> dict[str, list[LayerSpec]]:
    """Layer stacks of the networks in the app, by name."""
    return {
        "zhou-cnn": [conv("conv1", 3), pool("pool1", 2)],
        "lenet": [conv("conv1", 5, padding=2), pool("pool1", 2), conv("conv2", 5), pool("pool2", 2)],
        "deepconvnet": [
            conv("conv1", 3, padding=1),
            conv("conv2", 3, padding=1),
            pool("pool1", 2),
            conv("conv3", 3, padding=1),
            conv("conv4", 3, padding=2),
            pool("pool2", 2),
            conv("conv5", 3, padding=1),
            conv("conv6", 3, padding=1),
            pool("pool3", 2),
        ],
        "tf-cnn": [
            conv("conv1", 3, padding=1),
            pool("pool1", 3, stride=2),
            conv("conv2", 3, padding=1),
            pool("pool2", 3, stride=2),
        ],
        "rf-5x5": [conv("conv1", 5)],
        "rf-3x3": [conv("conv1", 3), conv("conv2", 3)],
    }
