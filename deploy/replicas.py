"""Run N replicas of the app behind HAProxy, on this machine.

    python -m deploy.replicas start --replicas 2 --port 8600    # returns once all are healthy
    python -m deploy.replicas status --port 8600
    python -m deploy.replicas stop --port 8600
    python -m deploy.replicas run --replicas 2 --port 8600      # in the foreground; Ctrl-C stops all

Each replica is `streamlit run explorer/Home.py` on its own loopback port (the proxy port + 1,
+ 2, ...), all with the same cookie secret; HAProxy listens on --port and keeps each browser on
the replica that served its first request (a cookie), because a Streamlit session lives in one
process. The HAProxy config (from deploy/haproxy.cfg.template), the logs and the process ids go
to a state folder, $TMPDIR/mnist-explorer-replicas-PORT, which `stop` reads.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

from explorer.nn.machine import usable_cores  # the cores a container's limit allows

REPO_ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = Path(__file__).with_name("haproxy.cfg.template")
HAPROXY = "/usr/sbin/haproxy"
COOKIE_NAME = "EXPLORER_REPLICA"


class DeployError(RuntimeError):
    """Something the person starting the deployment can fix: the message says what."""


@dataclass
class Replica:
    name: str  # HAProxy's server name, also the value of the sticky cookie
    port: int
    pid: int = 0
    log: str = ""


@dataclass
class Deployment:
    proxy_port: int
    bind_address: str
    state_dir: str
    replicas: list[Replica] = field(default_factory=list)
    haproxy_pid: int = 0

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.bind_address in ("0.0.0.0", "") else self.bind_address
        return f"http://{host}:{self.proxy_port}"

    def pids(self) -> list[int]:
        return [r.pid for r in self.replicas if r.pid] + ([self.haproxy_pid] if self.haproxy_pid else [])

    def save(self) -> None:
        Path(self.state_dir, "state.json").write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, state_dir: Path) -> "Deployment":
        raw = json.loads((state_dir / "state.json").read_text())
        raw["replicas"] = [Replica(**r) for r in raw["replicas"]]
        return cls(**raw)

    def stop(self) -> None:
        stop_processes(self.pids())
        self.replicas = [Replica(r.name, r.port, log=r.log) for r in self.replicas]
        self.haproxy_pid = 0
        self.save()

    def __enter__(self) -> "Deployment":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def default_state_dir(proxy_port: int) -> Path:
    return Path(tempfile.gettempdir()) / f"mnist-explorer-replicas-{proxy_port}"


# --- the HAProxy config -------------------------------------------------------------------------


def ports_in_use(ports: list[int], address: str = "127.0.0.1") -> list[int]:
    """The ports something already listens on (another server there would answer our health checks)."""
    busy = []
    for port in ports:
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers do: TIME_WAIT is no obstacle
            try:
                s.bind((address, port))
            except OSError:
                busy.append(port)
    return busy


def haproxy_config(replicas: list[Replica], proxy_port: int, bind_address: str = "127.0.0.1") -> str:
    """deploy/haproxy.cfg.template with this deployment's ports and servers filled in."""
    server_lines = "\n".join(f"    server {r.name} 127.0.0.1:{r.port} cookie {r.name}" for r in replicas)
    return string.Template(TEMPLATE.read_text()).substitute(
        bind_address=bind_address, proxy_port=proxy_port, cookie_name=COOKIE_NAME, server_lines=server_lines
    )


def check_config(path: Path) -> None:
    """Let HAProxy validate the config before anything starts (`haproxy -c`)."""
    result = subprocess.run([HAPROXY, "-c", "-q", "-f", str(path)], capture_output=True, text=True)
    if result.returncode != 0:
        raise DeployError(f"HAProxy rejects {path}:\n{result.stdout}{result.stderr}")


# --- processes ----------------------------------------------------------------------------------


def blas_threads(replicas: int) -> int:
    """Each replica's share of the cores for OpenBLAS. Its idle threads spin a while waiting for
    work: with two replicas on two cores and two BLAS threads each, the spinning threads took the
    cores from the other replica's Python (a cold start of 30 sessions: p95 11 s, against 5.7 s
    with one thread each)."""
    return max(1, usable_cores() // replicas)


def start_replica(replica: Replica, cookie_secret: str, state_dir: Path, threads: int = 1) -> subprocess.Popen:
    cmd = [sys.executable, "-P", "-m", "streamlit", "run", "explorer/Home.py",
           "--server.headless", "true", "--server.address", "127.0.0.1", "--server.port", str(replica.port),
           "--browser.gatherUsageStats", "false"]  # fmt: skip
    # The secret goes through the environment, not the command line (which `ps` shows to everyone).
    # The same secret on every replica: a cookie Streamlit signs in one replica is valid in all.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["STREAMLIT_SERVER_COOKIE_SECRET"] = cookie_secret
    env.setdefault("OPENBLAS_NUM_THREADS", str(threads))
    replica.log = str(state_dir / f"{replica.name}.log")
    return _spawn(cmd, env, Path(replica.log))


def start_haproxy(config: Path, state_dir: Path) -> subprocess.Popen:
    # -db: stay in the foreground (no daemon), so the pid we record is HAProxy's own.
    return _spawn([HAPROXY, "-db", "-f", str(config)], dict(os.environ), state_dir / "haproxy.log")


def _spawn(cmd: list[str], env: dict, log_path: Path) -> subprocess.Popen:
    with open(log_path, "wb") as log:
        # A new session: the processes outlive `start` and ignore a Ctrl-C typed in its terminal.
        return subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)  # fmt: skip


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.status == 200 and response.read() == b"ok"
    except OSError:
        return False


def wait_healthy(processes: dict[str, tuple[subprocess.Popen, str]], timeout: float) -> None:
    """Wait until every process (name -> (process, base URL)) answers its health check."""
    deadline = time.monotonic() + timeout
    waiting = dict(processes)
    while waiting:
        for name, (process, url) in list(waiting.items()):
            if process.poll() is not None:
                raise DeployError(f"{name} exited with code {process.returncode}: see its log")
            if healthy(url):
                del waiting[name]
        if waiting and time.monotonic() > deadline:
            raise DeployError(f"not healthy after {timeout:.0f} s: {', '.join(sorted(waiting))}")
        time.sleep(0.3)


def _is_ours(pid: int) -> bool:
    """True while `pid` is a streamlit or haproxy process (a recycled pid must not be signalled)."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"streamlit" in command or b"haproxy" in command


def stop_processes(pids: list[int], timeout: float = 15.0) -> None:
    """SIGTERM each process, then SIGKILL what is still there after `timeout` seconds."""
    alive = [pid for pid in pids if _is_ours(pid)]
    for pid in alive:
        _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while alive and time.monotonic() < deadline:
        _reap(alive)
        alive = [pid for pid in alive if _is_ours(pid)]  # a zombie's cmdline is empty: not ours
        time.sleep(0.2)
    for pid in alive:
        _signal(pid, signal.SIGKILL)
    _reap(alive)


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _reap(pids: list[int]) -> None:
    """Collect our own children that exited (else they linger as zombies until we exit)."""
    for pid in pids:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:  # not our child (started by another `start`): nothing to collect
            pass


# --- start / stop -------------------------------------------------------------------------------


def start(replicas: int = 2, proxy_port: int = 8600, *, bind_address: str = "127.0.0.1",
          replica_ports: list[int] | None = None, cookie_secret: str | None = None,
          state_dir: Path | None = None, timeout: float = 120.0) -> Deployment:  # fmt: skip
    """Start `replicas` app processes and HAProxy in front of them; return once all are healthy.
    Replica i listens on 127.0.0.1:proxy_port+i unless `replica_ports` says otherwise."""
    if not Path(HAPROXY).is_file():
        raise DeployError(f"HAProxy is not installed ({HAPROXY}): apt-get install haproxy")
    if replicas < 1:
        raise DeployError("--replicas must be at least 1")
    ports = replica_ports or [proxy_port + i for i in range(1, replicas + 1)]
    if len(ports) != replicas:
        raise DeployError(f"{replicas} replicas need {replicas} ports, got {len(ports)}")
    state_dir = Path(state_dir or default_state_dir(proxy_port))
    state_dir.mkdir(parents=True, exist_ok=True)
    if (state_dir / "state.json").exists() and any(_is_ours(p) for p in Deployment.load(state_dir).pids()):
        raise DeployError(f"a deployment is already running from {state_dir}: stop it first")

    busy = ports_in_use(ports) + ports_in_use([proxy_port], bind_address)
    if busy:
        raise DeployError(f"port(s) {', '.join(map(str, busy))} already in use: choose another --port")
    deployment = Deployment(proxy_port, bind_address, str(state_dir),
                            [Replica(f"r{i + 1}", port) for i, port in enumerate(ports)])  # fmt: skip
    config = state_dir / "haproxy.cfg"
    config.write_text(haproxy_config(deployment.replicas, proxy_port, bind_address))
    check_config(config)
    secret = cookie_secret or os.environ.get("STREAMLIT_SERVER_COOKIE_SECRET") or secrets.token_hex(32)
    try:
        processes = {}
        for replica in deployment.replicas:
            process = start_replica(replica, secret, state_dir, blas_threads(replicas))
            replica.pid = process.pid
            processes[f"replica {replica.name} (log {replica.log})"] = (process, f"http://127.0.0.1:{replica.port}")
        deployment.save()
        wait_healthy(processes, timeout)
        proxy = start_haproxy(config, state_dir)
        deployment.haproxy_pid = proxy.pid
        deployment.save()
        wait_healthy({f"haproxy (log {state_dir / 'haproxy.log'})": (proxy, deployment.url)}, 30)
    except BaseException:
        deployment.stop()
        raise
    return deployment


def stop(proxy_port: int = 8600, state_dir: Path | None = None) -> Deployment:
    state_dir = Path(state_dir or default_state_dir(proxy_port))
    if not (state_dir / "state.json").exists():
        raise DeployError(f"no deployment found in {state_dir}")
    deployment = Deployment.load(state_dir)
    deployment.stop()
    return deployment


def status_lines(deployment: Deployment) -> list[str]:
    lines = [f"proxy {deployment.url}: {'up' if healthy(deployment.url) else 'DOWN'} (pid {deployment.haproxy_pid})"]
    for r in deployment.replicas:
        state = "up" if healthy(f"http://127.0.0.1:{r.port}") else "DOWN"
        lines.append(f"replica {r.name} 127.0.0.1:{r.port}: {state} (pid {r.pid}, log {r.log})")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["start", "stop", "status", "run"])
    parser.add_argument("--replicas", type=int, default=2, help="how many app processes (about one per core)")
    parser.add_argument("--port", type=int, default=8600, help="HAProxy's port; replicas use the next ports")
    parser.add_argument("--bind", default="127.0.0.1", help="HAProxy's address; 0.0.0.0 to serve a classroom LAN")
    parser.add_argument("--state-dir", type=Path, help="where config, logs and pids go")
    args = parser.parse_args(argv)
    try:
        if args.command == "stop":
            deployment = stop(args.port, args.state_dir)
            print(f"stopped the deployment of {deployment.state_dir}")
            return 0
        if args.command == "status":
            state_dir = args.state_dir or default_state_dir(args.port)
            if not (state_dir / "state.json").exists():
                raise DeployError(f"no deployment found in {state_dir}")
            print("\n".join(status_lines(Deployment.load(state_dir))))
            return 0
        deployment = start(args.replicas, args.port, bind_address=args.bind, state_dir=args.state_dir)
    except DeployError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print("\n".join(status_lines(deployment)))
    print(f"open {deployment.url} (config, logs and pids in {deployment.state_dir})")
    if args.command == "start":
        print(f"stop with: python -m deploy.replicas stop --port {args.port}")
        return 0
    print("Ctrl-C stops everything")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # `kill` stops everything too
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        deployment.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
