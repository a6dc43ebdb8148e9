"""Training-time digit distortions: rotation, translation and elastic distortion.

The layer sits inside the classifier, before resizing, so it acts on 28x28 digits and switches
off by itself at inference (`training=False`).
"""

from __future__ import annotations

import math

import keras
import numpy as np
from keras import ops

from attention_xai.config import AugmentConfig
from attention_xai.models.attention.base import SERIALIZATION_PACKAGE


def bilinear_sample(images, rows, cols):
    """Samples images at fractional positions; positions outside read as 0.

    Args:
        images: (B, H, W, C) float.
        rows, cols: (B, H, W) source coordinates (in pixels) for each output pixel.
    Returns:
        (B, H, W, C).
    """
    h, w, c = images.shape[1:]
    flat = ops.reshape(images, (-1, c))
    offsets = ops.reshape(ops.arange(ops.shape(images)[0], dtype="int32") * (h * w), (-1, 1, 1))
    r0, c0 = ops.floor(rows), ops.floor(cols)
    dr, dc = rows - r0, cols - c0
    out = 0.0
    for r, col, weight in ((r0, c0, (1 - dr) * (1 - dc)), (r0, c0 + 1, (1 - dr) * dc),
                           (r0 + 1, c0, dr * (1 - dc)), (r0 + 1, c0 + 1, dr * dc)):
        inside = ops.cast((r >= 0) & (r <= h - 1) & (col >= 0) & (col <= w - 1), images.dtype)
        index = (offsets + ops.cast(ops.clip(r, 0, h - 1), "int32") * w
                 + ops.cast(ops.clip(col, 0, w - 1), "int32"))
        values = ops.reshape(ops.take(flat, ops.reshape(index, (-1,)), axis=0), (-1, h, w, c))
        out = out + values * (weight * inside)[..., None]
    return out


@keras.saving.register_keras_serializable(package=SERIALIZATION_PACKAGE)
class DigitAugmentation(keras.layers.Layer):
    """Random rotation, translation and elastic distortion of digits, in one resampling.

    Each image is distorted with probability `probability` and otherwise passed through
    untouched, so the network also sees clean digits (every bilinear resampling blurs
    strokes a little; one composed resampling blurs less than three in a row). The
    source position of output pixel p is  R(-angle) (p - centre - shift) + centre +
    elastic(p). Identity when not training.

    The elastic field follows Simard et al.: per-pixel displacements uniform in [-1, 1],
    smoothed by a Gaussian of width `elastic_sigma` (kernel cut at 2 sigma) and scaled by
    `elastic_alpha` pixels.

    References: Simard, Steinkraus and Platt, "Best Practices for Convolutional Neural
    Networks Applied to Visual Document Analysis", ICDAR 2003.

    Args:
        rotation_degrees: largest rotation either way.
        translation: largest shift either way, as a fraction of the image side.
        elastic_alpha: elastic displacement scale in pixels (0: none).
        elastic_sigma: smoothness of the elastic field in pixels.
        probability: chance that an image is distorted at all.
        seed: seed of the layer's random stream.
    Input and output: (B, H, W, C) float images, background 0.
    """

    def __init__(self, rotation_degrees: float = 10.0, translation: float = 0.1, elastic_alpha: float = 34.0,
                 elastic_sigma: float = 4.0, probability: float = 1.0, seed: int | None = None, **kwargs):
        kwargs.setdefault("dtype", "float32")  # the input path stays float32 under a mixed-precision policy
        super().__init__(**kwargs)
        self.rotation_degrees, self.translation = float(rotation_degrees), float(translation)
        self.elastic_alpha, self.elastic_sigma = float(elastic_alpha), float(elastic_sigma)
        self.probability, self.seed = float(probability), seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        radius = max(1, math.ceil(2 * self.elastic_sigma))
        taps = np.exp(-np.arange(-radius, radius + 1) ** 2 / (2 * self.elastic_sigma ** 2))
        self._taps = (taps / taps.sum()).astype("float32")

    def _smoothing(self, size: int) -> np.ndarray:
        """(size, size) matrix of the 1-D Gaussian with zero padding ("same" convolution):
        the separable 2-D smoothing is then two small matrix products, which CPUs run about
        5x faster than a depthwise convolution with kernels this long."""
        radius = len(self._taps) // 2
        offsets = np.arange(size)[None, :] - np.arange(size)[:, None]
        return np.where(np.abs(offsets) <= radius, self._taps[np.clip(offsets + radius, 0, 2 * radius)],
                        0.0).astype("float32")

    def call(self, inputs, training=None):
        if not training:
            return inputs
        h, w = inputs.shape[1:3]
        n = ops.shape(inputs)[0]
        uniform = lambda shape, low=-1.0, high=1.0: keras.random.uniform(  # noqa: E731
            shape, low, high, seed=self.seed_generator)
        angle = uniform((n, 1, 1)) * (self.rotation_degrees * math.pi / 180.0)
        shift_r = uniform((n, 1, 1)) * (self.translation * h)
        shift_c = uniform((n, 1, 1)) * (self.translation * w)
        grid_r = ops.cast(ops.arange(h), inputs.dtype)[None, :, None] - (h - 1) / 2.0
        grid_c = ops.cast(ops.arange(w), inputs.dtype)[None, None, :] - (w - 1) / 2.0
        r, c = grid_r - shift_r, grid_c - shift_c
        cos, sin = ops.cos(angle), ops.sin(angle)
        rows = cos * r + sin * c + (h - 1) / 2.0
        cols = -sin * r + cos * c + (w - 1) / 2.0
        if self.elastic_alpha > 0:
            noise = uniform((n, 2, h, w))
            # The Gaussian along columns then along rows: K_h @ noise @ K_w^T for each field.
            field = ops.matmul(ops.matmul(ops.convert_to_tensor(self._smoothing(h)), noise),
                               ops.convert_to_tensor(self._smoothing(w).T)) * self.elastic_alpha
            rows, cols = rows + field[:, 0], cols + field[:, 1]
        if self.probability < 1:
            keep = ops.cast(uniform((n, 1, 1), 0.0, 1.0) >= self.probability, inputs.dtype)
            rows = keep * (grid_r + (h - 1) / 2.0) + (1 - keep) * rows
            cols = keep * (grid_c + (w - 1) / 2.0) + (1 - keep) * cols
        return bilinear_sample(inputs, rows, cols)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rotation_degrees": self.rotation_degrees, "translation": self.translation,
                "elastic_alpha": self.elastic_alpha, "elastic_sigma": self.elastic_sigma,
                "probability": self.probability, "seed": self.seed}


def augmentation_layers(config: AugmentConfig, seed: int) -> list[keras.layers.Layer]:
    """The augmentation layer `config` asks for (none when every distortion is 0)."""
    if config.rotation_degrees == 0 and config.translation == 0 and config.elastic_alpha == 0:
        return []
    return [DigitAugmentation(config.rotation_degrees, config.translation, config.elastic_alpha,
                              config.elastic_sigma, config.probability, seed=seed, name="augment")]
