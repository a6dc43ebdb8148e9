"""Layers that turn [0, 1] grayscale digits into what a backbone expects."""

from __future__ import annotations

import keras
from keras import ops

from attention_xai.errors import ConfigError
from attention_xai.models.attention.base import SERIALIZATION_PACKAGE

# Per-mode constants of `keras.applications.imagenet_utils.preprocess_input`.
_CAFFE_BGR_MEAN = (103.939, 116.779, 123.68)
_TORCH_MEAN = (0.485, 0.456, 0.406)
_TORCH_STD = (0.229, 0.224, 0.225)

NORMALIZATION_MODES = ("tf", "caffe", "torch", "raw255", "unit")
"""tf: [-1, 1]; caffe: BGR minus ImageNet mean on 0-255; torch: ImageNet mean/std on
0-1; raw255: 0-255 (backbones that normalise inside, like EfficientNet); unit: 0-1."""


@keras.saving.register_keras_serializable(package=SERIALIZATION_PACKAGE)
class DigitResize(keras.layers.Layer):
    """(B, H, W, C) -> (B, size, size, C), bilinear, the same arithmetic as
    `keras.layers.Resizing(size, size, interpolation="bilinear")`.

    Why not `Resizing` itself: in Keras 3.15 its `call` has `training=True` as default, and
    a model called without a `training` argument (`model(x)`, as tf-keras-vis, Alibi,
    Xplique and most notebooks call it) passes that True on to every BatchNormalization
    after it, which then normalises with batch statistics and overwrites its moving
    statistics (keras-hub issue 2776, keras PR 23166). This layer takes no `training`
    argument, so a plain call stays in inference mode.

    Args:
        size: side of the output.
    """

    def __init__(self, size: int, **kwargs):
        kwargs.setdefault("dtype", "float32")  # the input path stays float32 under a mixed-precision policy
        super().__init__(**kwargs)
        self.size = int(size)

    def call(self, inputs):
        return ops.image.resize(inputs, (self.size, self.size), interpolation="bilinear")

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.size, self.size, input_shape[-1])

    def get_config(self):
        return {**super().get_config(), "size": self.size}


@keras.saving.register_keras_serializable(package=SERIALIZATION_PACKAGE)
class GrayscaleToRGB(keras.layers.Layer):
    """(B, H, W, 1) -> (B, H, W, 3) by repeating the gray channel."""

    def call(self, inputs):
        return ops.repeat(inputs, 3, axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], 3)


@keras.saving.register_keras_serializable(package=SERIALIZATION_PACKAGE)
class BackboneNormalization(keras.layers.Layer):
    """Maps RGB images in [0, 1] to a backbone's expected input, as its
    `preprocess_input` would map the same image in [0, 255].

    Args:
        mode: one of NORMALIZATION_MODES.
    """

    def __init__(self, mode: str = "tf", **kwargs):
        kwargs.setdefault("dtype", "float32")  # the input path stays float32 under a mixed-precision policy
        super().__init__(**kwargs)
        if mode not in NORMALIZATION_MODES:
            raise ConfigError(f"unknown normalization mode {mode!r}; valid: {', '.join(NORMALIZATION_MODES)}")
        self.mode = mode

    def call(self, inputs):
        if self.mode == "tf":
            return inputs * 2.0 - 1.0
        if self.mode == "caffe":
            return ops.flip(inputs, axis=-1) * 255.0 - ops.convert_to_tensor(_CAFFE_BGR_MEAN, inputs.dtype)
        if self.mode == "torch":
            mean = ops.convert_to_tensor(_TORCH_MEAN, inputs.dtype)
            return (inputs - mean) / ops.convert_to_tensor(_TORCH_STD, inputs.dtype)
        if self.mode == "raw255":
            return inputs * 255.0
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}
