"""Grad-CAM++ through tf-keras-vis' `GradcamPlusPlus`.

References: Chattopadhay et al., "Grad-CAM++: Generalized Gradient-based Visual
Explanations for Deep Convolutional Networks", WACV 2018.
"""

from __future__ import annotations

from attention_xai.explain.attribution.cam import GradCam
from attention_xai.explain.base import ATTRIBUTIONS


@ATTRIBUTIONS.register("gradcampp")
class GradCamPlusPlus(GradCam):
    """Grad-CAM++ of the target class on the feature map Grad-CAM reads (by default the
    attention module's output: the attended features the head pools, never a convolution
    inside the module). The channel weights are the positive gradients, each weighted by
    the closed-form alpha of the paper, which assumes the score is the exponential of a
    linear function: tf-keras-vis exponentiates the score it is given, so it gets the
    target's logit (a view of the model, nothing copied), not the softmax probability.
    Everything but the tf-keras-vis class is Grad-CAM's.

    Parameters: layer (name of a 4-D layer; default as Grad-CAM).
    """

    name = "gradcampp"
    visualizer_class = "tf_keras_vis.gradcam_plus_plus.GradcamPlusPlus"
