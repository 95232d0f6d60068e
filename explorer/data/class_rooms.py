"""Class rooms: a class's own handwritten digits, collected in a room and used as a test set.

A teacher creates a room and gets its code (students join with it) and a secret teacher key,
shown once (only its hash is stored). Students submit MNIST-style digits (28x28 uint8 images)
with the label they meant; nothing else is stored: no name, no session, no raw drawing.
Teacher actions (close, clear, delete one digit, delete the room, export) need the key.

Every refusal is a ClassRoomError with a `code` and `params` (the page translates them;
`message` is the English text) and stores nothing. Storage problems raise
explorer.data.classdb.ClassDbUnavailable: the page shows its `message` and goes on without rooms.

    rooms = open_class_rooms()                       # $CLASS_DB, $CLASS_ROOM_DAYS, $CLASS_ROOM_CAP
    room = rooms.create_room()                       # room.code "7QX4MZ", room.teacher_key (show once)
    rooms.submit(room.code, image, 3, session_id)    # image: (28, 28) uint8
    digits = rooms.digits(room.code)                 # ClassDigits: ids, labels, images, created_at
    rooms.export_zip(room.code, room.teacher_key)    # IDX files + CSV, for a download button
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import os
import secrets
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from explorer.data import classdb
from explorer.data.classdb import ClassDB, ClassDbUnavailable, RoomRow
from explorer.data.idx import write_idx

# Room codes: no look-alikes (no 0/O, no 1/I), 32 symbols, so 5 bits each. Six of them make
# 32**6 = 1,073,741,824 codes: with 1,000 live rooms a guessed code hits one with odds of about
# 1 in a million, and join() and submit() let a session try at most one wrong code per second.
CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTH = 6
# Teacher keys: 4 groups of 5 symbols (100 bits), typed back by the teacher, never guessable.
KEY_GROUPS, KEY_GROUP_LENGTH = 4, 5

# scrypt: memory-hard, with a per-room salt; about 16 MB and a few tens of milliseconds per check.
SCRYPT_N, SCRYPT_R, SCRYPT_P, KEY_HASH_BYTES = 2**14, 8, 1, 32
SALT_BYTES = 16

DEFAULT_LIFETIME_DAYS = 30.0
DEFAULT_CAP = 2000  # digits per room
MIN_SECONDS_BETWEEN_SUBMISSIONS = 1.0  # per session
# Ink is the sum of pixel values / 255 (pixels' worth of full ink). The faintest of MNIST's
# 60,000 training digits has about 20; a stray dot or a short dash has less than 15.
MIN_INK = 15.0
IMAGE_SHAPE = (28, 28)
NUM_CLASSES = 10
SECONDS_PER_DAY = 24 * 3600.0

# English text for each refusal code; the page may translate by code (params are named).
MESSAGES = {
    "invalid_room_code": "“{code}” is not a room code: codes have {length} letters and digits (no 0, O, 1 or I).",
    "room_not_found": "There is no room {code}. Check the code with your teacher.",
    "room_closed": "Room {code} is closed: it takes no more digits.",
    "room_expired": "Room {code} has expired; ask your teacher for a new room.",
    "room_full": "Room {code} is full: it holds at most {cap} digits.",
    "too_fast": "One digit per second, please: try again in {wait_seconds:.1f} s.",
    "missing_label": "Say which digit you drew (0 to 9) before submitting.",
    "invalid_label": "“{label}” is not a digit label: it must be a whole number from 0 to 9.",
    "invalid_image": "The drawing could not be read as a 28×28 digit ({reason}).",
    "too_little_ink": "Your drawing is (almost) empty: draw the whole digit, then submit.",
    "wrong_key": "This is not the teacher key of room {code}.",
    "digit_not_found": "Room {code} has no digit number {digit_id}.",
    "room_empty": "Room {code} has no digits yet: nothing to export.",
}


class ClassRoomError(Exception):
    """A refused request. `code` names the reason (a key of MESSAGES), `params` fill its text."""

    def __init__(self, code: str, /, **params):  # positional-only: `code=` in params is a room's code
        self.code = code
        self.params = params
        super().__init__(self.message)

    @property
    def message(self) -> str:
        return MESSAGES[self.code].format(**self.params)


@dataclass(frozen=True)
class NewRoom:
    code: str
    teacher_key: str  # shown to the teacher once; only its hash is stored
    expires_at: float  # seconds since the epoch


@dataclass(frozen=True)
class RoomInfo:
    code: str
    created_at: float
    expires_at: float
    closed: bool
    count: int  # digits in the room
    cap: int
    last_id: int  # the newest digit's id (0: none): with count, tells a live view whether to reload


@dataclass(frozen=True)
class ClassDigits:
    """A room's digits, oldest first, uint8 like explorer.data.mnist.MNIST's arrays."""

    ids: np.ndarray  # (n,) int64: the ids delete_digit takes, increasing
    labels: np.ndarray  # (n,) uint8, 0..9
    images: np.ndarray  # (n, 28, 28) uint8
    created_at: np.ndarray  # (n,) float64, seconds since the epoch

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def last_id(self) -> int:
        """Pass it to ClassRooms.digits(code, after_id=...) to get only the digits that arrived since."""
        return int(self.ids[-1]) if len(self.ids) else 0

    def subset(self, mask: np.ndarray) -> ClassDigits:
        return ClassDigits(self.ids[mask], self.labels[mask], self.images[mask], self.created_at[mask])

    def split(self, held_out_fraction: float, seed: int = 0) -> tuple[ClassDigits, ClassDigits]:
        """(used, held out): about `held_out_fraction` of the digits held out, e.g. to compare a
        network before and after fine-tuning on the others. Decided per digit id, so a digit stays
        on its side as new digits arrive."""
        # Knuth's multiplicative hash spreads consecutive ids evenly over [0, 1).
        position = ((self.ids.astype(np.uint64) + np.uint64(seed)) * np.uint64(2654435761) % np.uint64(2**32)) / 2**32
        held_out = position < held_out_fraction
        return self.subset(~held_out), self.subset(held_out)


def normalize_code(text: object) -> str:
    """The room code in `text` ("7qx4-mz ", "?room=..." values), upper-cased, without spaces or dashes."""
    code = "".join(str(text if text is not None else "").split()).replace("-", "").upper()
    if len(code) != CODE_LENGTH or any(symbol not in CODE_ALPHABET for symbol in code):
        typed = str(text if text is not None else "").strip()
        raise ClassRoomError("invalid_room_code", code=typed, length=CODE_LENGTH)
    return code


def new_room_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def new_teacher_key() -> str:
    groups = ("".join(secrets.choice(CODE_ALPHABET) for _ in range(KEY_GROUP_LENGTH)) for _ in range(KEY_GROUPS))
    return "-".join(groups)


def hash_key(key: str, salt: bytes) -> bytes:
    """scrypt of the key as typed back (case, spaces and dashes do not matter)."""
    typed = "".join(str(key).split()).replace("-", "").upper()
    return hashlib.scrypt(typed.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=KEY_HASH_BYTES)


def checked_label(label: object) -> int:
    """The label as an int 0..9, else ClassRoomError (missing_label, invalid_label)."""
    if label is None or (isinstance(label, str) and not label.strip()):
        raise ClassRoomError("missing_label")
    if isinstance(label, (bool, np.bool_)):
        raise ClassRoomError("invalid_label", label=label)
    if isinstance(label, str) and label.strip().isdigit():
        label = int(label.strip())
    if not isinstance(label, (int, np.integer)) or not 0 <= label < NUM_CLASSES:
        raise ClassRoomError("invalid_label", label=label)
    return int(label)


def checked_image(image: object) -> np.ndarray:
    """The image as a (28, 28) uint8 array with enough ink, else ClassRoomError."""
    array = np.asarray(image) if image is not None else None
    if array is None or array.shape != IMAGE_SHAPE:
        shape = "nothing" if array is None else f"shape {array.shape}"
        raise ClassRoomError("invalid_image", reason=f"expected shape (28, 28), got {shape}")
    if array.dtype != np.uint8:
        raise ClassRoomError("invalid_image", reason=f"expected uint8 pixels, got {array.dtype}")
    ink = float(array.sum(dtype=np.int64)) / 255.0
    if ink < MIN_INK:
        raise ClassRoomError("too_little_ink", ink=round(ink, 1), minimum=MIN_INK)
    return np.ascontiguousarray(array)


class SessionRateLimit:
    """At most one accepted submission per `min_interval` seconds per session id (kept in memory:
    a Streamlit session talks to one process, and session ids are never stored)."""

    def __init__(self, min_interval: float, clock: Callable[[], float]):
        self.min_interval = min_interval
        self.clock = clock
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def reserve(self, session_id: str) -> float | None:
        """Claim this session's turn; returns what to pass to release() if the submission fails."""
        with self._lock:
            now = self.clock()
            previous = self._last.get(session_id)
            if previous is not None and now - previous < self.min_interval:
                raise ClassRoomError("too_fast", wait_seconds=self.min_interval - (now - previous))
            self._forget_old(now)
            self._last[session_id] = now
            return previous

    def release(self, session_id: str, previous: float | None) -> None:
        """Undo reserve(): a refused submission does not count."""
        with self._lock:
            if previous is None:
                self._last.pop(session_id, None)
            else:
                self._last[session_id] = previous

    def _forget_old(self, now: float) -> None:
        if len(self._last) > 10_000:
            self._last = {sid: t for sid, t in self._last.items() if now - t < self.min_interval}


class ClassRooms:
    """Rooms and their digits in a ClassDB. Thread-safe: one instance serves every session of a process."""

    def __init__(
        self,
        db: ClassDB,
        *,
        lifetime_days: float = DEFAULT_LIFETIME_DAYS,
        cap: int = DEFAULT_CAP,
        min_interval: float = MIN_SECONDS_BETWEEN_SUBMISSIONS,
        clock: Callable[[], float] = time.time,
    ):
        self.db = db
        self.lifetime_days = lifetime_days
        self.cap = cap
        self.clock = clock
        self.rate_limit = SessionRateLimit(min_interval, clock)
        self.join_limit = SessionRateLimit(min_interval, clock)
        self.purge_expired()

    # Rooms ------------------------------------------------------------------

    def create_room(self, lifetime_days: float | None = None, cap: int | None = None) -> NewRoom:
        """A new room with a random code and teacher key (the key is in the result only);
        lifetime and cap default to this ClassRooms' settings."""
        lifetime_days = self.lifetime_days if lifetime_days is None else lifetime_days
        cap = self.cap if cap is None else cap
        if not (lifetime_days > 0 and cap > 0):
            raise ValueError(f"A room needs a positive lifetime and cap, got {lifetime_days} days and {cap} digits.")
        self.purge_expired()
        now = self.clock()
        key = new_teacher_key()
        salt = secrets.token_bytes(SALT_BYTES)
        key_hash = hash_key(key, salt)
        expires_at = now + lifetime_days * SECONDS_PER_DAY
        for _ in range(20):  # a taken code is a one-in-a-million event: draw again
            room = RoomRow(new_room_code(), salt, key_hash, now, expires_at, False, int(cap))
            with self.db.write() as tx:
                if tx.insert_room(room):
                    return NewRoom(room.code, key, expires_at)
        raise RuntimeError("No free room code after 20 draws: is the code alphabet too small?")

    def join(self, code: str, session_id: str) -> RoomInfo:
        """room_info for a student typing a code: a session's failed attempts are paced like
        submissions (one per second), so codes cannot be guessed quickly."""
        previous = self.join_limit.reserve(session_id)
        info = self.room_info(code)  # a refusal keeps the turn
        self.join_limit.release(session_id, previous)
        return info

    def room_info(self, code: str) -> RoomInfo:
        """The room's state; refuses a malformed, unknown or expired code."""
        code = normalize_code(code)
        with self.db.read() as tx:
            room = self._live_room(tx, code)
            count, last_id = tx.count_digits(code), tx.last_digit_id(code)
        return RoomInfo(room.code, room.created_at, room.expires_at, room.closed, count, room.cap, last_id)

    def purge_expired(self) -> int:
        """Delete expired rooms and their digits; returns how many rooms went."""
        with self.db.write() as tx:
            return tx.delete_rooms_expired_before(self.clock())

    def _live_room(self, tx: classdb.Transaction, code: str) -> RoomRow:
        room = tx.room(code)
        if room is None:
            raise ClassRoomError("room_not_found", code=code)
        if room.expires_at <= self.clock():
            raise ClassRoomError("room_expired", code=code, expired_at=room.expires_at)
        return room

    # Students ---------------------------------------------------------------

    def submit(self, code: str, image: object, label: object, session_id: str) -> int:
        """Store one digit; returns its id. `session_id` only paces the session, it is not stored."""
        if not session_id:
            raise ValueError("submit needs the caller's session id (for the rate limit).")
        code = normalize_code(code)
        label = checked_label(label)
        pixels = checked_image(image).tobytes()
        previous = self.rate_limit.reserve(session_id)
        try:
            with self.db.write() as tx:
                room = self._live_room(tx, code)
                if room.closed:
                    raise ClassRoomError("room_closed", code=code)
                if tx.count_digits(code) >= room.cap:
                    raise ClassRoomError("room_full", code=code, cap=room.cap)
                return tx.insert_digit(code, label, pixels, self.clock())
        except ClassRoomError as refusal:
            if refusal.code != "room_not_found":  # a wrong code keeps its turn: guessing codes is paced
                self.rate_limit.release(session_id, previous)
            raise
        except BaseException:
            self.rate_limit.release(session_id, previous)
            raise

    def digits(self, code: str, after_id: int = 0) -> ClassDigits:
        """The room's digits (those with an id above `after_id`, for live updates), oldest first."""
        code = normalize_code(code)
        with self.db.read() as tx:
            self._live_room(tx, code)
            rows = tx.digits(code, after_id)
        images = np.frombuffer(b"".join(row.pixels for row in rows), dtype=np.uint8).reshape(-1, *IMAGE_SHAPE)
        return ClassDigits(
            ids=np.array([row.id for row in rows], dtype=np.int64),
            labels=np.array([row.label for row in rows], dtype=np.uint8),
            images=images.copy(),  # writable, like a loaded data set
            created_at=np.array([row.created_at for row in rows], dtype=np.float64),
        )

    def label_counts(self, code: str) -> np.ndarray:
        """(10,) int64: how many digits of each label the room holds."""
        code = normalize_code(code)
        with self.db.read() as tx:
            self._live_room(tx, code)
            counts = tx.label_counts(code)
        return np.array([counts.get(label, 0) for label in range(NUM_CLASSES)], dtype=np.int64)

    # Teacher ----------------------------------------------------------------

    def check_key(self, code: str, key: str) -> str:
        """The normalized room code if `key` is its teacher key, else ClassRoomError wrong_key.
        (The slow hash runs outside any write transaction, so it never holds up submissions.)"""
        code = normalize_code(code)
        with self.db.read() as tx:
            room = self._live_room(tx, code)
        if not isinstance(key, str) or not hmac.compare_digest(hash_key(key, room.key_salt), room.key_hash):
            raise ClassRoomError("wrong_key", code=code)
        return code

    def close_room(self, code: str, key: str) -> None:
        """Accept no more digits (the class view and export still work)."""
        code = self.check_key(code, key)
        with self.db.write() as tx:
            self._live_room(tx, code)  # it may have gone since the key was checked
            tx.close_room(code)

    def clear_room(self, code: str, key: str) -> int:
        """Delete every digit of the room (it stays open); returns how many."""
        code = self.check_key(code, key)
        with self.db.write() as tx:
            self._live_room(tx, code)
            return tx.clear_digits(code)

    def delete_digit(self, code: str, key: str, digit_id: int) -> None:
        code = self.check_key(code, key)
        with self.db.write() as tx:
            self._live_room(tx, code)
            if not tx.delete_digit(code, int(digit_id)):
                raise ClassRoomError("digit_not_found", code=code, digit_id=digit_id)

    def delete_room(self, code: str, key: str) -> None:
        """Delete the room and all its digits."""
        code = self.check_key(code, key)
        with self.db.write() as tx:
            tx.delete_room(code)

    # Export -------------------------------------------------------------------

    def _exported_digits(self, code: str, key: str) -> ClassDigits:
        code = self.check_key(code, key)
        digits = self.digits(code)
        if not len(digits):
            raise ClassRoomError("room_empty", code=code)
        return digits

    def export_idx(self, code: str, key: str, folder: str | os.PathLike) -> tuple[Path, Path]:
        """Write the room's digits as MNIST IDX files (images idx3, labels idx1, uncompressed,
        the format of the real data set) into `folder`; returns their paths."""
        return _write_idx_pair(self._exported_digits(code, key), Path(folder), normalize_code(code))

    def export_csv(self, code: str, key: str) -> str:
        """The room's digits as CSV: a header, then one row per digit: label, pixel0 ... pixel783."""
        return _csv_text(self._exported_digits(code, key))

    def export_zip(self, code: str, key: str) -> bytes:
        """One download: the two IDX files and the CSV in a zip archive."""
        digits = self._exported_digits(code, key)
        code = normalize_code(code)
        buffer = io.BytesIO()
        with tempfile.TemporaryDirectory() as folder, zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in _write_idx_pair(digits, Path(folder), code):
                archive.write(path, arcname=path.name)
            archive.writestr(f"class-{code}.csv", _csv_text(digits))
        return buffer.getvalue()


def idx_file_names(code: str) -> tuple[str, str]:
    """File names in MNIST's pattern: class-CODE-images-idx3-ubyte, class-CODE-labels-idx1-ubyte."""
    return f"class-{code}-images-idx3-ubyte", f"class-{code}-labels-idx1-ubyte"


def _write_idx_pair(digits: ClassDigits, folder: Path, code: str) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    images_path, labels_path = (folder / name for name in idx_file_names(code))
    write_idx(images_path, digits.images)
    write_idx(labels_path, digits.labels)
    return images_path, labels_path


def _csv_text(digits: ClassDigits) -> str:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["label"] + [f"pixel{i}" for i in range(IMAGE_SHAPE[0] * IMAGE_SHAPE[1])])
    for label, image in zip(digits.labels, digits.images):
        writer.writerow([int(label), *image.ravel().tolist()])
    return text.getvalue()


def settings_from_environment() -> dict:
    """ClassRooms settings from $CLASS_ROOM_DAYS and $CLASS_ROOM_CAP (defaults when unset);
    a malformed value raises ClassDbUnavailable (reason bad_setting) naming the variable."""
    settings = {}
    for variable, name, kind in (("CLASS_ROOM_DAYS", "lifetime_days", float), ("CLASS_ROOM_CAP", "cap", int)):
        text = os.environ.get(variable, "").strip()
        if not text:
            continue
        try:
            value = kind(text)
        except ValueError:
            value = 0
        if not value > 0:
            kind_text = "number" if kind is float else "whole number"
            detail = f"{variable}={text!r} is not a positive {kind_text}"
            raise ClassDbUnavailable("bad_setting", classdb.default_path(), detail=detail)
        settings[name] = value
    return settings


def open_class_rooms(path: str | os.PathLike | None = None, **settings) -> ClassRooms:
    """The rooms in the class database ($CLASS_DB by default), with settings from the environment
    unless given. Raises ClassDbUnavailable (show its .message and go on without class features)."""
    return ClassRooms(ClassDB(path), **{**settings_from_environment(), **settings})


__all__ = [
    "ClassDbUnavailable",
    "ClassDigits",
    "ClassRoomError",
    "ClassRooms",
    "NewRoom",
    "RoomInfo",
    "normalize_code",
    "open_class_rooms",
]
