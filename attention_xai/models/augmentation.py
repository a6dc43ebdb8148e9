"""Training-time digit distortions: rotation, translation and elastic distortion.

They sit inside the classifier, before resizing, so they act on 28x28 digits and switch
off by themselves at inference (`training=False`).
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
class ElasticDistortion(keras.layers.Layer):
    """Elastic distortion of Simard et al.: a random displacement field, uniform in
    [-1, 1] per pixel, smoothed by a Gaussian of width `sigma` and scaled by `alpha`,
    moves every pixel. Identity when not training.

    References: Simard, Steinkraus and Platt, "Best Practices for Convolutional Neural
    Networks Applied to Visual Document Analysis", ICDAR 2003.

    Args:
        alpha: displacement scale, in pixels.
        sigma: Gaussian smoothing width, in pixels (the kernel is cut at 2 sigma).
        seed: seed of the layer's random stream.
    """

    def __init__(self, alpha: float = 34.0, sigma: float = 4.0, seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.alpha, self.sigma, self.seed = float(alpha), float(sigma), seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        radius = max(1, math.ceil(2 * self.sigma))
        taps = np.exp(-np.arange(-radius, radius + 1) ** 2 / (2 * self.sigma ** 2))
        kernel = np.outer(taps, taps) / np.outer(taps, taps).sum()
        self._kernel = np.repeat(kernel[:, :, None, None], 2, axis=2).astype("float32")  # (k, k, 2, 1)

    def call(self, inputs, training=None):
        if not training or self.alpha == 0:
            return inputs
        h, w = inputs.shape[1:3]
        noise = keras.random.uniform((ops.shape(inputs)[0], h, w, 2), -1.0, 1.0, seed=self.seed_generator)
        shift = ops.depthwise_conv(noise, ops.convert_to_tensor(self._kernel), padding="same") * self.alpha
        rows = ops.cast(ops.arange(h), inputs.dtype)[None, :, None] + shift[..., 0]
        cols = ops.cast(ops.arange(w), inputs.dtype)[None, None, :] + shift[..., 1]
        return bilinear_sample(inputs, rows, cols)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha, "sigma": self.sigma, "seed": self.seed}


def augmentation_layers(config: AugmentConfig, seed: int) -> list[keras.layers.Layer]:
    """The distortions that `config` switches on, with predictable names and seeds."""
    layers = []
    if config.rotation_degrees > 0:
        layers.append(keras.layers.RandomRotation(
            config.rotation_degrees / 360.0, fill_mode="constant", fill_value=0.0, seed=seed,
            name="augment_rotation"))
    if config.translation > 0:
        layers.append(keras.layers.RandomTranslation(
            config.translation, config.translation, fill_mode="constant", fill_value=0.0, seed=seed + 1,
            name="augment_translation"))
    if config.elastic_alpha > 0:
        layers.append(ElasticDistortion(config.elastic_alpha, config.elastic_sigma, seed=seed + 2,
                                        name="augment_elastic"))
    return layers
