"""Filters & feature maps: what each layer of a real CNN does to one digit.

A thin page: it reads the widgets, asks explorer.lab.dissect for the numbers and
explorer.figures.filters for the pictures, and draws them.
"""
from __future__ import annotations

import hashlib

import numpy as np
import streamlit as st

from explorer.nn.checkpoints import ModelFileError
from explorer.lab.dissect import (
    COLOUR_MODE_LABELS,
    COLOUR_MODES,
    activation_after,
    conv_indices,
    convolution_at,
    dissect,
    filter_colour_limits,
    is_cnn,
    layer_colour_limits,
    saliency,
    strongest_position,
)
from explorer.figures.common import digit_figure, probability_bars
from explorer.figures.filters import (
    convolution_figure,
    tile_groups,
    feature_maps_figure,
    filters_figure,
    panels_figure,
    position_figure,
    saliency_figure,
    units_figure,
)
from explorer.nn.models import MODELS, build_model
from explorer.nn.network import Network
from explorer.data.preprocess import EMPTY_DRAWING, ImageError, PreprocessOptions, open_upload, preprocess_digit
from explorer.ui import url_state
from explorer.ui.charts import chart
from explorer.ui.digit_input import DIGIT_PARAM, LINK_DIGIT_TEXT, canvas, digit_from_link, put_digit_in_link
from explorer.ui.presenter import presenting
from explorer.ui.resources import (
    CNN_MODELS,
    mnist_or_none,
    pretrained_models,
    session_pretrained,
    session_trained_model,
    show_missing_data,
)

SOURCES = {"test": "Test-set digit", "draw": "Draw", "upload": "Upload"}  # URL id -> label
UPLOAD_TYPES = ["png", "jpg", "jpeg", "gif", "bmp", "webp"]
SESSION_CHOICE = "session"
TRAINED, RANDOM = "trained", "random"
WEIGHTS = {TRAINED: "Trained", RANDOM: "Random (same architecture)"}
PICK_MODES = {"index": "by index", "class": "by class", "random": "random"}
PENS = {"white": "White on black (like MNIST)", "black": "Black on white (like paper)"}


# --- model ---------------------------------------------------------------------------------


def session_cnn() -> Network | None:
    """The CNN trained on the Train page in this session, if there is one."""
    entry = session_trained_model()
    net = entry[0] if isinstance(entry, tuple) and entry else entry
    if hasattr(net, "trace") and hasattr(net, "layers") and is_cnn(net) and tuple(net.input_shape) == (28, 28, 1):
        return net
    return None


def model_label(choice: str) -> str:
    """Short enough for the sidebar's selectbox; the title is written below it."""
    return "Your model (Train page)" if choice == SESSION_CHOICE else choice


def random_twin(name: str, activation: str | None, seed: int) -> Network:
    """A registry CNN with fresh random weights (kept per session: networks hold state)."""
    cache = st.session_state.setdefault("_filters_random_nets", {})
    key = (name, activation, seed)
    if key not in cache:
        cache.clear()  # one at a time is enough
        cache[key] = build_model(name, seed=seed, activation=activation)
    return cache[key]


def choose_model() -> tuple[Network, str, bool]:
    """Sidebar: model, weights and colour range. Returns (net, description, trained?).

    Only models with trained weights are offered (each also runs with random weights); when
    none has been trained yet, every CNN is offered with random weights."""
    shipped = pretrained_models(CNN_MODELS)
    own = session_cnn()
    choices = ([SESSION_CHOICE] if own is not None else []) + (list(shipped) or list(CNN_MODELS))
    default = "deepconvnet" if "deepconvnet" in choices else choices[0]
    url_state.bind_choice("filters_model", default, choices)
    url_state.bind_choice("filters_weights", TRAINED, WEIGHTS)
    url_state.bind_number("filters_seed", 0, 0, 9999)
    url_state.bind_choice("filters_colour", "layer", COLOUR_MODES)
    with st.sidebar:
        st.header("Model")
        choice = st.selectbox("CNN to look inside", choices, format_func=model_label, key="filters_model")
        st.caption("A CNN you trained on the Train page in this session." if choice == SESSION_CHOICE
                   else MODELS[choice].title)  # fmt: skip
        has_trained = choice == SESSION_CHOICE or choice in shipped
        weights = st.radio(
            "Weights", list(WEIGHTS), format_func=WEIGHTS.get, key="filters_weights", disabled=not has_trained,
            help="Random weights have the same architecture, but nothing learned: compare the filters and maps.",
        )  # fmt: skip
        if not has_trained:
            weights = RANDOM
        seed = 0
        if weights == RANDOM:
            seed = int(st.number_input("Random seed", 0, 9999, key="filters_seed"))
        st.header("Colour range")
        st.radio(
            "Colour range of the maps", COLOUR_MODES, format_func=COLOUR_MODE_LABELS.get, key="filters_colour",
            help="Per map: each map uses its full colour range (shows the pattern of weak maps). "
                 "Per layer: maps of one layer share a range (compare channels). "
                 "Global: one range for every layer (compare layers).",
        )  # fmt: skip
    if not shipped:
        st.info(
            "No trained CNN weights are on this server yet: they appear as training finishes. "
            "Meanwhile you can look at random weights, or train a CNN on the Train page.",
            icon=":material/hourglass_top:",
        )

    if choice == SESSION_CHOICE:
        net, name = own, "your model"
    elif choice in shipped:
        try:
            net, _card = session_pretrained(choice)
            name = choice
        except ModelFileError as error:
            st.warning(f"The trained weights of {choice} cannot be used: {error} Showing random weights instead.")
            net, name, weights = None, choice, RANDOM
    else:
        net, name = None, choice
    if weights == RANDOM:
        base = net.model_name if net is not None else choice
        activation = net.activation if net is not None else None
        try:
            return random_twin(base, activation or None, seed), f"{name}, random weights (seed {seed})", False
        except ValueError as error:  # e.g. a session model that is not in the registry
            if net is None:
                raise
            st.warning(f"Random weights are not available for this model ({error}); showing its trained weights.")
    return net, f"{name}, trained weights", True


# --- the digit -----------------------------------------------------------------------------


def preprocessing_options(key: str) -> PreprocessOptions:
    if not presenting():
        st.caption("MNIST-style preprocessing. Switch a step off to see why it matters: "
                   "an off-centre or tiny digit is easily misread.")  # fmt: skip
    url_state.bind_choice(f"{key}_invert", "auto", ("auto", "always", "never"))
    for step in ("crop", "fit", "centre"):
        url_state.bind(f"{key}_{step}", True)
    invert = st.selectbox("Invert", ("auto", "always", "never"), key=f"{key}_invert",
                          help="MNIST digits are white ink on black; 'auto' inverts a light background.")  # fmt: skip
    # One toggle a line: side by side, their labels are cut short beside the canvas at 1280 px.
    crop = st.toggle("Crop", key=f"{key}_crop", help="Crop to the ink's bounding box.")
    fit = st.toggle("Fit 20×20", key=f"{key}_fit", help="Scale to fit a 20×20 box, keeping the aspect ratio.")
    centre = st.toggle("Centre", key=f"{key}_centre", help="Put the centre of mass at (14, 14) of the 28×28 frame.")
    return PreprocessOptions(invert=invert, crop=crop, fit_20=fit, center_of_mass=centre)


def show_steps(result) -> None:
    """The step pictures (square, made by explorer.data.preprocess), three per row on a phone too."""
    steps = result.steps
    for start in range(0, len(steps), 3):
        for col, (title, image) in zip(st.columns(3), steps[start : start + 3]):
            col.image(np.asarray(image), caption=title, width="stretch", clamp=True)
    st.caption(" ".join(result.notes))


def run_pipeline(image, options: PreprocessOptions):
    """The preprocessed digit, or None after a clear message (never a traceback)."""
    try:
        result = preprocess_digit(image, options)
    except ImageError as error:
        st.warning(str(error), icon=":material/image_not_supported:")
        return None
    except Exception as error:  # noqa: BLE001 - anything unexpected from an odd image
        st.warning(f"This image could not be turned into a digit ({type(error).__name__}). Try another one.")
        return None
    with st.expander("Preprocessing, step by step", expanded=True):
        show_steps(result)
    return result.digit


def test_set_digit() -> tuple[np.ndarray | None, int | None, str]:
    data = mnist_or_none()
    if data is None:
        show_missing_data("Test-set digits")
        st.info("You can still draw a digit or upload a picture of one.")
        return None, None, ""
    count = len(data.test_images)
    url_state.bind_choice("filters_pick", "index", PICK_MODES)
    how = st.radio("Pick a test digit", list(PICK_MODES), format_func=PICK_MODES.get, horizontal=True, key="filters_pick")
    if how == "index":
        index = url_state.bind_number("filters_index", 0, 0, count - 1)
        index = int(st.number_input(f"Index in the {count:,} test digits", 0, count - 1, key="filters_index"))
    elif how == "class":
        url_state.bind_choice("filters_class", 7, range(10))
        c1, c2 = st.columns(2)
        digit_class = c1.selectbox("Digit", list(range(10)), key="filters_class")
        members = np.flatnonzero(data.test_labels == digit_class)
        url_state.bind_number("filters_nth", 0, 0, len(members) - 1)
        nth = int(c2.number_input(f"Which {digit_class} (of {len(members)})", 0, len(members) - 1, key="filters_nth"))
        index = int(members[nth])
    else:
        if st.button("New random digit", icon=":material/casino:") or "filters_random_index" not in st.session_state:
            st.session_state["filters_random_index"] = int(np.random.default_rng().integers(count))
        index = st.session_state["filters_random_index"]
    label = int(data.test_labels[index])
    st.caption(f"Test digit #{index}, labelled **{label}**. Test digits are already MNIST-style, so no preprocessing is needed.")
    return np.asarray(data.test_images[index]), label, f"test digit #{index}"


def drawn_digit() -> tuple[np.ndarray | None, str]:
    """(digit, description): a new drawing, else the digit a link carries, else (None, "")."""
    url_state.bind_choice("filters_pen", "white", PENS)
    left, right = st.columns([1, 1.3])  # the left one holds the 280 px canvas even beside the sidebar at 1280 px
    with left:
        if presenting():  # on the projector: the canvas on the first screen, the pen as the link set it
            ink = st.session_state["filters_pen"]
        else:
            ink = st.radio("Pen", list(PENS), format_func=PENS.get, key="filters_pen")
        image = canvas("filters", white_ink=ink == "white")
    with right:
        options = preprocessing_options("draw")
    if image is not None:
        digit = run_pipeline(image, options)
        put_digit_in_link("filters", digit)  # a reload or a shared link brings this 28x28 digit back
        return digit, "your drawing"
    linked = digit_from_link("filters")
    if linked is not None:
        st.info(f"Showing **{LINK_DIGIT_TEXT}** (its 28×28 input, already preprocessed). "
                "Draw on the canvas to replace it.", icon=":material/link:")  # fmt: skip
        return linked, LINK_DIGIT_TEXT
    put_digit_in_link("filters", None)
    st.info(EMPTY_DRAWING, icon=":material/draw:")
    return None, ""


def uploaded_digit() -> np.ndarray | None:
    upload = st.file_uploader(
        "A picture of one digit: PNG, JPEG, GIF, BMP or WebP (a photo of a digit on paper works)",
        type=UPLOAD_TYPES, key="filters_upload",
    )  # fmt: skip
    st.caption("Your picture is only read in memory to make the 28×28 input; it is never stored.")
    options = preprocessing_options("upload")
    if upload is None:
        st.info("Upload an image to see how it is turned into an MNIST-style digit.", icon=":material/upload:")
        return None
    try:
        image = open_upload(upload.getvalue())
    except ImageError as error:
        st.warning(f"**{upload.name}**: {error}", icon=":material/broken_image:")
        return None
    except Exception as error:  # noqa: BLE001 - never a traceback for a user's file
        st.warning(f"**{upload.name}** could not be read as an image ({type(error).__name__}).", icon=":material/broken_image:")
        return None
    return run_pipeline(image, options)


# --- layer by layer ------------------------------------------------------------------------


def map_caption(layer, stage) -> str:
    if layer.kind == "conv":
        follows = [item.kind for item in stage.layers[1:]]
        return "before ReLU" if "activation" in follows or "batchnorm" in follows else "conv output"
    return {"batchnorm": "after batch norm", "activation": f"after {layer.type}", "pool": "after pooling"}.get(layer.kind, layer.type)


def layer_line(layer) -> str:
    config = ", ".join(f"{k} {v}" for k, v in layer.config.items())
    params = f"{layer.params:,} parameters" if layer.params else "no parameters"
    return f"**{layer.name}** · {layer.type}{f' ({config})' if config else ''} · output **{layer.shape_text}** · {params} — {layer.summary}"


def tile_px() -> int:
    """About the width a tile gets: the page is wider on a projector (no sidebar) than on a laptop."""
    return 120 if presenting() else 75


def tile_grid(draw, count: int, title: str, key: str) -> None:
    """Groups of tiles side by side (stacked on a phone, so tiles stay large): draw(channels, last) -> figure."""
    st.markdown(f"**{title}**")
    groups = tile_groups(count)
    for number, (column, channels) in enumerate(zip(st.columns(len(groups)), groups)):
        with column:
            chart(draw(channels, number == len(groups) - 1), key=f"{key}_{number}")


def conv_stage(net: Network, stage, map_limits, filter_limits, key: str) -> None:
    conv = stage.head
    layer = net.layers[conv.index]
    k, c_in, filters = layer.kernel, layer.W.value.shape[2], layer.filters
    c1, c2 = st.columns(2)
    in_ch = 0
    if c_in > 1:
        in_ch = int(c1.number_input(f"Filters for input channel (0–{c_in - 1})", 0, c_in - 1, 0, key=f"{key}_inch",
                                    help="Each filter has one k×k slice per input channel; pick which slice to show."))  # fmt: skip
    channel = int(c2.number_input(f"Channel up close (0–{filters - 1})", 0, filters - 1, 0, key=f"{key}_channel"))
    tile_grid(lambda channels, last: filters_figure(layer.W.value, in_ch, filter_limits[conv.index], highlight=channel,
                                                    channels=channels, colorbar=last, tile_px=tile_px()),
              filters, f"{filters} filters of {k}×{k}" + (f", the slice for input channel {in_ch}" if c_in > 1 else ""),
              f"{key}_filters")  # fmt: skip
    st.caption(f"Each tile is one filter's {k}×{k} weights{' for the chosen input channel' if c_in > 1 else ''}: "
               "red weights reward ink, blue ones punish it, white ones ignore it. "
               "The filter slides over the input; where the input matches its pattern, the feature map lights up.")  # fmt: skip
    map_layers = [item for item in stage.layers if item.is_map]
    tabs = st.tabs([f"{item.name}: {map_caption(item, stage)} ({item.shape_text})" for item in map_layers])
    for tab, item in zip(tabs, map_layers):
        with tab:
            tile_grid(lambda channels, last, item=item: feature_maps_figure(item.output, map_limits[item.index], "", channel,
                                                                           channels, colorbar=last, tile_px=tile_px()),
                      item.output.shape[-1], f"{item.name} — {map_caption(item, stage)}", f"{key}_{item.name}_maps")  # fmt: skip
            st.caption(map_story(item, stage))
    panels = [(f"filter {channel}" + (f"<br>(input channel {in_ch})" if c_in > 1 else "<br>weights"),
               layer.W.value[:, :, in_ch, channel], float(np.abs(layer.W.value).max()))]  # fmt: skip
    panels += [(f"{item.name}<br>{map_caption(item, stage)}", item.output[:, :, channel], float(map_limits[item.index][channel]))
               for item in map_layers]  # fmt: skip
    st.markdown(f"**Channel {channel} up close**")
    for number, (column, panel) in enumerate(zip(st.columns(len(panels)), panels)):  # stacked on a phone
        with column:
            chart(panels_figure([panel], height=250), key=f"{key}_closeup_{number}", toolbar=False)
    st.caption("The same channel through the stage, left to right; red positive, blue negative, white zero.")


def map_story(item, stage) -> str:
    if item.kind == "conv":
        return ("One map per filter: how strongly each filter's pattern appears at each place. "
                "Red is a match, blue the opposite of the pattern.")  # fmt: skip
    if item.kind == "activation":
        return "The activation keeps the matches (red) and clears the rest: negative values become zero (white)."
    if item.kind == "pool":
        return f"Pooling keeps the strongest value in each {item.config.get('size')}×{item.config.get('size')} window: half the size, same pattern."
    if item.kind == "batchnorm":
        return "Batch norm shifts and scales each channel with statistics learned in training."
    return ""


def dense_stage(stage, view, is_last: bool, true_label: int | None, key: str) -> None:
    if is_last:
        chart(probability_bars(view.probabilities, true_label, title="Probabilities for the ten digits"), key=f"{key}_probs")
        st.caption(f"The last layer gives one score per digit; softmax turns the scores into probabilities. "
                   f"The highlighted bar is the prediction: **{view.predicted}**.")  # fmt: skip
        return
    shown = stage.layers[-1]
    chart(units_figure(shown.output, f"{shown.name}: {len(shown.output)} units"), key=f"{key}_units")
    st.caption("Each bar is one unit: a weighted sum of every value of the layer before, after the activation. "
               "Dropout does nothing when the network is used (only in training).")  # fmt: skip


def layer_by_layer(net: Network, view, colour_mode: str, true_label: int | None, model_key: str) -> None:
    map_limits = layer_colour_limits(view, colour_mode)
    filter_limits = filter_colour_limits(net, colour_mode)
    for number, stage in enumerate(view.stages):
        key = f"{model_key}_{stage.head.name}"
        with st.container(border=True):
            st.subheader(f"Stage {number + 1} · {stage.title}")
            st.markdown("  \n".join(layer_line(layer) for layer in stage.layers))
            if stage.kind == "conv":
                conv_stage(net, stage, map_limits, filter_limits, key)
            elif stage.kind == "dense":
                dense_stage(stage, view, number == len(view.stages) - 1, true_label, key)
            elif stage.kind == "flatten":
                before = view.layers[stage.head.index - 1].shape_text if stage.head.index else "the input"
                st.caption(f"The {before} feature maps are laid end to end: {stage.head.shape[0]:,} numbers for the dense layers.")
            elif stage.head.is_map:
                head = stage.head
                tile_grid(lambda channels, last: feature_maps_figure(head.output, map_limits[head.index], "", None, channels, last,
                                                                        tile_px()),
                          head.output.shape[-1], head.name, f"{key}_maps")  # fmt: skip


# --- one convolution -----------------------------------------------------------------------


def fmt(value: float) -> str:
    return f"{value:.4f}"


def signed_terms(values: np.ndarray, per_line: int) -> str:
    """'0.1200 - 0.0500 + ...' broken into lines of `per_line` terms for an aligned block."""
    lines, parts = [], []
    for index, value in enumerate(np.ravel(values)):
        sign = "-" if value < 0 else "+"
        text = fmt(abs(value))
        parts.append((f"-{text}" if sign == "-" else text) if index == 0 else f"{sign} {text}")
        if len(parts) == per_line:
            lines.append(" ".join(parts))
            parts = []
    if parts:
        lines.append(" ".join(parts))
    return r" \\ &".join(lines)


def apply_click(key: str, out_h: int, out_w: int) -> None:
    """A click on the output map (plotly selection) moves the row and column sliders there."""
    state = st.session_state.get(key)
    try:
        points = state["selection"]["points"] if state else []
    except (KeyError, TypeError):
        points = []
    for point in points:
        x, y = point.get("x"), point.get("y")
        if point.get("curve_number") != 2 or x is None or y is None:
            continue
        where = (int(round(y)), int(round(x)))
        if st.session_state.get(f"{key}_applied") != where and 0 <= where[0] < out_h and 0 <= where[1] < out_w:
            st.session_state["filters_row"], st.session_state["filters_col"] = where
            st.session_state[f"{key}_applied"] = where
        break


def start_on_ink(start: tuple[int, int], token: tuple) -> None:
    """Move the window to `start` (where the digit has ink) when the digit, model or layer changed.

    On the first run the bound default does it (or the link's position wins); after that the
    user's position is kept until one of those changes."""
    if st.session_state.get("_filters_position_for", token) != token:
        st.session_state["filters_row"], st.session_state["filters_col"] = start
    st.session_state["_filters_position_for"] = token


def activation_lines(view, index: int, step, conv_name: str) -> None:
    """What the network does next with the value: only the activation this network really has."""
    activation, batchnorm = activation_after(view, index)
    if batchnorm:
        st.caption("In this network a batch norm sits between the convolution and the activation, "
                   "so the activation sees the normalised value, not this one.")  # fmt: skip
    elif activation is None:
        st.caption(f"This network has no activation after {conv_name}: the value goes on as it is "
                   "(to the pooling layer, if there is one).")  # fmt: skip
    elif activation.type == "ReLU":
        st.latex(r"\mathrm{ReLU}(" + fmt(step.output) + r") = \max(0,\ " + fmt(step.output) + r") = " + fmt(step.relu))
    else:
        st.caption(f"Next, {activation.name} ({activation.type}) turns this value into the one its map shows.")


def one_convolution(net: Network, view, x: np.ndarray, map_limits: dict, digit_key: tuple) -> None:
    indices = conv_indices(net)
    names = [net.names[i] for i in indices]
    url_state.bind_choice("filters_conv", names[0], names)
    c1, c2 = st.columns([1, 2])
    conv_name = c1.selectbox("Conv layer", names, format_func=lambda n: f"{n} ({view.layers[net.names.index(n)].shape_text})",
                             key="filters_conv")  # fmt: skip
    index = net.names.index(conv_name)
    layer = net.layers[index]
    out_h, out_w, filters = view.layers[index].shape
    c_in = layer.W.value.shape[2]
    channel = url_state.bind_number("filters_channel", 0, 0, filters - 1)
    start = strongest_position(view.layers[index].output[:, :, channel])
    url_state.bind_number("filters_row", start[0], 0, out_h - 1)
    url_state.bind_number("filters_col", start[1], 0, out_w - 1)
    start_on_ink(start, (digit_key, conv_name))
    apply_click("filters_position_chart", out_h, out_w)
    with c2:
        s1, s2, s3 = st.columns(3)
        channel = s1.slider("Output channel", 0, filters - 1, key="filters_channel") if filters > 1 else 0
        row = s2.slider("Row", 0, out_h - 1, key="filters_row")
        col = s3.slider("Column", 0, out_w - 1, key="filters_col")
        in_ch = int(st.slider("Input channel to show", 0, c_in - 1, 0, key=f"filters_{conv_name}_inch")) if c_in > 1 else 0
    step = convolution_at(net, index, x, row, col, channel)
    feature = view.layers[index].output[:, :, channel]
    chart(position_figure(step, in_ch, feature, float(map_limits[index][channel])), key="filters_position_chart",
          on_select="rerun", selection_mode="points")  # fmt: skip
    st.caption(f"Left: the input of {net.names[index]}; the orange square is the {step.kernel_size}×{step.kernel_size} window. "
               "Right: the feature map it produces; the orange cell is the value computed below. Click a cell to move there.")  # fmt: skip
    chart(convolution_figure(step, in_ch), key="filters_numbers")
    st.caption("Multiply each input value by the weight in the same place, then add everything up. "
               + ("Cells marked (pad) lie outside the image: padding adds zeros there." if step.padded.any() else ""))  # fmt: skip

    k = step.kernel_size
    label = f"channel {in_ch}" if c_in > 1 else "the window"
    st.markdown(f"**Sum of the products for {label}** (one line per kernel row):")
    st.latex(r"\begin{aligned}&" + signed_terms(step.products[:, :, in_ch], k) + r" \\ &= " + fmt(step.channel_sums[in_ch]) + r"\end{aligned}")
    if c_in > 1:
        st.markdown(f"**All {c_in} input channels**, each summed the same way, plus the bias:")
        if c_in <= 8:
            terms = signed_terms(step.channel_sums, 4)
            st.latex(r"\begin{aligned}&" + terms + r" \\ &+ (" + fmt(step.bias) + r") = " + fmt(step.output) + r"\end{aligned}")
        else:
            st.latex(r"\sum_{c=0}^{" + str(c_in - 1) + r"} s_c + b = " + fmt(step.total) + " + (" + fmt(step.bias) + ") = " + fmt(step.output))
            st.dataframe({"input channel": list(range(c_in)), "sum of products": [round(float(v), 4) for v in step.channel_sums]},
                         height=220, hide_index=True)  # fmt: skip
    else:
        st.latex(fmt(step.total) + r" + \underbrace{(" + fmt(step.bias) + r")}_{\text{bias}} = " + fmt(step.output))
    activation_lines(view, index, step, conv_name)
    network_value = float(feature[row, col])
    if abs(network_value - step.output) <= 1e-4 * max(1.0, abs(step.output)):
        st.success(f"Same as the network's own {net.names[index]} map at row {row}, column {col}, channel {channel}: "
                   f"{network_value:.4f} (computed there with im2col and one matrix product).", icon=":material/check_circle:")  # fmt: skip
    else:
        st.error(f"Mismatch: the network's map has {network_value:.4f} here.")

    h = step.input_size[1]
    st.markdown(f"**Output size**: input W = {h}, kernel K = {k}, padding P = {step.padding}, stride S = {step.stride}.")
    st.latex(r"\text{output} = \left\lfloor \frac{W - K + 2P}{S} \right\rfloor + 1 = \left\lfloor \frac{"
             + f"{h} - {k} + 2 \\cdot {step.padding}" + r"}{" + str(step.stride) + r"} \right\rfloor + 1 = " + str(step.output_size[1]))  # fmt: skip
    st.caption("Padding adds a border of zeros so the window can sit on the edge pixels; "
               "the stride is how far the window jumps between outputs (2 halves the size).")  # fmt: skip


# --- the page ------------------------------------------------------------------------------

if presenting():  # on a projector: the title and the digit's source on one line, the canvas on the first screen
    title_box, source_box = st.columns([3, 2], vertical_alignment="bottom")
    title_box.title("Filters & feature maps")
else:
    st.title("Filters & feature maps")
    st.markdown("Pick, draw or upload a digit and follow it through a convolutional network, layer by layer: "
                "what each filter looks for, what it finds in your digit, and how the answer comes out.")  # fmt: skip

net, net_text, trained = choose_model()
colour_mode = st.session_state.get("filters_colour", "layer")
model_key = f"m_{net.model_name}_{'t' if trained else 'r'}"

if not presenting():
    st.header("1. A digit")
    source_box = st.container()
url_state.claim(DIGIT_PARAM)  # a drawing's digit: read and written by the Draw source
default_source = "test" if mnist_or_none() is not None else "draw"  # test digits need MNIST
url_state.bind_choice("filters_source", default_source, SOURCES)
source = source_box.segmented_control("Where the digit comes from", list(SOURCES), format_func=SOURCES.get,
                                      key="filters_source") or default_source  # fmt: skip
true_label = None
if source == "draw":
    digit, digit_text = drawn_digit()
elif source == "upload":
    digit, digit_text = uploaded_digit(), "your picture"
else:
    digit, true_label, digit_text = test_set_digit()

if digit is None:
    st.stop()

x = net.prepare(digit[None])
view = dissect(net, x)
top = view.probabilities[view.predicted]

st.header("2. What the network says")
c1, c2 = st.columns([1, 2])
with c1:
    chart(digit_figure(digit, "The 28×28 input", size=260), key="input_digit", width="content")
    low, high = net.input_range
    st.caption(f"Pixels 0–255 are scaled to {low:g}…{high:g} before the first layer.")
with c2:
    chart(probability_bars(view.probabilities, true_label), key="top_probs")
verdict = f"**{net_text}** reads {digit_text} as **{view.predicted}** ({top:.0%} sure)"
if true_label is not None:
    verdict += " — correct." if true_label == view.predicted else f" — but it is labelled {true_label}."
st.markdown(verdict)
if not trained:
    st.info("These are **random weights**: the filters are noise, so the maps are just smeared copies of the digit "
            "and the prediction is a guess. Switch to trained weights to see what learning changes.", icon=":material/casino:")  # fmt: skip

st.header("3. Layer by layer")
st.caption(f"Colour range: {COLOUR_MODE_LABELS[colour_mode]} (change it in the sidebar). "
           "Red is positive, blue negative, white zero.")  # fmt: skip
layer_by_layer(net, view, colour_mode, true_label, model_key)

st.header("4. One convolution, number by number")
st.markdown("Every value of a feature map is a window of the input, multiplied by the filter and added up, plus a bias.")
one_convolution(net, view, x, layer_colour_limits(view, colour_mode), (model_key, hashlib.sha1(digit.tobytes()).hexdigest()))

st.header("5. Which pixels matter: saliency")
gradient, target = saliency(net, x, view.predicted)
chart(saliency_figure(digit, gradient, target), key="saliency")
st.caption(f"How much the score for '{target}' would change if one pixel got a little brighter "
           "(the gradient of the score with respect to the input). Bright orange pixels are the ones the decision hinges on.")  # fmt: skip
