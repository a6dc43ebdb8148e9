"""The digit-space classifier and what callers need to know about its layers.

    digits (28, 28, 1) in [0, 1]
      -> augment_rotation, augment_translation, augment_elastic   (training only)
      -> input_resize (to image_size) -> input_rgb -> input_normalize (backbone's own)
      -> backbone layers [+ attention_after_<layer> modules]
      -> attention (the module after the final feature map) -> head_pool -> head_dropout
      -> predictions (10-way softmax)
"""

from __future__ import annotations

import logging
import zipfile
from pathlib import Path

import keras
import numpy as np

from attention_xai.config import ModelConfig, Trainable, check_trainable
from attention_xai.errors import ConfigError, ModelFileError, first_line
from attention_xai.models.attention.base import SERIALIZATION_PACKAGE
from attention_xai.models.attention import ATTENTION, ATTENTION_CHOICES, AttentionBlock
from attention_xai.models.augmentation import augmentation_layers
from attention_xai.models.backbones import build_backbone, normalization_mode, resolve_backbone
from attention_xai.models.preprocessing import BackboneNormalization, DigitResize, GrayscaleToRGB

log = logging.getLogger(__name__)

DIGIT_SHAPE = (28, 28, 1)
NUM_CLASSES = 10
FINAL_ATTENTION = "attention"
# Layers the classifier adds around the backbone; everything else (but attention) is backbone.
_OWN_PREFIXES = ("digits", "augment_", "input_", "head_", "predictions", "attention")


def check_model_config(config: ModelConfig) -> None:
    """Raises ConfigError for an unknown backbone or attention name, without building anything."""
    resolve_backbone(config.backbone)
    normalization_mode(config.backbone)
    _attention_class(config.attention)


def _attention_class(name: str):
    if str(name).lower() == "none":
        return None
    if name.lower() not in ATTENTION:
        raise ConfigError(f"unknown attention module {name!r}; valid: {', '.join(ATTENTION_CHOICES)}")
    return ATTENTION.get(name)


def build_classifier(config: ModelConfig, seed: int = 0) -> keras.Model:
    """Builds the classifier described by `config` (see the module docstring).

    Args:
        config: the model part of an experiment.
        seed: seed of the augmentation and dropout layers' random streams.

    Returns:
        A functional model (N, 28, 28, 1) float32 in [0, 1] -> (N, 10) probabilities.
    """
    check_model_config(config)
    digits = keras.Input(DIGIT_SHAPE, name="digits")
    x = digits
    for layer in augmentation_layers(config.augment, seed):
        x = layer(x)
    if config.image_size != DIGIT_SHAPE[0]:
        x = DigitResize(config.image_size, name="input_resize")(x)
    x = GrayscaleToRGB(name="input_rgb")(x)
    x = BackboneNormalization(normalization_mode(config.backbone), name="input_normalize")(x)
    return _network(config, digits, x, seed)


def build_prepared_classifier(config: ModelConfig, seed: int = 0) -> keras.Model:
    """The same network without the input path: it takes tensors already resized,
    RGB and normalised, (N, S, S, 3) with S = image_size. For benchmarks that separate
    the cost of the input path from the network's."""
    check_model_config(config)
    prepared = keras.Input((config.image_size, config.image_size, 3), name="input_prepared")
    return _network(config, prepared, prepared, seed)


def _network(config: ModelConfig, inputs, features, seed: int) -> keras.Model:
    """Backbone, attention modules and head on `features`; a model from `inputs`."""
    attention_cls = _attention_class(config.attention)
    backbone = build_backbone(config.backbone, inputs, features, config.weights, **dict(config.backbone_kwargs))
    if config.attention_after:
        if attention_cls is None:
            raise ConfigError("attention_after names layers, but attention is 'none'")
        backbone = _insert_attention(backbone, config.attention_after, attention_cls, dict(config.attention_kwargs))
    if config.bn_momentum is not None:
        for layer in backbone.layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.momentum = config.bn_momentum
    inputs, x = backbone.inputs[0], backbone.output  # a clone brings its own input tensor
    if attention_cls is not None:
        x = attention_cls(name=FINAL_ATTENTION, **dict(config.attention_kwargs))(x)
    x = keras.layers.GlobalAveragePooling2D(name="head_pool")(x)
    if config.head_dropout > 0:
        x = keras.layers.Dropout(config.head_dropout, seed=seed + 3, name="head_dropout")(x)
    # Under a mixed-precision policy the softmax and the loss stay in float32.
    head_dtype = "float32" if keras.config.dtype_policy().name != "float32" else None
    outputs = keras.layers.Dense(NUM_CLASSES, activation="softmax", name="predictions", dtype=head_dtype)(x)
    return keras.Model(inputs, outputs, name=f"{resolve_backbone(config.backbone)}_{config.attention.lower()}")


def _insert_attention(model: keras.Model, after: tuple[str, ...], attention_cls, kwargs) -> keras.Model:
    names = {layer.name for layer in model.layers}
    missing = [n for n in after if n not in names]
    if missing:
        raise ConfigError(f"attention_after: no layer named {', '.join(missing)} in {model.name} "
                          f"(its last layers: {', '.join(layer.name for layer in model.layers[-5:])})")

    def call(layer, *args, **call_kwargs):
        out = layer(*args, **call_kwargs)
        if layer.name in after:
            out = attention_cls(name=f"attention_after_{layer.name}", **kwargs)(out)
        return out

    # Reusing the layers (clone_function=identity) keeps their weights.
    return keras.models.clone_model(model, clone_function=lambda layer: layer, call_function=call)


def backbone_layers(model: keras.Model) -> list[keras.layers.Layer]:
    """The backbone's layers, in graph order (not the input, preprocessing, attention or head)."""
    return [layer for layer in model.layers
            if not layer.name.startswith(_OWN_PREFIXES) and not isinstance(layer, AttentionBlock)]


def attention_layers(model: keras.Model) -> list[AttentionBlock]:
    """The model's attention modules, in graph order."""
    return [layer for layer in model.layers if isinstance(layer, AttentionBlock)]


def set_trainable(model: keras.Model, trainable: Trainable) -> None:
    """Chooses which backbone layers learn: "all", "head" (none) or the last N.

    Attention modules and the head always learn. Frozen BatchNormalization layers run in
    inference mode (Keras 3 semantics), which is what fine-tuning protocols expect.
    Recompile the model afterwards.
    """
    check_trainable(trainable)
    backbone = backbone_layers(model)
    for layer in model.layers:
        layer.trainable = True
    if trainable == "all":
        return
    keep = 0 if trainable == "head" else int(trainable)
    for layer in backbone[: max(len(backbone) - keep, 0)]:
        layer.trainable = False


def count_params(model: keras.Model) -> dict[str, int]:
    trainable = int(sum(np.prod(w.shape) for w in model.trainable_weights))
    total = int(sum(np.prod(w.shape) for w in model.weights))
    return {"total": total, "trainable": trainable}


def attention_maps(model: keras.Model, images: np.ndarray, batch_size: int = 64) -> dict[str, dict[str, np.ndarray]]:
    """Each attention module's maps for a batch of digits (inference mode).

    Args:
        model: a classifier from `build_classifier` or `load_classifier`.
        images: (N, 28, 28, 1) float32 in [0, 1].
    Returns:
        {layer name: {"spatial": (N, h, w), "channel": (N, C), ...}} as numpy arrays;
        empty if the model has no attention module.
    """
    result = {}
    for layer in attention_layers(model):
        features = keras.Model(model.input, layer.input)
        parts: dict[str, list] = {}
        for start in range(0, len(images), batch_size):
            maps = layer.attention_maps(features(images[start:start + batch_size], training=False))
            for key, value in maps.items():
                parts.setdefault(key, []).append(keras.ops.convert_to_numpy(value))
        result[layer.name] = {key: np.concatenate(chunks) for key, chunks in parts.items()}
    return result


def load_classifier(path: str | Path) -> keras.Model:
    """Loads a `.keras` classifier with safe mode on, and checks that it is one.

    Raises:
        ModelFileError: missing, corrupt or foreign file, or not a (28, 28, 1) -> 10 model.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"model file not found: {path}")
    if path.suffix != ".keras" or not zipfile.is_zipfile(path):
        raise ModelFileError(f"{path} is not a .keras model file")
    try:
        model = keras.saving.load_model(path, safe_mode=True)
    except Exception as exc:
        raise ModelFileError(f"cannot load {path}: {first_line(exc)}") from None
    check_classifier(model, str(path))
    return replace_keras_resizing(model, str(path))


def replace_keras_resizing(model: keras.Model, what: str = "model") -> keras.Model:
    """`model` with every `keras.layers.Resizing` swapped for a `DigitResize` of the same
    size (weights shared, outputs identical in inference mode).

    Files saved before attention_xai 0.1.1 resize with Keras' `Resizing`, which puts the
    whole model in training mode under a plain `model(x)` call (see `DigitResize`).
    Models without such a layer are returned as they are.
    """
    if not any(isinstance(layer, keras.layers.Resizing) for layer in model.layers):
        return model

    # The graph itself records `training=True` in the call of each Resizing node (and would
    # replay it into any replacement), so the layer and its recorded call are both rewritten.
    config = model.get_config()
    for layer in config["layers"]:
        if layer["class_name"] == "Resizing":
            layer.update(class_name="DigitResize", module=None,
                         registered_name=f"{SERIALIZATION_PACKAGE}>DigitResize",
                         config={"name": layer["config"]["name"], "size": layer["config"]["height"]})
            for node in layer["inbound_nodes"]:
                node["kwargs"].pop("training", None)
    log.warning("%s resizes with keras.layers.Resizing, which makes a plain model(x) call train its "
                "BatchNormalization layers; using DigitResize instead (re-save the model to keep the fix)", what)
    repaired = keras.Model.from_config(config)
    repaired.set_weights(model.get_weights())
    return repaired


def check_classifier(model, what: str = "model") -> None:
    """ModelFileError unless `model` maps (N, 28, 28, 1) digits to (N, 10) class scores."""
    try:
        in_shape, out_shape = tuple(model.input_shape), tuple(model.output_shape)
    except (AttributeError, ValueError):
        raise ModelFileError(f"{what} is not a single-input, single-output Keras model") from None
    if in_shape[1:] != DIGIT_SHAPE or out_shape[1:] != (NUM_CLASSES,):
        raise ModelFileError(f"{what} maps {in_shape} to {out_shape}; a digit classifier maps "
                             f"(None, 28, 28, 1) to (None, 10)")
