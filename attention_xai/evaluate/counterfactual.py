"""Counterfactual metrics as pure functions: arrays (and prediction functions) in, numbers out.

With x the digit, x' its counterfactual and delta = x' - x over the 784 pixels; rows
without a counterfactual (NaN) give NaN.

References: Wachter et al. 2017 (distances); Van Looveren and Klaise, ECML PKDD 2021
(IM1, IM2); Pawelczyk et al., "CARLA", NeurIPS Datasets and Benchmarks 2021 (yNN,
validity as success rate; its metric code needs numpy < 1.24, so these are our own).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

L0_THRESHOLD = 0.5 / 255
"""A pixel counts as changed when |delta| exceeds half a grey level: a change that survives
saving the counterfactual as an 8-bit image (CARLA counts anything above 1e-5)."""

EPS = 1e-8

Predict = Callable[[np.ndarray], np.ndarray]


def _flat(a) -> np.ndarray:
    a = np.asarray(a, np.float64)
    return a.reshape(len(a), -1)


def distances(digits, counterfactuals, threshold: float = L0_THRESHOLD) -> dict[str, np.ndarray]:
    """L0 (pixels with |delta| > threshold), L1 (sum |delta|), L2 (sqrt of sum delta^2, not
    its square as in CARLA's code) and Linf (max |delta|), each (N,)."""
    delta = _flat(counterfactuals) - _flat(digits)
    found = np.isfinite(delta).all(axis=1)
    absolute = np.abs(np.where(np.isfinite(delta), delta, 0.0))
    out = {"l0": (absolute > threshold).sum(axis=1).astype(np.float64), "l1": absolute.sum(axis=1),
           "l2": np.sqrt((absolute ** 2).sum(axis=1)), "linf": absolute.max(axis=1)}
    return {key: np.where(found, value, np.nan) for key, value in out.items()}


def validity(predict: Predict, counterfactuals, targets) -> np.ndarray:
    """(N,) bool: the model's class for x' is the target (False where there is no x')."""
    counterfactuals = np.asarray(counterfactuals, np.float32)
    found = np.isfinite(counterfactuals.reshape(len(counterfactuals), -1)).all(axis=1)
    out = np.zeros(len(counterfactuals), bool)
    if found.any():
        out[found] = predict(counterfactuals[found]).argmax(axis=1) == np.asarray(targets)[found]
    return out


def _by_class(reconstructors, x: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """reconstructors[c](x) for each row with its own class c."""
    out = np.zeros_like(x)
    for c in np.unique(classes):
        rows = classes == c
        out[rows] = reconstructors[int(c)](x[rows])
    return out


def im1(class_autoencoders, counterfactuals, targets, originals) -> np.ndarray:
    """IM1 = |x' - AE_t(x')|^2 / (|x' - AE_o(x')|^2 + eps): how much better x' is
    reconstructed by the autoencoder of its target class t than by that of the original
    class o (the model's class for x). Lower is better; below 1, x' looks more like t.

    Args:
        class_autoencoders: ten functions (M, 28, 28, 1) -> reconstructions, one per class.
    """
    x = np.asarray(counterfactuals, np.float32)
    out = np.full(len(x), np.nan)
    found = np.isfinite(x.reshape(len(x), -1)).all(axis=1)
    if found.any():
        xf = x[found]

        def error(classes):
            reconstructed = _by_class(class_autoencoders, xf, np.asarray(classes)[found])
            return ((reconstructed - xf) ** 2).reshape(len(xf), -1).sum(1)

        target_error, original_error = error(targets), error(originals)
        out[found] = target_error / (original_error + EPS)
    return out


def im2(class_autoencoders, autoencoder: Predict, counterfactuals, targets) -> np.ndarray:
    """IM2 = |AE_t(x') - AE(x')|^2 / (|x'|_1 + eps): how much the target-class autoencoder
    and the all-class one disagree on x', per unit of ink. Lower is better."""
    x = np.asarray(counterfactuals, np.float32)
    out = np.full(len(x), np.nan)
    found = np.isfinite(x.reshape(len(x), -1)).all(axis=1)
    if found.any():
        xf = x[found]
        disagreement = ((_by_class(class_autoencoders, xf, np.asarray(targets)[found]) - autoencoder(xf)) ** 2)
        out[found] = disagreement.reshape(len(xf), -1).sum(1) / (np.abs(xf).reshape(len(xf), -1).sum(1) + EPS)
    return out


def nearest_neighbours(points, reference, k: int = 5, chunk: int = 256) -> np.ndarray:
    """(N, k) indices of the k rows of `reference` (M, ...) nearest to each point (L2)."""
    # float32: all 60,000 training digits are 188 MB so, twice that as float64.
    points = np.asarray(points, np.float32).reshape(len(points), -1)
    reference = np.asarray(reference, np.float32).reshape(len(reference), -1)
    ref_sq = (reference ** 2).sum(axis=1)
    out = np.zeros((len(points), k), np.int64)
    for start in range(0, len(points), chunk):
        p = points[start:start + chunk]
        d2 = (p ** 2).sum(axis=1)[:, None] - 2 * p @ reference.T + ref_sq[None]
        nearest = np.argpartition(d2, k - 1, axis=1)[:, :k]
        order = np.take_along_axis(d2, nearest, axis=1).argsort(axis=1)
        out[start:start + chunk] = np.take_along_axis(nearest, order, axis=1)
    return out


def ynn(predict: Predict, counterfactuals, classes, training_digits, k: int = 5) -> np.ndarray:
    """yNN: the share of the k training digits nearest to x' (L2) that the model puts in
    x''s class (`classes`, usually the target). 1: x' sits among digits the model reads as
    its class; 0: an island. CARLA defines it for binary labels; this is its multi-class
    reading. Only the neighbours found are predicted."""
    x = np.asarray(counterfactuals, np.float32)
    out = np.full(len(x), np.nan)
    found = np.flatnonzero(np.isfinite(x.reshape(len(x), -1)).all(axis=1))
    if len(found):
        neighbours = nearest_neighbours(x[found], training_digits, k)
        predicted = predict(np.asarray(training_digits[neighbours.reshape(-1)], np.float32)).argmax(axis=1)
        out[found] = (predicted.reshape(len(found), k) == np.asarray(classes)[found, None]).mean(axis=1)
    return out


def top_k_overlap(deltas, maps, ks) -> np.ndarray:
    """Where the counterfactual changes pixels versus where an attribution map points:
    |top-k pixels by |delta| intersect top-k pixels by |map|| / k, with k = the
    counterfactual's L0 (ties broken by position). Chance level is about k / 784.

    Args:
        deltas: (N, 28, 28[, 1]) changes (NaN rows: no counterfactual); maps: (N, 28, 28).
        ks: (N,) the k of each row (0 or NaN gives NaN).
    """
    deltas, maps = _flat(deltas), _flat(maps)
    out = np.full(len(deltas), np.nan)
    for i, k in enumerate(np.asarray(ks, np.float64)):
        if not np.isfinite(k) or k < 1 or not np.isfinite(deltas[i]).all():
            continue
        k = int(k)
        changed = np.argsort(-np.abs(deltas[i]), kind="stable")[:k]
        pointed = np.argsort(-np.abs(maps[i]), kind="stable")[:k]
        out[i] = len(np.intersect1d(changed, pointed)) / k
    return out


def judge_verdicts(judge: Predict, digits, counterfactuals, targets, originals) -> dict[str, np.ndarray]:
    """What an independent classifier (a judge that took no part in the search) makes of
    each counterfactual: the oracle score of Hvilshoej et al. per digit.

    Args:
        judge: a prediction function (M, 28, 28, 1) -> (M, 10) probabilities.
        digits, counterfactuals: (N, 28, 28, 1); counterfactual rows are NaN where none was found.
        targets: (N,) the class each counterfactual was asked to reach.
        originals: (N,) the explained model's class of each digit (the class to leave).

    Returns:
        `class` (the judge's class of x', -1 without x'), `before` (its class of x),
        `agrees` (1.0: x' in the target class), `keeps` (1.0: x' still in the original
        class), each (N,), NaN (-1 for classes) where there is no counterfactual.
    """
    x = np.asarray(counterfactuals, np.float32)
    found = np.isfinite(x.reshape(len(x), -1)).all(axis=1)
    before = judge(np.asarray(digits, np.float32)).argmax(axis=1).astype(np.int64)
    classes = np.full(len(x), -1, np.int64)
    if found.any():
        classes[found] = judge(x[found]).argmax(axis=1)
    agrees = np.where(found, (classes == np.asarray(targets)).astype(float), np.nan)
    keeps = np.where(found, (classes == np.asarray(originals)).astype(float), np.nan)
    return {"class": classes, "before": before, "agrees": agrees, "keeps": keeps}


COUT_STEPS = 50
"""Insertion steps of COUT, as in DiME's evaluation."""


def cout(predict: Predict, digits, counterfactuals, sources, targets, steps: int = COUT_STEPS,
         return_curves: bool = False):
    """COUT, the counterfactual transition score of Jeanneret et al. (DiME, 2022; first
    defined by Khorram and Fuxin, C3LT): the counterfactual's pixels are inserted into the
    digit in order of decreasing |x' - x|, `steps` equal slices of the 784 pixels at a
    time; along this path the model's probabilities of the target class t and of the
    source class s are recorded (the digit itself is the first point). With the area under
    each curve taken over the share of pixels inserted (trapezoids),

        COUT = AUC(p_t) - AUC(p_s), in [-1, 1].

    Near +1: the few most-changed pixels already carry the decision to the target and keep
    it there; near 0 or below: the decision moves late, or not at all. A change that moves
    nothing leaves both curves at their starting values, so COUT = p_t(x) - p_s(x) (about
    -1 for a confidently classified digit). Pixels with no change come last, in position order.

    Args:
        predict: (M, 28, 28, 1) -> (M, 10) probabilities.
        digits, counterfactuals: (N, 28, 28, 1) (NaN rows: no counterfactual, COUT NaN).
        sources, targets: (N,) classes.

    Returns:
        (N,) COUT; with `return_curves`, also (N, steps + 1, 2) the (p_t, p_s) path.
    """
    if steps <= 0:
        raise ValueError("COUT needs at least one step")
    x = _flat(digits).astype(np.float32)
    x_cf = _flat(counterfactuals).astype(np.float32)
    n, pixels = x.shape
    out = np.full(n, np.nan)
    curves = np.full((n, steps + 1, 2), np.nan)
    found = np.flatnonzero(np.isfinite(x_cf).all(axis=1))
    if len(found):
        order = np.argsort(-np.abs(x_cf[found] - x[found]), axis=1, kind="stable")
        rank = np.empty_like(order)
        np.put_along_axis(rank, order, np.arange(pixels)[None].repeat(len(found), 0), axis=1)
        # Path point k (0..steps) has the top round(k * pixels / steps) pixels inserted.
        counts = np.round(np.arange(steps + 1) * pixels / steps).astype(np.int64)
        mask = rank[:, None, :] < counts[None, :, None]  # (F, steps + 1, pixels)
        path = np.where(mask, x_cf[found, None], x[found, None]).reshape(-1, *np.asarray(digits).shape[1:])
        probabilities = predict(path).reshape(len(found), steps + 1, -1)
        rows = np.arange(len(found))[:, None]
        p_t = probabilities[rows, np.arange(steps + 1)[None], np.asarray(targets)[found][:, None]]
        p_s = probabilities[rows, np.arange(steps + 1)[None], np.asarray(sources)[found][:, None]]
        out[found] = _trapezoid(p_t) - _trapezoid(p_s)
        curves[found] = np.stack([p_t, p_s], axis=-1)
    return (out, curves) if return_curves else out


def _trapezoid(curve: np.ndarray) -> np.ndarray:
    """Area under (N, K + 1) curves sampled at K equal steps over [0, 1]."""
    steps = curve.shape[1] - 1
    return (curve[:, 0] / 2 + curve[:, 1:-1].sum(axis=1) + curve[:, -1] / 2) / steps
