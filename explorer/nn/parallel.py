"""Both CPU cores on one batch: layers share their work out over two threads.

NumPy releases the GIL inside its copies, ufuncs and matrix products, so two Python threads,
each on its own part of the batch, keep two cores busy - including for the im2col copies and
the elementwise layers, which NumPy runs on one core. Meanwhile BLAS must stay on one thread:
two threads each asking OpenBLAS for two would fight over the same two cores, and OpenBLAS's
idle threads keep spinning for a while after every call they helped with.

A training step of a convolutional network shares out whole halves of its batch instead: each
half goes through its own copy of the network (Network.train_step_gradients), with no hand-over
per layer, and the layers inside each half run on their own thread.

Handing work to another thread costs tens of microseconds, so only big work is shared out,
and only when the helper is free: when several sessions of the app train at once, each already
has a core's worth of work, and each runs its chunks in its own thread.
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import numpy as np
from threadpoolctl import ThreadpoolController

from explorer.nn.machine import usable_cores


WORKERS = min(2, usable_cores())  # at most two: tuned and measured on a 2-core server
MIN_SPLIT_BYTES = 1 << 20  # elementwise work on smaller arrays stays on one thread
_helpers = ThreadPoolExecutor(WORKERS - 1, thread_name_prefix="explorer-worker") if WORKERS > 1 else None
_helpers_free = threading.Lock()  # held by the one map_chunks the helpers are working for
_current = threading.local()  # .worker: which worker this thread is running as, inside map_chunks


def map_chunks(work, parts: list) -> list:
    """[work(part, worker) for part in parts], the parts dealt out over the workers in turn;
    `worker` (0 .. WORKERS-1) lets each one use its own scratch buffers."""
    running_as = getattr(_current, "worker", None)
    if len(parts) < 2:
        return [work(part, running_as or 0) for part in parts]
    # Work inside work stays in its thread (a helper waiting for a helper could wait forever),
    # and so does work that finds the helpers busy: then another session is using the other
    # core already, and queueing behind it would only make both wait.
    if running_as is not None or _helpers is None or not _helpers_free.acquire(blocking=False):
        # BLAS on one thread here too, as when the parts run side by side: OpenBLAS may sum in
        # another order on two threads, and the numbers must not depend on who was free.
        with one_blas_thread():
            return [work(part, running_as or 0) for part in parts]
    runs = [parts[worker::WORKERS] for worker in range(WORKERS)]

    def do_run(worker):
        _current.worker = worker
        try:
            return [work(part, worker) for part in runs[worker]]
        finally:
            _current.worker = None

    try:
        with one_blas_thread():
            helpers = [_helpers.submit(do_run, worker) for worker in range(1, WORKERS)]
            results = [do_run(0)] + [helper.result() for helper in helpers]
    finally:
        _helpers_free.release()
    return [results[i % WORKERS][i // WORKERS] for i in range(len(parts))]


def halves(n: int) -> list[slice]:
    """A batch of n cut in two (on every machine: the cut decides the arithmetic)."""
    return [slice(0, n // 2), slice(n // 2, n)]


def batch_parts(array: np.ndarray) -> list[slice]:
    """The batch axis of `array` cut into WORKERS slices, or whole when the array is small."""
    n = len(array)
    if _helpers is None or array.nbytes < MIN_SPLIT_BYTES or n < WORKERS:
        return [slice(0, n)]
    bounds = [n * worker // WORKERS for worker in range(WORKERS + 1)]
    return [slice(start, stop) for start, stop in zip(bounds, bounds[1:])]


def map_batch(work, *arrays: np.ndarray) -> np.ndarray:
    """work(*arrays, out=None) for an elementwise `work`, on both cores when the arrays are big:
    each worker computes its part of the batch axis into its part of one output array."""
    parts = batch_parts(arrays[0])
    if len(parts) == 1:
        return work(*arrays)  # small: handing out would cost more than it saves
    out = np.empty_like(arrays[0])
    map_chunks(lambda part, _: work(*(array[part] for array in arrays), out=out[part]), parts)
    return out


class _BlasThreads:
    """BLAS's thread count, which is process-wide. Inside `one_blas_thread()` BLAS runs on one
    thread; the contexts nest and are shared by threads (sessions of the app train side by side).
    Leaving the last one does not give BLAS its threads back: `own_blas_threads()` does, when no
    work is inside. Each change of the count costs tens of microseconds (OpenBLAS parks or wakes
    its threads), more than a small layer's product: a run of convolutional networks' passes, one
    drawn digit after another, then changes nothing between them."""

    def __init__(self):
        self._lock = threading.Lock()
        self._inside = 0
        self._blas = ThreadpoolController().select(user_api="blas").lib_controllers
        # BLAS's own choice, but no more threads than the cores this process may use: OpenBLAS
        # counts the machine's cores, not a container's limit
        self._own_counts = [min(lib.get_num_threads(), usable_cores()) for lib in self._blas]
        self.lowered = False

    def enter_one(self):
        with self._lock:
            if not self.lowered:
                self._set([1] * len(self._blas))
                self.lowered = True
            self._inside += 1

    def leave_one(self):
        with self._lock:
            self._inside -= 1

    def give_back(self):
        with self._lock:
            if self.lowered and self._inside == 0:
                self._set(self._own_counts)
                self.lowered = False

    def _set(self, counts):
        for lib, count in zip(self._blas, counts):
            # threadpoolctl lets only one thread at a time set OpenBLAS's process-wide count and
            # ignores the others; this class already serialises the changes, so claim it.
            if hasattr(lib, "clear_controlling_thread"):
                lib.clear_controlling_thread(force=True)
            lib.set_num_threads(count)


_blas_threads = _BlasThreads()


class _OneBlasThread:
    """Context: BLAS on one thread inside (and after, until own_blas_threads)."""

    def __enter__(self):
        _blas_threads.enter_one()

    def __exit__(self, *exc):
        _blas_threads.leave_one()


class _OwnBlasThreads:
    """Context: BLAS on the threads it chose itself inside, unless other work holds it to one."""

    def __enter__(self):
        if _blas_threads.lowered:  # read without the lock: give_back looks again under it
            _blas_threads.give_back()

    def __exit__(self, *exc):
        pass


_one_blas_thread, _own_blas_threads = _OneBlasThread(), _OwnBlasThreads()


def one_blas_thread() -> _OneBlasThread:
    return _one_blas_thread


def own_blas_threads() -> _OwnBlasThreads:
    return _own_blas_threads


@contextmanager
def single_threaded():
    """Inside, this thread's work stays in this thread and BLAS runs on one thread: for a session
    that trains while other sessions need the other core (explorer/ui/scheduler.py)."""
    running_as = getattr(_current, "worker", None)
    _current.worker = running_as or 0  # map_chunks keeps work inside work in its thread
    try:
        with one_blas_thread():
            yield
    finally:
        _current.worker = running_as
