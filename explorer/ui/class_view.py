"""The Class digits page's parts: the room in the link, joining and creating rooms, contributing a
digit, the live class view and the teacher's controls (explorer.data.class_rooms does the storing).

The room code lives in the session and the URL (`?room=7QX4MZ`); the teacher key only in the
session that created or typed it, never in the URL."""

from __future__ import annotations

import datetime
import os
import threading

import numpy as np
import streamlit as st

from explorer.data import classdb
from explorer.data.class_rooms import ClassDigits, ClassRoomError, ClassRooms, RoomInfo, normalize_code, open_class_rooms
from explorer.data.classdb import ClassDbUnavailable
from explorer.figures import class_digits as figures
from explorer.i18n import t
from explorer.lab import class_eval
from explorer.ui import digit_input, url_state
from explorer.ui.charts import chart
from explorer.ui.train_state import session_id

ROOM = "room"  # the session key and the URL parameter of the joined room
VIEWS = ("contribute", "class", "teacher")
ASK_MODES = ("cycle", "free")
LIVE_SECONDS = 3.0  # how often the class view looks for new digits
GALLERY_PER_LABEL = 14  # the newest digits of each label in the gallery
HARDEST_SHOWN = 8
LOOK_ALIKES_SHOWN = 8
PAGE_URL = "class_digits"

_KEYS = "class_teacher_keys"  # {room code: teacher key} this session may use
_NEW_KEY = "class_new_key"  # (code, key) of a room this session just created: shown once
_SUBMITTED = "class_submitted"  # how many digits this session submitted (the digit to ask for next)
_LAST = "class_last"  # the last submitted digit and what the network read
_CANVAS_ROUND = "class_canvas_round"  # a new canvas key after each submission empties the canvas
_DRAWN = "class_drawn"  # the digit on the canvas in the latest run (None: nothing drawn)
_REFUSAL = "class_refusal"  # why the last Submit was refused, shown by the run after it
_JOINED = "class_joined"  # the room this session has joined (its code was checked)
_FLASH = "class_flash"  # a message to show once on the next run (after an action and a rerun)


# --- the database ---------------------------------------------------------------------------------


@st.cache_resource(show_spinner=False)
def _rooms_at(path: str, days: str, cap: str) -> ClassRooms:
    return open_class_rooms(path)


def class_rooms() -> ClassRooms:
    """The process's rooms (one per database file and settings). Raises ClassDbUnavailable (not
    cached: the next run tries again, e.g. once the teacher has fixed the file)."""
    env = os.environ
    return _rooms_at(str(classdb.default_path()), env.get("CLASS_ROOM_DAYS", ""), env.get("CLASS_ROOM_CAP", ""))


def unavailable_text(error: ClassDbUnavailable) -> str:
    """Why the class features are off, in the page's language (SQLite's own words in backticks)."""
    params = {name: value for name, value in error.params.items() if name != "detail"}
    text = t("class_digits.unavailable", reason=t(f"class_digits.db_reason.{error.reason}", **params))
    detail = error.params.get("detail")
    return f"{text} `{detail}`" if detail else text


def refusal_text(error: ClassRoomError) -> str:
    """A refused request (wrong code, too fast, empty drawing...) in the page's language."""
    params = {name: f"{value:.1f}" if isinstance(value, float) else value for name, value in error.params.items()}
    return t(f"class_digits.refusal.{error.code}", **params)


def show_problem(error: Exception) -> None:
    if isinstance(error, ClassRoomError):
        st.warning(refusal_text(error), icon=":material/block:")
    else:
        st.error(unavailable_text(error), icon=":material/database_off:")


def flash(kind: str, text: str) -> None:
    """Show `text` on the next run (an action's result survives its st.rerun)."""
    st.session_state[_FLASH] = (kind, text)


def show_flash() -> None:
    kind, text = st.session_state.pop(_FLASH, (None, None))
    if kind:
        getattr(st, kind)(text)


# --- the room -----------------------------------------------------------------------------------


def _looks_like_code(text) -> bool:
    try:
        normalize_code(text)
    except ClassRoomError:
        return False
    return True


def bind_room() -> str:
    """The joined room's code ("" for none), from the link or the session; kept in the URL."""
    url_state.bind(ROOM, "", valid=lambda text: text == "" or _looks_like_code(text))
    code = st.session_state[ROOM]
    if code:
        st.session_state[ROOM] = code = normalize_code(code)
    return code


def leave_room() -> None:
    st.session_state[ROOM] = ""


def room_info_or_leave(rooms: ClassRooms, code: str) -> RoomInfo | None:
    """The room's state; an unknown or expired room is explained and left. A code new to this
    session (from a link) is checked like a typed one: one wrong code a second."""
    try:
        if st.session_state.get(_JOINED) == code:
            return rooms.room_info(code)
        info = rooms.join(code, session_id())
    except ClassRoomError as refusal:
        st.warning(refusal_text(refusal), icon=":material/block:")
        leave_room()
        return None
    st.session_state[_JOINED] = code
    return info


def teacher_key(code: str) -> str | None:
    return st.session_state.get(_KEYS, {}).get(code)


def remember_key(code: str, key: str) -> None:
    st.session_state.setdefault(_KEYS, {})[code] = key


def no_room(rooms: ClassRooms) -> None:
    """Without a room: what the page is for, a join form and a create button."""
    st.markdown(t("class_digits.intro"))
    join, create = st.columns(2, gap="large")
    with join.container(border=True):
        st.subheader(t("class_digits.join.title"))
        typed = st.text_input(t("class_digits.join.code"), key="class_join_code", max_chars=12,
                              placeholder="7QX4MZ")  # fmt: skip
        if st.button(t("class_digits.join.button"), icon=":material/login:", key="class_join"):
            try:
                info = rooms.join(typed, session_id())
            except (ClassRoomError, ClassDbUnavailable) as problem:
                show_problem(problem)
            else:
                st.session_state[ROOM] = info.code
                st.rerun()
    with create.container(border=True):
        st.subheader(t("class_digits.create.title"))
        st.caption(t("class_digits.create.about", days=f"{rooms.lifetime_days:g}", cap=f"{rooms.cap:,}"))
        if st.button(t("class_digits.create.button"), icon=":material/add_circle:", key="class_create"):
            try:
                room = rooms.create_room()
            except ClassDbUnavailable as problem:
                show_problem(problem)
            else:
                remember_key(room.code, room.teacher_key)
                st.session_state[_NEW_KEY] = (room.code, room.teacher_key)
                st.session_state[ROOM] = room.code
                st.session_state["class_view"] = "teacher"
                st.rerun()
    st.caption(t("class_digits.privacy"))


def room_header(info: RoomInfo) -> None:
    title, leave = st.columns([4, 1], vertical_alignment="bottom")
    title.subheader(t("class_digits.room.title", code=info.code))
    if leave.button(t("class_digits.room.leave"), icon=":material/logout:", key="class_leave"):
        leave_room()
        st.rerun()
    expires = datetime.datetime.fromtimestamp(info.expires_at).strftime("%Y-%m-%d")
    state = t("class_digits.room.closed") if info.closed else t("class_digits.room.open")
    st.caption(t("class_digits.room.status", state=state, cap=f"{info.cap:,}", expires=expires,
                 link=f"?{ROOM}={info.code}"))  # fmt: skip
    new = st.session_state.get(_NEW_KEY)
    if new and new[0] == info.code:
        with st.container(border=True):
            st.success(t("class_digits.create.done", code=info.code), icon=":material/key:")
            st.code(new[1], language=None)
            st.caption(t("class_digits.create.key_once"))
            if st.button(t("class_digits.create.noted"), key="class_key_noted"):
                del st.session_state[_NEW_KEY]
                st.rerun()


def choose_view() -> str:
    url_state.bind_choice("class_view", "contribute", VIEWS)
    view = st.segmented_control(t("class_digits.view.label"), VIEWS, format_func=lambda v: t(f"class_digits.view.{v}"),
                                key="class_view", required=True, label_visibility="collapsed")  # fmt: skip
    return view or "contribute"


# --- contribute -------------------------------------------------------------------------------------


def _hero_network():
    """(name, network) of the best shipped CNN that loads, or None."""
    from explorer.lab.results import best_available
    from explorer.ui.resources import pretrained_models, session_pretrained

    for name in best_available(pretrained_models()):
        try:
            return name, session_pretrained(name)[0]
        except Exception:  # noqa: BLE001 - a damaged file: try the next network
            continue
    return None


def contribute(rooms: ClassRooms, info: RoomInfo) -> None:
    """Ask for a digit, let the student draw it, store it with its label; then show what the
    network read (only after submitting, so nobody draws to please the network)."""
    if info.closed:
        st.info(t("class_digits.refusal.room_closed", code=info.code), icon=":material/lock:")
        show_last_result()
        return
    url_state.bind_choice("class_ask", "cycle", ASK_MODES)
    st.segmented_control(t("class_digits.contribute.mode"), ASK_MODES, key="class_ask", required=True,
                         format_func=lambda mode: t(f"class_digits.contribute.mode_{mode}"))  # fmt: skip
    submitted = st.session_state.setdefault(_SUBMITTED, 0)
    round_ = st.session_state.setdefault(_CANVAS_ROUND, 0)
    if st.session_state["class_ask"] == "cycle":
        st.markdown(t("class_digits.contribute.ask", digit=submitted % 10))
    else:
        st.pills(t("class_digits.contribute.label"), list(range(10)), key=f"class_label_{round_}")
    digit = digit_input.draw_digit(f"class{round_}", hint=t("class_digits.contribute.hint"))
    st.session_state[_DRAWN] = None if digit is None else digit.image  # what Submit will send
    st.button(t("class_digits.contribute.submit"), type="primary", icon=":material/send:", key="class_submit",
              on_click=submit, args=(rooms, info.code))  # fmt: skip
    refusal = st.session_state.pop(_REFUSAL, None)
    if refusal is not None:
        show_problem(refusal)
    show_last_result()


def submit(rooms: ClassRooms, code: str) -> None:
    """Submit's callback, before the page runs: the run that follows shows the result, with a
    fresh canvas (one run per submission, not two)."""
    ss = st.session_state
    image = ss.get(_DRAWN)
    if image is None:
        image = np.zeros((28, 28), np.uint8)  # refused: no ink
    if ss.get("class_ask", "cycle") == "cycle":
        label = ss.get(_SUBMITTED, 0) % 10
    else:
        label = ss.get(f"class_label_{ss.get(_CANVAS_ROUND, 0)}")
    try:
        digit_id = rooms.submit(code, image, label, session_id())
    except (ClassRoomError, ClassDbUnavailable) as problem:
        ss[_REFUSAL] = problem
        return
    ss[_LAST] = {"id": digit_id, "image": image, "label": int(label)}
    ss[_SUBMITTED] = ss.get(_SUBMITTED, 0) + 1
    ss[_CANVAS_ROUND] = ss.get(_CANVAS_ROUND, 0) + 1
    ss[_DRAWN] = None


def show_last_result() -> None:
    last = st.session_state.get(_LAST)
    if not last:
        return
    with st.container(border=True):
        st.success(t("class_digits.contribute.thanks", label=last["label"], id=last["id"]), icon=":material/check:")
        hero = _hero_network()
        if hero is None:
            return
        name, net = hero
        probabilities = net.predict_proba(last["image"][None])[0]
        read = int(probabilities.argmax())
        verdict = "right" if read == last["label"] else "wrong"
        picture, words = st.columns([1, 3], vertical_alignment="center")
        picture.image(figures.strip(last["image"][None], scale=4), caption=t("class_digits.contribute.stored"))
        words.markdown(t(f"class_digits.contribute.read_{verdict}", model=name, read=read,
                         sure=f"{probabilities[read]:.0%}"))  # fmt: skip


# --- the class view -------------------------------------------------------------------------------


def room_digits(rooms: ClassRooms, info: RoomInfo):
    """The room's digits, fetched again only when something changed (new ids fetched alone)."""
    cached = st.session_state.get("class_digits_cache")
    if cached and cached[0] == info.code and cached[1] == (info.last_id, info.count):
        return cached[2]
    digits = None
    if cached and cached[0] == info.code and info.last_id >= cached[2].last_id:
        old = cached[2]
        new = rooms.digits(info.code, after_id=old.last_id)
        if len(old) + len(new) == info.count:  # nothing deleted: the new ones just append
            digits = ClassDigits(*(np.concatenate([a, b]) for a, b in
                                   ((old.ids, new.ids), (old.labels, new.labels), (old.images, new.images),
                                    (old.created_at, new.created_at))))  # fmt: skip
    if digits is None:
        digits = rooms.digits(info.code)
    st.session_state["class_digits_cache"] = (info.code, (info.last_id, info.count), digits)
    return digits


class _PerDigitCache:
    """Results per (room, digit id) of one database, shared by every session of the process: a
    digit's answer never changes, so each is computed once however many projectors show the room."""

    def __init__(self):
        self.values: dict[tuple, object] = {}
        self.lock = threading.Lock()

    def get_many(self, kind: str, code: str, ids: np.ndarray, compute) -> list:
        keys = [(kind, code, int(i)) for i in ids]
        with self.lock:
            missing = [n for n, key in enumerate(keys) if key not in self.values]
        if missing:
            results = compute(np.array(missing, dtype=np.int64))
            with self.lock:
                self.values.update({keys[n]: value for n, value in zip(missing, results)})
        with self.lock:
            return [self.values[key] for key in keys]


@st.cache_resource(show_spinner=False)
def _per_digit_cache(database: str) -> _PerDigitCache:
    return _PerDigitCache()  # one per database file: digit ids are unique within one file


@st.cache_resource(show_spinner=False)
def _shared_neighbours() -> class_eval.NearestNeighbours:
    from explorer.ui.resources import mnist_or_none

    data = mnist_or_none()
    if data is None:
        raise LookupError("no MNIST")  # not cached: found once MNIST is there
    return class_eval.NearestNeighbours(data.test_images, data.test_labels)


def _neighbours() -> class_eval.NearestNeighbours | None:
    try:
        return _shared_neighbours()
    except LookupError:
        return None


def model_probabilities(name: str, code: str, digits) -> np.ndarray | None:
    from explorer.ui.resources import session_pretrained

    try:
        net = session_pretrained(name)[0]
    except Exception:  # noqa: BLE001 - a damaged file: the model is left out
        return None
    rows = _per_digit_cache(str(classdb.default_path())).get_many(f"p:{name}", code, digits.ids,
                                       lambda positions: class_eval.predict_in_batches(net, digits.images[positions]))  # fmt: skip
    return np.array(rows).reshape(len(digits), 10)


def shipped_models() -> list[tuple[str, float | None]]:
    """(name, MNIST test accuracy from its card) of every shipped network."""
    from explorer.ui.resources import pretrained_models, session_pretrained

    models = []
    for name in pretrained_models():
        try:
            card = session_pretrained(name)[1]
        except Exception:  # noqa: BLE001 - a damaged file: the model is left out
            continue
        accuracy = card.get("test_accuracy")
        models.append((name, float(accuracy) if isinstance(accuracy, (int, float)) else None))
    return models


def choose_model(models: list[str]) -> str | None:
    if not models:
        return None
    default = next((m for m in ("deepconvnet", "lenet") if m in models), models[0])
    url_state.bind_choice("class_model", default, models)
    return st.selectbox(t("class_digits.view.model"), models, key="class_model")


def class_view(rooms: ClassRooms, code: str) -> None:
    models = shipped_models()
    chosen = choose_model([name for name, _ in models])

    @st.fragment(run_every=LIVE_SECONDS)
    def live() -> None:
        try:
            info = rooms.room_info(code)
            digits = room_digits(rooms, info)
        except (ClassRoomError, ClassDbUnavailable) as problem:
            show_problem(problem)
            return
        show_class(code, info, digits, models, chosen)

    live()


def show_class(code: str, info: RoomInfo, digits, models, chosen) -> None:
    st.caption(t("class_digits.view.live", seconds=f"{LIVE_SECONDS:g}", count=len(digits)))
    if not len(digits):
        st.info(t("class_digits.view.empty", code=code), icon=":material/hourglass_empty:")
        return
    counts = np.bincount(digits.labels, minlength=10)
    left, right = st.columns(2, gap="large")
    with left:
        chart(figures.counts_figure(counts), key="class_counts", toolbar=False)
    with right:
        accuracy_table(code, digits, models)
    gallery(digits)
    probabilities = model_probabilities(chosen, code, digits) if chosen else None
    if probabilities is not None:
        left, right = st.columns(2, gap="large")
        predicted = probabilities.argmax(axis=1)
        with left:
            chart(figures.confusion_figure(class_eval.confusion_matrix(digits.labels, predicted), chosen),
                  key="class_confusion", toolbar=False)  # fmt: skip
        with right:
            hardest_digits(digits, probabilities, chosen)
    look_alikes(code, digits)


def accuracy_table(code: str, digits, models) -> None:
    names, mnist, on_class = [], [], []
    for name, mnist_accuracy in models:
        probabilities = model_probabilities(name, code, digits)
        if probabilities is None:
            continue
        names.append(name)
        mnist.append(mnist_accuracy)
        on_class.append(class_eval.accuracy(probabilities, digits.labels))
    if names:
        chart(figures.accuracy_figure(names, mnist, on_class), key="class_accuracy", toolbar=False)


def gallery(digits) -> None:
    st.markdown(f"**{t('class_digits.view.gallery')}**")
    for label in range(10):
        mine = digits.images[digits.labels == label][-GALLERY_PER_LABEL:]
        if len(mine):
            total = int((digits.labels == label).sum())
            st.image(figures.strip(mine[::-1], scale=2), caption=t("class_digits.view.gallery_row", digit=label, count=total))


def hardest_digits(digits, probabilities: np.ndarray, model: str) -> None:
    st.markdown(f"**{t('class_digits.view.hardest', model=model)}**")
    positions = class_eval.hardest(probabilities, digits.labels, HARDEST_SHOWN)
    images, captions = [], []
    for position in positions:
        label, read = int(digits.labels[position]), int(probabilities[position].argmax())
        images.append(figures.strip(digits.images[position][None]))
        captions.append(t("class_digits.view.hardest_caption", meant=label, read=read, id=int(digits.ids[position]),
                          sure=f"{probabilities[position, read]:.0%}"))  # fmt: skip
    st.image(images, caption=captions)


def look_alikes(code: str, digits) -> None:
    from explorer.ui.resources import mnist_or_none

    st.markdown(f"**{t('class_digits.view.look_alikes')}**")
    neighbours = _neighbours()
    if neighbours is None:
        st.caption(t("class_digits.view.no_mnist"))
        return

    def compute(positions):
        found = {a.position: a for a in neighbours.look_alikes(digits.images[positions], digits.labels[positions])}
        return [found.get(n) for n in range(len(positions))]

    answers = _per_digit_cache(str(classdb.default_path())).get_many("nn", code, digits.ids, compute)
    found = [(n, a) for n, a in enumerate(answers) if a is not None]
    if not found:
        st.caption(t("class_digits.view.no_look_alikes"))
        return
    test_images = mnist_or_none().test_images
    images, captions = [], []
    for position, alike in found[-LOOK_ALIKES_SHOWN:]:
        images.append(figures.strip(np.stack([digits.images[position], test_images[alike.neighbour]])))
        captions.append(t("class_digits.view.look_alike_caption", meant=int(digits.labels[position]),
                          like=alike.looks_like, votes=alike.votes))  # fmt: skip
    st.image(images, caption=captions)
    st.caption(t("class_digits.view.look_alikes_about"))


# --- the teacher ------------------------------------------------------------------------------------


def teacher(rooms: ClassRooms, info: RoomInfo) -> None:
    key = teacher_key(info.code)
    if key is None:
        unlock(rooms, info.code)
        return
    st.caption(t("class_digits.teacher.unlocked"))
    export(rooms, info.code, key)
    delete_one(rooms, info, key)
    room_actions(rooms, info, key)


def unlock(rooms: ClassRooms, code: str) -> None:
    st.markdown(t("class_digits.teacher.locked"))
    typed = st.text_input(t("class_digits.teacher.key"), type="password", key="class_key_typed")
    if st.button(t("class_digits.teacher.unlock"), icon=":material/lock_open:", key="class_unlock"):
        try:
            rooms.check_key(code, typed)
        except (ClassRoomError, ClassDbUnavailable) as problem:
            show_problem(problem)
            return
        remember_key(code, typed)
        st.rerun()


def _run_action(action, done_text: str) -> None:
    """A teacher action: on success a message after the rerun, else the reason, nothing changed."""
    try:
        action()
    except (ClassRoomError, ClassDbUnavailable) as problem:
        show_problem(problem)
        return
    st.session_state.pop("class_digits_cache", None)
    flash("success", done_text)
    st.rerun()


def export(rooms: ClassRooms, code: str, key: str) -> None:
    st.markdown(f"**{t('class_digits.teacher.export_title')}**")
    st.caption(t("class_digits.teacher.export_about"))
    try:
        archive = rooms.export_zip(code, key)
    except (ClassRoomError, ClassDbUnavailable) as problem:
        show_problem(problem)
        return
    st.download_button(t("class_digits.teacher.export"), archive, file_name=f"class-{code}.zip",
                       mime="application/zip", icon=":material/download:", key="class_export")  # fmt: skip


def delete_one(rooms: ClassRooms, info: RoomInfo, key: str) -> None:
    st.markdown(f"**{t('class_digits.teacher.delete_title')}**")
    try:
        digits = room_digits(rooms, info)
    except (ClassRoomError, ClassDbUnavailable) as problem:
        show_problem(problem)
        return
    if not len(digits):
        st.caption(t("class_digits.view.empty", code=info.code))
        return
    labels = dict(zip(digits.ids.tolist(), digits.labels.tolist()))
    ids = digits.ids.tolist()[::-1]  # newest first
    chosen = st.selectbox(t("class_digits.teacher.digit"), ids, key="class_delete_id",
                          format_func=lambda i: t("class_digits.teacher.digit_option", id=i, label=labels[i]))  # fmt: skip
    if chosen is None:
        return
    picture, button = st.columns([1, 3], vertical_alignment="center")
    picture.image(figures.strip(digits.images[digits.ids == chosen]))
    if button.button(t("class_digits.teacher.delete"), icon=":material/delete:", key="class_delete"):
        _run_action(lambda: rooms.delete_digit(info.code, key, chosen), t("class_digits.teacher.deleted", id=chosen))


def room_actions(rooms: ClassRooms, info: RoomInfo, key: str) -> None:
    st.markdown(f"**{t('class_digits.teacher.room_title')}**")
    code = info.code
    close, clear, delete = st.columns(3)
    if not info.closed and close.button(t("class_digits.teacher.close"), icon=":material/lock:", key="class_close"):
        _run_action(lambda: rooms.close_room(code, key), t("class_digits.teacher.closed", code=code))
    sure = st.checkbox(t("class_digits.teacher.sure"), key="class_sure")
    if clear.button(t("class_digits.teacher.clear"), icon=":material/layers_clear:", key="class_clear", disabled=not sure):
        _run_action(lambda: rooms.clear_room(code, key), t("class_digits.teacher.cleared", code=code))
    if delete.button(t("class_digits.teacher.delete_room"), icon=":material/delete_forever:", key="class_delete_room",
                     disabled=not sure):  # fmt: skip
        def delete_room():
            rooms.delete_room(code, key)
            leave_room()

        _run_action(delete_room, t("class_digits.teacher.room_deleted", code=code))
