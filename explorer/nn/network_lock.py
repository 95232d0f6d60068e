"""The lock a network's users take in turn, with one courtesy: training steps aside.

A training turn holds its network for many steps, then takes it again right after letting go.
With a plain lock it wins that race nearly every time (the thread it woke has not even been
scheduled yet), and a page that wants the network to show what it sees waits turn after turn.
Here training takes the lock only when nobody else is waiting for it, and ends its turn early
when someone starts to wait (`wanted`).
"""
from __future__ import annotations

import threading
from contextlib import contextmanager


class NetworkLock:
    """A reentrant lock: `with lock:` for everyone, `with lock.politely():` for training."""

    def __init__(self) -> None:
        self._changed = threading.Condition(threading.Lock())
        self._owner: int | None = None  # the thread holding it
        self._depth = 0  # how many times the owner took it
        self._waiting = 0  # threads other than training waiting for it

    @property
    def wanted(self) -> bool:
        """Someone is waiting for the lock: training should finish its step and let go."""
        return self._waiting > 0

    def acquire(self, polite: bool = False) -> None:
        me = threading.get_ident()
        with self._changed:
            if self._owner == me:
                self._depth += 1
                return
            if polite:
                self._changed.wait_for(lambda: self._owner is None and not self._waiting)
            else:
                self._waiting += 1
                self._changed.wait_for(lambda: self._owner is None)
                self._waiting -= 1
            self._owner, self._depth = me, 1

    def release(self) -> None:
        with self._changed:
            if self._owner != threading.get_ident():
                raise RuntimeError("release of a network lock this thread does not hold")
            self._depth -= 1
            if not self._depth:
                self._owner = None
                self._changed.notify_all()

    def __enter__(self) -> NetworkLock:
        self.acquire()
        return self

    def __exit__(self, *exc_info) -> None:
        self.release()

    @contextmanager
    def politely(self):
        """`with lock.politely():` takes the lock only when nobody else is waiting for it."""
        self.acquire(polite=True)
        try:
            yield self
        finally:
            self.release()
