"""Backbones by name: any `keras.applications` model, plus a small CNN for quick runs.

A backbone is built on the classifier's preprocessed tensor (`input_tensor=`), so its
layers join the classifier's graph as one flat functional model that explainers can
search by layer name.
"""

from __future__ import annotations

import re
from pathlib import Path

import keras

from attention_xai.artifacts import keras_home, shown
from attention_xai.errors import ConfigError, WeightsUnavailableError, first_line

SMALL_CNN = "small_cnn"

# The `preprocess_input` mode of each keras.applications module (see preprocessing.py).
_MODULE_NORMALIZATION = {
    "resnet": "caffe", "vgg16": "caffe", "vgg19": "caffe",
    "resnet_v2": "tf", "mobilenet": "tf", "mobilenet_v2": "tf", "inception_v3": "tf",
    "inception_resnet_v2": "tf", "xception": "tf", "nasnet": "tf",
    "densenet": "torch",
    # These normalise inside the model and expect 0-255 inputs.
    "efficientnet": "raw255", "efficientnet_v2": "raw255", "mobilenet_v3": "raw255",
    "convnext": "raw255", "regnet": "raw255",
}


def available_backbones() -> list[str]:
    """Every backbone name this installation can build."""
    apps = [n for n in dir(keras.applications) if n[:1].isupper() and callable(getattr(keras.applications, n))]
    return [SMALL_CNN, *sorted(apps)]


def resolve_backbone(name: str) -> str:
    """The canonical spelling of a backbone name (case-insensitive); ConfigError if unknown."""
    by_lower = {n.lower(): n for n in available_backbones()}
    try:
        return by_lower[str(name).lower()]
    except KeyError:
        raise ConfigError(f"unknown backbone {name!r}; valid: {', '.join(available_backbones())}") from None


def normalization_mode(name: str) -> str:
    """How the backbone wants its inputs scaled (a `BackboneNormalization` mode)."""
    name = resolve_backbone(name)
    if name == SMALL_CNN:
        return "unit"
    module = getattr(keras.applications, name).__module__.rsplit(".", 1)[-1]
    if module not in _MODULE_NORMALIZATION:
        raise ConfigError(f"backbone {name} (keras.applications.{module}) has no known input normalization")
    return _MODULE_NORMALIZATION[module]


def build_backbone(name: str, inputs: keras.KerasTensor, features: keras.KerasTensor,
                   weights: str | None = None, **kwargs) -> keras.Model:
    """Builds a backbone on `features` and returns the model from `inputs` to its last feature map.

    Args:
        name: backbone name (see `available_backbones`).
        inputs: the classifier's input tensor (the digits).
        features: the preprocessed (B, S, S, 3) tensor the backbone reads.
        weights: None, "imagenet" or a path to a weights file.
        **kwargs: extra arguments of the keras.applications builder (alpha, ...).

    Raises:
        ConfigError: unknown name, bad arguments or an input size the backbone refuses.
        WeightsUnavailableError: weights that cannot be loaded (offline ImageNet, bad path).
    """
    name = resolve_backbone(name)
    if weights not in (None, "imagenet"):
        if not Path(weights).is_file():
            raise WeightsUnavailableError(f"weights file not found: {weights}")
    if name == SMALL_CNN:
        if weights == "imagenet":
            raise WeightsUnavailableError("small_cnn has no ImageNet weights; use weights=None or a weights file")
        model = keras.Model(inputs, small_cnn(features, **kwargs), name=SMALL_CNN)
        if weights is not None:
            _load_weights(model, weights)
        return model
    builder = getattr(keras.applications, name)
    try:
        backbone = builder(include_top=False, weights=weights, input_tensor=features, **kwargs)
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"cannot build {name}: {first_line(exc)}") from None
    except Exception as exc:  # keras' get_file raises a bare Exception when it cannot download
        if weights == "imagenet":
            raise _imagenet_unavailable(name, exc) from None
        raise WeightsUnavailableError(f"cannot load weights {weights} into {name}: {first_line(exc)}") from None
    return keras.Model(inputs, backbone.output, name=name)


def small_cnn(x, *, widths: tuple[int, ...] = (32, 64, 128), stem_stride: int = 1, bn_momentum: float = 0.9):
    """A VGG-style CNN: per width two 3x3 conv-BN-ReLU layers, max-pooling between stages.

    Args:
        widths: channels of each stage.
        stem_stride: stride of the very first convolution (2 halves the resolution early,
            for a cheaper network on upsampled digits).
        bn_momentum: BatchNormalization momentum; 0.9 rather than Keras' 0.99 because with
            a few hundred steps per run slower moving statistics lag the weights.

    The last convolution is named "last_conv" and its activation "last_conv_relu".
    """
    for stage, width in enumerate(widths, start=1):
        last_stage = stage == len(widths)
        for i in (1, 2):
            last = last_stage and i == 2
            conv_name = "last_conv" if last else f"block{stage}_conv{i}"
            stride = stem_stride if (stage, i) == (1, 1) else 1
            x = keras.layers.Conv2D(width, 3, strides=stride, padding="same", use_bias=False, name=conv_name)(x)
            x = keras.layers.BatchNormalization(momentum=bn_momentum, name=f"{conv_name}_bn")(x)
            x = keras.layers.ReLU(name=f"{conv_name}_relu")(x)
        if not last_stage:
            x = keras.layers.MaxPooling2D(name=f"block{stage}_pool")(x)
    return x


def _load_weights(model: keras.Model, path: str) -> None:
    try:
        model.load_weights(path)
    except Exception as exc:
        raise WeightsUnavailableError(f"cannot load weights {path} into {model.name}: {first_line(exc)}") from None


def _imagenet_unavailable(name: str, exc: Exception) -> WeightsUnavailableError:
    url = re.search(r"https?://\S+?\.h5", str(exc))
    file = url.group(0).rsplit("/", 1)[-1] if url else f"the {name} notop weights file"
    return WeightsUnavailableError(
        f"ImageNet weights for {name} are not available (offline?): Keras looks for "
        f"{shown(keras_home() / 'models' / file)}; download it there, or train from scratch with weights=None"
    )
