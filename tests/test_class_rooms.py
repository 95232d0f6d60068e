"""Class rooms: codes and teacher keys, submissions and every refusal, the rate limit, the cap,
expiry, teacher actions with and without the key, export read back by our IDX reader, and many
writers at once (30 threads, two processes)."""

from __future__ import annotations

import csv
import io
import multiprocessing
import threading
import zipfile

import numpy as np
import pytest

from explorer.data import class_rooms
from explorer.data.class_rooms import ClassRoomError, ClassRooms, normalize_code
from explorer.data.classdb import ClassDB, ClassDbUnavailable
from explorer.data.mnist import find_file
from explorer.data.idx import read_idx

DAY = 24 * 3600.0


class FakeClock:
    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(autouse=True)
def cheap_key_hashing(monkeypatch):
    """scrypt at full cost takes a noticeable fraction of a second per key check; same code, less work."""
    monkeypatch.setattr(class_rooms, "SCRYPT_N", 2**8)


@pytest.fixture
def clock():
    return FakeClock()


@pytest.fixture
def rooms(tmp_path, clock):
    return ClassRooms(ClassDB(tmp_path / "class.sqlite3"), clock=clock)


def digit_image(number: int) -> np.ndarray:
    """A distinct 28x28 digit per number: a 6x6 block of ink, the number written in two pixels."""
    image = np.zeros((28, 28), dtype=np.uint8)
    image[10:16, 10:16] = 255
    image[0, 0], image[0, 1] = divmod(number, 256)
    return image


def submit_from_sessions(rooms: ClassRooms, code: str, labels, sessions: str = "session") -> list[int]:
    """Digits 0, 1, ... with these labels, each from its own session (one digit per second each)."""
    return [rooms.submit(code, digit_image(n), label, f"{sessions}-{n}") for n, label in enumerate(labels)]


def refusal(call, *args, **kwargs) -> ClassRoomError:
    with pytest.raises(ClassRoomError) as error:
        call(*args, **kwargs)
    assert error.value.message  # every code has its English text
    return error.value


# Codes and keys ---------------------------------------------------------------


def test_new_rooms_get_distinct_codes_from_the_alphabet_and_hashed_keys(rooms, tmp_path):
    made = [rooms.create_room() for _ in range(5)]
    codes = [room.code for room in made]
    assert len(set(codes)) == 5
    for room in made:
        assert len(room.code) == class_rooms.CODE_LENGTH
        assert set(room.code) <= set(class_rooms.CODE_ALPHABET)
        assert not set(room.code) & set("0O1I")
        rooms.check_key(room.code, room.teacher_key)
    database = (tmp_path / "class.sqlite3").read_bytes() + (tmp_path / "class.sqlite3-wal").read_bytes()
    for room in made:  # only the hash is stored
        assert room.teacher_key.encode() not in database
        assert room.teacher_key.replace("-", "").encode() not in database


def test_codes_are_read_as_typed():
    assert normalize_code(" 7qx4-mz ") == "7QX4MZ"
    for typed in ("7QX4M", "7QX4MZZ", "7QX0MZ", "7QXOMZ", "7QX1MZ", "7QXIMZ", "", None):
        assert refusal(normalize_code, typed).code == "invalid_room_code"


def test_the_teacher_key_is_checked_as_typed_back(rooms):
    room = rooms.create_room()
    rooms.check_key(room.code.lower(), " " + room.teacher_key.lower().replace("-", " ") + " ")
    other = rooms.create_room()
    for wrong in (other.teacher_key, "", None, room.teacher_key[:-1]):
        assert refusal(rooms.check_key, room.code, wrong).code == "wrong_key"


# Submissions --------------------------------------------------------------------


def test_submitted_digits_come_back(rooms, clock):
    room = rooms.create_room()
    first = rooms.submit(room.code, digit_image(1), 3, session_id="a")
    clock.advance(5)
    second = rooms.submit(room.code.lower(), digit_image(2), "7", session_id="a")
    digits = rooms.digits(room.code)
    assert list(digits.ids) == [first, second] and second > first
    assert list(digits.labels) == [3, 7] and digits.labels.dtype == np.uint8
    np.testing.assert_array_equal(digits.images, np.stack([digit_image(1), digit_image(2)]))
    assert list(digits.created_at) == [clock.now - 5, clock.now]
    assert digits.last_id == second
    assert list(rooms.digits(room.code, after_id=first).ids) == [second]
    assert list(rooms.label_counts(room.code)) == [0, 0, 0, 1, 0, 0, 0, 1, 0, 0]
    assert (rooms.room_info(room.code).count, rooms.room_info(room.code).last_id) == (2, second)


def dot(size: int) -> np.ndarray:
    image = np.zeros((28, 28), dtype=np.uint8)
    image[5 : 5 + size, 5 : 5 + size] = 255
    return image


@pytest.mark.parametrize(
    "image, label, code",
    [
        (np.zeros((28, 28), np.uint8), 1, "too_little_ink"),
        (dot(3), 1, "too_little_ink"),  # a stray dot: 9 pixels of ink
        (np.full((28, 28), 3, np.uint8), 1, "too_little_ink"),  # a faint smudge over everything
        (digit_image(0)[:27], 1, "invalid_image"),
        (digit_image(0).astype(np.float32), 1, "invalid_image"),
        (None, 1, "invalid_image"),
        (digit_image(0), None, "missing_label"),
        (digit_image(0), " ", "missing_label"),
        (digit_image(0), 10, "invalid_label"),
        (digit_image(0), -1, "invalid_label"),
        (digit_image(0), 2.5, "invalid_label"),
        (digit_image(0), "seven", "invalid_label"),
        (digit_image(0), True, "invalid_label"),
    ],
)
def test_bad_submissions_are_refused_and_store_nothing(rooms, image, label, code):
    room = rooms.create_room()
    assert refusal(rooms.submit, room.code, image, label, session_id="s").code == code
    assert rooms.room_info(room.code).count == 0
    rooms.submit(room.code, dot(4), 1, session_id="s")  # 16 pixels of ink pass; the refusal cost no turn


def test_every_mnist_test_digit_passes_the_ink_check(mnist_dir):
    images = read_idx(find_file(mnist_dir, "t10k-images-idx3-ubyte"))
    for image in images:
        class_rooms.checked_image(image)  # raises on a refusal


def test_unknown_closed_and_full_rooms_refuse_digits(rooms):
    assert refusal(rooms.submit, "ZZZZZZ", digit_image(0), 1, session_id="x").code == "room_not_found"
    room = rooms.create_room(cap=3)
    submit_from_sessions(rooms, room.code, [1, 2, 3])
    full = refusal(rooms.submit, room.code, digit_image(9), 4, session_id="another")
    assert (full.code, full.params["cap"]) == ("room_full", 3)
    rooms.close_room(room.code, room.teacher_key)
    rooms.delete_digit(room.code, room.teacher_key, rooms.digits(room.code).ids[0])
    assert refusal(rooms.submit, room.code, digit_image(9), 4, session_id="late").code == "room_closed"
    assert rooms.room_info(room.code).count == 2 and rooms.room_info(room.code).closed
    assert len(rooms.digits(room.code)) == 2  # a closed room is still shown


def test_one_submission_per_second_per_session(rooms, clock):
    room = rooms.create_room()
    rooms.submit(room.code, digit_image(1), 1, session_id="fast")
    clock.advance(0.4)
    too_fast = refusal(rooms.submit, room.code, digit_image(2), 2, session_id="fast")
    assert too_fast.code == "too_fast" and too_fast.params["wait_seconds"] == pytest.approx(0.6)
    rooms.submit(room.code, digit_image(3), 3, session_id="other")  # other sessions are not slowed
    clock.advance(0.6)
    rooms.submit(room.code, digit_image(4), 4, session_id="fast")
    assert list(rooms.digits(room.code).labels) == [1, 3, 4]


def test_guessing_room_codes_is_paced(rooms, clock):
    room = rooms.create_room()
    assert refusal(rooms.join, "ZZZZZZ", "guesser").code == "room_not_found"
    assert refusal(rooms.join, "YYYYYY", "guesser").code == "too_fast"
    assert refusal(rooms.submit, "ZZZZZZ", digit_image(0), 1, "guesser").code == "room_not_found"
    assert refusal(rooms.submit, room.code, digit_image(0), 1, "guesser").code == "too_fast"
    clock.advance(1)
    assert rooms.join(room.code, "guesser").code == room.code
    assert rooms.join(room.code, "guesser").code == room.code  # a successful join is not paced


# Expiry ---------------------------------------------------------------------------


def test_rooms_expire_after_their_lifetime_and_are_purged(tmp_path, clock):
    rooms = ClassRooms(ClassDB(tmp_path / "class.sqlite3"), clock=clock)
    room = rooms.create_room()
    assert room.expires_at == clock.now + class_rooms.DEFAULT_LIFETIME_DAYS * DAY
    clock.advance(class_rooms.DEFAULT_LIFETIME_DAYS * DAY - 60)
    rooms.submit(room.code, digit_image(1), 1, session_id="s")
    clock.advance(60)
    assert refusal(rooms.submit, room.code, digit_image(2), 2, session_id="t").code == "room_expired"
    assert refusal(rooms.digits, room.code).code == "room_expired"
    assert refusal(rooms.export_csv, room.code, room.teacher_key).code == "room_expired"
    ClassRooms(rooms.db, clock=clock)  # an app start purges expired rooms and their digits
    assert refusal(rooms.room_info, room.code).code == "room_not_found"


def test_the_lifetime_and_cap_come_from_the_environment(tmp_path, clock, monkeypatch):
    monkeypatch.setenv("CLASS_ROOM_DAYS", "2")
    monkeypatch.setenv("CLASS_ROOM_CAP", "50")
    rooms = class_rooms.open_class_rooms(tmp_path / "class.sqlite3", clock=clock)
    room = rooms.create_room()
    assert room.expires_at == clock.now + 2 * DAY
    assert rooms.room_info(room.code).cap == 50
    short = rooms.create_room(lifetime_days=0.5, cap=7)  # a room of its own size
    assert short.expires_at == clock.now + 0.5 * DAY and rooms.room_info(short.code).cap == 7
    for bad in ("0", "-3", "many"):
        monkeypatch.setenv("CLASS_ROOM_CAP", bad)
        with pytest.raises(ClassDbUnavailable) as error:
            class_rooms.open_class_rooms(tmp_path / "class.sqlite3")
        assert error.value.reason == "bad_setting" and "CLASS_ROOM_CAP" in error.value.message


def test_a_damaged_database_makes_class_features_unavailable(tmp_path):
    path = tmp_path / "class.sqlite3"
    path.write_bytes(b"\x00" * 5000)
    with pytest.raises(ClassDbUnavailable) as error:
        class_rooms.open_class_rooms(path)
    assert error.value.message.startswith("Class features are unavailable because")


# Teacher actions --------------------------------------------------------------------


def test_teacher_actions_need_the_key_and_change_nothing_without_it(rooms, tmp_path):
    room = rooms.create_room()
    ids = submit_from_sessions(rooms, room.code, [1, 2, 3])
    wrong = rooms.create_room().teacher_key
    for action, args in (
        (rooms.close_room, ()),
        (rooms.clear_room, ()),
        (rooms.delete_digit, (ids[0],)),
        (rooms.delete_room, ()),
        (rooms.export_csv, ()),
        (rooms.export_zip, ()),
        (rooms.export_idx, (tmp_path / "export",)),
    ):
        assert refusal(action, room.code, wrong, *args).code == "wrong_key"
    info = rooms.room_info(room.code)
    assert (info.count, info.closed) == (3, False)
    assert not (tmp_path / "export").exists()


def test_teacher_actions_with_the_key(rooms):
    room, other = rooms.create_room(), rooms.create_room()
    ids = submit_from_sessions(rooms, room.code, [1, 2, 3])
    submit_from_sessions(rooms, other.code, [4], sessions="other")
    rooms.delete_digit(room.code, room.teacher_key, ids[1])
    assert list(rooms.digits(room.code).ids) == [ids[0], ids[2]]
    missing = refusal(rooms.delete_digit, room.code, room.teacher_key, ids[1])
    assert missing.code == "digit_not_found"
    foreign = rooms.digits(other.code).ids[0]  # another room's digit cannot be deleted from this one
    assert refusal(rooms.delete_digit, room.code, room.teacher_key, foreign).code == "digit_not_found"
    assert rooms.clear_room(room.code, room.teacher_key) == 2
    assert rooms.room_info(room.code).count == 0 and not rooms.room_info(room.code).closed
    rooms.delete_room(room.code, room.teacher_key)
    assert refusal(rooms.room_info, room.code).code == "room_not_found"
    assert len(rooms.digits(other.code)) == 1  # the other room keeps its digits


# Export -------------------------------------------------------------------------------


def test_export_as_idx_is_read_back_by_our_reader(rooms, tmp_path):
    room = rooms.create_room()
    labels = [7, 0, 3, 9, 3]
    submit_from_sessions(rooms, room.code, labels)
    images_path, labels_path = rooms.export_idx(room.code, room.teacher_key, tmp_path / "export")
    assert images_path.name == f"class-{room.code}-images-idx3-ubyte"
    np.testing.assert_array_equal(read_idx(images_path), np.stack([digit_image(n) for n in range(5)]))
    np.testing.assert_array_equal(read_idx(labels_path), np.array(labels, dtype=np.uint8))


def test_export_as_csv_and_zip(rooms):
    room = rooms.create_room()
    submit_from_sessions(rooms, room.code, [4, 1])
    rows = list(csv.reader(io.StringIO(rooms.export_csv(room.code, room.teacher_key))))
    assert rows[0][:2] == ["label", "pixel0"] and rows[0][-1] == "pixel783" and len(rows[0]) == 785
    assert [int(row[0]) for row in rows[1:]] == [4, 1]
    np.testing.assert_array_equal(np.array(rows[2][1:], dtype=np.uint8).reshape(28, 28), digit_image(1))

    with zipfile.ZipFile(io.BytesIO(rooms.export_zip(room.code, room.teacher_key))) as archive:
        images_name, labels_name = class_rooms.idx_file_names(room.code)
        assert sorted(archive.namelist()) == sorted([images_name, labels_name, f"class-{room.code}.csv"])
        np.testing.assert_array_equal(read_idx(archive.read(labels_name)), [4, 1])
        assert read_idx(archive.read(images_name)).shape == (2, 28, 28)


def test_an_empty_room_has_nothing_to_export(rooms, tmp_path):
    room = rooms.create_room()
    assert refusal(rooms.export_zip, room.code, room.teacher_key).code == "room_empty"
    assert refusal(rooms.export_idx, room.code, room.teacher_key, tmp_path).code == "room_empty"


# Many writers at once ----------------------------------------------------------------


def test_thirty_students_submitting_at_the_same_moment(rooms):
    room = rooms.create_room()
    start = threading.Barrier(30)
    ids, errors = [None] * 30, []

    def student(n: int) -> None:
        start.wait()
        try:
            ids[n] = rooms.submit(room.code, digit_image(n), n % 10, session_id=f"student-{n}")
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=student, args=(n,)) for n in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    digits = rooms.digits(room.code)
    assert sorted(digits.ids) == sorted(ids) and len(set(ids)) == 30
    numbers = sorted(int(image[0, 0]) * 256 + int(image[0, 1]) for image in digits.images)
    assert numbers == list(range(30))  # each student's digit exactly once


def test_the_cap_holds_when_students_race_for_the_last_places(rooms):
    room = rooms.create_room(cap=25)
    start = threading.Barrier(30)
    outcomes = []

    def student(n: int) -> None:
        start.wait()
        try:
            rooms.submit(room.code, digit_image(n), 1, session_id=f"student-{n}")
            outcomes.append("stored")
        except ClassRoomError as error:
            outcomes.append(error.code)

    threads = [threading.Thread(target=student, args=(n,)) for n in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["room_full"] * 5 + ["stored"] * 25
    assert rooms.room_info(room.code).count == 25


def _replica(path: str, code: str, first: int, count: int, start) -> None:
    """One app process (a replica) submitting `count` digits, numbered from `first`."""
    rooms = class_rooms.open_class_rooms(path)
    start.wait()
    for n in range(first, first + count):
        rooms.submit(code, digit_image(n), n % 10, session_id=f"session-{n}")


def test_two_processes_share_one_database(tmp_path):
    path = tmp_path / "class.sqlite3"
    rooms = ClassRooms(ClassDB(path))
    room = rooms.create_room()
    # fork: quick to start; each process opens its own ClassDB (SQLite connections never cross a fork).
    context = multiprocessing.get_context("fork")
    start = context.Barrier(2)
    replicas = [context.Process(target=_replica, args=(str(path), room.code, n * 40, 40, start)) for n in range(2)]
    for replica in replicas:
        replica.start()
    for replica in replicas:
        replica.join(timeout=60)
    assert [replica.exitcode for replica in replicas] == [0, 0]
    digits = rooms.digits(room.code)
    numbers = sorted(int(image[0, 0]) * 256 + int(image[0, 1]) for image in digits.images)
    assert numbers == list(range(80))


def test_a_held_out_part_stays_held_out_as_digits_arrive(rooms):
    room = rooms.create_room()
    submit_from_sessions(rooms, room.code, [n % 10 for n in range(40)])
    everything = rooms.digits(room.code)
    used, held_out = everything.split(0.25)
    assert sorted([*used.ids, *held_out.ids]) == list(everything.ids)
    assert 4 <= len(held_out) <= 16  # about a quarter of 40
    in_held_out = np.isin(everything.ids, held_out.ids)
    np.testing.assert_array_equal(held_out.images, everything.images[in_held_out])
    np.testing.assert_array_equal(held_out.labels, everything.labels[in_held_out])

    submit_from_sessions(rooms, room.code, [n % 10 for n in range(40)], sessions="later")
    used_later, held_out_later = rooms.digits(room.code).split(0.25)
    assert set(held_out.ids) <= set(held_out_later.ids) and set(used.ids) <= set(used_later.ids)
    assert 10 <= len(held_out_later) <= 30
    other_seed = rooms.digits(room.code).split(0.25, seed=1)[1]
    assert len(other_seed) and set(other_seed.ids) != set(held_out_later.ids)
