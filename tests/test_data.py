"""Tests for explorer.data.mnist on a tiny generated MNIST, served by a local HTTP server.

Nothing here touches the internet: "mirrors" are http://127.0.0.1 servers
started in a thread, or closed ports on 127.0.0.1.
"""

import functools
import gzip
import hashlib
import http.server
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from explorer.cli import data as cli
from explorer.data import mnist as data
from explorer.data.mnist import FILES, DataError, load_mnist
from explorer.data.idx import write_idx

# Captured before the autouse fixture below clears it for the other tests.
REAL_MNIST_DIR = os.environ.get("MNIST_DIR")

N_TRAIN, N_TEST = 20, 10


# ---------------------------------------------------------------------------
# Fixtures and helpers
# ---------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path, monkeypatch):
    """No test sees the real MNIST_DIR or writes to the real user cache."""
    monkeypatch.delenv("MNIST_DIR", raising=False)
    monkeypatch.setenv("MNIST_CACHE_DIR", str(tmp_path / "cache"))


def fake_arrays(seed=0):
    """A tiny MNIST: {file name: array}."""
    rng = np.random.default_rng(seed)
    return {
        "train-images-idx3-ubyte": rng.integers(0, 256, (N_TRAIN, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, N_TRAIN, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (N_TEST, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, N_TEST, dtype=np.uint8),
    }


def write_fake_mnist(directory, arrays=None, compress=True):
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for name, array in (arrays or fake_arrays()).items():
        write_idx(directory / (name + ".gz" if compress else name), array, compress=compress)
    return directory


def checksums_of(arrays):
    """SHA-256 of the uncompressed IDX bytes, computed independently of explorer.data.mnist."""
    result = {}
    for name, array in arrays.items():
        header = bytes([0, 0, 8, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
        result[name] = hashlib.sha256(header + array.tobytes()).hexdigest()
    return result


def assert_matches(mnist, arrays):
    np.testing.assert_array_equal(mnist.train_images, arrays["train-images-idx3-ubyte"])
    np.testing.assert_array_equal(mnist.train_labels, arrays["train-labels-idx1-ubyte"])
    np.testing.assert_array_equal(mnist.test_images, arrays["t10k-images-idx3-ubyte"])
    np.testing.assert_array_equal(mnist.test_labels, arrays["t10k-labels-idx1-ubyte"])
    for array in (mnist.train_images, mnist.train_labels, mnist.test_images, mnist.test_labels):
        assert array.dtype == np.uint8


def closed_port_url():
    """A URL on 127.0.0.1 where nothing listens, so connecting is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/mnist/"


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):
        pass


@pytest.fixture
def serve():
    """serve(folder) -> mirror URL serving the files in folder; servers stop after the test."""
    servers = []

    def start(folder):
        handler = functools.partial(QuietHandler, directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        # A short poll interval makes shutdown() quick.
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
        thread.start()
        servers.append((server, thread))
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for server, thread in servers:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def fake(tmp_path):
    """Tiny MNIST as .gz files in tmp_path/served, with its arrays and checksums."""
    arrays = fake_arrays()
    folder = write_fake_mnist(tmp_path / "served", arrays)
    return folder, arrays, checksums_of(arrays)


@pytest.fixture
def trickle():
    """trickle(head, body, interval) -> mirror URL of a server that answers every request
    with `head` at once, then `body` one byte every `interval` seconds."""
    stop = threading.Event()
    threads = []

    def drip(connection, head, body, interval):
        with connection:
            connection.recv(65536)  # the request
            try:
                connection.sendall(head)
                for byte in body:
                    if stop.wait(interval):
                        return
                    connection.sendall(bytes([byte]))
            except OSError:
                return  # the client hung up

    def start(head, body, interval):
        listener = socket.create_server(("127.0.0.1", 0))
        listener.settimeout(0.05)

        def accept():
            with listener:
                while not stop.is_set():
                    try:
                        connection, _ = listener.accept()
                    except TimeoutError:
                        continue
                    worker = threading.Thread(target=drip, args=(connection, head, body, interval), daemon=True)
                    worker.start()
                    threads.append(worker)

        thread = threading.Thread(target=accept, daemon=True)
        thread.start()
        threads.append(thread)
        return f"http://127.0.0.1:{listener.getsockname()[1]}/"

    yield start
    stop.set()
    for thread in list(threads):
        thread.join()


def slow_body_mirror(trickle, interval=0.02, length=400):
    """A mirror that sends its headers, then a byte every `interval` s: each read is well within
    the socket timeout, and the body ends (too short) after length * interval seconds."""
    head = b"HTTP/1.0 200 OK\r\nContent-Length: 100000\r\n\r\n"
    return trickle(head, bytes(length), interval)


def part_files(folder):
    return sorted(p.name for p in Path(folder).glob("*.part"))


# ---------------------------------------------------------------------------
# Loading from a folder, MNIST_DIR and the cache
# ---------------------------------------------------------------------------


def test_load_from_directory_argument(tmp_path):
    arrays = fake_arrays()
    folder = write_fake_mnist(tmp_path / "given", arrays)
    mnist = load_mnist(folder, download=False)
    assert_matches(mnist, arrays)
    assert mnist.train_images.shape == (N_TRAIN, 28, 28)
    assert mnist.test_labels.shape == (N_TEST,)
    assert str(folder) in mnist.source


def test_load_raw_and_mixed_files(tmp_path):
    arrays = fake_arrays()
    folder = write_fake_mnist(tmp_path / "raw", arrays, compress=False)
    (folder / "t10k-labels-idx1-ubyte").unlink()
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", arrays["t10k-labels-idx1-ubyte"], compress=True)
    assert_matches(load_mnist(folder), arrays)


def test_load_from_mnist_dir_env(tmp_path, monkeypatch):
    arrays = fake_arrays(seed=1)
    folder = write_fake_mnist(tmp_path / "env", arrays)
    monkeypatch.setenv("MNIST_DIR", str(folder))
    mnist = load_mnist()
    assert_matches(mnist, arrays)
    assert mnist.source == f"MNIST_DIR={folder}"
    assert data.find_mnist() == folder
    assert data.mnist_status() == f"MNIST found in MNIST_DIR={folder}"


def test_directory_argument_wins_over_mnist_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_DIR", str(write_fake_mnist(tmp_path / "env", fake_arrays(seed=1))))
    arrays = fake_arrays(seed=2)
    assert_matches(load_mnist(write_fake_mnist(tmp_path / "arg", arrays)), arrays)


def test_load_from_cache(tmp_path, monkeypatch):
    arrays = fake_arrays(seed=3)
    cache = write_fake_mnist(tmp_path / "my-cache", arrays)
    monkeypatch.setenv("MNIST_CACHE_DIR", str(cache))
    # Unreachable mirrors: the test fails if load_mnist tries to download.
    mnist = load_mnist(mirrors=[closed_port_url()])
    assert_matches(mnist, arrays)
    assert "cache" in mnist.source
    assert data.find_mnist() == cache
    assert data.mnist_status() == f"MNIST cached in {cache}"


def test_incomplete_mnist_dir_is_an_error_not_a_download(tmp_path, monkeypatch, serve, fake):
    served, _, checksums = fake
    partial = write_fake_mnist(tmp_path / "partial")
    (partial / "t10k-images-idx3-ubyte.gz").unlink()
    monkeypatch.setenv("MNIST_DIR", str(partial))

    with pytest.raises(DataError, match="MNIST_DIR") as info:
        load_mnist(mirrors=[serve(served)], checksums=checksums)
    assert "t10k-images-idx3-ubyte" in str(info.value)
    assert not data.cache_dir().exists()
    assert data.find_mnist() is None
    assert "t10k-images-idx3-ubyte" in data.mnist_status()


def test_incomplete_directory_argument(tmp_path):
    with pytest.raises(DataError, match="missing train-images-idx3-ubyte"):
        load_mnist(tmp_path / "does-not-exist")


def test_nothing_found_without_download(tmp_path):
    with pytest.raises(DataError) as info:
        load_mnist(download=False)
    message = str(info.value)
    assert "MNIST_DIR" in message and "python -m explorer.data download" in message
    assert data.find_mnist() is None
    assert data.mnist_status().startswith("MNIST not downloaded yet")


def test_corrupt_file_becomes_data_error(tmp_path):
    folder = write_fake_mnist(tmp_path / "bad")
    cut = folder / "train-images-idx3-ubyte.gz"
    cut.write_bytes(cut.read_bytes()[:-30])
    with pytest.raises(DataError, match="train-images-idx3-ubyte.gz") as info:
        load_mnist(folder)
    assert "download" in str(info.value)


def test_mismatched_counts_rejected(tmp_path):
    arrays = fake_arrays()
    arrays["train-labels-idx1-ubyte"] = arrays["train-labels-idx1-ubyte"][:-1]
    with pytest.raises(DataError, match="20 images but 19 labels"):
        load_mnist(write_fake_mnist(tmp_path / "f", arrays))


def test_labels_out_of_range_rejected(tmp_path):
    arrays = fake_arrays()
    arrays["t10k-labels-idx1-ubyte"][3] = 10
    with pytest.raises(DataError, match="0..9"):
        load_mnist(write_fake_mnist(tmp_path / "f", arrays))


def test_wrong_image_shape_rejected(tmp_path):
    arrays = fake_arrays()
    arrays["t10k-images-idx3-ubyte"] = np.zeros((N_TEST, 28 * 28), dtype=np.uint8)
    with pytest.raises(DataError, match=r"declares shape \(10, 784\); expected at most \(10000, 28, 28\)"):
        load_mnist(write_fake_mnist(tmp_path / "f", arrays))


def test_mnist_arrays_of_the_wrong_shape_rejected():
    arrays = fake_arrays()
    with pytest.raises(DataError, match=r"\(N, 28, 28\)"):
        data.MNIST(
            train_images=arrays["train-images-idx3-ubyte"].reshape(N_TRAIN, 784),
            train_labels=arrays["train-labels-idx1-ubyte"],
            test_images=arrays["t10k-images-idx3-ubyte"],
            test_labels=arrays["t10k-labels-idx1-ubyte"],
            source="test",
        )


def test_mnist_is_frozen(tmp_path):
    mnist = load_mnist(write_fake_mnist(tmp_path / "f"))
    with pytest.raises(AttributeError):
        mnist.source = "elsewhere"


def test_cache_dir_locations(tmp_path, monkeypatch):
    assert data.cache_dir() == tmp_path / "cache"
    monkeypatch.delenv("MNIST_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert data.cache_dir() == tmp_path / "xdg" / "mnist-explorer"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert data.cache_dir() == tmp_path / "home" / ".cache" / "mnist-explorer"
    assert data.mnist_status() == "MNIST not downloaded yet (it will be saved in ~/.cache/mnist-explorer)"


# ---------------------------------------------------------------------------
# Verifying checksums
# ---------------------------------------------------------------------------


def test_verify_mnist(tmp_path, fake):
    folder, _, checksums = fake
    results = data.verify_mnist(folder, checksums=checksums)
    assert [name for name, _, _ in results] == list(FILES)
    assert all(ok for _, ok, _ in results)

    write_idx(folder / "train-labels-idx1-ubyte.gz", np.zeros(N_TRAIN, dtype=np.uint8), compress=True)
    (folder / "t10k-images-idx3-ubyte.gz").unlink()
    status = {name: (ok, detail) for name, ok, detail in data.verify_mnist(folder, checksums=checksums)}
    assert status["train-images-idx3-ubyte"][0] is True
    assert status["train-labels-idx1-ubyte"][0] is False
    assert "mismatch" in status["train-labels-idx1-ubyte"][1]
    assert status["t10k-images-idx3-ubyte"][0] is False
    assert "missing" in status["t10k-images-idx3-ubyte"][1]


# ---------------------------------------------------------------------------
# Downloading
# ---------------------------------------------------------------------------


def test_download_into_cache(serve, fake):
    served, arrays, checksums = fake
    calls = []
    mnist = load_mnist(mirrors=[serve(served)], checksums=checksums, progress=lambda f, m: calls.append((f, m)))

    assert_matches(mnist, arrays)
    cache = data.cache_dir()
    assert sorted(os.listdir(cache)) == sorted(name + ".gz" for name in FILES)
    assert all(ok for _, ok, _ in data.verify_mnist(cache, checksums=checksums))

    fractions = [fraction for fraction, _ in calls]
    assert fractions[-1] == 1.0
    assert all(0.0 <= f <= 1.0 for f in fractions)
    assert fractions == sorted(fractions)  # a single mirror: the bar never goes back
    assert any("train-images-idx3-ubyte" in message for _, message in calls)


def test_second_load_uses_cache_without_network(serve, fake):
    served, arrays, checksums = fake
    load_mnist(mirrors=[serve(served)], checksums=checksums)
    assert_matches(load_mnist(mirrors=[closed_port_url()], checksums=checksums), arrays)


def test_checksum_mismatch_leaves_nothing_behind(serve, fake):
    served, _, checksums = fake
    wrong = dict(checksums, **{"train-images-idx3-ubyte": "0" * 64})
    with pytest.raises(DataError, match="checksum mismatch") as info:
        load_mnist(mirrors=[serve(served)], checksums=wrong)
    assert "train-images-idx3-ubyte" in str(info.value)
    assert os.listdir(data.cache_dir()) == []


def test_bad_gzip_from_mirror_tries_next(tmp_path, serve, fake):
    served, arrays, checksums = fake
    broken = shutil.copytree(served, tmp_path / "broken")
    cut = broken / "t10k-labels-idx1-ubyte.gz"
    cut.write_bytes(cut.read_bytes()[:-12])

    calls = []
    mnist = load_mnist(
        mirrors=[serve(broken), serve(served)], checksums=checksums, progress=lambda f, m: calls.append(f)
    )
    assert_matches(mnist, arrays)
    assert calls[-1] == 1.0
    assert sorted(os.listdir(data.cache_dir())) == sorted(name + ".gz" for name in FILES)


def test_first_mirror_down_second_works(serve, fake):
    served, arrays, checksums = fake
    mnist = load_mnist(mirrors=[closed_port_url(), serve(served)], checksums=checksums)
    assert_matches(mnist, arrays)


def test_missing_file_on_mirror_falls_back(tmp_path, serve, fake):
    served, arrays, checksums = fake
    empty_mirror = tmp_path / "empty-mirror"
    empty_mirror.mkdir()
    assert_matches(load_mnist(mirrors=[serve(empty_mirror), serve(served)], checksums=checksums), arrays)


def test_all_mirrors_down(tmp_path, serve, fake):
    _, _, checksums = fake
    empty_mirror = tmp_path / "empty-mirror"
    empty_mirror.mkdir()
    with pytest.raises(DataError) as info:
        load_mnist(mirrors=[closed_port_url(), serve(empty_mirror)], checksums=checksums)
    message = str(info.value)
    assert "MNIST_DIR" in message
    assert "python -m explorer.data download" in message
    assert "cannot connect" in message and "HTTP 404" in message
    assert os.listdir(data.cache_dir()) == []


def test_timeout_is_a_failure(tmp_path, monkeypatch, fake):
    _, _, checksums = fake
    monkeypatch.setattr(data, "DOWNLOAD_TIMEOUT", 0.2)
    # A socket that listens but never answers: the request times out.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/"
        with pytest.raises(DataError, match="timed out"):
            load_mnist(mirrors=[url], checksums=checksums)
    assert os.listdir(data.cache_dir()) == []


def test_download_keeps_good_files_and_replaces_bad_ones(tmp_path, serve, fake):
    served, arrays, checksums = fake
    target = write_fake_mnist(tmp_path / "target", arrays)
    write_idx(target / "train-labels-idx1-ubyte.gz", np.zeros(N_TRAIN, dtype=np.uint8), compress=True)
    (target / "t10k-images-idx3-ubyte.gz").unlink()
    before = (target / "train-images-idx3-ubyte.gz").stat().st_mtime_ns

    data.download_mnist(target, mirrors=[serve(served)], checksums=checksums)

    assert all(ok for _, ok, _ in data.verify_mnist(target, checksums=checksums))
    assert (target / "train-images-idx3-ubyte.gz").stat().st_mtime_ns == before


def test_slow_body_hits_the_deadline(trickle, fake):
    url = slow_body_mirror(trickle)
    with pytest.raises(DataError) as info:
        load_mnist(mirrors=[url], checksums=fake[2], deadline=0.5)
    message = str(info.value)
    assert "did not finish within 0.5 s" in message and "127.0.0.1" in message
    assert "MNIST_DOWNLOAD_DEADLINE" in message
    assert os.listdir(data.cache_dir()) == []


def test_slow_headers_hit_the_deadline(trickle, fake):
    response = b"HTTP/1.0 200 OK\r\nX-Padding: " + b"a" * 400 + b"\r\n\r\n"
    url = trickle(b"", response, 0.02)
    with pytest.raises(DataError, match="did not finish within 0.3 s"):
        load_mnist(mirrors=[url], checksums=fake[2], deadline=0.3)
    assert os.listdir(data.cache_dir()) == []


def test_deadline_from_the_environment(monkeypatch, trickle, fake):
    monkeypatch.setenv("MNIST_DOWNLOAD_DEADLINE", "0.4")
    with pytest.raises(DataError, match="did not finish within 0.4 s"):
        load_mnist(mirrors=[slow_body_mirror(trickle)], checksums=fake[2])


@pytest.mark.parametrize("value", ["soon", "0", "-5", "nan", "inf"])
def test_bad_deadline_in_the_environment_is_a_clear_error(monkeypatch, serve, fake, value):
    served, _, checksums = fake
    monkeypatch.setenv("MNIST_DOWNLOAD_DEADLINE", value)
    with pytest.raises(DataError, match="seconds"):
        load_mnist(mirrors=[serve(served)], checksums=checksums)


def test_a_generous_deadline_lets_a_download_finish(serve, fake):
    served, arrays, checksums = fake
    assert_matches(load_mnist(mirrors=[serve(served)], checksums=checksums, deadline=60), arrays)


def test_connection_closed_early_is_a_failure(trickle, fake):
    url = slow_body_mirror(trickle, interval=0.0, length=10)
    with pytest.raises(DataError, match="closed after 10 of 100,000 bytes"):
        load_mnist(mirrors=[url], checksums=fake[2])
    assert os.listdir(data.cache_dir()) == []


def test_oversized_download_is_cut_short(tmp_path, serve, fake):
    served, arrays, checksums = fake
    huge = shutil.copytree(served, tmp_path / "huge")
    # Labels are at most 10,000 bytes: 200 KB of random data cannot be them.
    (huge / "t10k-labels-idx1-ubyte.gz").write_bytes(np.random.default_rng(0).bytes(200_000))
    with pytest.raises(DataError, match="too much for this file"):
        load_mnist(mirrors=[serve(huge)], checksums=checksums)
    assert part_files(data.cache_dir()) == []


def test_stale_part_files_are_removed_young_ones_kept(tmp_path, serve, fake):
    served, arrays, checksums = fake
    target = tmp_path / "target"
    target.mkdir()
    stale = target / ".train-images-idx3-ubyte.gz.abc123.part"
    young = target / ".t10k-labels-idx1-ubyte.gz.def456.part"
    unrelated = target / "notes.part"
    for path in (stale, young, unrelated):
        path.write_bytes(b"partial")
    an_hour_ago = time.time() - 3600
    os.utime(stale, (an_hour_ago, an_hour_ago))

    data.download_mnist(target, mirrors=[serve(served)], checksums=checksums, deadline=60)
    assert part_files(target) == sorted([young.name, unrelated.name])


def run_download_cli(target, url, checksums):
    """`python -m explorer.data download` in a child process, mirrors and checksums swapped."""
    code = (
        "import sys\n"
        "from explorer.cli import data as cli\n"
        "from explorer.data import mnist\n"
        f"mnist.MIRRORS = ({url!r},)\n"
        f"mnist.CHECKSUMS = {dict(checksums)!r}\n"
        f"sys.exit(cli.main(['download', '--dir', {str(target)!r}]))\n"
    )
    root = Path(data.__file__).parents[2]
    return subprocess.Popen(
        [sys.executable, "-c", code], cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def wait_for(condition, what, seconds=30):
    end = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > end:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.02)


@pytest.mark.parametrize(
    "signal_number, exit_code, note",
    [(signal.SIGTERM, 128 + signal.SIGTERM, "stopped"), (signal.SIGINT, 130, "interrupted")],
)
def test_a_stopped_download_leaves_no_part_file(tmp_path, trickle, fake, signal_number, exit_code, note):
    target = tmp_path / "target"
    child = run_download_cli(target, slow_body_mirror(trickle, interval=0.05, length=2000), fake[2])
    try:
        wait_for(lambda: target.is_dir() and part_files(target), "the download to start")
        child.send_signal(signal_number)
        _, err = child.communicate(timeout=30)
    finally:
        child.kill()
        child.wait()
    assert child.returncode == exit_code
    assert note in err and "Traceback" not in err
    assert os.listdir(target) == []


def test_part_file_of_a_download_thread_is_removed_at_exit(tmp_path, trickle, fake):
    """A download in a daemon thread (as in the app) is cut short when the program exits:
    no `finally` runs there, so an atexit handler removes its .part file."""
    target = tmp_path / "target"
    url = slow_body_mirror(trickle, interval=0.05, length=2000)
    code = (
        "import threading, time, pathlib\n"
        "from explorer.data import mnist as data\n"
        f"target = pathlib.Path({str(target)!r})\n"
        f"args = dict(mirrors=[{url!r}], checksums={dict(fake[2])!r})\n"
        "threading.Thread(target=data.download_mnist, args=(target,), kwargs=args, daemon=True).start()\n"
        "while not list(target.glob('*.part')):\n"
        "    time.sleep(0.02)\n"
    )
    root = Path(data.__file__).parents[2]
    finished = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=60)
    assert finished.returncode == 0, finished.stderr
    assert os.listdir(target) == []


# ---------------------------------------------------------------------------
# Local files that inflate to far more than MNIST
# ---------------------------------------------------------------------------


def gzip_bomb(shape, megabytes):
    """A small .gz: an IDX header for `shape`, then `megabytes` MB of zeros."""
    header = bytes([0, 0, 8, len(shape)]) + b"".join(int(n).to_bytes(4, "big") for n in shape)
    zeros = bytes(1 << 20)
    return gzip.compress(header + zeros) + gzip.compress(zeros) * (megabytes - 1)


def test_gzip_bomb_in_a_folder_is_refused_with_little_memory(tmp_path):
    folder = write_fake_mnist(tmp_path / "bomb")
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip_bomb((N_TEST,), megabytes=200))
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz' has unexpected trailing bytes"):
            load_mnist(folder)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20  # inflating it would take 200 MB


def test_file_declaring_more_images_than_mnist_is_refused(tmp_path):
    folder = write_fake_mnist(tmp_path / "big")
    (folder / "t10k-images-idx3-ubyte.gz").write_bytes(gzip_bomb((20000, 28, 28), megabytes=1))
    with pytest.raises(DataError, match=r"declares shape \(20000, 28, 28\); expected at most \(10000, 28, 28\)"):
        load_mnist(folder)


def test_verify_stops_hashing_a_gzip_bomb(tmp_path, fake):
    folder, _, checksums = fake
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip_bomb((N_TEST,), megabytes=50))
    status = {name: (ok, detail) for name, ok, detail in data.verify_mnist(folder, checksums=checksums)}
    assert status["t10k-labels-idx1-ubyte"] == (False, "t10k-labels-idx1-ubyte.gz holds more data than this MNIST file can")
    assert status["t10k-images-idx3-ubyte"][0] is True


# ---------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------


def test_cli_verify(monkeypatch, capsys, fake):
    folder, _, checksums = fake
    monkeypatch.setattr(data, "CHECKSUMS", checksums)
    assert cli.main(["verify", "--dir", str(folder)]) == 0
    assert capsys.readouterr().out.count("OK ") == 4

    write_idx(folder / "t10k-labels-idx1-ubyte.gz", np.ones(N_TEST, dtype=np.uint8), compress=True)
    assert cli.main(["verify", "--dir", str(folder)]) == 1
    out = capsys.readouterr().out
    assert out.count("OK ") == 3 and "BAD t10k-labels-idx1-ubyte" in out


def test_cli_verify_uses_mnist_dir(monkeypatch, capsys, fake):
    folder, _, checksums = fake
    monkeypatch.setattr(data, "CHECKSUMS", checksums)
    monkeypatch.setenv("MNIST_DIR", str(folder))
    assert cli.main(["verify"]) == 0


def test_cli_verify_nothing_found(capsys):
    assert cli.main(["verify"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "MNIST_DIR" in err


def test_cli_download(tmp_path, monkeypatch, capsys, serve, fake):
    served, arrays, checksums = fake
    monkeypatch.setattr(data, "MIRRORS", (serve(served),))
    monkeypatch.setattr(data, "CHECKSUMS", checksums)
    target = tmp_path / "downloaded"

    assert cli.main(["download", "--dir", str(target)]) == 0
    captured = capsys.readouterr()
    assert str(target) in captured.out
    assert "100.0%" in captured.err
    assert_matches(load_mnist(target), arrays)


def test_cli_download_failure_is_one_line(tmp_path, monkeypatch, capsys, fake):
    monkeypatch.setattr(data, "MIRRORS", (closed_port_url(),))
    monkeypatch.setattr(data, "CHECKSUMS", fake[2])
    assert cli.main(["download", "--dir", str(tmp_path / "target")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: Could not download") and err.count("\n") == 1
    assert "MNIST_DIR" in err
    assert os.listdir(tmp_path / "target") == []


def test_cli_error_after_progress_gets_its_own_line(tmp_path, monkeypatch, capsys, serve, fake):
    served, _, checksums = fake
    monkeypatch.setattr(data, "MIRRORS", (serve(served),))
    monkeypatch.setattr(data, "CHECKSUMS", dict(checksums, **{"t10k-images-idx3-ubyte": "0" * 64}))
    assert cli.main(["download", "--dir", str(tmp_path / "target")]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.splitlines()[-1].startswith("error: Could not download MNIST file t10k-images-idx3-ubyte.gz")
    # The two files before it were verified and kept; the bad one left nothing behind.
    assert sorted(os.listdir(tmp_path / "target")) == ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"]


def test_data_modules_do_not_import_streamlit():
    code = "import sys, explorer.data.mnist; sys.exit('streamlit' in sys.modules)"
    root = Path(data.__file__).parents[2]
    assert subprocess.run([sys.executable, "-c", code], cwd=root).returncode == 0


# ---------------------------------------------------------------------------
# The real data set (only where MNIST_DIR is set; required on CI)
# ---------------------------------------------------------------------------


def require_real_mnist_dir():
    """The real MNIST folder; skip without it, except on CI where it must be set."""
    if not REAL_MNIST_DIR:
        if os.environ.get("CI") == "true":
            pytest.fail("MNIST_DIR must point at the full MNIST data set on CI")
        pytest.skip("MNIST_DIR not set")
    return Path(REAL_MNIST_DIR)


@pytest.mark.mnist
def test_real_mnist(monkeypatch):
    real_dir = require_real_mnist_dir()
    monkeypatch.setenv("MNIST_DIR", str(real_dir))
    mnist = load_mnist(download=False)
    assert mnist.train_images.shape == (60000, 28, 28)
    assert mnist.train_labels.shape == (60000,)
    assert mnist.test_images.shape == (10000, 28, 28)
    assert mnist.test_labels.shape == (10000,)
    for array in (mnist.train_images, mnist.train_labels, mnist.test_images, mnist.test_labels):
        assert array.dtype == np.uint8
    assert set(np.unique(mnist.test_labels)) == set(range(10))
    results = data.verify_mnist(real_dir)
    assert all(ok for _, ok, _ in results), results


def test_cli_deadline_option(tmp_path, monkeypatch, capsys, trickle, fake):
    monkeypatch.setattr(data, "MIRRORS", (slow_body_mirror(trickle),))
    monkeypatch.setattr(data, "CHECKSUMS", fake[2])
    handler_before = signal.getsignal(signal.SIGTERM)
    assert cli.main(["download", "--dir", str(tmp_path / "target"), "--deadline", "0.3"]) == 1
    err = capsys.readouterr().err
    assert err.splitlines()[-1].startswith("error: The MNIST download did not finish within 0.3 s")
    assert "Traceback" not in err
    assert os.listdir(tmp_path / "target") == []
    assert signal.getsignal(signal.SIGTERM) == handler_before  # main put the handler back
