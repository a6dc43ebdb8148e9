"""Model-parameter randomization test for attribution methods.

References: Adebayo et al., "Sanity Checks for Saliency Maps", NeurIPS 2018.
"""

from __future__ import annotations

import keras
import numpy as np

from attention_xai.evaluate.faithfulness import rank_correlation

PASS_BELOW = 0.5
"""A method passes when, with every layer randomised, the mean Spearman correlation of
its absolute maps with the original ones is below this: its maps depend on the weights."""


def cascading_randomization(model: keras.Model, method, images: np.ndarray, targets: np.ndarray, *,
                            fractions=(0.0, 0.5, 1.0), seed: int = 0) -> list[dict]:
    """Randomises the weighted layers from the top (output) down and measures how much
    the maps change.

    Args:
        model: the trained classifier (left untouched: a copy is randomised).
        method: an `Attribution` instance.
        images, targets: what to explain, (N, 28, 28, 1) and (N,).
        fractions: after randomising the top layer only (0.0), and the top `f` share of the
            weighted layers, a row is reported.
        seed: seed of the random weights.

    Returns:
        Rows {"randomized", "layers", "spearman"} in cascade order; "spearman" is the mean
        over images of the rank correlation of |original map| and |randomised map|.
    """
    original = np.abs(method.explain(model, images, targets).maps)
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    weighted = [layer for layer in reversed(copy.layers) if layer.trainable_weights]
    checkpoints = sorted({max(1, round(f * len(weighted))) for f in fractions})
    rng = np.random.default_rng(seed)
    rows, done = [], 0
    for stop in checkpoints:
        for layer in weighted[done:stop]:
            for weight in layer.trainable_weights:
                value = keras.ops.convert_to_numpy(weight)
                scale = float(value.std()) or 0.05
                weight.assign(rng.normal(0.0, scale, value.shape).astype(value.dtype))
        done = stop
        maps = np.abs(method.explain(copy, images, targets).maps)
        rho = rank_correlation(original, maps)
        # A map that went flat while the original was not has lost all its structure: 0.
        rho = np.where(np.isnan(rho) & (np.ptp(original.reshape(len(original), -1), axis=1) > 0), 0.0, rho)
        rows.append({"randomized": f"top {stop} of {len(weighted)}", "layers": weighted[stop - 1].name,
                     "spearman": float(np.nanmean(rho)) if np.isfinite(rho).any() else float("nan")})
    return rows


def passes_sanity_check(rows: list[dict]) -> bool:
    """True when the fully randomised model's maps are unlike the original ones."""
    return bool(rows) and rows[-1]["spearman"] < PASS_BELOW
