"""The model registry: the networks of the project's source articles, built by name.

    net = build_model("deepconvnet", init="he", seed=0)

Each entry also carries the article's training protocol, used as the defaults of the
training CLI and the Train page.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from explorer.nn.conv import Conv2D, MaxPool2D
from explorer.nn.layers import SELU, BatchNorm, Dense, Dropout, Flatten, LeakyReLU, ReLU, Sigmoid, Tanh
from explorer.nn.losses import MeanSquaredError, SoftmaxCrossEntropy
from explorer.nn.network import Network

ACTIVATIONS = {"relu": ReLU, "sigmoid": Sigmoid, "tanh": Tanh, "leaky-relu": LeakyReLU, "selu": SELU}


@dataclass(frozen=True)
class Recipe:
    """How the source article trained the model (our defaults)."""

    optimizer: str
    lr: float
    batch_size: int
    epochs: int
    init: str
    augment: str = "none"


@dataclass(frozen=True)
class ModelSpec:
    name: str
    title: str
    description: str
    layers: Callable[[type], list]  # activation class -> layers
    recipe: Recipe
    activation: str = "relu"
    activations: tuple = tuple(ACTIVATIONS)  # the choices the model allows
    loss: type = SoftmaxCrossEntropy
    flat_input: bool = False
    input_range: tuple = (0.0, 1.0)
    source: str = ""
    tags: tuple = field(default=())


def _nielsen(act):
    return [Dense(30), act(), Dense(10), Sigmoid()]


def _keras_mlp(act):
    return [Dense(512), act(), Dense(10)]


def _deep_mlp(act):
    return [Dense(100), act(), Dense(100), act(), Dense(100), act(), Dense(100), act(), Dense(10)]


def _zhou_cnn(act):
    return [Conv2D(8, 3), MaxPool2D(2), Flatten(), Dense(10)]


def _lenet(act):
    return [
        Conv2D(6, 5, padding=2), act(), MaxPool2D(2),
        Conv2D(16, 5), act(), MaxPool2D(2),
        Flatten(), Dense(120), act(), Dense(84), act(), Dense(10),
    ]  # fmt: skip


def _deepconvnet(act):
    def block(filters, second_padding=1):
        return [Conv2D(filters, 3, padding=1), act(), Conv2D(filters, 3, padding=second_padding), act(), MaxPool2D(2)]

    return [
        *block(16), *block(32, second_padding=2), *block(64),
        Flatten(), Dense(50), act(), Dropout(0.5), Dense(10), Dropout(0.5),
    ]  # fmt: skip


def _tf_cnn(act):
    return [
        Conv2D(12, 3, padding="same"), act(), MaxPool2D(3, 2),
        Conv2D(16, 3, padding="same"), act(), MaxPool2D(3, 2),
        Flatten(), Dense(288), SELU(), Dense(144), SELU(), Dense(10),
    ]  # fmt: skip


def _tf_cnn_bn(act):
    return [
        Conv2D(12, 3, padding="same"), BatchNorm(), act(), MaxPool2D(3, 2),
        Conv2D(16, 3, padding="same"), BatchNorm(), act(), MaxPool2D(3, 2),
        Flatten(), Dense(288), BatchNorm(), SELU(), Dropout(0.25),
        Dense(144), BatchNorm(), SELU(), Dropout(0.25), Dense(10),
    ]  # fmt: skip


def _rf_5x5(act):
    return [Conv2D(16, 5), act(), MaxPool2D(2), Flatten(), Dense(10)]


def _rf_3x3(act):
    return [Conv2D(16, 3), act(), Conv2D(16, 3), act(), MaxPool2D(2), Flatten(), Dense(10)]


MODELS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in [
        ModelSpec(
            "nielsen", "Nielsen's 784-30-10 MLP",
            "784 pixels, 30 sigmoid units, 10 sigmoid outputs; quadratic cost and plain SGD.",
            _nielsen, Recipe("sgd", 3.0, 10, 30, "std1"), activation="sigmoid",
            loss=MeanSquaredError, flat_input=True,
            source="Michael Nielsen, Neural Networks and Deep Learning, chapter 1",
        ),
        ModelSpec(
            "keras-mlp", "Keras 512-ReLU MLP",
            "784 pixels, 512 ReLU units, 10-way softmax; trained with RMSprop.",
            _keras_mlp, Recipe("rmsprop", 0.001, 128, 5, "xavier"), flat_input=True,
            source="Keras example: a simple MLP on MNIST",
        ),
        ModelSpec(
            "deep-mlp", "Deep MLP (4 x 100 ReLU)",
            "784 pixels, four hidden layers of 100 ReLU units, softmax: deep enough that the "
            "initialisation decides whether plain SGD learns at all.",
            _deep_mlp, Recipe("sgd", 0.01, 128, 3, "he"), flat_input=True,
            source="Koki Saitoh, Deep Learning from Scratch, chapter 6 (weight init and optimizer comparisons)",
        ),
        ModelSpec(
            "zhou-cnn", "From-scratch CNN (conv 3x3 x8)",
            "Eight 3x3 filters, 2x2 max pooling, softmax; trained one image at a time.",
            _zhou_cnn, Recipe("sgd", 0.005, 1, 3, "xavier"), activations=(),
            input_range=(-0.5, 0.5), source="Victor Zhou, CNNs, Part 1: An Introduction",
        ),
        ModelSpec(
            "lenet", "LeNet-5 style CNN",
            "Two 5x5 conv + pool stages, then dense 120-84-10: the classic digit reader.",
            _lenet, Recipe("adam", 0.001, 64, 10, "he"), source="LeCun et al. 1998 (modernised: ReLU, max pooling)",
        ),
        ModelSpec(
            "deepconvnet", "Deep ConvNet (six 3x3 convs)",
            "Six 3x3 convolutions in three blocks, dense 50, dropout; He init and Adam.",
            _deepconvnet, Recipe("adam", 0.001, 100, 20, "he"),
            source="Koki Saitoh, Deep Learning from Scratch, chapter 8",
        ),
        ModelSpec(
            "tf-cnn", "TensorFlow CNN (conv 12, conv 16, SELU dense)",
            "Two 3x3 conv stages with overlapping 3x3 pooling, then SELU dense layers.",
            _tf_cnn, Recipe("adam", 0.001, 100, 30, "he"),
            source="A TensorFlow CNN tutorial reaching 99.5% on MNIST",
        ),
        ModelSpec(
            "tf-cnn-bn", "TensorFlow CNN with batch norm and dropout",
            "The TensorFlow CNN plus batch norm and dropout, trained on shifted images.",
            _tf_cnn_bn, Recipe("adam", 0.001, 100, 30, "he", augment="shift"),
            source="A TensorFlow CNN tutorial reaching 99.5% on MNIST",
        ),
        ModelSpec(
            "rf-5x5", "Receptive-field twin: one 5x5 conv",
            "One 5x5 convolution (16 filters), pool, softmax.",
            _rf_5x5, Recipe("adam", 0.001, 64, 2, "he"), tags=("receptive-field",),
        ),
        ModelSpec(
            "rf-3x3", "Receptive-field twin: two stacked 3x3 convs",
            "Two 3x3 convolutions (16 filters each), pool, softmax: same receptive field as 5x5.",
            _rf_3x3, Recipe("adam", 0.001, 64, 2, "he"), tags=("receptive-field",),
        ),
    ]
}  # fmt: skip


def model_spec(name: str) -> ModelSpec:
    if name not in MODELS:
        raise ValueError(f"Unknown model '{name}'; choose one of: {', '.join(MODELS)}")
    return MODELS[name]


def build_model(name: str, init: str | None = None, seed: int = 0, activation: str | None = None, dtype=np.float32) -> Network:
    """Build and initialise a registry model. `init` and `activation` default to the article's."""
    spec = model_spec(name)
    activation = activation or spec.activation
    if activation != spec.activation and activation not in spec.activations:
        raise ValueError(f"Model '{name}' does not offer activation '{activation}'")
    input_shape = (784,) if spec.flat_input else (28, 28, 1)
    net = Network(spec.layers(ACTIVATIONS[activation]), spec.loss(), input_shape, spec.input_range)
    net.model_name, net.activation = name, activation
    return net.build(init or spec.recipe.init, seed, dtype)
