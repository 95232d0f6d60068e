"""The network's lock: reentrant, first come first served, and training lets a page in."""
from __future__ import annotations

import threading

import pytest

from explorer.nn.network_lock import NetworkLock
from explorer.nn.training import TrainConfig, Trainer
from tests.test_scheduler import eventually
from tests.test_training import fake_data

PATIENCE = 60  # seconds a thread may take before the test calls it hung


def test_the_owner_can_take_it_again_and_only_the_owner_releases_it():
    lock = NetworkLock()
    with lock:
        with lock:
            pass
        errors = []
        stranger = threading.Thread(target=lambda: errors.append(pytest.raises(RuntimeError, lock.release)))
        stranger.start()
        stranger.join(PATIENCE)
        assert len(errors) == 1
    with lock:  # free again after the outer block
        pass


def test_first_come_first_served_even_against_a_thread_that_takes_it_again_at_once():
    lock, order = NetworkLock(), []

    def page():
        with lock:
            order.append("page")

    lock.acquire()  # training holds it
    waiting = threading.Thread(target=page)
    waiting.start()
    assert eventually(lambda: lock.wanted, PATIENCE)  # the page waits
    lock.release()
    lock.acquire()  # training at once asks again: it queues behind the page
    order.append("training")
    lock.release()
    waiting.join(PATIENCE)
    assert order == ["page", "training"]
    assert not lock.wanted


def test_a_slice_of_training_ends_early_when_a_page_wants_the_network():
    trainer = Trainer(TrainConfig(model="zhou-cnn", epochs=1000, val_size=20), fake_data())
    steps = []
    training = threading.Thread(target=lambda: steps.append(trainer.run(seconds=3600)), daemon=True)
    training.start()
    assert eventually(lambda: trainer.step > 0, PATIENCE)
    got = threading.Event()

    def page():
        with trainer.net.lock:
            got.set()

    threading.Thread(target=page, daemon=True).start()
    assert got.wait(PATIENCE), "the page never got the network"
    training.join(PATIENCE)
    assert not training.is_alive() and steps == [trainer.step] and not trainer.finished
