"""The bootstrap interval of a mean over digits."""

import numpy as np
import pytest

from attention_xai.evaluate.statistics import bootstrap_interval


def test_the_interval_covers_the_mean_and_narrows_with_more_digits():
    rng = np.random.default_rng(0)
    few, many = rng.normal(0.3, 0.1, 8), rng.normal(0.3, 0.1, 100)
    low8, high8 = bootstrap_interval(few)
    low100, high100 = bootstrap_interval(many)
    assert low8 <= few.mean() <= high8 and low100 <= many.mean() <= high100
    assert high100 - low100 < high8 - low8
    # About 1.96 standard errors each side for a normal sample of 100.
    assert (high100 - low100) / 2 == pytest.approx(1.96 * many.std(ddof=1) / 10, rel=0.15)


def test_edge_cases_and_the_seed():
    assert np.isnan(bootstrap_interval([np.nan])[0])
    assert bootstrap_interval([0.4]) == (0.4, 0.4)
    values = np.arange(20.0)
    assert bootstrap_interval(values, seed=1) == bootstrap_interval(values, seed=1)
    assert bootstrap_interval(values, seed=1) != bootstrap_interval(values, seed=2)
