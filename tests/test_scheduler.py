"""explorer/ui/scheduler.py: sessions that train share the training slots fairly, clicks never wait."""

import threading
import time

import numpy as np
import pytest

from explorer.nn import parallel
from explorer.ui.scheduler import REDRAWS_PER_SECOND, MIN_SLICE, TrainingScheduler


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_a_free_slot_goes_to_the_session_that_trained_least():
    clock = FakeClock()
    s = TrainingScheduler(slots=1, clock=clock)
    assert s.request("a") > 0  # the only one: its turn
    assert s.request("b") == 0.0  # the slot is taken: b does not wait, it asks again later
    s.release("a", 0.4)
    assert s.request("a") == 0.0  # a is a whole turn ahead of b
    assert s.request("b") > 0
    s.release("b", 0.4)
    assert s.request("a") > 0  # level again


def test_a_newcomer_starts_level_with_the_least_served_not_at_zero():
    s = TrainingScheduler(slots=1, clock=FakeClock())
    for _ in range(5):
        s.request("old")
        s.release("old", 0.4)
    assert s.request("new") > 0
    s.release("new", 0.4)
    assert s.request("old") > 0  # the newcomer did not get five turns in a row


def test_turns_get_shorter_when_many_train():
    clock = FakeClock()
    s = TrainingScheduler(slots=1, slice_seconds=0.4, clock=clock)
    assert s.slice_for(1) == 0.4
    assert MIN_SLICE <= s.slice_for(10) < 0.4
    assert s.slice_for(30) == pytest.approx(s.slice_for(10))  # many: one turn per (less frequent) update
    assert TrainingScheduler(slots=1, slice_seconds=0.01).slice_for(10) == 0.01  # never longer than asked


def test_updates_come_less_often_when_many_train_and_the_slots_stay_busy():
    s = TrainingScheduler(slots=1, slice_seconds=0.4)
    assert s.update_interval(0.8, count=1) == 0.8
    assert s.update_interval(0.8, count=30) == 30 / REDRAWS_PER_SECOND  # all updates together: a few a second
    for count in (2, 10, 30):
        interval = s.update_interval(0.8, count)
        assert count / interval <= max(REDRAWS_PER_SECOND, 1 / 0.8 * count)
        busy = count * s.slice_for(count) / interval  # each session trains one turn per update
        assert 0.75 <= busy <= 1.0 + 1e-9, (count, busy)


def test_a_session_that_stops_asking_leaves_the_rotation():
    clock = FakeClock()
    s = TrainingScheduler(slots=1, clock=clock)
    s.request("a")
    s.release("a", 0.4)
    s.request("b")
    s.release("b", 0.4)
    assert s.training_count() == 2 and s.share("a") == 0.5
    clock.now = s.stale_after(2) - 0.5  # "a" missed an update or so: still in
    s.request("b")
    assert s.training_count() == 2
    clock.now = s.stale_after(2) + 1
    s.request("b")
    assert s.training_count() == 1


@pytest.mark.parametrize("count", [10, 30])
def test_sessions_asking_only_at_their_live_updates_get_fair_shares(count):
    """As on the server: each session asks once per live update (every update_interval, at its
    own moment), trains for the turn it gets, then redraws. With 30 sessions their updates are 10 s
    apart: none may drop out of the rotation between two of its updates."""
    clock = FakeClock()
    s = TrainingScheduler(slots=1, clock=clock)
    names = [f"s{i}" for i in range(count)]
    interval = s.update_interval(1.0, count)
    next_ask = {name: interval * ((7 * i) % count) / count for i, name in enumerate(names)}
    running, trained = {}, dict.fromkeys(names, 0.0)
    while clock.now < 120:
        for name in names:
            if name in running and clock.now >= running[name][0]:
                seconds = running.pop(name)[1]
                s.release(name, seconds)
                trained[name] += seconds
            if name not in running and clock.now >= next_ask[name]:
                seconds = s.request(name)
                if seconds:
                    running[name] = (clock.now + seconds, seconds)
                next_ask[name] = clock.now + seconds + s.update_interval(1.0)
            assert len(running) <= 1
        clock.now += 0.01
    assert min(trained.values()) >= max(trained.values()) / 2, trained


def test_the_slots_leave_a_core_for_clicks():
    cores = parallel._usable_cores()
    assert TrainingScheduler().slots == max(1, cores - 1)


def test_a_request_never_waits_while_the_slots_are_busy():
    s = TrainingScheduler(slots=1)
    answers = []
    with s.turn("trainer") as seconds:
        assert seconds > 0
        asker = threading.Thread(target=lambda: answers.append(s.request("clicker")))
        asker.start()
        asker.join(timeout=5)  # would hang here if a request queued behind the running turn
        assert not asker.is_alive() and answers == [0.0]


def test_ten_sessions_training_at_once_get_fair_shares_and_never_exceed_the_slots():
    s = TrainingScheduler(slots=1, slice_seconds=0.01)
    turns = {f"s{i}": 0 for i in range(10)}
    trained = dict.fromkeys(turns, 0.0)
    running, most_running = [0], [0]
    guard = threading.Lock()
    stop = time.monotonic() + 1.5

    def session(name):
        while time.monotonic() < stop:
            with s.turn(name) as seconds:
                if seconds:
                    with guard:
                        running[0] += 1
                        most_running[0] = max(most_running[0], running[0])
                    start = time.perf_counter()
                    time.sleep(seconds)  # training
                    trained[name] += time.perf_counter() - start
                    with guard:
                        running[0] -= 1
                    turns[name] += 1
            time.sleep(0.002)  # the next live update

    threads = [threading.Thread(target=session, args=(name,)) for name in turns]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert most_running[0] == 1
    assert min(trained.values()) >= max(trained.values()) / 2, trained
    assert min(turns.values()) > 0


def test_alone_a_session_trains_on_every_core_and_with_company_on_one(monkeypatch):
    clock = FakeClock()
    s = TrainingScheduler(slots=1, clock=clock)
    calls = []
    monkeypatch.setattr("explorer.ui.scheduler.single_threaded", lambda: _Recorder(calls))
    s.visit("teacher")
    with s.turn("teacher"):
        pass
    assert calls == []
    s.visit("student")
    clock.now = 1.0
    with s.turn("teacher"):
        pass
    assert calls == ["entered"]


class _Recorder:
    def __init__(self, calls):
        self.calls = calls

    def __enter__(self):
        self.calls.append("entered")

    def __exit__(self, *exc):
        return False


def test_single_threaded_hands_nothing_to_the_helper_threads_and_gives_the_same_numbers(monkeypatch):
    from explorer.nn.models import build_model

    x = np.random.default_rng(0).random((64, 28, 28, 1), dtype=np.float32)
    y = np.arange(64) % 10
    shared_out = build_model("lenet", seed=0).train_step_gradients(x, y)

    class NoHelpers:
        def submit(self, *args):
            raise AssertionError("work was handed to a helper thread")

    monkeypatch.setattr(parallel, "_helpers", NoHelpers())
    with parallel.single_threaded():
        in_one_thread = build_model("lenet", seed=0).train_step_gradients(x, y)
    assert in_one_thread == pytest.approx(shared_out, rel=1e-5)
    with pytest.raises(AssertionError, match="helper thread"):  # outside, a big batch is shared out
        build_model("lenet", seed=0).train_step_gradients(x, y)


def test_the_train_page_tells_a_session_its_share(monkeypatch):
    from explorer.ui import train_state

    s = TrainingScheduler(slots=1, clock=FakeClock())
    monkeypatch.setattr(train_state, "scheduler", lambda: s)
    monkeypatch.setattr(train_state, "session_id", lambda: "me")
    s.request("me")
    s.release("me", 0.4)
    assert train_state.share_text() is None  # alone: nothing to say
    for other in ("a", "b", "c"):
        s.request(other)
    assert train_state.share_text() == "3 classmates are training too: your network gets 1/4 of a core."


def test_a_deployment_can_set_the_number_of_training_slots(monkeypatch):
    from explorer.ui.scheduler import default_slots

    monkeypatch.setenv("EXPLORER_TRAINING_SLOTS", "3")
    assert default_slots() == 3
    monkeypatch.setenv("EXPLORER_TRAINING_SLOTS", "many")
    assert default_slots() == max(1, parallel._usable_cores() - 1)
