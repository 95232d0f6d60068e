"""The class's digits on the Train page, under AppTest with a class database of its own (CLASS_DB in
a temporary folder). The "class's digits" are MNIST test digits (or framed ones, a handwriting
MNIST lacks), so the numbers the page shows can be checked against explorer.lab.class_eval run
here independently: the class accuracy curve, the finished run's numbers, fine-tuning; the hint
without a room or with too few digits; the links; the page in Chinese without English sentences."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from explorer.data.class_rooms import open_class_rooms
from explorer.i18n import language, t
from explorer.lab import class_eval
from explorer.nn.pretrained import load_pretrained
from explorer.ui import train_state
from explorer.ui.app_setup import REPO_ROOT
from tests.app_pages import rerun_until
from tests.english_check import english_in

HOME = str(REPO_ROOT / "explorer" / "Home.py")
PAGE = "../pages/train.py"
TIMEOUT = 180
pytestmark = pytest.mark.mnist


@pytest.fixture(autouse=True)
def class_db(tmp_path, monkeypatch, mnist_dir):
    """A fresh class database per test, and caches as on a fresh server."""
    monkeypatch.setenv("CLASS_DB", str(tmp_path / "class.sqlite3"))
    monkeypatch.setenv("MNIST_DIR", str(mnist_dir))
    monkeypatch.delenv("CLASS_ROOM_CAP", raising=False)
    st.cache_resource.clear()
    yield
    st.cache_resource.clear()


def room_with(images: np.ndarray, labels: np.ndarray) -> str:
    """A new room holding these digits (one session per digit: a session may submit once a second)."""
    rooms = open_class_rooms(os.environ["CLASS_DB"])
    code = rooms.create_room().code
    for i, (image, label) in enumerate(zip(images, labels)):
        rooms.submit(code, image, int(label), f"student-{i}")
    return code


def room_digits(code: str):
    return open_class_rooms(os.environ["CLASS_DB"]).digits(code)


def framed(images: np.ndarray) -> np.ndarray:
    """Digits with a thick frame: a handwriting no MNIST network has seen (fine-tuning helps)."""
    out = images.copy()
    out[:, :3, :] = out[:, -3:, :] = out[:, :, :3] = out[:, :, -3:] = 255
    return out


def open_train(room: str | None = None, lang: str | None = None, **params) -> AppTest:
    at = AppTest.from_file(HOME, default_timeout=TIMEOUT)
    for name, value in (("room", room), ("lang", lang), *params.items()):
        if value is not None:
            at.query_params[name] = value
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def small(at: AppTest, batch=10, epochs=2, train=1000) -> None:
    at.selectbox(key="tr_model").set_value("nielsen").run()
    at.select_slider(key="tr_batch").set_value(batch)
    at.select_slider(key="tr_train_size").set_value(train)
    at.slider(key="tr_epochs").set_value(epochs)
    at.run()
    assert not at.exception, at.exception


def click(at: AppTest, key: str) -> AppTest:
    at.button(key=key).click().run()
    assert not at.exception, at.exception
    return at


def run_until(at: AppTest, done) -> None:
    assert rerun_until(at, done), "not done in the time allowed"


def page_links(at: AppTest) -> list[str]:
    return [element.proto.label for element in at.get("page_link")]


def accuracy_chart(at: AppTest) -> dict:
    title = t("train.figures.accuracy_title")
    specs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    return next(spec for spec in specs if spec["layout"]["title"]["text"] == title)


def class_trace(at: AppTest) -> dict | None:
    name = t("train.class.figures.class_digits")
    return next((trace for trace in accuracy_chart(at)["data"] if trace.get("name") == name), None)


def accuracy_of(net, digits) -> float:
    return class_eval.accuracy(class_eval.predict_in_batches(net, digits.images), digits.labels)


# --- without the class's digits ------------------------------------------------------------------


def test_without_a_room_a_hint_links_to_the_class_digits_page():
    at = open_train()
    assert page_links(at) == [t("train.class.hint_no_room")]
    assert not any(toggle.key == "tr_class" for toggle in at.toggle)
    assert at.button(key="ft_start").disabled


def test_a_room_with_too_few_digits_says_how_many_it_needs(mnist):
    code = room_with(mnist.test_images[:class_eval.MIN_DIGITS - 1], mnist.test_labels[:class_eval.MIN_DIGITS - 1])
    at = open_train(room=code)
    assert page_links(at) == [t("train.class.hint_too_few", room=code, minimum=class_eval.MIN_DIGITS)]
    assert at.button(key="ft_start").disabled


# --- the class's digits as a test set ------------------------------------------------------------


def test_the_class_curve_is_measured_with_the_validation_accuracy_and_ends_at_the_nets_accuracy(mnist):
    code = room_with(mnist.test_images[:40], mnist.test_labels[:40])
    digits = room_digits(code)
    at = open_train(room=code)
    small(at, batch=100, epochs=2)  # 10 steps an epoch
    assert at.toggle(key="tr_class").value and str(len(digits)) in at.toggle(key="tr_class").label
    for _ in range(10):  # step through the first epoch: the class digits are measured at its end, on that net
        click(at, "btn_step")
    run = at.session_state["train_run"]
    assert run.trainer.epoch == 1 and run.class_curve.epochs == [1]
    assert run.class_curve.values == [pytest.approx(accuracy_of(run.net, digits))]
    click(at, "btn_resume")
    run_until(at, lambda: at.session_state["train_run"].status == "finished")
    at.run()
    run = at.session_state["train_run"]
    curve = run.class_curve
    assert curve.epochs == [e.epoch for e in run.trainer.history.epochs] == [1, 2]
    final = accuracy_of(run.net, digits)
    assert curve.values[-1] == pytest.approx(final)
    trace = class_trace(at)
    assert trace is not None and trace["x"] == [1, 2] and trace["y"] == pytest.approx(curve.values)
    after = t("train.class.after", accuracy=f"{final:.1%}", right=f"{round(final * len(digits)):,}", count=f"{len(digits):,}",
              mnist=f"{run.trainer.history.test_accuracy:.1%}")  # fmt: skip
    assert after in [s.value for s in at.success]


def test_turning_the_class_test_off_trains_without_it(mnist):
    code = room_with(mnist.test_images[:20], mnist.test_labels[:20])
    at = open_train(room=code, tr_class="0")
    assert at.toggle(key="tr_class").value is False
    small(at, batch=100, epochs=1)
    for _ in range(10):
        click(at, "btn_step")
    assert at.session_state["train_run"].class_curve is None and class_trace(at) is None


# --- fine-tuning -----------------------------------------------------------------------------------


def fine_tune_on_page(at: AppTest, model: str) -> None:
    at.selectbox(key="ft_model").set_value(model).run()
    click(at, "ft_start")
    run_until(at, lambda: at.session_state[train_state.FINE_TUNE_KEY].job.done)
    at.run()
    assert not at.exception, at.exception


def test_fine_tuning_changes_the_held_out_accuracy_as_class_eval_says(mnist):
    images, labels = framed(mnist.test_images[:150]), mnist.test_labels[:150]
    code = room_with(images, labels)
    digits = room_digits(code)
    at = open_train(room=code)
    fine_tune_on_page(at, "nielsen")
    net, _ = load_pretrained("nielsen")
    expected = class_eval.fine_tune(net, digits.images, digits.labels, digits.ids, mnist, **train_state.FINE_TUNE_SETTINGS)
    assert at.session_state[train_state.FINE_TUNE_KEY].job.result() == expected
    assert expected.after > expected.before + 0.05  # framed digits: the class's handwriting is learnt
    table = at.table[-1].value
    before, after = t("train.class.fine_tune.before"), t("train.class.fine_tune.after")
    assert list(table[before]) == [f"{expected.before:.1%}", f"{expected.mnist_before:.1%}"]
    assert list(table[after]) == [f"{expected.after:.1%}", f"{expected.mnist_after:.1%}"]
    kind = "better_forgot" if expected.mnist_before - expected.mnist_after > 0.02 else "better"
    sentence = t(f"train.class.fine_tune.says.{kind}", model=t("train.model.nielsen.title"), used=f"{expected.used:,}",
                 held=f"{expected.held_out:,}", before=f"{expected.before:.1%}", after=f"{expected.after:.1%}",
                 mnist_before=f"{expected.mnist_before:.1%}", mnist_after=f"{expected.mnist_after:.1%}")  # fmt: skip
    assert sentence in [m.value for m in at.markdown]
    titles = [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]
    assert t("train.class.figures.fine_tune_title") in titles
    assert at.query_params["ft_model"] == "nielsen"


def test_fine_tuning_a_slice_at_a_time_gives_the_same_numbers_as_at_once(mnist):
    images, labels, ids = framed(mnist.test_images[:60]), mnist.test_labels[:60], np.arange(1, 61)
    job = class_eval.FineTuning(load_pretrained("nielsen")[0], images, labels, ids, mnist, **train_state.FINE_TUNE_SETTINGS)
    progress = [job.progress]
    while not job.done:
        job.advance(1e-9)  # one step a slice, on any machine
        progress.append(job.progress)
    assert progress[0] == 0 and progress[-1] == 1 and progress == sorted(progress)
    assert len(progress) == job.total_steps + 2  # a step a slice, then the slice that measures "after"
    at_once = class_eval.fine_tune(load_pretrained("nielsen")[0], images, labels, ids, mnist, **train_state.FINE_TUNE_SETTINGS)
    assert job.result() == at_once


def test_a_fine_tuning_that_fails_stops_with_its_reason_on_the_page(mnist, monkeypatch):
    code = room_with(mnist.test_images[:40], mnist.test_labels[:40])
    at = open_train(room=code)

    def broken(self, seconds=None):
        raise ValueError("the class's digits could not be read")

    monkeypatch.setattr(class_eval.FineTuning, "advance", broken)
    at.selectbox(key="ft_model").set_value("nielsen").run()
    click(at, "ft_start")
    assert rerun_until(at, lambda: at.error)
    assert [e.value for e in at.error] == [t("train.stop.error", error="the class's digits could not be read")]
    assert at.session_state[train_state.FINE_TUNE_KEY].job.done is False  # stopped, not finished


def test_the_fine_tune_model_comes_from_the_link(mnist):
    code = room_with(mnist.test_images[:12], mnist.test_labels[:12])
    at = open_train(room=code, ft_model="keras-mlp")
    assert at.selectbox(key="ft_model").value == "keras-mlp"
    at = open_train(room=code, ft_model="no-such-model")
    assert at.selectbox(key="ft_model").value == "lenet"


# --- in Chinese ------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["zh-Hans", "zh-Hant"])
def test_the_class_digits_on_the_train_page_in_chinese(lang, mnist):
    """The test speaks the page's language: AppTest formats choice widgets in the test's thread."""
    with language(lang):
        at = open_train(lang=lang)
        assert page_links(at) == [t("train.class.hint_no_room")]
        assert english_in(at) == []
        code = room_with(framed(mnist.test_images[:30]), mnist.test_labels[:30])
        at = open_train(room=code, lang=lang)
        small(at, batch=100, epochs=1)
        click(at, "btn_start")
        run_until(at, lambda: at.session_state["train_run"].status == "finished")
        at.run()
        fine_tune_on_page(at, "nielsen")
        assert class_trace(at) is not None
        assert t("train.class.figures.fine_tune_title") in [json.loads(c.proto.spec)["layout"]["title"]["text"] for c in at.get("plotly_chart")]
        assert english_in(at) == []
