"""The counterfactual stage as one computation: pick GOOD/BAD digits, choose their
targets, run every method on the same digits, and measure the answers. No files are
written here."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from attention_xai.errors import ConfigError
from attention_xai.params import TARGET_RULES
from attention_xai.evaluate.counterfactual import (cout, distances, im1, im2, judge_verdicts, top_k_overlap, validity,
                                                   ynn)
from attention_xai.explain.base import ATTRIBUTIONS, Explanation, check_images, predict_in_batches
from attention_xai.explain.counterfactual.base import COUNTERFACTUALS, Counterfactuals
from attention_xai.explain.samples import Samples, pool_samples

log = logging.getLogger(__name__)

"""auto: BAD digits towards their true class, GOOD (and unlabelled) ones towards the
runner-up class; true; runner-up; or a class number (given as int)."""


@dataclass(frozen=True)
class CounterfactualAnalysis:
    """Everything the counterfactual stage found, ready to be written or plotted."""

    images: np.ndarray
    samples: Samples
    targets: np.ndarray
    target_rule: str
    results: list[Counterfactuals]
    attributions: list[Explanation] = field(default_factory=list)
    per_digit: list[dict] = field(default_factory=list)
    summary: list[dict] = field(default_factory=list)

    def save(self, path) -> Path:
        """Writes everything the stage found to one .npz result file (content
        "counterfactual_analysis"; layout in docs/reference.md); returns its path. The
        report is drawn from this file alone."""
        from attention_xai.evaluate.counterfactual import L0_THRESHOLD, distances
        from attention_xai.explain.results_file import as_json, save_arrays

        arrays = {"images": self.images, **self.samples.arrays(), "targets": self.targets,
                  "target_rule": np.array(self.target_rule), "l0_threshold": np.array(L0_THRESHOLD),
                  "methods": np.array([r.method for r in self.results], dtype=str),
                  "attribution_methods": np.array([e.method for e in self.attributions], dtype=str),
                  "tables": as_json({"per_digit": self.per_digit, "summary": self.summary})}
        for r in self.results:
            arrays.update(r.arrays())
            arrays.update({f"{key}_{r.method}": value
                           for key, value in distances(r.digits, r.counterfactuals).items()})
        for e in self.attributions:
            arrays[f"map_{e.method}"] = e.maps
        return save_arrays(path, "counterfactual_analysis", arrays)

    @classmethod
    def load(cls, path) -> "CounterfactualAnalysis":
        """The analysis `save` wrote; ArtifactError (one line naming the command that makes
        it again) for a missing file or one of another schema."""
        from attention_xai.explain.results_file import from_json, load_arrays

        data = load_arrays(path, "counterfactual_analysis")
        samples, tables = Samples.from_arrays(data), from_json(data["tables"])
        return cls(images=data["images"], samples=samples, targets=data["targets"],
                   target_rule=str(data["target_rule"]),
                   results=[Counterfactuals.from_arrays(data, str(m), data["images"], data["targets"])
                            for m in data["methods"]],
                   attributions=[Explanation(method=str(m), maps=data[f"map_{m}"], targets=samples.predictions)
                                 for m in data["attribution_methods"]],
                   per_digit=tables.get("per_digit", []), summary=tables.get("summary", []))


def build_counterfactual_methods(names: Sequence[str] | None, params: Mapping[str, Mapping] | None = None, *,
                                 seed: int = 0) -> dict:
    """Method instances by name (all registered methods when `names` is None)."""
    params = params or {}
    names = list(names) if names else COUNTERFACTUALS.names()
    return {name: COUNTERFACTUALS.get(name)(seed=seed, **dict(params.get(name, {}))) for name in names}


def choose_targets(rule: str | int, samples: Samples, probabilities: np.ndarray) -> np.ndarray:
    """Target class per chosen digit (see TARGET_RULES); ConfigError for an unknown rule."""
    runner_up = np.argsort(-probabilities, axis=1)[:, 1]
    if isinstance(rule, (int, np.integer)) and not isinstance(rule, bool):
        if not 0 <= rule < probabilities.shape[1]:
            raise ConfigError(f"target class must be in [0, {probabilities.shape[1] - 1}], got {rule}")
        return np.full(len(samples.indices), int(rule), np.int64)
    if rule == "runner-up":
        return runner_up.astype(np.int64)
    if rule == "true":
        if (samples.labels < 0).any():
            raise ConfigError("--target true needs labelled digits (your own images have no true class)")
        return samples.labels.astype(np.int64)
    if rule == "auto":
        return np.where(samples.kind == "BAD", samples.labels, runner_up).astype(np.int64)
    raise ConfigError(f"unknown target rule {rule!r}; valid: {', '.join(TARGET_RULES)} or a class number")


def analyse_counterfactuals(model, images: np.ndarray, labels: np.ndarray | None, *, methods: Mapping,
                            good: int = 4, bad: int = 4, rule: str = "confident", per_class: bool = False,
                            target: str | int = "auto", seed: int = 0, autoencoders=None,
                            training_digits: np.ndarray | None = None, overlap_methods: Sequence[str] | None = None,
                            judges: Mapping | None = None, batch_size: int = 256,
                            explained=None) -> CounterfactualAnalysis:
    """GOOD/BAD selection, targets, counterfactuals of every method, and their metrics.

    Args:
        model: a digit classifier.
        images: (N, 28, 28, 1) pool in [0, 1]; labels: (N,) true classes, or None for a
            user's own digits (all of them are used, kind "INPUT").
        methods: name -> `CounterfactualMethod` (see `build_counterfactual_methods`).
        good, bad, rule, per_class, seed: see `select_samples`.
        target: see TARGET_RULES.
        autoencoders: `Autoencoders` for IM1/IM2 (None: those columns are left out).
        training_digits: (M, 28, 28, 1) for yNN (None: left out).
        overlap_methods: attribution methods whose maps of the original digits are
            compared with where each counterfactual changes pixels (default: all).
        judges: name -> independent classifier (see `models/judges.py`), called only after
            every search has finished, to measure what each counterfactual means to a
            classifier that took no part in finding it (None: those columns are left out).
        explained: the explain stage's `Analysis` of the same model, if it ran (`run` hands
            it over): its maps serve the overlap columns when they explain exactly these
            digits towards the predicted classes, instead of being computed again, and its
            predictions of the pool are used when the pool is the same (`pool_key`).
    """
    images = check_images(images)
    probabilities = _pool_probabilities(model, images, batch_size, explained)
    samples = pool_samples(probabilities, labels, good=good, bad=bad, rule=rule, per_class=per_class, seed=seed)
    if len(samples.indices) == 0:
        raise ConfigError("no digits to explain: the pool has neither correct nor misclassified digits")
    chosen = images[samples.indices]
    targets = choose_targets(target, samples, probabilities[samples.indices])
    same = np.flatnonzero(targets == samples.predictions)
    if len(same):
        raise ConfigError(f"target equals the model's prediction for {len(same)} chosen digit(s) "
                          f"(e.g. a {samples.kind[same[0]]} digit predicted {samples.predictions[same[0]]}); "
                          f"a counterfactual must change the class (with --target true, use --good 0)")
    results = []
    for name, method in methods.items():
        results.append(method.generate(model, chosen, targets))
        r = results[-1]
        log.info("counterfactual: %s: %d/%d valid in %.1f s", name, r.valid.sum(), len(r.valid), r.seconds.sum())
    attributions = _attributions(model, chosen, samples.predictions, overlap_methods, seed,
                                 _reusable(explained, chosen, samples.predictions))
    analysis = CounterfactualAnalysis(images=chosen, samples=samples, targets=targets,
                                      target_rule=str(target), results=results, attributions=attributions)
    per_digit, summary = measure(model, analysis, autoencoders, training_digits, judges, batch_size)
    analysis.per_digit.extend(per_digit)
    analysis.summary.extend(summary)
    return analysis


def _pool_probabilities(model, images, batch_size, explained) -> np.ndarray:
    """The model's probabilities of the pool: the explain stage's, when it predicted this
    very pool in the same run; else predicted here."""
    from attention_xai.explain.analysis import pool_key

    pool = getattr(explained, "pool", None)
    if pool is not None and len(pool[1]) == len(images) and pool[0] == pool_key(images):
        log.info("counterfactual: the explain stage's predictions of the %d pool digits", len(images))
        return pool[1]
    return predict_in_batches(model, images, batch_size)


def _reusable(explained, images, classes) -> dict[str, Explanation]:
    """The explain stage's maps by method, when they are of `images` towards `classes`."""
    if explained is None or not np.array_equal(explained.images, images):
        return {}
    return {e.method: e for e in explained.explanations if np.array_equal(e.targets, classes)}


def _attributions(model, images, classes, names, seed, ready: Mapping[str, Explanation]) -> list[Explanation]:
    out = []
    names = ATTRIBUTIONS.names() if names is None else names
    if ready:
        log.info("counterfactual: overlap with the explain stage's maps of %s",
                 ", ".join(n for n in names if n in ready))
    for name in names:
        if name in ready:
            out.append(ready[name])
            continue
        method = ATTRIBUTIONS.get(name)(seed=seed)
        try:
            out.append(method.explain(model, images, classes))
        except ConfigError as exc:
            if not method.needs_attention:
                raise
            log.info("counterfactual: no %s overlap: %s", name, exc)
    return out


def measure(model, analysis: CounterfactualAnalysis, autoencoders=None, training_digits=None, judges=None,
            batch_size: int = 256) -> tuple[list[dict], list[dict]]:
    """Per-digit rows and per-method summary rows of every metric.

    With judges, each gets `judge_<name>_class` (its class of x'), `judge_<name>_before`
    (of x), and in the summary `judge_<name>_agrees` (share of the valid counterfactuals it
    puts in the target class: the oracle score) and `judge_<name>_keeps` (share it still
    puts in the model's original class). `verdict` names a method whose counterfactuals
    every judge mostly keeps in the original class."""
    from attention_xai.models.autoencoder import reconstruct
    from attention_xai.models.judges import judge_predict

    def predict(x):
        return predict_in_batches(model, np.asarray(x, np.float32), batch_size)

    s = analysis.samples
    per_digit, summary = [], []
    for r in analysis.results:
        columns = {"valid": validity(predict, r.counterfactuals, r.targets).astype(float),
                   **distances(r.digits, r.counterfactuals)}
        if autoencoders is not None:
            per_class = [lambda x, ae=ae: reconstruct(ae, x) for ae in autoencoders.per_class]
            columns["im1"] = im1(per_class, r.counterfactuals, r.targets, s.predictions)
            columns["im2"] = im2(per_class, lambda x: reconstruct(autoencoders.all, x), r.counterfactuals, r.targets)
        if training_digits is not None:
            columns["ynn"] = ynn(predict, r.counterfactuals, r.targets, training_digits)
        columns["cout"] = cout(predict, r.digits, r.counterfactuals, s.predictions, r.targets)
        judged = {}
        for judge_name, judge in (judges or {}).items():
            verdict = judge_verdicts(lambda x, j=judge: judge_predict(j, x, batch_size), r.digits, r.counterfactuals,
                                     r.targets, s.predictions)
            judged[judge_name] = verdict
            columns[f"judge_{judge_name}_agrees"] = verdict["agrees"]
            columns[f"judge_{judge_name}_keeps"] = verdict["keeps"]
        for e in analysis.attributions:
            columns[f"overlap_{e.method}"] = top_k_overlap(r.delta, e.maps, columns["l0"])
        columns.update(forward_passes=r.forward_passes, gradient_passes=r.gradient_passes, seconds=r.seconds)
        for i in range(len(r.digits)):
            per_digit.append({"method": r.method, "row": i, "kind": str(s.kind[i]), "test_index": int(s.indices[i]),
                              "true": int(s.labels[i]), "predicted": int(s.predictions[i]),
                              "target": int(r.targets[i]), "cf_class": int(r.predictions[i]),
                              "cf_confidence": _round(r.confidence[i]),
                              **{f"judge_{j}_{key}": int(v[key][i]) for j, v in judged.items()
                                 for key in ("before", "class")},
                              **{key: _round(value[i]) for key, value in columns.items()}})
        found = columns["valid"] > 0
        row = {"method": r.method, "kind": COUNTERFACTUALS.get(r.method).kind, "digits": len(r.digits),
               "validity": _round(found.mean())}
        if judged:
            row["verdict"] = judge_verdict([np.nanmean(v["agrees"][found]) if found.any() else np.nan
                                            for v in judged.values()],
                                           [np.nanmean(v["keeps"][found]) if found.any() else np.nan
                                            for v in judged.values()])
        for key, value in columns.items():
            if key in ("valid",):
                continue
            if key in ("forward_passes", "gradient_passes", "seconds"):
                row[f"{key}_per_digit"] = _round(np.mean(value))
            else:
                row[key] = _round(np.nanmean(value[found])) if found.any() else None
        summary.append(row)
    return per_digit, summary


ACCEPTED = 0.9
"""Judge agreement at which a method's counterfactuals count as accepted: every judge
puts at least this share of the valid ones in the target class."""

ADVERSARIAL = "adversarial: judges keep the original class"


def judge_verdict(agrees, keeps) -> str:
    """One phrase for a method from its judges' agreement and keep rates: "accepted by
    the judges" (every judge agrees on >= ACCEPTED), ADVERSARIAL (every judge keeps the
    original class on most of them), "mixed" otherwise, "no valid counterfactual" without
    numbers."""
    agrees, keeps = np.asarray(agrees, float), np.asarray(keeps, float)
    if not len(agrees) or not np.isfinite(agrees).all():
        return "no valid counterfactual"
    if (agrees >= ACCEPTED).all():
        return "accepted by the judges"
    if (keeps > 0.5).all():
        return ADVERSARIAL
    return "mixed: judges partly agree"


def _round(value, digits: int = 5):
    value = float(value)
    return None if not np.isfinite(value) else round(value, digits)
