"""One process-wide scheduler shares the training work of all sessions fairly, and leaves the
server's time for clicks.

A session that trains hands its work to the scheduler at each live update ("keep training
this"); the scheduler's worker threads, one per training slot (the machine's cores minus one,
at least one), train the sessions' networks in turns: round robin, the turn going to the job
that has trained least. The live updates only draw. So a click never waits for training, and
every session gets its share however its updates fall. (Before, each session trained in its own
live update when a slot happened to be free: with ten sessions asking every few seconds the slot
stood idle most of the time, and some sessions got no turn for many seconds.)

Training is Python work too, under the interpreter lock (the GIL) that every click and the
server's event loop need. So while other sessions are on the server a worker rests between its
turns (DUTY_WITH_COMPANY), and the more sessions train, the less often each redraws
(`update_interval`: all their updates together stay near REDRAWS_PER_SECOND).
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass

from explorer.nn.machine import usable_cores
from explorer.nn.parallel import single_threaded

SLICE = 0.05  # seconds of training in a turn: many short turns are fair in any few seconds
REDRAWS_PER_SECOND = 3.0  # live updates of all training sessions together
STALE = 5.0  # seconds of silence, beyond two of its update intervals, after which a session has left
COMPANY = 30.0  # a session that clicked within this many seconds may need a core for its clicks
# With company, a worker trains this fraction of the time and rests in between. Training is Python
# work too, holding the interpreter lock (the GIL) that every click and the server's event loop
# need. Measured with 10 of 30 sessions training (benchmarks/classroom.py, 2 cores): training
# without rest, a Home click p95 0.7-2.0 s; half the time 0.9-1.6 s; a third 0.3-0.6 s.
DUTY_WITH_COMPANY = 1 / 3
# While a worker trains, the interpreter lock passes between threads every this many seconds
# instead of Python's 5 ms: a click's thread waits for the lock after each of its many short
# waits (sockets, locks).
SWITCH_INTERVAL = 0.001


def default_slots() -> int:
    """The cores this process may use (machine.usable_cores: its cgroup may allow fewer than the
    machine has) minus one, at least one; or EXPLORER_TRAINING_SLOTS when set."""
    try:
        return max(1, int(os.environ["EXPLORER_TRAINING_SLOTS"]))
    except (KeyError, ValueError):
        return max(1, usable_cores() - 1)


Work = Callable[[float], bool]  # trains for about the given seconds; returns whether it wants more
log = logging.getLogger(__name__)


@dataclass
class _Job:
    work: Work
    trained: float = 0.0  # seconds of training it got, its running turn counted in full
    last_seen: float = 0.0  # when its session last asked for it
    running: bool = False


class TrainingScheduler:
    def __init__(self, slots: int | None = None, slice_seconds: float = SLICE, clock=time.monotonic, workers: bool = True,
                 turn_clock=time.thread_time):  # fmt: skip
        """`workers=False`: no threads; a test drives the turns with next_turn() and finish_turn().

        A turn is charged the processor time its worker thread used (`turn_clock`), not the
        time it took: a turn that waits for its network (a page drawing what it sees) or for
        the interpreter lock is not charged for the waiting, so every session gets its share
        of a core however busy its page is."""
        self.slots = slots if slots is not None else default_slots()
        self.slice_seconds = slice_seconds
        self._clock = clock
        self._turn_clock = turn_clock
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)  # a job came, or a turn ended
        self._jobs: dict[tuple[str, str], _Job] = {}  # (session, job name) -> job
        self._visits: dict[str, float] = {}  # session -> when it last ran its page
        self._workers: list[threading.Thread] | None = [] if workers else None

    # --- what the sessions call -----------------------------------------------------------
    def keep_training(self, session: str, name: str, work: Work) -> None:
        """Called at each live update of a session that trains: the workers go on calling
        `work(seconds)` in turns until it returns False, the session calls stop(), or it stops
        asking. Never waits."""
        with self._lock:
            now = self._clock()
            jobs = self._active(now)
            job = jobs.get((session, name))
            if job is None:  # a newcomer starts level with the least served, not at zero
                job = jobs[session, name] = _Job(work, trained=min((j.trained for j in jobs.values()), default=0.0))
            job.work, job.last_seen = work, now
            self._start_workers()
            self._changed.notify()

    def stop(self, session: str, name: str) -> None:
        """The session dropped this work (reset): no more turns for it."""
        with self._lock:
            self._jobs.pop((session, name), None)

    def visit(self, session: str) -> None:
        """Every page run says so: the scheduler then knows whether others need a core for clicks."""
        with self._lock:
            now = self._clock()
            self._visits[session] = now
            for name in [n for n, when in self._visits.items() if now - when > COMPANY]:
                del self._visits[name]

    def forget_visits(self) -> None:
        """Forget every page run so far (the server's own, before it let anyone in)."""
        with self._lock:
            self._visits.clear()

    def alone(self, session: str) -> bool:
        """No other session ran a page recently, nor trains."""
        with self._lock:
            now = self._clock()
            others = {n for n, when in self._visits.items() if now - when <= COMPANY}
            others |= {trainer for trainer, _ in self._active(now)}
            return not (others - {session})

    def training_count(self) -> int:
        """How many sessions train."""
        with self._lock:
            return len({trainer for trainer, _ in self._active(self._clock())})

    def share(self, session: str) -> float:
        """The fraction of a core this session's training gets while the others keep training."""
        count = max(1, self.training_count())
        return min(1.0, self.slots / count) * (1.0 if self.alone(session) else DUTY_WITH_COMPANY)

    def update_interval(self, base: float, count: int | None = None) -> float:
        """Seconds between a training session's live updates: `base` while few train, longer
        when many do, so that all their updates together stay near REDRAWS_PER_SECOND."""
        count = self.training_count() if count is None else count
        return max(base, count / REDRAWS_PER_SECOND)

    # --- the turns --------------------------------------------------------------------------
    def stale_after(self, count: int) -> float:
        """Seconds without asking after which a session no longer trains (its tab was closed):
        it asks at each of its live updates, further apart the more train, so when it missed two."""
        return STALE + 2 * self.update_interval(0.0, count)

    def _active(self, now: float) -> dict[tuple[str, str], _Job]:
        stale = self.stale_after(len(self._jobs))
        for key in [k for k, job in self._jobs.items() if not job.running and now - job.last_seen > stale]:
            del self._jobs[key]
        return self._jobs

    def next_turn(self) -> tuple[tuple[str, str], Work, float] | None:
        """(job, work, seconds) for a free slot: the waiting job that trained least. None when
        every slot is busy or nobody waits."""
        with self._lock:
            return self._next_turn()

    def _next_turn(self):
        jobs = self._active(self._clock())
        waiting = [(job.trained, key) for key, job in jobs.items() if not job.running]
        if not waiting or sum(job.running for job in jobs.values()) >= self.slots:
            return None
        key = min(waiting)[1]
        # Charged now, so that a newcomer does not start level with a job only because its
        # turn has not ended yet (it would then wait while the newcomers caught up).
        jobs[key].running = True
        jobs[key].trained += self.slice_seconds
        return key, jobs[key].work, self.slice_seconds

    def finish_turn(self, key: tuple[str, str], trained: float, wants_more: bool) -> None:
        with self._lock:
            job = self._jobs.get(key)
            if job is not None and job.running:
                job.running, job.trained = False, job.trained + trained - self.slice_seconds  # what it really took
                if not wants_more:
                    del self._jobs[key]
            self._changed.notify_all()

    # --- the worker threads -----------------------------------------------------------------
    def _start_workers(self) -> None:
        """Once, with the first job (called holding the lock)."""
        if self._workers is None or len(self._workers) >= self.slots:
            return
        sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL))
        while len(self._workers) < self.slots:
            worker = threading.Thread(target=self._work, name=f"training-{len(self._workers)}", daemon=True)
            self._workers.append(worker)
            worker.start()

    def _work(self) -> None:
        while True:
            with self._lock:
                while (turn := self._next_turn()) is None:
                    self._changed.wait(timeout=1.0)  # also lets the stale jobs go now and then
            key, work, seconds = turn
            alone = self.alone(key[0])
            start = self._turn_clock()
            wants_more = False
            try:
                # Alone on the server, a session trains on every core; with others it keeps to
                # one, so the training of all sessions together leaves a core for clicks.
                with nullcontext() if alone else single_threaded():
                    wants_more = bool(work(seconds))
            except Exception:  # noqa: BLE001 - the job's own state says what went wrong; the worker lives on
                log.exception("training job %s failed", key)
            trained = self._turn_clock() - start
            self.finish_turn(key, trained, wants_more)
            # With company, rest twice the processor time the turn used. (Resting twice the time
            # it took, waits for the GIL included, rested more the busier the server: 10 sessions
            # made 725 steps in 20 s instead of 1208-1366, and clicks were no quicker.)
            if not alone:
                time.sleep(trained * (1 / DUTY_WITH_COMPANY - 1))


_scheduler = TrainingScheduler()


def scheduler() -> TrainingScheduler:
    return _scheduler


