"""Choosing what to explain: GOOD (correctly classified) and BAD (misclassified) digits."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Samples:
    """Chosen digits with the model's view of them. Arrays are aligned: row i of each.

    Attributes:
        indices: positions in the pool the digits came from.
        kind: "GOOD" or "BAD" per digit.
        labels: true classes; predictions: predicted classes; confidence: probability
            of the predicted class.
    """

    indices: np.ndarray
    kind: np.ndarray
    labels: np.ndarray
    predictions: np.ndarray
    confidence: np.ndarray

    FIELDS = ("indices", "kind", "labels", "predictions", "confidence")

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays a result file keeps, by field name."""
        return {name: getattr(self, name) for name in self.FIELDS}

    @classmethod
    def from_arrays(cls, data) -> "Samples":
        return cls(**{name: data[name] for name in cls.FIELDS})

    def __len__(self) -> int:
        return len(self.indices)

    def subset(self, rows) -> "Samples":
        """The digits at `rows` (a slice or positions), in that order."""
        return Samples(**{name: np.asarray(getattr(self, name))[rows] for name in self.FIELDS})

    def then(self, more: "Samples") -> "Samples":
        """These digits followed by `more`."""
        return Samples(**{name: np.concatenate([getattr(self, name), getattr(more, name)]) for name in self.FIELDS})

    def rows(self) -> list[dict]:
        """One table row per digit (the samples table of the explain stage)."""
        return [{"row": i, "kind": str(k), "test_index": int(idx), "true": int(label), "predicted": int(p),
                 "confidence": round(float(c), 5)}
                for i, (k, idx, label, p, c) in enumerate(zip(self.kind, self.indices, self.labels, self.predictions,
                                                              self.confidence))]


def select_samples(probabilities: np.ndarray, labels: np.ndarray, *, good: int = 4, bad: int = 4,
                   rule: str = "confident", per_class: bool = False, seed: int = 0) -> Samples:
    """Picks GOOD and BAD digits from predictions on a pool.

    Args:
        probabilities: (N, 10) model outputs on the pool; labels: (N,) true classes.
        good, bad: how many of each (fewer when the pool has fewer).
        rule: "confident" (the most confident correct digits and the most confidently wrong
            ones: the clearest successes and the worst failures; among near-ties, digits of
            classes not yet chosen come first, so the GOOD rows are not all one class) or
            "random" (a seeded draw).
        per_class: GOOD and BAD counts per true class instead of in total.
        seed: seed of the "random" rule.
    """
    if rule not in ("confident", "random"):
        raise ValueError(f"rule must be 'confident' or 'random', got {rule!r}")
    predictions = probabilities.argmax(axis=1)
    confidence = probabilities.max(axis=1)
    rng = np.random.default_rng(seed)

    def pick(candidates: np.ndarray, count: int) -> np.ndarray:
        if rule == "random":
            return np.sort(rng.choice(candidates, min(count, len(candidates)), replace=False))
        # Confidence rounded to 3 decimals, so that near-ties (0.9999 vs 0.9998) let a new class first.
        ranked = candidates[np.argsort(-np.round(confidence[candidates], 3), kind="stable")]
        first, rest, seen = [], [], set()
        for index in ranked:
            (rest if labels[index] in seen else first).append(index)
            seen.add(labels[index])
            if len(first) == count:
                break
        return np.array(sorted(first, key=lambda i: -confidence[i]) + rest, dtype=np.int64)[:count]

    chosen = {"GOOD": [], "BAD": []}
    groups = [np.arange(len(labels))] if not per_class else [np.flatnonzero(labels == c) for c in range(10)]
    for group in groups:
        correct = predictions[group] == labels[group]
        chosen["GOOD"].extend(pick(group[correct], good))
        chosen["BAD"].extend(pick(group[~correct], bad))
    indices = np.array(chosen["GOOD"] + chosen["BAD"], dtype=np.int64)
    kind = np.array(["GOOD"] * len(chosen["GOOD"]) + ["BAD"] * len(chosen["BAD"]))
    return Samples(indices=indices, kind=kind, labels=np.asarray(labels)[indices], predictions=predictions[indices],
                   confidence=confidence[indices])


def measured_samples(probabilities: np.ndarray, labels: np.ndarray, shown: Samples, *, total: int,
                     rule: str = "confident", per_class: bool = False, seed: int = 0) -> Samples:
    """The digits the trust tables measure: the `shown` ones (the figure's) first, then
    more from the rest of the pool by the same `rule` until `total` digits, half GOOD and
    half BAD (GOOD make up for BAD digits the pool lacks). With `per_class`, `total` is
    spread evenly over the ten classes. `shown` alone when it already has `total` digits.

    The figure's digits stay the first rows, so that a figure of 8 digits and a table of
    100 come from one computation and the figure is the one it always was."""
    extra = total - len(shown)
    if extra <= 0:
        return shown
    rest = np.setdiff1d(np.arange(len(labels)), shown.indices)
    wrong = int(np.sum(probabilities[rest].argmax(axis=1) != np.asarray(labels)[rest]))
    bad = min(max(total // 2 - int(np.sum(shown.kind == "BAD")), 0), wrong)
    good = extra - bad
    groups = 10 if per_class else 1
    more = select_samples(probabilities[rest], np.asarray(labels)[rest], good=-(-good // groups),
                          bad=-(-bad // groups), rule=rule, per_class=per_class, seed=seed)
    more = Samples(**{**more.arrays(), "indices": rest[more.indices]})
    return shown.then(more)


def pool_samples(probabilities: np.ndarray, labels: np.ndarray | None, **select) -> Samples:
    """`select_samples` for a labelled pool; for an unlabelled one (a user's own images,
    labels None) every digit, of kind "INPUT" with label -1."""
    if labels is not None:
        return select_samples(probabilities, labels, **select)
    n = len(probabilities)
    return Samples(indices=np.arange(n), kind=np.array(["INPUT"] * n), labels=np.full(n, -1),
                   predictions=probabilities.argmax(axis=1), confidence=probabilities.max(axis=1))
