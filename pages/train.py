"""Train page: watch a network learn MNIST, and see why the optimizer and the initialisation matter.

Thin on purpose: the training logic is in explorer/lab/compare.py and explorer/nn/training.py, the
figures in explorer/figures/training.py, the session state in explorer/ui/train_state.py.
"""
from __future__ import annotations

import numpy as np
import streamlit as st

from explorer.lab.compare import (
    AUGMENT_NAMES, MAX_CONFIGS, PRESETS, ROTATED_DEGREES, ROTATED_SIZE, downsample, final_loss, run_label, smooth,
)  # fmt: skip
from explorer.data.augment import turns_digits
from explorer.data.class_rooms import ClassRoomError
from explorer.data.classdb import ClassDbUnavailable
from explorer.figures import training as figs
from explorer.i18n import t
from explorer.lab.class_eval import MIN_DIGITS
from explorer.nn.inits import INITS
from explorer.nn.models import MODELS, build_model
from explorer.lab.optim_paths import SURFACES, contour_grid, default_hyper, optimizer_path
from explorer.nn.optimizers import OPTIMIZERS
from explorer.nn.pretrained import available as shipped_models
from explorer.nn.training import TrainConfig
from explorer.ui import class_view
from explorer.ui import train_state as ts
from explorer.ui import url_state
from explorer.ui.app_setup import page_for_link
from explorer.ui.charts import chart, scroll_css
from explorer.ui.code_view import show_init_code, show_optimizer_code
from explorer.ui.presenter import presenting
from explorer.ui.resources import mnist_or_none, show_missing_data

TICK = 0.8  # seconds between live updates of the curves while training
INSIDE_TICK = 2.5  # seconds between updates of the (costlier) views inside the network
STREAM = 6  # test digits in the prediction stream
STREAM_DIGIT_PX = 110  # width a digit's title ("✓ 2 (100%)") needs: a phone scrolls the stream rather than overlap them
LRS = [1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 5e-3, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 1000.0]
BATCHES = [1, 8, 10, 16, 32, 64, 100, 128, 256, 512]
TRAIN_SIZES = [1000, 2000, 5000, 10000, 20000, 30000, 55000]
EPS = [1e-8, 1e-7, 1e-6, 1e-4, 1e-2]
MODES = ["train", "compare", "paths"]  # views: their names are train.mode.<id>
AUGMENTS = list(AUGMENT_NAMES)  # none, shift, shift+rotate, shift+scale, shift+flip, the real-world recipe
CUSTOM = "custom"
OPT_NAMES = {name: cls.__name__ for name, cls in OPTIMIZERS.items()}
HYPER_KEYS = ("momentum", "beta1", "beta2", "rho", "eps")
PRESENTER_CHART_HEIGHT = 330  # px: the race's charts fit a 1280x720 projector under the lesson card
PRESENTER_PATHS_HEIGHT = 470  # px: the paths, their legend and both axes fit it too
RUN_PARAM = "run"  # the URL marker of a live run (a run cannot live in a URL: this only says there was one)
DEFAULT_MODEL = "keras-mlp"
ASKED = "tr_asked"  # what a click on Start, Resume or Step asked for, until this page run does it
ss = st.session_state


def key_part(value: str) -> str:
    """An id as a catalog key part: std0.01 -> std0_01, shift+rotate -> shift_rotate."""
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in value)


def init_name(init: str) -> str:
    return t(f"train.init_name.{key_part(init)}")


def augment_name(augment: str) -> str:
    return t(f"train.augment.{key_part(augment)}")


def label_part(kind: str, value) -> str:
    """One part of a run's label (compare.run_label), in the reader's language."""
    if kind == "init":
        return t("train.label.init", name=init_name(value))
    if kind == "augment":
        return augment_name(value)
    return t("train.label.batch", size=value)


def shown_label(config: TrainConfig, peers: list[TrainConfig]) -> str:
    return run_label(config, peers, label_part)


def record_label(record) -> str:
    return shown_label(TrainConfig(**record.config), [TrainConfig(**peer) for peer in record.peers])


@st.cache_data(show_spinner=False)
def parameter_count(model: str) -> int:
    return build_model(model).parameter_count()


def nearest(options, value):
    return min(options, key=lambda o: abs(np.log(o) - np.log(value)))


# --- settings ------------------------------------------------------------------------------
def optimizer_defaults(model: str, optimizer: str) -> dict:
    """The sidebar values an optimizer starts with on this model (learning rate and extras)."""
    spec, defaults = MODELS[model], OPTIMIZERS[optimizer].DEFAULTS
    values = {"tr_lr": nearest(LRS, spec.recipe.lr if optimizer == spec.recipe.optimizer else defaults["lr"])}
    for name in HYPER_KEYS:
        if name in defaults:
            values[f"tr_{name}"] = nearest(EPS, defaults[name]) if name == "eps" else defaults[name]
    return values


def model_defaults(model: str) -> dict:
    """The sidebar values a model starts with: its article's recipe (3 epochs for the Keras MLP)."""
    spec = MODELS[model]
    r = spec.recipe
    return {"tr_optimizer": r.optimizer, "tr_init": r.init, "tr_activation": spec.activation, "tr_batch": nearest(BATCHES, r.batch_size),
            "tr_epochs": 3 if model == DEFAULT_MODEL else min(r.epochs, 30), "tr_augment": r.augment if r.augment in AUGMENTS else "none"}  # fmt: skip


# A model or optimizer change resets the settings that depend on it. On a busy server the
# student's next click (Start, often) can leave the browser before that rerun has come back; it
# carries the browser's old settings, which Streamlit takes for the student's choice: the new
# model with the old model's recipe. So each reset is numbered in a hidden widget the browser
# echoes back (SEEN): a click echoing an older number was sent before the browser saw the reset,
# and the page applies the reset again, except where the click carries a value the browser did not
# have before the reset: the student chose it meanwhile.
SEEN = "tr_seen_reset"  # the hidden widget: the number of the last reset the browser has shown
RESET = "_tr_reset"  # (number, values, the values before) of the last reset


def reset_settings(values: dict) -> None:
    before = {key: ss.get(key) for key in values}
    ss.update(values)
    number = ss.get(RESET, (0, {}, {}))[0] + 1
    ss[RESET] = (number, values, before)
    ss[SEEN] = str(number)


def sent_before_the_reset() -> bool:
    """Was this rerun's click sent by a browser that had not yet shown the last reset?"""
    return RESET in ss and ss.get(SEEN) != str(ss[RESET][0])


def apply_optimizer_defaults() -> None:
    if not sent_before_the_reset():  # else the browser's old optimizer came back, not a choice
        reset_settings({"tr_optimizer": ss["tr_optimizer"], **optimizer_defaults(ss["tr_model"], ss["tr_optimizer"])})


def apply_model_defaults() -> None:
    values = {"tr_model": ss["tr_model"], **model_defaults(ss["tr_model"])}
    reset_settings({**values, **optimizer_defaults(ss["tr_model"], values["tr_optimizer"])})


def reapply_a_reset_the_browser_missed() -> None:
    """The click's values that the browser had before the reset are its echo: the reset's replace
    them. Another value is the student's choice, made meanwhile: it stays, and a chosen model or
    optimizer brings its own defaults."""
    if not sent_before_the_reset():
        return
    number, values, before = ss[RESET]
    chosen = {key for key in values if key in ss and ss[key] not in (before[key], values[key])}
    ss.update({key: value for key, value in values.items() if key not in chosen})
    ss[SEEN] = str(number)
    if "tr_model" in chosen:
        apply_model_defaults()
    elif "tr_optimizer" in chosen:
        apply_optimizer_defaults()


def seen_reset_widget() -> None:
    """The hidden widget of SEEN (explorer/ui/app_setup.py hides it): the browser holds the number
    the server last gave it."""
    st.sidebar.text_input(t("train.sidebar.seen_reset"), key=SEEN, label_visibility="collapsed", persist_state="session")


def bind_settings() -> None:
    """Every sidebar value from the link (or the session, or its default). A link that changes the
    model or optimizer first resets what depends on it, so a shared link shows what its author saw."""
    reapply_a_reset_the_browser_missed()
    before = ss.get("tr_model")
    url_state.bind("tr_model", DEFAULT_MODEL, options=list(MODELS))
    model = ss["tr_model"]
    if before is not None and before != model:
        apply_model_defaults()
    defaults = model_defaults(model)
    spec = MODELS[model]
    before = ss.get("tr_optimizer")
    url_state.bind("tr_optimizer", defaults["tr_optimizer"], options=list(OPTIMIZERS))
    if before is not None and before != ss["tr_optimizer"]:
        apply_optimizer_defaults()  # the link switched the optimizer: its defaults, unless the link says more
    url_state.bind("tr_init", defaults["tr_init"], options=list(INITS))
    url_state.bind("tr_activation", defaults["tr_activation"], options=list(dict.fromkeys([spec.activation, *spec.activations])))
    url_state.bind("tr_batch", defaults["tr_batch"], options=BATCHES)
    url_state.bind("tr_epochs", defaults["tr_epochs"], valid=lambda v: 1 <= v <= 30)
    url_state.bind("tr_augment", defaults["tr_augment"], options=AUGMENTS)
    url_state.bind("tr_train_size", 10000, options=TRAIN_SIZES)
    url_state.bind("tr_seed", 0, valid=lambda v: 0 <= v <= 99_999)
    for key, default in optimizer_defaults(model, ss["tr_optimizer"]).items():
        url_state.bind(key, default, options=LRS if key == "tr_lr" else EPS if key == "tr_eps" else None)


def settings() -> TrainConfig:
    """The sidebar controls; returns the config they describe."""
    bind_settings()
    sb = st.sidebar
    sb.header(t("train.sidebar.header"))
    if ss.get("tr_mode") == "compare" and ss.get("cmp_preset") != CUSTOM:
        sb.info(t("train.sidebar.preset_fixes"), icon=":material/info:")
    model = sb.selectbox(t("train.sidebar.architecture"), list(MODELS), key="tr_model", on_change=apply_model_defaults,
                         persist_state="session", format_func=lambda m: t(f"train.model.{m}.title"))  # fmt: skip
    sb.caption(t("train.sidebar.model_caption", description=t(f"train.model.{model}.description"), count=f"{parameter_count(model):,}"))
    spec = MODELS[model]

    optimizer = sb.selectbox(t("train.sidebar.optimizer"), list(OPTIMIZERS), key="tr_optimizer", on_change=apply_optimizer_defaults,
                             format_func=OPT_NAMES.get, persist_state="session")  # fmt: skip
    cls = OPTIMIZERS[optimizer]
    lr = sb.select_slider(t("train.sidebar.lr"), LRS, key="tr_lr", format_func=lambda v: f"{v:g}", persist_state="session",
                          help=t("train.sidebar.lr_help"))  # fmt: skip
    hyper = {}
    if "momentum" in cls.DEFAULTS:
        hyper["momentum"] = sb.slider(t("train.sidebar.momentum"), 0.0, 0.99, key="tr_momentum", step=0.01, persist_state="session")
    if "beta1" in cls.DEFAULTS:
        hyper["beta1"] = sb.slider(t("train.sidebar.beta1"), 0.0, 0.99, key="tr_beta1", step=0.01, persist_state="session")
        hyper["beta2"] = sb.slider(t("train.sidebar.beta2"), 0.9, 0.9999, key="tr_beta2", step=0.0001, format="%.4f", persist_state="session")
    if "rho" in cls.DEFAULTS:
        hyper["rho"] = sb.slider(t("train.sidebar.rho"), 0.0, 0.999, key="tr_rho", step=0.001, format="%.3f", persist_state="session")
    if "eps" in cls.DEFAULTS:
        hyper["eps"] = sb.select_slider(t("train.sidebar.eps"), EPS, key="tr_eps", format_func=lambda v: f"{v:g}", persist_state="session")
    sb.caption(t("train.sidebar.optimizer_caption", name=cls.__name__, about=t(f"train.optimizer.{optimizer}")))

    init = sb.selectbox(t("train.sidebar.init"), list(INITS), key="tr_init", persist_state="session", format_func=init_name)
    sb.caption(t(f"train.init.{key_part(init)}"))
    choices = list(dict.fromkeys([spec.activation, *spec.activations]))
    activation = spec.activation
    if len(choices) > 1:
        activation = sb.selectbox(t("train.sidebar.activation"), choices, key="tr_activation", persist_state="session")
    elif not spec.activations and model == "zhou-cnn":
        sb.caption(t("train.sidebar.no_activation"))
    else:
        sb.caption(t("train.sidebar.fixed_activation", name=spec.activation))

    batch = sb.select_slider(t("train.sidebar.batch"), BATCHES, key="tr_batch", persist_state="session")
    train_size = sb.select_slider(t("train.sidebar.train_size"), TRAIN_SIZES, key="tr_train_size", format_func=lambda v: f"{v:,}",
                                  persist_state="session")  # fmt: skip
    epochs = sb.slider(t("train.sidebar.epochs"), 1, 30, key="tr_epochs", persist_state="session")
    augment = sb.selectbox(t("train.sidebar.augment"), AUGMENTS, key="tr_augment", format_func=augment_name, persist_state="session",
                           help=t("train.sidebar.augment_help"))  # fmt: skip
    seed = sb.number_input(t("train.sidebar.seed"), 0, 99_999, key="tr_seed", step=1, persist_state="session",
                           help=t("train.sidebar.seed_help"))  # fmt: skip
    seen_reset_widget()
    return TrainConfig(model=model, optimizer=optimizer, lr=float(lr), init=init, activation=activation,
                       batch_size=int(batch), epochs=int(epochs), train_size=int(train_size),
                       augment=augment, seed=int(seed), hyper=hyper)  # fmt: skip


STRUCTURAL = ["model", "init", "activation", "optimizer", "batch_size", "train_size", "epochs", "augment", "seed"]  # train.field.<name>


def changed_fields(run_config: TrainConfig, wanted: TrainConfig) -> list[str]:
    wanted = wanted.resolved()
    return [t(f"train.field.{name}") for name in STRUCTURAL if getattr(run_config, name) != getattr(wanted, name)]


def apply_live_hyper(run, config: TrainConfig) -> None:
    """Learning rate and optimizer hyperparameters apply from the next step."""
    if run.config.optimizer != config.optimizer:
        return
    opt = run.trainer.optimizer
    if opt.lr != config.lr:
        run.trainer.set_learning_rate(config.lr)
    for name, value in config.hyper.items():
        if name in opt.DEFAULTS:
            setattr(opt, name, float(value))


# --- clicks that start training ---------------------------------------------------------------
def ask(action: str) -> None:
    """The callback of Start, Resume and Step. A callback's arguments are those of the page as it
    was drawn, and on a busy server a quick click outruns the rerun of a change: Start clicked
    before a model change came back trained the old model. So the click is noted here, and the
    page run does it (`asked`) with the settings that run shows."""
    ss[ASKED] = action


def asked(action: str) -> bool:
    """Did a click ask for `action`? True once: the caller does it now."""
    if ss.get(ASKED) != action:
        return False
    del ss[ASKED]
    return True


# --- single run ------------------------------------------------------------------------------
def train_section(config: TrainConfig, data) -> None:
    room, class_digits, missing = class_test_set()
    url_state.bind("tr_class", True)
    tested_on = class_digits if class_digits is not None and ss["tr_class"] else None
    if asked("start"):
        ts.start(config, data, tested_on)
    elif asked("step"):
        ts.step_once(config, data, tested_on)
    run = ts.current_run()
    if run is not None:
        ts.finish_if_done(run)
    running = run is not None and run.status in ("running", "evaluating")

    page_styles()
    cols = st.container(key="tr_buttons").columns([1, 1, 1, 1.1], vertical_alignment="center")
    if run is None or run.done:
        cols[0].button(t("train.start"), key="btn_start", type="primary", icon=":material/play_arrow:", on_click=ask, args=("start",),
                       width="stretch", help=t("train.class.start_help"))  # fmt: skip
    elif run.status == "running":
        cols[0].button(t("train.pause"), key="btn_pause", type="primary", icon=":material/pause:", on_click=ts.pause, width="stretch",
                       help=t("train.class.pause_help"))  # fmt: skip
    elif run.status == "evaluating":
        cols[0].button(t("train.testing"), key="btn_testing", disabled=True, width="stretch", help=t("train.testing_help"))
    else:
        cols[0].button(t("train.resume"), key="btn_resume", type="primary", icon=":material/play_arrow:", on_click=ask, args=("start",), width="stretch",
                       help=t("train.class.resume_help"))  # fmt: skip
    cols[1].button(t("train.step"), key="btn_step", icon=":material/skip_next:", on_click=ask, args=("step",),
                   disabled=running or (run is not None and run.done), help=t("train.step_help"), width="stretch")  # fmt: skip
    cols[2].button(t("train.reset"), key="btn_reset", icon=":material/restart_alt:", on_click=ts.reset, disabled=run is None, width="stretch",
                   help=t("train.reset_help"))  # fmt: skip
    url_state.bind("tr_log", False)
    log_y = cols[3].toggle(t("train.log_scale"), key="tr_log", persist_state="session", help=t("train.log_scale_help"))

    if run is not None:
        apply_live_hyper(run, config)
        changed = t("train.field.separator").join(changed_fields(run.config, config))
        if changed and not run.done:
            st.warning(t("train.changed_running", fields=changed), icon=":material/info:")
        elif changed:
            st.info(t("train.changed_next", fields=changed), icon=":material/info:")
        if run.status == "diverged":
            st.error(t("train.diverged", reason=stop_message(run)), icon=":material/error:")
        elif run.status == "failed":
            st.error(stop_message(run), icon=":material/error:")

    tick = ts.update_interval(TICK)  # longer when many sessions train: clicks stay quick

    @st.fragment(run_every=tick if running else None)
    def live():
        r = ts.current_run()
        if r is not None and r.status in ("running", "evaluating"):
            ts.keep_training(r.id, r.work)  # the scheduler trains it between our updates; we draw
            show_share()
        if r is not None and running and r.status not in ("running", "evaluating"):
            st.rerun(scope="app")  # it stopped since the page ran: show the buttons and results of the new state
        draw_live(r, log_y)
        if running and ts.update_interval_moved(tick, TICK):
            st.rerun(scope="app")  # set the fragments' new pace

    live()
    class_digits_line(room, class_digits, missing)

    show_rule(config)

    @st.fragment(run_every=INSIDE_TICK * tick / TICK if running else None)
    def internals():
        r = ts.current_run()
        if r is not None:
            inside(r)
            if r.status not in ("running", "evaluating"):
                r.release()  # drawing ran the probe batch: drop its buffers again

    if wants_inside():
        watched = run is not None and run.monitor is not None
        if watched:  # the heading and the code are the same at every update: drawn with the page
            st.subheader(t("train.inside.header"))
        internals()
        if watched:
            show_init_code()
    if run is not None and run.status == "finished":
        after_training(run, data)
    fine_tune_section(room, class_digits, missing, data)


def stop_message(run) -> str:
    """Why a run stopped (diverged or failed), in the reader's language."""
    return t(f"train.stop.{run.message_code}", **run.message_params)


def show_share() -> None:
    text = ts.share_text()
    if text:
        st.caption(text, help=t("train.share.help"))


def wants_inside() -> bool:
    """The (long) inside-the-network section: always, except in presenter mode and on a crowded
    server (ts.crowd_size), where it is drawn when asked for."""
    training = ts.training_count()
    crowded = training >= ts.crowd_size()
    if not presenting() and not crowded:
        return True
    url_state.bind("tr_inside", False)
    return st.toggle(t("train.inside.show"), key="tr_inside", help=t("train.inside.crowded", count=training) if crowded else None)


def draw_live(run, log_y: bool) -> None:
    if run is None:
        st.info(t("train.start_hint"), icon=":material/school:")
    else:
        status = t(f"train.status.{run.status}")
        if run.status == "evaluating" and run.evaluator is not None:
            status = t("train.status.testing_count", done=f"{run.evaluator.done_count:,}")
        st.progress(run.progress, text=f"{status}: {shown_label(run.config, run.peers)}")
    left, right = st.columns(2)
    with left:
        losses = run.losses.values if run is not None else np.zeros(0)
        steps, raw, smoothed = ts.plotted_loss(losses)
        chart(figs.loss_figure(steps, raw, smoothed, log_y=log_y), key="fig_loss")
        st.caption(t("train.loss_caption"))
    with right:
        ep = run.trainer.history.epochs if run is not None else []
        curve = ts.class_curve(run)
        fig = figs.accuracy_figure([e.epoch for e in ep], [e.train_accuracy for e in ep], [e.val_accuracy for e in ep],
                                   run.trainer.history.test_accuracy if run is not None else None,
                                   class_curve=None if curve is None else (curve.epochs, curve.values))  # fmt: skip
        chart(fig, key="fig_acc")
        caption = t("train.accuracy_caption")
        if curve is not None:
            caption += " " + t("train.class.curve_caption", count=f"{len(curve):,}")
        st.caption(caption)
    metrics(run)
    if run is not None:
        if len(run.losses) > 60:
            losses = run.losses.values
            if np.mean(losses[-20:]) > 1.5 * np.mean(losses[:10]) + 0.1:
                st.warning(t("train.loss_rising"), icon=":material/trending_up:")
        stream(run)


def metrics(run) -> None:
    """Six short numbers, each label short enough for a 1280 px window; the details are in the tooltips.
    One row container (page_styles wraps it in rows of three, two on a phone): progress (step, epoch),
    learning (loss, accuracy), the machine (speed, memory). One container, not three columns: 3
    messages fewer at every live update."""
    row = st.container(horizontal=True, key="tr_metrics")
    if run is None:
        for name in ("step", "epoch", "loss", "accuracy", "speed", "memory"):
            row.metric(t(f"train.metrics.{name}"), "–")
        return
    total = run.trainer.total_steps
    row.metric(t("train.metrics.step"), f"{run.step:,}", help=t("train.metrics.step_help", total=f"{total:,}"))
    row.metric(t("train.metrics.epoch"), f"{run.epoch_in_progress} / {run.config.epochs}", help=t("train.metrics.epoch_help"))
    recent = run.losses.values[-20:]
    row.metric(t("train.metrics.loss"), f"{float(np.mean(recent)):.4f}" if len(recent) else "–", help=t("train.metrics.loss_help"))
    epochs = run.trainer.history.epochs
    val = epochs[-1].val_accuracy if epochs else None
    test = run.trainer.history.test_accuracy
    if test is not None:
        row.metric(t("train.metrics.test_accuracy"), f"{test:.2%}", help=t("train.metrics.test_accuracy_help"))
    else:
        row.metric(t("train.metrics.val_accuracy"), f"{val:.1%}" if val is not None else "–", help=t("train.metrics.val_accuracy_help"))
    row.metric(t("train.metrics.steps_per_second"), f"{run.steps_per_second:,.1f}",
               help=t("train.metrics.images_per_second", count=f"{run.images_per_second:,.0f}"))  # fmt: skip
    sizes = run.footprint()
    total_mb = sum(sizes.values()) / 2**20
    parts = "; ".join(f"{t(f'train.memory.{key_part(k)}')}: {v / 2**20:.2f} MB" for k, v in sizes.items())
    row.metric(t("train.metrics.memory"), f"{total_mb:.0f} MB" if total_mb >= 10 else f"{total_mb:.1f} MB",
               help=t("train.metrics.memory_help", parts=parts))  # fmt: skip


def show_rule(config: TrainConfig) -> None:
    opt = OPTIMIZERS[config.optimizer]
    st.latex(opt.LATEX)
    st.caption(t("train.rule_caption", name=opt.__name__, lr=f"{config.lr:g}", about=t(f"train.optimizer.{config.optimizer}")))
    show_optimizer_code(config.optimizer)


def stream(run) -> None:
    data = run.data
    pos = ss.get("tr_stream_pos", 0)
    if run.status == "running":  # new digits on every update while training
        pos = ss["tr_stream_pos"] = pos + 1
    order = np.random.default_rng(7).permutation(len(data.test_labels))
    idx = order[(pos * STREAM + np.arange(STREAM)) % len(order)]
    with np.errstate(all="ignore"):
        proba = run.net.predict_proba(data.test_images[idx])
    proba = np.nan_to_num(proba)
    chart(figs.prediction_stream_figure(data.test_images[idx], proba, data.test_labels[idx]), key="fig_stream")  # its width: page_styles
    st.caption(t("train.stream_caption"))


def inside(run) -> None:
    mon = run.monitor
    if mon is None:
        return
    if mon.steps[-1] != run.step and run.status != "evaluating":
        mon.record(run.net, run.step)
    chart(figs.activation_histograms(mon.current, mon.initial), key="fig_hist")
    st.caption(t("train.inside.histograms"))
    b, c, d = st.columns(3)
    with b:
        chart(figs.dead_relu_figure(mon.steps, mon.dead, title=t("train.inside.dead_title")), key="fig_dead")
        st.caption(t("train.inside.dead"))
    with c:
        chart(figs.norms_figure(mon.steps, mon.grad_norms, t("train.inside.gradients_title"), t("train.inside.gradients_axis")), key="fig_grad")
        st.caption(t("train.inside.gradients"))
    with d:
        chart(figs.norms_figure(mon.steps, mon.weight_norms, t("train.inside.weights_title"), t("train.inside.weights_axis")), key="fig_weight")
        st.caption(t("train.inside.weights"))
    conv = next((layer for layer in run.net.layers if type(layer).__name__ == "Conv2D"), None)
    if conv is not None:
        chart(figs.filters_figure(conv.W.value), key="fig_filters")
        st.caption(t("train.inside.filters", count=conv.W.value.shape[-1], size=f"{conv.kernel}×{conv.kernel}"))


def after_training(run, data) -> None:
    ev = run.evaluator
    if ev is None or not ev.done:
        return
    st.divider()
    st.header(t("train.after.header"))
    right = f"{int((ev.predictions == ev.labels).sum()):,}"
    st.success(t("train.after.accuracy", accuracy=f"{ev.accuracy:.2%}", right=right), icon=":material/task_alt:")
    curve = ts.class_curve(run)
    if curve is not None and curve.last is not None:
        class_right = f"{round(curve.last * len(curve)):,}"
        st.success(t("train.class.after", accuracy=f"{curve.last:.1%}", right=class_right, count=f"{len(curve):,}",
                     mnist=f"{ev.accuracy:.1%}"), icon=":material/groups:")  # fmt: skip
    a, b = st.columns([3, 2])
    with a:
        chart(figs.confusion_figure(ev.confusion()), key="fig_confusion")
        st.caption(t("train.after.confusion"))
    with b:
        wrong = ev.misclassified(16)
        chart(figs.misclassified_figure(data.test_images[wrong], ev.labels[wrong], ev.predictions[wrong], ev.confidence[wrong], columns=4), key="fig_wrong")
        st.caption(t("train.after.mistakes"))
    files = ts.downloads(run)
    d = st.columns(3)
    name = f"{run.config.model}-{run.config.optimizer}-{run.config.init}"
    d[0].download_button(t("train.after.weights"), files["npz"], f"{name}.npz", "application/octet-stream", icon=":material/download:", key="dl_npz")
    d[1].download_button(t("train.after.card"), files["card"], f"{name}.json", "application/json", icon=":material/description:", key="dl_card")
    d[2].download_button(t("train.after.curves"), files["csv"], f"{name}-curves.csv", "text/csv", icon=":material/table:", key="dl_csv")
    st.caption(t("train.after.offered", page=t("pages.filters.title")))


# --- the class's digits (a room of the Class digits page) --------------------------------------
PHONE_BREAKPOINT = 640  # px: narrower, Streamlit stacks columns one per line


def page_styles() -> None:
    """The page's styles, in one block drawn with the page (not at every live update):
    - on a phone, Streamlit would stack Start, Step, Reset and Log scale one per line and push the
      loss chart below the fold: keep them on one row, the buttons as icons (their labels are tooltips);
    - the six metrics in rows of three (two on a phone), each the same width, so that a value
      growing a digit moves nothing;
    - the prediction stream keeps its digits readable on a phone, scrolling sideways."""
    st.html(f"""<style>
    @media (max-width: {PHONE_BREAKPOINT}px) {{
      .st-key-tr_buttons [data-testid="stHorizontalBlock"] {{ flex-wrap: nowrap; gap: 0.4rem; }}
      .st-key-tr_buttons [data-testid="stColumn"] {{ min-width: 0; width: auto; flex: 0 0 3.2rem; }}
      .st-key-tr_buttons [data-testid="stColumn"]:last-child {{ flex: 1 1 auto; }}
      .st-key-tr_buttons button [data-testid="stMarkdownContainer"] {{ display: none; }}
      .st-key-tr_buttons button {{ padding-left: 0.3rem; padding-right: 0.3rem; }}
      .st-key-tr_metrics > div {{ flex: 1 1 calc((100% - 1rem) / 2); }}
    }}
    @media (min-width: {PHONE_BREAKPOINT + 1}px) {{
      .st-key-tr_metrics > div {{ flex: 1 1 calc((100% - 2rem) / 3); }}
    }}
    {scroll_css("fig_stream", STREAM * STREAM_DIGIT_PX)}
    </style>""")


def class_test_set():
    """(room code, the room's digits or None, why they are missing: "no_room", "too_few" or a
    sentence) for the Train page's extra test set and fine-tuning."""
    room = ss.get(class_view.ROOM, "")
    if not room:
        return room, None, "no_room"
    try:
        digits = class_view.class_rooms().digits(room)
    except ClassDbUnavailable as error:
        return room, None, class_view.unavailable_text(error)
    except ClassRoomError as error:
        return room, None, class_view.refusal_text(error)
    if len(digits) < MIN_DIGITS:
        return room, None, "too_few"
    return room, digits, None


def class_digits_line(room: str, digits, missing: str | None) -> None:
    """One line under the curves: use the class's digits as a test set, or how to get some."""
    if digits is not None:
        st.toggle(t("train.class.use", count=f"{len(digits):,}", room=room), key="tr_class", help=t("train.class.use_help"))
        return
    if presenting():  # a lesson on the projector: no detours
        return
    if missing not in ("no_room", "too_few"):
        st.caption(missing)
        return
    hint = t("train.class.hint_no_room") if missing == "no_room" else t("train.class.hint_too_few", room=room, minimum=MIN_DIGITS)
    st.page_link(page_for_link(class_view.PAGE_URL), label=hint, icon=":material/groups:")


def fine_tune_models() -> list[str]:
    return [name for name in shipped_models() if name in MODELS]


def fine_tune_section(room: str, digits, missing: str | None, data) -> None:
    """Fine-tune a shipped network on MNIST plus the class's digits; before and after, on the
    held-out class digits and on MNIST test digits."""
    models = fine_tune_models()
    if not models or (presenting() and digits is None):
        return
    url_state.bind_choice("ft_model", "lenet" if "lenet" in models else models[0], models)
    url_state.bind("ft_open", False)
    job = ts.fine_tune_run()
    with st.expander(t("train.class.fine_tune.title"), icon=":material/tune:", expanded=ss["ft_open"] or job is not None):
        st.markdown(t("train.class.fine_tune.intro", held=f"{ts.FINE_TUNE_SETTINGS['held_out_fraction']:.0%}"))
        a, b = st.columns([2, 1], vertical_alignment="bottom")
        model = a.selectbox(t("train.class.fine_tune.model"), models, key="ft_model", format_func=lambda m: t(f"train.model.{m}.title"))
        busy = job is not None and not job.job.done
        b.button(t("train.class.fine_tune.start"), key="ft_start", type="primary", icon=":material/tune:", width="stretch",
                 disabled=digits is None or busy, on_click=ts.start_fine_tune, args=(model, room, digits, data))  # fmt: skip
        if digits is None:
            st.caption(t("train.class.fine_tune.needs_digits", minimum=MIN_DIGITS) if missing in ("no_room", "too_few") else missing)
        fine_tune_progress()


def fine_tune_progress() -> None:
    job = ts.fine_tune_run()
    if job is None:
        return

    @st.fragment(run_every=ts.update_interval(TICK) if not job.job.done else None)
    def progress():
        if job.error:
            st.error(t("train.stop.error", error=job.error), icon=":material/error:")
            return
        if not job.job.done:
            ts.keep_training("fine-tune", job.work)
            if job.job.done:
                st.rerun(scope="app")  # stop the timer, show the result
            st.progress(job.job.progress, text=t("train.class.fine_tune.running", model=t(f"train.model.{job.model}.title")))
            return
        fine_tune_result(job)

    progress()


def fine_tune_result(job) -> None:
    r = job.job.result()
    before, after = t("train.class.fine_tune.before"), t("train.class.fine_tune.after")
    class_set = t("train.class.fine_tune.class_set", count=f"{r.held_out:,}")
    mnist_set = t("train.class.fine_tune.mnist_set", count=f"{len(job.job.mnist_labels):,}")
    st.table([{t("train.class.fine_tune.test_set"): class_set, before: f"{r.before:.1%}", after: f"{r.after:.1%}"},
              {t("train.class.fine_tune.test_set"): mnist_set, before: f"{r.mnist_before:.1%}", after: f"{r.mnist_after:.1%}"}],
             hide_index=True)  # fmt: skip
    chart(figs.fine_tune_figure([class_set, mnist_set], [r.before, r.mnist_before], [r.after, r.mnist_after]), key="fig_fine_tune")
    st.markdown(fine_tune_sentence(job, r))


def fine_tune_sentence(job, r) -> str:
    """What the numbers say, in one sentence."""
    model = t(f"train.model.{job.model}.title")
    numbers = {"model": model, "used": f"{r.used:,}", "held": f"{r.held_out:,}", "before": f"{r.before:.1%}", "after": f"{r.after:.1%}",
               "mnist_before": f"{r.mnist_before:.1%}", "mnist_after": f"{r.mnist_after:.1%}"}  # fmt: skip
    if r.held_out < MIN_DIGITS:
        return t("train.class.fine_tune.few_held", **numbers)
    change = r.after - r.before
    forgot = r.mnist_before - r.mnist_after > 0.02
    if change >= 0.02:
        kind = "better_forgot" if forgot else "better"
    elif change <= -0.02:
        kind = "worse"
    else:
        kind = "same"
    return t(f"train.class.fine_tune.says.{kind}", **numbers)


# --- comparison ------------------------------------------------------------------------------
PRESET_OPTIONS = [*PRESETS, CUSTOM]


def preset_label(preset_id: str) -> str:
    return t(f"train.presets.{preset_id}.title") if preset_id in PRESETS else t("train.compare.custom")


def comparison_plan(config: TrainConfig, picker) -> dict:
    """What Start comparison will train: configs, labels, whether to test on rotated digits, a note.
    The preset picker goes into `picker` (beside the buttons), the rest below."""
    url_state.bind("cmp_preset", "optimizers", options=PRESET_OPTIONS)
    if not (presenting() and ss["cmp_preset"] != CUSTOM):  # a lesson's link fixes the preset
        picker.selectbox(t("train.compare.what"), PRESET_OPTIONS, key="cmp_preset", format_func=preset_label, persist_state="session",
                         label_visibility="collapsed")  # fmt: skip
    preset_id = ss["cmp_preset"]
    if preset_id in PRESETS:
        p = PRESETS[preset_id]
        configs = p.configs
        c = configs[0]
        fixed = t("train.compare.fixed", model=t(f"train.model.{c.model}.title"), images=f"{c.train_size:,}", epochs=c.epochs,
                  batch=c.batch_size, seed=c.seed)  # fmt: skip
        same_start = len({x.init for x in configs}) == 1
        start = t("train.compare.same_start") if same_start else t("train.compare.different_start")
        claim = t(f"train.presets.{p.id}.claim")
        if presenting():  # the claim beside the buttons, the details in a tooltip: the chart must fit a projector
            picker.markdown(f"**{claim}**", help=f"{fixed} {start}")
        else:
            st.markdown(t("train.compare.title_and_claim", title=preset_label(p.id), claim=claim))
            st.caption(fixed, help=start)
        return {"configs": configs, "labels": p.labels, "rotated_test": p.rotated_test, "preset": p}
    return custom_plan(config)


def custom_plan(config: TrainConfig) -> dict:
    url_state.bind("cmp_opts", [config.optimizer], options=list(OPTIMIZERS))
    url_state.bind("cmp_inits", [config.init], options=list(INITS))
    url_state.bind("cmp_augments", [config.augment], options=AUGMENTS)
    a, b, c = st.columns(3)
    # Pills, not multiselects: every choice stays readable in a narrow column, in any language.
    opts = a.pills(t("train.compare.optimizers"), list(OPTIMIZERS), selection_mode="multi", format_func=OPT_NAMES.get, key="cmp_opts",
                   persist_state="session", wrap=True, help=t("train.compare.optimizers_help"))  # fmt: skip
    inits = b.pills(t("train.compare.inits"), list(INITS), selection_mode="multi", format_func=init_name, key="cmp_inits",
                    persist_state="session", wrap=True)  # fmt: skip
    augments = c.pills(t("train.compare.augments"), AUGMENTS, selection_mode="multi", format_func=augment_name, key="cmp_augments",
                       persist_state="session", wrap=True)  # fmt: skip
    configs = [custom_config(config, o, i, g) for o in opts for i in inits for g in augments]
    if len(configs) > MAX_CONFIGS:
        st.warning(t("train.compare.too_many", count=len(configs), limit=MAX_CONFIGS))
        configs = configs[:MAX_CONFIGS]
    st.caption(t("train.compare.custom_caption"))
    return {"configs": configs, "labels": None, "rotated_test": any(map(turns_digits, augments)), "preset": None}


def custom_config(config: TrainConfig, optimizer: str, init: str, augment: str) -> TrainConfig:
    """The sidebar's config with another optimizer (at its own defaults: the sidebar's extras belong to
    the sidebar's optimizer alone), init and augmentation."""
    own = optimizer == config.optimizer
    return TrainConfig(**{**config.to_dict(), "optimizer": optimizer, "lr": config.lr if own else OPTIMIZERS[optimizer].DEFAULTS["lr"],
                          "hyper": config.hyper if own else {}, "init": init, "augment": augment})  # fmt: skip


def compare_section(config: TrainConfig, data) -> None:
    picker, *cols = st.columns([3, 1.6, 1], vertical_alignment="center")
    plan = comparison_plan(config, picker)
    configs = plan["configs"]
    if asked("race") and len(configs) >= 2:
        ts.start_comparison(configs, data, labels=plan["labels"], rotated_test=plan["rotated_test"])
    cmp = ts.comparison()
    ts.finish_comparison_if_done(cmp)
    running = cmp is not None and cmp.running and not cmp.done
    if cmp is None or cmp.done:
        cols[0].button(t("train.compare.start"), key="cmp_start", type="primary", icon=":material/play_arrow:", on_click=ask, args=("race",),
                       disabled=len(configs) < 2, width="stretch")  # fmt: skip
    elif running:
        cols[0].button(t("train.pause"), key="cmp_pause", type="primary", icon=":material/pause:", on_click=ts.pause_comparison, width="stretch")
    else:
        cols[0].button(t("train.resume"), key="cmp_resume", type="primary", icon=":material/play_arrow:", on_click=ask, args=("race",), width="stretch")
    cols[1].button(t("train.reset"), key="cmp_reset", icon=":material/restart_alt:", on_click=ts.reset_comparison, disabled=cmp is None, width="stretch")
    if len(configs) < 2 and cmp is None:
        st.info(t("train.compare.pick_two"))

    records = ts.records()
    overlay = [i for i in ss.get("cmp_overlay", []) if i < len(records)]

    tick = ts.update_interval(TICK)

    @st.fragment(run_every=tick if running else None)
    def live():
        c = ts.comparison()
        if c is not None and c.running and not c.done:
            ts.keep_training(c.id, c.work)
            show_share()
        elif running:
            st.rerun(scope="app")  # it ended since the page ran: show the results and the buttons of the new state
        draw_comparison(c, [records[i] for i in overlay])
        if running and ts.update_interval_moved(tick, TICK):
            st.rerun(scope="app")

    live()
    if cmp is not None and cmp.done:
        results_table(cmp, plan["preset"])
    if records and not presenting():
        st.multiselect(t("train.compare.overlay"), list(range(len(records))), key="cmp_overlay",
                       format_func=lambda i: record_label(records[i]) if i < len(records) else "?")  # fmt: skip
    if not presenting():
        run_list(records)


def results_table(cmp, preset) -> None:
    """The numbers of the finished race, and whether the preset's claim holds for them."""
    results = cmp.results()
    rotated = any(r.rotated_accuracy is not None for r in results)
    rows = []
    for r, run in zip(results, cmp.runs):
        row = {t("train.results.configuration"): shown_label(run.config, run.peers), t("train.results.final_loss"): f"{r.final_loss:.3f}",
               t("train.results.val_accuracy"): "–" if r.val_accuracy is None else f"{r.val_accuracy:.1%}"}  # fmt: skip
        if rotated:
            row[t("train.results.rotated_accuracy")] = "–" if r.rotated_accuracy is None else f"{r.rotated_accuracy:.1%}"
        rows.append(row)
    with st.container(key="cmp_results"):
        st.table(rows, hide_index=True)
        note = t("train.results.caption")
        if rotated:
            note += t("train.results.rotated_caption", count=f"{ROTATED_SIZE:,}", degrees=f"{ROTATED_DEGREES:g}")
        st.caption(note)
    if preset is not None and cmp_matches(cmp, preset):
        problems = preset.problems(results)
        claim = t(f"train.presets.{preset.id}.claim")
        if problems:
            found = t("train.field.separator").join(t(f"train.problem.{p.code}", **p.params) for p in problems)
            st.warning(t("train.results.claim_fails", problems=found), icon=":material/help:")
        else:
            st.success(t("train.results.claim_holds", claim=claim), icon=":material/task_alt:")


def cmp_matches(cmp, preset) -> bool:
    return [r.label for r in cmp.runs] == preset.labels


def draw_comparison(cmp, past) -> None:
    curves, accs = [], []
    if cmp is not None:
        for i, r in enumerate(cmp.runs):
            values = r.losses.values
            steps, smoothed = downsample(smooth(values, ts._smoothing(len(values))))
            label = shown_label(r.config, r.peers)
            curves.append({"label": label, "steps": steps, "values": smoothed, "colour": figs.colour(i)})
            ep = r.trainer.history.epochs
            accs.append({"label": label, "epochs": [e.epoch for e in ep], "values": [e.val_accuracy for e in ep], "colour": figs.colour(i)})
    for j, rec in enumerate(past):
        col = figs.colour(len(curves) + j)
        label = t("train.compare.past", label=record_label(rec))
        curves.append({"label": label, "steps": rec.steps, "values": smooth(rec.losses, 0.9), "colour": col, "dash": "dash"})
        accs.append({"label": label, "epochs": [e[0] for e in rec.epochs], "values": [e[3] for e in rec.epochs], "colour": col, "dash": "dash"})
    height = PRESENTER_CHART_HEIGHT if presenting() else None
    a, b = st.columns([3, 2])
    with a:
        chart(figs.comparison_loss_figure(curves, height=height), key="fig_cmp_loss")
    with b:
        chart(figs.comparison_accuracy_figure(accs, height=height), key="fig_cmp_acc")
    st.caption(t("train.compare.charts_caption"))
    if cmp is None:
        return
    for r in cmp.runs:
        if r.status in ("diverged", "failed"):
            st.error(f"**{shown_label(r.config, r.peers)}**: {stop_message(r)}", icon=":material/error:")
    steps = min(r.step for r in cmp.runs)
    total = cmp.runs[0].trainer.total_steps
    st.progress(min(1.0, steps / max(total, 1)), text=t("train.compare.progress", steps=f"{steps:,}", total=f"{total:,}", count=len(cmp.runs),
                                                           memory=f"{cmp.footprint() / 2**20:.1f} MB"))  # fmt: skip
    if cmp.shared_start:
        st.caption(t("train.compare.shared_start"))


def run_list(records) -> None:
    st.subheader(t("train.runs.header"))
    if not records:
        st.caption(t("train.runs.empty"))
        return
    st.dataframe([run_row(r) for r in records], hide_index=True)
    a, b = st.columns([4, 1], vertical_alignment="bottom")
    gone = a.multiselect(t("train.runs.delete_pick"), list(range(len(records))), format_func=lambda i: record_label(records[i]), key="cmp_delete_pick")
    if b.button(t("train.runs.delete"), key="cmp_delete", disabled=not gone, icon=":material/delete:"):
        ts.delete_records(gone)
        ss.pop("cmp_overlay", None)
        ss.pop("cmp_delete_pick", None)
        st.rerun()


def run_row(record) -> dict:
    """One line of the run list, as text: a missing number shows as a dash."""
    def percent(value):
        return "–" if value is None else f"{value:.2%}"

    return {t("train.runs.run"): record_label(record), t("train.runs.steps"): int(record.steps[-1]) if len(record.steps) else 0,
            t("train.runs.final_loss"): f"{final_loss(record.losses):.3f}" if len(record.losses) else "–",
            t("train.runs.val_accuracy"): percent(record.epochs[-1][3] if record.epochs else None),
            t("train.runs.test_accuracy"): percent(record.test_accuracy),
            t("train.runs.stopped"): t("train.runs.diverged") if record.stop_reason else ""}  # fmt: skip


# --- optimizer paths -------------------------------------------------------------------------
def paths_section() -> None:
    if not presenting():
        st.markdown(t("train.paths.intro"))
    url_state.bind("path_surface", "bowl", options=list(SURFACES))
    url_state.bind("path_opts", ["sgd", "momentum", "adagrad", "adam"], options=list(OPTIMIZERS))
    # On a phone the columns stack: the paths first, their controls under them (else the function,
    # the optimizers, the steps and each η fill the first screen and the picture is below it).
    st.html(f"""<style>@media (max-width: {PHONE_BREAKPOINT}px) {{
      .st-key-path_view [data-testid="stColumn"]:last-child {{ order: -1; }} }}</style>""")
    a, b = st.container(key="path_view").columns([1.3, 2])
    with a:
        name = st.radio(t("train.paths.function"), list(SURFACES), format_func=lambda s: t(f"train.paths.surface.{s}"), key="path_surface",
                        persist_state="session")  # fmt: skip
        s = SURFACES[name]
        chosen = st.pills(t("train.compare.optimizers"), list(OPTIMIZERS), selection_mode="multi", format_func=OPT_NAMES.get,
                          key="path_opts", persist_state="session", wrap=True)  # fmt: skip
        url_state.bind(f"path_steps_{name}", s.steps, valid=lambda v: 1 <= v <= 300)
        steps = st.slider(t("train.paths.steps"), 1, 300, key=f"path_steps_{name}")
        paths = {}
        for opt in chosen[:MAX_CONFIGS]:
            key = f"path_lr_{name}_{opt}"
            url_state.bind(key, float(default_hyper(opt, name)["lr"]), valid=lambda v: 1e-4 <= v <= 10.0)
            lr = st.number_input(t("train.paths.lr", name=OPT_NAMES[opt]), 1e-4, 10.0, format="%g", step=0.01, key=key)
            paths[OPT_NAMES[opt]] = optimizer_path(opt, steps=steps, surface_name=name, lr=lr)
    with b:
        xs, ys, zs = contour_grid(name)
        height = PRESENTER_PATHS_HEIGHT if presenting() else None
        chart(figs.optimizer_paths_figure(xs, ys, zs, paths, s.minimum, title=t(f"train.paths.short.{name}"), height=height),
              key="fig_paths")  # fmt: skip
        st.caption(t("train.paths.caption", start=f"{s.start}"))
    for opt in chosen[:MAX_CONFIGS]:
        p = paths[OPT_NAMES[opt]]
        end = t("train.paths.ends_at", x=f"{p[-1, 0]:.2f}", y=f"{p[-1, 1]:.2f}")
        if len(p) - 1 < steps:
            end += t("train.paths.diverged")
        st.markdown(t("train.paths.result", name=OPT_NAMES[opt], end=end, why=t(f"train.paths.why.{name}.{opt}")))
        show_optimizer_code(opt)


# --- a run cannot live in a URL ----------------------------------------------------------------
def live_run_id() -> str | None:
    """The id of the run or comparison this session trains now (in the URL as `run=`)."""
    live = ts.comparison() if ss.get("tr_mode") == "compare" else ts.current_run()
    return getattr(live, "id", None) if live is not None and not live.done else None


def note_lost_run() -> None:
    """A link or reload that names a run this session never had: the run was in another session."""
    url_state.claim(RUN_PARAM)
    linked = st.query_params.get(RUN_PARAM)
    if linked and linked not in ts.run_ids():
        st.info(t("train.lost_run"), icon=":material/history:")
        del st.query_params[RUN_PARAM]


def mark_live_run() -> None:
    run_id = live_run_id()
    if run_id is None:
        if RUN_PARAM in st.query_params:
            del st.query_params[RUN_PARAM]
    elif st.query_params.get(RUN_PARAM) != run_id:
        st.query_params[RUN_PARAM] = run_id


# --- page ----------------------------------------------------------------------------------
in_lesson = presenting() and bool(st.query_params.get("lesson"))
if not in_lesson:  # in a lesson, its card titles the page and the race must fit a projector
    st.title(t("pages.train.title"))
if not presenting():
    st.markdown(t("train.intro"))
url_state.bind("tr_mode", "train", options=MODES)
note_lost_run()
config = settings()
if in_lesson:
    mode = ss["tr_mode"]  # the lesson's link chose the view
else:
    mode = st.segmented_control(t("train.view"), MODES, format_func=lambda m: t(f"train.mode.{m}"), required=True, key="tr_mode", persist_state="session",
                                label_visibility="collapsed")  # fmt: skip
data = mnist_or_none()
if mode == "paths":
    paths_section()
elif data is None:
    show_missing_data(t("train.missing_data_what"))
elif mode == "compare":
    compare_section(config, data)
else:
    train_section(config, data)
ss.pop(ASKED, None)  # a click this view no longer offers (the view changed before it arrived)
mark_live_run()
