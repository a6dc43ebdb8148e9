"""The pages, drawn from saved artifacts only (this package reads results, never computes them):

    experiment.py       one experiment's page (reports/<name>/index.html)
    attributions.py     its explain-stage figures and tables, from maps.npz
    counterfactuals.py  its counterfactual figures and tables, from counterfactuals.npz
    comparison.py       the cross-experiment page (reports/index.html)
    html.py, writing.py the page markup, and atomic writing of figures and tables

The figures themselves are pure functions in `attention_xai.plots`.
"""

from attention_xai.reporting.experiment import write_experiment_page

__all__ = ["write_experiment_page"]
