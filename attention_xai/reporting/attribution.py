"""Figures of attribution maps: data in, `Figure` out."""

from __future__ import annotations

from typing import Sequence

import numpy as np
from matplotlib.figure import Figure

from attention_xai.explain.base import Explanation


def plot_attribution_grid(images: np.ndarray, explanations: Sequence[Explanation], row_titles: Sequence[str],
                          *, alpha: float = 0.55, cmap: str = "jet") -> Figure:
    """Samples as rows, methods as columns: the digit, then each method's map (min-max
    scaled to 0-1) over it. One colour bar for the common 0-1 scale.

    Args:
        images: (N, 28, 28, 1) in [0, 1].
        explanations: one per method, each with N maps for the same digits.
        row_titles: one per digit (e.g. "BAD  true 4  pred 9 (0.87)").
    """
    n, m = len(images), len(explanations)
    fig = Figure(figsize=(1.55 * (m + 1) + 0.8, 1.6 * n + 0.6), layout="constrained")
    axes = np.atleast_2d(fig.subplots(n, m + 1, squeeze=False))
    mappable = None
    for i in range(n):
        digit = images[i, ..., 0]
        axes[i, 0].imshow(digit, cmap="gray", vmin=0, vmax=1)
        axes[i, 0].set_title(row_titles[i], fontsize=7, loc="left")
        for j, explanation in enumerate(explanations, start=1):
            axes[i, j].imshow(digit, cmap="gray", vmin=0, vmax=1)
            mappable = axes[i, j].imshow(explanation.normalized()[i], cmap=cmap, vmin=0, vmax=1, alpha=alpha)
            if i == 0:
                axes[i, j].set_title(explanation.method, fontsize=9)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    if mappable is not None:
        fig.colorbar(mappable, ax=axes, shrink=0.6, label="attribution (min-max per map)")
    return fig
