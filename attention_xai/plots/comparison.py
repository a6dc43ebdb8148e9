"""Figures of the comparison page: every experiment at a glance (rows in, Figure out)."""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

OFF_SCALE_BELOW = 50.0
"""Accuracy (%) under which a protocol is written beside the accuracy figure's axis."""

VERDICT_COLOURS = {"pass": "#4c9a4c", "FAIL": "#c0392b", "inconclusive": "#b0b0b0", "not measured": "#efe3a6",
                   "not run": "#ffffff"}
VERDICT_MARKS = {"inconclusive": "?", "not measured": "n/m", "not run": ""}


def _height(rows: int) -> float:
    return 1.2 + 0.32 * max(rows, 1)


def plot_accuracy(protocols: Sequence[Mapping]) -> Figure:
    """Test accuracy per protocol: every seed as a dot, the mean with one standard deviation
    as a bar, and the seed study's figure (224x224, ImageNet weights) as a red diamond where
    it reported one.

    Args:
        protocols: dicts with "label", "accuracies" (fractions, one per seed) and
            "seed_study" (a fraction or None).
    """
    fig = Figure(figsize=(8.5, _height(len(protocols))), layout="constrained")
    ax = fig.subplots()
    every = 100 * np.concatenate([np.asarray(p["accuracies"], float) for p in protocols] +
                                 [[p["seed_study"]] for p in protocols if p.get("seed_study")])
    # A protocol that learned no digit (the permuted-label control, about 10%) would squash
    # the rest into one pixel: it is written beside the axis instead.
    low = max(OFF_SCALE_BELOW, every.min()) if (every >= OFF_SCALE_BELOW).any() else every.min()
    for y, p in enumerate(protocols):
        values = 100 * np.asarray(p["accuracies"], float)
        if (values < low).all():
            ax.annotate(f"{values.mean():.1f}% (off scale)", (0.01, y), xycoords=("axes fraction", "data"),
                        va="center", fontsize=7, color="#555555")
            continue
        ax.scatter(values, np.full(len(values), y), s=14, color="#5577aa", alpha=0.7, zorder=3,
                   label="one seed" if y == 0 else None)
        if len(values) > 1:
            ax.errorbar(values.mean(), y, xerr=values.std(ddof=1), fmt="|", color="black", markersize=12, capsize=3,
                        zorder=4, label="mean ± std" if y == 0 else None)
        if p.get("seed_study"):
            ax.scatter(100 * p["seed_study"], y, marker="D", s=28, color="#c0392b", zorder=5, label="seed study")
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    ax.legend(unique.values(), unique.keys(), fontsize=7, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=3,
              frameon=False)
    ax.set_yticks(range(len(protocols)), [p["label"] for p in protocols], fontsize=7)
    ax.set_ylim(len(protocols) - 0.5, -0.5)  # every row shown, the first on top
    ax.set_xlabel("test accuracy (%)")
    ax.grid(axis="x", alpha=0.3)
    return fig


def plot_faithfulness_cost(points: Sequence[Mapping]) -> Figure:
    """Each attribution method's deletion AUC (lower: removing what the map ranks first
    destroys the prediction sooner) against its time per digit, one point per protocol.

    Args:
        points: dicts with "method", "deletion_auc" and "seconds_per_digit".
    """
    fig = Figure(figsize=(7.5, 4.2), layout="constrained")
    ax = fig.subplots()
    methods = list(dict.fromkeys(p["method"] for p in points))
    colours = dict(zip(methods, [f"C{i}" for i in range(len(methods))]))
    for method in methods:
        mine = [p for p in points if p["method"] == method and np.isfinite(p["deletion_auc"])
                and np.isfinite(p["seconds_per_digit"]) and p["seconds_per_digit"] > 0]
        if mine:
            ax.scatter([p["seconds_per_digit"] for p in mine], [p["deletion_auc"] for p in mine], s=18, alpha=0.75,
                       color=colours[method], label=method)
    ax.set_xscale("log")
    ax.set_xlabel("time per digit (s, log scale)")
    ax.set_ylabel("deletion AUC (lower is more faithful)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    return fig


def plot_sanity_grid(methods: Sequence[str], protocols: Sequence[str], verdicts: Mapping[tuple[str, str], str]
                     ) -> Figure:
    """The model-parameter randomisation verdict of every method (columns) on every protocol
    (rows): pass, FAIL, inconclusive (the randomised model ignored its input), not measured
    (an attention map that is flat for every digit) or not run.

    Args:
        verdicts: (protocol, method) -> one of VERDICT_COLOURS' keys (a protocol with
            several models: the verdict most of them got).
    """
    fig = Figure(figsize=(1.2 + 0.75 * len(methods) + 2.2, _height(len(protocols))), layout="constrained")
    ax = fig.subplots()
    for y, protocol in enumerate(protocols):
        for x, method in enumerate(methods):
            verdict = verdicts.get((protocol, method), "not run")
            ax.add_patch(_cell(x, y, VERDICT_COLOURS.get(verdict, "#ffffff")))
            ax.text(x, y, VERDICT_MARKS.get(verdict, verdict), ha="center", va="center",
                    fontsize=6, color="white" if verdict in ("pass", "FAIL") else "black")
    ax.set_xlim(-0.5, len(methods) - 0.5)
    ax.set_ylim(len(protocols) - 0.5, -0.5)
    ax.set_xticks(range(len(methods)), methods, rotation=35, ha="right", fontsize=7)
    ax.set_yticks(range(len(protocols)), protocols, fontsize=7)
    ax.tick_params(length=0)
    handles = [_cell(0, 0, colour) for colour in VERDICT_COLOURS.values()]
    names = [f"{k} ({VERDICT_MARKS[k]})" if VERDICT_MARKS.get(k) else k for k in VERDICT_COLOURS]
    ax.legend(handles, names, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return fig


def _cell(x: float, y: float, colour: str):
    from matplotlib.patches import Rectangle

    return Rectangle((x - 0.5, y - 0.5), 1, 1, facecolor=colour, edgecolor="#dddddd")


def plot_counterfactual_judges(rows: Sequence[Mapping]) -> Figure:
    """Per counterfactual method: the share of digits with a valid counterfactual, and the
    share of those the least convinced independent judge puts in the target class, as means
    over protocols (bars) with each protocol as a dot. A method whose judges stay near 0
    flips only the model it searched on.

    Args:
        rows: dicts with "method", "validity" and "judges_agree" (None when not judged).
    """
    methods = list(dict.fromkeys(r["method"] for r in rows))
    fig = Figure(figsize=(8.0, _height(len(methods)) + 0.3), layout="constrained")
    ax = fig.subplots()
    for y, method in enumerate(methods):
        for offset, key, colour, label in ((-0.18, "validity", "#5577aa", "valid"),
                                           (0.18, "judges_agree", "#4c9a4c", "judges agree (least convinced)")):
            values = np.array([r[key] for r in rows if r["method"] == method and r.get(key) is not None], float)
            values = values[np.isfinite(values)]
            if not len(values):
                continue
            ax.barh(y + offset, values.mean(), height=0.34, color=colour, alpha=0.8, label=label if y == 0 else None)
            ax.scatter(values, np.full(len(values), y + offset), s=8, color="black", zorder=3)
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    ax.legend(unique.values(), unique.keys(), fontsize=7, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=2,
              frameon=False)
    ax.set_yticks(range(len(methods)), methods, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 1.02)
    ax.set_xlabel("share of digits (dots: one protocol each)")
    ax.grid(axis="x", alpha=0.3)
    return fig
