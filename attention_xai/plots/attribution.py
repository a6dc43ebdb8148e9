"""Figures of attribution maps: data in, `Figure` out."""

from __future__ import annotations

from typing import Sequence

import numpy as np
from matplotlib.figure import Figure

from attention_xai.explain.base import Explanation


SIGNED_CMAP, UNSIGNED_CMAP = "RdBu_r", "inferno"


def bare(ax) -> None:
    """An image panel without ticks or tick labels. The axis objects are hidden rather than
    given empty tick lists: the same picture, and the quick model's counterfactual figures
    drew in 0.90x the time (the attribution grid: no difference; experiments/benchmarks/bench_figures.py,
    AVX2). An x label set before (a panel's note) keeps its axis, without ticks."""
    if ax.get_xlabel():
        ax.set_xticks([])
    else:
        ax.xaxis.set_visible(False)
    ax.yaxis.set_visible(False)


def draw_attribution(ax, image: np.ndarray, values: np.ndarray, *, signed: bool, alpha: float = 0.6):
    """One map over its digit, drawn into the given axes (as captum's `visualize_image_attr`
    draws into a given `plt_fig_axis`) and bared (set an x label first to keep it); returns
    the map's image, for a colour bar.

    Args:
        ax: a matplotlib Axes.
        image: (28, 28) or (28, 28, 1) digit in [0, 1].
        values: (28, 28) map already on its display scale: [0, 1] unsigned, [-1, 1] signed
            (`Explanation.normalized()` / `symmetric()`).
        signed: draw on the diverging map centred on 0 (red for, blue against).
    """
    ax.imshow(np.asarray(image).reshape(28, 28), cmap="gray", vmin=0, vmax=1)
    shown = ax.imshow(values, cmap=SIGNED_CMAP if signed else UNSIGNED_CMAP, vmin=-1 if signed else 0, vmax=1,
                      alpha=alpha)
    bare(ax)
    return shown


def plot_attribution_grid(images: np.ndarray, explanations: Sequence[Explanation], row_titles: Sequence[str],
                          *, alpha: float = 0.6, rows: Sequence[int] | None = None) -> Figure:
    """Samples as rows, methods as columns: the digit, then each method's map over it.

    Unsigned maps (CAMs, |gradient|, attention) are min-max scaled to [0, 1] on a
    sequential map; signed maps (Integrated Gradients, SHAP, occlusion, LIME) keep their
    sign on a diverging map centred on 0 (red: evidence for the target, blue: against),
    scaled by the 99th percentile of |map| so a few extreme pixels do not wash it out.

    Args:
        images: (N, 28, 28, 1) in [0, 1].
        explanations: one per method, each with N maps for the same digits.
        row_titles: one per digit (e.g. "BAD  true 4  pred 9 (0.87)").
        rows: which digits to draw, in order (default: all of them).
    """
    rows = list(range(len(images))) if rows is None else list(rows)
    n, m = len(rows), len(explanations)
    fig = Figure(figsize=(1.55 * (m + 1) + 1.6, 1.6 * n + 0.6), layout="constrained")
    axes = np.atleast_2d(fig.subplots(n, m + 1, squeeze=False))
    shown = {}
    for j, explanation in enumerate(explanations, start=1):
        signed = explanation.signed
        values = explanation.symmetric() if signed else explanation.normalized()
        flags = explanation.params.get("informative")
        for i, d in enumerate(rows):
            if flags is not None and not flags[d]:  # an attention map with (almost) no dynamic range
                axes[i, j].set_xlabel(f"uninformative (range {explanation.params['dynamic_range'][d]:.3f})",
                                      fontsize=6, color="red")
            shown[signed] = draw_attribution(axes[i, j], images[d], values[d], signed=signed, alpha=alpha)
        axes[0, j].set_title(f"{explanation.method}{' (signed)' if signed else ''}", fontsize=8)
    for i, d in enumerate(rows):
        axes[i, 0].imshow(images[d, ..., 0], cmap="gray", vmin=0, vmax=1)
        axes[i, 0].set_title(row_titles[d], fontsize=7, loc="left")
    for ax in axes.flat:
        bare(ax)
    if False in shown:
        fig.colorbar(shown[False], ax=axes, shrink=0.45, label="unsigned: min-max per map")
    if True in shown:
        fig.colorbar(shown[True], ax=axes, shrink=0.45, label="signed: / 99th pct of |map| (red for, blue against)")
    return fig
