"""LIME on digits, through `lime.lime_image`.

References: Ribeiro, Singh and Guestrin, "Why Should I Trust You?", KDD 2016.
"""

from __future__ import annotations

import numpy as np

from attention_xai.errors import ConfigError
from attention_xai.explain.base import ATTRIBUTIONS, Attribution, Passes, predict_in_batches

SEGMENTATIONS = ("grid", "slic")


def grid_segments(image: np.ndarray, cell: int) -> np.ndarray:
    """Square cells of `cell` pixels: (H, W) integer segment labels. On a 28x28 digit,
    superpixel methods lump the whole background into a few segments and cut strokes
    unevenly; a regular grid gives every stroke part its own say."""
    h, w = image.shape[:2]
    rows, cols = np.arange(h) // cell, np.arange(w) // cell
    return rows[:, None] * (-(-w // cell)) + cols[None, :]


def _quiet(iterable, *args, **kwargs):
    return iterable


@ATTRIBUTIONS.register("lime")
class Lime(Attribution):
    """A sparse linear model fitted to the target probability of `num_samples` copies of
    the digit with random segments switched off (set to 0); each pixel gets its
    segment's weight.

    Args:
        num_samples: perturbed copies per digit.
        segmentation: "grid" (square cells of `cell` pixels) or "slic" (skimage SLIC).
        cell: grid cell side in pixels.
        n_segments: SLIC segment count.
    """

    name = "lime"
    signed = True

    defaults = {"num_samples": 500, "segmentation": "grid", "cell": 4, "n_segments": 40}

    def check(self):
        if self.segmentation not in SEGMENTATIONS:
            raise ConfigError(f"unknown LIME segmentation {self.segmentation!r}; valid: {', '.join(SEGMENTATIONS)}")

    def _segment(self, image):
        if self.segmentation == "grid":
            return grid_segments(image, self.cell)
        from skimage.segmentation import slic

        return slic(image[..., 0], n_segments=self.n_segments, compactness=0.1, channel_axis=None, start_label=0)

    def attribute(self, model, images, targets):
        from lime import lime_image

        explainer = lime_image.LimeImageExplainer(random_state=self.seed)

        def classify(rgb_batch):  # LIME hands over RGB copies; the model reads one channel
            return predict_in_batches(model, rgb_batch[..., :1].astype(np.float32), self.batch_size)

        maps = np.zeros(images.shape[:3], np.float32)
        progress_bar, lime_image.tqdm = lime_image.tqdm, _quiet  # lime 0.2 draws a bar per digit
        try:
            for i, (image, target) in enumerate(zip(images, targets)):
                segments = self._segment(image)
                result = explainer.explain_instance(
                    np.repeat(image, 3, axis=-1).astype(np.float64), classify, labels=(int(target),),
                    top_labels=None, hide_color=0, num_samples=self.num_samples, batch_size=self.batch_size,
                    segmentation_fn=lambda _, s=segments: s, random_seed=self.seed)
                for segment, weight in result.local_exp[int(target)]:
                    maps[i][segments == segment] = weight
        finally:
            lime_image.tqdm = progress_bar  # leave the library as it was found
        return maps, Passes(forward=len(images) * self.num_samples), {}
