"""Honest confidence: is a model that says "90% sure" right 90% of the time?

Expected calibration error (ECE) sorts the predictions into bins by their confidence (the top
probability) and averages the gap between confidence and accuracy over the bins, weighted by how
many predictions each bin holds. Temperature scaling divides every logit by one number T fitted
on the validation split: T > 1 softens over-confident answers and never changes which digit wins.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from explorer.nn.losses import SoftmaxCrossEntropy
from explorer.nn.training import split_indices

BINS = 10
VAL_SIZE = 5000  # the validation split of explorer.nn.training: the last 5,000 training images
T_RANGE = (0.05, 20.0)  # temperatures searched by fit_temperature


def logits(net, images: np.ndarray, batch_size: int = 500) -> np.ndarray:
    """The scores the network turns into probabilities, as float64 (N, 10).

    For softmax networks these are the last layer's outputs. A network trained with squared error
    (nielsen) has no softmax: its shares p are turned into scores log p, so that softmax(log p) = p
    and one temperature rule fits every model."""
    chunks = []
    for start in range(0, len(images), batch_size):
        batch = images[start : start + batch_size]
        if isinstance(net.loss, SoftmaxCrossEntropy):
            chunks.append(net.forward(net.prepare(batch)).astype(np.float64))
        else:
            chunks.append(np.log(np.maximum(net.predict_proba(batch).astype(np.float64), 1e-12)))
    return np.concatenate(chunks) if chunks else np.zeros((0, 10))


def softmax(scores: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = np.asarray(scores, dtype=np.float64) / temperature
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def nll(scores: np.ndarray, labels: np.ndarray, temperature: float = 1.0) -> float:
    """Mean negative log-likelihood of the true labels (the cross-entropy loss) at `temperature`."""
    z = np.asarray(scores, dtype=np.float64) / temperature
    top = z.max(axis=1, keepdims=True)
    log_norm = top[:, 0] + np.log(np.exp(z - top).sum(axis=1))
    return float((log_norm - z[np.arange(len(labels)), labels]).mean())


def fit_temperature(scores: np.ndarray, labels: np.ndarray, steps: int = 80) -> float:
    """The temperature with the lowest NLL on (scores, labels).

    The NLL is convex in 1/T, so a golden-section search over 1/T finds its minimum."""
    golden = (np.sqrt(5) - 1) / 2
    low, high = 1 / T_RANGE[1], 1 / T_RANGE[0]
    for _ in range(steps):
        a, b = high - golden * (high - low), low + golden * (high - low)
        if nll(scores, labels, 1 / a) <= nll(scores, labels, 1 / b):
            high = b
        else:
            low = a
    return float(2 / (low + high))


@dataclass(frozen=True)
class Reliability:
    """Per confidence bin: how many predictions, their mean confidence, and how many were right."""

    edges: np.ndarray  # BINS + 1 edges from 0 to 1
    counts: np.ndarray
    confidence: np.ndarray  # mean confidence per bin (nan where empty)
    accuracy: np.ndarray  # accuracy per bin (nan where empty)
    ece: float


def bin_index(confidence: np.ndarray, bins: int = BINS) -> np.ndarray:
    """Bins (0, 1/B], (1/B, 2/B], ... (1 - 1/B, 1]; a confidence of 0 goes in the first one."""
    return np.clip(np.ceil(np.asarray(confidence) * bins).astype(int) - 1, 0, bins - 1)


def reliability(probabilities: np.ndarray, labels: np.ndarray, bins: int = BINS) -> Reliability:
    confidence = probabilities.max(axis=1)
    correct = (probabilities.argmax(axis=1) == labels).astype(float)
    which = bin_index(confidence, bins)
    counts = np.bincount(which, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_confidence = np.bincount(which, confidence, bins) / counts
        accuracy = np.bincount(which, correct, bins) / counts
    gaps = np.nan_to_num(np.abs(accuracy - mean_confidence))
    ece = float((counts / max(len(labels), 1) * gaps).sum())
    return Reliability(np.linspace(0, 1, bins + 1), counts, mean_confidence, accuracy, ece)


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int = BINS) -> float:
    return reliability(probabilities, labels, bins).ece


def validation_split(data) -> tuple[np.ndarray, np.ndarray]:
    """The validation images and labels, split exactly as explorer.nn.training does."""
    _, val_idx = split_indices(len(data.train_labels), VAL_SIZE, None)
    return data.train_images[val_idx], data.train_labels[val_idx]


@dataclass(frozen=True)
class Calibration:
    model: str
    temperature: float
    before: Reliability  # on the test set at T = 1
    after: Reliability  # on the test set at the fitted temperature
    accuracy: float


def calibrate(model: str, test_scores: np.ndarray, test_labels: np.ndarray, temperature: float) -> Calibration:
    before = softmax(test_scores)
    after = softmax(test_scores, temperature)
    accuracy = float((before.argmax(axis=1) == test_labels).mean())
    return Calibration(model, temperature, reliability(before, test_labels), reliability(after, test_labels), accuracy)


# --- galleries ---------------------------------------------------------------------------------


def least_sure(probabilities: np.ndarray, count: int = 16) -> np.ndarray:
    """Indices of the `count` predictions with the lowest top probability, least sure first."""
    return np.argsort(probabilities.max(axis=1), kind="stable")[:count]


def confident_mistakes(probabilities: np.ndarray, labels: np.ndarray, count: int = 16) -> np.ndarray:
    """Indices of the wrong predictions with the highest top probability, most confident first."""
    wrong = np.flatnonzero(probabilities.argmax(axis=1) != labels)
    order = np.argsort(-probabilities[wrong].max(axis=1), kind="stable")
    return wrong[order][:count]
