"""Position attention module of DANet.

References: Fu et al., "Dual Attention Network for Scene Segmentation", CVPR 2019.
"""

import keras
from keras import ops

from attention_xai.models.attention.base import ATTENTION, SERIALIZATION_PACKAGE, AttentionBlock, reduced_units


@ATTENTION.register("pam")
@keras.saving.register_keras_serializable(package=SERIALIZATION_PACKAGE)
class PositionAttention(AttentionBlock):
    """Every position becomes a weighted sum of all positions' values, weighted by the
    softmax of query-key similarity; added back to the input through a learnt scale
    `gamma` that starts at 0 (so the block starts as the identity).

    Cost: (H*W)^2 per image, so it suits the small final feature maps.

    Args:
        reduction: channels of query and key are C / reduction.
        min_units: smallest query/key width.
    """

    def __init__(self, reduction: int = 8, min_units: int = 8, **kwargs):
        super().__init__(**kwargs)
        self.reduction, self.min_units = reduction, min_units

    def build(self, input_shape):
        h, w, channels = input_shape[1:]
        units = reduced_units(channels, self.reduction, self.min_units)
        self.query = keras.layers.Dense(units, name="query", dtype=self.dtype_policy)
        self.key = keras.layers.Dense(units, name="key", dtype=self.dtype_policy)
        self.value = keras.layers.Dense(channels, name="value", dtype=self.dtype_policy)
        for layer in (self.query, self.key, self.value):
            layer.build((None, h, w, channels))
        self.gamma = self.add_weight(shape=(), initializer="zeros", name="gamma")

    def attend(self, inputs):
        h, w, channels = inputs.shape[1:]
        flat = lambda t: ops.reshape(t, (-1, h * w, t.shape[-1]))  # noqa: E731
        energy = ops.matmul(flat(self.query(inputs)), ops.transpose(flat(self.key(inputs)), (0, 2, 1)))
        # Softmax in float32 (under mixed precision HW x HW float16 energies overflow), as keras-hub does.
        affinity = ops.softmax(ops.cast(energy, "float32"), axis=-1)  # (B, HW queries, HW keys)
        values = flat(self.value(inputs))
        attended = ops.reshape(ops.matmul(ops.cast(affinity, values.dtype), values), (-1, h, w, channels))
        # How much attention each position receives, averaged over the positions asking.
        received = ops.reshape(ops.mean(affinity, axis=1), (-1, h, w))
        return inputs + ops.cast(self.gamma, inputs.dtype) * attended, {"spatial": received, "affinity": affinity}

    def get_config(self):
        return {**super().get_config(), "reduction": self.reduction, "min_units": self.min_units}
