"""Model-parameter randomization test for attribution methods.

References: Adebayo et al., "Sanity Checks for Saliency Maps", NeurIPS 2018 (cascading
randomization by re-initialisation); Hedström et al., "Sanity Checks Revisited: An
Exploration to Repair the Model Parameter Randomisation Test", XAI in Action workshop,
NeurIPS 2023 (eMPRT); Binder et al., "Shortcomings of Top-Down
Randomization-Based Sanity Checks for Evaluations of Deep Neural Network Explanations",
CVPR 2023 (randomised deep networks whose output no longer depends on the input).
"""

from __future__ import annotations

import random

import keras
import numpy as np

from attention_xai.evaluate.faithfulness import rank_correlation
from attention_xai.evaluate.robustness import explain_copies
from attention_xai.evaluate.statistics import shannon_entropy

PASS_BELOW = 0.5
"""A method passes when, with every layer randomised, the mean Spearman correlation of
its absolute maps with the original ones is below this: its maps depend on the weights."""

UNCHANGED = f"FAIL (maps barely change; Spearman >= {PASS_BELOW})"
"""The verdict of a method whose maps stay alike (the model randomised, or trained on
permuted labels)."""

DEAD_BELOW = 1e-3
"""A randomised copy whose log-probability ratios (logits up to a constant) move by less
than this between inputs answers the same whatever it is shown. Deep networks with batch
normalisation end up there: a re-initialised layer feeds the next one activations its
stored statistics were not made for, and the signal dies within a few blocks (a 224x224
MobileNetV2 with its top half re-initialised: 1e-5). Any method that reads the model then
gives flat or unrelated maps, so a low correlation proves nothing: 'inconclusive', not
'pass'. A map that keeps the original's structure still FAILS (it shows the input, not a
model that no longer looks at it)."""


FRESH_STREAM = 0x5A17C4EC
"""Mixed with the check's seed into the seed of the fresh weights. Training seeds Python's
`random` with the experiment's seed before it builds the model; seeding the redraw with the
same number gave back the model's own initialisation (for an untrained model the check then
compared a model with itself). A stream of its own never coincides with it."""


def fresh_weights_seed(seed: int) -> int:
    """The seed of the fresh weights for the check's `seed`: its own stream (`FRESH_STREAM`)."""
    return int(np.random.SeedSequence([FRESH_STREAM, int(seed)]).generate_state(1)[0])


def _clones(model: keras.Model, seed: int) -> tuple[keras.Model, keras.Model]:
    """(a copy with the model's weights, the architecture with every weight at a new draw
    of its own initializer). Keras initializers built without a seed take one from
    Python's `random` when they are made (cloning makes new ones), so seeding it (with
    `fresh_weights_seed(seed)`) makes the draw reproducible; its state is put back, and no
    other random state (NumPy, Keras', TensorFlow's) is touched."""
    state = random.getstate()
    try:
        copy = keras.models.clone_model(model)
        random.seed(fresh_weights_seed(seed))
        fresh = keras.models.clone_model(model)
    finally:
        random.setstate(state)
    copy.set_weights(model.get_weights())
    return copy, fresh


def randomised_copies(model: keras.Model, seed: int, fractions, *, bottom_up: bool):
    """One copy of `model`, its weighted layers redrawn (`_clones`) in cascade from the output
    down (or from the input up): yields (the copy, layers redrawn so far, weighted layers in
    all, the last one redrawn) after the first `f` share of them, for each f in `fractions`
    (at least one layer). The copy is the same object each time, further randomised."""
    copy, fresh = _clones(model, seed)
    pairs = list(zip(copy.layers, fresh.layers))
    weighted = [(layer, new) for layer, new in (pairs if bottom_up else reversed(pairs)) if layer.trainable_weights]
    done = 0
    for stop in sorted({max(1, round(f * len(weighted))) for f in fractions}):
        for layer, new in weighted[done:stop]:
            for weight, value in zip(layer.trainable_weights, new.trainable_weights):
                weight.assign(value)
        done = stop
        yield copy, stop, len(weighted), weighted[stop - 1][0].name


def reestimate_batch_norm(model: keras.Model, images: np.ndarray, *, batch_size: int = 256) -> dict:
    """Sets the moving mean and variance of every BatchNormalization layer of `model`'s own
    graph to the statistics of that layer's input on `images`, from the input up (each layer
    sees the ones below it already re-estimated): after randomising weights, the statistics
    then belong to the new weights instead of the trained ones. Normalisation layers nested
    inside another layer (CBAM's spatial gate) have no input of their own in the graph and
    keep theirs. Changes `model` in place; returns {"reestimated": n, "nested_left": m}."""
    top = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    every = [layer for layer in model._flatten_layers(include_self=False, recursive=True)
             if isinstance(layer, keras.layers.BatchNormalization)]
    for layer in top:
        x = keras.Model(model.inputs, layer.input).predict(images, batch_size=batch_size, verbose=0)
        x = np.asarray(x, np.float64)
        axes = tuple(i for i in range(x.ndim) if i != layer.axis % x.ndim)
        layer.moving_mean.assign(x.mean(axis=axes).astype(np.float32))
        layer.moving_variance.assign(x.var(axis=axes).astype(np.float32))
    return {"reestimated": len(top), "nested_left": len(every) - len(top)}


def output_change(before: np.ndarray, after: np.ndarray) -> dict:
    """How much randomising changed the model's answers, from the original model's and the
    randomised copy's probabilities (N, classes) of the same digits: the share the copy
    still puts in the original's class, and its mean predictive entropy over the classes
    (0: certain, 1: uniform). With the spread, this tells "the explanation ignores the
    model" from "the randomised model ignores everything"."""
    after = np.asarray(after, np.float64)
    return {"same_class": float(np.mean(after.argmax(axis=1) == np.asarray(before).argmax(axis=1))),
            "output_entropy": float(predictive_entropy(after).mean() / np.log(after.shape[1]))}


def predictive_entropy(probabilities: np.ndarray) -> np.ndarray:
    """(N,) Shannon entropy (nats) of each row of class probabilities."""
    return shannon_entropy(np.clip(np.asarray(probabilities, np.float64), 1e-12, 1.0))


EMPRT_BINS = 100
"""Histogram bins of a map's values for its entropy (Quantus' default for eMPRT)."""


def histogram_entropy(maps: np.ndarray, bins: int = EMPRT_BINS) -> np.ndarray:
    """(N,) Shannon entropy (nats) of each map's histogram of raw values over its own range:
    the complexity eMPRT compares (0 for a constant map)."""
    flat = np.asarray(maps, np.float64).reshape(len(maps), -1)
    return shannon_entropy([np.histogram(m, bins=bins)[0] for m in flat])


def relative_rise(before: np.ndarray, after: np.ndarray) -> float:
    """Mean over digits of (after - before) / before, digits with before == 0 left out (NaN if none)."""
    before, after = np.asarray(before, np.float64), np.asarray(after, np.float64)
    keep = before > 0
    return float(np.mean((after[keep] - before[keep]) / before[keep])) if keep.any() else float("nan")


def output_spread(model: keras.Model, images: np.ndarray) -> float:
    """How much the model's answer depends on its input: the largest standard deviation,
    over the images and their negatives (1 - x), of a class's centred log-probability."""
    probe = np.concatenate([images, 1.0 - images]).astype(np.float32)
    logp = np.log(np.clip(model.predict(probe, verbose=0).astype(np.float64), 1e-30, 1.0))
    return float((logp - logp.mean(axis=1, keepdims=True)).std(axis=0).max())


def cascading_randomization(model: keras.Model, method, images: np.ndarray, targets: np.ndarray, *,
                            fractions=(0.0, 0.5, 1.0), seed: int = 0) -> list[dict]:
    """The cascade for one method: `cascade_for_methods` with {name: method}."""
    return cascade_for_methods(model, {"method": method}, images, targets, fractions=fractions, seed=seed)["method"]


def cascade_for_methods(model: keras.Model, methods, images: np.ndarray, targets: np.ndarray, *,
                        fractions=(0.0, 0.5, 1.0), seed: int = 0, calibration: np.ndarray | None = None,
                        when: str = "always", maps=None) -> dict[str, list[dict]]:
    """Re-initialises the weighted layers from the top (output) down, as Adebayo et al. do,
    and measures how much each method's maps change.

    Each layer's trainable weights are drawn again by the layer's own initializers (a
    convolution's kernel from its He/Glorot distribution, a batch normalisation's scale back
    to 1 and shift to 0); its stored statistics stay. The randomised copies do not depend
    on the method, so they are made once and every method explains each of them (cloning
    and the spread were per method before: 8 methods paid for them 8 times).

    Args:
        model: the trained classifier (left untouched: a copy is randomised).
        methods: name -> `Attribution` instance.
        images, targets: what to explain, (N, 28, 28, 1) and (N,).
        fractions: after randomising the top layer only (0.0), and the top `f` share of the
            weighted layers, a row is reported.
        seed: seed of the new weights.
        calibration: digits on which every randomised copy's normalisation statistics are
            re-estimated (`reestimate_batch_norm`) before it is measured; None keeps the
            trained statistics (the stage's default, as Adebayo et al. do).
        when: with `calibration`, re-estimate every copy ("always") or only a copy that
            ignores its input with the trained statistics (output spread below DEAD_BELOW:
            "dead"), so that a model whose copies stay alive gets Adebayo et al.'s test as
            published, and one whose copies die gets the repaired one.
        maps: name -> the methods' maps of `images` on the trained model, where they were
            already made (the others are made here).

    Returns:
        name -> rows {"randomized", "layers", "spearman", "output_spread", "same_class",
        "output_entropy"} in cascade order; "spearman" is the mean over images of the rank
        correlation of |original map| and |randomised map|; "output_spread" is
        `output_spread` of the randomised copy (below DEAD_BELOW it ignores its input);
        "same_class" and "output_entropy" are `output_change`; "emprt" is the relative rise
        in the maps' histogram entropy against the original model's (Hedström et al.'s
        eMPRT: above 0, the maps grow more complex as the model loses its training) and
        "model_entropy_rise" the same rise in the model's output entropy (Quantus'
        `compute_extra_scores`), so that the two can be read side by side; "statistics" is
        "trained" or "re-estimated" (the copy's normalisation statistics).
    """
    if when not in ("always", "dead"):
        raise ValueError(f"when must be 'always' or 'dead', got {when!r}")
    maps = maps or {}
    raw = {name: maps[name] if name in maps else method.explain(model, images, targets).maps
           for name, method in methods.items()}
    originals = {name: np.abs(made) for name, made in raw.items()}
    complexity = {name: histogram_entropy(made) for name, made in raw.items()}
    before = model.predict(images, verbose=0)
    rows = {name: [] for name in methods}
    statistics = "trained"
    for copy, stop, total, last in randomised_copies(model, seed, fractions, bottom_up=False):
        # The cascade goes on from each copy, so once statistics were re-estimated every later
        # copy has them re-estimated too (it no longer has the trained ones to keep).
        settled = calibration is not None and (when == "always" or statistics == "re-estimated")
        spread = None if settled else output_spread(copy, images)
        if calibration is not None and (settled or spread < DEAD_BELOW):
            reestimate_batch_norm(copy, calibration)
            statistics, spread = "re-estimated", output_spread(copy, images)
        after = copy.predict(images, verbose=0)
        change = output_change(before, after)
        model_rise = relative_rise(predictive_entropy(before), predictive_entropy(after))
        for name, method in methods.items():
            original = originals[name]
            randomised = method.explain(copy, images, targets).maps
            rows[name].append({"randomized": f"top {stop} of {total}", "layers": last,
                               "spearman": map_correlation(original, np.abs(randomised)),
                               "output_spread": spread, **change,
                               "emprt": relative_rise(complexity[name], histogram_entropy(randomised)),
                               "model_entropy_rise": model_rise, "statistics": statistics})
    return rows


def randomised_model_ignores_input(rows: list[dict]) -> bool:
    """True when the fully randomised copy answers the same for every input (rows from
    before the spread was recorded count as alive)."""
    return bool(rows) and rows[-1].get("output_spread", np.inf) < DEAD_BELOW


def passes_sanity_check(rows: list[dict]) -> bool:
    """True when the fully randomised model's maps are unlike the original ones, and that
    model still depends on its input (otherwise unlike maps prove nothing)."""
    return bool(rows) and rows[-1]["spearman"] < PASS_BELOW and not randomised_model_ignores_input(rows)


def sanity_verdict(rows: list[dict]) -> str:
    """'pass', 'FAIL (...)' or 'inconclusive (...)' for one method's cascade: unlike maps
    from a randomised model that ignores its input are inconclusive, like maps still fail."""
    if randomised_model_ignores_input(rows) and rows[-1]["spearman"] < PASS_BELOW:
        return (f"inconclusive (the randomised model answers the same for every input: output spread "
                f"{rows[-1]['output_spread']:.1e} < {DEAD_BELOW:g})")
    return "pass" if passes_sanity_check(rows) else UNCHANGED


EMPRT_RISE = 0.05
"""eMPRT passes when the maps' histogram entropy rises by more than this share (5%) with
every layer random. Hedström et al. rank methods by the rise and set no threshold; ours
keeps a rise of a few percent, as much as seeds and sampling move it, from counting as one."""


def emprt_verdict(rows: list[dict]) -> str:
    """eMPRT's reading of the fully randomised row: 'pass' when the maps' histogram entropy
    rises by more than EMPRT_RISE (they grow more complex as the model loses its training)
    while the model's own output entropy rises too; 'FAIL (...)' when the maps grow no more
    complex than that; 'inconclusive (...)' when randomising did not make the model less
    certain, so that the maps had nothing to follow; 'not measured' for rows written before
    eMPRT was recorded."""
    last = rows[-1] if rows else {}
    emprt, model_rise = last.get("emprt"), last.get("model_entropy_rise")
    if emprt is None or model_rise is None or not np.isfinite(emprt):
        return "not measured"
    if not model_rise > 0:
        return f"inconclusive (the randomised model is no less certain: output entropy rise {model_rise:.2f})"
    if emprt > EMPRT_RISE:
        return "pass"
    return f"FAIL (the maps grow no more complex: entropy rise {emprt:.2f} <= {EMPRT_RISE:g})"


def data_randomization(model: keras.Model, random_model: keras.Model, methods, images: np.ndarray,
                       targets: np.ndarray) -> dict[str, dict]:
    """Adebayo et al.'s data randomisation test: each method explains the same digits
    towards the same classes on the model and on the same architecture trained on permuted
    labels; a method whose maps barely differ (mean Spearman correlation of |maps| at or
    above PASS_BELOW) FAILS: its maps show the digit, not what the labels taught.

    Args:
        model, random_model: the trained classifier and its permuted-label twin.
        methods: name -> `Attribution`.
        images, targets: (N, 28, 28, 1) and (N,).

    Returns:
        name -> {"spearman", "verdict", "random_model_same_class"} ("random_model_same_class":
        the share of the digits the twin puts in the model's class).
    """
    same = float(np.mean(random_model.predict(images, verbose=0).argmax(axis=1)
                         == model.predict(images, verbose=0).argmax(axis=1)))
    out = {}
    for name, method in methods.items():
        spearman = map_correlation(np.abs(method.explain(model, images, targets).maps),
                                   np.abs(method.explain(random_model, images, targets).maps))
        verdict = "pass" if spearman < PASS_BELOW else UNCHANGED
        out[name] = {"spearman": spearman, "random_model_same_class": same, "verdict": verdict}
    return out


def map_correlation(original: np.ndarray, other: np.ndarray) -> float:
    """Mean over digits of the rank correlation of two sets of |maps| (N, 28, 28); a map
    that went flat while the original was not has lost all its structure and counts as 0."""
    rho = rank_correlation(original, other)
    rho = np.where(np.isnan(rho) & (np.ptp(original.reshape(len(original), -1), axis=1) > 0), 0.0, rho)
    return float(np.nanmean(rho)) if np.isfinite(rho).any() else float("nan")


def smoothed_maps(method, model: keras.Model, images: np.ndarray, targets: np.ndarray, *, samples: int,
                  noise: float, rng: np.random.Generator) -> np.ndarray:
    """|maps| averaged over `samples` noisy copies of each digit (Gaussian noise of standard
    deviation `noise` times the digit's value range, clipped to [0, 1]), every copy of every
    digit explained in one call: sMPRT's denoised explanation. (N, 28, 28)."""
    spread = (images.max(axis=(1, 2, 3)) - images.min(axis=(1, 2, 3)))[:, None, None, None, None]
    copies = images[:, None] + rng.normal(0.0, 1.0, (len(images), samples, *images.shape[1:])) * noise * spread
    copies = np.clip(copies, 0.0, 1.0).astype(np.float32)
    return np.abs(explain_copies(lambda x, t: method.explain(model, x, t).maps, copies, targets)).mean(axis=1)


def smoothed_randomization(model: keras.Model, methods, images: np.ndarray, targets: np.ndarray, *,
                           samples: int = 50, noise: float = 0.1, fractions=(0.5, 1.0), seed: int = 0
                           ) -> dict[str, list[dict]]:
    """sMPRT (Hedström et al. 2023): the randomisation test on denoised explanations, with the
    layers re-initialised from the input up (bottom-up, the order the paper recommends), so
    that the noise a method's maps carry from the input does not pass for dependence on the
    weights. Each method's `smoothed_maps` of the original model are compared (Spearman of
    the averaged |maps|) with those of the copy after the bottom `f` share of the weighted
    layers is redrawn (`fresh_weights_seed`), for each f in `fractions`.

    Args:
        samples, noise: noisy copies per digit and their standard deviation as a share of
            the digit's value range (Quantus' defaults: 50 and 0.1).

    Returns:
        name -> rows {"randomized", "layers", "spearman", "output_spread", "verdict"} in
        cascade order; the verdict as the classic test gives it (`sanity_verdict`).
    """
    rng = np.random.default_rng(fresh_weights_seed(seed))
    originals = {name: smoothed_maps(m, model, images, targets, samples=samples, noise=noise, rng=rng)
                 for name, m in methods.items()}
    rows = {name: [] for name in methods}
    for copy, stop, total, last in randomised_copies(model, seed, fractions, bottom_up=True):
        spread = output_spread(copy, images)
        for name, method in methods.items():
            maps = smoothed_maps(method, copy, images, targets, samples=samples, noise=noise, rng=rng)
            rows[name].append({"randomized": f"bottom {stop} of {total}", "layers": last,
                               "spearman": map_correlation(originals[name], maps), "output_spread": spread})
    for name in rows:
        verdict = sanity_verdict(rows[name])
        for row in rows[name]:
            row["verdict"] = verdict
    return rows
