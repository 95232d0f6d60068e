"""Filters & feature maps: what each layer of a real CNN does to one digit.

A thin page: it reads the widgets, asks explorer.lab.dissect for the numbers and
explorer.figures.filters for the pictures, and draws them.
"""
from __future__ import annotations

import hashlib

import numpy as np
import streamlit as st

from explorer.i18n import t
from explorer.nn.checkpoints import ModelFileError
from explorer.lab.dissect import (
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
from explorer.nn.losses import softmax
from explorer.nn.network import Network
from explorer.data.preprocess import ImageError, PreprocessOptions, open_upload, preprocess_digit
from explorer.ui import url_state
from explorer.ui.charts import chart
from explorer.ui.digit_input import DIGIT_PARAM, canvas, digit_from_link, put_digit_in_link
from explorer.ui.figure_cache import shared
from explorer.ui.overview_view import show_overview
from explorer.ui.backward_step_view import backward_step_section
from explorer.ui.code_view import show_code, show_forward_code
from explorer.ui.presenter import presenting
from explorer.ui.resources import (
    CNN_MODELS,
    mnist_or_none,
    pretrained_models,
    session_pretrained,
    session_trained_model,
    show_missing_data,
)

# One view (model, digit, language) looks the same to every student: its figures are built once per
# server process and shared (explorer/ui/figure_cache.py).
digit_figure, probability_bars, saliency_figure = shared(digit_figure), shared(probability_bars), shared(saliency_figure)
filters_figure, feature_maps_figure = shared(filters_figure), shared(feature_maps_figure)
panels_figure, units_figure = shared(panels_figure), shared(units_figure)
position_figure, convolution_figure = shared(position_figure), shared(convolution_figure)

# Choices are ids (they are in the URL); their labels are in the catalog under filters.<choice>.<id>.
SOURCES = ("test", "draw", "upload")
UPLOAD_TYPES = ["png", "jpg", "jpeg", "gif", "bmp", "webp"]
SESSION_CHOICE = "session"
TRAINED, RANDOM = "trained", "random"
WEIGHTS = (TRAINED, RANDOM)
PICK_MODES = ("index", "class", "random")
PENS = ("white", "black")
INVERT_MODES = ("auto", "always", "never")


def error_text(error: Exception) -> str:
    """An error's message in the page's language when it carries a catalog key, else its English text."""
    key = getattr(error, "key", None)
    return t(key, **getattr(error, "params", {})) if key else str(error)


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
    return t("filters.session_model") if choice == SESSION_CHOICE else choice


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
        st.header(t("filters.model_header"))
        choice = st.selectbox(t("filters.model_label"), choices, format_func=model_label, key="filters_model")
        st.caption(t("filters.session_model_caption") if choice == SESSION_CHOICE else model_title(choice))
        has_trained = choice == SESSION_CHOICE or choice in shipped
        weights = st.radio(
            t("filters.weights_label"), WEIGHTS, format_func=lambda id: t(f"filters.weights.{id}"), key="filters_weights",
            disabled=not has_trained, help=t("filters.weights_help"),
        )  # fmt: skip
        if not has_trained:
            weights = RANDOM
        seed = 0
        if weights == RANDOM:
            seed = int(st.number_input(t("filters.seed_label"), 0, 9999, key="filters_seed"))
        st.header(t("filters.colour_header"))
        st.radio(
            t("filters.colour_label"), COLOUR_MODES, format_func=lambda id: t(f"filters.colour_mode.{id}"),
            key="filters_colour", help=t("filters.colour_help"),
        )  # fmt: skip
    if not shipped:
        st.info(t("filters.no_weights_info"), icon=":material/hourglass_top:")

    if choice == SESSION_CHOICE:
        net, name = own, t("filters.desc_session")
    elif choice in shipped:
        try:
            net, _card = session_pretrained(choice)
            name = choice
        except ModelFileError as error:
            st.warning(t("filters.weights_unusable", model=choice, error=error_text(error)))
            net, name, weights = None, choice, RANDOM
    else:
        net, name = None, choice
    if weights == RANDOM:
        base = net.model_name if net is not None else choice
        activation = net.activation if net is not None else None
        try:
            return random_twin(base, activation or None, seed), t("filters.desc_random", name=name, seed=seed), False
        except ValueError as error:  # e.g. a session model that is not in the registry
            if net is None:
                raise
            st.warning(t("filters.no_random_twin", error=error))
    return net, t("filters.desc_trained", name=name), True


def model_title(name: str) -> str:
    """The registry model's one-line description, in the page's language when the catalog has it."""
    key = f"filters.model.{name}"
    text = t(f"filters.model.{name}")
    return MODELS[name].title if text == key else text


# --- the digit -----------------------------------------------------------------------------


def preprocessing_options(key: str) -> PreprocessOptions:
    if not presenting():
        st.caption(t("filters.preprocess_caption"))
    url_state.bind_choice(f"{key}_invert", "auto", INVERT_MODES)
    for step in ("crop", "fit", "centre"):
        url_state.bind(f"{key}_{step}", True)
    invert = st.selectbox(t("filters.invert_label"), INVERT_MODES, format_func=lambda id: t(f"filters.invert.{id}"),
                          key=f"{key}_invert", help=t("filters.invert_help"))  # fmt: skip
    # One toggle a line: side by side, their labels are cut short beside the canvas at 1280 px.
    crop = st.toggle(t("filters.crop_label"), key=f"{key}_crop", help=t("filters.crop_help"))
    fit = st.toggle(t("filters.fit_label"), key=f"{key}_fit", help=t("filters.fit_help"))
    centre = st.toggle(t("filters.centre_label"), key=f"{key}_centre", help=t("filters.centre_help"))
    return PreprocessOptions(invert=invert, crop=crop, fit_20=fit, center_of_mass=centre)


def show_steps(result) -> None:
    """The step pictures (square, made by explorer.data.preprocess), three per row on a phone too."""
    steps = result.steps
    for start in range(0, len(steps), 3):
        for col, (title, image) in zip(st.columns(3), steps[start : start + 3]):
            col.image(np.asarray(image), caption=message_text(title), width="stretch", clamp=True)
    st.caption(" ".join(message_text(note) for note in result.notes))


def message_text(message) -> str:
    """A preprocessing title or note: plain text, or a catalog key with its parameters."""
    key = getattr(message, "key", None)
    return t(key, **getattr(message, "params", {})) if key else str(message)


def run_pipeline(image, options: PreprocessOptions):
    """The preprocessed digit, or None after a clear message (never a traceback)."""
    try:
        result = preprocess_digit(image, options)
    except ImageError as error:
        st.warning(error_text(error), icon=":material/image_not_supported:")
        return None
    except Exception as error:  # noqa: BLE001 - anything unexpected from an odd image
        st.warning(t("filters.image_failed", error=type(error).__name__))
        return None
    with st.expander(t("filters.steps_expander"), expanded=True):
        show_steps(result)
    return result.digit


def test_set_digit() -> tuple[np.ndarray | None, int | None, str]:
    data = mnist_or_none()
    if data is None:
        show_missing_data(t("filters.test_digits_feature"))
        st.info(t("filters.no_mnist_info"))
        return None, None, ""
    count = len(data.test_images)
    url_state.bind_choice("filters_pick", "index", PICK_MODES)
    how = st.radio(t("filters.pick_label"), PICK_MODES, format_func=lambda id: t(f"filters.pick.{id}"), horizontal=True,
                   key="filters_pick")  # fmt: skip
    if how == "index":
        index = url_state.bind_number("filters_index", 0, 0, count - 1)
        index = int(st.number_input(t("filters.index_label", count=f"{count:,}"), 0, count - 1, key="filters_index"))
    elif how == "class":
        url_state.bind_choice("filters_class", 7, range(10))
        c1, c2 = st.columns(2)
        digit_class = c1.selectbox(t("filters.digit_label"), list(range(10)), key="filters_class")
        members = np.flatnonzero(data.test_labels == digit_class)
        url_state.bind_number("filters_nth", 0, 0, len(members) - 1)
        nth = int(c2.number_input(t("filters.nth_label", digit=digit_class, count=len(members)), 0, len(members) - 1,
                                  key="filters_nth"))  # fmt: skip
        index = int(members[nth])
    else:
        index = url_state.bind_number("filters_random_index", -1, -1, count - 1)  # -1: none drawn yet
        if st.button(t("filters.new_random"), icon=":material/casino:") or index < 0:
            index = st.session_state["filters_random_index"] = int(np.random.default_rng().integers(count))
    label = int(data.test_labels[index])
    st.caption(t("filters.test_digit_caption", index=index, label=label))
    return np.asarray(data.test_images[index]), label, t("filters.test_digit_text", index=index)


def drawn_digit() -> tuple[np.ndarray | None, str]:
    """(digit, description): a new drawing, else the digit a link carries, else (None, "")."""
    url_state.bind_choice("filters_pen", "white", PENS)
    left, right = st.columns([1, 1.3])  # the left one holds the 280 px canvas even beside the sidebar at 1280 px
    with left:
        if presenting():  # on the projector: the canvas on the first screen, the pen as the link set it
            ink = st.session_state["filters_pen"]
        else:
            ink = st.radio(t("filters.pen_label"), PENS, format_func=lambda id: t(f"filters.pen.{id}"), key="filters_pen")
        image = canvas("filters", white_ink=ink == "white")
    with right:
        options = preprocessing_options("draw")
    if image is not None:
        digit = run_pipeline(image, options)
        put_digit_in_link("filters", digit)  # a reload or a shared link brings this 28x28 digit back
        return digit, t("filters.your_drawing")
    linked = digit_from_link("filters")
    if linked is not None:
        st.info(t("filters.linked_info", digit=t("filters.link_digit")), icon=":material/link:")
        return linked, t("filters.link_digit")
    put_digit_in_link("filters", None)
    st.info(t("filters.empty_drawing"), icon=":material/draw:")
    return None, ""


def uploaded_digit() -> np.ndarray | None:
    upload = st.file_uploader(
        t("filters.upload_label"), type=UPLOAD_TYPES, key="filters_upload",
    )  # fmt: skip
    st.caption(t("filters.upload_caption"))
    options = preprocessing_options("upload")
    if upload is None:
        st.info(t("filters.upload_info"), icon=":material/upload:")
        return None
    try:
        image = open_upload(upload.getvalue())
    except ImageError as error:
        st.warning(f"**{upload.name}**: {error_text(error)}", icon=":material/broken_image:")
        return None
    except Exception as error:  # noqa: BLE001 - never a traceback for a user's file
        st.warning(t("filters.upload_unreadable", name=upload.name, error=type(error).__name__), icon=":material/broken_image:")
        return None
    return run_pipeline(image, options)


# --- layer by layer ------------------------------------------------------------------------


def map_caption(layer, stage) -> str:
    if layer.kind == "conv":
        follows = [item.kind for item in stage.layers[1:]]
        return t("filters.map.conv_before_activation") if "activation" in follows or "batchnorm" in follows else t("filters.map.conv_output")
    if layer.kind in ("batchnorm", "activation", "pool"):
        return t(f"filters.map.{layer.kind}", type=layer.type)
    return layer.type


def layer_summary(layer) -> str:
    """What the layer does, in the page's language (the layer's own English sentence for a type the catalog lacks)."""
    key = f"filters.layer.{layer.type}"
    text = t(f"filters.layer.{layer.type}")
    return layer.summary if text == key else text


def layer_line(layer) -> str:
    config = t("filters.config_separator").join(f"{t(f'filters.config.{k}')} {v}" for k, v in layer.config.items())
    params = t("filters.layer_params", count=f"{layer.params:,}") if layer.params else t("filters.no_params")
    return t("filters.layer_line", name=layer.name, type=layer.type, config=t("filters.config_list", items=config) if config else "",
             shape=layer.shape_text, params=params, summary=layer_summary(layer))  # fmt: skip


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
        url_state.bind_number(f"{key}_inch", 0, 0, c_in - 1)
        in_ch = int(c1.number_input(t("filters.inch_label", last=c_in - 1), 0, c_in - 1, key=f"{key}_inch",
                                    help=t("filters.inch_help")))  # fmt: skip
    url_state.bind_number(f"{key}_channel", 0, 0, filters - 1)
    channel = int(c2.number_input(t("filters.closeup_label", last=filters - 1), 0, filters - 1, key=f"{key}_channel"))
    tile_grid(lambda channels, last: filters_figure(layer.W.value, in_ch, filter_limits[conv.index], highlight=channel,
                                                    channels=channels, colorbar=last, tile_px=tile_px()),
              filters, t("filters.filters_title_slice", count=filters, k=k, channel=in_ch) if c_in > 1
              else t("filters.filters_title", count=filters, k=k), f"{key}_filters")  # fmt: skip
    st.caption(t("filters.filters_caption_slice", k=k) if c_in > 1 else t("filters.filters_caption", k=k))
    map_layers = [item for item in stage.layers if item.is_map]
    # Only the open tab's maps are drawn (a tab switch reruns the page): a third of the figures.
    tabs = st.tabs([f"{item.name}: {map_caption(item, stage)} ({item.shape_text})" for item in map_layers],
                   key=f"{key}_map_tabs", on_change="rerun")  # fmt: skip
    for tab, item in zip(tabs, map_layers):
        if not tab.open:
            continue
        with tab:
            tile_grid(lambda channels, last, item=item: feature_maps_figure(item.output, map_limits[item.index], "", channel,
                                                                           channels, colorbar=last, tile_px=tile_px()),
                      item.output.shape[-1], f"{item.name} — {map_caption(item, stage)}", f"{key}_{item.name}_maps")  # fmt: skip
            st.caption(map_story(item, stage))
    panels = [(t("filters.panel_filter_slice", channel=channel, in_channel=in_ch) if c_in > 1
               else t("filters.panel_filter", channel=channel),
               layer.W.value[:, :, in_ch, channel], float(np.abs(layer.W.value).max()))]  # fmt: skip
    panels += [(f"{item.name}<br>{map_caption(item, stage)}", item.output[:, :, channel], float(map_limits[item.index][channel]))
               for item in map_layers]  # fmt: skip
    st.markdown(t("filters.closeup_title", channel=channel))
    for number, (column, panel) in enumerate(zip(st.columns(len(panels)), panels)):  # stacked on a phone
        with column:
            chart(panels_figure([panel], height=250), key=f"{key}_closeup_{number}", toolbar=False)
    st.caption(t("filters.closeup_caption"))


def map_story(item, stage) -> str:
    if item.kind in ("conv", "activation", "pool", "batchnorm"):
        return t(f"filters.story.{item.kind}", size=item.config.get("size"))
    return ""


def dense_stage(stage, view, is_last: bool, true_label: int | None, key: str) -> None:
    if is_last:
        chart(probability_bars(view.probabilities, true_label, title=t("filters.probs_title")), key=f"{key}_probs")
        st.caption(t("filters.probs_caption", digit=view.predicted))
        return
    shown = stage.layers[-1]
    chart(units_figure(shown.output, t("filters.units_title", name=shown.name, count=len(shown.output))), key=f"{key}_units")
    st.caption(t("filters.units_caption"))


def pictures_of(key: str, label: str, first: bool):
    """An expander for a stage's tiles, drawn only while open (its state in the link). Every stage
    of DeepConvNet drawn at once is 57 charts: seconds of a phone's time for each page view."""
    return url_state.expander(f"{key}_open", label, opened=first)


def layer_by_layer(net: Network, view, colour_mode: str, true_label: int | None, model_key: str) -> None:
    map_limits = layer_colour_limits(view, colour_mode)
    filter_limits = filter_colour_limits(net, colour_mode)
    for number, stage in enumerate(view.stages):
        key = f"{model_key}_{stage.head.name}"
        with st.container(border=True):
            st.subheader(t("filters.stage_header", number=number + 1, title=stage.title))
            st.markdown("  \n".join(layer_line(layer) for layer in stage.layers))
            if stage.kind == "conv":
                pictures = pictures_of(key, t("filters.stage_pictures.conv"), first=number == 0)
                if pictures.open:
                    with pictures:
                        conv_stage(net, stage, map_limits, filter_limits, key)
            elif stage.kind == "dense":
                dense_stage(stage, view, number == len(view.stages) - 1, true_label, key)
            elif stage.kind == "flatten":
                before = view.layers[stage.head.index - 1].shape_text if stage.head.index else t("filters.flatten_input")
                st.caption(t("filters.flatten_caption", shape=before, count=f"{stage.head.shape[0]:,}"))
            elif stage.head.is_map:
                head = stage.head
                pictures = pictures_of(key, t("filters.stage_pictures.maps"), first=number == 0)
                if pictures.open:
                    with pictures:
                        tile_grid(lambda channels, last: feature_maps_figure(head.output, map_limits[head.index], "", None,
                                                                             channels, last, tile_px()),
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
        st.caption(t("filters.batchnorm_caption"))
    elif activation is None:
        st.caption(t("filters.no_activation_caption", layer=conv_name))
    elif activation.type == "ReLU":
        st.latex(r"\mathrm{ReLU}(" + fmt(step.output) + r") = \max(0,\ " + fmt(step.output) + r") = " + fmt(step.relu))
    else:
        st.caption(t("filters.next_activation_caption", name=activation.name, type=activation.type))


def one_convolution(net: Network, view, x: np.ndarray, map_limits: dict, digit_key: tuple) -> None:
    indices = conv_indices(net)
    names = [net.names[i] for i in indices]
    url_state.bind_choice("filters_conv", names[0], names)
    c1, c2 = st.columns([1, 2])
    conv_name = c1.selectbox(t("filters.conv_layer_label"), names, format_func=lambda n: f"{n} ({view.layers[net.names.index(n)].shape_text})",
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
        channel = s1.slider(t("filters.channel_slider"), 0, filters - 1, key="filters_channel") if filters > 1 else 0
        row = s2.slider(t("filters.row_slider"), 0, out_h - 1, key="filters_row")
        col = s3.slider(t("filters.col_slider"), 0, out_w - 1, key="filters_col")
        if c_in > 1:
            url_state.bind_number(f"filters_{conv_name}_inch", 0, 0, c_in - 1)
        in_ch = int(st.slider(t("filters.inch_slider"), 0, c_in - 1, key=f"filters_{conv_name}_inch")) if c_in > 1 else 0
    step = convolution_at(net, index, x, row, col, channel)
    feature = view.layers[index].output[:, :, channel]
    chart(position_figure(step, in_ch, feature, float(map_limits[index][channel])), key="filters_position_chart",
          on_select="rerun", selection_mode="points")  # fmt: skip
    st.caption(t("filters.position_caption", layer=net.names[index], k=step.kernel_size))
    chart(convolution_figure(step, in_ch), key="filters_numbers")
    st.caption(t("filters.numbers_caption") + (" " + t("filters.pad_caption") if step.padded.any() else ""))

    k = step.kernel_size
    st.markdown(t("filters.sum_channel", channel=in_ch) if c_in > 1 else t("filters.sum_window"))
    st.latex(r"\begin{aligned}&" + signed_terms(step.products[:, :, in_ch], k) + r" \\ &= " + fmt(step.channel_sums[in_ch]) + r"\end{aligned}")
    if c_in > 1:
        st.markdown(t("filters.all_channels", count=c_in))
        if c_in <= 8:
            terms = signed_terms(step.channel_sums, 4)
            st.latex(r"\begin{aligned}&" + terms + r" \\ &+ (" + fmt(step.bias) + r") = " + fmt(step.output) + r"\end{aligned}")
        else:
            st.latex(r"\sum_{c=0}^{" + str(c_in - 1) + r"} s_c + b = " + fmt(step.total) + " + (" + fmt(step.bias) + ") = " + fmt(step.output))
            st.dataframe({t("filters.table_channel"): list(range(c_in)),
                          t("filters.table_sum"): [round(float(v), 4) for v in step.channel_sums]},
                         height=220, hide_index=True)  # fmt: skip
    else:
        st.latex(fmt(step.total) + r" + \underbrace{(" + fmt(step.bias) + r")}_{\text{" + t("filters.bias_tex") + "}} = " + fmt(step.output))
    activation_lines(view, index, step, conv_name)
    network_value = float(feature[row, col])
    if abs(network_value - step.output) <= 1e-4 * max(1.0, abs(step.output)):
        st.success(t("filters.same_value", layer=net.names[index], row=row, col=col, channel=channel, value=f"{network_value:.4f}"),
                   icon=":material/check_circle:")  # fmt: skip
    else:
        st.error(t("filters.mismatch", value=f"{network_value:.4f}"))

    h = step.input_size[1]
    st.markdown(t("filters.output_size_line", w=h, k=k, p=step.padding, s=step.stride))
    st.latex(r"\text{" + t("filters.output_tex") + r"} = \left\lfloor \frac{W - K + 2P}{S} \right\rfloor + 1 = \left\lfloor \frac{"
             + f"{h} - {k} + 2 \\cdot {step.padding}" + r"}{" + str(step.stride) + r"} \right\rfloor + 1 = " + str(step.output_size[1]))  # fmt: skip
    st.caption(t("filters.padding_caption"))


# --- the page ------------------------------------------------------------------------------

if presenting():  # on a projector: the title and the digit's source on one line, the canvas on the first screen
    title_box, source_box = st.columns([3, 2], vertical_alignment="bottom")
    title_box.title(t("pages.filters.title"))
else:
    st.title(t("pages.filters.title"))
    st.markdown(t("filters.intro"))

net, net_text, trained = choose_model()
colour_mode = st.session_state.get("filters_colour", "layer")
model_key = f"m_{net.model_name}_{'t' if trained else 'r'}"

if not presenting():
    st.header(t("filters.header_digit"))
    source_box = st.container()
url_state.claim(DIGIT_PARAM)  # a drawing's digit: read and written by the Draw source
default_source = "test" if mnist_or_none() is not None else "draw"  # test digits need MNIST
url_state.bind_choice("filters_source", default_source, SOURCES)
source = source_box.segmented_control(t("filters.source_label"), SOURCES, format_func=lambda id: t(f"filters.source.{id}"),
                                      key="filters_source") or default_source  # fmt: skip
true_label = None
if source == "draw":
    digit, digit_text = drawn_digit()
elif source == "upload":
    digit, digit_text = uploaded_digit(), t("filters.your_picture")
else:
    digit, true_label, digit_text = test_set_digit()

if digit is None:
    st.stop()

x = net.prepare(digit[None])
view = dissect(net, x)
top = view.probabilities[view.predicted]

st.header(t("filters.header_says"))
c1, c2 = st.columns([1, 2])
with c1:
    chart(digit_figure(digit, t("filters.input_title"), size=260), key="input_digit", width="content")
    low, high = net.input_range
    st.caption(t("filters.scale_caption", low=f"{low:g}", high=f"{high:g}"))
with c2:
    chart(probability_bars(view.probabilities, true_label), key="top_probs")
verdict = t("filters.verdict", net=net_text, digit=digit_text, predicted=view.predicted, sure=f"{top:.0%}")
if true_label is not None:
    verdict += t("filters.verdict_correct") if true_label == view.predicted else t("filters.verdict_wrong", label=true_label)
st.markdown(verdict)
show_code(softmax)
if not trained:
    st.info(t("filters.random_info"), icon=":material/casino:")

show_overview(net, view)

st.header(t("filters.header_layers"))
st.caption(t("filters.colour_caption", mode=t(f"filters.colour_mode.{colour_mode}")))
layer_by_layer(net, view, colour_mode, true_label, model_key)
show_forward_code(net)

st.header(t("filters.header_conv"))
st.markdown(t("filters.conv_intro"))
one_convolution(net, view, x, layer_colour_limits(view, colour_mode), (model_key, hashlib.sha1(digit.tobytes()).hexdigest()))
show_code(convolution_at)

st.header(t("filters.header_saliency"))
gradient, target = saliency(net, x, view.predicted)
chart(saliency_figure(digit, gradient, target), key="saliency")
st.caption(t("filters.saliency_caption", digit=target))
show_code(saliency)

backward_step_section(net)
