"""Convolutional Block Attention Module.

References: Woo et al., "CBAM: Convolutional Block Attention Module", ECCV 2018.
"""

import keras
from keras import ops

from attention_xai.models.attention.base import ATTENTION, SERIALIZATION_PACKAGE, AttentionBlock, reduced_units


@ATTENTION.register("cbam")
@keras.saving.register_keras_serializable(package=SERIALIZATION_PACKAGE)
class Cbam(AttentionBlock):
    """Channel attention (shared MLP over average- and max-pooled features), then
    spatial attention (a k x k convolution over channel-wise mean and max).

    Args:
        reduction: bottleneck ratio of the channel MLP.
        kernel_size: side of the spatial attention convolution.
        min_units: smallest bottleneck width.
        spatial_norm: batch-normalise the spatial convolution's output before the sigmoid,
            as the authors' code does (`SpatialGate`: conv, BN, sigmoid). Without it the
            logits of post-ReLU features grow positive and the gate saturates near 1 at
            every position. False by default so that files saved before it load unchanged.
    """

    def __init__(self, reduction: int = 16, kernel_size: int = 7, min_units: int = 8, spatial_norm: bool = False,
                 **kwargs):
        super().__init__(**kwargs)
        self.reduction, self.kernel_size, self.min_units = reduction, kernel_size, min_units
        self.spatial_norm = bool(spatial_norm)

    def build(self, input_shape):
        channels = input_shape[-1]
        units = reduced_units(channels, self.reduction, self.min_units)
        self.mlp_hidden = keras.layers.Dense(units, activation="relu", name="mlp_hidden", dtype=self.dtype_policy)
        self.mlp_out = keras.layers.Dense(channels, name="mlp_out", dtype=self.dtype_policy)
        self.spatial = keras.layers.Conv2D(1, self.kernel_size, padding="same",
                                           activation=None if self.spatial_norm else "sigmoid",
                                           use_bias=not self.spatial_norm, name="spatial", dtype=self.dtype_policy)
        if self.spatial_norm:
            self.spatial_bn = keras.layers.BatchNormalization(name="spatial_bn", dtype=self.dtype_policy)
            self.spatial_bn.build((None, input_shape[1], input_shape[2], 1))
        self.mlp_hidden.build((None, channels))
        self.mlp_out.build((None, units))
        self.spatial.build((None, input_shape[1], input_shape[2], 2))

    def attend(self, inputs):
        mlp = lambda v: self.mlp_out(self.mlp_hidden(v))  # noqa: E731 (shared MLP)
        channel = ops.sigmoid(mlp(ops.mean(inputs, axis=(1, 2))) + mlp(ops.max(inputs, axis=(1, 2))))
        refined = inputs * channel[:, None, None, :]
        descriptor = ops.concatenate(
            [ops.mean(refined, axis=-1, keepdims=True), ops.max(refined, axis=-1, keepdims=True)], axis=-1
        )
        spatial = self.spatial(descriptor)
        if self.spatial_norm:
            spatial = ops.sigmoid(self.spatial_bn(spatial))  # training mode from the call context
        return refined * spatial, {"channel": channel, "spatial": spatial[..., 0]}

    def get_config(self):
        return {**super().get_config(), "reduction": self.reduction, "kernel_size": self.kernel_size,
                "min_units": self.min_units, "spatial_norm": self.spatial_norm}
