"""Global context block.

References: Cao et al., "GCNet: Non-local Networks Meet Squeeze-Excitation Networks and
Beyond", ICCV Workshops 2019.
"""

import keras
from keras import ops

from attention_xai.models.attention.base import ATTENTION, SERIALIZATION_PACKAGE, AttentionBlock, reduced_units


@ATTENTION.register("gc")
@keras.saving.register_keras_serializable(package=SERIALIZATION_PACKAGE)
class GlobalContext(AttentionBlock):
    """One softmax over positions pools a global context vector, which a bottleneck
    (1x1 conv, LayerNorm, ReLU, 1x1 conv) transforms and adds to every position.

    Args:
        reduction: bottleneck ratio of the transform.
        min_units: smallest bottleneck width.
    """

    def __init__(self, reduction: int = 16, min_units: int = 8, **kwargs):
        super().__init__(**kwargs)
        self.reduction, self.min_units = reduction, min_units

    def build(self, input_shape):
        h, w, channels = input_shape[1:]
        units = reduced_units(channels, self.reduction, self.min_units)
        self.context_logits = keras.layers.Dense(1, name="context_logits", dtype=self.dtype_policy)
        self.transform_in = keras.layers.Dense(units, name="transform_in", dtype=self.dtype_policy)
        self.transform_norm = keras.layers.LayerNormalization(name="transform_norm", dtype=self.dtype_policy)
        self.transform_out = keras.layers.Dense(channels, name="transform_out", dtype=self.dtype_policy)
        self.context_logits.build((None, h, w, channels))
        self.transform_in.build((None, channels))
        self.transform_norm.build((None, units))
        self.transform_out.build((None, units))

    def attend(self, inputs):
        h, w, channels = inputs.shape[1:]
        # Softmax in float32 under mixed precision, then back to the compute dtype.
        weights = ops.softmax(ops.cast(ops.reshape(self.context_logits(inputs), (-1, h * w)), "float32"), axis=-1)
        context = ops.einsum("bn,bnc->bc", ops.cast(weights, inputs.dtype), ops.reshape(inputs, (-1, h * w, channels)))
        delta = self.transform_out(ops.relu(self.transform_norm(self.transform_in(context))))
        return inputs + delta[:, None, None, :], {"spatial": ops.reshape(weights, (-1, h, w))}

    def get_config(self):
        return {**super().get_config(), "reduction": self.reduction, "min_units": self.min_units}
