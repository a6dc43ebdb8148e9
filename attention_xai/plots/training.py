"""Figures about training and test results: data in, `matplotlib.figure.Figure` out."""

from __future__ import annotations

import math
from typing import Sequence

import matplotlib
import numpy as np
from matplotlib.figure import Figure


def drawn(values, digits: int = 6) -> list[float]:
    """Values as they are drawn: rounded to `digits` significant digits (by Python's exact
    decimal formatting), so that a difference in the last bits, which another CPU's
    arithmetic can make, draws the same figure."""
    return [float(f"{float(v):.{digits}g}") for v in values]


def plot_training_curves(history: Sequence[dict], title: str = "", checks_per_epoch: int = 1) -> Figure:
    """Loss, accuracy and learning rate per epoch, training against validation.

    The values are rounded before drawing, and the learning rate's logarithm comes from
    Python's `math.log10`, not numpy's, whose vectorised code differs by CPU (AVX-512 or
    AVX2) in the last bit: the PDF's coordinates are then the same on every machine.

    Args:
        history: rows with epoch, loss, accuracy, val_loss, val_accuracy, learning_rate
            (and optionally phase), as in history.csv.
        checks_per_epoch: history rows per pass over the training digits (the run's
            `TrainConfig.checks_per_epoch`); the x axis counts passes either way.
    """
    fig = Figure(figsize=(12, 3.6), layout="constrained")
    axes = fig.subplots(1, 3)
    epochs = np.array([(int(r["epoch"]) + 1) / checks_per_epoch for r in history])
    for ax, key, label in ((axes[0], "loss", "cross-entropy"), (axes[1], "accuracy", "accuracy")):
        for prefix, style in (("", "o-"), ("val_", "s--")):
            values = drawn(r[prefix + key] for r in history if r.get(prefix + key) not in (None, ""))
            if values:
                ax.plot(epochs[: len(values)], values, style, label="validation" if prefix else "training")
        ax.set(xlabel="epoch", ylabel=label, title=label)
        ax.grid(alpha=0.3)
        ax.legend()
    rates = drawn(r["learning_rate"] for r in history)
    if all(rate > 0 for rate in rates):
        # A log axis drawn by hand: ticks at the rates the schedule used.
        axes[2].plot(epochs, drawn(math.log10(rate) for rate in rates), "o-", color="tab:green")
        used = sorted(set(rates))[:: max(1, -(-len(set(rates)) // 6))]
        axes[2].set_yticks(drawn(math.log10(rate) for rate in used), [f"{rate:g}" for rate in used])
        axes[2].set(ylabel="learning rate (log scale)")
    else:
        axes[2].plot(epochs, rates, "o-", color="tab:green")
        axes[2].set(ylabel="learning rate")
    axes[2].set(xlabel="epoch", title="learning rate")
    axes[2].grid(alpha=0.3)
    phases = [r.get("phase") for r in history]
    for i in range(1, len(phases)):
        if phases[i] != phases[i - 1]:
            for ax in axes:
                ax.axvline(epochs[i] - 0.5 / checks_per_epoch, color="grey", ls=":", lw=1)
    for ax in axes:
        ax.xaxis.get_major_locator().set_params(integer=checks_per_epoch == 1)
    if title:
        fig.suptitle(title)
    return fig


def plot_confusion_matrix(matrix: Sequence[Sequence[int]], title: str = "") -> Figure:
    """Counts with true class as rows; the diagonal is hidden from the colour scale so the
    errors stand out, and every cell is labelled with its count."""
    matrix = np.asarray(matrix)
    k = matrix.shape[0]
    errors = matrix.astype(float).copy()
    np.fill_diagonal(errors, np.nan)
    fig = Figure(figsize=(6.4, 5.6), layout="constrained")
    ax = fig.subplots()
    cmap = matplotlib.colormaps["Reds"].copy()
    cmap.set_under("white")  # cells without errors stay white
    image = ax.imshow(errors, cmap=cmap, vmin=0.5, vmax=max(np.nanmax(errors), 1))
    for i in range(k):
        for j in range(k):
            ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=8,
                    color="black" if i != j else "tab:blue", fontweight="bold" if i == j else "normal")
    ax.set(xticks=range(k), yticks=range(k), xlabel="predicted class", ylabel="true class",
           title=title or "confusion matrix (colour: misclassifications)")
    fig.colorbar(image, ax=ax, label="misclassified digits")
    return fig
