"""Shared fixtures.

Helpers are handed out as fixtures (not imported from this file), because the tests folders
are not packages and every conftest.py would be the module `conftest`.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def _require(condition: object, reason: str) -> None:
    """Skip the test when `condition` is false, on a bare machine; fail it under CI=true,
    where .ci/run has installed everything and a skip would hide a broken setup."""
    if condition:
        return
    if in_ci():
        pytest.fail(f"CI=true, but a test requirement is missing: {reason}", pytrace=False)
    pytest.skip(reason)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests first, the cold start (five fresh servers, one of the longest files) first of all.

    The two workers take whole files in this order (pytest.ini: --dist loadfile,
    --no-loadscope-reorder): the long browser files start early, and the many short files fill
    in at the end, so both workers finish together. xdist's own order (most tests first) left the
    cold start for last on one worker, two minutes after the other had finished."""
    def weight(item: pytest.Item) -> int:
        if item.path.name == "test_cold_start.py":
            return 0
        return 1 if item.get_closest_marker("browser") else 2

    items.sort(key=weight)  # stable: within a weight, files and their tests keep their order


@pytest.fixture(scope="session")
def require() -> Callable[[object, str], None]:
    """`require(condition, reason)`: skip (or, under CI=true, fail) unless `condition` holds."""
    return _require


@pytest.fixture(params=["full convolution", "col2im"])
def input_gradient_method(request, monkeypatch) -> str:
    """A stride-1 convolution computes dL/dx one of two ways, chosen by its input's channel
    count (explorer.nn.conv.FEW_CHANNELS): a test that takes this fixture runs with each."""
    import explorer.nn.conv

    few_channels = 0 if request.param == "full convolution" else 1 << 30
    monkeypatch.setattr(explorer.nn.conv, "FEW_CHANNELS", few_channels)
    return request.param


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def mnist_dir(require) -> Path:
    """The full MNIST (the four IDX files, gzipped or not) from env MNIST_DIR; .ci/run sets it."""
    raw = os.environ.get("MNIST_DIR", "")
    require(raw, "env MNIST_DIR is not set (the folder with MNIST's four IDX files)")
    path = Path(raw)
    for stem in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        require((path / stem).is_file() or (path / f"{stem}.gz").is_file(),
                f"MNIST_DIR={raw} has no {stem}[.gz]")
    return path


@pytest.fixture(scope="session")
def mnist(mnist_dir):
    """The full MNIST, loaded once for the whole run (uint8 arrays, as the app holds them)."""
    from explorer.data.mnist import load_directory

    return load_directory(mnist_dir)


# --- a real `streamlit run` server -----------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url: str, timeout: float = 5.0) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return resp.status, resp.read().decode("utf-8", "replace")


@dataclass
class StreamlitServer:
    url: str  # e.g. http://127.0.0.1:PORT (no trailing slash)
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@contextlib.contextmanager
def run_streamlit(log_path: Path, *, timeout: float = 60.0) -> Iterator[StreamlitServer]:
    """Start the app as the README does (`streamlit run explorer/Home.py`, from the repo root),
    wait until /_stcore/health answers "ok", and stop it on exit."""
    port = free_port()
    # `-P` keeps python from putting the working directory on sys.path, as the `streamlit`
    # console script does not: the app must find `explorer` by itself (see explorer/Home.py).
    cmd = [sys.executable, "-P", "-m", "streamlit", "run", "explorer/Home.py",
           "--server.headless", "true", "--server.address", "127.0.0.1",
           "--server.port", str(port), "--browser.gatherUsageStats", "false"]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # MNIST_DIR passes through
    url = f"http://127.0.0.1:{port}"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    server = StreamlitServer(url, proc, log_path)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with code {proc.returncode}:\n{server.log()}")
            try:
                if http_get(f"{url}/_stcore/health", timeout=2) == (200, "ok"):
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"streamlit not healthy after {timeout:.0f} s:\n{server.log()}")
            time.sleep(0.25)
        yield server
    finally:
        _stop(proc)


@pytest.fixture(scope="session")
def streamlit_server(tmp_path_factory):
    """Factory: `with streamlit_server() as server:` runs the app (see run_streamlit)."""
    def start(timeout: float = 60.0):
        return run_streamlit(tmp_path_factory.mktemp("streamlit") / "server.log", timeout=timeout)
    return start
