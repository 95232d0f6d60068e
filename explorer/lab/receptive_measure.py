"""Receptive fields measured on real networks, next to the analytic ones of explorer.lab.receptive.

No streamlit here: the Receptive fields page calls these and draws the results.

* Network <-> LayerSpec: the calculator's layer stack is derived from a *built* Network
  (its Conv2D kernel/stride/padding and its pools), never typed in by hand.
* Gradient footprints: which input pixels the gradient of one unit touches, computed by
  the NumPy core (Network.input_gradient). Two things hide pixels a unit depends on:
  a ReLU whose input is negative passes no gradient, and a max pool passes gradient only
  to the winner of each window. We therefore measure at a *conv* layer (its output before
  the ReLU) and take the union over a few random inputs: a pixel the unit really depends
  on then gets a non-zero gradient for at least one input (a different ReLU pattern and a
  different pool winner each time), and a pixel outside the field never does.
* Effective receptive field (Luo et al., NeurIPS 2016): the mean gradient magnitude of a
  centre unit over several inputs; Gaussian-like and much smaller than the theoretical field.
* Head to head: the two receptive-field twins (one 5x5 conv vs two 3x3 convs) trained by
  the one Trainer on the same images, seed and batches.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from explorer.nn.conv import Conv2D, Pool2D
from explorer.nn.layers import Dense, Flatten, ReLU
from explorer.nn.losses import SoftmaxCrossEntropy
from explorer.nn.models import build_model
from explorer.nn.network import Network
from explorer.lab.receptive import LayerSpec, conv, dependency_mask, input_window, pool, receptive_fields

INPUT_SIZE = 28

# ---------------------------------------------------------------------------
# Network -> LayerSpec
# ---------------------------------------------------------------------------

# Layers that act on each value separately (activations, batch norm, dropout) leave the
# receptive field alone; Flatten and Dense mix every position, so the spatial stack ends there.
_SPATIAL_END = (Flatten, Dense)


def layer_specs(net: Network, upto: int | None = None) -> list[LayerSpec]:
    """The conv/pool layers of a built network, as the calculator's LayerSpecs.

    `upto` is a layer index of `net.layers` (inclusive): the stack that feeds that layer's
    output. Element-wise layers are skipped; reaching Flatten/Dense stops the stack."""
    last = len(net.layers) - 1 if upto is None else upto
    if not 0 <= last < len(net.layers):
        raise ValueError(f"layer index {upto} is outside 0..{len(net.layers) - 1}")
    specs = []
    for name, layer in zip(net.names[: last + 1], net.layers[: last + 1]):
        if isinstance(layer, _SPATIAL_END):
            if upto is not None:
                raise ValueError(f"layer {name} mixes every position: it has no spatial receptive field")
            break
        if isinstance(layer, Conv2D):
            specs.append(conv(name, layer.kernel, layer.stride, layer.padding))
        elif isinstance(layer, Pool2D):
            specs.append(pool(name, layer.size, layer.stride))
    return specs


def spatial_layers(net: Network, kinds: tuple[type, ...] = (Conv2D, Pool2D)) -> list[tuple[int, str]]:
    """(layer index, name) of the conv/pool layers before the first Flatten/Dense."""
    found = []
    for index, (name, layer) in enumerate(zip(net.names, net.layers)):
        if isinstance(layer, _SPATIAL_END):
            break
        if isinstance(layer, kinds):
            found.append((index, name))
    return found


def conv_layers(net: Network) -> list[tuple[int, str]]:
    return spatial_layers(net, (Conv2D,))


def model_stack(name: str) -> list[LayerSpec]:
    """The calculator preset for a registry model, derived from the built network."""
    return layer_specs(build_model(name))


def preset_names() -> list[str]:
    """Registry models that have convolutions (the MLPs have no spatial receptive field)."""
    from explorer.nn.models import MODELS

    return [name for name, spec in MODELS.items() if not spec.flat_input]


# ---------------------------------------------------------------------------
# Calculator input: editable rows -> LayerSpecs with readable problems
# ---------------------------------------------------------------------------

CALC_COLUMNS = ("name", "kind", "kernel", "stride", "padding", "dilation")


class Problem(str):
    """A problem with the calculator's table: its English text (for the CLI, logs and tests), and a
    catalog key with parameters for the page (`t(problem.key, **problem.params)`; `code` is the key's last part)."""

    def __new__(cls, english: str, key: str, **params):
        problem = super().__new__(cls, english)
        problem.code, problem.params = key, params
        problem.key = f"receptive.problem.{key}"
        return problem


def spec_rows(specs: list[LayerSpec]) -> list[dict]:
    """LayerSpecs as plain rows for st.data_editor."""
    return [
        {"name": s.name, "kind": s.kind, "kernel": s.kernel, "stride": s.stride, "padding": s.padding, "dilation": s.dilation}
        for s in specs
    ]


def _as_int(value) -> int | None:
    """An integer from an editor cell, or None if the cell is empty or not a whole number."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(number) or number != int(number):
        return None
    return int(number)


def parse_stack(rows: list[dict], input_size: int = INPUT_SIZE) -> tuple[list[LayerSpec], list[str]]:
    """Rows from the editor -> (valid LayerSpecs, problems in plain words).

    Rows that are entirely empty are ignored. Any problem means the stack is not computed:
    the caller shows the problems instead (never a traceback)."""
    specs, problems = [], []
    if not 1 <= input_size <= 4096:
        return [], [Problem(f"The input size must be between 1 and 4096 pixels, not {input_size}.", "input_size", size=input_size)]
    for number, row in enumerate(rows, start=1):
        values = {key: row.get(key) for key in CALC_COLUMNS}
        if all(v is None or (isinstance(v, float) and math.isnan(v)) or v == "" for v in values.values()):
            continue
        name = str(values["name"]).strip() if values["name"] not in (None, "") and values["name"] == values["name"] else f"layer {number}"
        raw_kind = values["kind"]
        kind = "conv" if raw_kind is None or raw_kind != raw_kind or raw_kind == "" else str(raw_kind).strip().lower()
        if kind not in ("conv", "pool"):
            problems.append(Problem(f"Row {number} ({name}): the kind must be 'conv' or 'pool', not '{values['kind']}'.",
                                    "kind", row=number, name=name, value=values["kind"]))  # fmt: skip
            continue
        numbers = {}
        defaults = {"stride": 1, "padding": 0, "dilation": 1}
        for key, low in (("kernel", 1), ("stride", 1), ("padding", 0), ("dilation", 1)):
            raw = values[key]
            if (raw is None or (isinstance(raw, float) and math.isnan(raw)) or raw == "") and key in defaults:
                numbers[key] = defaults[key]
                continue
            value = _as_int(raw)
            where = dict(row=number, name=name, column=key)
            if value is None:
                problems.append(Problem(f"Row {number} ({name}): {key} must be a whole number, not '{raw}'.",
                                        "whole_number", value=raw, **where))  # fmt: skip
            elif value < low:
                what = "zero or more" if low == 0 else "at least 1"
                problems.append(Problem(f"Row {number} ({name}): {key} must be {what}, not {value}.",
                                        "zero_or_more" if low == 0 else "at_least_one", value=value, **where))  # fmt: skip
            elif value > 1000:
                problems.append(Problem(f"Row {number} ({name}): {key} = {value} is far too large for a {input_size}x{input_size} input.",
                                        "too_large", value=value, size=input_size, **where))  # fmt: skip
            else:
                numbers[key] = value
        if len(numbers) == 4:
            if kind == "pool" and numbers["dilation"] != 1:
                problems.append(Problem(f"Row {number} ({name}): pooling layers have no dilation (use 1).",
                                        "pool_dilation", row=number, name=name))  # fmt: skip
                continue
            specs.append(LayerSpec(name, numbers["kernel"], numbers["stride"], numbers["padding"], numbers["dilation"], kind))
    if problems:
        return [], problems
    if not specs:
        return [], [Problem("The table is empty: add at least one conv or pool layer.", "empty")]
    size = input_size
    for layer in specs:
        span = layer.dilation * (layer.kernel - 1) + 1
        padded = size + 2 * layer.padding
        if span > padded:
            english = (
                f"Layer {layer.name}: its kernel spans {span} pixels"
                + (f" (kernel {layer.kernel} with dilation {layer.dilation})" if layer.dilation > 1 else "")
                + f", more than its {'padded ' if layer.padding else ''}input of {padded}x{padded}: it has no output. "
                "Use a smaller kernel, more padding, or fewer layers before it."
            )
            return [], [Problem(english, "no_output", name=layer.name, span=span, size=padded)]
        size = (padded - span) // layer.stride + 1
    return specs, []


# ---------------------------------------------------------------------------
# Formulas with the actual numbers (LaTeX for st.latex)
# ---------------------------------------------------------------------------


def _tex(number: int) -> str:
    return f"{number:,}".replace(",", "{,}")


def _sum_lines(terms: list[str], per_line: int = 2) -> str:
    """Terms joined by +, with a LaTeX line break every `per_line` terms (for aligned)."""
    lines = [" + ".join(terms[i : i + per_line]) for i in range(0, len(terms), per_line)]
    return r" \\ &\quad + ".join(lines)


LATEX_WORDS = {"weights": "weights", "biases": "biases", "parameters": "parameters", "macs": "multiply-adds"}


def cost_latex(cost, words: dict[str, str] | None = None) -> dict[str, str]:
    """Weights, biases and multiply-adds of a ConvCost as LaTeX (aligned), with the numbers.

    One term per layer, e.g. for two 3x3 convs 1->16->16:
    weights = 3^2*1*16 + 3^2*16*16 = 144 + 2,304 = 2,448.
    `words` names the quantities (keys of LATEX_WORDS; the page passes them in its language)."""
    words = LATEX_WORDS | (words or {})
    rows = receptive_fields(list(cost.layers), INPUT_SIZE) if cost.layers else []
    weight_terms, weight_values, bias_terms, mac_terms = [], [], [], []
    for layer, (c_in, c_out), row in zip(cost.layers, cost.channels, rows):
        k = layer.kernel
        weight_terms.append(rf"{k}^2 \cdot {_tex(c_in)} \cdot {_tex(c_out)}")
        weight_values.append(_tex(k * k * c_in * c_out))
        bias_terms.append(_tex(c_out))
        mac_terms.append(rf"{k}^2 \cdot {_tex(c_in)} \cdot {_tex(c_out)} \cdot {row.output_size}^2")
    many = len(weight_terms) > 1
    values = (r" \\ &= " + _sum_lines(weight_values, 4)) if many else ""
    return {
        "weights": rf"\begin{{aligned}}\text{{{words['weights']}}} &= " + _sum_lines(weight_terms) + values
        + rf" = {_tex(cost.weights)}\end{{aligned}}",
        "biases": rf"\text{{{words['biases']}}} = " + " + ".join(bias_terms) + f" = {_tex(cost.biases)}",
        "params": rf"\text{{{words['parameters']}}} = {_tex(cost.weights)} + {_tex(cost.biases)} = {_tex(cost.params)}",
        # one term a line: two side by side are wider than a phone
        "macs": rf"\begin{{aligned}}\text{{{words['macs']}}} &= " + _sum_lines(mac_terms, 1) + rf" \\ &= {_tex(cost.macs)}\end{{aligned}}",
    }


def closed_form_latex(specs: list[LayerSpec]) -> str:
    """r = 1 + sum_l (k_l - 1) d_l prod_{i<l} s_i with this stack's numbers."""
    terms, total, jump = [], 1, 1
    for layer in specs:
        terms.append(rf"({layer.kernel} - 1) \cdot {layer.dilation} \cdot {jump}")
        total += (layer.kernel - 1) * layer.dilation * jump
        jump *= layer.stride
    return r"r_L = 1 + " + " + ".join(terms) + f" = {total}"


def recurrence_table(specs: list[LayerSpec], input_size: int = INPUT_SIZE) -> list[dict]:
    """One row per layer for display: its settings and the facts about its output."""
    table = []
    for row in receptive_fields(specs, input_size):
        layer = row.layer
        table.append({
            "layer": layer.name, "kind": layer.kind, "k": layer.kernel, "s": layer.stride, "p": layer.padding,
            "d": layer.dilation, "output size": f"{row.output_size}x{row.output_size}",
            "receptive field r": row.receptive_field, "jump j": row.jump, "start": row.start,
        })
    return table


# ---------------------------------------------------------------------------
# Measured gradient footprints
# ---------------------------------------------------------------------------


def random_inputs(net: Network, count: int, seed: int = 0) -> np.ndarray:
    """`count` uniform-noise images in the network's input range, shape (count, 28, 28, 1)."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(count, INPUT_SIZE, INPUT_SIZE), dtype=np.uint8)
    return net.prepare(images)


def unit_gradient(net: Network, x: np.ndarray, layer_index: int, row: int, col: int, channel: int | None = None) -> np.ndarray:
    """d unit / d input (28, 28), summed over input channels, via Network.input_gradient.

    channel=None seeds every channel at (row, col) (the gradient of their sum)."""
    unit = (row, col) if channel is None else (row, col, channel)
    return net.input_gradient(x[None] if x.ndim == 3 else x[:1], layer_index, unit)[0].sum(axis=-1)


def gradient_footprint(
    net: Network, layer_index: int, row: int, col: int, inputs: np.ndarray, channel: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(mean |gradient| over the inputs, union mask of pixels with non-zero gradient).

    `inputs` is a batch (N, 28, 28, 1) already prepared for `net`."""
    total = np.zeros((INPUT_SIZE, INPUT_SIZE))
    union = np.zeros((INPUT_SIZE, INPUT_SIZE), dtype=bool)
    for x in inputs:
        grad = unit_gradient(net, x, layer_index, row, col, channel)
        total += np.abs(grad)
        union |= grad != 0
    return total / max(len(inputs), 1), union


@dataclass
class Footprint:
    """The analytic and the measured receptive field of one output unit of one design."""

    label: str
    layers: list[LayerSpec]
    row: int
    col: int
    window: tuple[int, int, int, int]  # analytic (row0, row1, col0, col1), half-open
    analytic: np.ndarray  # bool (28, 28): dependency_mask
    measured: np.ndarray  # bool (28, 28): union of non-zero gradients over the random inputs
    gradient: np.ndarray  # mean |gradient| over the random inputs
    digit_gradient: np.ndarray | None  # |gradient| for the digit shown
    intermediate: list[tuple[int, int, int, int]] = field(default_factory=list)  # windows of the units one layer below
    design: str = ""  # "single" or "stack" in the page's comparison: the page names it in its language

    @property
    def agrees(self) -> bool:
        return bool(np.array_equal(self.analytic, self.measured))

    @property
    def digit_pixels(self) -> int:
        return 0 if self.digit_gradient is None else int((self.digit_gradient != 0).sum())


def measure_footprint(
    net: Network, layer_index: int, row: int, col: int, label: str = "",
    digit: np.ndarray | None = None, samples: int = 6, seed: int = 0,
) -> Footprint:
    """Analytic window and measured gradient footprint of unit (row, col) of layer `layer_index`.

    `digit` is an optional uint8 (28, 28) image whose own gradient is also returned: on a real
    digit dead ReLUs (dark background) can hide parts of the field, which the union over
    random inputs recovers."""
    specs = layer_specs(net, layer_index)
    analytic = dependency_mask(specs, row, col, INPUT_SIZE)
    window = input_window(specs, row, col, INPUT_SIZE)
    gradient, measured = gradient_footprint(net, layer_index, row, col, random_inputs(net, samples, seed))
    digit_gradient = None
    if digit is not None:
        digit_gradient = np.abs(unit_gradient(net, net.prepare(digit[None])[0], layer_index, row, col))
    return Footprint(label or net.names[layer_index], specs, row, col, window, analytic, measured, gradient,
                     digit_gradient, intermediate_windows(specs, row, col))


def intermediate_windows(specs: list[LayerSpec], row: int, col: int) -> list[tuple[int, int, int, int]]:
    """For a stack of 2+ layers: the input windows of each unit of the layer below that the
    unit (row, col) of the last layer reads (its direct inputs)."""
    if len(specs) < 2:
        return []
    last = specs[-1]
    below = specs[:-1]
    size_below = receptive_fields(below, INPUT_SIZE)[-1].output_size
    taps = np.arange(last.kernel) * last.dilation
    rows = [r for r in row * last.stride - last.padding + taps if 0 <= r < size_below]
    cols = [c for c in col * last.stride - last.padding + taps if 0 <= c < size_below]
    return [input_window(below, int(r), int(c), INPUT_SIZE) for r in rows for c in cols]


# ---------------------------------------------------------------------------
# The comparison designs: one (2n+1)x(2n+1) conv vs n stacked 3x3 convs
# ---------------------------------------------------------------------------


def design_networks(n: int, filters: int = 16, seed: int = 0) -> tuple[Network, Network]:
    """(single, stack) networks with random weights. n=2 gives the registry twins rf-5x5 and
    rf-3x3; other n are built the same way: conv (+ ReLU) layers only."""
    if n == 2 and filters == 16:
        return build_model("rf-5x5", seed=seed), build_model("rf-3x3", seed=seed)
    if n < 1:
        raise ValueError("n must be at least 1")
    single = Network([Conv2D(filters, 2 * n + 1), ReLU()], SoftmaxCrossEntropy(), (INPUT_SIZE, INPUT_SIZE, 1))
    layers = []
    for _ in range(n):
        layers += [Conv2D(filters, 3), ReLU()]
    stack = Network(layers, SoftmaxCrossEntropy(), (INPUT_SIZE, INPUT_SIZE, 1))
    return single.build("he", seed), stack.build("he", seed)


def last_conv_index(net: Network) -> int:
    return conv_layers(net)[-1][0]


def compare_footprints(n: int, row: int, col: int, digit: np.ndarray | None = None, samples: int = 6, seed: int = 0) -> tuple[Footprint, Footprint]:
    """Footprints of unit (row, col) of the last conv of each design (before its ReLU)."""
    single, stack = design_networks(n, seed=seed)
    big = 2 * n + 1
    footprints = (
        measure_footprint(single, last_conv_index(single), row, col, f"one {big}x{big} conv", digit, samples, seed),
        measure_footprint(stack, last_conv_index(stack), row, col, f"{n} stacked 3x3 convs", digit, samples, seed),
    )
    for footprint, design in zip(footprints, ("single", "stack")):
        footprint.design = design
    return footprints


# ---------------------------------------------------------------------------
# Effective receptive field (Luo et al. 2016)
# ---------------------------------------------------------------------------


@dataclass
class EffectiveField:
    """Mean |d centre unit / d input| over several inputs, and how concentrated it is."""

    model: str
    weights: str  # "random" or "trained" (ids: the page names them in its language)
    layer: str
    unit: tuple[int, int]
    heat: np.ndarray  # (28, 28), normalised to max 1
    window: tuple[int, int, int, int]  # theoretical field, clipped to the image
    receptive_field: int  # theoretical side r
    central_window: tuple[int, int, int, int]  # the central square of half the side
    central_mass: float  # fraction of gradient mass inside central_window
    central_area: float  # fraction of the (clipped) theoretical area that central_window covers
    effective_std: float  # sqrt of the second moment of the heat around its centre, in pixels
    effective_side: int  # side of the smallest centred square holding 90% of the mass
    inputs: int

    @property
    def inside_sides(self) -> tuple[int, int]:
        """(rows, columns) of the theoretical field that lie inside the image."""
        r0, r1, c0, c1 = self.window
        return r1 - r0, c1 - c0

    @property
    def inside_share(self) -> float:
        """The share of the theoretical r x r field that lies inside the image (the rest is
        padding, where no pixel can pass a gradient)."""
        rows, cols = self.inside_sides
        return rows * cols / self.receptive_field**2

    @property
    def uniform_std(self) -> float:
        """The spread (per axis, like effective_std) of a gradient spread evenly over the part
        of the field inside the image: the variance of n evenly spaced pixels is (n² - 1) / 12."""
        rows, cols = self.inside_sides
        return math.sqrt(((rows**2 - 1) + (cols**2 - 1)) / 24)


def centred_square(window: tuple[int, int, int, int], centre: tuple[float, float], side: int) -> tuple[int, int, int, int]:
    """A side x side square centred on `centre`, clipped to `window`."""
    row0, row1, col0, col1 = window
    half = side / 2
    r0, c0 = int(math.ceil(centre[0] - half + 0.5)), int(math.ceil(centre[1] - half + 0.5))
    return max(r0, row0), min(r0 + side, row1), max(c0, col0), min(c0 + side, col1)


def effective_field(net: Network, layer_index: int, inputs: np.ndarray, model: str = "", weights: str = "random") -> EffectiveField:
    """Luo et al.: set the gradient of the centre position (all channels) of layer
    `layer_index` to 1, backpropagate to the input, average |gradient| over the inputs."""
    specs = layer_specs(net, layer_index)
    rows = receptive_fields(specs, INPUT_SIZE)
    size = rows[-1].output_size
    unit = (size // 2, size // 2)
    total = np.zeros((INPUT_SIZE, INPUT_SIZE))
    for x in inputs:
        total += np.abs(unit_gradient(net, x, layer_index, *unit))
    mass = total.sum()
    heat = total / total.max() if total.max() > 0 else total
    window = input_window(specs, *unit, INPUT_SIZE)
    r = rows[-1].receptive_field
    centre_row = rows[-1].start + unit[0] * rows[-1].jump
    centre_col = rows[-1].start + unit[1] * rows[-1].jump
    central = centred_square(window, (centre_row, centre_col), max(1, r // 2))
    inside = total[central[0]:central[1], central[2]:central[3]].sum()
    window_area = max((window[1] - window[0]) * (window[3] - window[2]), 1)
    central_area = (central[1] - central[0]) * (central[3] - central[2]) / window_area
    yy, xx = np.mgrid[0:INPUT_SIZE, 0:INPUT_SIZE]
    if mass > 0:
        cy, cx = (total * yy).sum() / mass, (total * xx).sum() / mass
        std = float(np.sqrt((total * ((yy - cy) ** 2 + (xx - cx) ** 2)).sum() / mass / 2))
    else:
        cy, cx, std = centre_row, centre_col, 0.0
    effective = r
    for side in range(1, r + 1):
        square = centred_square(window, (centre_row, centre_col), side)
        if mass > 0 and total[square[0]:square[1], square[2]:square[3]].sum() >= 0.90 * mass:
            effective = side
            break
    return EffectiveField(
        model=model or net.model_name, weights=weights, layer=net.names[layer_index], unit=unit,
        heat=heat, window=window, receptive_field=r, central_window=central,
        central_mass=float(inside / mass) if mass > 0 else 0.0, central_area=float(central_area),
        effective_std=std, effective_side=effective, inputs=len(inputs),
    )


# ---------------------------------------------------------------------------
# A digit that needs no data
# ---------------------------------------------------------------------------


def synthetic_digit(seed: int = 0) -> np.ndarray:
    """A handwritten-looking '3' (uint8, 28x28, white on black), drawn with PIL: the page
    works before MNIST is downloaded."""
    from PIL import Image, ImageDraw, ImageFilter

    scale = 4
    image = Image.new("L", (28 * scale, 28 * scale), 0)
    draw = ImageDraw.Draw(image)
    width = int(2.6 * scale)
    # Upper and lower bowls of a 3, as arcs, plus a small middle stroke.
    draw.arc([8 * scale, 4 * scale, 20 * scale, 14.5 * scale], start=200, end=95, fill=255, width=width)
    draw.arc([7 * scale, 13 * scale, 21 * scale, 24.5 * scale], start=265, end=155, fill=255, width=width)
    draw.line([12 * scale, 14 * scale, 15.5 * scale, 14 * scale], fill=255, width=width)
    image = image.filter(ImageFilter.GaussianBlur(scale * 0.6)).resize((28, 28), Image.LANCZOS)
    array = np.asarray(image, dtype=np.float64)
    return np.clip(array * (255 / max(array.max(), 1)), 0, 255).astype(np.uint8)


# ---------------------------------------------------------------------------
# Head to head: the twins trained on the same data, seed and batches
# ---------------------------------------------------------------------------

TWINS = ("rf-5x5", "rf-3x3")


@dataclass
class TwinResult:
    model: str
    parameters: int
    conv_parameters: int  # weights + biases of the conv layers only
    steps: int
    planned_steps: int
    seconds_per_epoch: float
    train_seconds: float
    val_accuracy: float | None
    test_accuracy: float
    test_images: int
    filters: np.ndarray  # first conv layer's kernels (F, k, k)
    losses: list[float]

    @property
    def complete(self) -> bool:
        return self.steps >= self.planned_steps


def train_twins(
    data, train_size: int = 3000, epochs: int = 1, seed: int = 0, batch_size: int = 64,
    test_images: int = 2000, seconds_each: float = 60.0, progress=None,
) -> list[TwinResult]:
    """Train rf-5x5 and rf-3x3 with the one Trainer: same images, same seed, same batches.

    `seconds_each` caps each run (a busy server must not hang the page); a capped run is
    reported as incomplete. Accuracy is measured on the first `test_images` test images.
    `progress(fraction, model)` names the model starting to train, and None when both are done."""
    from explorer.nn.training import TrainConfig, Trainer

    results = []
    for index, model in enumerate(TWINS):
        config = TrainConfig(model=model, train_size=train_size, epochs=epochs, seed=seed,
                             batch_size=batch_size, val_size=1000)
        trainer = Trainer(config, data)
        if progress:
            progress(index / len(TWINS), model)
        start = time.perf_counter()
        trainer.run(seconds=seconds_each)
        elapsed = time.perf_counter() - start
        epochs_done = trainer.history.epochs
        if epochs_done:
            per_epoch = float(np.mean([e.seconds for e in epochs_done]))
        else:  # cut short inside the first epoch: extrapolate from the steps done
            per_epoch = trainer._epoch_seconds * trainer.steps_per_epoch / max(trainer.step, 1)
        count = min(test_images, len(data.test_labels))
        accuracy = trainer.net.accuracy(data.test_images[:count], data.test_labels[:count])
        net = trainer.net
        first_conv = next(layer for layer in net.layers if isinstance(layer, Conv2D))
        conv_params = sum(layer.W.value.size + layer.b.value.size for layer in net.layers if isinstance(layer, Conv2D))
        results.append(TwinResult(
            model=model, parameters=net.parameter_count(), conv_parameters=int(conv_params),
            steps=trainer.step, planned_steps=trainer.total_steps, seconds_per_epoch=per_epoch,
            train_seconds=elapsed, val_accuracy=epochs_done[-1].val_accuracy if epochs_done else None,
            test_accuracy=accuracy, test_images=count,
            filters=np.moveaxis(first_conv.W.value[:, :, 0, :], -1, 0).astype(float),
            losses=[float(v) for v in trainer.history.losses],
        ))
        net.release_buffers()
    if progress:
        progress(1.0, None)
    return results

