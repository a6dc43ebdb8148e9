"""The attribution interface: one abstract call, one registry, one immutable result.

Every method takes N digits (N, 28, 28, 1) float32 in [0, 1] and N target classes, makes
its model calls in batches, and returns an `Explanation` with raw maps (N, 28, 28) and
the parameters that made them. `Explanation.normalized()` puts maps on the common 0-1
display scale (per-map min-max); metrics use the raw values.
"""

from __future__ import annotations

import contextlib
import time
from abc import abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar, Mapping

import keras
import numpy as np

from attention_xai.errors import ConfigError
from attention_xai.explain.method import Method, Passes
from attention_xai.models.classifier import DIGIT_SHAPE
from attention_xai.registry import Registry

ATTRIBUTIONS: Registry[type["Attribution"]] = Registry(
    "attribution method",
    order=("gradcam", "gradcampp", "scorecam", "smoothgrad", "lime", "shap", "integrated_gradients", "occlusion",
           "rise", "attention"))
"""Attribution classes by name; the CLI, the report and the tests all read this."""

PER_DIGIT_PARAMS = ("dynamic_range", "entropy", "informative")
"""Params that hold one value per digit (the attention map's statistics): `subset` keeps
the chosen digits' values."""


@dataclass(frozen=True)
class Explanation:
    """Attribution maps for a batch, and how they were made.

    Attributes:
        method: registry name of the method.
        maps: (N, 28, 28) float32 raw attributions; larger means more evidence for the target.
        targets: (N,) the class each map explains.
        params: the method's parameters (and the layer it read, where it reads one).
        seconds: wall time of the call.
        forward_passes: model evaluations of single images without gradients, summed over the batch.
        gradient_passes: evaluations of single images with a backward pass for the input gradient.
    """

    method: str
    maps: np.ndarray
    targets: np.ndarray
    params: Mapping[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    forward_passes: int = 0
    gradient_passes: int = 0

    @property
    def model_passes(self) -> int:
        """Forward plus gradient passes over single images."""
        return self.forward_passes + self.gradient_passes

    def __post_init__(self):
        maps = np.asarray(self.maps, dtype=np.float32)
        maps.setflags(write=False)
        object.__setattr__(self, "maps", maps)
        object.__setattr__(self, "targets", np.asarray(self.targets, dtype=np.int64))
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))

    def subset(self, rows) -> "Explanation":
        """The explanation of the digits at `rows` (a slice or positions): their maps and
        targets, their per-digit params; the cost scaled to their share of the call."""
        n, targets = len(self.maps), self.targets[rows]
        share = len(targets) / n if n else 0.0
        params = {key: (np.asarray(value)[rows].tolist() if key in PER_DIGIT_PARAMS else value)
                  for key, value in self.params.items()}
        return Explanation(method=self.method, maps=self.maps[rows], targets=targets, params=params,
                           seconds=self.seconds * share, forward_passes=round(self.forward_passes * share),
                           gradient_passes=round(self.gradient_passes * share))

    def normalized(self) -> np.ndarray:
        """Maps min-max scaled to [0, 1] per map (a constant map becomes all zeros)."""
        return normalize_maps(self.maps)

    def save(self, path) -> Path:
        """Writes the explanation to one .npz result file (see `results_file`); returns its path."""
        from attention_xai.explain.results_file import save_arrays

        return save_arrays(path, "explanation", {"method": np.array(self.method), **self.arrays()})

    @classmethod
    def load(cls, path) -> "Explanation":
        """The explanation `save` wrote; ArtifactError for a missing file or another schema."""
        from attention_xai.explain.results_file import load_arrays

        data = load_arrays(path, "explanation")
        return cls.from_arrays(data, str(data["method"]))

    def arrays(self) -> dict[str, np.ndarray]:
        """The result-file arrays of this method (keys suffixed with its name)."""
        from attention_xai.explain.results_file import as_json

        m = self.method
        return {f"maps_{m}": self.maps, f"targets_{m}": self.targets, f"params_{m}": as_json(dict(self.params)),
                f"cost_{m}": np.array([self.seconds, self.forward_passes, self.gradient_passes])}

    @classmethod
    def from_arrays(cls, data: Mapping[str, np.ndarray], method: str) -> "Explanation":
        """The explanation of `method` in a result file's arrays (see `arrays`)."""
        from attention_xai.explain.results_file import from_json

        cost = data[f"cost_{method}"]
        return cls(method=method, maps=data[f"maps_{method}"], targets=data[f"targets_{method}"],
                   params=from_json(data[f"params_{method}"]), seconds=float(cost[0]),
                   forward_passes=int(cost[1]), gradient_passes=int(cost[2]))

    @property
    def signed(self) -> bool:
        """Whether the maps are signed evidence (see `Attribution.signed`)."""
        return bool(self.params.get("signed", False))

    def symmetric(self, percentile: float = 99.0) -> np.ndarray:
        """Signed maps scaled to [-1, 1] per map, 0 staying 0: divided by the `percentile`
        of |map| and clipped, so that a few extreme pixels do not wash out the rest."""
        flat = np.abs(self.maps).reshape(len(self.maps), -1)
        scale = np.percentile(flat, percentile, axis=1)[:, None, None]
        scale = np.where(scale > 0, scale, np.maximum(flat.max(axis=1)[:, None, None], 1e-12))
        return np.clip(self.maps / scale, -1.0, 1.0).astype(np.float32)


def normalize_maps(maps: np.ndarray) -> np.ndarray:
    """(N, H, W) -> (N, H, W) in [0, 1], each map scaled by its own min and max."""
    maps = np.asarray(maps, dtype=np.float32)
    low = maps.min(axis=(1, 2), keepdims=True)
    span = maps.max(axis=(1, 2), keepdims=True) - low
    return np.where(span > 0, (maps - low) / np.where(span > 0, span, 1), 0.0).astype(np.float32)


def check_images(images) -> np.ndarray:
    """ConfigError unless images are (N, 28, 28, 1) (or (N, 28, 28)) finite floats in [0, 1]."""
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[1:] != DIGIT_SHAPE or len(images) == 0:
        raise ConfigError(f"images must have shape (N, 28, 28, 1) with N >= 1, got {images.shape}")
    if not np.issubdtype(images.dtype, np.floating):
        raise ConfigError(f"images must be floats in [0, 1], got dtype {images.dtype} (divide uint8 by 255)")
    if not np.isfinite(images).all():
        raise ConfigError("images contain NaN or infinite values")
    if images.min() < 0 or images.max() > 1:
        raise ConfigError(f"images must be in [0, 1], got values in [{images.min():.3g}, {images.max():.3g}]")
    return images.astype(np.float32)


def check_targets(targets, n: int, num_classes: int = 10) -> np.ndarray:
    targets = np.asarray(targets)
    if targets.shape != (n,) or not np.issubdtype(targets.dtype, np.integer):
        raise ConfigError(f"targets must be {n} integer classes, got shape {targets.shape} dtype {targets.dtype}")
    if targets.min() < 0 or targets.max() >= num_classes:
        raise ConfigError(f"targets must be classes in [0, {num_classes - 1}], got {sorted(set(targets.tolist()))}")
    return targets.astype(np.int64)


class Attribution(Method):
    """One attribution method. Subclasses set `name` and `defaults` and implement
    `attribute`; `explain` checks the inputs, times the call and wraps the result.

    Args: see `Method` (batch_size: images, or perturbed images, per model call; default 64).
    """

    family = "attribution"
    needs_attention: ClassVar[bool] = False
    score: str = "probability"
    """Which score of the target class the maps explain: "probability", "logit", or
    "none" (the model's own attention map explains no output)."""
    signed: bool = False
    """True when maps carry evidence for (> 0) and against (< 0) the target; False for
    maps that are >= 0 by construction (CAMs, absolute gradients, attention)."""

    def explain(self, model: keras.Model, images, targets) -> Explanation:
        """Attribution maps for `images` (N, 28, 28, 1) in [0, 1] towards `targets` (N,)."""
        images = check_images(images)
        targets = check_targets(targets, len(images))
        started = time.perf_counter()
        maps, passes, extra = self.attribute(model, images, targets)
        return Explanation(method=self.name, maps=maps, targets=targets, seconds=time.perf_counter() - started,
                           params=self.recorded(signed=bool(self.signed), score=self.score, **extra),
                           forward_passes=int(passes.forward), gradient_passes=int(passes.gradient))

    @abstractmethod
    def attribute(self, model: keras.Model, images: np.ndarray,
                  targets: np.ndarray) -> tuple[np.ndarray, Passes, dict]:
        """Returns (maps (N, 28, 28), the model passes it made, extra params to record)."""


def compiled(model: keras.Model, key, build):
    """`build()`'s result, made once per model and `key` and kept on the model itself (so it
    lives and dies with it): compiled forward and gradient passes are traced once, not per call."""
    cache = model.__dict__.get("_attention_xai_compiled")
    if cache is None:
        cache = {}
        object.__setattr__(model, "_attention_xai_compiled", cache)  # not tracked by Keras
    if key not in cache:
        cache[key] = build()
    return cache[key]


def compiled_scores(model: keras.Model, output: str = "probability"):
    """A compiled function from digits (N, 28, 28, 1) to (N, 10) class scores (see `class_scores`)."""
    import tensorflow as tf

    return compiled(model, ("scores", output),
                    lambda: tf.function(class_scores(model, output), reduce_retracing=True))


def gradient_pass(model: keras.Model, output: str = "probability"):
    """The compiled function (digits (N, 28, 28, 1), targets (N,) int32) -> (target scores
    (N,), their gradients like the digits), made once per model and `output` ("probability"
    or "logit", see `class_scores`) and kept on the model."""
    import tensorflow as tf

    def build():
        scores = class_scores(model, output)

        @tf.function(reduce_retracing=True)
        def gradients(x, t):
            with tf.GradientTape() as tape:
                tape.watch(x)
                picked = tf.gather(scores(x), t, axis=1, batch_dims=1)
            return picked, tape.gradient(picked, x)

        return gradients

    return compiled(model, ("target_gradients", output), build)


def target_gradients(model: keras.Model, images: np.ndarray, targets: np.ndarray, output: str = "probability"
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Gradient of each image's target-class score with respect to its pixels, through the
    model's compiled `gradient_pass`.

    Returns:
        (scores of the targets (N,), gradients like `images`).
    """
    import tensorflow as tf

    picked, grads = gradient_pass(model, output)(tf.constant(images, tf.float32),
                                                 tf.constant(np.asarray(targets, np.int32)))
    return picked.numpy(), grads.numpy()


def predict_in_batches(model: keras.Model, images: np.ndarray, batch_size: int,
                       output: str = "probability") -> np.ndarray:
    """Class scores (N, 10), probabilities by default, with one compiled call per batch, in inference mode."""
    scores = compiled_scores(model, output)
    out = [scores(np.ascontiguousarray(images[i:i + batch_size], dtype=np.float32)).numpy()
           for i in range(0, len(images), batch_size)]
    return np.concatenate(out) if out else np.zeros((0, 10), np.float32)


@contextlib.contextmanager
def numpy_seed(seed: int):
    """Seeds numpy's global generator for the block and puts its state back afterwards,
    for libraries that draw from it (tf-keras-vis' SmoothGrad noise, SHAP's samples):
    the same seed gives the same maps and the caller's random state is untouched."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def log_scores(model: keras.Model):
    """A function from digits to class scores whose differences are log-probability ratios:
    the logits when the model ends in a softmax Dense layer (they do not saturate), else
    the log of the probabilities. It shares the model's layers; nothing is copied."""
    import tensorflow as tf

    head = softmax_head(model)
    if head is not None:
        features = keras.Model(model.input, head.input)
        return lambda x: head_logits(head, features(x, training=False))
    return lambda x: tf.math.log(tf.clip_by_value(model(x, training=False), 1e-30, 1.0))


def softmax_head(model: keras.Model):
    """The model's last layer when it is a Dense layer with a softmax (whose logits can be
    computed from its input with its live weights), else None."""
    last = model.layers[-1]
    if isinstance(last, keras.layers.Dense) and last.activation is keras.activations.softmax:
        return last
    return None


def head_logits(head, features):
    """The logits `head` (see `softmax_head`) computes from its input features."""
    out = keras.ops.matmul(features, head.kernel)
    return out + head.bias if head.use_bias else out


OUTPUTS = ("probability", "logit")


def class_scores(model: keras.Model, output: str):
    """A function from digits (a tensor) to (N, 10) class scores: the model's probabilities,
    or its logits (`log_scores`). ConfigError for another `output`."""
    check_output(output)
    if output == "logit":
        return log_scores(model)
    return lambda x: model(x, training=False)


def check_output(output: str) -> str:
    """ConfigError unless `output` names a class score a method can explain."""
    if output not in OUTPUTS:
        raise ConfigError(f"output must be one of {', '.join(OUTPUTS)}, got {output!r}")
    return output
