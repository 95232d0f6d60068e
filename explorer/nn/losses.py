"""Loss functions: each turns the network's output and the labels into one number and
gives the gradient of that number with respect to the output."""
from __future__ import annotations

import numpy as np


# exp(-80) is still a normal float32; below about exp(-87) results turn into denormals,
# which x86 CPUs compute up to 100x slower (and a confident network produces them).
MIN_LOG_PROBABILITY = -80.0


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)  # avoids overflow in exp
    np.maximum(shifted, MIN_LOG_PROBABILITY, out=shifted)
    e = np.exp(shifted)
    return e / e.sum(axis=-1, keepdims=True)


def one_hot(labels: np.ndarray, classes: int, dtype) -> np.ndarray:
    out = np.zeros((len(labels), classes), dtype)
    out[np.arange(len(labels)), labels] = 1
    return out


class SoftmaxCrossEntropy:
    """Softmax turns scores into probabilities; the loss is -log(probability of the true class)."""

    name = "softmax-cross-entropy"
    latex = r"L = -\frac{1}{N}\sum_{n} \log \frac{e^{z_{n,y_n}}}{\sum_k e^{z_{n,k}}}"

    def probabilities(self, outputs):
        return softmax(outputs)

    def forward(self, outputs, labels):
        self.probs = softmax(outputs)
        self.labels = labels
        true_class = self.probs[np.arange(len(labels)), labels]
        return float(-np.log(np.maximum(true_class, 1e-12)).sum() / len(labels))

    def backward(self):
        grad = self.probs.copy()
        grad[np.arange(len(self.labels)), self.labels] -= 1
        return grad / len(self.labels)


class MeanSquaredError:
    """Nielsen's quadratic cost on sigmoid outputs: C = 1/(2N) sum ||a - y||^2."""

    name = "mean-squared-error"
    latex = r"C = \frac{1}{2N}\sum_{n} \lVert a_n - y_n \rVert^2"

    def probabilities(self, outputs):
        # The outputs are independent sigmoids; normalise them only to display as shares.
        positive = np.maximum(outputs, 0)
        return positive / np.maximum(positive.sum(axis=-1, keepdims=True), 1e-12)

    def forward(self, outputs, labels):
        self.diff = outputs - one_hot(labels, outputs.shape[-1], outputs.dtype)
        return float(0.5 * (self.diff**2).sum(axis=-1).mean())

    def backward(self):
        return self.diff / len(self.diff)


LOSSES = {cls.name: cls for cls in (SoftmaxCrossEntropy, MeanSquaredError)}
