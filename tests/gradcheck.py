"""Numerical gradient checks shared by the core's tests (import: `from tests.gradcheck import ...`).

Everything runs in float64. Gradients are estimated with central differences,

    dL/dv[i] ~ (L(v + h e_i) - L(v - h e_i)) / (2 h),   h = 1e-5,

whose truncation error is O(h^2) ~ 1e-10 (relative) for the smooth pieces of our layers.
Analytic and numerical values must agree to a relative error of 1e-5:

    |a - n| <= RTOL * (|a| + |n|) + ATOL,   RTOL = 1e-5, ATOL = 1e-9.

Why the absolute floor ATOL = 1e-9: some true gradients are exactly zero or nearly so (a bias
feeding batch norm, whose mean subtraction cancels it; units in a sigmoid's flat tail). There
the analytic value is rounding noise (~1e-17) and the numerical one is the rounding error of
the loss divided by 2h: a few ulps of an O(1) loss, ~1e-15 / 2e-5 ~ 1e-10. A pure relative test
would compare two kinds of noise; 1e-9 sits above that noise but below every gradient that
matters (the gradients we check are 1e-4 .. 1e1). To keep that noise small for array outputs,
`numerical_gradient` projects the *difference* of the two outputs, sum((f(v+h) - f(v-h)) * R),
so the outputs that a perturbation does not touch cancel exactly instead of adding the
rounding error of a long sum.

Kinks (ReLU at 0, the switch of a max-pool winner, SELU at 0) are not differentiable: a
central difference that straddles one measures a mixture of two slopes. Layer tests build
inputs that stay far (>> h) from kinks; whole-model checks record every kink decision on the
way (`forward_with_signature`) and skip the rare sampled entry whose +-h evaluations cross one.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from explorer.nn.conv import MaxPool2D
from explorer.nn.layers import SELU, LeakyReLU, ReLU

H = 1e-5
RTOL = 1e-5
ATOL = 1e-9


# --- comparison -----------------------------------------------------------------------------


def assert_grad_close(analytic, numeric, what: str, rtol: float = RTOL, atol=ATOL,
                      require_signal: bool = True) -> None:
    """Fail with a readable report unless every entry satisfies the mixed tolerance above
    (`atol` may be an array: one floor per entry).

    `require_signal`: also demand that the gradient is not (numerically) zero everywhere, so a
    check cannot pass vacuously because both sides happen to be 0."""
    analytic = np.asarray(analytic)
    numeric = np.asarray(numeric, dtype=np.float64)
    assert analytic.shape == numeric.shape, f"{what}: analytic shape {analytic.shape} != {numeric.shape}"
    assert np.all(np.isfinite(analytic)), f"{what}: analytic gradient has non-finite entries"
    a = analytic.astype(np.float64)
    err = np.abs(a - numeric)
    bound = rtol * (np.abs(a) + np.abs(numeric)) + atol
    bad = err > bound
    if bad.any():
        flat = np.flatnonzero(bad.ravel())
        worst = flat[np.argmax((err / bound).ravel()[flat])]
        index = np.unravel_index(worst, a.shape) if a.ndim else ()
        rel = err.ravel()[worst] / max(np.abs(a).ravel()[worst] + np.abs(numeric).ravel()[worst], 1e-300)
        floor = np.broadcast_to(atol, a.shape).ravel()[worst]
        raise AssertionError(
            f"{what}: {len(flat)} of {a.size} entries disagree; worst at {index}: "
            f"analytic {a.ravel()[worst]:.10g}, numerical {numeric.ravel()[worst]:.10g} "
            f"(relative error {rel:.3g}, tolerance {rtol:g} + floor {floor:g})"
        )
    if require_signal:
        assert np.max(np.abs(numeric), initial=0.0) > 1e3 * np.max(atol), (
            f"{what}: the numerical gradient is ~0 everywhere; the check would be vacuous"
        )


# --- central differences --------------------------------------------------------------------


def numerical_gradient(f: Callable[[], np.ndarray], v: np.ndarray, projection: np.ndarray | None = None,
                       indices=None, h: float = H) -> np.ndarray:
    """Central differences of f() with respect to the entries of `v`, perturbed in place.

    f() reads `v` (a layer input or a parameter's value array) and returns either a scalar loss
    (projection None) or an array, which is reduced as sum(out * projection). `indices`: a list
    of flat indices to check (default: all); returns the gradient at those indices, or the full
    gradient array (shape of v) when indices is None. `v` is restored exactly afterwards."""
    assert v.dtype == np.float64, f"gradient checks need float64, got {v.dtype}"
    flat = v.reshape(-1)
    assert np.shares_memory(flat, v), "v must be contiguous so that it can be perturbed in place"
    chosen = range(flat.size) if indices is None else indices
    result = []
    for i in chosen:
        original = flat[i]
        flat[i] = original + h
        plus = np.array(f(), dtype=np.float64, copy=True)
        flat[i] = original - h
        minus = np.array(f(), dtype=np.float64, copy=True)
        flat[i] = original
        if projection is None:
            result.append((float(plus) - float(minus)) / (2 * h))
        else:
            result.append(float(np.sum((plus - minus) * projection)) / (2 * h))
    result = np.array(result, dtype=np.float64)
    return result.reshape(v.shape) if indices is None else result


# --- single layers --------------------------------------------------------------------------


def check_layer(layer, x: np.ndarray, train: bool = True, seed: int = 0, expect_params=None,
                zero_grad_params=()) -> dict:
    """Gradient-check a built layer at input x with the random projection loss L = sum(out * R).

    Checks dL/dx and every parameter gradient over *all* entries. `expect_params`: the set of
    parameter names the layer must expose (so no parameter escapes the check).
    `zero_grad_params`: parameters whose true gradient is ~0 (not required to carry signal).
    Also checks that forward does not modify its input. Returns the analytic gradients."""
    rng = np.random.default_rng(seed)
    assert x.dtype == np.float64
    x_before = x.copy()
    out = layer.forward(x, train)
    np.testing.assert_array_equal(x, x_before, err_msg=f"{layer!r}.forward modified its input")
    R = rng.standard_normal(out.shape)
    dx = layer.backward(R.copy())
    np.testing.assert_array_equal(x, x_before, err_msg=f"{layer!r}.backward modified the input")
    assert dx.shape == x.shape, f"{layer!r}: dx shape {dx.shape} != input shape {x.shape}"
    assert dx.dtype == np.float64, f"{layer!r}: dx dtype {dx.dtype}"
    params = layer.parameters()
    if expect_params is not None:
        assert set(params) == set(expect_params), f"{layer!r} parameters {sorted(params)}"
    grads = {}
    for name, p in params.items():
        assert p.grad is not None, f"{layer!r}.{name}.grad was not set by backward"
        assert p.grad.shape == p.value.shape, f"{layer!r}.{name}.grad shape {p.grad.shape} != {p.value.shape}"
        assert p.grad.dtype == np.float64, f"{layer!r}.{name}.grad dtype {p.grad.dtype}"
        grads[name] = p.grad.copy()

    def f():
        return layer.forward(x, train)

    assert_grad_close(dx, numerical_gradient(f, x, R), f"{layer!r} dL/dx")
    for name, p in params.items():
        assert_grad_close(grads[name], numerical_gradient(f, p.value, R), f"{layer!r} dL/d{name}",
                          require_signal=name not in zero_grad_params)
    return {"dx": dx, **grads}


# --- whole networks -------------------------------------------------------------------------


def window_argmax(x: np.ndarray, size: int, stride: int) -> np.ndarray:
    """For NHWC x: the flat (row-major) index of the first maximum of every pooling window."""
    windows = np.lib.stride_tricks.sliding_window_view(x, (size, size), axis=(1, 2))[:, ::stride, ::stride]
    h, w = (x.shape[1] - size) // stride + 1, (x.shape[2] - size) // stride + 1
    windows = windows[:, :h, :w]
    return windows.reshape(windows.shape[:4] + (size * size,)).argmax(axis=-1)


def forward_with_signature(layers, x: np.ndarray, train: bool):
    """Run `layers` one by one; also return every kink decision taken on the way: the sign
    pattern entering ReLU / LeakyReLU / SELU and the winner of every max-pool window."""
    signature = []
    for layer in layers:
        if isinstance(layer, (ReLU, LeakyReLU, SELU)):
            signature.append(x > 0)
        elif isinstance(layer, MaxPool2D):
            config = layer.config()
            signature.append(window_argmax(x, config["size"], config["stride"]))
        x = layer.forward(x, train)
    return x, signature


def same_signature(a, b) -> bool:
    return len(a) == len(b) and all(np.array_equal(u, v) for u, v in zip(a, b))


def sampled_gradient_check(f_sig: Callable[[], tuple], v: np.ndarray, analytic: np.ndarray, what: str,
                           rng: np.random.Generator, n_random: int = 4, n_top: int = 2,
                           require_signal: bool = True, steps=(H, H / 10, H / 100)) -> int:
    """Check `analytic` (dL/dv) against central differences on a sample of entries of `v`:
    the `n_top` entries with the largest |analytic| (a wrong large gradient cannot hide) and
    `n_random` random ones (a gradient wrongly 0 cannot hide). f_sig() returns (loss, signature).

    Whole models hold tens of thousands of kinks, and a step in an early weight moves all of
    them, so now and then one lies within h. For each entry the first step in `steps` whose
    +-h evaluations keep the kink signature is used; an entry that crosses a kink even at the
    smallest step is replaced by another one. A smaller step has more rounding noise, ~(a few
    ulps of an O(1) loss) / 2h ~ 1e-15 / h, so its absolute floor grows alike: ATOL * H / h
    (1e-9 at h = 1e-5, 1e-8 at 1e-6, 1e-7 at 1e-7, always >= 10x the noise). Returns how many
    entries were checked."""
    assert analytic.shape == v.shape, f"{what}: gradient shape {analytic.shape} != {v.shape}"
    _, base_signature = f_sig()
    flat_v = v.reshape(-1)
    assert np.shares_memory(flat_v, v)
    order_top = np.argsort(-np.abs(analytic.ravel()), kind="stable")
    order_random = rng.permutation(v.size)
    wanted_top, wanted_random = min(n_top, v.size), min(n_random, v.size)
    checked: list[int] = []
    numeric: list[float] = []
    floors: list[float] = []
    skipped = 0

    def try_entry(i) -> bool:
        nonlocal skipped
        original = flat_v[i]
        for h in steps:
            flat_v[i] = original + h
            plus, sig_plus = f_sig()
            flat_v[i] = original - h
            minus, sig_minus = f_sig()
            flat_v[i] = original
            if same_signature(sig_plus, base_signature) and same_signature(sig_minus, base_signature):
                checked.append(int(i))
                numeric.append((plus - minus) / (2 * h))
                floors.append(ATOL * max(1.0, H / h))
                return True
        skipped += 1
        return False

    for source, wanted in ((order_top, wanted_top), (order_random, wanted_random)):
        got = 0
        for i in source:
            if got == wanted:
                break
            if int(i) in checked:
                continue
            got += try_entry(i)
    needed = min(wanted_top + wanted_random, v.size)
    assert len(checked) >= needed, f"{what}: only {len(checked)} of {needed} entries away from kinks"
    assert skipped <= max(3, len(checked)), f"{what}: {skipped} sampled entries straddled a kink"
    assert_grad_close(analytic.ravel()[checked], np.array(numeric), f"{what} (entries {checked})",
                      atol=np.array(floors), require_signal=require_signal)
    return len(checked)
