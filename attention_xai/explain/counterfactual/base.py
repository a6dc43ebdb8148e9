"""The counterfactual interface: one abstract search, one registry, one immutable result.

A method takes N digits (N, 28, 28, 1) float32 in [0, 1] and N target classes (each
different from the model's prediction for its digit) and searches, in batches, for
nearby digits the model puts in the target class. `generate` re-checks every answer with
an independent prediction: a digit whose search found nothing valid within the method's
budget is reported as not found (valid False, its counterfactual all NaN), never as the
input or as an unchecked candidate.
"""

from __future__ import annotations

import time
from abc import abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar, Mapping

import keras
import numpy as np

from attention_xai.errors import ConfigError, ModelFileError
from attention_xai.explain.base import check_images, check_targets, predict_in_batches
from attention_xai.explain.method import Method
from attention_xai.models.classifier import check_classifier
from attention_xai.registry import Registry

COUNTERFACTUALS: Registry[type["CounterfactualMethod"]] = Registry(
    "counterfactual method",
    # The method the judges accept first, our other methods, then Alibi's references.
    order=("revise_siblings", "revise", "growing_spheres", "gradient", "seed_loop", "prototype",
           "alibi_proto", "alibi_wachter", "alibi_cfrl"),
)
"""Counterfactual classes by name; the CLI, the report and the tests all read this."""


@dataclass(frozen=True)
class Counterfactuals:
    """Counterfactuals of a batch of digits, and how they were made. Arrays are aligned.

    Attributes:
        method: registry name of the method.
        digits: (N, 28, 28, 1) the original digits.
        counterfactuals: (N, 28, 28, 1) in [0, 1] where valid, NaN where none was found.
        targets: (N,) the class each counterfactual was asked to reach.
        valid: (N,) the model puts the counterfactual in the target class (re-predicted).
        predictions, confidence: (N,) the model's class for the counterfactual and its
            probability (-1 and NaN where none was found).
        forward_passes: (N,) model evaluations of single digits without gradients.
        gradient_passes: (N,) evaluations with a backward pass to the input.
        seconds: (N,) wall time per digit (for batched searches: the batch's time shared
            equally among its digits).
        params: the method's parameters, seed and batch size.
    """

    method: str
    digits: np.ndarray
    counterfactuals: np.ndarray
    targets: np.ndarray
    valid: np.ndarray
    predictions: np.ndarray
    confidence: np.ndarray
    forward_passes: np.ndarray
    gradient_passes: np.ndarray
    seconds: np.ndarray
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        kinds = {"digits": np.float32, "counterfactuals": np.float32, "targets": np.int64, "valid": bool,
                 "predictions": np.int64, "confidence": np.float32, "forward_passes": np.int64,
                 "gradient_passes": np.int64, "seconds": np.float64}
        for name, dtype in kinds.items():
            array = np.array(getattr(self, name), dtype=dtype)
            array.setflags(write=False)
            object.__setattr__(self, name, array)
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))

    @property
    def delta(self) -> np.ndarray:
        """(N, 28, 28, 1) counterfactual minus digit (NaN where none was found)."""
        return self.counterfactuals - self.digits

    def save(self, path) -> Path:
        """Writes the counterfactuals to one .npz result file (see `results_file`); returns its path."""
        from attention_xai.explain.results_file import save_arrays

        return save_arrays(path, "counterfactuals", {"method": np.array(self.method), "digits": self.digits,
                                                     "targets": self.targets, **self.arrays()})

    @classmethod
    def load(cls, path) -> "Counterfactuals":
        """The counterfactuals `save` wrote; ArtifactError for a missing file or another schema."""
        from attention_xai.explain.results_file import load_arrays

        data = load_arrays(path, "counterfactuals")
        return cls.from_arrays(data, str(data["method"]), data["digits"], data["targets"])

    def arrays(self) -> dict[str, np.ndarray]:
        """The result-file arrays of this method (keys suffixed with its name), less the
        digits and targets, which a stage's file shares among its methods."""
        from attention_xai.explain.results_file import as_json

        values = {"counterfactuals": self.counterfactuals, "valid": self.valid, "cf_class": self.predictions,
                  "cf_confidence": self.confidence, "forward_passes": self.forward_passes,
                  "gradient_passes": self.gradient_passes, "seconds": self.seconds}
        return {**{f"{key}_{self.method}": value for key, value in values.items()},
                f"params_{self.method}": as_json(dict(self.params))}

    @classmethod
    def from_arrays(cls, data: Mapping[str, np.ndarray], method: str, digits, targets) -> "Counterfactuals":
        """The counterfactuals of `method` in a result file's arrays (see `arrays`)."""
        from attention_xai.explain.results_file import from_json

        m = method
        return cls(method=m, digits=digits, counterfactuals=data[f"counterfactuals_{m}"], targets=targets,
                   valid=data[f"valid_{m}"], predictions=data[f"cf_class_{m}"], confidence=data[f"cf_confidence_{m}"],
                   forward_passes=data[f"forward_passes_{m}"], gradient_passes=data[f"gradient_passes_{m}"],
                   seconds=data[f"seconds_{m}"], params=from_json(data[f"params_{m}"]))

    @property
    def model_passes(self) -> np.ndarray:
        """(N,) forward plus gradient passes per digit."""
        return self.forward_passes + self.gradient_passes


class ModelAccess:
    """The model as a method sees it: batched, compiled calls in inference mode, each
    counted against the digit it was made for.

    Args:
        model: the classifier.
        n: digits in the search.
        batch_size: rows per model call.
    """

    def __init__(self, model: keras.Model, n: int, batch_size: int):
        self.model, self.batch_size = model, batch_size
        self.forward = np.zeros(n, np.int64)
        self.gradient = np.zeros(n, np.int64)

    def predict(self, images: np.ndarray, owners: np.ndarray) -> np.ndarray:
        """Probabilities (M, 10) of `images` (M, 28, 28, 1); `owners` (M,) is the digit each row serves."""
        np.add.at(self.forward, owners, 1)
        return predict_in_batches(self.model, images, self.batch_size)

    def predict_other(self, model: keras.Model, images: np.ndarray, owners: np.ndarray) -> np.ndarray:
        """Probabilities of another model (a seed sibling), counted as forward passes too."""
        np.add.at(self.forward, owners, 1)
        return predict_in_batches(model, images, self.batch_size)

    def count_gradients(self, owners: np.ndarray) -> None:
        np.add.at(self.gradient, owners, 1)


def check_targets_differ(model: keras.Model, digits: np.ndarray, targets: np.ndarray,
                         batch_size: int = 256) -> np.ndarray:
    """The model's probabilities for `digits`; ConfigError where a target is already the prediction."""
    probabilities = predict_in_batches(model, digits, batch_size)
    same = np.flatnonzero(probabilities.argmax(axis=1) == targets)
    if len(same):
        raise ConfigError(f"target equals the model's prediction for digit(s) {same[:8].tolist()}: "
                          f"a counterfactual must change the class")
    return probabilities


class CounterfactualMethod(Method):
    """One counterfactual method. Subclasses set `name`, `kind` and `defaults` (the only
    valid parameter names, with their types) and implement `search`; `generate` checks
    the inputs, counts the model passes and re-checks every answer.

    Args: see `Method` (batch_size: digits, or candidates, per model call; default 256).
    """

    family = "counterfactual"
    default_batch_size = 256
    kind: ClassVar[str]  # "black-box" (predictions only) or "white-box" (gradients)
    per_digit: ClassVar[bool] = False  # searches one digit at a time (its seconds are its own)
    slow: ClassVar[bool] = False  # left out of the default method list (a reference that takes minutes)

    def generate(self, model: keras.Model, digits, targets) -> Counterfactuals:
        """Counterfactuals of `digits` (N, 28, 28, 1) in [0, 1] towards `targets` (N,)."""
        try:
            check_classifier(model)
        except ModelFileError as exc:
            raise ConfigError(str(exc)) from None
        digits = check_images(digits)
        targets = check_targets(targets, len(digits))
        check_targets_differ(model, digits, targets, self.batch_size)
        access = ModelAccess(model, len(digits), self.batch_size)
        started = time.perf_counter()
        found, seconds = self.search(access, digits, targets, np.random.default_rng(self.seed))
        elapsed = time.perf_counter() - started
        if seconds is None:
            seconds = np.full(len(digits), elapsed / len(digits))
        # An independent check of every answer, outside the search and its counters.
        found = np.asarray(found, np.float32).reshape(digits.shape)
        claimed = np.isfinite(found).all(axis=(1, 2, 3))
        if claimed.any() and (found[claimed].min() < 0 or found[claimed].max() > 1):
            raise RuntimeError(f"{self.name} returned values outside [0, 1]")  # a bug, not a user error
        predictions = np.full(len(digits), -1, np.int64)
        confidence = np.full(len(digits), np.nan, np.float32)
        if claimed.any():
            probabilities = predict_in_batches(model, found[claimed], self.batch_size)
            predictions[claimed] = probabilities.argmax(axis=1)
            confidence[claimed] = probabilities.max(axis=1)
        valid = claimed & (predictions == targets)
        counterfactuals = np.where(valid[:, None, None, None], found, np.nan)
        predictions[~valid], confidence[~valid] = -1, np.nan
        return Counterfactuals(method=self.name, digits=digits, counterfactuals=counterfactuals, targets=targets,
                               valid=valid, predictions=predictions, confidence=confidence,
                               forward_passes=access.forward, gradient_passes=access.gradient, seconds=seconds,
                               params=self.recorded())

    @abstractmethod
    def search(self, access: ModelAccess, digits: np.ndarray, targets: np.ndarray,
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray | None]:
        """Returns (candidates (N, 28, 28, 1) with NaN rows where nothing was found,
        seconds per digit or None to share the total equally)."""

