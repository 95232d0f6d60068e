"""Optimizers with one interface: `opt = Adam(params, lr=...); ...; opt.step()`.

Each reads `param.grad` and updates `param.value` in place. Hyperparameters are plain
attributes, so the learning rate can be changed between steps. Every class lists its
hyperparameters with defaults in DEFAULTS and its update rule in LATEX, for the UI.

Every class has its rule twice: `rule` is the readable definition (new arrays, the formula as
written), `update` the one training runs (the same numbers, in place through one reused scratch
array, so a step allocates nothing); tests/test_readable_vs_fast.py checks they agree.
"""
from __future__ import annotations

import numpy as np

from explorer.nn.layers import Parameter
from explorer.nn.machine import working_cache_bytes

TINY = 1e-30  # state values below this are flushed to zero (see _flush_denormals)
FLUSH_EVERY = 20
# Large weights are updated a slice at a time: the slices of w, its gradient, the state and
# the scratch array (4-5 float32 slices of an eighth of the working cache: 256 KB of 2 MB, see
# explorer/nn/machine.py) stay in the CPU cache through the update's many passes.
CHUNK = max(1 << 12, working_cache_bytes() // 32)


class Optimizer:
    DEFAULTS: dict[str, float] = {"lr": 0.01}
    LATEX = ""
    about = ""

    def __init__(self, params: list[Parameter], weight_decay: float = 0.0, **hyper):
        unknown = set(hyper) - set(self.DEFAULTS)
        if unknown:
            raise ValueError(f"{type(self).__name__} has no hyperparameter {', '.join(sorted(unknown))}")
        self.params = list(params)
        self.weight_decay = weight_decay
        for name, default in self.DEFAULTS.items():
            setattr(self, name, float(hyper.get(name, default)))
        self.t = 0
        self.state = [self.initial_state(p.value) for p in self.params]
        self._scratch: np.ndarray | None = None  # see scratch()

    def initial_state(self, value: np.ndarray) -> dict[str, np.ndarray]:
        return {}

    def step(self) -> None:
        self.t += 1
        for param, state in zip(self.params, self.state):
            grad = param.grad
            if self.weight_decay and param.decay:
                grad = grad + self.weight_decay * param.value  # L2 penalty: d/dw (wd/2 * w^2)
            if param.value.size <= CHUNK:
                self.update(param.value, grad, state)
                continue
            w, g = param.value.reshape(-1), grad.reshape(-1)  # flat views of the same memory
            flat_state = {name: array.reshape(-1) for name, array in state.items()}
            for start in range(0, w.size, CHUNK):
                part = slice(start, start + CHUNK)
                self.update(w[part], g[part], {name: array[part] for name, array in flat_state.items()})
        if self.t % FLUSH_EVERY == 0:
            self._flush_denormals()

    def update(self, w: np.ndarray, g: np.ndarray, state: dict) -> None:
        """The step, in place: changes w and the arrays of state."""
        raise NotImplementedError

    def rule(self, w: np.ndarray, g: np.ndarray, state: dict) -> tuple[np.ndarray, dict]:
        """The same step written as the formula: returns the new w and the new state."""
        raise NotImplementedError

    def scratch(self, w: np.ndarray) -> np.ndarray:
        """A reused temporary shaped like w (a slice of at most CHUNK values): the updates
        below run in place through it (np.multiply(..., out=)) instead of allocating arrays."""
        if self._scratch is None or self._scratch.size < w.size or self._scratch.dtype != w.dtype:
            self._scratch = np.empty(max(w.size, CHUNK), w.dtype)
        return self._scratch[: w.size].reshape(w.shape)

    def _apply_scaled_step(self, w, g, h, tmp):
        """w -= lr * g / (sqrt(h) + eps), computed in place in tmp."""
        np.sqrt(h, out=tmp)
        tmp += self.eps
        np.divide(g, tmp, out=tmp)
        tmp *= self.lr
        w -= tmp

    def _flush_denormals(self) -> None:
        # Decaying averages of zero gradients (dead units) shrink geometrically into float32
        # denormals, which x86 CPUs compute up to 100x slower. Zero them before they get there.
        for state in self.state:
            for array in state.values():
                np.putmask(array, np.abs(array) < TINY, 0)

    def hyperparameters(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in self.DEFAULTS}


class SGD(Optimizer):
    DEFAULTS = {"lr": 0.1}
    LATEX = r"w \leftarrow w - \eta\, \nabla L"
    about = "Steps straight down the gradient; zig-zags in narrow valleys."

    def rule(self, w, g, state):
        return w - self.lr * g, state

    def update(self, w, g, state):
        tmp = np.multiply(g, self.lr, out=self.scratch(w))
        w -= tmp


class Momentum(Optimizer):
    DEFAULTS = {"lr": 0.01, "momentum": 0.9}
    LATEX = r"v \leftarrow \mu v - \eta \nabla L,\quad w \leftarrow w + v"
    about = "A ball rolling downhill: velocity builds up along consistent directions."

    def initial_state(self, value):
        return {"v": np.zeros_like(value)}

    def rule(self, w, g, state):
        v = self.momentum * state["v"] - self.lr * g
        return w + v, {"v": v}

    def update(self, w, g, state):
        v = state["v"]
        v *= self.momentum
        v -= np.multiply(g, self.lr, out=self.scratch(w))
        w += v


class Nesterov(Optimizer):
    DEFAULTS = {"lr": 0.01, "momentum": 0.9}
    LATEX = r"v \leftarrow \mu v - \eta \nabla L,\quad w \leftarrow w + \mu v - \eta \nabla L"
    about = "Momentum that looks ahead: corrects its velocity before overshooting."

    def initial_state(self, value):
        return {"v": np.zeros_like(value)}

    def rule(self, w, g, state):
        v = self.momentum * state["v"] - self.lr * g
        return w + self.momentum * v - self.lr * g, {"v": v}

    def update(self, w, g, state):
        v, tmp = state["v"], self.scratch(w)
        v *= self.momentum
        v -= np.multiply(g, self.lr, out=tmp)
        w -= tmp  # w + mu v - lr g, as two in-place steps
        w += np.multiply(v, self.momentum, out=tmp)


class AdaGrad(Optimizer):
    DEFAULTS = {"lr": 0.01, "eps": 1e-7}
    LATEX = r"h \leftarrow h + (\nabla L)^2,\quad w \leftarrow w - \eta \frac{\nabla L}{\sqrt{h} + \epsilon}"
    about = "Each weight gets its own step size, shrinking where gradients have been large."

    def initial_state(self, value):
        return {"h": np.zeros_like(value)}

    def rule(self, w, g, state):
        h = state["h"] + g * g
        return w - self.lr * g / (np.sqrt(h) + self.eps), {"h": h}

    def update(self, w, g, state):
        h, tmp = state["h"], self.scratch(w)
        h += np.multiply(g, g, out=tmp)
        self._apply_scaled_step(w, g, h, tmp)


class RMSprop(Optimizer):
    DEFAULTS = {"lr": 0.001, "rho": 0.9, "eps": 1e-7}
    LATEX = (
        r"h \leftarrow \rho h + (1-\rho)(\nabla L)^2,\quad"
        r" w \leftarrow w - \eta \frac{\nabla L}{\sqrt{h} + \epsilon}"
    )
    about = "AdaGrad with a memory that fades, so step sizes do not shrink forever."

    def initial_state(self, value):
        return {"h": np.zeros_like(value)}

    def rule(self, w, g, state):
        h = self.rho * state["h"] + (1 - self.rho) * g * g
        return w - self.lr * g / (np.sqrt(h) + self.eps), {"h": h}

    def update(self, w, g, state):
        h, tmp = state["h"], self.scratch(w)
        h *= self.rho
        np.multiply(g, g, out=tmp)
        tmp *= 1 - self.rho
        h += tmp
        self._apply_scaled_step(w, g, h, tmp)


class Adam(Optimizer):
    DEFAULTS = {"lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
    LATEX = (
        r"m \leftarrow \beta_1 m + (1-\beta_1)\nabla L,\; v \leftarrow \beta_2 v + (1-\beta_2)(\nabla L)^2,\;"
        r" w \leftarrow w - \eta \frac{m / (1-\beta_1^t)}{\sqrt{v / (1-\beta_2^t)} + \epsilon}"
    )
    about = "Momentum plus per-weight step sizes, with a correction for the first steps."

    def initial_state(self, value):
        return {"m": np.zeros_like(value), "v": np.zeros_like(value)}

    def rule(self, w, g, state):
        m = self.beta1 * state["m"] + (1 - self.beta1) * g
        v = self.beta2 * state["v"] + (1 - self.beta2) * g * g
        m_hat = m / (1 - self.beta1**self.t)  # self.t: this step's number, from 1
        v_hat = v / (1 - self.beta2**self.t)
        return w - self.lr * m_hat / (np.sqrt(v_hat) + self.eps), {"m": m, "v": v}

    def update(self, w, g, state):
        m, v, tmp = state["m"], state["v"], self.scratch(w)
        m *= self.beta1
        m += np.multiply(g, 1 - self.beta1, out=tmp)
        v *= self.beta2
        np.multiply(g, g, out=tmp)
        tmp *= 1 - self.beta2
        v += tmp
        # lr * m_hat / (sqrt(v_hat) + eps), in place: the denominator, then the quotient.
        np.divide(v, 1 - self.beta2**self.t, out=tmp)
        np.sqrt(tmp, out=tmp)
        tmp += self.eps
        np.divide(m, tmp, out=tmp)
        tmp *= self.lr / (1 - self.beta1**self.t)
        w -= tmp


OPTIMIZERS: dict[str, type[Optimizer]] = {
    "sgd": SGD,
    "momentum": Momentum,
    "nesterov": Nesterov,
    "adagrad": AdaGrad,
    "rmsprop": RMSprop,
    "adam": Adam,
}


def make_optimizer(name: str, params, weight_decay: float = 0.0, **hyper) -> Optimizer:
    if name not in OPTIMIZERS:
        raise ValueError(f"Unknown optimizer '{name}'; choose one of: {', '.join(OPTIMIZERS)}")
    return OPTIMIZERS[name](params, weight_decay=weight_decay, **hyper)
