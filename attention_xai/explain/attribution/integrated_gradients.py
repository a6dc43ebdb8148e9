"""Integrated Gradients, batched over images and path steps.

References: Sundararajan, Taly and Yan, "Axiomatic Attribution for Deep Networks", ICML 2017.
"""

from __future__ import annotations

import numpy as np

from attention_xai.explain.base import ATTRIBUTIONS, Attribution, Passes, check_output, target_gradients


@ATTRIBUTIONS.register("integrated_gradients")
class IntegratedGradients(Attribution):
    """Average gradient along the straight path from a baseline to the image, times
    (image - baseline), integrated with the trapezoidal rule. Sums to
    f(image) - f(baseline) up to the integration error (completeness).

    Args:
        steps: path intervals (steps + 1 gradient evaluations per image).
        baseline: constant pixel value of the baseline image (0: black, MNIST's background).
        output: the target's "probability" (default; completeness then sums to a
            probability difference) or its "logit".
    """

    name = "integrated_gradients"
    signed = True
    defaults = {"steps": 32, "baseline": 0.0, "output": "probability"}

    def check(self):
        check_output(self.output)

    @property
    def score(self) -> str:
        return self.output

    def attribute(self, model, images, targets):
        alphas = np.linspace(0.0, 1.0, self.steps + 1, dtype=np.float32)
        weights = np.full(self.steps + 1, 1.0 / self.steps, dtype=np.float32)
        weights[[0, -1]] /= 2  # trapezoidal rule
        baseline = np.full_like(images[:1], self.baseline)
        # One row per (image, alpha); model calls take `batch_size` rows at a time.
        image_index = np.repeat(np.arange(len(images)), len(alphas))
        alpha = np.tile(alphas, len(images))
        grads_sum = np.zeros_like(images)
        for start in range(0, len(image_index), self.batch_size):
            rows = slice(start, start + self.batch_size)
            idx, a = image_index[rows], alpha[rows][:, None, None, None]
            path = baseline + a * (images[idx] - baseline)
            _, grads = target_gradients(model, path.astype(np.float32), targets[idx], self.output)
            np.add.at(grads_sum, idx, grads * np.tile(weights, len(images))[rows][:, None, None, None])
        maps = (grads_sum * (images - baseline))[..., 0]
        return maps, Passes(gradient=len(image_index)), {}

