"""The class-digits database: the one module that holds SQL (schema, migrations, transactions).

SQLite through Python's sqlite3, in WAL mode, so that several app processes on one host
(replicas behind a load balancer) can share one file: readers never wait, writers queue on
SQLite's lock (busy timeout, then a few retries). Every write is one `BEGIN IMMEDIATE`
transaction; every thread has its own connection. A multi-host deployment needs a server
database: a new module with the same `ClassDB` / `Transaction` methods is all it takes.

The file is `$CLASS_DB`, else `class_digits.sqlite3` in the app's cache folder (see
explorer.data.mnist.cache_dir). A damaged, locked or read-only file raises ClassDbUnavailable,
whose `message` the app shows; nothing is ever written to a file that failed its checks.

    db = ClassDB()
    with db.write() as tx:
        tx.insert_digit("7QX4AB", label=3, pixels=image.tobytes(), created_at=time.time())
"""

from __future__ import annotations

import contextlib
import os
import random
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from explorer.data.mnist import cache_dir

DB_FILE_NAME = "class_digits.sqlite3"
PIXELS_PER_DIGIT = 28 * 28
SQLITE_HEADER = b"SQLite format 3\x00"

BUSY_TIMEOUT_SECONDS = 5.0  # how long SQLite waits for another writer before giving up
WRITE_ATTEMPTS = 3  # begin-transaction attempts after a busy timeout, with a random pause between

# Rooms made before schema version 2 had no cap of their own: they get the cap every room had then.
LEGACY_ROOM_CAP = 2000

# MIGRATIONS[v - 1] turns a version v-1 database into version v (version 0: an empty file).
# Never edit a released step: add a new one, and a test that opens a file of the previous version.
MIGRATIONS: tuple[str, ...] = (
    # 1: rooms and their digits.
    """
    CREATE TABLE rooms (
        code TEXT PRIMARY KEY,
        key_salt BLOB NOT NULL,
        key_hash BLOB NOT NULL,
        created_at REAL NOT NULL,
        expires_at REAL NOT NULL,
        closed INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE digits (
        id INTEGER PRIMARY KEY AUTOINCREMENT,  -- AUTOINCREMENT: a deleted digit's id is never reused
        room_code TEXT NOT NULL REFERENCES rooms(code) ON DELETE CASCADE,
        label INTEGER NOT NULL CHECK (label BETWEEN 0 AND 9),
        pixels BLOB NOT NULL CHECK (length(pixels) = 784),
        created_at REAL NOT NULL
    );
    """,
    # 2: a cap per room, and an index so a room's digits are found without scanning every room's.
    f"""
    ALTER TABLE rooms ADD COLUMN cap INTEGER NOT NULL DEFAULT {LEGACY_ROOM_CAP};
    CREATE INDEX digits_by_room ON digits (room_code, id);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)

# Why the class features are unavailable, by reason code (params: path, detail, found, known).
REASONS = {
    "corrupt": "the class database file {path} is damaged; it was left untouched for the teacher ({detail})",
    "read_only": "the class database file {path} is read-only",
    "locked": "the class database file {path} is locked by another program ({detail})",
    "newer_schema": (
        "the class database file {path} was written by a newer version of this app "
        "(schema version {found}; this version knows up to {known})"
    ),
    "cannot_open": "the class database file {path} cannot be opened ({detail})",
    "disk_full": "the disk holding the class database file {path} is full",
    "error": "of a database error with {path} ({detail})",
    "bad_setting": "the setting {detail}",
}


class ClassDbUnavailable(Exception):
    """The class database cannot be used; `message` says why, in words the app can show."""

    def __init__(self, reason: str, path: str | os.PathLike, **params):
        self.reason = reason
        self.params = {"path": str(path), "detail": "", **params}
        super().__init__(self.message)

    @property
    def message(self) -> str:
        return "Class features are unavailable because " + REASONS[self.reason].format(**self.params) + "."


@dataclass(frozen=True)
class RoomRow:
    code: str
    key_salt: bytes
    key_hash: bytes
    created_at: float  # seconds since the epoch
    expires_at: float
    closed: bool
    cap: int


@dataclass(frozen=True)
class DigitRow:
    id: int
    label: int
    pixels: bytes  # 784 bytes: the 28x28 uint8 image, row by row
    created_at: float


def default_path() -> Path:
    """$CLASS_DB, else class_digits.sqlite3 in the app's cache folder."""
    explicit = os.environ.get("CLASS_DB")
    return Path(explicit).expanduser() if explicit else cache_dir() / DB_FILE_NAME


def reason_for(error: sqlite3.Error) -> str:
    """The reason code of an sqlite3 error (Python 3.11+ names SQLite's result code)."""
    name = getattr(error, "sqlite_errorname", "") or ""
    if name.startswith(("SQLITE_CORRUPT", "SQLITE_NOTADB")):
        return "corrupt"
    if name.startswith("SQLITE_READONLY"):
        return "read_only"
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return "locked"
    if name.startswith("SQLITE_FULL"):
        return "disk_full"
    if name.startswith(("SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_IOERR", "SQLITE_AUTH")):
        return "cannot_open"
    return "error"


class Transaction:
    """The SQL the domain needs, run inside one open transaction (from ClassDB.read or .write)."""

    def __init__(self, connection: sqlite3.Connection):
        self._connection = connection

    def _all(self, sql: str, params=()) -> list[tuple]:
        return self._connection.execute(sql, params).fetchall()

    # Rooms ------------------------------------------------------------------

    def room(self, code: str) -> RoomRow | None:
        rows = self._all(
            "SELECT code, key_salt, key_hash, created_at, expires_at, closed, cap FROM rooms WHERE code = ?",
            (code,),
        )
        if not rows:
            return None
        code, salt, key_hash, created_at, expires_at, closed, cap = rows[0]
        return RoomRow(code, bytes(salt), bytes(key_hash), created_at, expires_at, bool(closed), cap)

    def insert_room(self, room: RoomRow) -> bool:
        """Add a room; False (and nothing written) if its code is taken."""
        cursor = self._connection.execute(
            "INSERT OR IGNORE INTO rooms (code, key_salt, key_hash, created_at, expires_at, closed, cap) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (room.code, room.key_salt, room.key_hash, room.created_at, room.expires_at, int(room.closed), room.cap),
        )
        return cursor.rowcount == 1

    def close_room(self, code: str) -> None:
        self._connection.execute("UPDATE rooms SET closed = 1 WHERE code = ?", (code,))

    def delete_room(self, code: str) -> None:
        """Delete a room and (ON DELETE CASCADE) its digits."""
        self._connection.execute("DELETE FROM rooms WHERE code = ?", (code,))

    def delete_rooms_expired_before(self, moment: float) -> int:
        return self._connection.execute("DELETE FROM rooms WHERE expires_at <= ?", (moment,)).rowcount

    # Digits -----------------------------------------------------------------

    def count_digits(self, code: str) -> int:
        return self._all("SELECT count(*) FROM digits WHERE room_code = ?", (code,))[0][0]

    def last_digit_id(self, code: str) -> int:
        """The room's newest digit id, 0 if it has none."""
        return self._all("SELECT coalesce(max(id), 0) FROM digits WHERE room_code = ?", (code,))[0][0]

    def label_counts(self, code: str) -> dict[int, int]:
        rows = self._all("SELECT label, count(*) FROM digits WHERE room_code = ? GROUP BY label", (code,))
        return dict(rows)

    def insert_digit(self, code: str, label: int, pixels: bytes, created_at: float) -> int:
        """Add one digit to a room; return its id."""
        cursor = self._connection.execute(
            "INSERT INTO digits (room_code, label, pixels, created_at) VALUES (?, ?, ?, ?)",
            (code, label, pixels, created_at),
        )
        return cursor.lastrowid

    def digits(self, code: str, after_id: int = 0) -> list[DigitRow]:
        """A room's digits with an id above `after_id`, oldest first."""
        rows = self._all(
            "SELECT id, label, pixels, created_at FROM digits WHERE room_code = ? AND id > ? ORDER BY id",
            (code, after_id),
        )
        return [DigitRow(id, label, bytes(pixels), created_at) for id, label, pixels, created_at in rows]

    def delete_digit(self, code: str, digit_id: int) -> bool:
        """Delete one digit of a room; False if the room has no digit with that id."""
        cursor = self._connection.execute("DELETE FROM digits WHERE room_code = ? AND id = ?", (code, digit_id))
        return cursor.rowcount == 1

    def clear_digits(self, code: str) -> int:
        return self._connection.execute("DELETE FROM digits WHERE room_code = ?", (code,)).rowcount


class ClassDB:
    """The class database at `path` (default: see default_path), checked and migrated on opening.

    Raises ClassDbUnavailable when the file is damaged, read-only, locked, from a newer app, or
    cannot be created; so does any later operation that meets such a problem.
    """

    def __init__(
        self,
        path: str | os.PathLike | None = None,
        *,
        busy_timeout: float = BUSY_TIMEOUT_SECONDS,
        schema_version: int = SCHEMA_VERSION,  # an older version only to build test files
    ):
        self.path = Path(path) if path is not None else default_path()
        self.busy_timeout = busy_timeout
        self._local = threading.local()
        self._write_lock = threading.RLock()  # reentrant: a nested write fails with a clear error, not a hang
        try:
            with self._translated_errors():
                self._open(schema_version)
        except ClassDbUnavailable:
            self.close()
            raise

    # Opening ------------------------------------------------------------------

    def _open(self, schema_version: int) -> None:
        self._check_file()
        connection = self._connection()
        if self._existed:
            self._check_integrity(connection)
        self._check_writable(connection)
        # Switching a new file to WAL takes an exclusive lock and does not wait for it (no busy
        # timeout): replicas opening the new file together retry as writers do.
        mode = self._when_unlocked(connection, "PRAGMA journal_mode = WAL").fetchone()[0]
        if mode.lower() != "wal":
            raise ClassDbUnavailable("cannot_open", self.path, detail=f"WAL mode refused, journal mode is {mode}")
        self._migrate(connection, schema_version)

    def _check_file(self) -> None:
        """Refuse, before SQLite touches it, a path that is not a writable SQLite file."""
        if self.path.exists() and not self.path.is_file():
            raise ClassDbUnavailable("cannot_open", self.path, detail="it is not a file")
        self._existed = self.path.is_file() and self.path.stat().st_size > 0
        if self._existed:
            with open(self.path, "rb") as file:
                header = file.read(len(SQLITE_HEADER))
            if header != SQLITE_HEADER:
                raise ClassDbUnavailable("corrupt", self.path, detail="it is not an SQLite database")
            if not os.access(self.path, os.W_OK):
                raise ClassDbUnavailable("read_only", self.path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ClassDbUnavailable("cannot_open", self.path, detail=f"cannot create its folder: {error}") from None
        # WAL mode keeps two files next to the database (-wal, -shm): the folder must be writable too.
        if not os.access(self.path.parent, os.W_OK):
            raise ClassDbUnavailable("read_only", self.path)

    def _check_integrity(self, connection: sqlite3.Connection) -> None:
        problems = [row[0] for row in connection.execute("PRAGMA quick_check").fetchall()]
        if problems != ["ok"]:
            raise ClassDbUnavailable("corrupt", self.path, detail="; ".join(problems[:3]))

    def _check_writable(self, connection: sqlite3.Connection) -> None:
        """A read-only file (or file system) only shows when a write transaction starts."""
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("ROLLBACK")

    def _migrate(self, connection: sqlite3.Connection, target: int) -> None:
        """Bring the schema to version `target`, all steps in one transaction (replicas may start together)."""
        connection.execute("BEGIN IMMEDIATE")
        try:
            found = connection.execute("PRAGMA user_version").fetchone()[0]
            if found > SCHEMA_VERSION:
                raise ClassDbUnavailable("newer_schema", self.path, found=found, known=SCHEMA_VERSION)
            for version in range(found + 1, target + 1):
                for statement in _statements(MIGRATIONS[version - 1]):
                    connection.execute(statement)
            if target > found:
                connection.execute(f"PRAGMA user_version = {int(target)}")
            connection.execute("COMMIT")
        except BaseException:
            _rollback(connection)
            raise

    def schema_version(self) -> int:
        with self._translated_errors():
            return self._connection().execute("PRAGMA user_version").fetchone()[0]

    # Connections and transactions ------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use."""
        connection = getattr(self._local, "connection", None)
        if connection is None:
            # isolation_level=None: sqlite3 starts no transaction by itself; we BEGIN and COMMIT.
            connection = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None)
            connection.execute("PRAGMA foreign_keys = ON")
            # FULL: a commit is on disk before submit() returns (NORMAL could lose the last ones on power loss).
            connection.execute("PRAGMA synchronous = FULL")
            self._local.connection = connection
        return connection

    def close(self) -> None:
        """Close this thread's connection (other threads' close when their thread ends)."""
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None

    @contextlib.contextmanager
    def read(self) -> Iterator[Transaction]:
        """A consistent snapshot for reading (never waits for writers, in WAL mode)."""
        with self._translated_errors():
            connection = self._connection()
            connection.execute("BEGIN")
            try:
                yield Transaction(connection)
            finally:
                _rollback(connection)  # nothing to keep: ending a read transaction

    @contextlib.contextmanager
    def write(self) -> Iterator[Transaction]:
        """One write transaction: committed if the block ends normally, rolled back if it raises.

        SQLite lets one writer at a time in; this process's threads queue on a lock, which wakes
        the next one at once, where SQLite's busy handler would poll with growing sleeps."""
        with self._write_lock, self._translated_errors():
            connection = self._connection()
            self._begin_immediate(connection)
            try:
                yield Transaction(connection)
            except BaseException:
                _rollback(connection)
                raise
            connection.execute("COMMIT")

    def _begin_immediate(self, connection: sqlite3.Connection) -> None:
        """Take the write lock now. Holding it, nothing inside the transaction can be busy
        (WAL readers never block a writer), so only this step needs retries."""
        self._when_unlocked(connection, "BEGIN IMMEDIATE")

    @staticmethod
    def _when_unlocked(connection: sqlite3.Connection, statement: str) -> sqlite3.Cursor:
        """Run `statement`, again after a short random pause while another connection holds the lock."""
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                return connection.execute(statement)
            except sqlite3.OperationalError as error:
                if reason_for(error) != "locked" or attempt == WRITE_ATTEMPTS:
                    raise
                time.sleep(random.uniform(0.05, 0.25))  # random: retrying writers don't collide again

    @contextlib.contextmanager
    def _translated_errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as error:
            raise ClassDbUnavailable(reason_for(error), self.path, detail=str(error)) from error
        except OSError as error:
            raise ClassDbUnavailable("cannot_open", self.path, detail=str(error)) from error


def _rollback(connection: sqlite3.Connection) -> None:
    """Roll back the open transaction, if any (SQLite may already have ended it after an error)."""
    if connection.in_transaction:
        connection.execute("ROLLBACK")


def _statements(script: str) -> list[str]:
    """Split a migration script into statements (ours hold no ';' inside strings)."""
    return [statement.strip() for statement in script.split(";") if statement.strip()]
