"""Receptive fields: do two stacked 3x3 convolutions really replace one 5x5?

Thin page: widgets in, explorer.lab.receptive / explorer.lab.receptive_measure compute,
explorer.figures.receptive draws.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from explorer.figures import receptive as figs
from explorer.ui import url_state
from explorer.ui.charts import chart
from explorer.ui.presenter import presenting
from explorer.figures.common import heatmap_grid
from explorer.lab.receptive import FORMULAS, compare_single_vs_stack, conv_params, input_window, receptive_fields
from explorer.lab import receptive_measure as rm
from explorer.ui.resources import mnist_or_none, pretrained_models, show_missing_data

H2H_KEY = "rf_head_to_head"  # results of the head-to-head training, kept for the session


@st.cache_data(show_spinner=False, max_entries=64)
def _footprints(n: int, row: int, col: int, digit: np.ndarray):
    return rm.compare_footprints(n, row, col, digit=digit)


@st.cache_data(show_spinner="Measuring the effective receptive field…", max_entries=32)
def _effective_field(model: str, layer_index: int, weights: str, inputs: np.ndarray):
    if weights == "random":
        net = rm.build_model(model, seed=0)
    else:  # our own copy of the pretrained network, built inside the cached call
        from explorer.nn.pretrained import load_pretrained

        net, _ = load_pretrained(model)
    x = net.prepare(inputs)
    label = "random (He init)" if weights == "random" else "trained"
    return rm.effective_field(net, layer_index, x, model, label)


@st.cache_data(show_spinner=False)
def _synthetic_digit() -> np.ndarray:
    return rm.synthetic_digit()


# ---------------------------------------------------------------------------

url_state.bind_number("rf_n", 2, 1, 5)
url_state.bind_number("rf_c_in", 16, 1, 128)
url_state.bind_number("rf_c_out", 16, 1, 128)

st.title("Receptive fields")
if not presenting():
    st.markdown(
        "A neuron in a convolutional network looks at a small square of the image, its **receptive field**. "
        "A popular claim: *two stacked 3x3 convolutions see as much as one 5x5 convolution, with fewer parameters "
        "(18 vs 25 per channel pair) and one more nonlinearity.* Check it here, see where it holds and where it "
        "does not, and watch receptive fields grow through deeper networks."
    )

data = mnist_or_none()
if data is not None:
    digit_index = url_state.bind_number("rf_digit", 0, 0, len(data.test_images) - 1)
    digit = np.asarray(data.test_images[digit_index])
    digit_caption = f"test digit #{digit_index} (a {int(data.test_labels[digit_index])})"
else:
    digit = _synthetic_digit()
    digit_caption = "a synthetic digit drawn with PIL (MNIST is not on this server yet)"

TABS = {"compare": "3x3 + 3x3 vs 5x5", "calculator": "Any stack: calculator",
        "erf": "Effective receptive field", "head-to-head": "Head to head: train both"}  # URL id -> label


def _tab_changed() -> None:
    label = st.session_state.get("_rf_tab_label")
    st.session_state["rf_tab"] = next((tab for tab, text in TABS.items() if text == label), "compare")


url_state.bind_choice("rf_tab", "compare", TABS)  # the open tab is part of the view (a link may open the ERF tab)
tab_compare, tab_calc, tab_erf, tab_h2h = st.tabs(
    list(TABS.values()), default=TABS[st.session_state["rf_tab"]], key="_rf_tab_label", on_change=_tab_changed
)

# ---------------------------------------------------------------------------
# 1. The comparison
# ---------------------------------------------------------------------------
with tab_compare:
    if not presenting():
        st.header("One big kernel or a stack of small ones?")

    def _preset(c_in: int, c_out: int, n: int = 2) -> None:
        st.session_state.update(rf_c_in=c_in, rf_c_out=c_out, rf_n=n)

    controls = st.columns([1, 1, 1])
    n = controls[0].slider("n: one (2n+1)x(2n+1) conv vs n stacked 3x3", 1, 5, key="rf_n",
                           help="n = 2 is the article's claim: one 5x5 against two 3x3.")
    c_in = controls[1].slider("input channels C_in", 1, 128, key="rf_c_in")
    c_out = controls[2].slider("output channels C_out", 1, 128, key="rf_c_out")
    b1, b2 = st.columns(2)
    b1.button("Deep in a network: C_in = C_out = 64", on_click=_preset, args=(64, 64), width="stretch")
    b2.button("First layer on MNIST: 1 → 16", on_click=_preset, args=(1, 16), width="stretch")

    cmp = compare_single_vs_stack(n, c_in, c_out, 28, "valid")
    single, stack = cmp.single, cmp.stack
    big = 2 * n + 1
    st.session_state["rf_counts"] = {"single": single.params, "stack": stack.params}

    def _verdict() -> None:
        saving = cmp.param_saving
        if saving > 0:
            st.success(
                f"**Here the claim holds:** {stack.label} need **{stack.params:,}** parameters, "
                f"one {big}x{big} conv needs **{single.params:,}**: the stack saves **{saving:.0%}**.",
                icon=":material/check_circle:",
            )
        else:
            st.error(
                f"**Here the claim fails:** {stack.label} need **{stack.params:,}** parameters, "
                f"one {big}x{big} conv needs only **{single.params:,}**: the stack costs "
                f"**{stack.params / single.params:.1f}x** as much.",
                icon=":material/cancel:",
            )
        # On a projector the caveat folds away (it answers the lesson's question).
        with st.expander("The caveat: the saving needs as many input channels as output channels") if presenting() else st.container():
            same_w, same_b = conv_params(5, 64, 64)
            stack_w = 2 * conv_params(3, 64, 64)[0]
            mnist_single = sum(conv_params(5, 1, 16))
            mnist_stack = sum(conv_params(3, 1, 16)) + sum(conv_params(3, 16, 16))
            st.markdown(
                f"**The caveat.** The 18-vs-25 count assumes the second 3x3 conv has as many input channels as the first: "
                f"with C_in = C_out = C the weights are 25C² against 2·9C² = 18C², a **{1 - 18 / 25:.0%}** saving "
                f"(C = 64: {same_w:,} vs {stack_w:,} weights). But the second conv of a stack reads C_out channels, not C_in. "
                f"On MNIST's **1-channel** input with 16 filters, one 5x5 conv has **{mnist_single:,}** parameters and "
                f"two 3x3 convs have **{mnist_stack:,}**, about **{mnist_stack / mnist_single:.0f}x more**."
            )

    def _cards() -> None:
        left, right = st.columns(2)
        for col, cost, colour in ((left, single, "blue"), (right, stack, "orange")):
            with col.container(border=True):
                if presenting():  # a smaller title keeps the numbers on the first screen
                    st.markdown(f"**:{colour}[{cost.label}]**")
                else:
                    st.subheader(f":{colour}[{cost.label}]")
                m1, m2, m3 = st.columns(3)
                m1.metric("parameters", f"{cost.params:,}")
                m2.metric("nonlinearities", cost.nonlinearities)
                m3.metric("receptive field", f"{cost.receptive_field}x{cost.receptive_field}")
                st.caption(f"{cost.macs:,} multiply-adds per 28x28 image")

    if presenting():  # the two cards are the lesson's key chart: first on the projector's screen
        _cards()
        _verdict()
    else:
        _verdict()
        _cards()
    st.markdown("**The counts, term by term** (one term per layer; a k×k conv from C_in to C_out channels has "
                "k²·C_in·C_out weights and C_out biases, and does k²·C_in multiply-adds for each of its "
                "C_out·H·W outputs):")
    for cost, colour in ((single, "blue"), (stack, "orange")):
        tex = rm.cost_latex(cost)
        with st.container(border=True):
            st.markdown(f"**:{colour}[{cost.label}]**, {cost.output_size}x{cost.output_size} output without padding")
            st.latex(tex["weights"])
            st.latex(tex["biases"])  # on its own line: side by side they overflow a phone
            st.latex(tex["params"])
            st.latex(tex["macs"])
    chart(figs.cost_figure(cmp))
    st.caption(
        "Bars: total parameters (hatched top: biases), multiply-adds for one 28x28 image, and how many ReLUs the "
        "signal passes through. Both designs end with the same receptive field and the same output size."
    )

    # --- overlay ---------------------------------------------------------------------
    st.subheader("Which pixels does one output unit see?")
    out_size = 28 - 2 * n
    url_state.bind_number("rf_row", out_size // 2, 0, out_size - 1)
    url_state.bind_number("rf_col", out_size // 2, 0, out_size - 1)

    def _clicked() -> None:
        """A click on input pixel (y, x) picks the output unit whose field is centred there."""
        event = st.session_state.get("rf_overlay_chart") or {}
        points = (event.get("selection") or {}).get("points") or []
        for point in points:
            x, y = point.get("x"), point.get("y")
            if x is None or y is None:
                continue
            nn = int(st.session_state.get("rf_n", 2))
            size = 28 - 2 * nn  # a valid conv with a (2n+1)-pixel field: unit (r, c) is centred on (r + n, c + n)
            st.session_state["rf_row"] = int(min(max(round(y) - nn, 0), size - 1))
            st.session_state["rf_col"] = int(min(max(round(x) - nn, 0), size - 1))
            return

    s1, s2, s3 = st.columns([1, 1, 1])
    row = s1.slider("output row", 0, out_size - 1, key="rf_row")
    col = s2.slider("output column", 0, out_size - 1, key="rf_col")
    if data is not None:
        s3.number_input("test digit #", 0, len(data.test_images) - 1, key="rf_digit", step=1)
    else:
        s3.caption("MNIST is not here yet: a synthetic digit stands in.")

    fp_single, fp_stack = _footprints(n, row, col, digit)
    window = fp_single.window
    st.session_state["rf_window"] = {"single": fp_single.window, "stack": fp_stack.window}
    r0, r1, c0, c1 = window
    st.markdown(
        f"Output unit **({row}, {col})** of both designs sees input rows **{r0}–{r1 - 1}** and columns "
        f"**{c0}–{c1 - 1}**: a **{r1 - r0}x{c1 - c0}** window."
    )
    chart(figs.overlay_figure(digit, fp_single, fp_stack), key="rf_overlay_chart", on_select=_clicked,
          selection_mode="points")
    st.caption(
        f"Shown on {digit_caption}. Shaded square: the input pixels the output unit depends on. "
        f"For the stack, the orange dots are the {len(fp_stack.intermediate)} units of the layer in between that "
        "the output unit reads; each of them sees its own 3x3 patch (dashed: the first one). Together their patches "
        f"tile the same {big}x{big} window. Click a pixel to move the output unit there."
    )

    # --- measured ---------------------------------------------------------------------
    st.subheader("Measured, not only computed")
    chart(figs.footprint_figure(fp_single, fp_stack))
    both = fp_single.agrees and fp_stack.agrees
    verdict = ("The pixels with a non-zero gradient are **exactly** the analytic window, for both designs."
               if both else "The measured footprint **differs** from the analytic window; see the maps.")
    (st.success if both else st.warning)(verdict, icon=":material/science:")
    st.caption(
        "The NumPy core back-propagates from the chosen output unit (all 16 channels, before the ReLU) to the input: "
        "Network.input_gradient on the twins rf-5x5 and rf-3x3 with random weights. Colour: mean |gradient| over 6 "
        "random noise images, zoomed around the window (outlined); white pixels get exactly zero. Why random "
        "images and not only the digit: a ReLU whose input is negative passes no gradient. On the digit shown, "
        f"{fp_single.digit_pixels} pixels of the one-conv field and {fp_stack.digit_pixels} of the stack's get a "
        "gradient; dead ReLUs in the layer in between can hide the rest, and a different input wakes them up."
    )

# ---------------------------------------------------------------------------
# 2. Calculator
# ---------------------------------------------------------------------------
with tab_calc:
    st.header("Receptive field of any stack")
    st.markdown(
        "Pick a network of this app (its layers are read from the built model) or edit the table: one row per "
        "conv or pool layer. Element-wise layers (ReLU, batch norm, dropout) do not change the receptive field."
    )
    names = rm.preset_names()
    url_state.bind_choice("rf_preset", "lenet" if "lenet" in names else names[0], names)
    url_state.bind_number("rf_input_size", 28, 1, 1024)
    top = st.columns([2, 1])
    preset = top[0].selectbox("start from", names, key="rf_preset")
    input_size = top[1].number_input("input size (pixels)", 1, 1024, step=1, key="rf_input_size")
    edited = st.data_editor(
        pd.DataFrame(rm.spec_rows(rm.model_stack(preset)), columns=list(rm.CALC_COLUMNS)),
        key=f"rf_editor_{preset}", num_rows="dynamic", width="stretch", hide_index=True,
        column_config={
            "name": st.column_config.TextColumn("name"),
            "kind": st.column_config.SelectboxColumn("kind", options=["conv", "pool"], required=True),
            "kernel": st.column_config.NumberColumn("kernel k", step=1),
            "stride": st.column_config.NumberColumn("stride s", step=1),
            "padding": st.column_config.NumberColumn("padding p", step=1),
            "dilation": st.column_config.NumberColumn("dilation d", step=1),
        },
    )
    specs, problems = rm.parse_stack(edited.to_dict("records"), int(input_size))
    if problems:
        for problem in problems:
            st.error(problem, icon=":material/error:")
        st.session_state["rf_calc"] = None
    else:
        rows = receptive_fields(specs, int(input_size))
        last = rows[-1]
        st.session_state["rf_calc"] = {"r": last.receptive_field, "jump": last.jump, "size": last.output_size}
        m = st.columns(4)
        m[0].metric("receptive field r", f"{last.receptive_field}x{last.receptive_field}")
        m[1].metric("effective stride (jump)", last.jump)
        m[2].metric("start offset", f"{last.start:g}")
        m[3].metric("output size", f"{last.output_size}x{last.output_size}")
        st.dataframe(pd.DataFrame(rm.recurrence_table(specs, int(input_size))), hide_index=True, width="stretch")
        st.markdown("Layer by layer (Araujo, Norris & Sim, *Distill* 2019), starting from one input pixel:")
        st.latex(FORMULAS["receptive_field"])
        st.latex(FORMULAS["jump"] + r",\qquad " + FORMULAS["start"])
        st.latex(FORMULAS["output_size"])
        st.markdown("Unrolled, the recurrence is a sum: every layer widens the field by (k − 1)·d steps of the jump so far.")
        st.latex(FORMULAS["closed_form"])
        st.latex(rm.closed_form_latex(specs))
        c1, c2 = st.columns(2)
        with c1:
            chart(figs.calculator_figure(rows))
            st.caption("Per layer: how many input pixels one unit sees (r), how big its map is, and the jump: how many "
                       "input pixels apart neighbouring units are. Pooling and strides multiply the jump, and a big "
                       "jump makes every later layer grow the field faster.")
        with c2:
            if int(input_size) == 28:
                windows = [input_window(specs[: i + 1], r.output_size // 2, r.output_size // 2, 28) for i, r in enumerate(rows)]
                chart(figs.nested_fields_figure(digit, rows, windows))
                st.caption("The field of the centre unit of each layer, nested on the digit (clipped to the image: "
                           "the rest falls in the padding).")
            else:
                st.info("The nested fields are drawn for 28x28 inputs only.")

# ---------------------------------------------------------------------------
# 3. Effective receptive field
# ---------------------------------------------------------------------------
with tab_erf:
    st.header("The effective receptive field is smaller")
    st.markdown(
        "Not every pixel in the theoretical field matters equally. Luo et al. (NeurIPS 2016) measured the gradient "
        "of a centre unit with respect to every input pixel: the pixels near the centre reach it through many "
        "paths, those at the edge through very few, so the influence is Gaussian-like and fills only part of the square."
    )
    conv_models = [name for name in rm.preset_names() if name != "tf-cnn-bn"]
    url_state.bind_choice("rf_erf_model", "deepconvnet", conv_models)
    model = st.session_state["rf_erf_model"]
    net_layers = rm.conv_layers(rm.build_model(model))
    layer_names = [name for _, name in net_layers]
    if st.session_state.get("_rf_erf_layer_model", model) != model:  # another model: start on its last layer
        st.session_state.pop("rf_erf_layer", None)
    st.session_state["_rf_erf_layer_model"] = model
    url_state.bind_choice("rf_erf_layer", layer_names[-1], layer_names)
    url_state.bind_number("rf_erf_count", 12, 2, 32)
    e1, e2, e3 = st.columns(3)
    e1.selectbox("model", conv_models, key="rf_erf_model")
    layer_name = e2.selectbox("conv layer (its output, before the ReLU)", layer_names, key="rf_erf_layer")
    count = e3.slider("inputs averaged", 2, 32, key="rf_erf_count")
    layer_index = dict((name, i) for i, name in net_layers)[layer_name]
    if data is not None:
        inputs = np.asarray(data.test_images[:count])
        source = f"the first {count} test digits"
    else:
        inputs = np.random.default_rng(0).integers(0, 256, (count, 28, 28), dtype=np.uint8)
        source = f"{count} random noise images (MNIST is not here yet)"
    fields = [_effective_field(model, layer_index, "random", inputs)]
    shipped = pretrained_models()
    if model in shipped:
        try:
            fields.append(_effective_field(model, layer_index, "trained", inputs))
        except Exception as exc:  # a corrupt or half-written file must not take the page down
            st.warning(f"The pretrained {model} weights could not be used: {exc}")
    else:
        st.info(
            f"No pretrained weights for **{model}** yet (shipped: {', '.join(shipped) or 'none'}); "
            "showing random weights only. Trained weights appear here as soon as they are in pretrained/.",
            icon=":material/hourglass_top:",
        )
    chart(figs.erf_figure(fields))
    st.caption(
        f"Mean |gradient| of the centre unit of {layer_name} (all channels) over {source}. Solid square: the "
        "theoretical receptive field; dashed: its central part, half the side. Bright pixels matter most."
    )
    first = fields[0]
    rows_in, cols_in = first.inside_sides
    if first.inside_share < 1:
        st.markdown(
            f"The theoretical field of {first.layer} is **{first.receptive_field}x{first.receptive_field}** pixels, but only "
            f"**{first.inside_share:.0%}** of it (**{rows_in}x{cols_in}**) lies inside the 28x28 image: the rest falls in "
            "the zero padding, where no pixel can pass a gradient. The shares below are of the part inside the image."
        )
    field_text = "the field's part inside the image" if first.inside_share < 1 else "the theoretical field"
    for f in fields:
        st.markdown(
            f"**{f.weights} weights:** {f.central_mass:.0%} of the gradient mass lies in the central square, which "
            f"covers {f.central_area:.0%} of {field_text} (an even spread would put {f.central_area:.0%} there). "
            f"Spread: {f.effective_std:.1f} px per axis, against {f.uniform_std:.1f} px for an evenly used "
            f"{rows_in}x{cols_in} field; 90% of the mass fits in a {f.effective_side}x{f.effective_side} square."
        )
    chart(figs.erf_profile_figure(fields))
    st.caption("The same maps seen from the side (mass per input row): a bump that falls off towards the edges, "
               "not the flat top of the theoretical square (dotted).")

# ---------------------------------------------------------------------------
# 4. Head to head
# ---------------------------------------------------------------------------
with tab_h2h:
    st.header("Head to head: train both twins")
    st.markdown(
        "**rf-5x5** (one 5x5 conv, 16 filters, pool, softmax) and **rf-3x3** (two 3x3 convs, 16 filters each, pool, "
        "softmax) trained by the same Trainer on the same images, with the same seed and the same batches in the same "
        "order. Only the convolutions differ."
    )
    if data is None:
        show_missing_data("Training the twins")
    else:
        sizes = [1000, 2000, 3000, 5000, 8000]
        url_state.bind_choice("rf_h2h_size", 2000, sizes)
        url_state.bind_number("rf_h2h_epochs", 1, 1, 3)
        url_state.bind_number("rf_h2h_seed", 0, 0, 9999)
        h1, h2, h3 = st.columns(3)
        train_size = h1.select_slider("training images", sizes, key="rf_h2h_size")
        epochs = h2.slider("epochs", 1, 3, key="rf_h2h_epochs")
        seed = h3.number_input("seed", 0, 9999, key="rf_h2h_seed")
        if st.button("Train both", type="primary", icon=":material/play_arrow:", key="rf_h2h_train"):
            bar = st.progress(0.0, "Starting…")
            try:
                results = rm.train_twins(data, train_size=int(train_size), epochs=int(epochs), seed=int(seed),
                                         seconds_each=90.0, progress=lambda f, m: bar.progress(min(f, 1.0), m))
                st.session_state[H2H_KEY] = {"results": results, "train_size": int(train_size),
                                             "epochs": int(epochs), "seed": int(seed)}
            except Exception as exc:  # never a traceback on the projector
                st.error(f"Training failed: {exc}")
            bar.empty()
        run = st.session_state.get(H2H_KEY)
        if not run:
            st.info("Press **Train both**: a few seconds per model.", icon=":material/info:")
        else:
            results = run["results"]
            st.caption(f"Last run: {run['train_size']:,} images, {run['epochs']} epoch(s), seed {run['seed']}; "
                       f"accuracy on the first {results[0].test_images:,} test images.")
            cols = st.columns(len(results))
            for c, r in zip(cols, results):
                with c.container(border=True):
                    st.subheader(r.model)
                    k1, k2, k3 = st.columns(3)
                    k1.metric("parameters", f"{r.parameters:,}", help=f"{r.conv_parameters:,} of them in the convolutions")
                    k2.metric("seconds / epoch", f"{r.seconds_per_epoch:.1f}")
                    k3.metric("test accuracy", f"{r.test_accuracy:.1%}")
                    if not r.complete:
                        st.warning(f"Stopped after {r.steps} of {r.planned_steps} steps (90 s limit: the server "
                                   "is busy). Seconds per epoch are extrapolated; the accuracies are not comparable. "
                                   "Try fewer training images.")
            chart(figs.head_to_head_figure(results))
            st.caption("Parameters of the convolutions, training time per epoch and test accuracy. On 1-channel "
                       "input the stack has more conv parameters and more multiply-adds, so it is slower per epoch.")
            chart(figs.loss_curves_figure(results))
            st.caption("Training loss per step. Both models saw the same batch at every step, so the curves compare "
                       "the architectures, not luck.")
            st.subheader("What the first layer learned")
            f1, f2 = st.columns(2)
            for c, r in zip((f1, f2), results):
                with c:
                    k = r.filters.shape[-1]
                    chart(heatmap_grid(r.filters, diverging=True, columns=8, height_per_row=110))
                    st.caption(f"{r.model}: the 16 first-layer {k}x{k} filters (red positive, blue negative).")
