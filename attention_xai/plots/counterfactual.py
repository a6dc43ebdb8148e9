"""Figures of counterfactuals: data in, `Figure` out.

Signed changes are drawn on a diverging map centred on 0 (red: ink added, blue: ink
removed), scaled per row to its largest |change|, which the title gives.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from matplotlib.figure import Figure

from attention_xai.evaluate.counterfactual import L0_THRESHOLD
from attention_xai.plots.attribution import UNSIGNED_CMAP, bare

CHANGE_CMAP = "bwr"


def _change(ax, delta: np.ndarray):
    """Signed change on a diverging map centred on 0; returns the scale used."""
    scale = float(np.nanmax(np.abs(delta))) if np.isfinite(delta).any() else 1.0
    scale = scale if scale > 0 else 1.0
    ax.imshow(delta, cmap=CHANGE_CMAP, vmin=-scale, vmax=scale)
    return scale


def _cf_title(cf_class: int, confidence: float, valid: bool) -> str:
    return f"-> {cf_class} ({confidence:.2f})" if valid else "not found"


def plot_counterfactual_rows(digits: np.ndarray, counterfactuals: np.ndarray, valid: np.ndarray,
                             cf_classes: np.ndarray, cf_confidence: np.ndarray, row_titles: Sequence[str],
                             cam: np.ndarray | None = None, method: str = "") -> Figure:
    """One method, one row per digit: original | counterfactual | signed change | Grad-CAM
    of the original with the changed pixels outlined.

    Args:
        digits, counterfactuals: (N, 28, 28, 1); counterfactual rows are NaN where none was found.
        valid, cf_classes, cf_confidence: (N,).
        row_titles: one per digit (kind, true and predicted class, confidence, target).
        cam: (N, 28, 28) Grad-CAM maps of the originals (0-1 scaled), or None.
    """
    n = len(digits)
    columns = 4 if cam is not None else 3
    fig = Figure(figsize=(1.9 * columns, 1.85 * n + 0.5), layout="constrained")
    axes = np.atleast_2d(fig.subplots(n, columns, squeeze=False))
    for i in range(n):
        axes[i, 0].imshow(digits[i, ..., 0], cmap="gray", vmin=0, vmax=1)
        axes[i, 0].set_title(row_titles[i], fontsize=7, loc="left")
        if valid[i]:
            axes[i, 1].imshow(counterfactuals[i, ..., 0], cmap="gray", vmin=0, vmax=1)
            delta = counterfactuals[i, ..., 0] - digits[i, ..., 0]
            scale = _change(axes[i, 2], delta)
            axes[i, 2].set_title(f"change (+-{scale:.2f})", fontsize=7)
        else:
            for ax in axes[i, 1:3]:
                ax.set_facecolor("#eeeeee")
        axes[i, 1].set_title(_cf_title(cf_classes[i], cf_confidence[i], valid[i]), fontsize=7)
        if cam is not None:
            axes[i, 3].imshow(digits[i, ..., 0], cmap="gray", vmin=0, vmax=1)
            axes[i, 3].imshow(cam[i], cmap=UNSIGNED_CMAP, vmin=0, vmax=1, alpha=0.6)
            if valid[i]:
                changed = np.abs(counterfactuals[i, ..., 0] - digits[i, ..., 0]) > L0_THRESHOLD
                if changed.any():
                    axes[i, 3].contour(changed.astype(float), levels=[0.5], colors="cyan", linewidths=0.8)
            axes[i, 3].set_title("Grad-CAM, change outlined", fontsize=7)
    for ax in axes.flat:
        bare(ax)
    if method:
        # Two lines: with the judges' verdict the title is wider than four panels.
        fig.suptitle(f"{method}\noriginal | counterfactual | change (red: ink added, blue: removed)", fontsize=9)
    return fig


def plot_method_grid(digits: np.ndarray, results: Sequence[dict], row_titles: Sequence[str]) -> Figure:
    """Every method on the same digits: per digit, a row of counterfactuals and below it a
    row of signed changes; one column per method.

    Args:
        results: per method a dict with "method", "counterfactuals" (N, 28, 28, 1),
            "valid", "cf_class", "cf_confidence" (N,), and optionally "verdict" (what the
            judges make of the method, shown under its name) and "judged" (N,) short
            text per digit (the judges' classes of the counterfactual).
    """
    n, m = len(digits), len(results)
    fig = Figure(figsize=(1.5 * (m + 1) + 0.4, 3.0 * n + 0.6), layout="constrained")
    axes = np.atleast_2d(fig.subplots(2 * n, m + 1, squeeze=False))
    for i in range(n):
        top, bottom = axes[2 * i], axes[2 * i + 1]
        top[0].imshow(digits[i, ..., 0], cmap="gray", vmin=0, vmax=1)
        top[0].set_title(row_titles[i], fontsize=6, loc="left")
        bottom[0].set_axis_off()
        for j, r in enumerate(results, start=1):
            ok = bool(r["valid"][i])
            if ok:
                cf = r["counterfactuals"][i, ..., 0]
                top[j].imshow(cf, cmap="gray", vmin=0, vmax=1)
                scale = _change(bottom[j], cf - digits[i, ..., 0])
                bottom[j].set_title(f"+-{scale:.2f}", fontsize=6)
            else:
                top[j].set_facecolor("#eeeeee")
                bottom[j].set_facecolor("#eeeeee")
            label = _cf_title(r["cf_class"][i], r["cf_confidence"][i], ok)
            if ok and r.get("judged") is not None:
                label += f"\n{r['judged'][i]}"
            head = r["method"] + (f"\n{_wrap(r['verdict'])}" if r.get("verdict") else "")
            top[j].set_title(f"{head}\n{label}" if i == 0 else label, fontsize=6)
    for ax in axes.flat:
        bare(ax)
    fig.suptitle("Counterfactuals by method (second row: change, red ink added, blue removed)", fontsize=9)
    return fig


def _wrap(text: str, width: int = 22) -> str:
    """`text` broken into lines of at most about `width` characters, for narrow titles."""
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return "\n".join(lines + [line])


def plot_bad_digits(digits: np.ndarray, attribution: np.ndarray, attribution_name: str, counterfactuals: np.ndarray,
                    valid: np.ndarray, cf_classes: np.ndarray, row_titles: Sequence[str], method: str,
                    verdict: str) -> Figure:
    """Misclassified digits: what the model looked at, and what had to change for it to
    read the true class. One row per digit: original | attribution map of the original |
    counterfactual | signed change, with the changed pixels outlined on the map.

    Args:
        digits, counterfactuals: (N, 28, 28, 1) (counterfactual rows NaN where none was found).
        attribution: (N, 28, 28) maps of the originals, 0-1 scaled.
        valid, cf_classes: (N,).
        method, verdict: the counterfactual method shown and what the judges make of it.
    """
    n = len(digits)
    fig = Figure(figsize=(7.6, 1.85 * n + 0.7), layout="constrained")
    axes = np.atleast_2d(fig.subplots(n, 4, squeeze=False))
    for i in range(n):
        axes[i, 0].imshow(digits[i, ..., 0], cmap="gray", vmin=0, vmax=1)
        axes[i, 0].set_title(row_titles[i], fontsize=7, loc="left")
        axes[i, 1].imshow(digits[i, ..., 0], cmap="gray", vmin=0, vmax=1)
        axes[i, 1].imshow(attribution[i], cmap=UNSIGNED_CMAP, vmin=0, vmax=1, alpha=0.6)
        axes[i, 1].set_title(f"{attribution_name} of the original", fontsize=7)
        if valid[i]:
            axes[i, 2].imshow(counterfactuals[i, ..., 0], cmap="gray", vmin=0, vmax=1)
            delta = counterfactuals[i, ..., 0] - digits[i, ..., 0]
            scale = _change(axes[i, 3], delta)
            axes[i, 3].set_title(f"change (+-{scale:.2f})", fontsize=7)
            changed = np.abs(delta) > L0_THRESHOLD
            if changed.any():
                axes[i, 1].contour(changed.astype(float), levels=[0.5], colors="cyan", linewidths=0.8)
        else:
            for ax in axes[i, 2:]:
                ax.set_facecolor("#eeeeee")
        axes[i, 2].set_title(f"-> {cf_classes[i]}" if valid[i] else "not found", fontsize=7)
    for ax in axes.flat:
        bare(ax)
    fig.suptitle(f"Misclassified digits: where the model looked, and what {method} changed to make it read the "
                 f"true class\n({verdict}; cyan: the changed pixels)", fontsize=8)
    return fig
