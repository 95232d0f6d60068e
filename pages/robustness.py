"""Robustness & confidence: where do the networks break, and how sure are they when they do?

Thin page: explorer.lab.robustness and explorer.lab.calibration compute, explorer.figures.robustness
draws. Only the chosen view computes: the curves of one perturbation for the chosen models, the
student's digit through one perturbation, or one model's calibration on the test set.
"""
from __future__ import annotations

import numpy as np
import streamlit as st

from explorer.figures import robustness as figs
from explorer.data.preprocess import ImageError, open_upload, preprocess_digit
from explorer.i18n import t
from explorer.lab import calibration as cal
from explorer.lab import robustness as rb
from explorer.nn.pretrained import load_pretrained
from explorer.ui import url_state
from explorer.ui.charts import chart
from explorer.ui.digit_input import draw_digit, pick_test_digit
from explorer.ui.resources import mnist_or_none, pretrained_models, session_pretrained

VIEWS = ("curves", "digit", "confidence")
SOURCES = ("test", "draw", "upload")
UPLOAD_TYPES = ["png", "jpg", "jpeg", "gif", "bmp", "webp"]
GALLERY_SIZE = 16


@st.cache_resource(show_spinner=False)
def _sample() -> tuple[np.ndarray, np.ndarray] | None:
    """The fixed sample of test digits every curve is measured on (once per process)."""
    data = mnist_or_none()
    if data is None:
        return None
    indices = rb.fixed_sample(data.test_labels)
    return np.array(data.test_images[indices]), np.array(data.test_labels[indices])


@st.cache_data(show_spinner=False, max_entries=128)
def _curve(model: str, perturbation: str) -> rb.Curve:
    images, labels = _sample()
    net, _ = load_pretrained(model)  # our own copy, built inside the cached call
    return rb.accuracy_curve(net.predict_proba, images, labels, perturbation)


@st.cache_data(show_spinner=False, max_entries=16)
def _test_scores(model: str) -> np.ndarray:
    data = mnist_or_none()
    net, _ = load_pretrained(model)
    return cal.logits(net, data.test_images)


@st.cache_data(show_spinner=False, max_entries=16)
def _fitted_temperature(model: str) -> float:
    """Only for a model whose card carries no temperature yet (python -m explorer.cli.calibrate writes it)."""
    data = mnist_or_none()
    net, _ = load_pretrained(model)
    images, labels = cal.validation_split(data)
    return cal.fit_temperature(cal.logits(net, images), labels)


# ---------------------------------------------------------------------------------------------

models = pretrained_models()
everyday_models = [name for name in models if not name.endswith("-article")] or models
data = mnist_or_none()

url_state.bind_choice("rb_view", "curves", VIEWS)
url_state.bind_choice("rb_kind", "rotation", list(rb.PERTURBATIONS))
url_state.bind("rb_models", everyday_models, options=models)
url_state.bind_choice("rb_model", "lenet" if "lenet" in models else models[0], models)
kind = st.session_state["rb_kind"]
perturbation = rb.PERTURBATIONS[kind]
url_state.bind_choice("rb_amount", perturbation.neutral, perturbation.levels)
url_state.bind_choice("rb_source", "test", SOURCES)
url_state.bind("rb_show_confidence", True)
for key in ("rb_kind", "rb_models", "rb_model", "rb_amount", "rb_source", "rb_show_confidence"):
    st.session_state[key] = st.session_state[key]  # a view keeps its choices while another view hides its widgets

st.title(t("robustness.title"))
st.markdown(t("robustness.intro"))

view_labels = {v: t(f"robustness.view.{v}") for v in VIEWS}  # built in the run: AppTest formats outside it
view = st.radio(t("robustness.view_label"), VIEWS, format_func=view_labels.get,
                horizontal=True, key="rb_view")  # fmt: skip

if not models:
    st.error(t("robustness.no_models"), icon=":material/error:")
    st.stop()


def _kind_picker() -> str:
    labels = {kind: t(f"robustness.kind.{kind}") for kind in rb.PERTURBATIONS}
    return st.selectbox(t("robustness.kind_label"), list(labels), key="rb_kind", format_func=labels.get)


def _amount_slider(kind: str):
    return st.select_slider(t("robustness.amount_label"), options=list(rb.PERTURBATIONS[kind].levels), key="rb_amount",
                            format_func=lambda level: figs.level_text(kind, level))  # fmt: skip


def _no_data() -> None:
    st.warning(t("robustness.no_data"), icon=":material/cloud_download:")


# --- 1. the curves --------------------------------------------------------------------------
def curves_view() -> None:
    st.markdown(t("robustness.curves.intro", count=rb.SAMPLE_SIZE))
    if data is None:
        _no_data()
        return
    left, right = st.columns([1, 2])
    with left:
        kind = _kind_picker()
    with right:
        chosen = st.pills(t("robustness.models_label"), models, selection_mode="multi", key="rb_models", wrap=True)  # every name readable
    st.caption(t(f"robustness.explain.{kind}"))
    images, labels = _sample()
    examples = images[[np.flatnonzero(labels == digit)[0] for digit in (2, 7)]]
    levels = rb.PERTURBATIONS[kind].levels
    for example in examples:
        row = np.stack([rb.perturb(example, kind, level) for level in levels])
        chart(figs.strip(row, [figs.level_text(kind, level) for level in levels]), toolbar=False)
    if not chosen:
        st.info(t("robustness.curves.pick_models"), icon=":material/checklist:")
        return
    progress = st.progress(0.0, text=t("robustness.curves.computing", count=rb.SAMPLE_SIZE))
    curves = {}
    for done, model in enumerate(chosen, start=1):  # the first visitor sees each model's curve arrive
        curves[model] = _curve(model, kind)
        progress.progress(done / len(chosen), text=t("robustness.curves.computing", count=rb.SAMPLE_SIZE))
    progress.empty()
    show_confidence = st.toggle(t("robustness.curves.show_confidence"), key="rb_show_confidence")
    chart(figs.curves_figure(curves, kind, show_confidence))
    st.caption(t("robustness.curves.how_to_read"))
    _summary(curves, kind)


def _summary(curves: dict[str, rb.Curve], kind: str) -> None:
    neutral = rb.PERTURBATIONS[kind].neutral
    rows = []
    for model, curve in curves.items():
        breaks = rb.breaking_point(curve, neutral)
        rows.append({
            t("robustness.table.model"): model,
            t("robustness.table.clean"): f"{curve.at(neutral):.1%}",
            t("robustness.table.worst"): f"{curve.worst:.1%}",
            t("robustness.table.breaks"): figs.level_text(kind, breaks) if breaks is not None else t("robustness.table.never"),
        })  # fmt: skip
    st.dataframe(rows, hide_index=True)
    st.caption(t("robustness.table.caption"))


# --- 2. your digit ---------------------------------------------------------------------------
def digit_view() -> None:
    st.markdown(t("robustness.digit.intro"))
    labels = {source: t(f"robustness.digit.source.{source}") for source in SOURCES}
    source = st.radio(t("robustness.digit.source_label"), SOURCES, horizontal=True, key="rb_source", format_func=labels.get)
    if source == "upload":
        image, label = _uploaded_digit(), None
    else:
        digit = pick_test_digit(data, "rb") if source == "test" else draw_digit("rb")
        if digit is None and source == "draw":
            st.info(t("robustness.digit.draw_first"), icon=":material/draw:")
        image, label = (digit.image, digit.label) if digit is not None else (None, None)
    if image is None:
        return
    left, right = st.columns(2)
    with left:
        kind = _kind_picker()
    with right:
        model = st.selectbox(t("robustness.model_label"), models, key="rb_model")
    amount = _amount_slider(kind)
    net, _ = session_pretrained(model)
    changed = rb.perturb(image, kind, amount)
    image_column, bars_column = st.columns([1, 2])
    probabilities = net.predict_proba(changed[None])[0]
    with image_column:
        chart(figs.strip(changed[None], [figs.level_text(kind, amount)], height=260), toolbar=False)
    with bars_column:
        chart(figs.probability_bars(probabilities, label), toolbar=False)
    answer = int(probabilities.argmax())
    st.markdown(t("robustness.digit.answer", digit=answer, share=f"{probabilities[answer]:.0%}"))
    levels = rb.PERTURBATIONS[kind].levels
    every_level = np.stack([rb.perturb(image, kind, level) for level in levels])
    answers = net.predict_proba(every_level)
    captions = [f"{figs.level_text(kind, level)}: {p.argmax()}" for level, p in zip(levels, answers)]
    chart(figs.strip(every_level, captions), toolbar=False)
    st.caption(t("robustness.digit.strip_caption", model=model))


def _uploaded_digit() -> np.ndarray | None:
    """A photo or a scan of one digit, preprocessed like MNIST; None (after a note) until there is one."""
    upload = st.file_uploader(t("robustness.digit.upload_label"), type=UPLOAD_TYPES, key="rb_upload")
    if upload is None:
        st.info(t("robustness.digit.upload_info"), icon=":material/upload:")
        return None
    try:
        return preprocess_digit(open_upload(upload.getvalue()), pictures=False).digit
    except ImageError as error:  # a message in the page's language when it carries a catalog key
        message = t(error.key, **error.params) if getattr(error, "key", None) else str(error)
        st.warning(message, icon=":material/broken_image:")
    except Exception as error:  # noqa: BLE001 - never a traceback for a user's file
        st.warning(t("robustness.digit.upload_unreadable", error=type(error).__name__), icon=":material/broken_image:")
    return None


# --- 3. honest confidence ------------------------------------------------------------------
def confidence_view() -> None:
    st.markdown(t("confidence.intro"))
    if data is None:
        _no_data()
        return
    model = st.selectbox(t("robustness.model_label"), models, key="rb_model")
    _, card = session_pretrained(model)
    with st.spinner(t("confidence.computing", model=model)):
        scores = _test_scores(model)
        temperature = card.get("temperature")
        if not isinstance(temperature, (int, float)) or temperature <= 0:
            temperature = _fitted_temperature(model)
            st.caption(t("confidence.fitted_here"))
    labels = np.asarray(data.test_labels)
    result = cal.calibrate(model, scores, labels, temperature)
    metrics = st.columns(4)
    metrics[0].metric(t("confidence.metric.accuracy"), f"{result.accuracy:.2%}")
    metrics[1].metric(t("confidence.metric.ece_before"), f"{result.before.ece:.2%}")
    metrics[2].metric(t("confidence.metric.ece_after"), f"{result.after.ece:.2%}",
                      delta=f"{result.after.ece - result.before.ece:+.2%}", delta_color="inverse")  # fmt: skip
    metrics[3].metric(t("confidence.metric.temperature"), f"{temperature:.2f}")
    st.markdown(t("confidence.ece_explain"))
    st.latex(r"\mathrm{ECE} = \sum_{b=1}^{B} \frac{n_b}{N}\,\bigl|\,\mathrm{acc}(b) - \mathrm{conf}(b)\,\bigr|")
    st.latex(r"p_T(k \mid x) = \frac{e^{z_k / T}}{\sum_j e^{z_j / T}}")
    st.markdown(t("confidence.temperature_explain", temperature=f"{temperature:.2f}"))
    chart(figs.reliability_figure(result.before, result.after, temperature))
    st.caption(t("confidence.reliability_caption"))
    chart(figs.confidence_histogram(result.before, result.after))
    top = result.before.counts[-1] / len(labels)
    st.caption(t("confidence.histogram_caption", share=f"{top:.1%}",
                 right=f"{result.before.accuracy[-1]:.2%}"))  # fmt: skip
    st.markdown(t("confidence.clean_vs_changed"))
    _galleries(cal.softmax(scores), labels)


def _galleries(probabilities: np.ndarray, labels: np.ndarray) -> None:
    answers = probabilities.argmax(axis=1)
    st.subheader(t("confidence.least_sure_title"))
    unsure = cal.least_sure(probabilities, GALLERY_SIZE)
    captions = [f"{answers[i]} · {probabilities[i].max():.0%}" for i in unsure]
    chart(figs.gallery(np.asarray(data.test_images[unsure]), captions), toolbar=False)
    st.caption(t("confidence.least_sure_caption"))
    st.subheader(t("confidence.mistakes_title"))
    mistakes = cal.confident_mistakes(probabilities, labels, GALLERY_SIZE)
    if not len(mistakes):
        st.success(t("confidence.no_mistakes"))
        return
    captions = [f"{labels[i]}→{answers[i]} · {probabilities[i].max():.0%}" for i in mistakes]
    chart(figs.gallery(np.asarray(data.test_images[mistakes]), captions), toolbar=False)
    st.caption(t("confidence.mistakes_caption", count=f"{int((answers != labels).sum()):,}"))


{"curves": curves_view, "digit": digit_view, "confidence": confidence_view}[view]()
