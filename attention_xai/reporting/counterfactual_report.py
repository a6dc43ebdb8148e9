"""Writes the counterfactual stage's results under reports/<name>/counterfactuals/.

    counterfactuals.npz           digits, targets, and per method its counterfactuals,
                                  validity, classes, distances, queries, seconds, params;
                                  the attribution maps the overlap columns compare with
    per_digit.csv, summary.csv    every metric per digit, and per method
    methods.{png,pdf}             every method on the same digits
    counterfactual_<method>.{png,pdf}  original | counterfactual | change | Grad-CAM

counterfactuals.npz holds everything the tables and figures are drawn from (the metric
tables as JSON, since they need the model and autoencoders); `redraw_counterfactual_report`
rebuilds them from it alone. An experiment keeps it with its model
(saved_models/<name>/counterfactuals/), so that reports/ can be deleted and rebuilt.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from attention_xai.artifacts import atomic_path
from attention_xai.evaluate.counterfactual import L0_THRESHOLD, distances
from attention_xai.explain.base import normalize_maps
from attention_xai.explain.counterfactual.analysis import CounterfactualAnalysis
from attention_xai.reporting.attribution_report import plain, row_titles
from attention_xai.reporting.counterfactual import plot_counterfactual_rows, plot_method_grid
from attention_xai.reporting.writing import load_npz, read_csv, save_figure, write_csv

ARRAYS = "counterfactuals.npz"
PER_METHOD = ("counterfactuals", "valid", "cf_class", "cf_confidence", "forward_queries", "gradient_queries",
              "seconds", "l0", "l1", "l2", "linf")


def write_counterfactual_report(analysis: CounterfactualAnalysis, out_dir: Path,
                                arrays_dir: Path | None = None) -> list[Path]:
    """counterfactuals.npz (every array, parameter and metric table) in `arrays_dir`
    (default `out_dir`), then the tables and figures drawn from it in `out_dir`; returns the
    written paths."""
    arrays_dir = Path(arrays_dir or out_dir)
    s = analysis.samples
    tables = {"per_digit": analysis.per_digit, "summary": analysis.summary}
    arrays = {"images": analysis.images, "indices": s.indices, "kind": s.kind, "labels": s.labels,
              "predictions": s.predictions, "confidence": s.confidence, "targets": analysis.targets,
              "target_rule": np.array(analysis.target_rule), "l0_threshold": np.array(L0_THRESHOLD),
              "methods": np.array([r.method for r in analysis.results]),
              "attribution_methods": np.array([e.method for e in analysis.attributions], dtype=str),
              "tables": np.array(json.dumps(tables, default=plain))}
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
    written = [arrays_dir / ARRAYS]
    with atomic_path(written[0]) as tmp:
        np.savez_compressed(tmp, **arrays)
    return written + redraw_counterfactual_report(arrays_dir, out_dir)


def load_counterfactual_arrays(out_dir: Path) -> dict:
    """counterfactuals.npz as a dict; ArtifactError if missing or unreadable."""
    return load_npz(out_dir / ARRAYS, "; make it with `python -m attention_xai counterfactual`")


def _titles(data) -> list[str]:
    base = row_titles(data["kind"], data["labels"], data["predictions"], data["confidence"])
    return [f"{t}\ntarget {target}" for t, target in zip(base, data["targets"])]


def redraw_counterfactual_report(arrays_dir: Path, out_dir: Path | None = None) -> list[Path]:
    """Every table and figure (PNG and PDF) from counterfactuals.npz in `arrays_dir` alone,
    into `out_dir` (default `arrays_dir`)."""
    out_dir = Path(out_dir or arrays_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    data = load_counterfactual_arrays(arrays_dir)
    titles = _titles(data)
    cam = normalize_maps(data["map_gradcam"]) if "map_gradcam" in data else None
    results, written = [], []
    tables = json.loads(str(data["tables"])) if "tables" in data else {}
    for name in ("per_digit", "summary"):
        if tables.get(name):
            write_csv(out_dir / f"{name}.csv", tables[name])
            written.append(out_dir / f"{name}.csv")
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


def counterfactual_sections(directory: Path, arrays_dir: Path | None = None) -> list[dict]:
    """Report sections for the counterfactual stage's results in `directory` (its arrays in
    `arrays_dir`, default `directory`), if it ran."""
    arrays_dir = Path(arrays_dir or directory)
    if not (arrays_dir / ARRAYS).is_file():
        return []
    data = load_counterfactual_arrays(arrays_dir)
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


def counterfactual_provenance(arrays_dir: Path, shown_as: str) -> dict[str, dict]:
    """For the manifest: each counterfactual figure, its arrays (`shown_as`: how to name
    their folder) and the methods' parameters."""
    if not (arrays_dir / ARRAYS).is_file():
        return {}
    data = load_counterfactual_arrays(arrays_dir)
    params = {str(m): json.loads(str(data[f"params_{m}"])) for m in data["methods"]}
    figures = {}
    for stem, methods in [("methods", params), *((f"counterfactual_{m}", {m: p}) for m, p in params.items())]:
        for ext in ("png", "pdf"):
            figures[f"counterfactuals/{stem}.{ext}"] = {"source": [f"{shown_as}/{ARRAYS}"], "methods": methods,
                                                       "target_rule": str(data["target_rule"])}
    return figures
