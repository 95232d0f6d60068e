"""Receptive fields: do two stacked 3x3 convolutions really replace one 5x5?

Thin page: widgets in, explorer.lab.receptive / explorer.lab.receptive_measure compute,
explorer.figures.receptive draws.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from explorer.figures import receptive as figs
from explorer.i18n import t
from explorer.ui import url_state
from explorer.ui.charts import chart
from explorer.ui.code_view import show_code
from explorer.ui.figure_cache import shared
from explorer.ui.presenter import presenting
from explorer.figures.common import heatmap_grid
from explorer.lab.receptive import FORMULAS, compare_single_vs_stack, conv_params, input_window, receptive_fields
from explorer.lab import receptive_measure as rm
from explorer.ui.resources import mnist_or_none, pretrained_models, show_missing_data

H2H_KEY = "rf_head_to_head"  # results of the head-to-head training, kept for the session
EDITED_KEY = "_rf_stack_shown"  # (preset, rows) of the calculator's stack as last shown
EDITOR_START_KEY = "_rf_stack_start"  # the rows the calculator's editor started from


@st.cache_data(show_spinner=False, max_entries=64)
def _footprints(n: int, row: int, col: int, digit: np.ndarray):
    return rm.compare_footprints(n, row, col, digit=digit)


@st.cache_data(show_spinner=False, max_entries=32)
def _measured_field(model: str, layer_index: int, weights: str, inputs: np.ndarray):
    if weights == "random":
        net = rm.build_model(model, seed=0)
    else:  # our own copy of the pretrained network, built inside the cached call
        from explorer.nn.pretrained import load_pretrained

        net, _ = load_pretrained(model)
    x = net.prepare(inputs)
    return rm.effective_field(net, layer_index, x, model, weights)


def _effective_field(model: str, layer_index: int, weights: str, inputs: np.ndarray):
    """The cached measurement, under a spinner in the page's language (weights: "random" or "trained")."""
    with st.spinner(t("receptive.measuring")):
        return _measured_field(model, layer_index, weights, inputs)


def _problem_text(problem) -> str:
    """A calculator problem in the page's language (its column named as the table names it)."""
    params = dict(problem.params)
    if "column" in params:
        params["column"] = t(f"receptive.column.{params['column']}")
    return t(f"receptive.problem.{problem.code}", **params)


LATEX_WORDS = ("weights", "biases", "parameters", "macs")
TABLE_COLUMNS = {"layer": "layer", "kind": "kind", "output size": "output_size", "receptive field r": "receptive_field",
                 "jump j": "jump", "start": "start"}  # recurrence_table's columns -> catalog ids (k, s, p, d stay symbols)


@st.cache_data(show_spinner=False)
def _synthetic_digit() -> np.ndarray:
    return rm.synthetic_digit()


@st.cache_data(show_spinner=False)
def _conv_layers(model: str) -> list[tuple[int, str]]:
    """(layer index, name) of the model's convolutions: the layers the ERF tab offers."""
    return rm.conv_layers(rm.build_model(model))


TABS = ("compare", "calculator", "erf", "head-to-head")  # URL ids; labels in the catalog (receptive.tab.<id>)
PRESETS = rm.preset_names()  # the app's networks, as the calculator offers them
ERF_MODELS = [name for name in PRESETS if name != "tf-cnn-bn"]  # the CNNs whose field is measured
H2H_SIZES = [1000, 2000, 3000, 5000, 8000]  # training images for the head-to-head


# ---------------------------------------------------------------------------
# 1. The comparison
# ---------------------------------------------------------------------------
def compare_tab(data, digit: np.ndarray, digit_caption: str) -> None:
    if not presenting():
        st.header(t("receptive.compare.header"))

    def _preset(c_in: int, c_out: int, n: int = 2) -> None:
        st.session_state.update(rf_c_in=c_in, rf_c_out=c_out, rf_n=n)

    controls = st.columns([1, 1, 1])
    n = controls[0].slider(t("receptive.compare.n_label"), 1, 5, key="rf_n", help=t("receptive.compare.n_help"),
                           persist_state="page")
    c_in = controls[1].slider(t("receptive.compare.c_in_label"), 1, 128, key="rf_c_in", persist_state="page")
    c_out = controls[2].slider(t("receptive.compare.c_out_label"), 1, 128, key="rf_c_out", persist_state="page")
    b1, b2 = st.columns(2)
    b1.button(t("receptive.compare.preset_deep"), on_click=_preset, args=(64, 64), width="stretch")
    b2.button(t("receptive.compare.preset_mnist"), on_click=_preset, args=(1, 16), width="stretch")

    cmp = compare_single_vs_stack(n, c_in, c_out, 28, "valid")
    single, stack = cmp.single, cmp.stack
    big = 2 * n + 1
    single_label, stack_label = figs.design_label(single), figs.design_label(stack)
    st.session_state["rf_counts"] = {"single": single.params, "stack": stack.params}

    def _verdict() -> None:
        saving = cmp.param_saving
        if saving > 0:
            st.success(
                t("receptive.compare.holds", stack=stack_label, stack_params=f"{stack.params:,}", big=big,
                  single_params=f"{single.params:,}", saving=f"{saving:.0%}"),
                icon=":material/check_circle:",
            )  # fmt: skip
        else:
            st.error(
                t("receptive.compare.fails", stack=stack_label, stack_params=f"{stack.params:,}", big=big,
                  single_params=f"{single.params:,}", ratio=f"{stack.params / single.params:.1f}"),
                icon=":material/cancel:",
            )  # fmt: skip
        # On a projector the caveat folds away (it answers the lesson's question).
        with st.expander(t("receptive.compare.caveat_expander")) if presenting() else st.container():
            same_w, same_b = conv_params(5, 64, 64)
            stack_w = 2 * conv_params(3, 64, 64)[0]
            mnist_single = sum(conv_params(5, 1, 16))
            mnist_stack = sum(conv_params(3, 1, 16)) + sum(conv_params(3, 16, 16))
            st.markdown(t("receptive.compare.caveat", saving=f"{1 - 18 / 25:.0%}", single_weights=f"{same_w:,}",
                          stack_weights=f"{stack_w:,}", mnist_single=f"{mnist_single:,}", mnist_stack=f"{mnist_stack:,}",
                          ratio=f"{mnist_stack / mnist_single:.0f}"))  # fmt: skip

    def _cards() -> None:
        left, right = st.columns(2)
        for col, cost, colour in ((left, single, "blue"), (right, stack, "orange")):
            with col.container(border=True):
                if presenting():  # a smaller title keeps the numbers on the first screen
                    st.markdown(f"**:{colour}[{figs.design_label(cost)}]**")
                else:
                    st.subheader(f":{colour}[{figs.design_label(cost)}]")
                m1, m2, m3 = st.columns(3)
                m1.metric(t("receptive.compare.parameters"), f"{cost.params:,}")
                m2.metric(t("receptive.compare.nonlinearities"), cost.nonlinearities)
                m3.metric(t("receptive.compare.receptive_field"), f"{cost.receptive_field}x{cost.receptive_field}")
                st.caption(t("receptive.compare.macs_caption", macs=f"{cost.macs:,}"))

    if presenting():  # the two cards are the lesson's key chart: first on the projector's screen
        _cards()
        _verdict()
    else:
        _verdict()
        _cards()
    st.markdown(t("receptive.compare.terms_intro"))
    latex_words = {word: t(f"receptive.latex.{word}") for word in LATEX_WORDS}
    for cost, colour in ((single, "blue"), (stack, "orange")):
        tex = rm.cost_latex(cost, latex_words)
        with st.container(border=True):
            st.markdown(t("receptive.compare.terms_title", colour=colour, design=figs.design_label(cost), size=cost.output_size))
            st.latex(tex["weights"])
            st.latex(tex["biases"])  # on its own line: side by side they overflow a phone
            st.latex(tex["params"])
            st.latex(tex["macs"])
    chart(shared(figs.cost_figure)(cmp))
    st.caption(t("receptive.compare.cost_caption"))

    # --- overlay ---------------------------------------------------------------------
    st.subheader(t("receptive.compare.overlay_header"))
    out_size = 28 - 2 * n

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
    row = s1.slider(t("receptive.compare.row_label"), 0, out_size - 1, key="rf_row", persist_state="page")
    col = s2.slider(t("receptive.compare.col_label"), 0, out_size - 1, key="rf_col", persist_state="page")
    if data is not None:
        s3.number_input(t("receptive.compare.digit_label"), 0, len(data.test_images) - 1, key="rf_digit", step=1,
                        persist_state="page")
    else:
        s3.caption(t("receptive.compare.no_mnist_caption"))

    fp_single, fp_stack = _footprints(n, row, col, digit)
    window = fp_single.window
    st.session_state["rf_window"] = {"single": fp_single.window, "stack": fp_stack.window}
    r0, r1, c0, c1 = window
    st.markdown(t("receptive.compare.window_line", row=row, col=col, r0=r0, r1=r1 - 1, c0=c0, c1=c1 - 1,
                  height=r1 - r0, width=c1 - c0))  # fmt: skip
    chart(shared(figs.overlay_figure)(digit, fp_single, fp_stack), key="rf_overlay_chart", on_select=_clicked,
          selection_mode="points")
    st.caption(t("receptive.compare.overlay_caption", digit=digit_caption, count=len(fp_stack.intermediate), big=big))

    # --- measured ---------------------------------------------------------------------
    st.subheader(t("receptive.compare.measured_header"))
    chart(shared(figs.footprint_figure)(fp_single, fp_stack))
    both = fp_single.agrees and fp_stack.agrees
    verdict = t("receptive.compare.measured_agrees") if both else t("receptive.compare.measured_differs")
    (st.success if both else st.warning)(verdict, icon=":material/science:")
    st.caption(t("receptive.compare.measured_caption", single=fp_single.digit_pixels, stack=fp_stack.digit_pixels))

# ---------------------------------------------------------------------------
# 2. Calculator
# ---------------------------------------------------------------------------
def _stack_rows(preset: str) -> pd.DataFrame:
    """The rows the calculator's editor starts from. A closed tab's editor forgets its edits, so
    when it comes back (its key gone) it starts from the rows last shown for this preset; on a
    new preset, from the preset's layers. The start is kept: the editor's edits apply to it."""
    if f"rf_editor_{preset}" not in st.session_state:
        shown_preset, rows = st.session_state.get(EDITED_KEY, (None, None))
        st.session_state[EDITOR_START_KEY] = rows if shown_preset == preset else rm.spec_rows(rm.model_stack(preset))
    return pd.DataFrame(st.session_state[EDITOR_START_KEY], columns=list(rm.CALC_COLUMNS))


def calculator_tab(digit: np.ndarray) -> None:
    st.header(t("receptive.calc.header"))
    st.markdown(t("receptive.calc.intro"))
    top = st.columns([2, 1])
    preset = top[0].selectbox(t("receptive.calc.preset_label"), PRESETS, key="rf_preset", persist_state="page")
    input_size = top[1].number_input(t("receptive.calc.input_size_label"), 1, 1024, step=1, key="rf_input_size",
                                     persist_state="page")
    edited = st.data_editor(
        _stack_rows(preset), key=f"rf_editor_{preset}", num_rows="dynamic", width="stretch", hide_index=True,
        column_config={
            "name": st.column_config.TextColumn(t("receptive.column.name")),
            "kind": st.column_config.SelectboxColumn(t("receptive.column.kind"), options=["conv", "pool"], required=True),
            "kernel": st.column_config.NumberColumn(t("receptive.column.kernel"), step=1),
            "stride": st.column_config.NumberColumn(t("receptive.column.stride"), step=1),
            "padding": st.column_config.NumberColumn(t("receptive.column.padding"), step=1),
            "dilation": st.column_config.NumberColumn(t("receptive.column.dilation"), step=1),
        },
    )
    stack = edited.to_dict("records")
    st.session_state[EDITED_KEY] = (preset, stack)
    specs, problems = rm.parse_stack(stack, int(input_size))
    if problems:
        for problem in problems:
            st.error(_problem_text(problem), icon=":material/error:")
        st.session_state["rf_calc"] = None
    else:
        rows = receptive_fields(specs, int(input_size))
        last = rows[-1]
        st.session_state["rf_calc"] = {"r": last.receptive_field, "jump": last.jump, "size": last.output_size}
        m = st.columns(4)
        m[0].metric(t("receptive.calc.receptive_field"), f"{last.receptive_field}x{last.receptive_field}")
        m[1].metric(t("receptive.calc.jump"), last.jump)
        m[2].metric(t("receptive.calc.start"), f"{last.start:g}")
        m[3].metric(t("receptive.calc.output_size"), f"{last.output_size}x{last.output_size}")
        table = pd.DataFrame(rm.recurrence_table(specs, int(input_size)))
        table = table.rename(columns={name: t(f"receptive.column.{id}") for name, id in TABLE_COLUMNS.items()})
        st.dataframe(table, hide_index=True, width="stretch")
        st.markdown(t("receptive.calc.formulas_intro"))
        st.latex(FORMULAS["receptive_field"])
        st.latex(FORMULAS["jump"] + r",\qquad " + FORMULAS["start"])
        st.latex(FORMULAS["output_size"])
        st.markdown(t("receptive.calc.closed_form_intro"))
        st.latex(FORMULAS["closed_form"])
        st.latex(rm.closed_form_latex(specs))
        show_code(receptive_fields)
        c1, c2 = st.columns(2)
        with c1:
            chart(shared(figs.calculator_figure)(rows))
            st.caption(t("receptive.calc.chart_caption"))
        with c2:
            if int(input_size) == 28:
                windows = [input_window(specs[: i + 1], r.output_size // 2, r.output_size // 2, 28) for i, r in enumerate(rows)]
                chart(shared(figs.nested_fields_figure)(digit, rows, windows))
                st.caption(t("receptive.calc.nested_caption"))
            else:
                st.info(t("receptive.calc.nested_28_only"))

# ---------------------------------------------------------------------------
# 3. Effective receptive field
# ---------------------------------------------------------------------------
def effective_field_tab(data) -> None:
    st.header(t("receptive.erf.header"))
    st.markdown(t("receptive.erf.intro"))
    model = st.session_state["rf_erf_model"]
    net_layers = _conv_layers(model)
    e1, e2, e3 = st.columns(3)
    e1.selectbox(t("receptive.erf.model_label"), ERF_MODELS, key="rf_erf_model", persist_state="page")
    layer_name = e2.selectbox(t("receptive.erf.layer_label"), [name for _, name in net_layers], key="rf_erf_layer",
                              persist_state="page")
    count = e3.slider(t("receptive.erf.count_label"), 2, 32, key="rf_erf_count", persist_state="page")
    layer_index = dict((name, i) for i, name in net_layers)[layer_name]
    if data is not None:
        inputs = np.asarray(data.test_images[:count])
        source = t("receptive.erf.source_digits", count=count)
    else:
        inputs = np.random.default_rng(0).integers(0, 256, (count, 28, 28), dtype=np.uint8)
        source = t("receptive.erf.source_noise", count=count)
    fields = [_effective_field(model, layer_index, "random", inputs)]
    shipped = pretrained_models()
    if model in shipped:
        try:
            fields.append(_effective_field(model, layer_index, "trained", inputs))
        except Exception as exc:  # a corrupt or half-written file must not take the page down
            st.warning(t("receptive.erf.weights_unusable", model=model, error=exc))
    else:
        st.info(t("receptive.erf.no_weights", model=model, shipped=t("receptive.erf.list_separator").join(shipped) or t("receptive.erf.none_shipped")),
                icon=":material/hourglass_top:")  # fmt: skip
    chart(shared(figs.erf_figure)(fields))
    st.caption(t("receptive.erf.caption", layer=layer_name, source=source))
    first = fields[0]
    rows_in, cols_in = first.inside_sides
    if first.inside_share < 1:
        st.markdown(t("receptive.erf.clipped", layer=first.layer, r=first.receptive_field, share=f"{first.inside_share:.0%}",
                      rows=rows_in, cols=cols_in))  # fmt: skip
    field_text = t("receptive.erf.part_inside") if first.inside_share < 1 else t("receptive.erf.whole_field")
    for f in fields:
        st.markdown(t("receptive.erf.mass_line", weights=figs.weights_name(f.weights), mass=f"{f.central_mass:.0%}",
                      area=f"{f.central_area:.0%}", field=field_text, std=f"{f.effective_std:.1f}",
                      uniform=f"{f.uniform_std:.1f}", rows=rows_in, cols=cols_in, side=f.effective_side))  # fmt: skip
    chart(shared(figs.erf_profile_figure)(fields))
    st.caption(t("receptive.erf.profile_caption"))

# ---------------------------------------------------------------------------
# 4. Head to head
# ---------------------------------------------------------------------------
def head_to_head_tab(data) -> None:
    st.header(t("receptive.h2h.header"))
    st.markdown(t("receptive.h2h.intro"))
    if data is None:
        show_missing_data(t("receptive.h2h.missing_feature"))
    else:
        h1, h2, h3 = st.columns(3)
        train_size = h1.select_slider(t("receptive.h2h.size_label"), H2H_SIZES, key="rf_h2h_size", persist_state="page")
        epochs = h2.slider(t("receptive.h2h.epochs_label"), 1, 3, key="rf_h2h_epochs", persist_state="page")
        seed = h3.number_input(t("receptive.h2h.seed_label"), 0, 9999, key="rf_h2h_seed", persist_state="page")
        if st.button(t("receptive.h2h.train_button"), type="primary", icon=":material/play_arrow:", key="rf_h2h_train"):
            bar = st.progress(0.0, t("receptive.h2h.starting"))

            def _progress(fraction: float, model: str | None) -> None:
                bar.progress(min(fraction, 1.0), t("receptive.h2h.training", model=model) if model else t("receptive.h2h.done"))

            try:
                results = rm.train_twins(data, train_size=int(train_size), epochs=int(epochs), seed=int(seed),
                                         seconds_each=90.0, progress=_progress)
                st.session_state[H2H_KEY] = {"results": results, "train_size": int(train_size),
                                             "epochs": int(epochs), "seed": int(seed)}
            except Exception as exc:  # never a traceback on the projector
                st.error(t("receptive.h2h.failed", error=exc))
            bar.empty()
        run = st.session_state.get(H2H_KEY)
        if not run:
            st.info(t("receptive.h2h.press"), icon=":material/info:")
        else:
            results = run["results"]
            st.caption(t("receptive.h2h.last_run", images=f"{run['train_size']:,}", epochs=run["epochs"], seed=run["seed"],
                         test_images=f"{results[0].test_images:,}"))  # fmt: skip
            cols = st.columns(len(results))
            for c, r in zip(cols, results):
                with c.container(border=True):
                    st.subheader(r.model)
                    k1, k2, k3 = st.columns(3)
                    k1.metric(t("receptive.h2h.parameters"), f"{r.parameters:,}",
                              help=t("receptive.h2h.conv_parameters_help", count=f"{r.conv_parameters:,}"))
                    k2.metric(t("receptive.h2h.seconds"), f"{r.seconds_per_epoch:.1f}")
                    k3.metric(t("receptive.h2h.accuracy"), f"{r.test_accuracy:.1%}")
                    if not r.complete:
                        st.warning(t("receptive.h2h.stopped", steps=r.steps, planned=r.planned_steps))
            chart(figs.head_to_head_figure(results))
            st.caption(t("receptive.h2h.bars_caption"))
            chart(figs.loss_curves_figure(results))
            st.caption(t("receptive.h2h.loss_caption"))
            st.subheader(t("receptive.h2h.filters_header"))
            f1, f2 = st.columns(2)
            for c, r in zip((f1, f2), results):
                with c:
                    k = r.filters.shape[-1]
                    chart(heatmap_grid(r.filters, diverging=True, columns=4, height_per_row=90))
                    st.caption(t("receptive.h2h.filters_caption", model=r.model, k=k))


# ---------------------------------------------------------------------------
# The page: every tab's controls are bound to the link first, then only the open tab is drawn
# ---------------------------------------------------------------------------


def _tab_label(tab: str) -> str:
    return t(f"receptive.tab.{tab}")


def _tab_changed() -> None:
    label = st.session_state.get("_rf_tab_label")
    st.session_state["rf_tab"] = next((tab for tab in TABS if _tab_label(tab) == label), "compare")


def bind_every_tab(data) -> None:
    """Bind the controls of all four tabs to the link, open or not: a closed tab's values stay in
    the link (and its widgets keep them, persist_state) until the tab is opened again."""
    url_state.bind_choice("rf_tab", "compare", TABS)  # the open tab is part of the view (a link may open the ERF tab)
    url_state.bind_number("rf_n", 2, 1, 5)
    url_state.bind_number("rf_c_in", 16, 1, 128)
    url_state.bind_number("rf_c_out", 16, 1, 128)
    out_size = 28 - 2 * st.session_state["rf_n"]
    url_state.bind_number("rf_row", out_size // 2, 0, out_size - 1)
    url_state.bind_number("rf_col", out_size // 2, 0, out_size - 1)
    url_state.bind_choice("rf_preset", "lenet" if "lenet" in PRESETS else PRESETS[0], PRESETS)
    url_state.bind_number("rf_input_size", 28, 1, 1024)
    url_state.bind_choice("rf_erf_model", "deepconvnet", ERF_MODELS)
    model = st.session_state["rf_erf_model"]
    if st.session_state.get("_rf_erf_layer_model", model) != model:  # another model: start on its last layer
        st.session_state.pop("rf_erf_layer", None)
    st.session_state["_rf_erf_layer_model"] = model
    layer_names = [name for _, name in _conv_layers(model)]
    url_state.bind_choice("rf_erf_layer", layer_names[-1], layer_names)
    url_state.bind_number("rf_erf_count", 12, 2, 32)
    if data is not None:
        url_state.bind_choice("rf_h2h_size", 2000, H2H_SIZES)
        url_state.bind_number("rf_h2h_epochs", 1, 1, 3)
        url_state.bind_number("rf_h2h_seed", 0, 0, 9999)


st.title(t("pages.receptive_fields.title"))
if not presenting():
    st.markdown(t("receptive.intro"))

data = mnist_or_none()
if data is not None:
    digit_index = url_state.bind_number("rf_digit", 0, 0, len(data.test_images) - 1)
    digit = np.asarray(data.test_images[digit_index])
    digit_caption = t("receptive.digit_caption", index=digit_index, label=int(data.test_labels[digit_index]))
else:
    digit = _synthetic_digit()
    digit_caption = t("receptive.synthetic_caption")
bind_every_tab(data)

# Only the open tab is drawn (a tab click reruns the page): a phone's first view draws one tab's
# charts and tables, not four, and every slider move reruns one tab.
tabs = st.tabs([_tab_label(tab) for tab in TABS], default=_tab_label(st.session_state["rf_tab"]), key="_rf_tab_label",
               on_change=_tab_changed)  # fmt: skip
drawers = (lambda: compare_tab(data, digit, digit_caption), lambda: calculator_tab(digit),
           lambda: effective_field_tab(data), lambda: head_to_head_tab(data))  # fmt: skip
for tab, draw in zip(tabs, drawers):
    if tab.open:
        with tab:
            draw()
