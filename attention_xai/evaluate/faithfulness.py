"""How far to trust an attribution map: faithfulness, sparseness, sanity and agreement.

Pure functions: arrays (and a prediction function) in, numbers out. `predict` maps
(N, 28, 28, 1) float32 digits to (N, 10) class probabilities.

Sign rules (the one place they are stated; maps may be signed or >= 0):
* deletion / insertion rank pixels by the signed value: evidence against the target
  comes last, so it is deleted (inserted) last;
* Average Drop / Increase in Confidence mask the digit by the positive part of the map
  divided by its maximum (the measure is defined for non-negative maps);
* Gini, the sanity check and the agreement with the attention map use |map|.
Deletion sets pixels to 0 and insertion starts from an all-0 (black) canvas, MNIST's
background; the RISE authors insert into a blurred copy of the image instead.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from scipy.stats import spearmanr

Predict = Callable[[np.ndarray], np.ndarray]


def _target_probability(predict: Predict, images: np.ndarray, targets: np.ndarray) -> np.ndarray:
    return predict(images)[np.arange(len(images)), targets]


def perturbation_curve(predict: Predict, images: np.ndarray, targets: np.ndarray, maps: np.ndarray, *,
                       mode: str = "deletion", steps: int = 28, baseline: float = 0.0) -> np.ndarray:
    """Target probability as pixels are deleted from the image (or inserted into the
    baseline) in the order the map ranks them, most important first.

    Args:
        images: (N, 28, 28, 1) in [0, 1]; targets: (N,); maps: (N, 28, 28) raw values.
        mode: "deletion" (pixels set to `baseline`) or "insertion" (pixels copied from the
            image into an all-`baseline` canvas).
        steps: the curve has steps + 1 points, from 0 to all 784 pixels, in equal steps.
        baseline: pixel value of deleted pixels / the empty canvas (0: MNIST's background).

    Returns:
        (N, steps + 1) probabilities of the target class.
    """
    if mode not in ("deletion", "insertion"):
        raise ValueError(f"mode must be 'deletion' or 'insertion', got {mode!r}")
    n, pixels = len(images), images.shape[1] * images.shape[2]
    order = np.argsort(-maps.reshape(n, pixels), axis=1, kind="stable")
    counts = np.round(np.linspace(0, pixels, steps + 1)).astype(int)
    flat = images.reshape(n, pixels)
    variants = np.empty((n, steps + 1, pixels), np.float32)
    for s, k in enumerate(counts):
        chosen = np.zeros((n, pixels), bool)
        np.put_along_axis(chosen, order[:, :k], True, axis=1)
        if mode == "deletion":
            variants[:, s] = np.where(chosen, baseline, flat)
        else:
            variants[:, s] = np.where(chosen, flat, baseline)
    probs = _target_probability(predict, variants.reshape(-1, *images.shape[1:]), np.repeat(targets, steps + 1))
    return probs.reshape(n, steps + 1)


def area_under_curve(curves: np.ndarray) -> np.ndarray:
    """Trapezoidal area of (N, K) curves sampled evenly on [0, 1]: (N,)."""
    curves = np.asarray(curves, dtype=np.float64)
    return (curves[:, 1:] + curves[:, :-1]).sum(axis=1) / (2 * (curves.shape[1] - 1))


def deletion_auc(predict: Predict, images, targets, maps, *, steps: int = 28, baseline: float = 0.0) -> np.ndarray:
    """Area under the deletion curve (lower: the map found the pixels the model needs).

    References: Petsiuk, Das and Saenko, "RISE: Randomized Input Sampling for Explanation
    of Black-box Models", BMVC 2018."""
    return area_under_curve(perturbation_curve(predict, images, targets, maps, mode="deletion", steps=steps,
                                               baseline=baseline))


def insertion_auc(predict: Predict, images, targets, maps, *, steps: int = 28, baseline: float = 0.0) -> np.ndarray:
    """Area under the insertion curve (higher: the top-ranked pixels alone convince the
    model). References: Petsiuk et al. 2018 (RISE)."""
    return area_under_curve(perturbation_curve(predict, images, targets, maps, mode="insertion", steps=steps,
                                               baseline=baseline))


def average_drop_and_increase(predict: Predict, images, targets, maps) -> tuple[float, float]:
    """Average Drop (%) and Increase in Confidence (%) of the image masked by its map.

    The positive part of the map, divided by its maximum, multiplies the image (a map
    with no positive value masks everything); Y is the target
    probability of the image, O of the masked image. Average Drop = mean(max(0, Y - O) / Y)
    x 100 (lower is better); Increase in Confidence = share of images with O > Y, x 100
    (higher is better).

    References: Chattopadhay et al., "Grad-CAM++", WACV 2018; used by Wang et al.,
    "Score-CAM", CVPR Workshops 2020.
    """
    masked = (images * positive_part_mask(maps)[..., None]).astype(np.float32)
    y = _target_probability(predict, images, targets)
    o = _target_probability(predict, masked, targets)
    drop = float(np.mean(np.maximum(0.0, y - o) / np.maximum(y, 1e-12)) * 100)
    increase = float(np.mean(o > y) * 100)
    return drop, increase


def positive_part_mask(maps: np.ndarray) -> np.ndarray:
    """max(map, 0) / max(map) per map, in [0, 1] (all 0 where a map has no positive value)."""
    positive = np.maximum(np.asarray(maps, dtype=np.float64), 0.0)
    top = positive.reshape(len(positive), -1).max(axis=1)[:, None, None]
    return np.where(top > 0, positive / np.where(top > 0, top, 1.0), 0.0)


def gini(maps: np.ndarray) -> np.ndarray:
    """Sparseness of each map as the Gini index of its absolute values: 0 when every
    pixel counts the same, near 1 when one pixel holds everything.

    References: Hurley and Rickard, "Comparing Measures of Sparsity", IEEE Trans. Inf.
    Theory 2009; Chalasani et al., ICML 2020 (as an attribution metric).
    """
    values = np.sort(np.abs(np.asarray(maps, dtype=np.float64)).reshape(len(maps), -1), axis=1)
    n = values.shape[1]
    total = values.sum(axis=1, keepdims=True)
    k = np.arange(1, n + 1)
    result = 1 - 2 * np.sum(values / np.where(total > 0, total, 1) * (n - k + 0.5) / n, axis=1)
    return np.where(total[:, 0] > 0, result, 0.0)


def rank_correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman rank correlation between paired maps (N, H, W): (N,). NaN where a map
    is constant."""
    a, b = np.asarray(a).reshape(len(a), -1), np.asarray(b).reshape(len(b), -1)
    out = np.full(len(a), np.nan)
    for i in range(len(a)):
        if np.ptp(a[i]) > 0 and np.ptp(b[i]) > 0:
            out[i] = spearmanr(a[i], b[i]).statistic
    return out
