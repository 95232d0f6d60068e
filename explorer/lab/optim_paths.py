"""Optimizer paths on 2-D functions, drawn with the very optimizer classes that train the networks.

    path = optimizer_path("momentum", start=(-7, 2), steps=30, lr=0.1)   # (31, 2) array

The point (x, y) is a Parameter of shape (2,); each step sets its `grad` from the analytic
gradient and calls `optimizer.step()`, exactly as a network's training step does.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from explorer.nn.layers import Parameter
from explorer.nn.optimizers import OPTIMIZERS, make_optimizer

MAX_STEPS = 1000
BLOW_UP = 1e6  # a path leaving this box has diverged: it is cut there


@dataclass(frozen=True)
class Surface:
    """A function of (x, y). Its title and the "why" of each optimizer's path on it are in the
    catalogs: train.paths.surface.<name> and train.paths.why.<name>.<optimizer>."""

    name: str
    latex: str
    f: Callable[[np.ndarray, np.ndarray], np.ndarray]
    grad: Callable[[float, float], np.ndarray]
    start: tuple[float, float]
    minimum: tuple[float, float]
    x_range: tuple[float, float]
    y_range: tuple[float, float]
    steps: int
    lrs: dict = field(default_factory=dict)  # a learning rate per optimizer that shows its character


def _bowl(x, y):
    return x**2 / 20 + y**2


def _bowl_grad(x, y):
    return np.array([x / 10, 2 * y])


VALLEY_B = 10.0


def _valley(x, y):
    return (1 - x) ** 2 + VALLEY_B * (y - x**2) ** 2


def _valley_grad(x, y):
    return np.array([-2 * (1 - x) - 4 * VALLEY_B * x * (y - x**2), 2 * VALLEY_B * (y - x**2)])


SURFACES: dict[str, Surface] = {
    "bowl": Surface(
        "bowl", r"f(x, y) = \frac{x^2}{20} + y^2",
        _bowl, _bowl_grad, start=(-7.0, 2.0), minimum=(0.0, 0.0), x_range=(-10, 10), y_range=(-5, 5), steps=30,
        # the learning rates of "Deep Learning from Scratch", figure 6-8 (RMSprop, Nesterov: ours)
        lrs={"sgd": 0.95, "momentum": 0.1, "nesterov": 0.1, "adagrad": 1.5, "rmsprop": 0.3, "adam": 0.3},
    ),
    "valley": Surface(
        "valley", r"f(x, y) = (1 - x)^2 + 10\,(y - x^2)^2",
        _valley, _valley_grad, start=(-1.5, 2.0), minimum=(1.0, 1.0), x_range=(-2, 2), y_range=(-1, 3), steps=150,
        lrs={"sgd": 0.02, "momentum": 0.005, "nesterov": 0.005, "adagrad": 0.5, "rmsprop": 0.05, "adam": 0.1},
    ),
}  # fmt: skip

def surface(name: str) -> Surface:
    if name not in SURFACES:
        raise ValueError(f"Unknown function '{name}'; choose one of: {', '.join(SURFACES)}")
    return SURFACES[name]


def default_hyper(name: str, surface_name: str = "bowl") -> dict:
    """The optimizer's defaults, with a learning rate suited to the surface."""
    if name not in OPTIMIZERS:
        raise ValueError(f"Unknown optimizer '{name}'; choose one of: {', '.join(OPTIMIZERS)}")
    hyper = dict(OPTIMIZERS[name].DEFAULTS)
    hyper["lr"] = surface(surface_name).lrs.get(name, hyper["lr"])
    return hyper


def optimizer_path(name: str, start=None, steps: int | None = None, surface_name: str = "bowl", **hyper) -> np.ndarray:
    """Positions (steps + 1, 2) of optimizer `name` started at `start` on the surface.

    Missing hyperparameters take `default_hyper`. A path that leaves the finite world (divergence)
    stops at its last finite point, so the result is always finite."""
    s = surface(surface_name)
    start = s.start if start is None else start
    steps = s.steps if steps is None else steps
    steps = int(min(max(steps, 0), MAX_STEPS))
    settings = {**default_hyper(name, surface_name), **hyper}
    point = Parameter(np.array(start, dtype=np.float64))
    optimizer = make_optimizer(name, [point], **settings)
    path = [point.value.copy()]
    with np.errstate(all="ignore"):
        for _ in range(steps):
            point.grad = s.grad(*point.value)
            optimizer.step()
            if not (np.isfinite(point.value).all() and np.abs(point.value).max() < BLOW_UP):
                break
            path.append(point.value.copy())
    return np.array(path)


def contour_grid(surface_name: str, resolution: int = 120) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    s = surface(surface_name)
    xs = np.linspace(*s.x_range, resolution)
    ys = np.linspace(*s.y_range, resolution)
    xx, yy = np.meshgrid(xs, ys)
    return xs, ys, s.f(xx, yy)
