"""Robustness metrics: known answers on explainers whose maps are simple functions of the digit."""

import numpy as np
import pytest

from attention_xai.evaluate.robustness import average_stability, local_lipschitz_estimate, max_sensitivity


def _digits(n=3):
    images = np.random.default_rng(0).uniform(0.2, 0.8, (n, 28, 28, 1)).astype(np.float32)
    return images, np.arange(n)


def _identity(x, t):  # the map is the digit itself
    return x[..., 0]


def _constant(x, t):  # the map ignores the digit
    return np.ones(x.shape[:3], np.float32)


def test_a_map_that_is_the_digit_moves_exactly_as_far_as_the_digit():
    images, targets = _digits()
    maps = _identity(images, targets)
    lle = local_lipschitz_estimate(_identity, images, targets, maps, samples=20, rng=np.random.default_rng(1))
    np.testing.assert_allclose(lle, 1.0, rtol=1e-5)  # ||x - x'|| / ||x - x'||
    radius = 0.1
    sens = max_sensitivity(_identity, images, targets, maps, samples=20, radius=radius, rng=np.random.default_rng(1))
    size = np.sqrt((images.astype(np.float64) ** 2).sum(axis=(1, 2, 3)))
    expected = radius * np.sqrt(784 / 3) / size  # uniform noise in (-r, r): |noise| about r / sqrt(3) per pixel
    np.testing.assert_allclose(sens, expected, rtol=0.05)
    stability = average_stability(_identity, images, targets, maps, samples=50, rng=np.random.default_rng(1))
    np.testing.assert_allclose(stability, 784 * (1 / 784) ** 2 / 3, rtol=0.05)  # E[U(0, 1/d)^2] per pixel


def test_a_map_that_ignores_the_digit_is_perfectly_robust():
    images, targets = _digits()
    maps = _constant(images, targets)
    rng = np.random.default_rng(2)
    for metric in (max_sensitivity, local_lipschitz_estimate, average_stability):
        assert np.all(metric(_constant, images, targets, maps, samples=5, rng=rng) == 0.0), metric.__name__


def test_perturbed_copies_are_explained_in_one_batched_call_towards_their_own_targets():
    images, targets = _digits(2)
    calls = []

    def explain(x, t):
        calls.append((x.shape, t.tolist()))
        assert x.min() >= 0 and x.max() <= 1  # clipped to the pixel range the methods accept
        return x[..., 0]

    max_sensitivity(explain, images, targets, images[..., 0], samples=4, rng=np.random.default_rng(0))
    assert calls == [((8, 28, 28, 1), [0, 0, 0, 0, 1, 1, 1, 1])]


@pytest.mark.parametrize("metric", [max_sensitivity, local_lipschitz_estimate, average_stability])
def test_the_same_seed_gives_the_same_score(metric):
    images, targets = _digits(2)

    def noisy(x, t):
        return x[..., 0] ** 2

    first = metric(noisy, images, targets, noisy(images, targets), samples=6, rng=np.random.default_rng(5))
    again = metric(noisy, images, targets, noisy(images, targets), samples=6, rng=np.random.default_rng(5))
    np.testing.assert_array_equal(first, again)


def test_scores_compare_maps_of_any_scale_by_their_maximum():
    from attention_xai.evaluate.robustness import by_max, robustness_scores

    np.testing.assert_array_equal(by_max(np.array([[[0.0, -4.0], [2.0, 1.0]], [[0.0, 0.0], [0.0, 0.0]]])),
                                  [[[0.0, -1.0], [0.5, 0.25]], [[0.0, 0.0], [0.0, 0.0]]])
    images, targets = _digits(2)

    def scaled(x, t):  # the digit itself, a thousand times larger: Grad-CAM++'s scale
        return 1000 * x[..., 0]

    small = robustness_scores(_identity, images, targets, _identity(images, targets), samples=6, seed=3)
    large = robustness_scores(scaled, images, targets, scaled(images, targets), samples=6, seed=3)
    assert set(small) == {"max_sensitivity", "local_lipschitz", "average_stability"}
    for name in small:
        np.testing.assert_allclose(large[name], small[name], rtol=1e-5, err_msg=name)
        assert small[name] > 0
