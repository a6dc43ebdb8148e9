"""The explain stage as one computation: pick GOOD/BAD digits, explain them with every
method, and measure how far each map can be trusted. No files are written here."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from attention_xai.errors import ConfigError
from attention_xai.evaluate.faithfulness import (average_drop_and_increase, deletion_auc, gini, insertion_auc,
                                                  rank_correlation)
from attention_xai.evaluate.attention import RANGE_THRESHOLD, informativeness
from attention_xai.evaluate.robustness import robustness_per_digit
from attention_xai.evaluate.sanity import cascade_for_methods, emprt_verdict, sanity_verdict
from attention_xai.evaluate.statistics import bootstrap_interval
from attention_xai.explain.base import ATTRIBUTIONS, Explanation, check_images, predict_in_batches
from attention_xai.models.classifier import attention_maps
from attention_xai.explain.samples import Samples, measured_samples, pool_samples

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Analysis:
    """Everything the explain stage found, ready to be written or plotted."""

    images: np.ndarray
    samples: Samples
    explanations: list[Explanation]
    faithfulness: list[dict] = field(default_factory=list)
    sanity: list[dict] = field(default_factory=list)
    agreement: list[dict] = field(default_factory=list)
    informativeness: list[dict] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    selection: Mapping[str, object] = field(default_factory=dict)
    """How the digits were chosen and which class the maps explain: rule, per_class,
    target, and whether they came from the user's own images (the report says so)."""
    pool: tuple[str, np.ndarray] | None = field(default=None, repr=False, compare=False)
    """(`pool_key` of the pool, the model's probabilities of every pool digit), kept in
    memory only: the counterfactual stage of the same run picks its digits from them
    instead of predicting the pool again (at 224x224 that is minutes). Not saved."""

    TABLES = ("samples", "faithfulness", "sanity", "informativeness", "agreement")

    def tables(self) -> dict[str, list[dict]]:
        """Every table of the analysis by name (the samples table included)."""
        return {"samples": self.samples.rows(), "faithfulness": self.faithfulness, "sanity": self.sanity,
                "informativeness": self.informativeness, "agreement": self.agreement}

    def save(self, path) -> Path:
        """Writes everything the analysis found to one .npz result file (content
        "attributions"; layout in docs/reference.md); returns its path. The report is drawn
        from this file alone."""
        from attention_xai.explain.results_file import as_json, save_arrays

        arrays = {"images": self.images, **self.samples.arrays(),
                  "methods": np.array([e.method for e in self.explanations], dtype=str),
                  "selection": as_json(dict(self.selection)), "tables": as_json(self.tables()),
                  "skipped": as_json(dict(self.skipped))}
        for e in self.explanations:
            arrays.update(e.arrays())
        return save_arrays(path, "attributions", arrays)

    @classmethod
    def load(cls, path) -> "Analysis":
        """The analysis `save` wrote; ArtifactError (one line naming the command that makes
        it again) for a missing file or one of another schema."""
        from attention_xai.explain.results_file import from_json, load_arrays

        data = load_arrays(path, "attributions")
        tables = from_json(data["tables"])
        return cls(images=data["images"], samples=Samples.from_arrays(data),
                   explanations=[Explanation.from_arrays(data, str(m)) for m in data["methods"]],
                   **{name: tables.get(name, []) for name in cls.TABLES if name != "samples"},
                   skipped=from_json(data["skipped"]), selection=from_json(data["selection"]))


ROBUSTNESS_SAMPLES = 4
"""Perturbed copies per digit and robustness metric in the explain stage (on the sanity
check's digits). Quantus draws 200; each copy is one more explanation by every method
(with 8 copies RISE alone took 23 s of the quick model's stage on the AVX-512 machine), so
the stage's maxima are lower bounds over few copies; `experiments/tools/robustness.py`
computes them with more."""


def pool_key(images: np.ndarray) -> str:
    """A fingerprint of a digit pool (shape, dtype and every value): two stages of one run
    share the pool's predictions only when their pools have the same key."""
    import hashlib

    images = np.ascontiguousarray(images)
    digest = hashlib.sha1(f"{images.shape}{images.dtype}".encode())
    digest.update(images.data)
    return digest.hexdigest()


def robustness(method, model, images: np.ndarray, targets: np.ndarray, maps: np.ndarray, *, samples: int,
               seed: int) -> dict:
    """The robustness columns of one method's maps on `model`: each measure of
    `evaluate.robustness.robustness_per_digit` as the mean over the digits, with its
    bootstrap 95% interval."""
    columns = {}
    for name, values in robustness_per_digit(lambda x, t: method.explain(model, x, t).maps, images, targets, maps,
                                             samples=samples, seed=seed).items():
        low, high = bootstrap_interval(values, seed=seed)
        columns.update({name: float(np.mean(values)), f"{name}_ci_low": low, f"{name}_ci_high": high})
    return columns


def calibration_pool(images: np.ndarray, measured: np.ndarray, count: int, *, seed: int) -> np.ndarray | None:
    """`count` digits of the pool drawn (seeded) from those not measured, on which the
    randomised copies' normalisation statistics are re-estimated; the whole pool when every
    digit is measured (a user's own images); None for `count` 0."""
    if count <= 0:
        return None
    rest = np.setdiff1d(np.arange(len(images)), measured)
    rest = rest if len(rest) else np.arange(len(images))
    rng = np.random.default_rng([seed, 2])
    return images[np.sort(rng.choice(rest, min(count, len(rest)), replace=False))]


def build_methods(names: Sequence[str] | None, params: Mapping[str, Mapping] | None = None, *, seed: int = 0,
                  batch_size: int = 64) -> dict:
    """Method instances by name (all registered methods when `names` is None)."""
    params = params or {}
    names = list(names) if names else ATTRIBUTIONS.names()
    return {name: ATTRIBUTIONS.get(name)(seed=seed, batch_size=batch_size, **dict(params.get(name, {})))
            for name in names}


def explain_all(model, images, targets, methods: Mapping) -> tuple[list[Explanation], dict[str, str]]:
    """Runs every method; a method that cannot apply to this model (e.g. "attention" on a
    model without a spatial attention map) is skipped with its reason."""
    explanations, skipped = [], {}
    for name, method in methods.items():
        try:
            explanations.append(method.explain(model, images, targets))
        except ConfigError as exc:
            if not method.needs_attention:
                raise
            skipped[name] = str(exc)
            log.info("explain: skipping %s: %s", name, exc)
            continue
        log.info("explain: %s took %.2f s for %d digits", name, explanations[-1].seconds, len(images))
    return explanations, skipped


def analyse(model, images: np.ndarray, labels: np.ndarray | None, *, methods: Mapping, good: int = 4, bad: int = 4,
            rule: str = "confident", per_class: bool = False, target: str = "predicted", seed: int = 0,
            batch_size: int = 64, table_digits: int = 0, sanity_digits: int = 4, calibration_digits: int = 0,
            robustness_samples: int = ROBUSTNESS_SAMPLES, metrics: bool = True) -> Analysis:
    """GOOD/BAD selection, explanations and trust metrics for a pool of labelled digits.

    Args:
        model: a digit classifier.
        images: (N, 28, 28, 1) pool in [0, 1]; labels: (N,) true classes, or None for
            unlabelled digits (a user's own images): then every digit is explained, as
            kind "INPUT", towards its predicted class.
        methods: name -> `Attribution` (see `build_methods`).
        good, bad, rule, per_class, seed: the figure's digits (see `select_samples`).
        target: explain the "predicted" class (why did the model say that?) or the "true" one.
        table_digits: digits the faithfulness table and the agreement with the attention
            map measure: the figure's, then more by the same rule (`measured_samples`),
            until this many (0, or no more than the figure's: the figure's digits). The
            analysis keeps the figure's digits and maps; the tables describe them all.
        sanity_digits: the first this many measured digits (the figure's first rows) are
            used by the randomisation test (it re-explains them 3 times) and the robustness
            metrics (each re-explains them 3 x `robustness_samples` times).
        calibration_digits: a randomised copy that ignores its input with the trained
            normalisation statistics has them re-estimated on this many pool digits, a
            seeded draw from those not measured (`calibration_pool`; 0: every copy keeps the
            trained statistics). Each sanity row says which statistics its copy had.
        robustness_samples: perturbed copies per digit for each robustness metric (0: none).
        metrics: compute the trust tables (off: maps only).
    """
    if target not in ("predicted", "true"):
        raise ConfigError(f"target must be 'predicted' or 'true', got {target!r}")
    images = check_images(images)
    probabilities = predict_in_batches(model, images, batch_size)
    shown = pool_samples(probabilities, labels, good=good, bad=bad, rule=rule, per_class=per_class, seed=seed)
    if labels is None:
        target = "predicted"
    if len(shown) == 0:
        raise ConfigError("no digits to explain: the pool has neither correct nor misclassified digits")
    samples = shown
    if metrics and labels is not None:
        samples = measured_samples(probabilities, labels, shown, total=table_digits, rule=rule, per_class=per_class,
                                   seed=seed)
    chosen = images[samples.indices]
    targets = samples.predictions if target == "predicted" else samples.labels.astype(np.int64)
    explanations, skipped = explain_all(model, chosen, targets, methods)
    selection = {"rule": rule, "per_class": per_class, "target": target, "own_images": labels is None,
                 "pool_digits": len(images), "table_digits": len(samples), "table_indices": samples.indices.tolist()}
    figure = slice(0, len(shown))
    analysis = Analysis(images=chosen[figure], samples=shown, explanations=[e.subset(figure) for e in explanations],
                        skipped=skipped, selection=selection, pool=(pool_key(images), probabilities))
    if not metrics:
        return analysis

    def predict(x):
        return predict_in_batches(model, x, batch_size)

    sanity_rows = slice(0, min(sanity_digits, len(chosen)))
    for e in explanations:
        drop, increase = average_drop_and_increase(predict, chosen, targets, e.maps)
        deletion = deletion_auc(predict, chosen, targets, e.maps)
        insertion = insertion_auc(predict, chosen, targets, e.maps)
        deletion_low, deletion_high = bootstrap_interval(deletion, seed=seed)
        insertion_low, insertion_high = bootstrap_interval(insertion, seed=seed)
        analysis.faithfulness.append({
            "method": e.method,
            "explains": f"target {e.params.get('score', 'probability')}",
            "digits": len(chosen),
            "deletion_auc": float(np.mean(deletion)),
            "deletion_auc_ci_low": deletion_low, "deletion_auc_ci_high": deletion_high,
            "insertion_auc": float(np.mean(insertion)),
            "insertion_auc_ci_low": insertion_low, "insertion_auc_ci_high": insertion_high,
            "average_drop_pct": drop,
            "increase_in_confidence_pct": increase,
            "gini": float(np.mean(gini(e.maps))),
            "seconds_per_digit": e.seconds / len(chosen),
            "forward_passes_per_digit": e.forward_passes / len(chosen),
            "gradient_passes_per_digit": e.gradient_passes / len(chosen),
        })
        if robustness_samples > 0:
            analysis.faithfulness[-1].update(
                robustness(methods[e.method], model, chosen[sanity_rows], targets[sanity_rows], e.maps[sanity_rows],
                           samples=robustness_samples, seed=seed),
                robustness_digits=len(chosen[sanity_rows]), robustness_samples=robustness_samples)
    for module, maps in attention_maps(model, chosen[figure], batch_size).items():
        if "spatial" in maps:
            stats = informativeness(maps["spatial"])
            for i in range(len(shown)):
                analysis.informativeness.append({
                    "module": module, "row": i, "shape": "x".join(map(str, maps["spatial"].shape[1:])),
                    "dynamic_range": round(float(stats["dynamic_range"][i]), 5),
                    "entropy": round(float(stats["entropy"][i]), 5),
                    "informative": "yes" if stats["informative"][i] else "NO"})
    attention = next((e for e in explanations if e.method == "attention"), None)
    informative = np.asarray(attention.params["informative"], bool) if attention is not None else None
    uninformative_note = None
    if attention is not None and not informative.any():
        uninformative_note = (f"not measured: the attention map is uninformative for every digit (relative range "
                              f"{np.mean(attention.params['dynamic_range']):.3f} on average < {RANGE_THRESHOLD})")
    checked = {e.method: methods[e.method] for e in explanations if not (e is attention and uninformative_note)}
    made = {e.method: e.maps[sanity_rows] for e in explanations}
    calibration = calibration_pool(images, samples.indices, calibration_digits, seed=seed)
    cascades = (cascade_for_methods(model, checked, chosen[sanity_rows], targets[sanity_rows], seed=seed, maps=made,
                                    calibration=calibration, when="dead") if checked else {})
    for e in explanations:
        if e.method not in cascades:
            analysis.sanity.append({"method": e.method, "verdict": uninformative_note})
            continue
        verdict, emprt = sanity_verdict(cascades[e.method]), emprt_verdict(cascades[e.method])
        for row in cascades[e.method]:
            analysis.sanity.append({"method": e.method, **row, "digits": len(chosen[sanity_rows]),
                                    "calibration_digits": 0 if calibration is None else len(calibration),
                                    "verdict": verdict, "emprt_verdict": emprt})
    if attention is not None:
        for e in explanations:
            if e is attention:
                continue
            if uninformative_note:
                analysis.agreement.append({"method": e.method, "spearman_with_attention": None,
                                           "digits": 0, "note": uninformative_note})
                continue
            # Only digits whose attention map says something count.
            correlation = rank_correlation(attention.maps[informative], np.abs(e.maps[informative]))
            analysis.agreement.append({"method": e.method, "spearman_with_attention": float(np.nanmean(correlation)),
                                       "digits": int(informative.sum()), "note": ""})
    return analysis
