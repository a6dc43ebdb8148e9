"""Class activation maps through tf-keras-vis: Grad-CAM and Score-CAM.

The tf-keras-vis objects (scores, model modifiers) stay inside this module.

References: Selvaraju et al., "Grad-CAM", ICCV 2017; Wang et al., "Score-CAM", CVPR
Workshops 2020.
"""

from __future__ import annotations

import functools
from abc import abstractmethod

import keras
import numpy as np
import tensorflow as tf

from attention_xai.errors import ConfigError
from attention_xai.explain.base import (ATTRIBUTIONS, Attribution, Passes, compiled, gradient_pass, head_logits,
                                        numpy_seed, softmax_head)
from attention_xai.models.classifier import FINAL_ATTENTION, backbone_layers


def default_cam_layer(model) -> str:
    """The feature map CAMs read: the output of the final attention module when the model
    has one (the attended features the head pools), else the backbone's last 4-D output."""
    names = {layer.name for layer in model.layers}
    if FINAL_ATTENTION in names:
        return FINAL_ATTENTION
    for layer in reversed(backbone_layers(model)):
        if len(layer.output.shape) == 4:
            return layer.name
    raise ConfigError(f"{model.name} has no 4-D feature map for a CAM")


def logit_view(model):
    """For a model that ends in a softmax Dense layer: a view of it up to that layer's
    input (it shares the model's layers, nothing is copied) and a function from the view's
    output to the target-class logits, computed with the layer's live weights. Gradients
    of logits do not saturate the way softmax probabilities do. None for other models."""
    head = softmax_head(model)
    if head is None:
        return None
    view = keras.Model(model.input, head.input)

    def score_for(targets):
        targets = tf.constant(np.asarray(targets, dtype=np.int32))

        def score(features):
            return tf.gather(head_logits(head, features), targets, axis=1, batch_dims=1)

        return score

    return view, score_for


def logit_model(model):
    """For a model that ends in a softmax Dense layer: a model from its input to the logits
    of every class, sharing all its layers and weights (nothing is copied), made once per
    model and kept on it (so Keras' predict function is built once too). None for other
    models."""
    head = softmax_head(model)
    if head is None:
        return None

    def build():
        logits = keras.layers.Lambda(lambda features: head_logits(head, features), name="logits")(head.input)
        view = keras.Model(model.input, logits, name=f"{model.name}_logits")
        # tf-keras-vis' Score-CAM calls predict() with Keras' default progress bar.
        view.predict = functools.partial(keras.Model.predict, view, verbose=0)
        return view

    return compiled(model, "logit_model", build)


def _linear_output(model):
    """(model to visualise, clone?, modifier, score builder): the logit view when there is
    one, else a clone whose softmax tf-keras-vis replaces by a linear output."""
    from tf_keras_vis.utils.model_modifiers import ReplaceToLinear
    from tf_keras_vis.utils.scores import CategoricalScore

    view = logit_view(model)
    if view is not None:
        return view[0], {"clone": False}, view[1]
    return model, {"clone": True, "model_modifier": ReplaceToLinear()}, lambda t: CategoricalScore(list(t))


def _check_layer(model, name: str) -> str:
    try:
        layer = model.get_layer(name)
    except ValueError:
        raise ConfigError(f"no layer named {name!r} in {model.name}") from None
    if len(layer.output.shape) != 4:
        raise ConfigError(f"layer {name!r} has output shape {layer.output.shape}; a CAM needs a 4-D feature map")
    return name


class CamMethod(Attribution):
    """A class activation map: the base does the layer choice, the batching and the raw
    (unnormalised) maps; a CAM method says how its maps are made by overriding
    `visualizer`, `cam` and `passes` (and `images_per_call` when it must see fewer digits
    at a time), as pytorch-grad-cam's `BaseCAM` subclasses override `get_cam_weights`.

    Parameters: layer (name of a 4-D layer; default: `default_cam_layer`).
    """

    defaults = {"layer": None}

    def images_per_call(self) -> int:
        """Digits per call of the visualizer (default: the batch size)."""
        return self.batch_size

    @abstractmethod
    def visualizer(self, model):
        """(the tf-keras-vis visualizer for `model`, a function from targets to its score)."""

    @abstractmethod
    def cam(self, visualizer, score, images: np.ndarray, layer: str) -> np.ndarray:
        """Raw maps (n, 28, 28) of `images` for `score`, read at `layer`."""

    @abstractmethod
    def passes(self, model, layer: str, n: int) -> Passes:
        """The model passes `n` digits cost."""

    def attribute(self, model, images, targets):
        layer = _check_layer(model, self.layer or default_cam_layer(model))
        step = self.images_per_call()
        visualizer, score_for = self.visualizer(model)
        maps = np.concatenate([
            self.cam(visualizer, score_for(targets[i:i + step]), images[i:i + step], layer)
            for i in range(0, len(images), step)])
        return maps.astype(np.float32), self.passes(model, layer, len(images)), {"layer": layer}


@ATTRIBUTIONS.register("gradcam")
class GradCam(CamMethod):
    """Grad-CAM of the target logit (not the saturating softmax probability; see
    `logit_view`) on a feature map: by default the attention module's output, see
    `default_cam_layer`. Args: layer (name of a 4-D layer)."""

    name = "gradcam"
    score = "logit"
    visualizer_class = "tf_keras_vis.gradcam.Gradcam"
    """The tf-keras-vis class that makes the maps (a subclass may name another of the family)."""

    def visualizer(self, model):
        import importlib

        module, _, name = self.visualizer_class.rpartition(".")
        target, options, score_for = _linear_output(model)
        return getattr(importlib.import_module(module), name)(target, **options), score_for

    def cam(self, visualizer, score, images, layer):
        return visualizer(score, images, penultimate_layer=layer, seek_penultimate_conv_layer=False,
                          normalize_cam=False)

    def passes(self, model, layer, n):
        return Passes(gradient=n)


@ATTRIBUTIONS.register("scorecam")
class ScoreCam(CamMethod):
    """Score-CAM: each channel of the feature map, upsampled and normalised, masks the
    input; the target's probability given each masked input weights its channel (as in
    the authors' code: a black baseline, no softmax across channels).

    Args:
        layer: name of a 4-D layer (default as Grad-CAM).
        max_N: use only the max_N channels with the highest activations (Faster
            Score-CAM), for wide layers (ResNet50's 2048 channels); tf-keras-vis chooses them
            over a whole call, so with max_N set each digit gets its own call. None (the
            default) uses every channel and explains `batch_size` digits per call.
    """

    name = "scorecam"
    defaults = {"max_N": None}  # tf-keras-vis' name

    def images_per_call(self) -> int:
        # tf-keras-vis picks the max_N channels over the whole call, so one digit per call
        # keeps each map independent of its batch-mates; the masked copies of that digit
        # still go through the model `batch_size` at a time.
        return 1 if self.max_N else self.batch_size

    def visualizer(self, model):
        from tf_keras_vis.scorecam import Scorecam
        from tf_keras_vis.utils.model_modifiers import ReplaceToLinear
        from tf_keras_vis.utils.scores import CategoricalScore

        # tf-keras-vis applies a softmax to what the model outputs, so it must be given the
        # logits: on the softmax model each channel would be weighted by softmax(probabilities),
        # squeezed into [0.09, 0.23] for ten classes, instead of the target's probability.
        logits = logit_model(model)
        scorecam = (Scorecam(logits, clone=False) if logits is not None
                    else Scorecam(model, model_modifier=ReplaceToLinear(), clone=True))
        return scorecam, lambda t: CategoricalScore(list(t))

    def cam(self, visualizer, score, images, layer):
        return visualizer(score, images, penultimate_layer=layer, seek_penultimate_conv_layer=False, max_N=self.max_N,
                          batch_size=self.batch_size, normalize_cam=False)

    def passes(self, model, layer, n):
        channels = model.get_layer(layer).output.shape[-1]
        return Passes(forward=n * (1 + min(channels, self.max_N or channels)))


def _compiled_saliency(model, targets):
    """tf-keras-vis' `Saliency` (its noise, sample loop, averaging and channel reduction)
    whose gradient pass is the model's compiled target-logit gradient (`gradient_pass`)
    instead of an eager tape around an eager model call: the same maps (a test compares
    them with tf-keras-vis' own path), at what the gradient passes cost. Only for models
    that end in a softmax Dense layer, whose logits the compiled pass differentiates."""
    from tf_keras_vis.saliency import Saliency

    gradients = gradient_pass(model, "logit")
    targets = tf.constant(np.asarray(targets, np.int32))

    class CompiledSaliency(Saliency):
        def _get_gradients(self, seed_inputs, scores, gradient_modifier, training, unconnected_gradients):
            (x,) = seed_inputs
            grads = [gradients(tf.cast(x, tf.float32), targets)[1]]
            return [gradient_modifier(g) for g in grads] if gradient_modifier is not None else grads

    return CompiledSaliency(model, clone=False)


@ATTRIBUTIONS.register("smoothgrad")
class SmoothGrad(Attribution):
    """SmoothGrad through tf-keras-vis `Saliency`: the mean gradient of the target logit
    (see `logit_view`) over `samples` noisy copies of the image. `absolute=True` (the
    default, tf-keras-vis' own) averages |gradient|, an unsigned map; `absolute=False`
    averages the signed gradients, as Smilkov et al. define it. For a model that ends in a
    softmax Dense layer the gradients come from the model's compiled pass (see
    `_compiled_saliency`); for another, from tf-keras-vis' eager path on a linearised copy.

    References: Smilkov et al., "SmoothGrad: removing noise by adding noise", 2017.

    Args:
        samples: noisy copies per image.
        noise: noise standard deviation as a fraction of the image's value range.
        absolute: average |gradient| (True) or the signed gradient (False).
    """

    name = "smoothgrad"
    score = "logit"
    defaults = {"samples": 20, "noise": 0.2, "absolute": True}

    @property
    def signed(self) -> bool:
        return not self.absolute

    def attribute(self, model, images, targets):
        chunks = []
        with numpy_seed(self.seed):  # tf-keras-vis draws its noise from numpy's global generator
            for i in range(0, len(images), self.batch_size):
                saliency, score = self._saliency(model, targets[i:i + self.batch_size])
                chunks.append(saliency(score, images[i:i + self.batch_size], smooth_samples=self.samples,
                                       smooth_noise=self.noise, normalize_map=False,
                                       **({} if self.absolute else {"gradient_modifier": None})))
        return np.concatenate(chunks).astype(np.float32), Passes(gradient=len(images) * self.samples), {}

    def _saliency(self, model, targets):
        """(tf-keras-vis Saliency, its score) for one batch's targets."""
        from tf_keras_vis.saliency import Saliency

        if softmax_head(model) is not None:
            return _compiled_saliency(model, targets), lambda outputs: outputs  # score unused: targets are fixed
        target, options, score_for = _linear_output(model)
        return Saliency(target, **options), score_for(targets)
