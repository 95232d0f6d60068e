"""A whole class on one server: N sessions at once, some of them training on the Train page.

    python benchmarks/classroom.py                      # 30 sessions, 10 training, ~2 minutes
    python benchmarks/classroom.py --sessions 10 --trainers 3 --train-seconds 30
    python benchmarks/classroom.py --url http://127.0.0.1:8600    # a running server or proxy
    python benchmarks/classroom.py --all-train                    # all 30 sessions train
    python benchmarks/classroom.py --in-step                      # the 20 others draw at the same instant
    python benchmarks/classroom.py --class-digits                 # 30 sessions submit digits to one room

Starts `streamlit run explorer/Home.py` on 127.0.0.1 (a free port; MNIST from MNIST_DIR or the
cache), or with `--url` uses a server that runs already (e.g. HAProxy in front of replicas,
deploy/replicas.py). Then opens N sessions as lightweight websocket clients that speak Streamlit's
own protocol (the protobuf BackMsg/ForwardMsg of the installed streamlit), like a browser tab does,
minus the rendering and the JavaScript files. As a browser, each session first loads the page over
HTTP and keeps the cookies it gets (a load balancer's sticky cookie) for its websocket and for the
images its pages show, which it fetches too. Behind HAProxy (deploy/), the header X-Replica names
the replica that answered: a session whose websocket or image lands on another replica than its
page is an error.

00. cold start (without --url): on the server started a moment before, all `--sessions` sessions
   arrive in the same second, on Home and the other pages in turn; each one's first run is timed
   and any exception shown counts as an error;
0. first render: on the idle server, warmed by a session on Home (on each replica), two new
   sessions per page (Home, Train, Filters, Receptive fields), one after the other, connect and
   run the page once: the time from connecting to the end of that first run, for the page's first
   visitor in this process and for the next student (who finds the shared caches filled); then
   Filters showing each other shipped CNN (`?filters_model=...`, as its model menu or a link sets
   it): a model switch, the first time the process draws that network;
1. baseline: one session alone opens Home and interacts with it: it draws a digit (the browser
   sends the drawing and reruns the part of the page the canvas is in, the hero's fragment) and
   reruns the whole page (as a click outside the drawing does); the time until "script finished"
   is the latency;
2. `--trainers` sessions open Home, go to the Train page, press "Start", and drive the live
   training fragments as the browser does: one auto-rerun per fragment at the interval the
   server asks for, for `--train-seconds`;
3. once they train, the rest of the class opens Home and keeps interacting with it (drawings,
   every 4th time the whole page), each student at their own pace, or with --in-step all at the
   same instant; each interaction's latency while at least one session trains is timed.

With --class-digits, the class draws instead of training (the Class digits page, issue 19): a
room is created in a fresh class database (CLASS_DB in a temporary folder; with --url, give the
room's code with --room and, on this machine, the database with --class-db), one session shows
the live class view as a projector does, and `--sessions` students open the room's link and
submit `--digits-per-session` drawn digits each, all at the same moment in each round (a
barrier), one round a second (the page takes one digit per second per session). Reported: the
submissions accepted and refused, the latency of a submission (the click's rerun), the
projector's live updates meanwhile, and the digits the database holds afterwards (it must be
exactly the accepted ones, with no duplicate).

Reports errors (exceptions shown in a page, dropped connections, images not served, a session
off its replica), the server's peak RSS (VmHWM from /proc/PID/status; with --url, of the processes
given with --pids) and the latencies. Without --url, traffic goes only to 127.0.0.1; everything
stops by itself after at most `--max-seconds` (default 180). Figures are noisy on a shared machine.
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import random
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin, urlsplit, urlunsplit

REPO_ROOT = Path(__file__).resolve().parents[1]
FIRST_RENDER_PAGES = {"": "Home", "train": "Train", "filters": "Filters", "receptive_fields": "Receptive fields"}
FILTERS_SWITCH_MODELS = ("lenet", "zhou-cnn", "tf-cnn-bn")  # shipped CNNs besides Filters' default
REPLICA_HEADER = "X-Replica"  # set by deploy/haproxy.cfg.template: the replica that answered
FAIRNESS_WINDOW = 20.0  # seconds over which the training sessions' steps are compared

try:
    import websockets
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
except ImportError as error:  # websockets comes with streamlit
    sys.exit(f"needs streamlit and websockets: pip install -r requirements.txt ({error})")


# --- the server ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(port: int, log_path: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-P", "-m", "streamlit", "run", "explorer/Home.py", "--server.headless", "true",
           "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false",
           # no reloading when a source file changes (as in a deployment): an edit in the checkout
           # during a run would drop modules from sys.modules under the sessions' feet
           "--server.fileWatcherType", "none"]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL)  # fmt: skip
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited: {log_path.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                if r.read() == b"ok":
                    return proc
        except OSError:
            pass
        time.sleep(0.3)
    proc.kill()
    raise RuntimeError("streamlit did not become healthy in 90 s")


def memory_kb(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak RSS) of a process, in kB, from /proc (Linux)."""
    values = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0])
    except OSError:
        pass
    return values


# --- HTTP, as a browser does it ----------------------------------------------------------------

_http = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # straight to the server, no env proxy


@dataclass
class HttpAnswer:
    status: int
    replica: str  # the X-Replica header ("" without a load balancer)
    cookies: list[str]  # "name=value" of each Set-Cookie


def http_get(url: str, cookie: str = "") -> HttpAnswer:
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    try:
        with _http.open(request, timeout=60) as response:
            response.read()
            status, headers = response.status, response.headers
    except urllib.error.HTTPError as error:  # 404 & co: an answer to report, not a crash
        status, headers = error.code, error.headers
    cookies = [c.split(";", 1)[0].strip() for c in headers.get_all("Set-Cookie") or []]
    return HttpAnswer(status, headers.get(REPLICA_HEADER, ""), cookies)


def websocket_url(base_url: str) -> str:
    parts = urlsplit(base_url)
    scheme = {"http": "ws", "https": "wss"}[parts.scheme]
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/") + "/_stcore/stream", "", ""))


# --- one session --------------------------------------------------------------------------------


@dataclass
class Session:
    """One browser tab's worth of protocol: reruns, widget clicks, fragment auto-reruns."""

    number: int
    base_url: str  # http://host:port of the server or the proxy
    ws: object = None
    cookie: str = ""  # what the first HTTP answer set (the sticky cookie), sent with every request
    replica: str = ""  # the replica that served the page over HTTP ("" without a load balancer)
    ws_replica: str = ""  # ... and the websocket
    media: list[str] = field(default_factory=list)  # image URLs the pages showed (/media/...)
    page_hash: str = ""
    page_name: str = ""
    buttons: dict[str, str] = field(default_factory=dict)  # label -> widget id (latest run)
    auto_reruns: dict[str, float] = field(default_factory=dict)  # fragment id -> interval (s)
    exceptions: list[str] = field(default_factory=list)
    finished: asyncio.Event = field(default_factory=asyncio.Event)
    fragment_runs: int = 0
    closed_error: str = ""
    closing: bool = False
    query_string: str = ""  # sent with every rerun, as the browser sends its URL's query
    components: list[str] = field(default_factory=list)  # custom component ids (the canvas) of the latest run
    fragments: dict[str, str] = field(default_factory=dict)  # component id -> the fragment it is drawn in
    alerts: list[tuple[int, str]] = field(default_factory=list)  # (format, body) of the latest run's alerts
    shown_steps: list[tuple[float, int]] = field(default_factory=list)  # (when, step) the Train page showed
    started_training: float = 0.0  # when it pressed Start
    trained_until: float = float("inf")  # when its run ended (no live fragment left)

    def steps_at(self, moment: float) -> float:
        """The steps its run had made at `moment`, read between two of the page's updates."""
        before = [(when, step) for when, step in self.shown_steps if when <= moment] or [(moment, 0)]
        after = [(when, step) for when, step in self.shown_steps if when > moment] or [before[-1]]
        (t0, s0), (t1, s1) = before[-1], after[0]
        return s0 + (s1 - s0) * (moment - t0) / (t1 - t0) if t1 > t0 else float(s0)

    async def load_page(self, url_path: str = "") -> None:
        """GET the page as a browser does first; keep its cookies and note the replica."""
        answer = await asyncio.to_thread(http_get, urljoin(self.base_url + "/", url_path), self.cookie)
        if answer.status != 200:
            raise ConnectionError(f"GET /{url_path}: HTTP {answer.status}")
        self.cookie = "; ".join(dict.fromkeys(([self.cookie] if self.cookie else []) + answer.cookies))
        self.replica = self.replica or answer.replica

    async def connect(self) -> None:
        self.ws = await websockets.connect(websocket_url(self.base_url), subprotocols=["streamlit"],
                                           additional_headers={"Cookie": self.cookie} if self.cookie else None,
                                           max_size=None, open_timeout=60, ping_interval=None, proxy=None)  # fmt: skip
        self.ws_replica = self.ws.response.headers.get(REPLICA_HEADER, "")
        if self.ws_replica != self.replica:
            raise ConnectionError(f"websocket on replica {self.ws_replica!r}, its page on {self.replica!r}")
        self._reader = asyncio.create_task(self._read())

    async def fetch_media(self) -> int:
        """Fetch the images the page showed, with the session's cookie; check replica and status."""
        urls, self.media = list(dict.fromkeys(self.media)), []
        for url in urls:
            answer = await asyncio.to_thread(http_get, urljoin(self.base_url + "/", url.lstrip("/")), self.cookie)
            if answer.status != 200 or answer.replica != self.replica:
                raise ConnectionError(f"image {url}: HTTP {answer.status} from replica {answer.replica!r}, "
                                      f"the session is on {self.replica!r}")  # fmt: skip
        return len(urls)

    async def _read(self) -> None:
        try:
            async for raw in self.ws:
                message = ForwardMsg()
                message.ParseFromString(raw)
                self._handle(message)
        except websockets.ConnectionClosed as error:
            if not self.closing and (error.rcvd is None or error.rcvd.code not in (1000, 1001)):
                self.closed_error = f"connection closed: {error}"
        except Exception as error:  # noqa: BLE001 - recorded as an error of this session
            self.closed_error = f"{type(error).__name__}: {error}"
        finally:
            self.finished.set()

    def _handle(self, message: ForwardMsg) -> None:
        kind = message.WhichOneof("type")
        if kind == "new_session":
            if not message.metadata.run.fragment_ids:  # a whole run: as the browser, forget the old timers
                self.auto_reruns.clear()
            self.buttons.clear()
            self.components.clear()
            self.alerts.clear()
        elif kind == "navigation":  # which page this run shows: later reruns must name it
            self.page_hash = message.navigation.page_script_hash or self.page_hash
        elif kind == "delta":
            delta = message.delta
            if delta.WhichOneof("type") == "new_element":
                element = delta.new_element
                which = element.WhichOneof("type")
                if which == "button":
                    self.buttons[element.button.label] = element.button.id
                elif which == "imgs":
                    self.media.extend(image.url for image in element.imgs.imgs)
                elif which == "bidi_component" and element.bidi_component.id not in self.components:
                    self.components.append(element.bidi_component.id)
                    self.fragments[element.bidi_component.id] = delta.fragment_id
                elif which == "alert":
                    self.alerts.append((element.alert.format, element.alert.body))
                elif which == "metric" and element.metric.label == "Step":
                    step = element.metric.body.replace(",", "")
                    if step.isdigit():
                        self.shown_steps.append((time.monotonic(), int(step)))
                elif which == "exception":
                    self.exceptions.append(f"{element.exception.type}: {element.exception.message}"[:300])
        elif kind == "auto_rerun":
            self.auto_reruns[message.auto_rerun.fragment_id] = message.auto_rerun.interval
        elif kind == "stop_auto_rerun":
            for fragment_id in message.stop_auto_rerun.fragment_ids or list(self.auto_reruns):
                self.auto_reruns.pop(fragment_id, None)
        elif kind == "script_finished":
            if message.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN:  # st.rerun(): its new run follows
                self.finished.set()

    async def rerun(self, page_name: str | None = None, click: str | None = None, fragment_id: str = "",
                    json_values: dict[str, str] | None = None) -> float:
        """Send one rerun (optionally clicking the button with widget id `click`, and setting
        components' JSON values by widget id); seconds until done."""
        if page_name is not None and page_name != self.page_name:
            self.page_name, self.page_hash = page_name, ""
            self.auto_reruns.clear()
        message = BackMsg()
        state = message.rerun_script
        state.query_string = self.query_string
        state.page_script_hash = self.page_hash
        state.page_name = self.page_name
        live_update = bool(fragment_id) and not (click or json_values)  # else a widget in the fragment changed
        if fragment_id:
            state.fragment_id = fragment_id
            state.is_auto_rerun = live_update
        else:
            self.auto_reruns.clear()  # a full run registers its live fragments again
        if click:
            widget = state.widget_states.widgets.add()
            widget.id = click
            widget.trigger_value = True
        for widget_id, value in (json_values or {}).items():
            widget = state.widget_states.widgets.add()
            widget.id = widget_id
            widget.json_value = value
        if not fragment_id:
            self.components.clear()
            self.alerts.clear()
        self.finished.clear()
        started = time.perf_counter()
        await self.ws.send(message.SerializeToString())
        await asyncio.wait_for(self.finished.wait(), timeout=30 if fragment_id else 120)
        if self.closed_error:
            raise ConnectionError(self.closed_error)
        if live_update:
            self.fragment_runs += 1
        return time.perf_counter() - started

    async def draw(self, label: int) -> float:
        """Draw `label` on the page's canvas, as a student does: the browser reruns the fragment
        the canvas is in (the whole page if it is in none); seconds until done."""
        canvas = self.components[-1]
        return await self.rerun(fragment_id=self.fragments.get(canvas, ""), json_values={canvas: drawing_value(label)})

    async def close(self) -> None:
        self.closing = True
        if self.ws is not None:
            await self.ws.close()
        if hasattr(self, "_reader"):
            await asyncio.wait_for(self._reader, timeout=10)


# --- the class ----------------------------------------------------------------------------------


async def trainer(session: Session, seconds: float, deadline: float, report: dict, click_every: float = 0.0) -> None:
    """Open the Train page, press Start, then drive the live fragments for `seconds`; with
    `click_every`, also rerun the whole page that often (a click on the page while it trains)."""
    await session.rerun(page_name="train")
    start = next((wid for label, wid in session.buttons.items() if label.strip().lower() == "start"), None)
    if start is None:
        report["errors"].append(f"session {session.number}: no Start button on the Train page "
                                f"(buttons: {sorted(session.buttons)})")  # fmt: skip
        return
    session.started_training = time.monotonic()
    await session.rerun(click=start)
    if "Pause" not in session.buttons:
        report["errors"].append(f"session {session.number}: pressing Start did not start training")
        return
    report["training"] += 1
    report["training_now"] += 1
    try:
        await _drive(session, min(deadline, time.monotonic() + seconds), report["live_updates"],
                     report["train_clicks"], click_every)  # fmt: skip
        if not session.auto_reruns:
            session.trained_until = time.monotonic()
    finally:
        report["training_now"] -= 1


async def _drive(session: Session, stop_at: float, latencies: list[float], clicks: list[float],
                 click_every: float = 0.0) -> None:  # fmt: skip
    # One timer per live fragment, as in the browser; a session runs one script at a time.
    due = {fid: time.monotonic() + interval for fid, interval in session.auto_reruns.items()}
    next_click = time.monotonic() + click_every if click_every else float("inf")
    while time.monotonic() < stop_at and session.auto_reruns:
        if next_click <= min(due.values(), default=float("inf")):
            await asyncio.sleep(max(0.0, min(next_click, stop_at) - time.monotonic()))
            if time.monotonic() >= stop_at:
                break
            clicks.append(await session.rerun())  # the whole page, as a widget change reruns it
            next_click = time.monotonic() + click_every
            continue
        for fid in list(due):
            if fid not in session.auto_reruns:
                del due[fid]
        for fid, interval in session.auto_reruns.items():
            due.setdefault(fid, time.monotonic() + interval)
        fid = min(due, key=due.get)
        await asyncio.sleep(max(0.0, min(due[fid], stop_at) - time.monotonic()))
        if time.monotonic() >= stop_at:
            break
        try:
            latencies.append(await session.rerun(fragment_id=fid))
        except asyncio.TimeoutError:  # the fragment is gone (e.g. the run finished): the browser stops too
            session.auto_reruns.pop(fid, None)
            continue
        due[fid] = time.monotonic() + session.auto_reruns.get(fid, 1.0)


WHOLE_PAGE_EVERY = 4  # a visitor's every 4th interaction reruns the whole page (a click outside the drawing)


async def visitor(session: Session, done: asyncio.Event, deadline: float, every: float, report: dict,
                  in_step: bool = False) -> None:  # fmt: skip
    """Keep interacting with Home until the trainers are done: draw a digit (a 7, then a 1, ...),
    and every WHOLE_PAGE_EVERY-th time rerun the whole page instead. The latencies measured while
    at least one session was training go to report["during"] (drawings) and report["during_page"]
    (whole pages).

    Between two interactions a student pauses `every` seconds on average, at their own pace
    (0.5 to 1.5 times `every`, the first interaction within `every` of arriving); `in_step`: every
    student pauses exactly `every`, so the class, arriving together, acts together (everyone draws
    at the teacher's word: the worst case)."""
    pace = random.Random(session.number)  # the same pauses in every run
    if not in_step:
        await _pause(done, every * pace.random())
    for number in itertools.count(1):
        if done.is_set() or time.monotonic() >= deadline:
            break
        training = report["training_now"] > 0
        whole_page = number % WHOLE_PAGE_EVERY == 0 or not session.components
        latency = await (session.rerun() if whole_page else session.draw((7, 1)[number % 2]))
        if training and report["training_now"] > 0:
            report["during_page" if whole_page else "during"].append(latency)
        await _pause(done, every if in_step else every * pace.uniform(0.5, 1.5))


async def _pause(done: asyncio.Event, seconds: float) -> None:
    """Wait `seconds`, or less if `done` is set meanwhile."""
    try:
        await asyncio.wait_for(done.wait(), timeout=seconds)
    except asyncio.TimeoutError:
        pass


def summary(values: list[float]) -> str:
    if not values:
        return "no samples"
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return (f"median {statistics.median(ordered):.2f} s, p95 {p95:.2f} s, max {ordered[-1]:.2f} s "
            f"({len(ordered)} samples)")  # fmt: skip


def new_report() -> dict:
    return {"errors": [], "training": 0, "training_now": 0, "rss": {}, "open_seconds": [], "baseline": [],
            "baseline_page": [], "during": [], "during_page": [], "open_all_seconds": float("nan"),
            "fragment_runs": 0, "sessions": [], "first_render": [], "images": 0, "live_updates": [],
            "cold_start": [], "train_clicks": [], "steps": []}  # fmt: skip


async def first_renders(base_url: str, report: dict) -> None:
    """Each page's first run in a new session on the idle server, from connecting to "finished".
    The server is warmed first: Home opened once on each replica (until the balancer repeats one)."""
    seen = set()
    for number in range(8):
        warm = Session(-1 - number, base_url)
        try:
            await warm.load_page()
            if warm.replica in seen:
                break
            seen.add(warm.replica)
            await warm.connect()
            await warm.rerun(page_name="")
        finally:
            await warm.close()
    for url_path, title in FIRST_RENDER_PAGES.items():
        for visit in ("first visit", "next student"):  # the second finds what the first left in the caches
            seconds, replica = await first_run(Session(-100, base_url), url_path, f"first render of {title}", report)
            report["first_render"].append((f"{title} ({visit})", seconds, replica))
    for model in FILTERS_SWITCH_MODELS:  # a model switch: Filters showing another network than its default
        session = Session(-100, base_url)
        session.query_string = f"filters_model={model}"
        seconds, replica = await first_run(session, "filters", f"Filters with {model}", report)
        report["first_render"].append((f"Filters switched to {model}", seconds, replica))


async def first_run(session: Session, url_path: str, what: str, report: dict) -> tuple[float, str]:
    """A new session loads the page, connects and runs it once: (seconds from connecting to the end
    of that run, its replica); an exception the page shows is an error of `what`."""
    try:
        await session.load_page(url_path)
        started = time.perf_counter()
        await session.connect()
        await session.rerun(page_name=url_path)
        report["errors"].extend(f"{what}: exception in the page: {e}" for e in session.exceptions)
        return time.perf_counter() - started, session.replica
    finally:
        await session.close()


async def cold_start(base_url: str, count: int, report: dict) -> None:
    """`count` sessions arriving in the same second on the server started a moment before, on Home
    and the other pages in turn (a class following a link): the time from connecting to the end of
    each one's first run, and any exception a page shows."""
    paths = [list(FIRST_RENDER_PAGES)[number % len(FIRST_RENDER_PAGES)] for number in range(count)]
    outcome = await asyncio.gather(*(first_run(Session(-200 - number, base_url), path, f"cold start, /{path}", report)
                                     for number, path in enumerate(paths)), return_exceptions=True)  # fmt: skip
    report["cold_start"] += [result[0] for result in outcome if not isinstance(result, BaseException)]
    report["errors"].extend(f"cold start: {type(e).__name__}: {e}" for e in outcome if isinstance(e, Exception))


async def sample_memory(pids: list[int], report: dict) -> None:
    """Every half second, each server process's memory, until cancelled."""
    while True:
        for pid in pids:
            report["rss"].setdefault(pid, []).append(memory_kb(pid))
        await asyncio.sleep(0.5)


async def classroom(base_url: str, pids: list[int], args, report: dict, deadline: float) -> dict:
    sampler = asyncio.create_task(sample_memory(pids, report))
    sessions = [Session(i, base_url) for i in range(args.sessions)]
    report["sessions"] = sessions
    trainers, visitors = sessions[: args.trainers], sessions[args.trainers :]

    async def open_home(session):
        if session.ws is None:
            await session.load_page()
            await session.connect()
            report["open_seconds"].append(await session.rerun(page_name=""))
            images = await session.fetch_media()  # not `+= await`: that reads the total before waiting
            report["images"] += images

    try:
        # 00. on a server started a moment before, the whole class arrives in the same second
        if args.cold_start:
            await cold_start(base_url, args.sessions, report)

        # 0. each page's first render, on the idle server
        await first_renders(base_url, report)

        # 1. baseline: one visitor alone on the server, interacting with Home
        if visitors:
            await open_home(visitors[0])
            for label in (7, 1, 7):
                report["baseline"].append(await visitors[0].draw(label))
                report["baseline_page"].append(await visitors[0].rerun())

        # 2. the trainers come in, open Train and press Start; the rest of the class arrives meanwhile

        async def a_trainer(session):
            await open_home(session)
            await trainer(session, args.train_seconds, deadline, report, args.train_click_every if args.all_train else 0.0)

        async def a_visitor(session):
            # the rest of the class arrives once the trainers have pressed Start (or after 60 s)
            waited = time.monotonic()
            while report["training"] + len([e for e in report["errors"] if "Start" in e]) < len(trainers) \
                    and time.monotonic() - waited < 60 and not done.is_set():  # fmt: skip
                await asyncio.sleep(0.5)
            await open_home(session)
            await visitor(session, done, deadline, args.interaction_every, report, args.in_step)

        done = asyncio.Event()

        async def all_trainers():
            try:
                return await asyncio.gather(*(a_trainer(s) for s in trainers), return_exceptions=True)
            finally:
                done.set()

        async def count_steps():
            """Each training session's steps in the same 20 s, from 2 s after the last one pressed
            Start (or until the first run ends): how fairly the scheduler shares the training.
            (Over 20 s, as a run also spends time measuring its accuracy at the end of each epoch.)"""
            while report["training"] < len(trainers) and not done.is_set():
                await asyncio.sleep(0.5)
            begin = time.monotonic() + 2
            slowest_update = max(max(s.auto_reruns.values(), default=0.0) for s in trainers)
            await asyncio.sleep(2 + FAIRNESS_WINDOW + slowest_update)  # and the updates that show where the window ended
            end = min([begin + FAIRNESS_WINDOW] + [s.trained_until for s in trainers])
            report["steps_window"] = end - begin
            report["steps"] = [(s.steps_at(begin), s.steps_at(end)) for s in trainers]

        started = time.monotonic()
        counting = asyncio.create_task(count_steps())
        outcome = await asyncio.gather(all_trainers(), *(a_visitor(s) for s in visitors), return_exceptions=True)
        counting.cancel()
        report["open_all_seconds"] = time.monotonic() - started
        results = (list(outcome[0]) if isinstance(outcome[0], list) else [outcome[0]] * len(trainers)) + list(outcome[1:])
        for s, result in zip(trainers + visitors, results):
            if isinstance(result, Exception):
                report["errors"].append(f"session {s.number}: {type(result).__name__}: {result}")
    finally:
        sampler.cancel()
        await asyncio.gather(*(s.close() for s in sessions), return_exceptions=True)
    return report


# --- the class draws: 30 sessions submit digits to one room -----------------------------------

ALERT_SUCCESS, ALERT_WARNING, ALERT_ERROR = 4, 2, 1  # streamlit.proto.Alert.Format


def drawing_value(label: int) -> str:
    """What the canvas component sends when a student has drawn: the Fabric.js objects (the page
    only checks there are some) and the canvas as a PNG data URL, 280x280 RGBA, white ink."""
    import base64
    import io
    import json

    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (280, 280), (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    strokes = {1: [(140, 50), (140, 230)], 7: [(80, 60), (200, 60), (120, 230)]}
    points = strokes.get(label, [(90, 70), (190, 70), (190, 210), (90, 210), (90, 70)])  # a box: a "0"
    pen.line(points, fill=(255, 255, 255, 255), width=22, joint="curve")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    data_url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
    drawing = {"raw": {"version": "5.3.0", "objects": [{"type": "path", "stroke": "#FFFFFF"}]}, "data": data_url}
    return json.dumps({"drawing": drawing})


def new_class_report() -> dict:
    return {"errors": [], "rss": {}, "sessions": [], "submit": [], "accepted": 0, "refused": [], "open_seconds": [],
            "live_updates": [], "live_timeouts": 0, "fragment_runs": 0, "stored": None, "first_render": []}  # fmt: skip


async def student(session: Session, room: str, rounds: int, barrier: asyncio.Barrier, report: dict) -> None:
    """Open the room's link, then each round: draw (the canvas's rerun), wait for the class,
    press Submit together with everyone; one round a second at most."""
    try:
        session.query_string = f"room={room}"
        await session.load_page(f"class_digits?room={room}")
        await session.connect()
        report["open_seconds"].append(await session.rerun(page_name="class_digits"))
        session.query_string = ""  # the room is in the session now, as after the browser's first run
        for number in range(rounds):
            started = time.monotonic()
            if not session.components:
                raise RuntimeError(f"no drawing canvas on the page (alerts: {session.alerts[:2]})")
            await session.rerun(json_values={session.components[-1]: drawing_value(number % 10)})
            submit = next((wid for label, wid in session.buttons.items() if label.strip().lower() == "submit"), None)
            if submit is None:
                raise RuntimeError(f"no Submit button (buttons: {sorted(session.buttons)})")
            await barrier.wait()
            report["submit"].append(await session.rerun(click=submit))
            problems = [body for kind, body in session.alerts if kind in (ALERT_WARNING, ALERT_ERROR)]
            if problems or not any(kind == ALERT_SUCCESS for kind, _ in session.alerts):
                report["refused"].append(problems[0] if problems else "no message")
            else:  # no refusal, and the page thanked (its thanks stay shown in later runs)
                report["accepted"] += 1
            await asyncio.sleep(max(0.0, 1.05 - (time.monotonic() - started)))
    except BaseException:
        await barrier.abort()  # the others stop waiting for this session
        raise


async def projector(session: Session, room: str, stop: asyncio.Event, report: dict) -> None:
    """The class view on the projector: its live fragment reruns as the browser drives it."""
    session.query_string = f"room={room}&class_view=class"
    await session.load_page(f"class_digits?{session.query_string}")
    await session.connect()
    await session.rerun(page_name="class_digits")
    while not stop.is_set() and session.auto_reruns:
        fragment_id, interval = next(iter(session.auto_reruns.items()))
        try:
            await asyncio.wait_for(stop.wait(), timeout=interval)
        except asyncio.TimeoutError:
            try:
                report["live_updates"].append(await session.rerun(fragment_id=fragment_id))
            except asyncio.TimeoutError:  # not done in 30 s: counted, and the browser asks again
                report["live_timeouts"] += 1


async def class_digits(base_url: str, pids: list[int], args, room: str, report: dict) -> dict:
    sampler = asyncio.create_task(sample_memory(pids, report))
    wall = Session(-1, base_url)
    students = [Session(i, base_url) for i in range(args.sessions)]
    report["sessions"] = [wall, *students]
    barrier = asyncio.Barrier(args.sessions)
    stop = asyncio.Event()
    try:
        # the teacher opens the page first (a cold server imports its modules in the first run)
        teacher = Session(-2, base_url)
        try:
            teacher.query_string = f"room={room}"
            await teacher.load_page(f"class_digits?room={room}")
            started = time.perf_counter()
            await teacher.connect()
            await teacher.rerun(page_name="class_digits")
            report["first_render"].append(("Class digits", time.perf_counter() - started, teacher.replica))
        finally:
            await teacher.close()
        shown = asyncio.create_task(projector(wall, room, stop, report))
        outcome = await asyncio.gather(*(student(s, room, args.digits_per_session, barrier, report) for s in students),
                                       return_exceptions=True)  # fmt: skip
        for s, result in zip(students, outcome):
            if isinstance(result, BaseException):
                report["errors"].append(f"session {s.number}: {type(result).__name__}: {result}")
        await asyncio.sleep(args.interaction_every + 3)  # the projector's next live update shows the last digits
        stop.set()
        try:
            await asyncio.wait_for(shown, timeout=60)
        except asyncio.TimeoutError:
            report["errors"].append("the projector's last live update took more than 60 s")
    finally:
        sampler.cancel()
        await asyncio.gather(*(s.close() for s in report["sessions"]), return_exceptions=True)
    return report


def stored_digits(class_db: Path, room: str) -> tuple[int, int]:
    """(digits in the room, distinct ids) read straight from the class database."""
    sys.path.insert(0, str(REPO_ROOT))
    from explorer.data.class_rooms import open_class_rooms

    digits = open_class_rooms(class_db).digits(room)
    return len(digits), len(set(digits.ids.tolist()))


def print_class_report(report: dict, args) -> None:
    expected = args.sessions * args.digits_per_session
    print(f"sessions: {args.sessions} students in one room, {args.digits_per_session} digits each, "
          f"all submitting at the same moment; 1 projector on the live class view")  # fmt: skip
    for title, seconds, _ in report["first_render"]:
        print(f"first run of {title} on the cold server (the teacher, before the class): {seconds:.2f} s")
    print(f"open the room's link: per session {summary(report['open_seconds'])}")
    print(f"submissions: {report['accepted']} accepted, {len(report['refused'])} refused, of {expected}")
    for reason, count in Counter(report["refused"]).most_common(5):
        print(f"  refused {count}x: {reason[:160]}")
    print(f"a submission (the Submit click's rerun, {args.sessions} at once): {summary(report['submit'])}")
    print(f"projector's live update (one fragment rerun): {summary(report['live_updates'])}"
          + (f"; {report['live_timeouts']} took over 30 s" if report["live_timeouts"] else ""))
    if report["stored"] is not None:
        count, distinct = report["stored"]
        verdict = "exact" if count == distinct == report["accepted"] else "MISMATCH"
        print(f"digits in the database afterwards: {count} ({distinct} distinct ids): {verdict}")
        if verdict != "exact":
            report["errors"].append(f"the room holds {count} digits ({distinct} distinct), {report['accepted']} were accepted")
    for pid, samples in report["rss"].items():
        peak = max(r.get("VmHWM", 0) for r in samples)
        print(f"server memory, pid {pid}: peak RSS (VmHWM) {peak / 1024:.0f} MB")
    print(f"errors: {len(report['errors'])}")
    for error in report["errors"][:20]:
        print(f"  {error}")


def collect_session_errors(report: dict) -> None:
    for s in report["sessions"]:
        if s.exceptions:
            report["errors"].extend(f"session {s.number}: exception in the page: {e}" for e in s.exceptions[:3])
        if s.closed_error:
            report["errors"].append(f"session {s.number}: {s.closed_error}")
    report["fragment_runs"] = sum(s.fragment_runs for s in report["sessions"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=30)
    parser.add_argument("--trainers", type=int, default=10)
    parser.add_argument("--all-train", action="store_true", help="every session trains (--trainers = --sessions)")
    parser.add_argument("--train-seconds", type=float, default=60.0, help="how long the trainers train")
    parser.add_argument("--interaction-every", type=float, default=2.0,
                        help="a visitor's pause between two interactions, on average (s)")
    parser.add_argument("--in-step", action="store_true",
                        help="every visitor pauses exactly --interaction-every: the class acts together (the worst case)")
    parser.add_argument("--train-click-every", type=float, default=10.0,
                        help="with --all-train: seconds between a training student's clicks (a rerun of the Train page)")
    parser.add_argument("--max-seconds", type=float, default=180.0, help="hard limit for the whole run")
    parser.add_argument("--url", help="a running server or proxy, e.g. http://127.0.0.1:8600 (else start one)")
    parser.add_argument("--replicas", type=int, default=0,
                        help="start this many app processes behind HAProxy (deploy/replicas.py), fresh, and run on them")
    parser.add_argument("--pids", type=int, nargs="*", default=[],
                        help="with --url: server processes on this machine whose memory to sample")  # fmt: skip
    parser.add_argument("--class-digits", action="store_true",
                        help="the class draws: every session submits digits to one room (Class digits page)")
    parser.add_argument("--digits-per-session", type=int, default=5, help="with --class-digits")
    parser.add_argument("--room", help="with --class-digits and --url: the room's code")
    parser.add_argument("--class-db", type=Path, help="with --class-digits and --url: the server's CLASS_DB file, "
                        "to count the digits stored")  # fmt: skip
    args = parser.parse_args(argv)
    if args.url and args.replicas:
        parser.error("--url or --replicas, not both")
    args.cold_start = not args.url  # only a server started here is fresh
    if args.all_train:
        args.trainers = args.sessions
    if args.class_digits:
        args.trainers = 0  # the class draws; nobody trains
    if not 0 <= args.trainers <= args.sessions:
        parser.error("--trainers must be between 0 and --sessions")
    if args.url and urlsplit(args.url).scheme not in ("http", "https"):
        parser.error("--url must start with http:// or https://")

    if args.class_digits and args.url and not args.room:
        parser.error("--class-digits with --url needs --room CODE (a room created on that server)")
    began = time.monotonic()
    server = None
    room, class_db = args.room, args.class_db
    if args.class_digits and not args.url:
        import tempfile

        class_db = Path(tempfile.mkdtemp(prefix="classroom-")) / "class.sqlite3"
        os.environ["CLASS_DB"] = str(class_db)  # the server started below inherits it
        sys.path.insert(0, str(REPO_ROOT))
        from explorer.data.class_rooms import open_class_rooms

        room = open_class_rooms(class_db).create_room().code
        print(f"class database {class_db}, room {room}", flush=True)
    deployment = None
    if args.url:
        base_url, pids = args.url.rstrip("/"), args.pids
        print(f"server: {base_url} (running already)", flush=True)
    elif args.replicas:
        sys.path.insert(0, str(REPO_ROOT))
        from deploy.replicas import start

        deployment = start(args.replicas, free_port())
        base_url, pids = deployment.url, [replica.pid for replica in deployment.replicas]
        print(f"{args.replicas} replicas behind HAProxy at {base_url} (pids {pids}), started now", flush=True)
    else:
        port = free_port()
        log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"classroom-streamlit-{port}.log"
        server = start_server(port, log_path)
        base_url, pids = f"http://127.0.0.1:{port}", [server.pid]
        print(f"server pid {server.pid} on 127.0.0.1:{port} (log {log_path}), idle RSS "
              f"{memory_kb(server.pid).get('VmRSS', 0) / 1024:.0f} MB", flush=True)  # fmt: skip
    report = new_class_report() if args.class_digits else new_report()
    stopped_early = False
    try:
        remaining = args.max_seconds - (time.monotonic() - began) - 15  # keep time to stop everything
        deadline = time.monotonic() + max(remaining, 10)
        if args.class_digits:
            run = class_digits(base_url, pids, args, room, report)
        else:
            run = classroom(base_url, pids, args, report, deadline - 5)
        asyncio.run(asyncio.wait_for(run, timeout=max(remaining, 10)))
    except asyncio.TimeoutError:
        stopped_early = True
    finally:
        for pid in pids:
            report["rss"].setdefault(pid, []).append(memory_kb(pid))
        if deployment is not None:
            deployment.stop()
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
    collect_session_errors(report)
    if stopped_early:
        print(f"STOPPED at --max-seconds {args.max_seconds:.0f}: the figures below are partial")
    if args.class_digits:
        if class_db is not None:
            report["stored"] = stored_digits(class_db, room)
        print_class_report(report, args)
    else:
        print_report(report, args)
    print(f"wall time {time.monotonic() - began:.0f} s; machine: {os.cpu_count()} CPUs, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")  # fmt: skip
    return 1 if report["errors"] else 0


def print_report(report: dict, args) -> None:
    renders = ", ".join(f"{title} {seconds:.2f} s" + (f" ({replica})" if replica else "")
                        for title, seconds, replica in report["first_render"])  # fmt: skip
    if report["cold_start"]:
        print(f"cold start, {len(report['cold_start'])} sessions arriving together on the fresh server "
              f"(connect to end of first run): {summary(report['cold_start'])}")  # fmt: skip
    print(f"first render on the idle server warmed by Home (connect to end of first run): {renders or 'not measured'}")
    print(f"sessions: {args.sessions} websocket clients ({args.trainers} training on the Train page)")
    spread = Counter(s.replica for s in report["sessions"] if s.replica)
    if spread:
        print("sessions per replica (each kept its replica for page, websocket and images): "
              + ", ".join(f"{name} {count}" for name, count in sorted(spread.items())))  # fmt: skip
    print(f"open Home (first page load, mostly while others train): per session {summary(report['open_seconds'])}")
    print(f"images fetched with the session's cookie: {report['images']}")
    print(f"training sessions running: {report['training']} of {args.trainers}; "
          f"live-fragment reruns served: {report['fragment_runs']}")  # fmt: skip
    print(f"a live-training update (one fragment rerun): {summary(report['live_updates'])}")
    if report["steps"]:
        made = sorted(round(after - before) for before, after in report["steps"])
        print(f"steps of each training session, made in the same {report['steps_window']:.1f} s: {made} "
              f"(slowest / fastest {made[0] / max(made[-1], 1):.2f}; all together {sum(made)})")  # fmt: skip
    ended = [s for s in report["sessions"] if s.started_training and s.trained_until < float("inf")]
    if ended:
        rates = sorted(s.shown_steps[-1][1] / (s.trained_until - s.started_training) for s in ended if s.shown_steps)
        print(f"whole runs that ended ({len(ended)}): steps per second from Start to the end of the run "
              f"{', '.join(f'{r:.1f}' for r in rates)} (slowest / fastest {rates[0] / rates[-1]:.2f})")  # fmt: skip
    if report["train_clicks"]:
        print(f"a click on the Train page while all train (the whole page rerun): {summary(report['train_clicks'])}")
    if report["baseline"] or report["during"]:  # visitors (not with --all-train)
        _print_home_interactions(report, args)
    for pid, samples in report["rss"].items():
        peak = max(r.get("VmHWM", 0) for r in samples)
        rss_max = max(r.get("VmRSS", 0) for r in samples)
        print(f"server memory, pid {pid}: peak RSS (VmHWM) {peak / 1024:.0f} MB, "
              f"highest sampled VmRSS {rss_max / 1024:.0f} MB")  # fmt: skip
    if not report["rss"]:
        print("server memory: not measured (with --url, name the server processes with --pids)")
    print(f"errors: {len(report['errors'])}")
    for error in report["errors"][:20]:
        print(f"  {error}")


def _print_home_interactions(report: dict, args) -> None:
    pace = "in step, every" if args.in_step else "each at their own pace, on average every"
    print(f"Home interaction (a drawing answered), one session alone: {summary(report['baseline'])}")
    print(f"Home interaction (a drawing answered), while {report['training']} train ({pace} {args.interaction_every:g} s): "
          f"{summary(report['during'])}")  # fmt: skip
    print(f"Home, the whole page rerun (every {WHOLE_PAGE_EVERY}th interaction), one session alone: "
          f"{summary(report['baseline_page'])}; while {report['training']} train: {summary(report['during_page'])}")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
