"""The lock a network's users take in turn: first come, first served.

A training turn holds its network for many steps, then takes it again right after letting go.
With a plain lock it wins that race nearly every time (the thread it woke has not even been
scheduled yet), and a page that wants the network to show what it sees waits turn after turn.
Here every thread that asks gets a ticket and the lock goes to the tickets in order, so a thread
that lets go and asks again queues behind those already waiting. Training also ends its turn
early when someone starts to wait (`wanted`).
"""
from __future__ import annotations

import threading


class NetworkLock:
    """A reentrant lock that serves the threads asking for it in the order they asked."""

    def __init__(self) -> None:
        self._changed = threading.Condition(threading.Lock())
        self._owner: int | None = None  # the thread holding it
        self._depth = 0  # how many times the owner took it
        self._next_ticket = 0  # the ticket the next thread to ask gets
        self._serving = 0  # the ticket whose turn it is

    @property
    def wanted(self) -> bool:
        """Another thread is waiting for the lock: whoever holds it for long should let go soon."""
        return self._next_ticket - self._serving > (self._owner is not None)

    def acquire(self) -> None:
        me = threading.get_ident()
        with self._changed:
            if self._owner == me:
                self._depth += 1
                return
            ticket, self._next_ticket = self._next_ticket, self._next_ticket + 1
            self._changed.wait_for(lambda: self._owner is None and self._serving == ticket)
            self._owner, self._depth = me, 1

    def release(self) -> None:
        with self._changed:
            if self._owner != threading.get_ident():
                raise RuntimeError("release of a network lock this thread does not hold")
            self._depth -= 1
            if not self._depth:
                self._owner = None
                self._serving += 1
                self._changed.notify_all()

    def __enter__(self) -> NetworkLock:
        self.acquire()
        return self

    def __exit__(self, *exc_info) -> None:
        self.release()
