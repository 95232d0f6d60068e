"""Weight initialisations, selectable per model to show why they matter.

Biases start at zero, except under "std1", which draws them from N(0, 1) too, as
Nielsen's network.py does. `fan_in` is the number
of inputs feeding one unit (for a conv: in_channels * k * k), `fan_out` the number of
units one input feeds.
"""
from __future__ import annotations

import numpy as np

INITS = {
    "zeros": "All weights zero: every unit computes the same thing (the symmetry problem).",
    "std0.01": "Gaussian with std 0.01: activations shrink layer by layer and collapse.",
    "std1": "Gaussian with std 1 (weights and biases, as in Nielsen's book): sigmoid units saturate.",
    "xavier": "Glorot/Xavier: std = sqrt(2 / (fan_in + fan_out)), keeps variance for tanh/sigmoid.",
    "he": "He/Kaiming: std = sqrt(2 / fan_in), keeps variance through ReLU layers.",
}


def init_std(scheme: str, fan_in: int, fan_out: int) -> float:
    """The standard deviation of the Gaussian that `scheme` draws weights from."""
    stds = {
        "zeros": 0.0,
        "std0.01": 0.01,
        "std1": 1.0,
        "xavier": np.sqrt(2.0 / (fan_in + fan_out)),
        "he": np.sqrt(2.0 / fan_in),
    }
    if scheme not in stds:
        raise ValueError(f"Unknown initialisation '{scheme}'; choose one of: {', '.join(INITS)}")
    return float(stds[scheme])


def init_weights(scheme, shape, fan_in, fan_out, rng: np.random.Generator, dtype) -> np.ndarray:
    std = init_std(scheme, fan_in, fan_out)
    return (rng.standard_normal(shape) * std).astype(dtype)


def init_bias(scheme: str, size: int, rng: np.random.Generator, dtype) -> np.ndarray:
    if scheme == "std1":
        return rng.standard_normal(size).astype(dtype)
    return np.zeros(size, dtype)
