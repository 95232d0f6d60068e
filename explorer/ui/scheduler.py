"""One process-wide scheduler shares the training work of all sessions fairly, and keeps a core
free for clicks.

Every session that trains asks for a turn at each live update. A turn is granted only while
fewer than `slots` sessions train (the machine's cores minus one, at least one), and to the
sessions that have waited longest: fair turns. Nobody waits for a turn: a session that does
not get one just redraws its curves and asks again at its next update, so a click is never
queued behind training.

Every live update is also Python work under the GIL (building and sending the figures), which
clicks wait for. So the more sessions train, the less often each updates (`update_interval`):
all their updates together stay near REDRAWS_PER_SECOND, and each turn is long enough that the
slots stay busy between them.
"""

from __future__ import annotations

import os
import threading
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass

from explorer.nn.parallel import _usable_cores, single_threaded

SLICE = 0.4  # seconds of training in a turn when few sessions train
MIN_SLICE = 0.1  # shorter turns would spend more on redrawing than on training
REDRAWS_PER_SECOND = 3.0  # live updates of all training sessions together
STALE = 5.0  # seconds of silence, beyond two of its update intervals, after which a session has left
COMPANY = 30.0  # a session that clicked within this many seconds may need a core for its clicks


def default_slots() -> int:
    """The machine's cores minus one (at least one), or EXPLORER_TRAINING_SLOTS when set."""
    try:
        return max(1, int(os.environ["EXPLORER_TRAINING_SLOTS"]))
    except (KeyError, ValueError):
        return max(1, _usable_cores() - 1)


@dataclass
class _Trainer:
    trained: float = 0.0  # seconds of training it got
    last_seen: float = 0.0
    running: bool = False


class TrainingScheduler:
    def __init__(self, slots: int | None = None, slice_seconds: float = SLICE, clock=time.monotonic):
        self.slots = slots if slots is not None else default_slots()
        self.slice_seconds = slice_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._trainers: dict[str, _Trainer] = {}
        self._visits: dict[str, float] = {}  # session -> when it last ran its page

    def visit(self, session: str) -> None:
        """Every page run says so: the scheduler then knows whether others need a core for clicks."""
        with self._lock:
            now = self._clock()
            self._visits[session] = now
            for name in [n for n, when in self._visits.items() if now - when > COMPANY]:
                del self._visits[name]

    def alone(self, session: str) -> bool:
        """No other session ran a page recently, nor trains."""
        with self._lock:
            now = self._clock()
            others = {n for n, when in self._visits.items() if now - when <= COMPANY} | set(self._active(now))
            return not (others - {session})

    def _active(self, now: float) -> dict[str, _Trainer]:
        stale = self.stale_after(len(self._trainers))
        for name in [n for n, t in self._trainers.items() if not t.running and now - t.last_seen > stale]:
            del self._trainers[name]
        return self._trainers

    def stale_after(self, count: int) -> float:
        """Seconds without asking after which a session no longer counts as training. A session
        asks at each of its live updates, further apart the more train: it has left when it missed
        two. (With a fixed 5 s, shorter than the 10 s between updates when 30 train, every session
        counted as a newcomer at each ask, and the turns went to whoever asked when a slot was
        free: some of the 30 got none.)"""
        return STALE + 2 * self.update_interval(0.0, count)

    def training_count(self) -> int:
        with self._lock:
            return len(self._active(self._clock()))

    def update_interval(self, base: float, count: int | None = None) -> float:
        """Seconds between a training session's live updates: `base` while few train, longer
        when many do, so that all their updates together stay near REDRAWS_PER_SECOND."""
        count = self.training_count() if count is None else count
        return max(base, count / REDRAWS_PER_SECOND)

    def slice_for(self, count: int) -> float:
        """A turn's length: full while every trainer has a slot; when more wait, the slots' time
        between two updates of a session, shared by all who train."""
        if count <= self.slots:
            return self.slice_seconds
        between_updates = self.update_interval(2 * self.slice_seconds, count)
        return min(self.slice_seconds, max(MIN_SLICE, between_updates * self.slots / count))

    def share(self, session: str) -> float:
        """The fraction of a core this session's training gets while the others keep training."""
        count = max(1, self.training_count())
        return min(1.0, self.slots / count)

    def request(self, session: str) -> float:
        """Seconds this session may train now (0.0: not its turn). Never waits.

        Fair by the training time each session got: a free slot goes to a session that is at
        most one turn behind the least served one. So sessions take turns, and a slot does not
        stay idle when the session whose turn it would be is slow to ask."""
        with self._lock:
            now = self._clock()
            trainers = self._active(now)
            if session not in trainers:  # a newcomer starts level with the least served
                trainers[session] = _Trainer(trained=min((t.trained for t in trainers.values()), default=0.0))
            me = trainers[session]
            me.last_seen = now
            turn = self.slice_for(len(trainers))
            busy = sum(t.running for t in trainers.values())
            least = min(t.trained for t in trainers.values() if not t.running)
            if me.running or busy >= self.slots or me.trained >= least + turn:
                return 0.0
            me.running = True
            return turn

    def release(self, session: str, trained: float) -> None:
        with self._lock:
            me = self._trainers.get(session)
            if me is not None:
                me.running, me.trained = False, me.trained + trained
                me.last_seen = self._clock()

    def leave(self, session: str) -> None:
        """The session stopped training (paused, finished, reset)."""
        with self._lock:
            me = self._trainers.get(session)
            if me is not None and not me.running:
                del self._trainers[session]

    @contextmanager
    def turn(self, session: str):
        """with scheduler.turn(id) as seconds: train for `seconds` (0.0: skip this update)."""
        seconds = self.request(session)
        if not seconds:
            yield 0.0
            return
        # Alone on the server, a session trains on every core; with others it keeps to one, so
        # the training of all sessions together leaves a core for clicks.
        with nullcontext() if self.alone(session) else single_threaded():
            start = time.perf_counter()
            try:
                yield seconds
            finally:
                self.release(session, time.perf_counter() - start)


_scheduler = TrainingScheduler()


def scheduler() -> TrainingScheduler:
    return _scheduler
