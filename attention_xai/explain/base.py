"""The attribution interface: one abstract call, one registry, one immutable result.

Every method takes N digits (N, 28, 28, 1) float32 in [0, 1] and N target classes, makes
its model calls in batches, and returns an `Explanation` with raw maps (N, 28, 28) and
the parameters that made them. `Explanation.normalized()` puts maps on the common 0-1
display scale (per-map min-max); metrics use the raw values.
"""

from __future__ import annotations

import contextlib
import inspect
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar, Mapping

import keras
import numpy as np

from attention_xai.errors import ConfigError
from attention_xai.models.classifier import DIGIT_SHAPE
from attention_xai.params import resolve_params
from attention_xai.registry import Registry

ATTRIBUTIONS: Registry[type["Attribution"]] = Registry("attribution method")
"""Attribution classes by name; the CLI, the report and the tests all read this."""

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

    def normalized(self) -> np.ndarray:
        """Maps min-max scaled to [0, 1] per map (a constant map becomes all zeros)."""
        return normalize_maps(self.maps)

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


@dataclass(frozen=True)
class Passes:
    """Single-image model passes a method made: plain forward ones, and ones with a
    backward pass for the input gradient."""

    forward: int = 0
    gradient: int = 0


class Attribution(ABC):
    """One attribution method. Subclasses set `name`, take their parameters as keyword
    arguments, and implement `attribute`.

    Args:
        batch_size: images (or perturbed images) per model call.
        seed: seed of the method's randomness, where it has any.
    """

    name: ClassVar[str]
    needs_attention: ClassVar[bool] = False
    score: str = "probability"
    """Which score of the target class the maps explain: "probability", "logit", or
    "none" (the model's own attention map explains no output)."""
    signed: bool = False
    """True when maps carry evidence for (> 0) and against (< 0) the target; False for
    maps that are >= 0 by construction (CAMs, absolute gradients, attention)."""

    def __init__(self, *, batch_size: int = 64, seed: int = 0, **params):
        if not isinstance(batch_size, int) or batch_size <= 0:
            raise ConfigError(f"batch_size must be a positive integer, got {batch_size!r}")
        unknown = [key for key in params if key not in self.parameters()]
        if unknown:
            raise ConfigError(f"unknown parameter {unknown[0]!r} for {self.name}; valid: "
                              f"{', '.join(self.parameters()) or 'none'}")
        self.batch_size, self.seed, self.params = batch_size, seed, params

    @classmethod
    def parameters(cls) -> dict[str, Any]:
        """The method's own parameters and their defaults, read from its constructor's
        keyword-only arguments (the only valid names; `batch_size` and `seed` are shared)."""
        out: dict[str, Any] = {}
        for klass in cls.__mro__:  # a subclass adds to (and may re-default) its parents' parameters
            if klass is Attribution or "__init__" not in vars(klass):
                continue
            for name, p in inspect.signature(klass.__init__).parameters.items():
                if p.kind is p.KEYWORD_ONLY and name not in out:
                    out[name] = p.default
        return out

    @classmethod
    def from_text(cls, given: Mapping[str, Any], **shared) -> "Attribution":
        """An instance from parameters given as text (`--set method.key=value`), each
        checked against its default's type."""
        return cls(**{key: value for key, value in resolve_params(cls.name, cls.parameters(), given).items()
                      if key in given}, **shared)

    def explain(self, model: keras.Model, images, targets) -> Explanation:
        """Attribution maps for `images` (N, 28, 28, 1) in [0, 1] towards `targets` (N,)."""
        images = check_images(images)
        targets = check_targets(targets, len(images))
        started = time.perf_counter()
        maps, passes, extra = self.attribute(model, images, targets)
        return Explanation(method=self.name, maps=maps, targets=targets, seconds=time.perf_counter() - started,
                           params={**self.params, "seed": self.seed, "batch_size": self.batch_size,
                                   "signed": bool(self.signed), "score": self.score, **extra},
                           forward_passes=int(passes.forward), gradient_passes=int(passes.gradient))

    @abstractmethod
    def attribute(self, model: keras.Model, images: np.ndarray,
                  targets: np.ndarray) -> tuple[np.ndarray, "Passes", dict]:
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
