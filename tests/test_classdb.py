"""The class-digits database: schema and migration, transactions, crash safety, and the clear
errors for files it must not use (damaged, read-only, locked, from a newer app)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import pytest

from explorer.data import classdb
from explorer.data.classdb import ClassDB, ClassDbUnavailable, RoomRow

REPO_ROOT = Path(__file__).resolve().parents[1]


def make_room(db: ClassDB, code: str = "ROOM22", cap: int = 10) -> RoomRow:
    room = RoomRow(code, b"salt", b"hash", created_at=100.0, expires_at=1e12, closed=False, cap=cap)
    with db.write() as tx:
        assert tx.insert_room(room)
    return room


def pixels(value: int) -> bytes:
    return bytes([value % 256]) * classdb.PIXELS_PER_DIGIT


@pytest.fixture
def db(tmp_path):
    database = ClassDB(tmp_path / "class.sqlite3")
    yield database
    database.close()


def test_round_trip(db):
    room = make_room(db)
    with db.write() as tx:
        first = tx.insert_digit(room.code, 3, pixels(7), created_at=200.0)
        second = tx.insert_digit(room.code, 9, pixels(8), created_at=201.0)
    with db.read() as tx:
        assert tx.room(room.code) == room
        assert [(d.id, d.label, d.pixels, d.created_at) for d in tx.digits(room.code)] == [
            (first, 3, pixels(7), 200.0),
            (second, 9, pixels(8), 201.0),
        ]
        assert [d.id for d in tx.digits(room.code, after_id=first)] == [second]
        assert tx.label_counts(room.code) == {3: 1, 9: 1}


def test_a_new_file_is_in_wal_mode_at_the_current_version(tmp_path):
    path = tmp_path / "sub" / "folder" / "class.sqlite3"  # missing folders are created
    assert ClassDB(path).schema_version() == classdb.SCHEMA_VERSION
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_failed_write_stores_nothing(db):
    room = make_room(db)
    with pytest.raises(KeyError):
        with db.write() as tx:
            tx.insert_digit(room.code, 1, pixels(1), created_at=1.0)
            raise KeyError("refused half-way")
    with db.read() as tx:
        assert tx.count_digits(room.code) == 0


def test_a_taken_room_code_is_reported_not_overwritten(db):
    room = make_room(db)
    with db.write() as tx:
        assert not tx.insert_room(RoomRow(room.code, b"other", b"other", 1.0, 2.0, True, 5))
    with db.read() as tx:
        assert tx.room(room.code) == room


def test_deleting_a_room_deletes_its_digits_only(db):
    kept, gone = make_room(db, "KEEP22"), make_room(db, "GONE22")
    with db.write() as tx:
        tx.insert_digit(kept.code, 1, pixels(1), 1.0)
        tx.insert_digit(gone.code, 2, pixels(2), 1.0)
        tx.delete_room(gone.code)
    with db.read() as tx:
        assert tx.count_digits(kept.code) == 1
        assert tx.count_digits(gone.code) == 0  # ON DELETE CASCADE needs foreign_keys on


def test_the_schema_refuses_bad_rows(db):
    room = make_room(db)
    for label, data in ((10, pixels(1)), (3, b"\x01" * 100)):
        with pytest.raises(ClassDbUnavailable):
            with db.write() as tx:
                tx.insert_digit(room.code, label, data, 1.0)
    with db.read() as tx:
        assert tx.count_digits(room.code) == 0


def test_migration_from_version_1_keeps_the_digits(tmp_path):
    path = tmp_path / "old.sqlite3"
    ClassDB(path, schema_version=1).close()
    with sqlite3.connect(path) as raw:  # rows as the version-1 app wrote them
        assert raw.execute("PRAGMA user_version").fetchone()[0] == 1
        raw.execute("INSERT INTO rooms VALUES ('OLD222', x'01', x'02', 1.0, 1e12, 0)")
        raw.executemany(
            "INSERT INTO digits (room_code, label, pixels, created_at) VALUES ('OLD222', ?, ?, 2.0)",
            [(label, pixels(label)) for label in range(4)],
        )
    raw.close()

    db = ClassDB(path)
    assert db.schema_version() == classdb.SCHEMA_VERSION == 2
    with db.read() as tx:
        room = tx.room("OLD222")
        assert room.cap == classdb.LEGACY_ROOM_CAP and room.key_hash == b"\x02"
        assert [(d.label, d.pixels) for d in tx.digits("OLD222")] == [(n, pixels(n)) for n in range(4)]
    with db.write() as tx:  # and the migrated file takes new digits
        tx.insert_digit("OLD222", 5, pixels(5), 3.0)
    raw = sqlite3.connect(path)
    indexes = [row[0] for row in raw.execute("SELECT name FROM sqlite_master WHERE type = 'index'")]
    raw.close()
    assert "digits_by_room" in indexes


def test_replicas_starting_together_on_a_new_file(tmp_path):
    path = tmp_path / "class.sqlite3"
    start = threading.Barrier(4)
    versions, errors = [], []

    def replica() -> None:  # its own ClassDB: like another process, it meets the others in SQLite's lock
        start.wait()
        try:
            versions.append(ClassDB(path).schema_version())
        except ClassDbUnavailable as error:
            errors.append(error)

    threads = [threading.Thread(target=replica) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and versions == [classdb.SCHEMA_VERSION] * 4


def test_a_file_from_a_newer_app_is_refused_untouched(tmp_path):
    path = tmp_path / "new.sqlite3"
    ClassDB(path).close()
    with sqlite3.connect(path) as raw:
        raw.execute(f"PRAGMA user_version = {classdb.SCHEMA_VERSION + 1}")
    raw.close()
    before = path.read_bytes()
    with pytest.raises(ClassDbUnavailable) as error:
        ClassDB(path)
    assert error.value.reason == "newer_schema"
    assert "newer version of this app" in error.value.message
    assert path.read_bytes() == before


def test_a_file_that_is_not_a_database_is_left_untouched(tmp_path):
    path = tmp_path / "class.sqlite3"
    path.write_bytes(b"these are a teacher's notes, not a database\n" * 100)
    before = path.read_bytes()
    with pytest.raises(ClassDbUnavailable) as error:
        ClassDB(path)
    assert error.value.reason == "corrupt"
    assert error.value.message.startswith("Class features are unavailable because")
    assert str(path) in error.value.message
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["class.sqlite3"]  # no -wal, no -shm


def test_a_database_with_damaged_pages_is_left_untouched(tmp_path):
    path = tmp_path / "class.sqlite3"
    db = ClassDB(path)
    room = make_room(db)
    with db.write() as tx:
        for n in range(50):
            tx.insert_digit(room.code, n % 10, pixels(n), 1.0)
    db.close()  # the last connection checkpoints the WAL into the file
    assert not Path(f"{path}-wal").exists()
    content = bytearray(path.read_bytes())
    page_size = int.from_bytes(content[16:18], "big")
    content[page_size : 4 * page_size] = b"\xa5" * (3 * page_size)  # pages 2-4: the tables' roots
    path.write_bytes(bytes(content))

    with pytest.raises(ClassDbUnavailable) as error:
        ClassDB(path)
    assert error.value.reason == "corrupt"
    assert path.read_bytes() == bytes(content)


def _open_as_other_user(path: str, queue) -> None:
    """In a forked child: become an unprivileged user if we are root (root may write anything)."""
    if os.geteuid() == 0:
        os.setgid(65534)
        os.setuid(65534)
    try:
        ClassDB(path)
        queue.put(("opened", ""))
    except ClassDbUnavailable as error:
        queue.put((error.reason, error.message))


def test_a_read_only_file_is_reported(tmp_path):
    folder = Path(tempfile.mkdtemp(dir="/tmp"))  # not under tmp_path, which other users cannot enter
    try:
        path = folder / "class.sqlite3"
        db = ClassDB(path)
        make_room(db)
        db.close()
        folder.chmod(0o755)
        path.chmod(0o444)
        before = path.read_bytes()
        context = multiprocessing.get_context("fork")
        queue = context.Queue()
        child = context.Process(target=_open_as_other_user, args=(str(path), queue))
        child.start()
        reason, message = queue.get(timeout=30)
        child.join(timeout=30)
        assert reason == "read_only", message
        assert "read-only" in message
        assert path.read_bytes() == before
    finally:
        for item in folder.iterdir():
            item.chmod(0o644)
            item.unlink()
        folder.rmdir()


def test_a_locked_file_is_reported_on_opening_and_on_writing(tmp_path):
    path = tmp_path / "class.sqlite3"
    db = ClassDB(path, busy_timeout=0.1)
    room = make_room(db)
    other_program = sqlite3.connect(path, isolation_level=None)
    other_program.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(ClassDbUnavailable) as error:
            ClassDB(path, busy_timeout=0.1)
        assert error.value.reason == "locked"
        with pytest.raises(ClassDbUnavailable) as error:
            with db.write() as tx:
                tx.insert_digit(room.code, 1, pixels(1), 1.0)
        assert error.value.reason == "locked"
        with db.read() as tx:  # WAL: reading still works while another program writes
            assert tx.room(room.code) == room
    finally:
        other_program.execute("ROLLBACK")
        other_program.close()
    with db.write() as tx:  # and writing again once the lock is gone
        tx.insert_digit(room.code, 1, pixels(1), 1.0)


def test_a_folder_in_place_of_the_file_is_reported(tmp_path):
    (tmp_path / "class.sqlite3").mkdir()
    with pytest.raises(ClassDbUnavailable) as error:
        ClassDB(tmp_path / "class.sqlite3")
    assert error.value.reason == "cannot_open"


def test_the_path_comes_from_class_db_or_the_cache_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("MNIST_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("CLASS_DB", raising=False)
    assert classdb.default_path() == tmp_path / "cache" / classdb.DB_FILE_NAME
    monkeypatch.setenv("CLASS_DB", str(tmp_path / "elsewhere.db"))
    assert ClassDB().path == tmp_path / "elsewhere.db"


# A writer that commits digits, then is killed (SIGKILL) inside an open transaction.
CRASHING_WRITER = textwrap.dedent(
    """
    import sys, time
    from explorer.data.classdb import ClassDB
    path, code, committed = sys.argv[1], sys.argv[2], int(sys.argv[3])
    db = ClassDB(path)
    for n in range(committed):
        with db.write() as tx:
            tx.insert_digit(code, n % 10, bytes([n + 1]) * 784, float(n))
    with db.write() as tx:
        for n in range(4000):  # 3 MB, more than the 2 MB page cache: pages reach the WAL uncommitted
            tx.insert_digit(code, 0, bytes([255]) * 784, -1.0)
        print("inside", flush=True)
        time.sleep(600)
    """
)


def test_a_writer_killed_inside_a_transaction_loses_nothing_committed(tmp_path):
    path = tmp_path / "class.sqlite3"
    db = ClassDB(path)
    room = make_room(db, cap=1000)
    committed = 7
    writer = subprocess.Popen(
        [sys.executable, "-c", CRASHING_WRITER, str(path), room.code, str(committed)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout.readline().strip() == "inside"
    finally:
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait(timeout=30)
        writer.stdout.close()
    assert writer.returncode == -signal.SIGKILL
    db.close()

    reopened = ClassDB(path)  # runs quick_check: raises if the file were damaged
    with reopened.read() as tx:
        rows = tx.digits(room.code)
    assert [(row.label, row.pixels) for row in rows] == [(n % 10, bytes([n + 1]) * 784) for n in range(committed)]
    with reopened.write() as tx:  # the dead writer's lock is gone
        tx.insert_digit(room.code, 4, pixels(4), time.time())
