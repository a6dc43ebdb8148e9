"""Statistics shared by the metrics: the percentile bootstrap of a mean over digits, and
the Shannon entropy of rows of weights.

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


def shannon_entropy(weights) -> np.ndarray:
    """(N,) Shannon entropy in nats of each row of non-negative weights (N, ...), each row
    normalised to sum 1 (negative weights count as 0); zero weights add nothing, and an
    all-zero row counts as uniform (log K for K entries)."""
    w = np.clip(np.asarray(weights, np.float64).reshape(len(weights), -1), 0.0, None)
    total = w.sum(axis=1, keepdims=True)
    p = np.where(total > 0, w / np.where(total > 0, total, 1.0), 1.0 / w.shape[1])
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.where(p > 0, p * np.log(p), 0.0).sum(axis=1)
