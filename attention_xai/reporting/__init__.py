"""Figures and tables (pure functions) and the report writer."""

from attention_xai.reporting.training_report import write_training_report
from attention_xai.reporting.training import plot_confusion_matrix, plot_training_curves

__all__ = ["plot_confusion_matrix", "plot_training_curves", "write_training_report"]
