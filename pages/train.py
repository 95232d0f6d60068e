"""Train page: watch a network learn MNIST, and see why the optimizer and the initialisation matter.

Thin on purpose: the training logic is in explorer/lab/compare.py and explorer/nn/training.py, the
figures in explorer/figures/training.py, the session state in explorer/ui/train_state.py.
"""
from __future__ import annotations

import numpy as np
import streamlit as st

from explorer.lab.compare import (
    AUGMENT_NAMES, INIT_NAMES, MAX_CONFIGS, PRESETS, ROTATED_DEGREES, ROTATED_SIZE, STATUS_TEXT, downsample, final_loss, smooth,
)  # fmt: skip
from explorer.figures import training as figs
from explorer.nn.inits import INITS
from explorer.nn.models import MODELS, build_model
from explorer.lab.optim_paths import SURFACES, contour_grid, default_hyper, optimizer_path, why
from explorer.nn.optimizers import OPTIMIZERS
from explorer.nn.training import TrainConfig
from explorer.ui import train_state as ts
from explorer.ui import url_state
from explorer.ui.charts import chart
from explorer.ui.presenter import presenting
from explorer.ui.resources import mnist_or_none, show_missing_data

TICK = 0.8  # seconds between live updates of the curves while training
INSIDE_TICK = 2.5  # seconds between updates of the (costlier) views inside the network
STREAM = 6  # test digits in the prediction stream
LRS = [1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 5e-3, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 1000.0]
BATCHES = [1, 8, 10, 16, 32, 64, 100, 128, 256, 512]
TRAIN_SIZES = [1000, 2000, 5000, 10000, 20000, 30000, 55000]
EPS = [1e-8, 1e-7, 1e-6, 1e-4, 1e-2]
MODES = {"train": "Train one network", "compare": "Compare", "paths": "Optimizer paths (2-D)"}
AUGMENTS = list(AUGMENT_NAMES)  # none, shift, shift+rotate, shift+flip
CUSTOM = "custom"
OPT_NAMES = {name: cls.__name__ for name, cls in OPTIMIZERS.items()}
HYPER_KEYS = ("momentum", "beta1", "beta2", "rho", "eps")
PRESENTER_CHART_HEIGHT = 330  # px: the race's charts fit a 1280x720 projector under the lesson card
RUN_PARAM = "run"  # the URL marker of a live run (a run cannot live in a URL: this only says there was one)
DEFAULT_MODEL = "keras-mlp"
ss = st.session_state


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


def apply_optimizer_defaults() -> None:
    ss.update(optimizer_defaults(ss["tr_model"], ss["tr_optimizer"]))


def apply_model_defaults() -> None:
    ss.update(model_defaults(ss["tr_model"]))
    apply_optimizer_defaults()


def bind_settings() -> None:
    """Every sidebar value from the link (or the session, or its default). A link that changes the
    model or optimizer first resets what depends on it, so a shared link shows what its author saw."""
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
    sb.header("Settings")
    if ss.get("tr_mode") == "compare" and ss.get("cmp_preset") != CUSTOM:
        sb.info("A ready-made comparison fixes its own model, optimizers, data and seed: these settings apply to "
                "*Train one network* and to the *Custom* comparison.", icon=":material/info:")  # fmt: skip
    model = sb.selectbox("Architecture", list(MODELS), key="tr_model", on_change=apply_model_defaults, persist_state="session",
                         format_func=lambda m: f"{MODELS[m].title}")  # fmt: skip
    spec = MODELS[model]
    sb.caption(f"{spec.description} **{parameter_count(model):,} parameters.**")

    optimizer = sb.selectbox("Optimizer", list(OPTIMIZERS), key="tr_optimizer", on_change=apply_optimizer_defaults,
                             format_func=OPT_NAMES.get, persist_state="session")  # fmt: skip
    cls = OPTIMIZERS[optimizer]
    lr = sb.select_slider("Learning rate η", LRS, key="tr_lr", format_func=lambda v: f"{v:g}", persist_state="session",
                          help="Applies from the next step, even while training.")  # fmt: skip
    hyper = {}
    if "momentum" in cls.DEFAULTS:
        hyper["momentum"] = sb.slider("Momentum μ", 0.0, 0.99, key="tr_momentum", step=0.01, persist_state="session")
    if "beta1" in cls.DEFAULTS:
        hyper["beta1"] = sb.slider("β₁ (momentum of the gradient)", 0.0, 0.99, key="tr_beta1", step=0.01, persist_state="session")
        hyper["beta2"] = sb.slider("β₂ (memory of squared gradients)", 0.9, 0.9999, key="tr_beta2", step=0.0001, format="%.4f", persist_state="session")
    if "rho" in cls.DEFAULTS:
        hyper["rho"] = sb.slider("Decay ρ", 0.0, 0.999, key="tr_rho", step=0.001, format="%.3f", persist_state="session")
    if "eps" in cls.DEFAULTS:
        hyper["eps"] = sb.select_slider("ε (avoids dividing by zero)", EPS, key="tr_eps", format_func=lambda v: f"{v:g}", persist_state="session")
    sb.caption(f"{cls.__name__}: {cls.about} The update rule is shown under the charts.")

    init = sb.selectbox("Initialisation", list(INITS), key="tr_init", persist_state="session",
                        format_func=INIT_NAMES.get)  # fmt: skip
    sb.caption(INITS[init])
    choices = list(dict.fromkeys([spec.activation, *spec.activations]))
    activation = spec.activation
    if len(choices) > 1:
        activation = sb.selectbox("Activation", choices, key="tr_activation", persist_state="session")
    else:
        sb.caption(f"Activation: fixed by this model ({'none' if not spec.activations and model == 'zhou-cnn' else spec.activation}).")

    batch = sb.select_slider("Batch size", BATCHES, key="tr_batch", persist_state="session")
    train_size = sb.select_slider("Training images", TRAIN_SIZES, key="tr_train_size", format_func=lambda v: f"{v:,}", persist_state="session")
    epochs = sb.slider("Epochs", 1, 30, key="tr_epochs", persist_state="session")
    augment = sb.selectbox("Augmentation", AUGMENTS, key="tr_augment", format_func=AUGMENT_NAMES.get, persist_state="session",
                           help="New training images for free: shifts move each digit up to 2 px, rotations turn it up to "
                                "10°, flips mirror half of them (harmful for digits: a mirrored 2 is no digit).")  # fmt: skip
    seed = sb.number_input("Seed", 0, 99_999, key="tr_seed", step=1, persist_state="session",
                           help="Same seed: same initial weights and the same mini-batch order.")  # fmt: skip
    return TrainConfig(model=model, optimizer=optimizer, lr=float(lr), init=init, activation=activation,
                       batch_size=int(batch), epochs=int(epochs), train_size=int(train_size),
                       augment=augment, seed=int(seed), hyper=hyper)  # fmt: skip


STRUCTURAL = {"model": "architecture", "init": "initialisation", "activation": "activation", "optimizer": "optimizer",
              "batch_size": "batch size", "train_size": "training-set size", "epochs": "epochs",
              "augment": "augmentation", "seed": "seed"}  # fmt: skip


def changed_fields(run_config: TrainConfig, wanted: TrainConfig) -> list[str]:
    wanted = wanted.resolved()
    return [label for name, label in STRUCTURAL.items() if getattr(run_config, name) != getattr(wanted, name)]


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


# --- single run ------------------------------------------------------------------------------
def train_section(config: TrainConfig, data) -> None:
    run = ts.current_run()
    running = run is not None and run.status in ("running", "evaluating")

    cols = st.columns([1, 1, 1, 1.1], vertical_alignment="center")
    if run is None or run.done:
        cols[0].button("Start", key="btn_start", type="primary", icon=":material/play_arrow:", on_click=ts.start, args=(config, data), width="stretch")
    elif run.status == "running":
        cols[0].button("Pause", key="btn_pause", type="primary", icon=":material/pause:", on_click=ts.pause, width="stretch")
    elif run.status == "evaluating":
        cols[0].button("Testing", key="btn_testing", disabled=True, width="stretch", help="Testing on the 10,000 test digits")
    else:
        cols[0].button("Resume", key="btn_resume", type="primary", icon=":material/play_arrow:", on_click=ts.start, args=(config, data), width="stretch")
    cols[1].button("Step", key="btn_step", icon=":material/skip_next:", on_click=ts.step_once, args=(config, data),
                   disabled=running or (run is not None and run.done), help="Train on one mini-batch, then wait.", width="stretch")  # fmt: skip
    cols[2].button("Reset", key="btn_reset", icon=":material/restart_alt:", on_click=ts.reset, disabled=run is None, width="stretch",
                   help="Forget this run (it stays in the run list of the Compare tab) and start over with the current settings.")  # fmt: skip
    url_state.bind("tr_log", False)
    log_y = cols[3].toggle("Log scale", key="tr_log", persist_state="session", help="Show the loss on a logarithmic axis.")

    if run is not None:
        apply_live_hyper(run, config)
        changed = changed_fields(run.config, config)
        if changed and not run.done:
            st.warning(f"You changed the {', '.join(changed)}. This run keeps its own settings: press **Reset** to start over with the new ones.", icon=":material/info:")
        elif changed:
            st.info(f"The next Start uses your new {', '.join(changed)}.", icon=":material/info:")
        if run.status == "diverged":
            st.error(run.message + " Press Start to try again with a smaller learning rate.", icon=":material/error:")
        elif run.status == "failed":
            st.error(run.message, icon=":material/error:")

    tick = ts.update_interval(TICK)  # longer when many sessions train: clicks stay quick

    @st.fragment(run_every=tick if running else None)
    def live():
        r = ts.current_run()
        if r is not None and r.status in ("running", "evaluating"):
            with ts.training_turn() as seconds:
                if seconds and r.status == "running":
                    r.advance(seconds=seconds, record=False)  # the internals fragment records, at its own pace
                elif seconds:
                    r.evaluate(seconds=seconds)
            show_share()
        if r is not None and running and r.status not in ("running", "evaluating"):
            ts.finish_if_done(r)
            st.rerun(scope="app")  # stop the timer and show the buttons and results of the new state
        draw_live(r, log_y)
        if running and ts.update_interval_moved(tick, TICK):
            st.rerun(scope="app")  # set the fragments' new pace

    live()

    show_rule(config)

    @st.fragment(run_every=INSIDE_TICK * tick / TICK if running else None)
    def internals():
        r = ts.current_run()
        if r is not None:
            inside(r)
            if r.status not in ("running", "evaluating"):
                r.release()  # drawing ran the probe batch: drop its buffers again

    if wants_inside():
        internals()
    if run is not None and run.status == "finished":
        after_training(run, data)


def show_share() -> None:
    text = ts.share_text()
    if text:
        st.caption(text, help="The server trains one network at a time per core it can spare, in turns, "
                   "and keeps a core free so everyone's clicks stay quick.")  # fmt: skip


def wants_inside() -> bool:
    """The (long) inside-the-network section: always, except in presenter mode unless asked for."""
    if not presenting():
        return True
    url_state.bind("tr_inside", False)
    return st.toggle("Show inside the network", key="tr_inside")


def draw_live(run, log_y: bool) -> None:
    if run is None:
        st.info("Choose a model and an optimizer in the sidebar, then press **Start**. "
                "The curves, the inside of the network and the network's guesses update while it learns.", icon=":material/school:")  # fmt: skip
    else:
        status = STATUS_TEXT[run.status]
        if run.status == "evaluating" and run.evaluator is not None:
            status = f"Testing {run.evaluator.done_count:,}/10,000"
        st.progress(run.progress, text=f"{status}: {run.label}")
    left, right = st.columns(2)
    with left:
        losses = run.losses.values if run is not None else np.zeros(0)
        steps, raw, smoothed = ts.plotted_loss(losses)
        chart(figs.loss_figure(steps, raw, smoothed, log_y=log_y), key="fig_loss")
        st.caption("Each light point is the loss on one mini-batch: noisy, because every batch differs. Watch the bold smoothed line: it should fall quickly, then flatten.")
    with right:
        ep = run.trainer.history.epochs if run is not None else []
        fig = figs.accuracy_figure([e.epoch for e in ep], [e.train_accuracy for e in ep], [e.val_accuracy for e in ep],
                                   run.trainer.history.test_accuracy if run is not None else None)  # fmt: skip
        chart(fig, key="fig_acc")
        st.caption("Measured at the end of each epoch on 1,000 training and 1,000 held-out validation images. When training keeps rising but validation stalls, the network starts memorising.")
    metrics(run)
    if run is not None:
        if len(run.losses) > 60:
            losses = run.losses.values
            if np.mean(losses[-20:]) > 1.5 * np.mean(losses[:10]) + 0.1:
                st.warning("The loss is going up, not down: the learning rate is probably too large. Try one 10x smaller.", icon=":material/trending_up:")
        stream(run)


def metrics(run) -> None:
    """Six short numbers, each label short enough for a 1280 px window; the details are in the tooltips."""
    m = [*st.columns(3), *st.columns(3)]  # two rows: six in one row cut the values off at 1280 px
    if run is None:
        for col, label in zip(m, ["Step", "Epoch", "Loss", "Accuracy", "Speed", "Memory"]):
            col.metric(label, "–")
        return
    total = run.trainer.total_steps
    m[0].metric("Step", f"{run.step:,}", help=f"Mini-batches trained so far, of {total:,} in all.")
    m[1].metric("Epoch", f"{run.epoch_in_progress} / {run.config.epochs}", help="The pass over the training images in progress.")
    recent = run.losses.values[-20:]
    m[2].metric("Loss", f"{float(np.mean(recent)):.4f}" if len(recent) else "–", help="Mean loss of the last 20 mini-batches.")
    epochs = run.trainer.history.epochs
    val = epochs[-1].val_accuracy if epochs else None
    test = run.trainer.history.test_accuracy
    if test is not None:
        m[3].metric("Test acc.", f"{test:.2%}", help="Accuracy on the 10,000 test digits, measured after training.")
    else:
        m[3].metric("Val. acc.", f"{val:.1%}" if val is not None else "–", help="Validation accuracy: 1,000 held-out images, after each epoch.")
    m[4].metric("Steps/s", f"{run.steps_per_second:,.1f}", help=f"{run.images_per_second:,.0f} images per second.")
    sizes = run.footprint()
    total_mb = sum(sizes.values()) / 2**20
    m[5].metric("Memory", f"{total_mb:.0f} MB" if total_mb >= 10 else f"{total_mb:.1f} MB",
                help="; ".join(f"{k}: {v / 2**20:.2f} MB" for k, v in sizes.items()) + ". The MNIST images are shared by every session, not counted.")  # fmt: skip


def show_rule(config: TrainConfig) -> None:
    opt = OPTIMIZERS[config.optimizer]
    st.latex(opt.LATEX)
    st.caption(f"**{opt.__name__}** update rule (η = {config.lr:g}): {opt.about}")


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
    chart(figs.prediction_stream_figure(data.test_images[idx], proba, data.test_labels[idx]), key="fig_stream")
    st.caption("New test digits pass by while it trains. The bars are the network's probability for each digit: green when its top guess is right, vermillion when it is wrong. At the start it guesses about 10% for everything.")


def inside(run) -> None:
    mon = run.monitor
    if mon is None:
        return
    if mon.steps[-1] != run.step and run.status != "evaluating":
        mon.record(run.net, run.step)
    st.subheader("Inside the network")
    chart(figs.activation_histograms(mon.current, mon.initial), key="fig_hist")
    st.caption("What each layer outputs for the same 64 validation images (bars: now; orange line: at step 0). "
               "The classic experiment: with std 1 sigmoid outputs pile up at 0 and 1 (saturated: no gradient); with std 0.01 they "
               "collapse onto one value (every unit says the same); Xavier (sigmoid/tanh) and He (ReLU) keep them spread out.")  # fmt: skip
    b, c, d = st.columns(3)
    with b:
        chart(figs.dead_relu_figure(mon.steps, mon.dead, title="Dead ReLUs"), key="fig_dead")
        st.caption("Share of ReLU units that output zero for every probe image: they get no gradient and may never recover. A large learning rate or a bad init can kill many.")
    with c:
        chart(figs.norms_figure(mon.steps, mon.grad_norms, "Gradient norm per layer", "‖∇W‖ (log)"), key="fig_grad")
        st.caption("How strongly each layer is pushed. First layers orders of magnitude below the last: they barely learn (vanishing gradients).")
    with d:
        chart(figs.norms_figure(mon.steps, mon.weight_norms, "Weight norm per layer", "‖W‖ (log)"), key="fig_weight")
        st.caption("The size of each layer's weights. Steady growth is normal; a sudden jump means the steps are too big.")
    conv = next((layer for layer in run.net.layers if type(layer).__name__ == "Conv2D"), None)
    if conv is not None:
        chart(figs.filters_figure(conv.W.value, title="First-layer filters"), key="fig_filters")
        st.caption(f"Each square is one of the {conv.W.value.shape[-1]} filters of the first convolution ({conv.kernel}×{conv.kernel} pixels): "
                   "red weights add, blue weights subtract. From random noise they turn into stroke and edge detectors.")  # fmt: skip


def after_training(run, data) -> None:
    ev = run.evaluator
    if ev is None or not ev.done:
        return
    st.divider()
    st.header("After training")
    st.success(f"Test accuracy on the 10,000 test digits the network never saw: **{ev.accuracy:.2%}** ({int((ev.predictions == ev.labels).sum()):,} right).", icon=":material/task_alt:")
    a, b = st.columns([3, 2])
    with a:
        chart(figs.confusion_figure(ev.confusion()), key="fig_confusion")
        st.caption("The 10,000 test digits. Row: the true digit; column: the network's answer; each cell's count, its colour the share of its row. "
                   "The diagonal is right; bright cells off the diagonal are the digits it confuses (often 4↔9, 3↔5, 7↔2).")  # fmt: skip
    with b:
        wrong = ev.misclassified(16)
        chart(figs.misclassified_figure(data.test_images[wrong], ev.labels[wrong], ev.predictions[wrong], ev.confidence[wrong], columns=4), key="fig_wrong")
        st.caption("Title: true → predicted, confidence. Many of these are hard for people too.")
    files = ts.downloads(run)
    d = st.columns(3)
    name = f"{run.config.model}-{run.config.optimizer}-{run.config.init}"
    d[0].download_button("Weights (.npz)", files["npz"], f"{name}.npz", "application/octet-stream", icon=":material/download:", key="dl_npz")
    d[1].download_button("Model card (.json)", files["card"], f"{name}.json", "application/json", icon=":material/description:", key="dl_card")
    d[2].download_button("Curves (.csv)", files["csv"], f"{name}-curves.csv", "text/csv", icon=":material/table:", key="dl_csv")
    st.caption("The trained model is also offered on the **Filters & feature maps** page for the rest of this session.")


# --- comparison ------------------------------------------------------------------------------
PRESET_OPTIONS = [*PRESETS, CUSTOM]


def preset_label(preset_id: str) -> str:
    return PRESETS[preset_id].label if preset_id in PRESETS else "Custom: choose from the sidebar's settings"


def comparison_plan(config: TrainConfig, picker) -> dict:
    """What Start comparison will train: configs, labels, whether to test on rotated digits, a note.
    The preset picker goes into `picker` (beside the buttons), the rest below."""
    url_state.bind("cmp_preset", "optimizers", options=PRESET_OPTIONS)
    if not (presenting() and ss["cmp_preset"] != CUSTOM):  # a lesson's link fixes the preset
        picker.selectbox("What to compare", PRESET_OPTIONS, key="cmp_preset", format_func=preset_label, persist_state="session",
                         label_visibility="collapsed")  # fmt: skip
    preset_id = ss["cmp_preset"]
    if preset_id in PRESETS:
        p = PRESETS[preset_id]
        configs = p.configs
        c = configs[0]
        fixed = (f"Fixed for a fair race: {MODELS[c.model].title}, {c.train_size:,} images, {c.epochs} epochs, batch {c.batch_size}, "
                 f"seed {c.seed}. The sidebar applies to *Custom* only.")  # fmt: skip
        start = ("Every run starts from the same weights and sees the same mini-batches." if len({x.init for x in configs}) == 1
                 else "Different inits start from different weights by design; every run sees the same mini-batches.")  # fmt: skip
        if presenting():  # the claim beside the buttons, the details in a tooltip: the chart must fit a projector
            picker.markdown(f"**{p.claim}**", help=f"{fixed} {start}")
        else:
            st.markdown(f"**{p.label}.** {p.claim}")
            st.caption(fixed, help=start)
        return {"configs": configs, "labels": p.labels, "rotated_test": p.rotated_test, "preset": p}
    return custom_plan(config)


def custom_plan(config: TrainConfig) -> dict:
    url_state.bind("cmp_opts", [config.optimizer], options=list(OPTIMIZERS))
    url_state.bind("cmp_inits", [config.init], options=list(INITS))
    url_state.bind("cmp_augments", [config.augment], options=AUGMENTS)
    a, b, c = st.columns(3)
    opts = a.multiselect("Optimizers", list(OPTIMIZERS), format_func=OPT_NAMES.get, key="cmp_opts", persist_state="session",
                         help="Each at its default settings; the sidebar's optimizer keeps the sidebar's learning rate and extras.")  # fmt: skip
    inits = b.multiselect("Initialisations", list(INITS), format_func=INIT_NAMES.get, key="cmp_inits", persist_state="session")
    augments = c.multiselect("Augmentations", AUGMENTS, format_func=AUGMENT_NAMES.get, key="cmp_augments", persist_state="session")
    configs = [custom_config(config, o, i, g) for o in opts for i in inits for g in augments]
    if len(configs) > MAX_CONFIGS:
        st.warning(f"{len(configs)} combinations: only the first {MAX_CONFIGS} are compared, to keep the server responsive for everyone.")
        configs = configs[:MAX_CONFIGS]
    st.caption("The sidebar's model, data size, epochs, batch size and seed. Runs with the same init start from the same weights; all see the same mini-batches.")
    return {"configs": configs, "labels": None, "rotated_test": "shift+rotate" in augments, "preset": None}


def custom_config(config: TrainConfig, optimizer: str, init: str, augment: str) -> TrainConfig:
    """The sidebar's config with another optimizer (at its own defaults: the sidebar's extras belong to
    the sidebar's optimizer alone), init and augmentation."""
    own = optimizer == config.optimizer
    return TrainConfig(**{**config.to_dict(), "optimizer": optimizer, "lr": config.lr if own else OPTIMIZERS[optimizer].DEFAULTS["lr"],
                          "hyper": config.hyper if own else {}, "init": init, "augment": augment})  # fmt: skip


def compare_section(config: TrainConfig, data) -> None:
    cmp = ts.comparison()
    picker, *cols = st.columns([3, 1.6, 1], vertical_alignment="center")
    plan = comparison_plan(config, picker)
    configs = plan["configs"]
    running = cmp is not None and cmp.running and not cmp.done
    if cmp is None or cmp.done:
        cols[0].button("Start comparison", key="cmp_start", type="primary", icon=":material/play_arrow:", on_click=ts.start_comparison,
                       args=(configs, data), kwargs={"labels": plan["labels"], "rotated_test": plan["rotated_test"]},
                       disabled=len(configs) < 2, width="stretch")  # fmt: skip
    elif running:
        cols[0].button("Pause", key="cmp_pause", type="primary", icon=":material/pause:", on_click=ts.pause_comparison, width="stretch")
    else:
        cols[0].button("Resume", key="cmp_resume", type="primary", icon=":material/play_arrow:", on_click=ts.start_comparison, args=(configs, data), width="stretch")
    cols[1].button("Reset", key="cmp_reset", icon=":material/restart_alt:", on_click=ts.reset_comparison, disabled=cmp is None, width="stretch")
    if len(configs) < 2 and cmp is None:
        st.info("Pick at least two configurations.")

    records = ts.records()
    overlay = [i for i in ss.get("cmp_overlay", []) if i < len(records)]

    tick = ts.update_interval(TICK)

    @st.fragment(run_every=tick if running else None)
    def live():
        c = ts.comparison()
        if c is not None and c.running and not c.done:
            with ts.training_turn() as seconds:
                if seconds:
                    c.advance(seconds)
            show_share()
            if c.done:
                c.running = False
                c.results()  # measure the rotated digits once, while the page reruns
                for r in c.runs:
                    ts.keep(r)
                c.release()
                st.rerun(scope="app")
        draw_comparison(c, [records[i] for i in overlay])
        if running and ts.update_interval_moved(tick, TICK):
            st.rerun(scope="app")

    live()
    if cmp is not None and cmp.done:
        results_table(cmp, plan["preset"])
    if records and not presenting():
        st.multiselect("Overlay past runs (dashed)", list(range(len(records))), key="cmp_overlay",
                       format_func=lambda i: records[i].label if i < len(records) else "?")  # fmt: skip
    if not presenting():
        run_list(records)


def results_table(cmp, preset) -> None:
    """The numbers of the finished race, and whether the preset's claim holds for them."""
    results = cmp.results()
    rotated = any(r.rotated_accuracy is not None for r in results)
    rows = []
    for r in results:
        row = {"configuration": r.label, "final loss": f"{r.final_loss:.3f}",
               "validation accuracy": "–" if r.val_accuracy is None else f"{r.val_accuracy:.1%}"}  # fmt: skip
        if rotated:
            row["rotated test accuracy"] = "–" if r.rotated_accuracy is None else f"{r.rotated_accuracy:.1%}"
        rows.append(row)
    with st.container(key="cmp_results"):
        st.table(rows, hide_index=True)
        st.caption("Final loss: the mean of the last 50 mini-batches. Validation: 1,000 held-out training images."
                   + (f" Rotated test: {ROTATED_SIZE:,} test digits turned {ROTATED_DEGREES:g}° left or right." if rotated else ""))  # fmt: skip
    if preset is not None and cmp_matches(cmp, preset):
        problems = preset.problems(results)
        if problems:
            st.warning("This time the numbers do not show the claim: " + "; ".join(problems) + ".", icon=":material/help:")
        else:
            st.success(f"The claim holds: {preset.claim}", icon=":material/task_alt:")


def cmp_matches(cmp, preset) -> bool:
    return [r.label for r in cmp.runs] == preset.labels


def draw_comparison(cmp, past) -> None:
    curves, accs = [], []
    if cmp is not None:
        for i, r in enumerate(cmp.runs):
            values = r.losses.values
            steps, smoothed = downsample(smooth(values, ts._smoothing(len(values))))
            curves.append({"label": r.label, "steps": steps, "values": smoothed, "colour": figs.colour(i)})
            ep = r.trainer.history.epochs
            accs.append({"label": r.label, "epochs": [e.epoch for e in ep], "values": [e.val_accuracy for e in ep], "colour": figs.colour(i)})
    for j, rec in enumerate(past):
        col = figs.colour(len(curves) + j)
        curves.append({"label": f"past: {rec.label}", "steps": rec.steps, "values": smooth(rec.losses, 0.9), "colour": col, "dash": "dash"})
        accs.append({"label": f"past: {rec.label}", "epochs": [e[0] for e in rec.epochs], "values": [e[3] for e in rec.epochs], "colour": col, "dash": "dash"})
    height = PRESENTER_CHART_HEIGHT if presenting() else None
    a, b = st.columns([3, 2])
    with a:
        chart(figs.comparison_loss_figure(curves, height=height), key="fig_cmp_loss")
    with b:
        chart(figs.comparison_accuracy_figure(accs, height=height), key="fig_cmp_acc")
    st.caption("Left: the loss, smoothed; every configuration sees the same mini-batches in the same order, so the gaps between the lines "
               "come from what differs alone. Right: validation accuracy (1,000 held-out images) after each epoch, same colours.")  # fmt: skip
    if cmp is None:
        return
    for r in cmp.runs:
        if r.status in ("diverged", "failed"):
            st.error(f"**{r.label}**: {r.message}", icon=":material/error:")
    steps = min(r.step for r in cmp.runs)
    total = cmp.runs[0].trainer.total_steps
    st.progress(min(1.0, steps / max(total, 1)), text=f"{steps:,} of {total:,} steps per configuration · {len(cmp.runs)} configurations · "
                f"{cmp.footprint() / 2**20:.1f} MB")  # fmt: skip
    if cmp.shared_start:
        st.caption("✓ Every configuration started from bit-identical weights (same SHA-256) and sees the same mini-batches.")


def run_list(records) -> None:
    st.subheader("Run list")
    if not records:
        st.caption("Finished, stopped or reset runs land here, so you can overlay them on a new comparison.")
        return
    st.dataframe([run_row(r) for r in records], hide_index=True)
    a, b = st.columns([4, 1], vertical_alignment="bottom")
    gone = a.multiselect("Delete runs", list(range(len(records))), format_func=lambda i: records[i].label, key="cmp_delete_pick")
    if b.button("Delete", key="cmp_delete", disabled=not gone, icon=":material/delete:"):
        ts.delete_records(gone)
        ss.pop("cmp_overlay", None)
        ss.pop("cmp_delete_pick", None)
        st.rerun()


def run_row(record) -> dict:
    """One line of the run list, as text: a missing number shows as a dash."""
    def percent(value):
        return "–" if value is None else f"{value:.2%}"

    return {"run": record.label, "steps": int(record.steps[-1]) if len(record.steps) else 0,
            "final loss": f"{final_loss(record.losses):.3f}" if len(record.losses) else "–",
            "val accuracy": percent(record.epochs[-1][3] if record.epochs else None),
            "test accuracy": percent(record.test_accuracy), "stopped": "diverged" if record.stop_reason else ""}  # fmt: skip


# --- optimizer paths -------------------------------------------------------------------------
def paths_section() -> None:
    if not presenting():
        st.markdown("The same optimizer classes that train the networks, on a function of just two numbers (x, y), so you can **see** every step.")
    url_state.bind("path_surface", "bowl", options=list(SURFACES))
    url_state.bind("path_opts", ["sgd", "momentum", "adagrad", "adam"], options=list(OPTIMIZERS))
    a, b = st.columns([1.3, 2])
    with a:
        name = st.radio("Function", list(SURFACES), format_func=lambda s: SURFACES[s].title, key="path_surface", persist_state="session")
        s = SURFACES[name]
        chosen = st.multiselect("Optimizers", list(OPTIMIZERS), format_func=OPT_NAMES.get, key="path_opts", persist_state="session")
        url_state.bind(f"path_steps_{name}", s.steps, valid=lambda v: 1 <= v <= 300)
        steps = st.slider("Steps", 1, 300, key=f"path_steps_{name}")
        paths = {}
        for opt in chosen[:MAX_CONFIGS]:
            key = f"path_lr_{name}_{opt}"
            url_state.bind(key, float(default_hyper(opt, name)["lr"]), valid=lambda v: 1e-4 <= v <= 10.0)
            lr = st.number_input(f"η for {OPT_NAMES[opt]}", 1e-4, 10.0, format="%g", step=0.01, key=key)
            paths[OPT_NAMES[opt]] = optimizer_path(opt, steps=steps, surface_name=name, lr=lr)
    with b:
        xs, ys, zs = contour_grid(name)
        chart(figs.optimizer_paths_figure(xs, ys, zs, paths, s.minimum, title=s.title.split(":")[0].split(" (")[0]), key="fig_paths")
        st.caption(f"Start: the open circle at {s.start}; minimum: the star. Each marker is one optimizer step.")
    for opt in chosen[:MAX_CONFIGS]:
        p = paths[OPT_NAMES[opt]]
        end = f"ends at ({p[-1, 0]:.2f}, {p[-1, 1]:.2f})" + (" — **diverged** (η too large)" if len(p) - 1 < steps else "")
        st.markdown(f"**{OPT_NAMES[opt]}** {end}. {why(opt, name)}")


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
        st.info("The run in this link was in another browser session and stopped when the page reloaded; its settings "
                "are restored: press **Start** to train again.", icon=":material/history:")  # fmt: skip
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
    st.title("Train")
if not presenting():
    st.markdown("Watch a network learn to read handwritten digits, and see **why the optimizer and the initialisation matter**.")
url_state.bind("tr_mode", "train", options=list(MODES))
note_lost_run()
config = settings()
if in_lesson:
    mode = ss["tr_mode"]  # the lesson's link chose the view
else:
    mode = st.segmented_control("View", list(MODES), format_func=MODES.get, required=True, key="tr_mode", persist_state="session",
                                label_visibility="collapsed")  # fmt: skip
data = mnist_or_none()
if mode == "paths":
    paths_section()
elif data is None:
    show_missing_data("Training")
elif mode == "compare":
    compare_section(config, data)
else:
    train_section(config, data)
mark_live_run()
