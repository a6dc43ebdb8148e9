"""Robustness of explanations: how much a map moves when the digit moves a little.

Pure functions of an `explain(images, targets) -> maps` callable (for instance
`lambda x, t: method.explain(model, x, t).maps`). Each one explains every perturbed copy of
every digit in one call, so a method batches them as it batches digits.

Perturbed digits are clipped to [0, 1], the pixel range the methods accept (Quantus adds
the noise without clipping); on MNIST's black background that halves the noise's reach
below 0.

References: Yeh et al., "On the (In)fidelity and Sensitivity of Explanations", NeurIPS 2019
(Max-Sensitivity); Alvarez-Melis and Jaakkola, "On the Robustness of Interpretability
Methods", 2018 (Local Lipschitz Estimate); Bhatt et al., "Evaluating and Aggregating
Feature-based Model Explanations", IJCAI 2020 (average stability, as Xplique computes it).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

Explain = Callable[[np.ndarray, np.ndarray], np.ndarray]


def explain_copies(explain: Explain, copies: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Maps of (N, S, 28, 28, 1) perturbed copies, each towards its digit's target, all in one
    call: (N, S, 28, 28), in the maps' own dtype."""
    n, s = copies.shape[:2]
    maps = np.asarray(explain(copies.reshape(n * s, *copies.shape[2:]), np.repeat(targets, s)))
    return maps.reshape(n, s, *maps.shape[1:])


def _squared_change(moved: np.ndarray, maps: np.ndarray) -> np.ndarray:
    """(N, S) squared L2 distance of each copy's map from its digit's own map."""
    moved = np.asarray(moved, np.float64)
    return ((moved - np.asarray(maps, np.float64)[:, None]) ** 2).reshape(*moved.shape[:2], -1).sum(-1)


def max_sensitivity(explain: Explain, images: np.ndarray, targets: np.ndarray, maps: np.ndarray, *,
                    samples: int = 200, radius: float = 0.2, rng: np.random.Generator) -> np.ndarray:
    """Max-Sensitivity as Quantus computes it: over `samples` copies x' = x + U(-radius,
    radius) per pixel, the largest ||map(x) - map(x')|| / ||x|| (Frobenius norms). (N,); 0
    for a map that does not move."""
    noise = rng.uniform(-radius, radius, (len(images), samples, *images.shape[1:]))
    copies = np.clip(images[:, None] + noise, 0.0, 1.0).astype(np.float32)
    change = np.sqrt(_squared_change(explain_copies(explain, copies, targets), maps))
    size = np.sqrt((np.asarray(images, np.float64) ** 2).reshape(len(images), -1).sum(-1))
    return change.max(axis=1) / np.maximum(size, 1e-12)


def local_lipschitz_estimate(explain: Explain, images: np.ndarray, targets: np.ndarray, maps: np.ndarray, *,
                             samples: int = 200, sigma: float = 0.1, rng: np.random.Generator) -> np.ndarray:
    """Local Lipschitz Estimate as Quantus computes it: over `samples` copies x' = x +
    N(0, sigma^2) per pixel, the largest ||map(x) - map(x')||_2 / ||x - x'||_2. (N,)."""
    noise = rng.normal(0.0, sigma, (len(images), samples, *images.shape[1:]))
    copies = np.clip(images[:, None] + noise, 0.0, 1.0).astype(np.float32)
    change = np.sqrt(_squared_change(explain_copies(explain, copies, targets), maps))
    step = np.sqrt(((copies - images[:, None]).astype(np.float64) ** 2).reshape(len(images), samples, -1).sum(-1))
    return np.where(step > 0, change / np.maximum(step, 1e-12), 0.0).max(axis=1)


def average_stability(explain: Explain, images: np.ndarray, targets: np.ndarray, maps: np.ndarray, *,
                      samples: int = 200, rng: np.random.Generator) -> np.ndarray:
    """Average stability as Xplique computes it: `samples` noise masks U(0, 1/d) per pixel
    (d pixels; drawn once and shared by every digit) added to the digit; the mean over them
    of the squared L2 distance sum((map(x') - map(x))^2). (N,); lower is more stable."""
    d = int(np.prod(images.shape[1:]))
    masks = rng.uniform(0.0, 1.0 / d, (samples, *images.shape[1:]))
    copies = np.clip(images[:, None] + masks[None], 0.0, 1.0).astype(np.float32)
    return _squared_change(explain_copies(explain, copies, targets), maps).mean(axis=1)


def by_max(maps: np.ndarray) -> np.ndarray:
    """Each map divided by its largest |value| (an all-zero map stays 0): what the stage
    measures, so that methods whose maps live on different scales compare."""
    maps = np.asarray(maps, np.float64)
    peak = np.abs(maps).reshape(len(maps), -1).max(axis=1).reshape(-1, *[1] * (maps.ndim - 1))
    return np.divide(maps, peak, out=np.zeros_like(maps), where=peak > 0)


def robustness_per_digit(explain: Explain, images: np.ndarray, targets: np.ndarray, maps: np.ndarray, *,
                         samples: int, seed: int) -> dict[str, np.ndarray]:
    """The three measures at their defining noise (uniform radius 0.2, Gaussian sigma 0.1,
    uniform 1/d), one value per digit (N,), from `samples` copies per digit; each measure
    draws from its own seeded stream. Every map, the digit's own and each copy's, is first
    divided by its largest |value| (`by_max`, as Quantus' `normalise_by_max`): Grad-CAM++ and
    Score-CAM maps otherwise reach thousands where Grad-CAM's stay below 1."""
    maps = by_max(maps)

    def explain_by_max(x, t):
        return by_max(explain(x, t))

    measures = {"max_sensitivity": max_sensitivity, "local_lipschitz": local_lipschitz_estimate,
                "average_stability": average_stability}
    return {name: np.asarray(measure(explain_by_max, images, targets, maps, samples=samples,
                                     rng=np.random.default_rng([seed, k])), np.float64)
            for k, (name, measure) in enumerate(measures.items())}


def robustness_scores(explain: Explain, images: np.ndarray, targets: np.ndarray, maps: np.ndarray, *, samples: int,
                      seed: int) -> dict[str, float]:
    """`robustness_per_digit`'s measures as means over the digits."""
    return {name: float(np.mean(values))
            for name, values in robustness_per_digit(explain, images, targets, maps, samples=samples,
                                                     seed=seed).items()}
