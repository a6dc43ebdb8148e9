"""Metrics as pure functions."""

from attention_xai.evaluate.classification import classification_metrics, confusion_matrix

__all__ = ["classification_metrics", "confusion_matrix"]
