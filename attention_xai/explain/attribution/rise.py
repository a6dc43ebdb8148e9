"""RISE: the score of randomly masked copies of the digit, averaged over the masks.

References: Petsiuk, Das and Saenko, "RISE: Randomized Input Sampling for Explanation of
Black-box Models", BMVC 2018.
"""

from __future__ import annotations

import numpy as np

from attention_xai.explain.base import ATTRIBUTIONS, Attribution, Passes, predict_in_batches


def rise_masks(count: int, grid: int, keep: float, rng: np.random.Generator, size: int = 28) -> np.ndarray:
    """`count` smooth random masks (count, size, size) in [0, 1], as Petsiuk et al. make them:
    a `grid` x `grid` binary grid, each cell kept with probability `keep`, upsampled
    bilinearly to (grid + 1) cells of ceil(size / grid) pixels, and cropped back to `size`
    at a random shift of its own for every mask (less than one cell)."""
    import tensorflow as tf

    cell = -(-size // grid)
    cells = rng.random((count, grid, grid, 1)) < keep
    big = tf.image.resize(tf.constant(cells, tf.float32), ((grid + 1) * cell, (grid + 1) * cell),
                          method="bilinear").numpy()[..., 0]
    dy, dx = rng.integers(0, cell, count), rng.integers(0, cell, count)
    rows = dy[:, None] + np.arange(size)[None, :]
    cols = dx[:, None] + np.arange(size)[None, :]
    return big[np.arange(count)[:, None, None], rows[:, :, None], cols[:, None, :]].astype(np.float32)


@ATTRIBUTIONS.register("rise")
class Rise(Attribution):
    """Each pixel's importance is the target probability of the masked digits (digit x
    mask, the masked part black, MNIST's background) weighted by how much each mask kept
    that pixel: sum_i p(x * M_i) M_i / sum_i M_i, Xplique's normalisation (the paper divides
    by the number of masks times `keep`; the two agree in expectation). The masks are drawn
    once per call (seeded) and shared by every digit; the masked copies go through the
    model `batch_size` at a time.

    Parameters:
        masks: random masks per digit (Xplique's default: 4,000).
        grid: cells per side of the coarse mask (7).
        keep: probability that a cell is kept (0.5).
    """

    name = "rise"
    defaults = {"masks": 4000, "grid": 7, "keep": 0.5}
    default_batch_size = 500

    def check(self):
        from attention_xai.errors import ConfigError

        if not (self.masks >= 1 and 1 <= self.grid <= 28 and 0.0 < self.keep < 1.0):
            raise ConfigError(f"rise needs masks >= 1, 1 <= grid <= 28 and 0 < keep < 1, got masks {self.masks}, "
                              f"grid {self.grid}, keep {self.keep}")

    def attribute(self, model, images, targets):
        masks = rise_masks(self.masks, self.grid, self.keep, np.random.default_rng(self.seed))
        flat = masks.reshape(len(masks), -1)
        weight = flat.sum(axis=0)
        maps = np.zeros((len(images), 28 * 28), np.float64)
        for i, (image, target) in enumerate(zip(images, targets)):
            for start in range(0, len(masks), self.batch_size):
                chunk = masks[start:start + self.batch_size]
                scores = predict_in_batches(model, image[None] * chunk[..., None], self.batch_size)[:, target]
                maps[i] += scores.astype(np.float64) @ flat[start:start + len(chunk)]
        maps /= np.maximum(weight, 1e-4)
        return maps.reshape(-1, 28, 28).astype(np.float32), Passes(forward=len(images) * len(masks)), {}
