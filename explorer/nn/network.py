"""The network container: a stack of layers plus a loss.

It names its layers (conv1, relu1, pool1, ...), finds their parameters, turns uint8
images into float inputs batch by batch, and offers what the pages need to look inside:
the activations of every layer and the gradient of any unit with respect to the input.
"""
from __future__ import annotations

import copy
import math
from collections import Counter
from functools import wraps

import numpy as np

from explorer.nn import parallel
from explorer.nn.conv import MaxPool2D
from explorer.nn.layers import Dropout, Layer, Parameter, ReLU
from explorer.nn.network_lock import NetworkLock


def exclusive(method):
    """Run a Network method while holding the network's lock (see Network.__init__)."""

    @wraps(method)
    def locked(self, *args, **kwargs):
        with self.lock:
            return method(self, *args, **kwargs)

    return locked


def seed_dropout(layers: list[Layer], seed: int, *stream: int) -> None:
    """Give every dropout layer its own random masks, fixed by the seed (and the stream)."""
    for index, layer in enumerate(layers):
        if isinstance(layer, Dropout):
            layer.rng = np.random.default_rng([seed, index, *stream])


def running_order(layers: list[Layer]) -> list[Layer]:
    """The layers in the order forward and backward run them: max-pooling moved before the ReLU
    it follows (trace, which shows every layer's output, keeps the model's own order).

    The two commute - the maximum of clipped numbers is the clipped maximum, and the gradient
    reaches the same input either way (windows whose maximum is not positive get none) - so
    pooling first gives the same numbers, with the ReLU on a quarter of them."""
    order = list(layers)
    for i in range(len(order) - 1):
        if type(order[i]) is ReLU and isinstance(order[i + 1], MaxPool2D):
            order[i], order[i + 1] = order[i + 1], order[i]
    return order


class Network:
    def __init__(self, layers: list[Layer], loss, input_shape: tuple, input_range=(0.0, 1.0)):
        self.layers = layers
        self.loss = loss
        self.input_shape = tuple(input_shape)  # per image, without the batch axis
        self.input_range = tuple(input_range)
        self.names = self._layer_names()
        self.shapes: list[tuple] = []
        self.dtype = np.float32
        self.model_name = self.activation = self.init = ""  # set by the model registry and build()
        self.seed = 0
        # Layers keep their forward pass for the backward pass, so two threads must never
        # interleave passes through one network. They could: the scheduler's workers train it
        # while the page's script thread shows what it sees.
        self.lock = NetworkLock()
        self._shares_matmuls = any(layer.shares_matmuls for layer in layers)
        self._couples_batch = any(layer.couples_batch for layer in layers)  # batch norm
        self._twin: Network | None = None  # trains the second half of a split batch
        self._largest_output = 0
        self._running_order = running_order(layers)

    def _layer_names(self) -> list[str]:
        counts: Counter = Counter()
        names = []
        for layer in self.layers:
            base = type(layer).__name__.lower().replace("2d", "")
            counts[base] += 1
            names.append(f"{base}{counts[base]}")
        return names

    def build(self, init: str = "he", seed: int = 0, dtype=np.float32) -> Network:
        """Create every layer's parameters; the same init and seed give the same weights."""
        self.dtype = np.dtype(dtype)
        self.init, self.seed = init, seed
        rng = np.random.default_rng(seed)
        shape = self.input_shape
        self.shapes = []
        for layer in self.layers:
            shape = layer.build(shape, rng, init, self.dtype)
            self.shapes.append(shape)
        seed_dropout(self.layers, seed)
        self._largest_output = max(math.prod(shape) for shape in self.shapes)  # numbers per image
        self._twin = None
        return self

    # --- parameters -------------------------------------------------------------------
    def parameters(self) -> dict[str, Parameter]:
        return {
            f"{name}.{key}": param
            for name, layer in zip(self.names, self.layers)
            for key, param in layer.parameters().items()
        }

    def state(self) -> dict[str, np.ndarray]:
        """Every array that defines the trained model: parameters and batch-norm statistics."""
        arrays = {name: p.value for name, p in self.parameters().items()}
        for name, layer in zip(self.names, self.layers):
            arrays.update({f"{name}.{key}": value for key, value in layer.buffers().items()})
        return arrays

    @exclusive
    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        """Copy arrays into the model; names and shapes must match exactly."""
        own = self.state()
        missing, extra = sorted(set(own) - set(arrays)), sorted(set(arrays) - set(own))
        if missing or extra:
            raise ValueError(f"the weights do not fit this architecture (missing {missing}, unexpected {extra})")
        for name, target in own.items():  # check everything before changing anything
            if arrays[name].shape != target.shape:
                raise ValueError(f"'{name}' has shape {arrays[name].shape}, the architecture needs {target.shape}")
        for name, target in own.items():
            target[...] = arrays[name]

    def parameter_count(self) -> int:
        return sum(p.value.size for p in self.parameters().values())

    def parameter_counts(self) -> list[tuple[str, int]]:
        return [(name, sum(p.value.size for p in layer.parameters().values())) for name, layer in zip(self.names, self.layers)]

    def weight_norms(self) -> dict[str, float]:
        return {name: float(np.linalg.norm(p.value)) for name, p in self.parameters().items() if p.decay}

    def gradient_norms(self) -> dict[str, float]:
        return {
            name: float(np.linalg.norm(p.grad))
            for name, p in self.parameters().items()
            if p.decay and p.grad is not None
        }

    # --- forward and backward ---------------------------------------------------------
    def prepare(self, images: np.ndarray) -> np.ndarray:
        """uint8 images (N, 28, 28) -> float inputs in the model's range and shape."""
        low, high = self.input_range
        x = images.astype(self.dtype) * self.dtype.type((high - low) / 255)
        if low:
            x += self.dtype.type(low)
        return x.reshape((len(images),) + self.input_shape)

    def _cores(self, training: bool = False):
        """BLAS on one thread in a convolutional network: a big batch is shared out over the cores by
        its layers themselves (explorer.nn.parallel), and a small one's products are too small for a
        second BLAS thread to help (one drawn digit through DeepConvNet: the same time, with the
        other core kept busy, spinning, after). An MLP leaves the cores to BLAS while it trains;
        its answers, a few hundred images at a time, stay on one thread too: after every product a
        second BLAS thread spins for up to a tenth of a second, taken from the other sessions."""
        if self._shares_matmuls or not training:
            return parallel.one_blas_thread()
        return parallel.own_blas_threads()

    def _shares_out(self, batch_size: int) -> bool:
        """Whether a batch is big enough for convolutional layers to share its work out."""
        largest_batch_output = batch_size * self._largest_output * self.dtype.itemsize
        return self._shares_matmuls and largest_batch_output >= parallel.MIN_SPLIT_BYTES

    @exclusive
    def forward(self, x: np.ndarray, train: bool = False) -> np.ndarray:
        with self._cores(training=train):
            for layer in self._running_order:
                x = layer.forward(x, train)
        return x

    @exclusive
    def backward(self, dout: np.ndarray, input_grad: bool = False) -> np.ndarray | None:
        """Backpropagate dL/d(output); return dL/d(input) only when asked (it costs a matmul)."""
        layers = self._running_order
        with self._cores(training=True):
            for index in range(len(layers) - 1, -1, -1):
                layer = layers[index]
                if index == 0 and not input_grad and hasattr(layer, "backward_weights"):
                    layer.backward_weights(dout)
                    return None
                dout = layer.backward(dout)
        return dout

    @exclusive
    def train_step_gradients(self, x: np.ndarray, labels: np.ndarray) -> float:
        """Forward in training mode, the loss, and the gradients of every parameter."""
        if not self._splits(len(x)):
            return self._train_step(x, labels)
        # Data parallel: each half of the batch goes through its own copy of the network (the
        # same weights), one per core, and the halves' gradients are added up.
        copies = (self, self._replica())

        def train_half(numbered_half, _worker):
            number, half = numbered_half
            share = (half.stop - half.start) / len(x)
            return copies[number]._train_step(x[half], labels[half], share)

        losses = parallel.map_chunks(train_half, list(enumerate(parallel.halves(len(x)))))
        for mine, twins in zip(self.parameters().values(), copies[1].parameters().values()):
            mine.grad += twins.grad
        return sum(losses)

    def _train_step(self, x, labels, share: float = 1.0) -> float:
        """One step's gradients, scaled to `share` of the batch (the fraction x makes up)."""
        outputs = self.forward(x, train=True)
        loss = self.loss.forward(outputs, labels)
        dout = self.loss.backward()
        if share != 1.0:
            dout *= dout.dtype.type(share)
        self.backward(dout)
        return loss * share

    def _splits(self, batch_size: int) -> bool:
        """Whether a training step splits the batch over two network copies: convolutional
        networks with enough work per image to outweigh the hand-over, and no layer (batch norm)
        that needs the whole batch at once. Decided by the network and batch size alone, never by
        the machine, so every machine computes the same numbers (to rounding: BLAS may sum in
        another order on one thread than on two)."""
        return self._shares_out(batch_size) and batch_size > 1 and not self._couples_batch

    def _replica(self) -> Network:
        """The twin that trains the second half of a split batch: the same parameter arrays,
        its own gradients, caches and dropout draws. Made once, kept until the next build or
        release_buffers."""
        if self._twin is None:
            twin = copy.copy(self)
            twin.layers = [layer.replica() for layer in self.layers]
            twin.loss = copy.copy(self.loss)
            twin.lock = NetworkLock()
            twin._running_order = running_order(twin.layers)
            seed_dropout(twin.layers, self.seed, 1)  # its own stream of masks
            self._twin = twin
        return self._twin

    # --- prediction -------------------------------------------------------------------
    @exclusive
    def predict_proba(self, images: np.ndarray, batch_size: int = 250) -> np.ndarray:
        """Class probabilities for uint8 images, computed in chunks to bound memory."""
        chunks = [
            self.loss.probabilities(self.forward(self.prepare(images[i : i + batch_size])))
            for i in range(0, len(images), batch_size)
        ]
        return np.concatenate(chunks) if chunks else np.zeros((0, 10), self.dtype)

    def predict(self, images: np.ndarray, batch_size: int = 250) -> np.ndarray:
        return self.predict_proba(images, batch_size).argmax(axis=1)

    def accuracy(self, images: np.ndarray, labels: np.ndarray, batch_size: int = 250) -> float:
        return float((self.predict(images, batch_size) == labels).mean())

    # --- looking inside ---------------------------------------------------------------
    @exclusive
    def trace(self, x: np.ndarray) -> list[np.ndarray]:
        """The output of every layer (eval mode) for an input batch x."""
        outputs = []
        with self._cores():
            for layer in self.layers:
                x = layer.forward(x, train=False)
                outputs.append(x)
        return outputs

    @exclusive
    def input_gradient(self, x: np.ndarray, layer_index: int, unit: tuple) -> np.ndarray:
        """d(output of `unit` in layer `layer_index`)/d(input) for one input x (1, ...).

        `unit` indexes the layer's output without the batch axis, e.g. (row, col, channel)
        for a feature map or (class,) for the last layer. Used for receptive fields and saliency.
        """
        out = x
        with self._cores():
            for layer in self.layers[: layer_index + 1]:
                out = layer.forward(out, train=False)
            seed = np.zeros_like(out)
            seed[(0,) + tuple(unit)] = 1
            for layer in reversed(self.layers[: layer_index + 1]):
                seed = layer.backward(seed)
        return seed

    @exclusive
    def release_buffers(self) -> None:
        """Drop cached forward-pass arrays (im2col buffers, masks) to free memory between runs."""
        for layer in self.layers:
            layer.release_buffers()
        self._twin = None

    def copies(self) -> list[Network]:
        """This network and, once a split batch has made it, its twin: every copy holding memory."""
        return [self] if self._twin is None else [self, self._twin]

    def describe(self) -> list[dict]:
        """One row per layer, for tables: name, type, config, output shape, parameter count."""
        counts = dict(self.parameter_counts())
        return [
            {
                "name": name,
                "layer": type(layer).__name__,
                "config": layer.config(),
                "output": self.shapes[i] if self.shapes else None,
                "parameters": counts[name],
                "what it does": layer.summary,
            }
            for i, (name, layer) in enumerate(zip(self.names, self.layers))
        ]
