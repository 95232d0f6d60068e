"""Session state of the Train page: the current run, the comparison and the run list.

Everything lives in st.session_state, so a run survives page switches: the trainer keeps its
step, and the page resumes training when it is shown again. The dataset is never copied: the
trainers index the process-wide read-only MNIST.
"""
from __future__ import annotations

import hashlib
import io
import json

import numpy as np
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from explorer.i18n import t
from explorer.nn.checkpoints import model_card, weights_bytes
from explorer.lab.class_eval import ClassCurve, FineTuning
from explorer.lab.compare import Comparison, LiveRun, add_record, downsample, record_of, smooth
from explorer.nn.machine import usable_cores
from explorer.nn.pretrained import load_pretrained
from explorer.ui.scheduler import scheduler
from explorer.ui.resources import SESSION_MODEL_KEY

RUN_KEY = "train_run"
COMPARE_KEY = "train_comparison"
RECORDS_KEY = "train_records"
NOTICE_KEY = "train_notice"
RUN_IDS_KEY = "train_run_ids"  # ids of every run and comparison this session started
FINE_TUNE_KEY = "train_fine_tune"
# Small on purpose: a fine-tuning of lenet is a few seconds of work, shared with everyone's training.
FINE_TUNE_SETTINGS = {"epochs": 2, "mnist_per_epoch": 1000, "mnist_test": 1000, "held_out_fraction": 0.3}


def session_id() -> str:
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else "no-session"


def keep_training(name: str, work) -> None:
    """At each live update: the process-wide scheduler's workers go on with `work(seconds)` (in
    fair turns, resting while others click) while this session keeps asking."""
    scheduler().keep_training(session_id(), name, work)


def stop_training(name: str) -> None:
    scheduler().stop(session_id(), name)


def update_interval(base: float) -> float:
    """Seconds between live updates of a training session: `base`, longer when many train."""
    return scheduler().update_interval(base)


def update_interval_moved(current: float, base: float) -> bool:
    """Did the number of sessions training change enough that the live updates should come at
    another pace? (A fragment's pace is set when the page runs: a full rerun sets the new one.)"""
    wanted = update_interval(base)
    return not (current / 1.5 <= wanted <= current * 1.5)


# Networks training at once, per core, from which the Train page draws the views inside the
# network only on request: their five charts are a fifth of every click's work. On 2 cores, with
# 10 training a Home click's p95 was 0.5-0.6 s with them; with 30, a Train click's was 1.4-2.7 s
# with them and 1.0-1.7 s without (benchmarks/classroom.py --all-train).
CROWD_PER_CORE = 10


def crowd_size() -> int:
    return CROWD_PER_CORE * usable_cores()


def training_count() -> int:
    """How many networks train on this server now."""
    return scheduler().training_count()


def share_text() -> str | None:
    """How this session's training shares the server, when others train too."""
    others = training_count() - 1
    if others <= 0:
        return None
    share = scheduler().share(session_id())
    fraction = t("train.share.whole_core") if share >= 1 else t("train.share.part_of_core", parts=round(1 / share))
    if others == 1:
        return t("train.share.one_other", fraction=fraction)
    return t("train.share.others", count=others, fraction=fraction)


def run_ids() -> set[str]:
    return st.session_state.setdefault(RUN_IDS_KEY, set())


# --- single run ----------------------------------------------------------------------------
def current_run() -> LiveRun | None:
    return st.session_state.get(RUN_KEY)


def new_run(config, data, class_digits=None) -> LiveRun:
    run = st.session_state[RUN_KEY] = LiveRun(config, data)
    run_ids().add(run.id)
    run.class_curve = follow_class_digits(run, class_digits) if class_digits is not None else None
    return run


def follow_class_digits(run: LiveRun, digits) -> ClassCurve:
    """Measure the run on the class's digits whenever it measures its validation accuracy.

    The trainer measures that in end_epoch, which may come in the middle of a time slice; wrapping
    this one trainer's end_epoch measures the class's digits at that same moment, on the same net."""
    curve = ClassCurve(digits.images, digits.labels)
    trainer = run.trainer
    end_epoch = trainer.end_epoch

    def end_epoch_and_measure_class():
        record = end_epoch()
        with np.errstate(all="ignore"):
            curve.measure(trainer.net, record.epoch)
        return record

    trainer.end_epoch = end_epoch_and_measure_class
    return curve


def class_curve(run) -> ClassCurve | None:
    return getattr(run, "class_curve", None)


def start(config, data, class_digits=None) -> None:
    run = current_run()
    if run is None or run.done:
        if run is not None:
            keep(run)
        run = new_run(config, data, class_digits)
    if run.status in ("ready", "paused"):
        run.status = "running"


def pause() -> None:
    run = current_run()
    if run is not None and run.status == "running":
        run.status = "paused"
        run.release()


def step_once(config, data, class_digits=None) -> None:
    run = current_run()
    if run is None:
        run = new_run(config, data, class_digits)
    if run.status in ("ready", "paused", "running"):
        run.status = "paused"
        run.advance(steps=1)
        if run.status == "paused":
            run.release()
        finish_if_done(run)


def reset() -> None:
    run = st.session_state.pop(RUN_KEY, None)
    if run is not None:
        stop_training(run.id)
        if run.status == "running":
            run.status = "paused"  # ends a turn the scheduler may be running right now
        keep(run)
        run.release()


def keep(run: LiveRun) -> None:
    """Put a run with at least one step in the run list (once)."""
    if run.step and not getattr(run, "kept", False):
        add_record(st.session_state.setdefault(RECORDS_KEY, []), record_of(run))
        run.kept = True


def finish_if_done(run: LiveRun) -> bool:
    """After the last step (taken in the scheduler's thread, between two page runs): file the run
    and offer the model to the other pages, once."""
    if run.done and not getattr(run, "filed", False):
        keep(run)
        if run.status == "finished":
            publish(run)
        run.filed = True
    return run.done


def publish(run: LiveRun) -> None:
    st.session_state[SESSION_MODEL_KEY] = (run.net, card_of(run))


def card_of(run: LiveRun) -> dict:
    return json.loads(downloads(run)["card"])


def downloads(run: LiveRun) -> dict[str, bytes]:
    """The weights, model card and curves of a run, built once (cached on the run)."""
    cached = getattr(run, "_downloads", None)
    if cached is not None and cached["step"] == run.step:
        return cached
    npz = weights_bytes(run.net)
    card = model_card(run.net, hashlib.sha256(npz).hexdigest(), config=run.config.to_dict(),
                      test_accuracy=run.trainer.history.test_accuracy, steps=run.step, trained_on="Train page")  # fmt: skip
    run._downloads = {"step": run.step, "npz": npz, "card": (json.dumps(card, indent=2) + "\n").encode(), "csv": curves_csv(run)}
    return run._downloads


def curves_csv(run: LiveRun) -> bytes:
    losses = run.losses.values
    out = io.StringIO()
    out.write("step,loss,smoothed_loss,epoch,train_accuracy,val_accuracy\n")
    smoothed = smooth(losses)
    by_step = {e.step: e for e in run.trainer.history.epochs}
    for i, (loss, s) in enumerate(zip(losses, smoothed), start=1):
        e = by_step.get(i)
        tail = f",{e.epoch},{e.train_accuracy:.6f},{'' if e.val_accuracy is None else f'{e.val_accuracy:.6f}'}" if e else ",,,"
        out.write(f"{i},{loss:.6g},{s:.6g}{tail}\n")
    return out.getvalue().encode()


def plotted_loss(run_losses: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Downsampled (steps, raw, smoothed) for the live chart: never more than ~1,500 points."""
    smoothed_full = smooth(run_losses, weight=_smoothing(len(run_losses)))
    steps, raw = downsample(run_losses)
    _, smoothed = downsample(smoothed_full)
    return steps, raw, smoothed


def _smoothing(n: int) -> float:
    return 0.6 if n < 30 else 0.9 if n < 500 else 0.98


# --- fine-tuning a shipped network on the class's digits ------------------------------------
class FineTuneRun:
    """A shipped network being fine-tuned on MNIST plus a room's digits (FineTuning does the work)."""

    def __init__(self, model: str, room: str, digits, data):
        net, _ = load_pretrained(model)
        self.model, self.room, self.digit_count = model, room, len(digits)
        self.job = FineTuning(net, digits.images, digits.labels, digits.ids, data, **FINE_TUNE_SETTINGS)
        self.error: str | None = None

    def work(self, seconds: float) -> bool:
        """One scheduler turn; whether there is more to do."""
        try:
            self.job.advance(seconds)
        except Exception as error:  # noqa: BLE001 - shown on the page; the server lives on
            self.error = str(error)
        return not (self.job.done or self.error)


def fine_tune_run() -> FineTuneRun | None:
    return st.session_state.get(FINE_TUNE_KEY)


def start_fine_tune(model: str, room: str, digits, data) -> None:
    st.session_state[FINE_TUNE_KEY] = FineTuneRun(model, room, digits, data)


def forget_fine_tune() -> None:
    st.session_state.pop(FINE_TUNE_KEY, None)


# --- comparison ------------------------------------------------------------------------------
def comparison() -> Comparison | None:
    return st.session_state.get(COMPARE_KEY)


def start_comparison(configs, data, labels=None, rotated_test: bool = False) -> None:
    cmp = comparison()
    if cmp is None or cmp.done:
        if cmp is not None:
            for run in cmp.runs:
                keep(run)
        cmp = Comparison(configs, data, labels=labels, rotated_test=rotated_test)
        st.session_state[COMPARE_KEY] = cmp
        run_ids().add(cmp.id)
    cmp.running = True


def pause_comparison() -> None:
    cmp = comparison()
    if cmp is not None:
        cmp.running = False
        cmp.release()


def finish_comparison_if_done(cmp: Comparison | None) -> None:
    """Once every run has ended (in the scheduler's thread): measure the rotated digits, file
    the runs, free their memory."""
    if cmp is not None and cmp.done and cmp.running:
        cmp.running = False
        cmp.results()
        for run in cmp.runs:
            keep(run)
        cmp.release()


def reset_comparison() -> None:
    cmp = st.session_state.pop(COMPARE_KEY, None)
    if cmp is not None:
        stop_training(cmp.id)
        cmp.running = False  # ends a turn the scheduler may be running right now
        for run in cmp.runs:
            keep(run)
        cmp.release()


def records() -> list:
    return st.session_state.setdefault(RECORDS_KEY, [])


def delete_records(indices) -> None:
    keep_list = [r for i, r in enumerate(records()) if i not in set(indices)]
    st.session_state[RECORDS_KEY] = keep_list
