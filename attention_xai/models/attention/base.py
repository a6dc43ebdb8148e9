"""The base class of attention modules, and their registry."""

from __future__ import annotations

import keras

from attention_xai.registry import Registry

ATTENTION = Registry("attention module")
"""Attention module classes by name ("se", "cbam", "pam", "gc"); "none" means no module."""

SERIALIZATION_PACKAGE = "attention_xai"


class AttentionBlock(keras.layers.Layer):
    """A feature-map -> feature-map module that can also show where it attends.

    Subclasses implement `attend(inputs) -> (outputs, maps)`; `call` returns the outputs
    and `attention_maps` the maps, so the maps are read from exactly the computation
    the model runs.

    Input and output: (B, H, W, C) feature maps.
    """

    def call(self, inputs):
        outputs, _ = self.attend(inputs)
        return outputs

    def attention_maps(self, inputs) -> dict:
        """The module's attention for a batch of feature maps.

        Returns:
            A dict with some of: "spatial" (B, H, W) weights over positions and
            "channel" (B, C) weights over channels.
        """
        # Called directly, not through __call__, so inputs are not auto-cast to the compute dtype.
        _, maps = self.attend(keras.ops.cast(inputs, self.compute_dtype))
        return maps

    def attend(self, inputs):
        raise NotImplementedError

    def compute_output_shape(self, input_shape):
        return input_shape


def reduced_units(channels: int, reduction: int, min_units: int) -> int:
    """Width of a bottleneck: channels / reduction, but at least `min_units`."""
    return max(int(channels) // int(reduction), int(min_units))
