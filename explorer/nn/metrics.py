"""Classification metrics on the test set."""
from __future__ import annotations

import numpy as np


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, classes: int = 10) -> np.ndarray:
    """counts[true, predicted]"""
    counts = np.zeros((classes, classes), np.int64)
    np.add.at(counts, (labels.astype(np.int64), predictions.astype(np.int64)), 1)
    return counts


def per_class_accuracy(confusion: np.ndarray) -> np.ndarray:
    totals = confusion.sum(axis=1)
    return np.diag(confusion) / np.maximum(totals, 1)


def evaluation_report(net, images: np.ndarray, labels: np.ndarray) -> dict:
    """Accuracy, per-class accuracy and confusion matrix, as plain JSON-able values."""
    predictions = net.predict(images)
    confusion = confusion_matrix(labels, predictions)
    return {
        "accuracy": float((predictions == labels).mean()),
        "correct": int((predictions == labels).sum()),
        "total": int(len(labels)),
        "per_class_accuracy": [round(float(a), 6) for a in per_class_accuracy(confusion)],
        "confusion_matrix": confusion.tolist(),
    }
