"""Squeeze-and-Excitation. References: Hu et al., "Squeeze-and-Excitation Networks", CVPR 2018."""

import keras
from keras import ops

from attention_xai.models.attention.base import ATTENTION, SERIALIZATION_PACKAGE, AttentionBlock, reduced_units


@ATTENTION.register("se")
@keras.saving.register_keras_serializable(package=SERIALIZATION_PACKAGE)
class SqueezeExcitation(AttentionBlock):
    """Rescales channels by weights computed from their global averages.

    Args:
        reduction: bottleneck ratio of the two-layer MLP.
        min_units: smallest bottleneck width.
    """

    def __init__(self, reduction: int = 16, min_units: int = 8, **kwargs):
        super().__init__(**kwargs)
        self.reduction, self.min_units = reduction, min_units

    def build(self, input_shape):
        channels = input_shape[-1]
        units = reduced_units(channels, self.reduction, self.min_units)
        self.squeeze = keras.layers.Dense(units, activation="relu", name="squeeze", dtype=self.dtype_policy)
        self.excite = keras.layers.Dense(channels, activation="sigmoid", name="excite", dtype=self.dtype_policy)
        self.squeeze.build((None, channels))
        self.excite.build((None, units))

    def attend(self, inputs):
        weights = self.excite(self.squeeze(ops.mean(inputs, axis=(1, 2))))
        return inputs * weights[:, None, None, :], {"channel": weights}

    def get_config(self):
        return {**super().get_config(), "reduction": self.reduction, "min_units": self.min_units}
