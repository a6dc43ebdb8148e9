"""Uncertainty of a mean over digits: the percentile bootstrap.

Reference: Efron and Tibshirani, "An Introduction to the Bootstrap", 1993 (percentile
interval).
"""

from __future__ import annotations

import numpy as np

RESAMPLES = 2000


def bootstrap_interval(values, *, level: float = 0.95, resamples: int = RESAMPLES, seed: int = 0
                       ) -> tuple[float, float]:
    """The percentile bootstrap interval of the mean of `values` (NaNs left out): the
    (1 - level) / 2 and (1 + level) / 2 quantiles of the means of `resamples` seeded draws
    with replacement. (nan, nan) without values; (v, v) for one value."""
    values = np.asarray(values, np.float64).ravel()
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return float("nan"), float("nan")
    draws = np.random.default_rng(seed).integers(0, len(values), (resamples, len(values)))
    means = values[draws].mean(axis=1)
    low, high = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)
