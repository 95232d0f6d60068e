"""Layers with forward and backward passes, in plain NumPy.

Every layer follows one small protocol (as in "Deep Learning from Scratch"):

    out = layer.forward(x, train)   # remembers what backward needs
    dx = layer.backward(dout)       # fills layer.<param>.grad, returns dL/dx

Images travel as NHWC arrays (batch, height, width, channels): channels last keeps
im2col copies contiguous and lets batch norm treat dense and conv outputs alike.
Layers are built lazily: `build(input_shape, rng)` creates the weights once the
input shape is known, so models are declared with output sizes only.
"""
from __future__ import annotations

import copy
import math
import mmap
from dataclasses import dataclass, field

import numpy as np

from explorer.nn.inits import init_bias, init_weights
from explorer.nn.parallel import map_batch


# --- the readable definitions of the activations (the layers below compute the same numbers) ---


def relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0)


def relu_backward(dout: np.ndarray, out: np.ndarray) -> np.ndarray:
    """The gradient passes where the output is positive (where the input was), else 0."""
    return dout * (out > 0)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def sigmoid_backward(dout: np.ndarray, out: np.ndarray) -> np.ndarray:
    """sigmoid'(x) = sigmoid(x) (1 - sigmoid(x)): the output is all it needs."""
    return dout * out * (1 - out)


# Weights bigger than this (the 784x512 MLP's 1.6 MB) make reading them the cost of one input.
BIG_WEIGHTS = 1 << 19


_ZEROS: dict[np.dtype, np.ndarray] = {}  # per dtype: one read-only buffer of zeros, grown as needed


def shared_zeros(x: np.ndarray) -> np.ndarray:
    """A read-only array of zeros shaped like x, a view of one shared buffer.

    np.maximum(x, 0) runs NumPy's slow loop, the one for a scalar; against an array of zeros it
    runs its vector loop, 2.5x faster (the same numbers, bit for bit)."""
    zeros = _ZEROS.get(x.dtype)
    if zeros is None or zeros.size < x.size:
        zeros = _ZEROS[x.dtype] = zero_pages(x.size, x.dtype)
    return zeros[: x.size].reshape(x.shape)


def zero_pages(count: int, dtype) -> np.ndarray:
    """`count` read-only zeros that take no memory, however many: a private read-only mapping,
    whose every page the kernel serves from its one page of zeros. (np.zeros may reuse a freed
    block instead, writing its zeros and keeping it.) Plain np.zeros where mmap cannot do it."""
    try:
        pages = mmap.mmap(-1, max(count, 1) * np.dtype(dtype).itemsize,
                          flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, prot=mmap.PROT_READ)  # fmt: skip
        return np.frombuffer(pages, dtype, count)
    except (AttributeError, TypeError, OSError):  # Windows: no such flags
        zeros = np.zeros(count, dtype)
        zeros.flags.writeable = False
        return zeros


def column_sums(rows: np.ndarray) -> np.ndarray:
    """rows.sum(axis=0) for a 2-D array, as a vector-matrix product: many times faster for tall,
    narrow arrays (one row per pixel, one column per channel), where NumPy's reduction walks
    the short rows one at a time, and no less accurate."""
    return np.ones(len(rows), rows.dtype) @ rows


def channel_means(x: np.ndarray) -> np.ndarray:
    """The mean of every channel (last axis) over all other axes."""
    rows = x.reshape(-1, x.shape[-1])
    return column_sums(rows) / x.dtype.type(len(rows))


@dataclass(eq=False)
class Parameter:
    """A trainable array and its gradient. `decay` says whether L2 weight decay applies."""

    value: np.ndarray
    decay: bool = True
    grad: np.ndarray | None = field(default=None, repr=False)


class Layer:
    """Base class: a layer without parameters that passes shapes through."""

    kind = "layer"
    summary = ""
    shares_matmuls = False  # True: runs matrix products on both cores itself (explorer.nn.parallel)
    couples_batch = False  # True: one image's output depends on the others in the batch

    def build(self, input_shape: tuple, rng: np.random.Generator, init: str, dtype) -> tuple:
        """Create parameters for `input_shape` (without batch axis); return the output shape."""
        return input_shape

    def forward(self, x: np.ndarray, train: bool = False) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dout: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def parameters(self) -> dict[str, Parameter]:
        return {name: p for name, p in vars(self).items() if isinstance(p, Parameter)}

    def release_buffers(self) -> None:
        """Drop the arrays kept from the last passes (caches, scratch space) to free memory;
        parameters, buffers() and fixed dropout masks stay."""
        keep = set(self.buffers()) | {"fixed_mask"}
        for name, value in list(vars(self).items()):
            if isinstance(value, np.ndarray) and name not in keep:
                setattr(self, name, None)

    def replica(self) -> Layer:
        """A copy that computes with the same parameter arrays but keeps its own gradients
        and caches (for data-parallel training, Network.train_step_gradients)."""
        twin = copy.copy(self)
        for name, value in vars(self).items():
            if isinstance(value, Parameter):
                setattr(twin, name, Parameter(value.value, value.decay))
        twin.release_buffers()
        return twin

    def buffers(self) -> dict[str, np.ndarray]:
        """Non-trainable state that must be saved with the weights (batch-norm statistics)."""
        return {}

    def config(self) -> dict:
        """The constructor arguments, for model cards and display."""
        return {}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"


class Dense(Layer):
    """Fully connected layer: out = x @ W + b."""

    kind = "dense"
    summary = "Every output is a weighted sum of all inputs plus a bias."

    def __init__(self, units: int):
        self.units = units

    def config(self) -> dict:
        return {"units": self.units}

    def build(self, input_shape, rng, init, dtype):
        (fan_in,) = input_shape
        self.W = Parameter(init_weights(init, (fan_in, self.units), fan_in, self.units, rng, dtype))
        self.b = Parameter(init_bias(init, self.units, rng, dtype), decay=False)
        return (self.units,)

    def forward(self, x, train=False):
        self.x = x
        used = x[0].nonzero()[0] if len(x) == 1 and self.W.value.nbytes > BIG_WEIGHTS else None
        if used is not None and 2 * len(used) < x.shape[1]:
            # One mostly blank input, like a digit drawn on the canvas (75-85% of its pixels
            # are 0): only the weight rows of its nonzero inputs count, so read just those.
            out = x.take(used, axis=1) @ self.W.value.take(used, axis=0)
        else:
            out = x @ self.W.value
        out += self.b.value  # in place: no second output-sized array
        return out

    def backward(self, dout):
        self.backward_weights(dout)
        return dout @ self.W.value.T

    def backward_weights(self, dout):
        """The parameter gradients only (the first layer needs no input gradient)."""
        # For one image (an outer product) np.dot is 3-5x faster than @; for a batch, 1.3x slower.
        self.W.grad = np.dot(self.x.T, dout) if len(dout) == 1 else self.x.T @ dout
        self.b.grad = column_sums(dout)


class Flatten(Layer):
    kind = "flatten"
    summary = "Unrolls the feature maps into one long vector for the dense layers."

    def build(self, input_shape, rng, init, dtype):
        return (int(np.prod(input_shape)),)

    def forward(self, x, train=False):
        self.input_shape = x.shape
        return x.reshape(len(x), math.prod(x.shape[1:]))  # not -1: an empty batch has no size to infer

    def backward(self, dout):
        return dout.reshape(self.input_shape)


class ReLU(Layer):
    kind = "activation"
    summary = "Keeps positive values and sets negative ones to zero: max(0, x)."

    def forward(self, x, train=False):
        """relu(x) above, in parts of a big batch on both cores."""
        # max(x, 0), not x * (x > 0): that gives -0.0, which displays as "-0"
        self.out = map_batch(lambda x, out=None: np.maximum(x, shared_zeros(x), out=out), x)
        return self.out

    def backward(self, dout):
        # the gradient passes where the input was positive
        return map_batch(lambda dout, y, out=None: np.multiply(dout, y > 0, out=out), dout, self.out)


class LeakyReLU(Layer):
    kind = "activation"
    summary = "Like ReLU, but negative values are scaled by a small slope instead of zeroed."

    def __init__(self, slope: float = 0.01):
        self.slope = slope

    def config(self):
        return {"slope": self.slope}

    def forward(self, x, train=False):
        self.scale = np.where(x > 0, 1, self.slope).astype(x.dtype)
        return x * self.scale

    def backward(self, dout):
        return dout * self.scale


class Sigmoid(Layer):
    kind = "activation"
    summary = "Squashes every value into (0, 1): 1 / (1 + exp(-x))."

    def forward(self, x, train=False):
        """sigmoid(x) above, without overflow for large negative x."""
        # exp of a negative number never overflows, so split by sign: with z = exp(-|x|),
        # 1 / (1 + z) for x >= 0 and z / (1 + z) below. The numerator is exp(min(x, 0)): 1, or
        # z itself (the same exp of the same number): 2.4 instead of 3.1 µs with np.where for one image.
        z = np.exp(-np.abs(x))
        self.out = np.exp(np.minimum(x, 0)) / (1 + z)
        return self.out

    def backward(self, dout):
        return dout * self.out * (1 - self.out)


class Tanh(Layer):
    kind = "activation"
    summary = "Squashes every value into (-1, 1), centred on zero."

    def forward(self, x, train=False):
        self.out = np.tanh(x)
        return self.out

    def backward(self, dout):
        return dout * (1 - self.out**2)


class SELU(Layer):
    """Scaled exponential linear unit (Klambauer et al. 2017): keeps activations normalised."""

    kind = "activation"
    summary = "Scaled ELU: linear for positives, a saturating exponential for negatives."
    ALPHA = 1.6732632423543772
    SCALE = 1.0507009873554805

    def forward(self, x, train=False):
        """SCALE * x where x > 0, else SCALE * ALPHA * (exp(x) - 1), in place where it can be."""
        self.x = x
        out = self.SCALE * x
        negative = np.minimum(x, shared_zeros(x))  # shared zeros: NumPy's vector loop (see ReLU)
        np.expm1(negative, out=negative)
        negative *= self.SCALE * self.ALPHA
        np.copyto(out, negative, where=x <= 0)
        return out

    def backward(self, dout):
        slope = np.exp(np.minimum(self.x, shared_zeros(self.x)))
        slope *= self.SCALE * self.ALPHA
        np.copyto(slope, self.SCALE, where=self.x > 0)
        return dout * slope


class Dropout(Layer):
    """Inverted dropout: zero a random fraction in training and rescale, so eval is a no-op."""

    kind = "dropout"
    summary = "During training, randomly silences units so the network cannot rely on any one."

    def __init__(self, rate: float = 0.5):
        self.rate = rate
        self.rng = np.random.default_rng(0)
        self.fixed_mask: np.ndarray | None = None  # set by tests for gradient checks

    def config(self):
        return {"rate": self.rate}

    def forward(self, x, train=False):
        if not train or self.rate == 0:
            self.mask = None
            return x
        if self.fixed_mask is not None:
            keep = self.fixed_mask
        else:
            keep = self.rng.random(x.shape, dtype=np.float32) >= self.rate
        self.mask = keep.astype(x.dtype) / x.dtype.type(1 - self.rate)
        return x * self.mask

    def backward(self, dout):
        return dout if self.mask is None else dout * self.mask


class BatchNorm(Layer):
    """Batch normalisation over every axis but the last (features, or channels of NHWC maps)."""

    kind = "batchnorm"
    couples_batch = True  # the batch's own mean and variance
    summary = "Normalises each channel to zero mean and unit variance over the batch, then rescales."

    def __init__(self, momentum: float = 0.9, eps: float = 1e-5):
        self.momentum = momentum
        self.eps = eps

    def config(self):
        return {"momentum": self.momentum, "eps": self.eps}

    def build(self, input_shape, rng, init, dtype):
        channels = input_shape[-1]
        self.gamma = Parameter(np.ones(channels, dtype), decay=False)
        self.beta = Parameter(np.zeros(channels, dtype), decay=False)
        self.running_mean = np.zeros(channels, dtype)
        self.running_var = np.ones(channels, dtype)
        return input_shape

    def buffers(self):
        return {"running_mean": self.running_mean, "running_var": self.running_var}

    def forward(self, x, train=False):
        if train:
            mean = channel_means(x)
            var = channel_means(np.square(x - mean))
            m = self.momentum
            self.running_mean[...] = m * self.running_mean + (1 - m) * mean
            self.running_var[...] = m * self.running_var + (1 - m) * var
        else:
            mean, var = self.running_mean, self.running_var
        self.batch_statistics = train
        self.inv_std = 1 / np.sqrt(var + self.eps)
        self.x_hat = (x - mean) * self.inv_std
        return self.gamma.value * self.x_hat + self.beta.value

    def backward(self, dout):
        self.gamma.grad = column_sums((dout * self.x_hat).reshape(-1, dout.shape[-1]))
        self.beta.grad = column_sums(dout.reshape(-1, dout.shape[-1]))
        dx_hat = dout * self.gamma.value
        if not self.batch_statistics:  # eval mode: a fixed affine map
            return dx_hat * self.inv_std
        # The standard simplified form of the batch-norm input gradient (train mode).
        return self.inv_std * (dx_hat - channel_means(dx_hat) - self.x_hat * channel_means(dx_hat * self.x_hat))
