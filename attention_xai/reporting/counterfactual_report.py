"""Writes the counterfactual stage's results under reports/<name>/counterfactuals/.

    counterfactuals.npz           digits, targets, and per method its counterfactuals,
                                  validity, classes, distances, queries, seconds, params;
                                  the attribution maps the overlap columns compare with
    per_digit.csv, summary.csv    every metric per digit, and per method
    methods.{png,pdf}             every method on the same digits
    counterfactual_<method>.{png,pdf}  original | counterfactual | change | Grad-CAM

Every figure is redrawn from counterfactuals.npz alone (`redraw_counterfactual_figures`).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from attention_xai.artifacts import atomic_path
from attention_xai.errors import ArtifactError
from attention_xai.evaluate.counterfactual import L0_THRESHOLD, distances
from attention_xai.explain.base import normalize_maps
from attention_xai.explain.counterfactual.analysis import CounterfactualAnalysis
from attention_xai.reporting.attribution_report import row_titles
from attention_xai.reporting.counterfactual import plot_counterfactual_rows, plot_method_grid
from attention_xai.reporting.experiment_report import read_csv, save_figure, write_csv

ARRAYS = "counterfactuals.npz"
PER_METHOD = ("counterfactuals", "valid", "cf_class", "cf_confidence", "forward_queries", "gradient_queries",
              "seconds", "l0", "l1", "l2", "linf")


def write_counterfactual_report(analysis: CounterfactualAnalysis, out_dir: Path) -> list[Path]:
    """Raw arrays, the tables and the figures; returns the written paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    s = analysis.samples
    arrays = {"images": analysis.images, "indices": s.indices, "kind": s.kind, "labels": s.labels,
              "predictions": s.predictions, "confidence": s.confidence, "targets": analysis.targets,
              "target_rule": np.array(analysis.target_rule), "l0_threshold": np.array(L0_THRESHOLD),
              "methods": np.array([r.method for r in analysis.results]),
              "attribution_methods": np.array([e.method for e in analysis.attributions], dtype=str)}
    for r in analysis.results:
        d = distances(r.digits, r.counterfactuals)
        values = {"counterfactuals": r.counterfactuals, "valid": r.valid, "cf_class": r.predictions,
                  "cf_confidence": r.confidence, "forward_queries": r.forward_queries,
                  "gradient_queries": r.gradient_queries, "seconds": r.seconds, **d}
        for key in PER_METHOD:
            arrays[f"{key}_{r.method}"] = values[key]
        arrays[f"params_{r.method}"] = np.array(json.dumps(dict(r.params), default=str))
    for e in analysis.attributions:
        arrays[f"map_{e.method}"] = e.maps
    written = [out_dir / ARRAYS]
    with atomic_path(written[0]) as tmp:
        np.savez_compressed(tmp, **arrays)
    for name, rows in (("per_digit", analysis.per_digit), ("summary", analysis.summary)):
        if rows:
            write_csv(out_dir / f"{name}.csv", rows)
            written.append(out_dir / f"{name}.csv")
    written += redraw_counterfactual_figures(out_dir)
    return written


def load_counterfactual_arrays(out_dir: Path) -> dict:
    """counterfactuals.npz as a dict; ArtifactError if missing or unreadable."""
    path = out_dir / ARRAYS
    if not path.is_file():
        raise ArtifactError(f"{path} is missing; run `python -m attention_xai counterfactual` first")
    try:
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"cannot read {path}: {exc}") from None


def _titles(data) -> list[str]:
    base = row_titles(data["kind"], data["labels"], data["predictions"], data["confidence"])
    return [f"{t}\ntarget {target}" for t, target in zip(base, data["targets"])]


def redraw_counterfactual_figures(out_dir: Path) -> list[Path]:
    """Every figure from counterfactuals.npz (PNG and PDF)."""
    data = load_counterfactual_arrays(out_dir)
    titles = _titles(data)
    cam = normalize_maps(data["map_gradcam"]) if "map_gradcam" in data else None
    results, written = [], []
    for method in data["methods"]:
        r = {key: data[f"{key}_{method}"] for key in PER_METHOD}
        r["method"] = str(method)
        results.append(r)
        fig = plot_counterfactual_rows(data["images"], r["counterfactuals"], r["valid"], r["cf_class"],
                                       r["cf_confidence"], titles, cam=cam, method=str(method))
        written += save_figure(fig, out_dir / f"counterfactual_{method}")
    if results:
        written += save_figure(plot_method_grid(data["images"], results, titles), out_dir / "methods")
    return written


SUMMARY_TEXT = (
    "Per method, over the same digits: validity (share of digits whose counterfactual the model puts in "
    "the target class, re-predicted from the saved counterfactual), then means over the valid ones: L0 "
    f"(pixels changed by more than half a grey level, {L0_THRESHOLD:.4f}), L1, L2 (not squared), Linf; "
    "IM1 and IM2 (Van Looveren and Klaise; autoencoder reconstruction ratios, lower is more plausible); "
    "yNN (share of the 5 nearest training digits the model puts in the target class); overlap_<method> "
    "(share of the L0 most-changed pixels that are also among that attribution method's top-L0 pixels of "
    "the original digit; chance is about L0/784); model queries and seconds per digit.")


def counterfactual_sections(directory: Path) -> list[dict]:
    """Report sections for the counterfactual stage's results, if it ran."""
    if not (directory / ARRAYS).is_file():
        return []
    data = load_counterfactual_arrays(directory)
    rule = str(data["target_rule"])
    target_text = {"auto": "BAD digits towards their true class, GOOD ones towards the runner-up class",
                   "true": "every digit towards its true class",
                   "runner-up": "every digit towards its runner-up class"}.get(rule, f"every digit towards class {rule}")
    sections = [{"title": "Counterfactuals: every method on the same digits", "figure": "counterfactuals/methods.png",
                 "text": f"Targets: {target_text}. A grey cell: the method found no valid counterfactual "
                         "within its budget. Raw arrays are in counterfactuals/counterfactuals.npz."}]
    if (directory / "summary.csv").is_file():
        sections.append({"title": "Counterfactual metrics per method", "text": SUMMARY_TEXT,
                         "table": ("counterfactuals/summary.csv", read_csv(directory / "summary.csv"))})
    for method in data["methods"]:
        sections.append({"title": f"Counterfactuals: {method}", "figure": f"counterfactuals/counterfactual_{method}.png"})
    return sections
