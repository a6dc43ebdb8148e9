"""Occlusion: how much the target probability drops when a window of pixels is hidden.

References: Zeiler and Fergus, "Visualizing and Understanding Convolutional Networks", ECCV 2014.
"""

from __future__ import annotations

import numpy as np

from attention_xai.errors import ConfigError
from attention_xai.explain.base import ATTRIBUTIONS, Attribution, Passes, check_output, predict_in_batches


@ATTRIBUTIONS.register("occlusion")
class Occlusion(Attribution):
    """Slides a `window` x `window` patch of value `fill` with step `stride` (plus a last
    position flush with the border when the steps stop short of it); each pixel gets the
    mean probability drop of the patches that cover it.

    Args:
        window: side of the occluding patch, in pixels.
        stride: step between patches.
        fill: value of occluded pixels (0: MNIST's background).
        output: the drop in the target's "probability" (default) or in its "logit".
    """

    name = "occlusion"
    signed = True

    defaults = {"window": 4, "stride": 2, "fill": 0.0, "output": "probability"}

    def check(self):
        window, stride = self.window, self.stride
        if not (1 <= window <= 28 and 1 <= stride <= window):
            raise ConfigError(f"occlusion needs integers 1 <= stride <= window <= 28 (a stride longer than the "
                              f"window leaves pixels uncovered), got window {window}, stride {stride}")
        check_output(self.output)

    @property
    def score(self) -> str:
        return self.output

    def attribute(self, model, images, targets):
        side = images.shape[1]
        starts = list(range(0, side - self.window + 1, self.stride))
        if starts[-1] != side - self.window:
            starts.append(side - self.window)  # the last window touches the border: every pixel is covered
        corners = [(r, c) for r in starts for c in starts]
        def predict(x):
            return predict_in_batches(model, x, self.batch_size, self.output)

        base = predict(images)[np.arange(len(images)), targets]
        drops = np.zeros(images.shape[:3], np.float32)
        counts = np.zeros(images.shape[1:3], np.float32)
        for r, c in corners:
            counts[r:r + self.window, c:c + self.window] += 1
        # Variants of every image, a batch of them at a time.
        pairs = [(i, k) for i in range(len(images)) for k in range(len(corners))]
        for start in range(0, len(pairs), self.batch_size):
            chunk = pairs[start:start + self.batch_size]
            batch = images[[i for i, _ in chunk]].copy()
            for row, (_, k) in enumerate(chunk):
                r, c = corners[k]
                batch[row, r:r + self.window, c:c + self.window] = self.fill
            probs = predict(batch)
            for row, (i, k) in enumerate(chunk):
                r, c = corners[k]
                drops[i, r:r + self.window, c:c + self.window] += base[i] - probs[row, targets[i]]
        maps = drops / np.maximum(counts, 1)
        return maps, Passes(forward=len(images) * (len(corners) + 1)), {}
