"""The model's own attention map, as an attribution method."""

from __future__ import annotations

import keras
import numpy as np

from attention_xai.errors import ConfigError
from attention_xai.evaluate.attention import informativeness
from attention_xai.explain.base import ATTRIBUTIONS, Attribution, Passes
from attention_xai.models.classifier import FINAL_ATTENTION, attention_layers, attention_maps


@ATTRIBUTIONS.register("attention")
class AttentionMap(Attribution):
    """The spatial map of an attention module (CBAM's spatial gate, PAM's attention
    received per position, GC's context softmax), resized bilinearly to 28x28. It does
    not depend on the target class. Needs a module with a spatial map (SE has none).
    Its params record each map's dynamic range, entropy and whether it is informative
    (`attention_xai.evaluate.attention`).

    Args:
        layer: name of the attention module (default: the final one).
    """

    name = "attention"
    score = "none"
    needs_attention = True

    defaults = {"layer": None}

    def attribute(self, model, images, targets):
        names = [layer.name for layer in attention_layers(model)]
        if not names:
            raise ConfigError(f"{model.name} has no attention module, so no attention map")
        layer = self.layer or (FINAL_ATTENTION if FINAL_ATTENTION in names else names[-1])
        if layer not in names:
            raise ConfigError(f"no attention module named {layer!r}; the model has: {', '.join(names)}")
        maps = attention_maps(model, images, self.batch_size)[layer]
        if "spatial" not in maps:
            raise ConfigError(f"attention module {layer!r} has no spatial map (only {', '.join(maps)})")
        spatial = maps["spatial"][..., None]
        resized = keras.ops.image.resize(spatial, images.shape[1:3], interpolation="bilinear")
        # Measured on the module's own resolution, before resizing: does the map say anything?
        stats = informativeness(maps["spatial"])
        extra = {"layer": layer, "dynamic_range": np.round(stats["dynamic_range"], 5).tolist(),
                 "entropy": np.round(stats["entropy"], 5).tolist(), "informative": stats["informative"].tolist()}
        return np.asarray(keras.ops.convert_to_numpy(resized))[..., 0], Passes(forward=len(images)), extra
