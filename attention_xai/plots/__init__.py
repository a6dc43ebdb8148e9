"""Pure figure functions: arrays and results in, a matplotlib Figure out (nothing is written).

    training.py        training curves, the confusion matrix
    attribution.py     the attribution grid (maps over their digits), the panel helpers
    counterfactual.py  counterfactual rows, the method grid, the misclassified digits' figure

`attention_xai.reporting` places these figures on its pages and writes them.
"""

from attention_xai.plots.attribution import draw_attribution, plot_attribution_grid
from attention_xai.plots.counterfactual import plot_bad_digits, plot_counterfactual_rows, plot_method_grid
from attention_xai.plots.training import plot_confusion_matrix, plot_training_curves

__all__ = ["draw_attribution", "plot_attribution_grid", "plot_bad_digits", "plot_confusion_matrix",
           "plot_counterfactual_rows", "plot_method_grid", "plot_training_curves"]
