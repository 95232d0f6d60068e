"""The Class digits page under AppTest, each test with its own class database (CLASS_DB in a
temporary folder): rooms from a link or a code, contributing digits (the canvas is replaced by a
stand-in that hands the page a 28x28 digit), the class view checked against the networks run here
independently, the teacher's controls with and without the key, bad input and a broken database
file; and the page in Chinese without English sentences."""

from __future__ import annotations

import json
import os
import sqlite3
import time

import numpy as np
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from explorer.data.class_rooms import open_class_rooms
from explorer.i18n import language, t
from explorer.lab.class_eval import accuracy, confusion_matrix
from explorer.lab.results import best_available
from explorer.nn.pretrained import available, load_pretrained
from explorer.ui import class_view, digit_input
from explorer.ui.app_setup import REPO_ROOT
from tests.english_check import english_in, english_runs
from tests.plotly_arrays import values

HOME = str(REPO_ROOT / "explorer" / "Home.py")
PAGE = "../pages/class_digits.py"
TIMEOUT = 180


@pytest.fixture(autouse=True)
def class_db(tmp_path, monkeypatch):
    """A fresh database file per test, and caches as on a fresh server."""
    path = tmp_path / "class.sqlite3"
    monkeypatch.setenv("CLASS_DB", str(path))
    monkeypatch.delenv("CLASS_ROOM_DAYS", raising=False)
    monkeypatch.delenv("CLASS_ROOM_CAP", raising=False)
    st.cache_resource.clear()
    yield path
    st.cache_resource.clear()


class Pen:
    """Stands in for the canvas: the page gets `image` as the student's drawing (None: empty)."""

    def __init__(self, monkeypatch):
        self.image: np.ndarray | None = None
        monkeypatch.setattr(digit_input, "draw_digit", self.draw)

    def draw(self, key, **kwargs):
        return None if self.image is None else digit_input.Digit(self.image.copy(), "your drawing")


@pytest.fixture
def pen(monkeypatch) -> Pen:
    return Pen(monkeypatch)


def one() -> np.ndarray:
    """A thick vertical stroke: a '1' with plenty of ink."""
    image = np.zeros((28, 28), np.uint8)
    image[4:24, 12:16] = 255
    return image


def open_page(room: str | None = None, lang: str | None = None, view: str | None = None) -> AppTest:
    at = AppTest.from_file(HOME, default_timeout=TIMEOUT)
    for name, value in (("room", room), ("lang", lang), ("class_view", view)):
        if value is not None:
            at.query_params[name] = value
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def texts(at: AppTest) -> str:
    kinds = ("markdown", "caption", "info", "warning", "success", "error", "subheader", "title")
    return "\n".join(str(e.value) for kind in kinds for e in getattr(at, kind))


def captions(at: AppTest) -> list[str]:
    return [caption for image in at.get("image") for caption in image.captions]


def click(at: AppTest, key: str) -> AppTest:
    at.button(key=key).click().run()
    assert not at.exception, at.exception
    return at


def rooms():
    return open_class_rooms(os.environ["CLASS_DB"])


def new_room(**settings):
    return rooms().create_room(**settings)


# --- rooms -----------------------------------------------------------------------------------------


def test_without_a_room_the_page_explains_and_offers_join_and_create():
    at = open_page()
    assert t("class_digits.intro") in texts(at)
    assert {b.key for b in at.button} >= {"class_join", "class_create"}
    assert "room" not in at.query_params


def test_a_teacher_creates_a_room_and_sees_the_key_once(class_db):
    at = click(open_page(), "class_create")
    code = at.query_params["room"]
    key = at.code[0].value
    assert rooms().check_key(code, key) == code  # the key shown is the room's teacher key
    assert at.button_group(key="class_view").value == "teacher"
    assert at.button(key="class_close")  # this session may use the teacher's controls
    # only a hash is stored: neither the key nor its letters without dashes are in the file
    stored = class_db.read_bytes()
    assert key.encode() not in stored and key.replace("-", "").encode() not in stored
    click(at, "class_key_noted")
    assert not at.code and key not in texts(at)


def test_a_student_joins_with_the_code_and_the_link_keeps_it():
    room = new_room()
    at = open_page()
    at.text_input(key="class_join_code").input(room.code.lower()).run()
    click(at, "class_join")
    assert at.query_params["room"] == room.code
    assert t("class_digits.room.title", code=room.code) in texts(at)
    assert not any(b.key == "class_join" for b in at.button)


def test_a_wrong_or_malformed_code_is_refused_and_nothing_is_joined():
    new_room()
    at = open_page()
    at.text_input(key="class_join_code").input("ZZZZZZ").run()
    click(at, "class_join")
    assert t("class_digits.refusal.room_not_found", code="ZZZZZZ") in texts(at)
    assert "room" not in at.query_params
    time.sleep(1.05)  # joining is paced: one wrong code per second
    at.text_input(key="class_join_code").input("7QX").run()
    click(at, "class_join")
    assert t("class_digits.refusal.invalid_room_code", code="7QX", length=6) in texts(at)
    assert "room" not in at.query_params


def test_an_expired_room_in_a_link_is_explained_and_left():
    open_page()  # the page's rooms exist before the room expires (opening purges expired rooms)
    room = new_room(lifetime_days=0.5 / 86400)
    time.sleep(0.6)
    at = open_page(room=room.code)
    assert t("class_digits.refusal.room_expired", code=room.code) in texts(at)
    assert "room" not in at.query_params and at.button(key="class_create")


# --- contributing ----------------------------------------------------------------------------------


def test_a_student_draws_the_digits_asked_for_in_turn_and_sees_the_answer_only_after(pen):
    room = new_room()
    at = open_page(room=room.code)
    assert t("class_digits.contribute.ask", digit=0) in texts(at)
    pen.image = one()
    at.run()
    page = texts(at)
    assert "read it as" not in page  # nothing about what the network thinks before submitting

    click(at, "class_submit")
    digits = rooms().digits(room.code)
    assert digits.labels.tolist() == [0] and np.array_equal(digits.images[0], one())
    page = texts(at)
    assert t("class_digits.contribute.thanks", label=0, id=int(digits.ids[0])) in page
    # the answer of the best shipped network, computed here independently
    name = best_available(available())[0]  # the network Home answers with
    probabilities = load_pretrained(name)[0].predict_proba(one()[None])[0]
    read = int(probabilities.argmax())
    verdict = "right" if read == 0 else "wrong"
    assert t(f"class_digits.contribute.read_{verdict}", model=name, read=read, sure=f"{probabilities[read]:.0%}") in page
    assert t("class_digits.contribute.ask", digit=1) in page  # the next digit to draw

    pace = class_view.class_rooms().rate_limit
    pace.min_interval = 600.0  # "at once again", however slow this machine is
    click(at, "class_submit")
    assert at.warning[0].value.startswith(t("class_digits.refusal.too_fast", wait_seconds="X").split("X")[0])
    assert len(rooms().digits(room.code)) == 1
    pace.min_interval = 0.0
    click(at, "class_submit")
    assert rooms().digits(room.code).labels.tolist() == [0, 1]


def test_free_choice_needs_a_label_and_an_empty_drawing_is_refused(pen):
    room = new_room()
    at = open_page(room=room.code)
    click(at, "class_submit")  # nothing drawn
    assert t("class_digits.refusal.too_little_ink") in texts(at)
    pen.image = one()
    at.button_group(key="class_ask").set_value("free").run()  # the page sees the drawing
    click(at, "class_submit")  # no label chosen
    assert t("class_digits.refusal.missing_label") in texts(at)
    assert len(rooms().digits(room.code)) == 0
    label_choice = next(b for b in at.button_group if b.key.startswith("class_label_"))
    label_choice.set_value(7).run()
    click(at, "class_submit")
    assert rooms().digits(room.code).labels.tolist() == [7]


def test_a_full_or_closed_room_takes_no_more_digits(pen):
    room = new_room(cap=1)
    rooms().submit(room.code, one(), 1, "someone else")
    pen.image = one()
    at = open_page(room=room.code)
    click(at, "class_submit")
    assert t("class_digits.refusal.room_full", code=room.code, cap=1) in texts(at)
    rooms().close_room(room.code, room.teacher_key)
    at.run()
    assert t("class_digits.refusal.room_closed", code=room.code) in texts(at)
    assert not any(b.key == "class_submit" for b in at.button)
    assert len(rooms().digits(room.code)) == 1


# --- the class view ------------------------------------------------------------------------------


def chart_spec(at: AppTest, key_part: str) -> dict:
    for chart in at.get("plotly_chart"):
        if key_part in chart.proto.id:
            return json.loads(chart.proto.spec)
    raise AssertionError(f"no chart with key {key_part}")


@pytest.fixture
def filled_room(mnist_dir, monkeypatch):
    """A room with 30 MNIST test digits (three of each label), submitted by 30 sessions."""
    from explorer.data.mnist import load_mnist

    monkeypatch.setenv("MNIST_DIR", str(mnist_dir))
    data = load_mnist(mnist_dir)
    picks = np.concatenate([np.flatnonzero(data.test_labels == label)[:3] for label in range(10)])
    room = new_room()
    class_rooms = rooms()
    for number, index in enumerate(picks):
        class_rooms.submit(room.code, data.test_images[index], int(data.test_labels[index]), f"student {number}")
    return room, class_rooms.digits(room.code)


def test_the_class_view_shows_counts_accuracy_and_confusion_computed_independently(filled_room):
    room, digits = filled_room
    at = open_page(room=room.code, view="class")
    counts = values(chart_spec(at, "class_counts")["data"][0]["y"])
    assert counts.tolist() == np.bincount(digits.labels, minlength=10).tolist()

    accuracy_bars = chart_spec(at, "class_accuracy")["data"]
    names = accuracy_bars[0]["y"]
    on_mnist, on_class = values(accuracy_bars[0]["x"]), values(accuracy_bars[1]["x"])
    assert set(names) == set(available())
    for name, mnist_value, class_value in zip(names, on_mnist, on_class):
        net, card = load_pretrained(name)
        assert class_value == pytest.approx(accuracy(net.predict_proba(digits.images), digits.labels))
        assert mnist_value == pytest.approx(card["test_accuracy"])

    model = at.selectbox(key="class_model").value
    net = load_pretrained(model)[0]
    expected = confusion_matrix(digits.labels, net.predict(digits.images))
    assert np.array_equal(values(chart_spec(at, "class_confusion")["data"][0]["z"]), expected)
    assert t("class_digits.view.hardest", model=model) in texts(at)
    assert t("class_digits.view.gallery_row", digit=3, count=3) in captions(at)


def test_the_class_view_picks_up_new_digits(filled_room):
    room, digits = filled_room
    at = open_page(room=room.code, view="class")
    rooms().submit(room.code, digits.images[0], int(digits.labels[0]), "a latecomer")
    at.run()
    assert values(chart_spec(at, "class_counts")["data"][0]["y"])[int(digits.labels[0])] == 4
    assert t("class_digits.view.live", seconds="3", count=31) in texts(at)


# --- the teacher ---------------------------------------------------------------------------------


def test_teacher_controls_need_the_key(filled_room):
    room, digits = filled_room
    at = open_page(room=room.code, view="teacher")
    assert t("class_digits.teacher.locked") in texts(at)
    assert not any(b.key in ("class_delete", "class_clear", "class_close") for b in at.button)
    assert not at.get("download_button")
    at.text_input(key="class_key_typed").input("AAAAA-BBBBB-CCCCC-DDDDD").run()
    click(at, "class_unlock")
    assert t("class_digits.refusal.wrong_key", code=room.code) in texts(at)
    assert not any(b.key == "class_delete" for b in at.button)

    at.text_input(key="class_key_typed").input(room.teacher_key.lower()).run()
    click(at, "class_unlock")
    assert at.get("download_button")
    newest = int(digits.ids[-1])
    assert at.selectbox(key="class_delete_id").value == newest
    click(at, "class_delete")
    assert t("class_digits.teacher.deleted", id=newest) in texts(at)
    assert newest not in rooms().digits(room.code).ids

    assert at.button(key="class_clear").disabled  # not without "yes, I mean it"
    at.checkbox(key="class_sure").check().run()
    click(at, "class_clear")
    assert len(rooms().digits(room.code)) == 0
    click(at, "class_close")
    assert rooms().room_info(room.code).closed


def test_deleting_the_room_leaves_it(filled_room):
    room, _ = filled_room
    at = open_page(room=room.code, view="teacher")
    at.text_input(key="class_key_typed").input(room.teacher_key).run()
    click(at, "class_unlock")
    at.checkbox(key="class_sure").check().run()
    click(at, "class_delete_room")
    assert t("class_digits.teacher.room_deleted", code=room.code) in texts(at)
    assert "room" not in at.query_params
    assert at.button(key="class_create")


# --- a broken database ---------------------------------------------------------------------------


def test_a_damaged_database_file_is_explained_and_the_app_goes_on(class_db):
    class_db.write_bytes(b"SQLite format 3\x00" + b"\x07" * 4096)  # a header, then garbage
    at = open_page()
    assert at.error and "class_digits" not in at.error[0].value
    assert str(class_db) in at.error[0].value
    assert not at.exception
    home = AppTest.from_file(HOME, default_timeout=TIMEOUT).run()
    assert not home.exception
    assert class_db.read_bytes().startswith(b"SQLite format 3\x00")  # left for the teacher


def test_a_locked_database_is_explained_and_nothing_is_stored(class_db, pen, monkeypatch):
    from explorer.data import classdb

    room = new_room()
    at = open_page(room=room.code)
    monkeypatch.setattr(classdb, "WRITE_ATTEMPTS", 1)
    class_view.class_rooms().db.busy_timeout = 0.1  # the next run's thread connects with it
    pen.image = one()
    at.run()
    locker = sqlite3.connect(class_db, isolation_level=None, timeout=0)
    locker.execute("BEGIN EXCLUSIVE")  # another program holds the write lock
    try:
        click(at, "class_submit")
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert t("class_digits.db_reason.locked", path=str(class_db)) in at.error[0].value
    assert len(rooms().digits(room.code)) == 0


def test_a_read_only_database_is_explained_and_nothing_changes(class_db, monkeypatch):
    """A database the server may read but not write (a read-only mount, the wrong owner). These
    tests run as root, whom file modes do not stop, so the file's writability is what the module
    asks the OS (os.access) and here the OS says no (tests/test_classdb.py checks a real
    read-only file as another user)."""
    room = new_room()
    checkpoint = sqlite3.connect(class_db)
    checkpoint.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything in the main file, as after a restart
    checkpoint.close()
    before = class_db.read_bytes()
    real_access = os.access
    denied = {str(class_db), str(class_db.parent)}
    monkeypatch.setattr(os, "access", lambda path, mode, **kw: False if mode & os.W_OK and str(path) in denied
                        else real_access(path, mode, **kw))  # fmt: skip
    st.cache_resource.clear()
    at = open_page(room=room.code)
    assert t("class_digits.db_reason.read_only", path=str(class_db)) in at.error[0].value
    assert "class_submit" not in [button.key for button in at.button]  # nothing to submit into
    home = AppTest.from_file(HOME, default_timeout=TIMEOUT).run()
    assert not home.exception
    assert class_db.read_bytes() == before


# --- languages -----------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["zh-Hans", "zh-Hant"])
def test_the_page_has_no_english_sentences_in_chinese(lang, filled_room, pen):
    room, _ = filled_room
    at = open_page(lang=lang)
    assert english_in(at) == []
    at = open_page(room=room.code, lang=lang)
    pen.image = one()
    at.run()
    click(at, "class_submit")
    assert at.success and english_in(at) == []
    with language(lang):
        assert t("class_digits.contribute.thanks", label=0, id=0).split("0")[0] in texts(at)
    with language(lang):  # AppTest formats the value to set with the widget's format_func, here t()
        at.button_group(key="class_view").set_value("class").run()
    assert not at.exception and english_in(at) == []
    assert captions(at) and [c for c in captions(at) if english_runs(c)] == []
    with language(lang):
        at.button_group(key="class_view").set_value("teacher").run()
    assert english_in(at) == []
    at.text_input(key="class_key_typed").input("AAAAA-BBBBB-CCCCC-DDDDD").run()
    click(at, "class_unlock")
    assert at.warning and english_in(at) == []
    at.text_input(key="class_key_typed").input(room.teacher_key).run()
    click(at, "class_unlock")
    assert at.get("download_button") and english_in(at) == []


# --- every refusal and every database problem has its words ------------------------------------


@pytest.mark.parametrize("lang", ["en", "zh-Hans", "zh-Hant"])
def test_every_refusal_and_database_problem_is_in_the_catalogs(lang):
    import string

    from explorer import i18n
    from explorer.data.class_rooms import MESSAGES, ClassRoomError
    from explorer.data.classdb import REASONS, ClassDbUnavailable

    catalog = i18n.catalog(lang)
    for code, english in MESSAGES.items():
        text = catalog[f"class_digits.refusal.{code}"]
        fields = {name for _, name, _, _ in string.Formatter().parse(english) if name}
        assert i18n.placeholders(text) <= fields, code  # only what the refusal carries
        params = {name: 1.5 if name == "wait_seconds" else "X" for name in fields}
        with language(lang):
            shown = class_view.refusal_text(ClassRoomError(code, **params))
        assert "{" not in shown and (lang == "en" or english_runs(shown) == []), shown
    for reason in REASONS:
        with language(lang):
            shown = class_view.unavailable_text(ClassDbUnavailable(reason, "/tmp/class.sqlite3", found=3, known=2))
        assert "{" not in shown and "/tmp/class.sqlite3" in shown or reason == "bad_setting", shown
        assert lang == "en" or english_runs(shown) == [], shown


def test_a_malformed_setting_turns_the_class_features_off_with_its_name(monkeypatch):
    monkeypatch.setenv("CLASS_ROOM_CAP", "lots")
    at = open_page()
    assert at.error and "CLASS_ROOM_CAP" in at.error[0].value
    assert not any(b.key == "class_create" for b in at.button)


def test_room_codes_in_links_are_paced_like_typed_ones():
    """A session trying codes through the link gets one wrong code a second, as when typing."""
    room = new_room()
    open_page()
    pace = class_view.class_rooms().join_limit
    pace.min_interval = 600.0  # "at once", however slow this machine is
    at = open_page(room="ZZZZZZ")
    assert t("class_digits.refusal.room_not_found", code="ZZZZZZ") in texts(at)
    at.query_params["room"] = room.code  # the right code, at once after a wrong one
    at.run()
    assert at.warning[0].value.startswith(t("class_digits.refusal.too_fast", wait_seconds="X").split("X")[0])
    pace.min_interval = 0.0
    at.query_params["room"] = room.code
    at.run()
    assert t("class_digits.room.title", code=room.code) in texts(at)


def test_a_room_in_a_link_to_another_page_stays_in_the_link(tmp_path, monkeypatch):
    """A lesson link to Home (or any page) that carries ?room= keeps it, so the Class digits page
    opens in that room later in the session."""
    monkeypatch.setenv("CLASS_DB", str(tmp_path / "class.db"))
    at = AppTest.from_file(str(REPO_ROOT / "explorer" / "Home.py"), default_timeout=120)
    at.query_params["room"] = "7qx4mz"
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["room"] == "7QX4MZ"
    assert at.query_params.get("room") == "7QX4MZ"  # written back as the app spells it
