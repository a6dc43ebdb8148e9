"""SHAP expected gradients, through `shap.GradientExplainer`.

References: Lundberg and Lee, "A Unified Approach to Interpreting Model Predictions",
NeurIPS 2017; Erion et al., "Improving performance of deep learning models with axiomatic
attribution priors and expected gradients", 2021.
"""

from __future__ import annotations

import functools

import numpy as np

from attention_xai.explain.base import ATTRIBUTIONS, Attribution, Passes, numpy_seed


@functools.lru_cache(maxsize=4)
def training_background(size: int, seed: int) -> np.ndarray:
    """`size` training digits drawn with `seed`: (size, 28, 28, 1) float32 in [0, 1]."""
    from attention_xai.data import load_mnist, to_model_input

    data = load_mnist()
    rows = np.sort(np.random.default_rng(seed).choice(len(data.x_train), size, replace=False))
    return to_model_input(data.x_train[rows])


@ATTRIBUTIONS.register("shap")
class Shap(Attribution):
    """Expected gradients of the target-class probability against a background of
    training digits. Only the target class is explained: images are grouped by target
    and each group goes through a one-output view of the model.

    Args:
        background_size: training digits in the background (drawn with `seed`).
        nsamples: background samples (and path points) per image.
        background: an explicit (M, 28, 28, 1) background instead of training digits.
    """

    name = "shap"
    signed = True

    defaults = {"background_size": 64, "nsamples": 64}

    def __init__(self, *, background: np.ndarray | None = None, **kwargs):
        super().__init__(**kwargs)
        self.background = background  # an array, not a parameter given as text
        if background is not None:
            self.params["background_size"] = len(background)

    def attribute(self, model, images, targets):
        import shap

        background = self.background if self.background is not None else training_background(
            self.background_size, self.seed)
        maps = np.zeros(images.shape[:3], np.float32)
        for target in np.unique(targets):
            rows = np.flatnonzero(targets == target)
            # shap reads the output shape from the last *layer*, so hand it the (input, output)
            # tensors of a one-output view instead of a model.
            one_output = (model.inputs[0], model.outputs[0][:, int(target)])
            explainer = shap.GradientExplainer(one_output, background, batch_size=self.batch_size)
            with numpy_seed(self.seed + int(target)):  # shap draws its samples from numpy's global generator
                values = explainer.shap_values(images[rows], nsamples=self.nsamples)
            values = np.asarray(values[0] if isinstance(values, list) else values)
            maps[rows] = values.reshape(len(rows), 28, 28, -1)[..., 0]
        return maps, Passes(gradient=len(images) * self.nsamples), {}
