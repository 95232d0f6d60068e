"""PyTorch twins of the registry models, for benchmarks/speed.py.

Each twin is translated layer by layer from our own Network, so the architectures cannot
drift apart: same layers, sizes, strides, paddings, hence the same parameter count (the
benchmark checks it). PyTorch runs NCHW, its native layout; the flatten order differs
from our NHWC one, which changes no cost. Optimizers follow the article's recipe.
"""
from __future__ import annotations

import torch
from torch import nn

from explorer.nn import conv
from explorer.nn import layers
from explorer.nn import losses


def twin(net) -> nn.Sequential:
    """An nn.Sequential with the same architecture as our `net` (a built Network)."""
    modules = []
    shape = net.input_shape
    for layer, out_shape in zip(net.layers, net.shapes):
        modules.append(_translate(layer, shape))
        shape = out_shape
    return nn.Sequential(*modules)


def _translate(layer, in_shape):
    if isinstance(layer, conv.Conv2D):
        return nn.Conv2d(in_shape[-1], layer.filters, layer.kernel, layer.stride, layer.padding)
    if isinstance(layer, conv.MaxPool2D):
        return nn.MaxPool2d(layer.size, layer.stride)
    if isinstance(layer, conv.AvgPool2D):
        return nn.AvgPool2d(layer.size, layer.stride)
    if isinstance(layer, layers.Dense):
        return nn.Linear(in_shape[0], layer.units)
    if isinstance(layer, layers.Flatten):
        return nn.Flatten()
    if isinstance(layer, layers.BatchNorm):
        # our momentum weighs the old statistics, PyTorch's the new batch
        bn = nn.BatchNorm2d if len(in_shape) == 3 else nn.BatchNorm1d
        return bn(in_shape[-1], eps=layer.eps, momentum=1 - layer.momentum)
    if isinstance(layer, layers.Dropout):
        return nn.Dropout(layer.rate)
    simple = {layers.ReLU: nn.ReLU, layers.Sigmoid: nn.Sigmoid, layers.Tanh: nn.Tanh, layers.SELU: nn.SELU}
    if type(layer) in simple:
        return simple[type(layer)]()
    if isinstance(layer, layers.LeakyReLU):
        return nn.LeakyReLU(layer.slope)
    raise TypeError(f"no PyTorch twin for {type(layer).__name__}")


def loss_function(net):
    """The same loss as ours: softmax cross-entropy, or Nielsen's 1/(2N) sum ||a - y||^2."""
    if isinstance(net.loss, losses.MeanSquaredError):
        def quadratic(outputs, labels):
            target = nn.functional.one_hot(labels, outputs.shape[1]).to(outputs.dtype)
            return 0.5 * ((outputs - target) ** 2).sum(dim=1).mean()

        return quadratic
    return nn.CrossEntropyLoss()


def optimizer(name: str, params, lr: float):
    """The recipe's optimizer with our default hyperparameters."""
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr)
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=lr, alpha=0.9, eps=1e-7)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, betas=(0.9, 0.999), eps=1e-8)
    if name == "momentum":
        return torch.optim.SGD(params, lr=lr, momentum=0.9)
    raise ValueError(f"no PyTorch optimizer for '{name}'")


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
