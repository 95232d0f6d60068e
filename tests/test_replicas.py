"""Replicas behind HAProxy (deploy/): a session's page, websocket and images all come from one replica.

Starts 2 app processes and HAProxy on loopback ports (deploy.replicas), then talks to the proxy as
browsers do, with the websocket client of benchmarks/classroom.py. Needs /usr/sbin/haproxy
(skipped without it; .ci/run installs it, and under CI=true a missing HAProxy fails the test).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import importlib.util
import socket
import sys
from pathlib import Path

import pytest

from deploy import replicas as deploy

REPO_ROOT = Path(__file__).resolve().parents[1]
SESSIONS = 4


def load_classroom():
    """benchmarks/classroom.py as a module (benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location("benchmarks_classroom", REPO_ROOT / "benchmarks" / "classroom.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return module


classroom = load_classroom()


def free_ports(count: int) -> list[int]:
    with contextlib.ExitStack() as stack:  # all held open at once, so they differ
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]


@pytest.fixture(scope="module")
def haproxy_installed(require) -> None:
    require(Path(deploy.HAPROXY).is_file(), f"HAProxy is not installed ({deploy.HAPROXY}): apt-get install haproxy")


@pytest.fixture
def deployment(haproxy_installed, tmp_path):
    proxy_port, *replica_ports = free_ports(3)
    with deploy.start(2, proxy_port, replica_ports=replica_ports, state_dir=tmp_path, timeout=90) as running:
        yield running  # leaving the `with` stops all three processes, also when a test failed


def test_the_config_names_every_replica_with_its_cookie():
    config = deploy.haproxy_config([deploy.Replica("r1", 9001), deploy.Replica("r2", 9002)], 9000, "0.0.0.0")
    assert "bind 0.0.0.0:9000" in config
    assert "server r1 127.0.0.1:9001 cookie r1" in config and "server r2 127.0.0.1:9002 cookie r2" in config
    assert f"cookie {deploy.COOKIE_NAME} insert" in config
    assert "$" not in config, "a placeholder of the template was left unfilled"


def test_each_replica_keeps_its_blas_to_its_share_of_the_cores(monkeypatch, tmp_path):
    monkeypatch.setattr(deploy, "usable_cores", lambda: 8)
    assert [deploy.blas_threads(n) for n in (1, 2, 3, 8, 16)] == [8, 4, 2, 1, 1]
    spawned = {}
    monkeypatch.setattr(deploy, "_spawn", lambda cmd, env, log: spawned.update(env) or object())
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    deploy.start_replica(deploy.Replica("r1", 9001), "secret", tmp_path, threads=4)
    assert spawned["OPENBLAS_NUM_THREADS"] == "4" and spawned["STREAMLIT_SERVER_COOKIE_SECRET"] == "secret"
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")  # the operator's own choice wins
    deploy.start_replica(deploy.Replica("r1", 9001), "secret", tmp_path, threads=4)
    assert spawned["OPENBLAS_NUM_THREADS"] == "2"


def get_image(url: str, image_path: str, cookie: str) -> "classroom.HttpAnswer":
    return classroom.http_get(f"{url}{image_path}", cookie=cookie)


async def class_on_the_proxy(url: str, replica_names: list[str]) -> tuple[list, list, dict]:
    """SESSIONS sessions, one after the other: GET the page (the proxy sets its cookie), open the
    websocket with that cookie, run Home, fetch Home's images with the cookie, and run Home again
    (which needs the session's state on the server). Returns the sessions, the answers for the
    first session's images asked of the other replica before any session opened there, and each
    session's image answers."""
    sessions = [classroom.Session(number, url) for number in range(SESSIONS)]
    elsewhere, images = [], {}
    try:
        for session in sessions:
            await session.load_page()
            await session.connect()
            await session.rerun(page_name="")
            paths = list(dict.fromkeys(session.media))
            if session.number == 0:  # no session on the other replica yet: its images are not there
                other = next(name for name in replica_names if name != session.replica)
                elsewhere = [get_image(url, path, f"{deploy.COOKIE_NAME}={other}") for path in paths]
            images[session.number] = [(path, get_image(url, path, session.cookie)) for path in paths]
            await session.rerun()
    finally:
        await asyncio.gather(*(s.close() for s in sessions), return_exceptions=True)
    return sessions, elsewhere, images


def run_in_a_fresh_loop(coroutine):
    """asyncio.run in a thread of its own: Playwright's sync API (the browser tests) leaves an
    event loop running in the main thread for the rest of the pytest session."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def test_each_session_stays_on_the_replica_that_served_its_page(deployment):
    names = [r.name for r in deployment.replicas]
    sessions, elsewhere, images = run_in_a_fresh_loop(class_on_the_proxy(deployment.url, names))

    for s in sessions:
        assert s.replica in names, f"session {s.number}: the page came without an X-Replica header"
        assert f"{deploy.COOKIE_NAME}={s.replica}" in s.cookie, f"session {s.number}: no sticky cookie ({s.cookie!r})"
        assert s.ws_replica == s.replica, f"session {s.number}: websocket on {s.ws_replica}, page on {s.replica}"
        assert not s.exceptions and not s.closed_error, f"session {s.number}: {s.exceptions or s.closed_error}"
        assert images[s.number], f"session {s.number}: Home showed no image (its page cards have thumbnails)"
        for path, answer in images[s.number]:
            assert (answer.status, answer.replica) == (200, s.replica), f"session {s.number} on {s.replica}: {path}"
    assert set(s.replica for s in sessions) == set(names), "round robin spreads new browsers over both replicas"
    # What the cookie prevents: an image asked of a replica that did not make it is not there.
    assert elsewhere and all(answer.status == 404 for answer in elsewhere), elsewhere


def test_stop_ends_every_process(haproxy_installed, tmp_path):
    proxy_port, replica_port = free_ports(2)
    running = deploy.start(1, proxy_port, replica_ports=[replica_port], state_dir=tmp_path, timeout=90)
    try:
        pids = running.pids()
        assert len(pids) == 2 and deploy.healthy(running.url)
    finally:
        deploy.stop(state_dir=tmp_path)  # as `python -m deploy.replicas stop` does: from the state file
    assert not any(Path(f"/proc/{pid}/cmdline").exists() and Path(f"/proc/{pid}/cmdline").read_bytes() for pid in pids)
    assert not deploy.healthy(running.url)
