"""Find, download, verify and load the MNIST data set.

Where MNIST is looked for, in order:
  1. the `directory` passed to `load_mnist`, else the folder in env `MNIST_DIR`;
  2. the per-user cache folder (see `cache_dir`);
  3. if allowed, a fresh download from the public mirrors into the cache.

A folder holds MNIST if it has each of the four files in FILES, either
gzip-compressed (`NAME.gz`, as the mirrors serve them) or raw (`NAME`).

A download has a total time limit (DOWNLOAD_DEADLINE, or env MNIST_DOWNLOAD_DEADLINE in
seconds) besides the per-read socket timeout, and never leaves a partial file behind.

The command line (`python -m explorer.data download|verify`) is in explorer/cli/data.py.
"""

from __future__ import annotations

import atexit
import gzip
import hashlib
import http.client
import os
import socket
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Mapping

import numpy as np

from explorer.data import idx

FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)

# SHA-256 of the *uncompressed* files: gzip wrappers differ between copies.
CHECKSUMS = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

# The largest shape each file may declare: files are checked against it before they are
# read, so a small .gz that would inflate to gigabytes is refused at once.
MAX_SHAPES = {
    "train-images-idx3-ubyte": (60000, 28, 28),
    "train-labels-idx1-ubyte": (60000,),
    "t10k-images-idx3-ubyte": (10000, 28, 28),
    "t10k-labels-idx1-ubyte": (10000,),
}

# Tried in order; each serves NAME.gz for every name in FILES.
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)

# Size of each .gz on the mirrors; only used to weight the overall progress bar.
_DOWNLOAD_WEIGHTS = {
    "train-images-idx3-ubyte": 9912422,
    "train-labels-idx1-ubyte": 28881,
    "t10k-images-idx3-ubyte": 1648877,
    "t10k-labels-idx1-ubyte": 4542,
}

DOWNLOAD_TIMEOUT = 30  # seconds without progress before a mirror is given up
DOWNLOAD_DEADLINE = 600  # seconds for the whole download (env MNIST_DOWNLOAD_DEADLINE)
CHUNK_SIZE = 64 * 1024
IMAGE_SIZE = (28, 28)
NUM_CLASSES = 10

HOW_TO_PROVIDE = (
    "To provide the files yourself, set MNIST_DIR to a folder containing the four MNIST files "
    "(" + ", ".join(FILES) + ", each raw or as .gz), "
    "or run `python -m explorer.data download` on a connected machine and copy its cache folder "
    "to this machine's cache folder ({cache})."
)

Progress = Callable[[float, str], None]

# Everything a failed download can raise: HTTP errors, refused connections and
# timeouts (URLError/OSError), broken responses (HTTPException), bad gzip data.
_DOWNLOAD_ERRORS = (OSError, http.client.HTTPException, EOFError, zlib.error)


class DataError(Exception):
    """MNIST is missing, corrupt, or could not be downloaded; the message says what to do.

    The English message is for the command line and logs; the app shows `key` with `params` in the
    user's language (explorer/locales, table [errors.data]). `how_to_provide` adds the advice on
    getting the files another way."""

    def __init__(self, message: str, key: str = "errors.data.other", how_to_provide: bool = False, **params):
        super().__init__(message)
        self.key = key
        self.params = params or {"detail": message}
        self.how_to_provide = how_to_provide


class _WrongContent(Exception):
    """A downloaded file is not the expected one (wrong SHA-256, or too large)."""


class _TooSlow(Exception):
    """The whole download did not finish before its deadline."""


class FileTooLarge(ValueError):
    """A file holds more data than the largest MNIST file could."""


@dataclass(frozen=True)
class MNIST:
    """The four MNIST arrays (uint8, as stored on disk) and where they came from."""

    train_images: np.ndarray  # (60000, 28, 28)
    train_labels: np.ndarray  # (60000,)
    test_images: np.ndarray  # (10000, 28, 28)
    test_labels: np.ndarray  # (10000,)
    source: str

    def __post_init__(self):
        _check_split("training", self.train_images, self.train_labels)
        _check_split("test", self.test_images, self.test_labels)


def _check_split(split: str, images: np.ndarray, labels: np.ndarray) -> None:
    """Raise DataError unless images and labels form a sensible MNIST split."""
    if images.dtype != np.uint8 or labels.dtype != np.uint8:
        raise DataError(f"MNIST {split} arrays must be uint8, got {images.dtype} and {labels.dtype}.")
    if images.ndim != 3 or images.shape[1:] != IMAGE_SIZE:
        raise DataError(f"MNIST {split} images must have shape (N, 28, 28), got {images.shape}.")
    if labels.ndim != 1:
        raise DataError(f"MNIST {split} labels must be one-dimensional, got shape {labels.shape}.")
    if len(images) != len(labels):
        raise DataError(f"MNIST {split} set has {len(images)} images but {len(labels)} labels.")
    if len(labels) == 0:
        raise DataError(f"MNIST {split} set is empty.")
    if labels.max() >= NUM_CLASSES:
        raise DataError(f"MNIST {split} labels must be 0..9, found {labels.max()}.")


# ---------------------------------------------------------------------------
# Where the files are
# ---------------------------------------------------------------------------


def cache_dir() -> Path:
    """The per-user cache folder: $MNIST_CACHE_DIR, else $XDG_CACHE_HOME/mnist-explorer,
    else ~/.cache/mnist-explorer. It may not exist yet."""
    explicit = os.environ.get("MNIST_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg and os.path.isabs(xdg):  # the XDG spec says to ignore relative paths
        return Path(xdg) / "mnist-explorer"
    return Path.home() / ".cache" / "mnist-explorer"


def find_file(directory: str | os.PathLike, name: str) -> Path | None:
    """Return `directory/NAME.gz` or `directory/NAME`, whichever exists first, else None."""
    for candidate in (Path(directory) / (name + ".gz"), Path(directory) / name):
        if candidate.is_file():
            return candidate
    return None


def missing_files(directory: str | os.PathLike) -> list[str]:
    """The names in FILES that `directory` lacks (all of them if it does not exist)."""
    return [name for name in FILES if find_file(directory, name) is None]


def find_mnist() -> Path | None:
    """The folder `load_mnist()` would read without downloading, or None. Never downloads."""
    env_dir = os.environ.get("MNIST_DIR")
    if env_dir:
        return Path(env_dir) if not missing_files(env_dir) else None
    cache = cache_dir()
    return cache if not missing_files(cache) else None


_STATUS_TEXT = {  # English; the app reads the same keys from its catalogs
    "errors.data.status.env_lacks": "MNIST_DIR={folder} is set but lacks: {missing}",
    "errors.data.status.env_found": "MNIST found in MNIST_DIR={folder}",
    "errors.data.status.cached": "MNIST cached in {folder}",
    "errors.data.status.not_downloaded": "MNIST not downloaded yet (it will be saved in {folder})",
}


def mnist_status_message() -> tuple[str, dict[str, str]]:
    """Where MNIST is (or is not), as a catalog key and its parameters, for the app."""
    env_dir = os.environ.get("MNIST_DIR")
    if env_dir:
        missing = missing_files(env_dir)
        if missing:
            return "errors.data.status.env_lacks", {"folder": env_dir, "missing": ", ".join(missing)}
        return "errors.data.status.env_found", {"folder": env_dir}
    cache = cache_dir()
    if not missing_files(cache):
        return "errors.data.status.cached", {"folder": _pretty(cache)}
    return "errors.data.status.not_downloaded", {"folder": _pretty(cache)}


def mnist_status() -> str:
    """One line describing where MNIST is (or is not), in English."""
    key, params = mnist_status_message()
    return _STATUS_TEXT[key].format(**params)


def _pretty(path: Path) -> str:
    """Show paths under the home folder as ~/..., which is shorter and familiar."""
    try:
        return "~/" + path.relative_to(Path.home()).as_posix()
    except ValueError:
        return str(path)


def _how_to_provide() -> str:
    return HOW_TO_PROVIDE.format(cache=_pretty(cache_dir()))


def how_to_provide_params() -> dict[str, str]:
    """The parameters of HOW_TO_PROVIDE, for the app's translation of it (errors.data.how_to_provide)."""
    return {"files": ", ".join(FILES), "cache": _pretty(cache_dir())}


# ---------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------


def load_mnist(
    directory: str | os.PathLike | None = None,
    *,
    download: bool = True,
    progress: Progress | None = None,
    mirrors: Iterable[str] = MIRRORS,
    checksums: Mapping[str, str] = CHECKSUMS,
    deadline: float | None = None,
) -> MNIST:
    """Load MNIST from `directory`, $MNIST_DIR, the cache, or (if `download`) the internet.

    `progress(fraction, message)` is called while downloading; `deadline` is the download's
    time limit in seconds (see download_mnist). Raises DataError.
    """
    if directory is not None:
        return _load_complete_dir(Path(directory), "directory", f"directory {directory}")
    env_dir = os.environ.get("MNIST_DIR")
    if env_dir:
        return _load_complete_dir(Path(env_dir), "MNIST_DIR", f"MNIST_DIR={env_dir}")

    cache = cache_dir()
    if missing_files(cache):
        if not download:
            raise DataError(f"MNIST is not in the cache folder {_pretty(cache)} yet. {_how_to_provide()}",
                            "errors.data.not_in_cache", how_to_provide=True, folder=_pretty(cache))  # fmt: skip
        download_mnist(cache, progress=progress, mirrors=mirrors, checksums=checksums, deadline=deadline)
    return load_directory(cache, source=f"cache {_pretty(cache)}")


def _load_complete_dir(directory: Path, label: str, source: str) -> MNIST:
    """Load a folder the user named; if files are missing say so rather than download."""
    missing = missing_files(directory)
    if missing:
        raise DataError(
            f"The {label} folder {directory} does not hold MNIST: missing {', '.join(missing)}. "
            f"{_how_to_provide()}",
            "errors.data.folder_incomplete", how_to_provide=True, folder=str(directory), missing=", ".join(missing),
        )
    return load_directory(directory, source=source)


def load_directory(directory: str | os.PathLike, source: str | None = None) -> MNIST:
    """Parse the four IDX files in `directory` (structure checked, checksums not)."""
    arrays = []
    for name in FILES:
        path = find_file(directory, name)
        if path is None:
            raise DataError(f"MNIST file {name} is missing from {directory}. {_how_to_provide()}",
                            "errors.data.file_missing", how_to_provide=True, name=name, folder=str(directory))  # fmt: skip
        arrays.append(_read_file(path, MAX_SHAPES[name]))
    train_images, train_labels, test_images, test_labels = arrays
    return MNIST(
        train_images=train_images,
        train_labels=train_labels,
        test_images=test_images,
        test_labels=test_labels,
        source=source or str(directory),
    )


def _read_file(path: Path, max_shape: tuple[int, ...]) -> np.ndarray:
    try:
        return idx.read_idx(path, max_shape=max_shape)
    except idx.IdxError as error:
        raise DataError(
            f"{error} Delete it and run `python -m explorer.data download`, "
            "or point MNIST_DIR at a good copy.",
            "errors.data.file_damaged", file=str(path), detail=str(error),
        ) from None
    except OSError as error:
        raise DataError(f"Cannot read MNIST file {path}: {error.strerror or error}.",
                        "errors.data.cannot_read", file=str(path), reason=str(error.strerror or error)) from None  # fmt: skip


# ---------------------------------------------------------------------------
# Verifying
# ---------------------------------------------------------------------------


def verify_mnist(
    directory: str | os.PathLike, checksums: Mapping[str, str] = CHECKSUMS
) -> list[tuple[str, bool, str]]:
    """Check each file's SHA-256 (of the uncompressed bytes): a list of (name, ok, detail)."""
    results = []
    for name in FILES:
        path = find_file(directory, name)
        if path is None:
            results.append((name, False, f"missing from {directory}"))
            continue
        try:
            digest = sha256_uncompressed(path, max_bytes=max_content_bytes(name))
        except FileTooLarge:
            results.append((name, False, f"{path.name} holds more data than this MNIST file can"))
            continue
        except (OSError, EOFError, zlib.error) as error:
            results.append((name, False, f"{path.name} is unreadable or damaged ({error})"))
            continue
        if digest == checksums[name]:
            results.append((name, True, f"{path.name} checksum OK"))
        else:
            results.append((name, False, f"{path.name} checksum mismatch (SHA-256 {digest[:12]}...)"))
    return results


def max_content_bytes(name: str) -> int:
    """The uncompressed size of the largest IDX file `name` may be (header included)."""
    shape = MAX_SHAPES[name]
    return 4 + 4 * len(shape) + int(np.prod(shape))


def sha256_uncompressed(path: str | os.PathLike, max_bytes: int | None = None) -> str:
    """SHA-256 hex digest of a file's content, decompressing it first if it is gzip.

    Raises FileTooLarge, having inflated no more than that, if the content exceeds `max_bytes`."""
    with open(path, "rb") as raw:
        is_gzip = raw.read(2) == idx.GZIP_MAGIC
    opener = gzip.open if is_gzip else open
    digest = hashlib.sha256()
    size = 0
    with opener(path, "rb") as stream:
        while chunk := stream.read(1024 * 1024):
            size += len(chunk)
            if max_bytes is not None and size > max_bytes:
                raise FileTooLarge(f"{Path(path).name} holds more than {max_bytes:,} bytes")
            digest.update(chunk)
    return digest.hexdigest()


# ---------------------------------------------------------------------------
# Downloading
# ---------------------------------------------------------------------------


def download_mnist(
    directory: str | os.PathLike | None = None,
    *,
    progress: Progress | None = None,
    mirrors: Iterable[str] = MIRRORS,
    checksums: Mapping[str, str] = CHECKSUMS,
    deadline: float | None = None,
) -> Path:
    """Download the files `directory` (default: the cache) lacks or holds damaged.

    Each file is verified before it is moved into place, so the folder never holds a
    partial file. The whole download must end within `deadline` seconds (default:
    env MNIST_DOWNLOAD_DEADLINE, else DOWNLOAD_DEADLINE). Returns the folder. Raises DataError.
    """
    directory = Path(directory) if directory is not None else cache_dir()
    mirrors = list(mirrors)
    seconds = download_deadline(deadline)
    report = progress or (lambda fraction, message: None)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DataError(f"Cannot create the MNIST folder {directory}: {error.strerror or error}.",
                        "errors.data.cannot_create_folder", folder=str(directory),
                        reason=str(error.strerror or error)) from None  # fmt: skip
    _remove_stale_parts(directory, older_than=seconds)

    # Each file gets a slice of the overall bar in proportion to its size.
    total_weight = sum(_DOWNLOAD_WEIGHTS[name] for name in FILES)
    done = 0.0
    with _Deadline(seconds) as time_limit:
        for name in FILES:
            share = _DOWNLOAD_WEIGHTS[name] / total_weight
            if not _has_good_copy(directory, name, checksums[name]):
                file_report = _scaled(report, start=done, share=share)
                _download_file(name, directory, mirrors, checksums[name], file_report, time_limit)
            done += share
            report(min(done, 1.0), f"{name} ready")
    report(1.0, f"MNIST ready in {directory}")
    return directory


def download_deadline(seconds: float | None = None) -> float:
    """The time limit of a download: `seconds`, else env MNIST_DOWNLOAD_DEADLINE, else DOWNLOAD_DEADLINE."""
    if seconds is None:
        text = os.environ.get("MNIST_DOWNLOAD_DEADLINE", "").strip()
        try:
            seconds = float(text) if text else DOWNLOAD_DEADLINE
        except ValueError:
            raise DataError(f"MNIST_DOWNLOAD_DEADLINE must be a number of seconds, not '{text}'.") from None
    if not 0 < seconds < float("inf"):
        raise DataError(f"The download time limit must be a positive number of seconds, not {seconds}.")
    return seconds


def _scaled(report: Progress, start: float, share: float) -> Progress:
    """Turn one file's progress (0..1) into overall progress (start..start+share)."""
    return lambda fraction, message: report(min(start + share * fraction, 1.0), message)


def _has_good_copy(directory: Path, name: str, checksum: str) -> bool:
    path = find_file(directory, name)
    if path is None:
        return False
    try:
        return sha256_uncompressed(path, max_bytes=max_content_bytes(name)) == checksum
    except (OSError, EOFError, zlib.error, FileTooLarge):
        return False


def _download_file(
    name: str, directory: Path, mirrors: list[str], checksum: str, report: Progress, time_limit: _Deadline
) -> None:
    """Try each mirror in turn until one delivers `name` with the right checksum."""
    failures = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + name + ".gz"
        try:
            _fetch_verified(url, directory / (name + ".gz"), checksum, report, time_limit)
            return
        except _TooSlow:
            host = urllib.parse.urlsplit(url).netloc
            raise DataError(
                f"The MNIST download did not finish within {time_limit.seconds:g} s ({host} sends too slowly). "
                "Try again later, or allow more time with MNIST_DOWNLOAD_DEADLINE=<seconds>. "
                f"{_how_to_provide()}",
                "errors.data.too_slow", how_to_provide=True, seconds=f"{time_limit.seconds:g}", host=host,
            ) from None
        except _DOWNLOAD_ERRORS + (_WrongContent,) as error:
            failures.append(f"{url}: {_describe(error)}")
    tried = "; ".join(failures) or "no mirrors configured"
    raise DataError(f"Could not download MNIST file {name}.gz ({tried}). {_how_to_provide()}",
                    "errors.data.download_failed", how_to_provide=True, name=f"{name}.gz", tried=tried)  # fmt: skip


# Temporary files of downloads in progress: removed at exit even if a thread was cut short.
_PARTIAL_FILES: set[str] = set()
atexit.register(lambda: [Path(name).unlink(missing_ok=True) for name in list(_PARTIAL_FILES)])


def _fetch_verified(url: str, destination: Path, checksum: str, report: Progress, time_limit: _Deadline) -> None:
    """Download `url` to a temporary .part file next to `destination`, check it, then move it in.

    On any failure, Ctrl-C or SIGTERM (see main) the .part file is removed and the error re-raised.
    """
    name = destination.name.removesuffix(".gz")
    # Same folder as the destination, so os.replace is an atomic rename.
    handle, temp_name = tempfile.mkstemp(dir=destination.parent, prefix=f".{destination.name}.", suffix=".part")
    _PARTIAL_FILES.add(temp_name)
    try:
        with os.fdopen(handle, "wb") as temp_file:
            _stream(url, temp_file, destination.name, report, time_limit, _max_download_bytes(name))
        try:
            digest = sha256_uncompressed(temp_name, max_bytes=max_content_bytes(name))
        except FileTooLarge:
            raise _WrongContent("it holds more data than this MNIST file can") from None
        if digest != checksum:
            raise _WrongContent(f"checksum mismatch (got SHA-256 {digest[:12]}..., expected {checksum[:12]}...)")
        os.chmod(temp_name, 0o644)  # mkstemp makes it private; the cache is meant to be copied
        os.replace(temp_name, destination)
    finally:
        Path(temp_name).unlink(missing_ok=True)  # gone already if it was moved into place
        _PARTIAL_FILES.discard(temp_name)


def _max_download_bytes(name: str) -> int:
    """More than the .gz of the largest valid file can take (gzip adds a little to random data)."""
    return max_content_bytes(name) * 101 // 100 + 65536


def _remove_stale_parts(directory: Path, older_than: float) -> None:
    """Delete .part files left by a download that was killed (kill -9, power cut).

    Only files untouched for longer than a whole download may take: younger ones may
    belong to a download still running in another process."""
    now = time.time()
    for name in FILES:
        for part in directory.glob(f".{name}.gz.*.part"):
            try:
                if now - part.stat().st_mtime > older_than:
                    part.unlink()
            except OSError:
                pass  # vanished meanwhile, or not ours to delete: it does no harm


def _stream(url: str, out, label: str, report: Progress, time_limit: _Deadline, max_bytes: int) -> None:
    """Copy the body of `url` into the open file `out`, reporting the fraction received."""
    opener = urllib.request.build_opener(_WatchedHTTPHandler(time_limit), _WatchedHTTPSHandler(time_limit))
    try:
        with opener.open(url, timeout=min(DOWNLOAD_TIMEOUT, time_limit.remaining())) as response:
            total = int(response.headers.get("Content-Length") or 0)
            received = 0
            # read1 returns what one socket read brings: the deadline is checked between reads.
            while chunk := response.read1(CHUNK_SIZE):
                time_limit.check()
                received += len(chunk)
                if received > max_bytes:
                    raise _WrongContent(f"the server sent more than {max_bytes / 1e6:.1f} MB, too much for this file")
                out.write(chunk)
                fraction = min(received / total, 1.0) if total else 0.0
                report(fraction, f"Downloading {label} ({received / 1e6:.1f} MB)")
    except _DOWNLOAD_ERRORS:
        time_limit.check()  # a connection shut down by the deadline is reported as such
        raise
    time_limit.check()
    if total and received < total:
        raise ConnectionError(f"the connection closed after {received:,} of {total:,} bytes")


class _Deadline:
    """The time limit of a whole download.

    A socket timeout only bounds each read, so a server that trickles a byte every few
    seconds could hold a download forever. When the time is up, a timer thread shuts the
    download's connections down; that wakes the blocked read, and check() raises _TooSlow.
    (A TLS handshake is not covered: it is bounded by the per-read timeout only.)
    """

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.expired = False
        self._end = time.monotonic() + seconds
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._timer.cancel()

    def remaining(self) -> float:
        return max(self._end - time.monotonic(), 0.001)

    def check(self) -> None:
        if self.expired or time.monotonic() >= self._end:
            raise _TooSlow()

    def watch(self, sock: socket.socket) -> None:
        """Shut `sock` down at the deadline (at once if it has passed)."""
        with self._lock:
            self._sockets.append(sock)
            expired = self.expired
        if expired:
            _shut_down(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shut_down(sock)


def _shut_down(sock: socket.socket) -> None:
    """End both directions of a connection, which wakes a read blocked on it in another thread."""
    try:
        socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the plain socket's, also for TLS sockets
    except OSError:
        pass  # already closed


class _WatchedConnections:
    """Mixin for urllib's HTTP(S) handlers: every connection they open is watched by the deadline."""

    def __init__(self, time_limit: _Deadline):
        super().__init__()
        self.time_limit = time_limit

    def do_open(self, http_class, request, **kwargs):
        time_limit = self.time_limit

        class WatchedConnection(http_class):
            def connect(self):
                super().connect()
                time_limit.watch(self.sock)

        return super().do_open(WatchedConnection, request, **kwargs)


class _WatchedHTTPHandler(_WatchedConnections, urllib.request.HTTPHandler):
    pass


class _WatchedHTTPSHandler(_WatchedConnections, urllib.request.HTTPSHandler):
    pass


def _describe(error: BaseException) -> str:
    """A short human description of a download failure."""
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP {error.code} {error.reason}"
    if isinstance(error, urllib.error.URLError):
        return f"cannot connect ({error.reason})"
    if isinstance(error, TimeoutError):
        return "timed out"
    if isinstance(error, (EOFError, zlib.error, gzip.BadGzipFile)):
        return f"not a valid gzip file ({error})"
    return str(error) or type(error).__name__
