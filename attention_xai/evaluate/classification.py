"""Classification metrics: arrays in, numbers out."""

from __future__ import annotations

import numpy as np


def confusion_matrix(labels: np.ndarray, predictions: np.ndarray, num_classes: int = 10) -> np.ndarray:
    """(num_classes, num_classes) counts; row = true class, column = predicted class."""
    labels, predictions = np.asarray(labels, dtype=np.int64), np.asarray(predictions, dtype=np.int64)
    return np.bincount(labels * num_classes + predictions, minlength=num_classes ** 2).reshape(num_classes, num_classes)


def classification_metrics(labels: np.ndarray, probabilities: np.ndarray) -> dict:
    """Accuracy, cross-entropy, per-class accuracy and confusion matrix.

    Args:
        labels: (N,) true classes.
        probabilities: (N, K) predicted class probabilities.
    Returns:
        {"accuracy", "loss", "per_class_accuracy" (K,), "confusion_matrix" (K, K)} as
        plain Python numbers and lists (JSON-ready). Loss clips probabilities at 1e-7, as
        Keras' sparse categorical cross-entropy does.
    """
    labels = np.asarray(labels, dtype=np.int64)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    predictions = probabilities.argmax(axis=1)
    matrix = confusion_matrix(labels, predictions, probabilities.shape[1])
    per_class = np.diag(matrix) / np.maximum(matrix.sum(axis=1), 1)
    picked = np.clip(probabilities[np.arange(len(labels)), labels], 1e-7, 1.0)
    return {
        "accuracy": float(np.mean(predictions == labels)),
        "loss": float(-np.mean(np.log(picked))),
        "per_class_accuracy": [float(a) for a in per_class],
        "confusion_matrix": matrix.tolist(),
    }
