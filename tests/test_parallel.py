"""Sharing a batch out over the worker threads changes no number, only the speed."""
from __future__ import annotations

import threading

import numpy as np
import pytest

from explorer.nn import parallel
from explorer.nn.conv import MaxPool2D
from explorer.nn.layers import ReLU
from explorer.nn.models import build_model
from explorer.nn.network import Network
from explorer.nn.optimizers import make_optimizer

SPLIT_BATCH = 64  # lenet splits a batch this big over two network copies (and 40 not)


def test_map_chunks_returns_results_in_order_and_gives_each_worker_its_own_index():
    seen = []

    def work(part, worker):
        seen.append((part, worker, threading.get_ident()))
        return part * 10

    parts = list(range(7))
    assert parallel.map_chunks(work, parts) == [part * 10 for part in parts]
    threads_of_worker = {}
    for _, worker, thread in seen:
        threads_of_worker.setdefault(worker, set()).add(thread)
    assert sorted(threads_of_worker) == list(range(parallel.WORKERS))
    assert all(len(threads) == 1 for threads in threads_of_worker.values())  # a worker is one thread


def test_map_chunks_inside_map_chunks_finishes():
    """Work that shares out work of its own runs it in its own thread instead of waiting for
    a helper that is busy running it."""

    def inner(part, worker):
        return (part + 1, worker)

    def outer(part, worker):
        inner_results = parallel.map_chunks(inner, [part, part])
        assert {inner_worker for _, inner_worker in inner_results} == {worker}  # its own buffers
        return sum(value for value, _ in inner_results)

    assert parallel.map_chunks(outer, [0, 1, 2, 3]) == [2, 4, 6, 8]


def test_map_chunks_with_the_helpers_busy_runs_everything_in_the_calling_thread():
    """Another session holds the helpers: no waiting in their queue, the caller does it all."""
    calling_thread = threading.get_ident()
    with parallel._helpers_free:
        ran = parallel.map_chunks(lambda part, worker: (part, worker, threading.get_ident()), [0, 1, 2])
    assert ran == [(part, 0, calling_thread) for part in (0, 1, 2)]


def test_map_chunks_passes_errors_on():
    def work(part, worker):
        if part == 3:
            raise ValueError("bad chunk")
        return part

    with pytest.raises(ValueError, match="bad chunk"):
        parallel.map_chunks(work, list(range(5)))


def test_batch_parts_cover_the_batch_once_and_keep_small_arrays_whole():
    big = np.zeros((7, parallel.MIN_SPLIT_BYTES // 4), np.float32)
    parts = parallel.batch_parts(big)
    assert len(parts) == parallel.WORKERS
    assert np.concatenate([np.arange(7)[part] for part in parts]).tolist() == list(range(7))
    assert parallel.batch_parts(np.zeros((7, 3), np.float32)) == [slice(0, 7)]
    assert parallel.batch_parts(np.zeros((0, 3), np.float32)) == [slice(0, 0)]


def test_map_batch_computes_each_part_of_a_big_batch_into_its_place(monkeypatch):
    a = np.arange(10.0).reshape(5, 2)
    b = -np.arange(10.0).reshape(5, 2) ** 2
    part_sizes = []

    def add(a, b, out=None):
        part_sizes.append(len(a))
        return np.add(a, b, out=out)

    assert parallel.map_batch(add, a, b).tolist() == (a + b).tolist() and part_sizes == [5]  # small: whole
    monkeypatch.setattr(parallel, "MIN_SPLIT_BYTES", 0)
    part_sizes.clear()
    assert parallel.map_batch(add, a, b).tolist() == (a + b).tolist()
    assert len(part_sizes) == parallel.WORKERS and sum(part_sizes) == 5


def test_one_blas_thread_nests_and_blas_gets_its_threads_back_only_when_asked_and_free():
    blas = parallel._blas_threads._blas
    if not blas:
        pytest.skip("NumPy's BLAS is not one threadpoolctl can control")

    def counts():
        return [lib.get_num_threads() for lib in blas]

    own = parallel._blas_threads._own_counts
    with parallel.own_blas_threads():
        assert counts() == own
    with parallel.one_blas_thread():
        with parallel.one_blas_thread():
            assert counts() == [1] * len(blas)
        with parallel.own_blas_threads():  # work inside still holds it to one
            assert counts() == [1] * len(blas)
    assert counts() == [1] * len(blas)  # kept for the next convolutional pass: no change between them
    with parallel.own_blas_threads():
        assert counts() == own
    assert counts() == own


def test_networks_hold_blas_to_one_thread_except_while_an_mlp_trains():
    """A second BLAS thread spins on the other core after every product it helps with: networks
    answer on one thread, and only an MLP's training (big products) gives BLAS its threads."""
    if not parallel._blas_threads._blas:
        pytest.skip("NumPy's BLAS is not one threadpoolctl can control")
    images = np.zeros((8, 28, 28), dtype=np.uint8)

    def lowered_after(work) -> bool:
        with parallel.own_blas_threads():  # start from BLAS's own threads
            pass
        assert not parallel._blas_threads.lowered
        work()
        return parallel._blas_threads.lowered

    answers, training = {}, {}
    for name in ("lenet", "nielsen", "deepconvnet", "keras-mlp"):
        net = build_model(name)
        x = net.prepare(images)
        answers[name] = [lowered_after(lambda: net.forward(x)), lowered_after(lambda: net.predict_proba(images)),
                         lowered_after(lambda: net.trace(x[:1])), lowered_after(lambda: net.input_gradient(x[:1], 0, (0,)))]
        training[name] = lowered_after(lambda: net.train_step_gradients(x, np.zeros(len(x), dtype=np.int64)))
    assert answers == {name: [True] * 4 for name in answers}
    assert training == {"lenet": True, "nielsen": False, "deepconvnet": True, "keras-mlp": False}


@pytest.mark.parametrize("make_layer", [ReLU, lambda: MaxPool2D(2), lambda: MaxPool2D(3, 2)], ids=["relu", "pool2", "pool3s2"])
def test_elementwise_layers_give_the_same_numbers_split_or_whole(monkeypatch, make_layer):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 8, 8, 3)).astype(np.float32)
    x[:, :2] = 0  # ties, where max-pooling must still route each gradient to one input
    dout = None
    results = []
    for min_split_bytes in (1 << 40, 0):  # whole, then split over the workers
        monkeypatch.setattr(parallel, "MIN_SPLIT_BYTES", min_split_bytes)
        layer = make_layer()
        out = layer.forward(x, train=True)
        if dout is None:
            dout = rng.standard_normal(out.shape).astype(np.float32)
        results.append((out, layer.backward(dout)))
    (out_whole, dx_whole), (out_split, dx_split) = results
    np.testing.assert_array_equal(out_whole, out_split)
    np.testing.assert_array_equal(dx_whole, dx_split)
    assert dx_whole.any()


def _train(name: str, steps: int, seed: int = 0, optimizer: str = "adam") -> dict[str, np.ndarray]:
    net = build_model(name, seed=seed)
    optimizer = make_optimizer(optimizer, net.parameters().values(), lr=1e-3)
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        images = rng.integers(0, 256, (SPLIT_BATCH, 28, 28), dtype=np.uint8)
        net.train_step_gradients(net.prepare(images), rng.integers(0, 10, SPLIT_BATCH))
        optimizer.step()
    return net.state()


def _gradients(net: Network, batch: int, seed: int = 5) -> tuple[float, dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (batch, 28, 28), dtype=np.uint8)
    loss = net.train_step_gradients(net.prepare(images), rng.integers(0, 10, batch))
    return loss, {name: p.grad.copy() for name, p in net.parameters().items()}


@pytest.mark.parametrize("name, batch", [("lenet", SPLIT_BATCH), ("lenet", SPLIT_BATCH + 1), ("zhou-cnn", 200)])
def test_a_split_batch_gives_the_whole_batch_gradients(monkeypatch, name, batch):
    """Two copies of the network on two halves of the batch (one per core), their gradients
    added up, are the gradients of the whole batch - odd batches and unequal halves included."""
    net = build_model(name, seed=3)
    assert net._splits(batch) and not net._splits(2)
    split_loss, split = _gradients(net, batch)
    assert net._twin is not None
    monkeypatch.setattr(Network, "_splits", lambda self, batch_size: False)
    whole_loss, whole = _gradients(build_model(name, seed=3), batch)
    assert split_loss == pytest.approx(whole_loss, rel=1e-6)
    for key in whole:
        np.testing.assert_allclose(split[key], whole[key], rtol=2e-4, atol=1e-6, err_msg=key)
        assert np.abs(whole[key]).max() > 0, key


def test_split_training_follows_the_weight_updates(monkeypatch):
    """The second copy computes with the same weight arrays, so it sees every optimizer step."""
    split = _train("lenet", 3, seed=6, optimizer="sgd")
    monkeypatch.setattr(Network, "_splits", lambda self, batch_size: False)
    whole = _train("lenet", 3, seed=6, optimizer="sgd")
    for key in whole:
        np.testing.assert_allclose(split[key], whole[key], rtol=1e-4, atol=1e-6, err_msg=key)


def test_batch_norm_networks_and_small_batches_do_not_split():
    """Batch norm needs the whole batch's statistics; small batches are not worth a hand-over."""
    assert not build_model("tf-cnn-bn", seed=0)._splits(100)
    assert not build_model("lenet", seed=0)._splits(40)
    assert not build_model("keras-mlp", seed=0)._splits(1000)  # BLAS shares an MLP's products itself
    assert build_model("deepconvnet", seed=0)._splits(100)


def test_the_second_copy_draws_its_own_dropout_masks_and_release_drops_it():
    net = build_model("deepconvnet", seed=2)
    _gradients(net, 100)
    twin = net._twin
    mine = [layer for layer in net.layers if type(layer).__name__ == "Dropout"]
    twins = [layer for layer in twin.layers if type(layer).__name__ == "Dropout"]
    assert mine and all(a.rng is not b.rng for a, b in zip(mine, twins))
    assert not np.array_equal(mine[0].mask, twins[0].mask)
    net.release_buffers()
    assert net._twin is None
    _gradients(net, 100)  # and trains on
    assert net._twin is not None


def _assert_same_numbers(actual, expected, name) -> None:
    """Bit for bit: every part of a shared-out batch is computed with BLAS on one thread, whether
    the parts run side by side or one after the other (explorer.nn.parallel.map_chunks), so the
    summation order never depends on who was free. (With BLAS on two threads for the parts run
    one after the other, OpenBLAS summed in another order: 1e-8 apart after a step, and once a
    max-pooling tie went the other way, 1e-3 apart after two, on AMD EPYC CPUs.)"""
    np.testing.assert_array_equal(actual, expected, err_msg=name)


def _in_two_threads(session) -> None:
    """session(0) and session(1) at the same time, each in its own thread, as two app sessions."""
    threads = [threading.Thread(target=session, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_two_sessions_training_side_by_side_get_what_each_gets_alone():
    """Sessions of the app train in their own threads, sharing the worker pool and BLAS's
    thread count: neither may disturb the other's numbers."""
    alone = [_train("lenet", 3, seed) for seed in (1, 2)]
    together = [None, None]

    def session(index):
        together[index] = _train("lenet", 3, index + 1)

    _in_two_threads(session)
    for mine, reference in zip(together, alone):
        for name in reference:
            _assert_same_numbers(mine[name], reference[name], name)


def test_evaluation_rows_are_shared_by_the_layers_of_a_thread_and_not_across_threads():
    """An evaluation pass writes its im2col rows into one buffer per thread, which every layer
    reuses: the layers keep none of their own, and two sessions predicting at the same time in
    their own threads still get what each gets alone."""
    nets = [build_model("deepconvnet", seed=seed) for seed in (1, 2)]
    images = np.random.default_rng(3).integers(0, 256, (2, 7, 28, 28), dtype=np.uint8)
    alone = [net.predict_proba(batch) for net, batch in zip(nets, images)]
    assert all(buffer is None for layer in nets[0].layers for buffer in getattr(layer, "_work", []))
    together = [[], []]

    def session(index):
        for _ in range(20):
            together[index].append(nets[index].predict_proba(images[index]))

    _in_two_threads(session)
    # Not bit for bit: while one session shares work out, BLAS runs on one thread for both,
    # which may round the last bit differently. Rows from another pass would be far off.
    for results, reference in zip(together, alone):
        for result in results:
            np.testing.assert_allclose(result, reference, rtol=1e-5, atol=1e-7)


def test_one_core_machine_gets_the_same_numbers(monkeypatch):
    """With one usable core there is no helper thread: every chunk and both halves of a split
    batch run in the caller."""
    assert build_model("lenet")._splits(SPLIT_BATCH)
    two_workers = _train("lenet", 2, seed=4)
    monkeypatch.setattr(parallel, "_helpers", None)
    one_worker = _train("lenet", 2, seed=4)
    for name in two_workers:
        _assert_same_numbers(one_worker[name], two_workers[name], name)
