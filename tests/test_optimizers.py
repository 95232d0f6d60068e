"""Optimizers against their update rules written out by hand (from the LATEX strings in
explorer/nn/optimizers.py), weight decay, learning-rate changes, errors, denormal flushing."""
from __future__ import annotations

import numpy as np
import pytest

from explorer.nn import optimizers
from explorer.nn.layers import Parameter
from explorer.nn.optimizers import OPTIMIZERS, AdaGrad, Adam, Momentum, Nesterov, RMSprop, SGD, make_optimizer

# --- the update rules, one step at a time, in float64 -----------------------------------------
# Each takes (w, g, state, hyper, t) and returns the new w; `state` is a dict it may fill.


def sgd_rule(w, g, s, hp, t):
    # w <- w - eta * grad
    return w - hp["lr"] * g


def momentum_rule(w, g, s, hp, t):
    # v <- mu v - eta grad ; w <- w + v
    s["v"] = hp["momentum"] * s.get("v", 0.0) - hp["lr"] * g
    return w + s["v"]


def nesterov_rule(w, g, s, hp, t):
    # v <- mu v - eta grad ; w <- w + mu v - eta grad   (with the new v)
    s["v"] = hp["momentum"] * s.get("v", 0.0) - hp["lr"] * g
    return w + hp["momentum"] * s["v"] - hp["lr"] * g


def adagrad_rule(w, g, s, hp, t):
    # h <- h + grad^2 ; w <- w - eta grad / (sqrt(h) + eps)
    s["h"] = s.get("h", 0.0) + g**2
    return w - hp["lr"] * g / (np.sqrt(s["h"]) + hp["eps"])


def rmsprop_rule(w, g, s, hp, t):
    # h <- rho h + (1 - rho) grad^2 ; w <- w - eta grad / (sqrt(h) + eps)
    s["h"] = hp["rho"] * s.get("h", 0.0) + (1 - hp["rho"]) * g**2
    return w - hp["lr"] * g / (np.sqrt(s["h"]) + hp["eps"])


def adam_rule(w, g, s, hp, t):
    # m <- b1 m + (1 - b1) grad ; v <- b2 v + (1 - b2) grad^2 ;
    # w <- w - eta (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps),   t = 1, 2, 3, ...
    s["m"] = hp["beta1"] * s.get("m", 0.0) + (1 - hp["beta1"]) * g
    s["v"] = hp["beta2"] * s.get("v", 0.0) + (1 - hp["beta2"]) * g**2
    m_hat = s["m"] / (1 - hp["beta1"] ** t)
    v_hat = s["v"] / (1 - hp["beta2"] ** t)
    return w - hp["lr"] * m_hat / (np.sqrt(v_hat) + hp["eps"])


# (name, class, rule, non-default hyperparameters, documented defaults)
CASES = [
    ("sgd", SGD, sgd_rule, {"lr": 0.07}, {"lr": 0.1}),
    ("momentum", Momentum, momentum_rule, {"lr": 0.05, "momentum": 0.8}, {"lr": 0.01, "momentum": 0.9}),
    ("nesterov", Nesterov, nesterov_rule, {"lr": 0.05, "momentum": 0.7}, {"lr": 0.01, "momentum": 0.9}),
    ("adagrad", AdaGrad, adagrad_rule, {"lr": 0.2, "eps": 1e-6}, {"lr": 0.01, "eps": 1e-7}),
    ("rmsprop", RMSprop, rmsprop_rule, {"lr": 0.03, "rho": 0.8, "eps": 1e-6}, {"lr": 0.001, "rho": 0.9, "eps": 1e-7}),
    ("adam", Adam, adam_rule, {"lr": 0.02, "beta1": 0.8, "beta2": 0.95, "eps": 1e-6},
     {"lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}),
]
IDS = [c[0] for c in CASES]


def gradient_sequence(seed, shape, steps=3, scale=1.0):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape) * scale for _ in range(steps)]


def run_reference(rule, w0, grads, hypers, wd=0.0, decay=True):
    """Apply `rule` for len(grads) steps; hypers[t] are the hyperparameters of step t."""
    w, state, history = w0.astype(np.float64).copy(), {}, []
    for t, (g, hp) in enumerate(zip(grads, hypers), start=1):
        if wd and decay:
            g = g + wd * w  # L2 weight decay: the gradient of wd/2 |w|^2
        w = rule(w, g, state, hp, t)
        history.append(w.copy())
    return history


@pytest.mark.parametrize("name, cls, rule, hyper, defaults", CASES, ids=IDS)
def test_three_steps_match_the_formula(name, cls, rule, hyper, defaults):
    rng = np.random.default_rng(0)
    # Two parameters: ordinary gradients, and tiny ones where eps matters (1e-7 vs eps 1e-6).
    big = Parameter(rng.standard_normal((3, 4)))
    tiny = Parameter(rng.standard_normal(5))
    g_big = gradient_sequence(1, big.value.shape)
    g_tiny = gradient_sequence(2, tiny.value.shape, scale=1e-6)
    expected_big = run_reference(rule, big.value, g_big, [dict(defaults, **hyper)] * 3)
    expected_tiny = run_reference(rule, tiny.value, g_tiny, [dict(defaults, **hyper)] * 3)
    opt = make_optimizer(name, [big, tiny], **hyper)
    assert isinstance(opt, cls)
    big_array = big.value
    for step in range(3):
        big.grad, tiny.grad = g_big[step].copy(), g_tiny[step].copy()
        opt.step()
        np.testing.assert_allclose(big.value, expected_big[step], rtol=1e-12, atol=1e-15, err_msg=f"step {step + 1}")
        np.testing.assert_allclose(tiny.value, expected_tiny[step], rtol=1e-12, atol=1e-15, err_msg=f"step {step + 1}")
        # The optimizer reads the gradient and updates the value in place.
        np.testing.assert_array_equal(big.grad, g_big[step])
    assert big.value is big_array
    # Every step really moved the weights (no formula is checked on a no-op).
    assert not np.allclose(expected_big[0], expected_big[1]) and not np.allclose(expected_big[1], expected_big[2])


@pytest.mark.parametrize("name, cls, rule, hyper, defaults", CASES, ids=IDS)
def test_slice_by_slice_updates_equal_whole_array_updates(monkeypatch, name, cls, rule, hyper, defaults):
    """Large weights are updated CHUNK values at a time (to stay in cache): bit for bit the same."""
    grads = gradient_sequence(3, (4, 7))
    results = []
    for chunk in (5, 1 << 16):  # 28 values: five full slices and a partial one; one slice
        monkeypatch.setattr(optimizers, "CHUNK", chunk)
        p = Parameter(np.linspace(-1, 1, 28).reshape(4, 7))
        opt = make_optimizer(name, [p], weight_decay=0.01, **hyper)
        for g in grads:
            p.grad = g.copy()
            opt.step()
        results.append(p.value)
    np.testing.assert_array_equal(results[0], results[1])
    assert not np.allclose(results[0], np.linspace(-1, 1, 28).reshape(4, 7))


@pytest.mark.parametrize("name, cls, rule, hyper, defaults", CASES, ids=IDS)
def test_documented_defaults(name, cls, rule, hyper, defaults):
    p = Parameter(np.ones(4))
    opt = cls([p])
    assert opt.hyperparameters() == defaults
    g = gradient_sequence(3, (4,))
    expected = run_reference(rule, p.value, g, [defaults] * 3)
    for step in range(3):
        p.grad = g[step]
        opt.step()
    np.testing.assert_allclose(p.value, expected[-1], rtol=1e-12)


@pytest.mark.parametrize("name, cls, rule, hyper, defaults", CASES, ids=IDS)
def test_weight_decay_only_for_decay_params(name, cls, rule, hyper, defaults):
    rng = np.random.default_rng(4)
    decayed = Parameter(rng.standard_normal((2, 3)), decay=True)
    plain = Parameter(rng.standard_normal((2, 3)), decay=False)
    gd, gp = gradient_sequence(5, (2, 3)), gradient_sequence(6, (2, 3))
    hp = [dict(defaults, **hyper)] * 3
    wd = 0.3
    expected_decayed = run_reference(rule, decayed.value, gd, hp, wd=wd, decay=True)
    expected_plain = run_reference(rule, plain.value, gp, hp, wd=wd, decay=False)
    without_decay = run_reference(rule, decayed.value, gd, hp)
    opt = make_optimizer(name, [decayed, plain], weight_decay=wd, **hyper)
    for step in range(3):
        decayed.grad, plain.grad = gd[step].copy(), gp[step].copy()
        opt.step()
        np.testing.assert_allclose(decayed.value, expected_decayed[step], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(plain.value, expected_plain[step], rtol=1e-12, atol=1e-15)
        np.testing.assert_array_equal(decayed.grad, gd[step])  # the decay term is not written into .grad
    assert not np.allclose(expected_decayed[-1], without_decay[-1])  # the decay made a difference


@pytest.mark.parametrize("name, cls, rule, hyper, defaults", CASES, ids=IDS)
def test_learning_rate_change_applies_from_next_step(name, cls, rule, hyper, defaults):
    rng = np.random.default_rng(7)
    p = Parameter(rng.standard_normal(6))
    g = gradient_sequence(8, (6,))
    first = dict(defaults, **hyper)
    second = dict(first, lr=first["lr"] * 5)
    expected = run_reference(rule, p.value, g, [first, second, second])
    unchanged = run_reference(rule, p.value, g, [first] * 3)
    opt = make_optimizer(name, [p], **hyper)
    p.grad = g[0]
    opt.step()
    np.testing.assert_allclose(p.value, expected[0], rtol=1e-12)
    opt.lr = second["lr"]
    assert opt.hyperparameters()["lr"] == second["lr"]
    for step in (1, 2):
        p.grad = g[step]
        opt.step()
        np.testing.assert_allclose(p.value, expected[step], rtol=1e-12)
    assert not np.allclose(expected[-1], unchanged[-1])


def test_unknown_hyperparameter_raises():
    p = Parameter(np.zeros(3))
    with pytest.raises(ValueError, match="momentum"):
        SGD([p], momentum=0.9)
    with pytest.raises(ValueError, match="rho"):
        make_optimizer("adam", [p], rho=0.9)
    with pytest.raises(ValueError, match="adamw"):
        make_optimizer("adamw", [p])
    assert set(OPTIMIZERS) == {"sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"}


@pytest.mark.parametrize("name, hyper", [
    ("momentum", {"momentum": 0.9}), ("nesterov", {"momentum": 0.9}),
    ("rmsprop", {"rho": 0.9}), ("adam", {"beta1": 0.9, "beta2": 0.9}),
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_state_of_zero_gradients_is_flushed_to_exact_zero(name, hyper, dtype):
    """Decaying averages of zero gradients must become exactly 0, never denormal numbers
    (which x86 CPUs process up to 100x slower)."""
    p = Parameter(np.ones(8, dtype))
    opt = make_optimizer(name, [p], lr=0.01, **hyper)
    p.grad = np.full(8, 1e-3, dtype)
    opt.step()
    p.grad = np.zeros(8, dtype)
    smallest_normal = np.finfo(dtype).tiny

    def state_arrays():
        return [array for state in opt.state for array in state.values()]

    assert state_arrays() and all(np.any(a != 0) for a in state_arrays())
    for _ in range(1500):  # 0.9^1500 ~ 1e-69: far below float32's normal range
        opt.step()
        for array in state_arrays():
            assert not np.any((array != 0) & (np.abs(array) < smallest_normal)), "denormal state value"
    for state in opt.state:
        for key, array in state.items():
            assert np.all(array == 0), f"{name}.{key} is not exactly zero: {array}"
            assert array.dtype == dtype
    assert np.all(np.isfinite(p.value)) and p.value.dtype == dtype
