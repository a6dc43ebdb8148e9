"""The counterfactual stage's report under reports/<name>/counterfactuals/, drawn from its
saved result (counterfactuals.npz, `CounterfactualAnalysis.save`: digits, targets, and per
method its counterfactuals, validity, classes, distances, passes, seconds, params; the
attribution maps the overlap columns compare with):

    per_digit.csv, summary.csv    every metric per digit, and per method
    methods.{png,pdf}             every method on the same digits (the judges' verdict under each name)
    bad_digits.{png,pdf}          misclassified digits: attribution map | accepted counterfactual | change
    counterfactual_<method>.{png,pdf}  original | counterfactual | change | Grad-CAM

counterfactuals.npz holds everything the tables and figures are drawn from (the metric
tables as JSON, since they need the model and autoencoders); `redraw_counterfactual_report`
rebuilds them from it alone. An experiment keeps it with its model
(saved_models/<name>/counterfactuals/), so that reports/ can be deleted and rebuilt; this
module only reads it.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from attention_xai.evaluate.counterfactual import L0_THRESHOLD
from attention_xai.explain.base import normalize_maps
from attention_xai.explain.results_file import load_arrays
from attention_xai.reporting.attributions import row_titles
from attention_xai.plots.counterfactual import plot_bad_digits, plot_counterfactual_rows, plot_method_grid
from attention_xai.reporting.writing import read_csv, save_figure, write_csv

ARRAYS = "counterfactuals.npz"
PER_METHOD = ("counterfactuals", "valid", "cf_class", "cf_confidence", "forward_passes", "gradient_passes",
              "seconds", "l0", "l1", "l2", "linf")


def load_counterfactual_arrays(arrays_dir: Path) -> dict:
    """counterfactuals.npz (`CounterfactualAnalysis.save`) as a dict of arrays; ArtifactError
    if missing, unreadable or of another schema."""
    return load_arrays(Path(arrays_dir) / ARRAYS, "counterfactual_analysis")


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
    summary = {row["method"]: row for row in tables.get("summary", [])}
    for method in data["methods"]:
        r = {key: data[f"{key}_{method}"] for key in PER_METHOD}
        row = summary.get(str(method), {})
        r["method"], r["verdict"] = str(method), row.get("verdict")
        agreement = [v for k, v in row.items() if k.startswith("judge_") and k.endswith("_agrees") and v is not None]
        r["agreement"] = min(agreement) if agreement else -1.0
        r["judged"] = _judged(tables.get("per_digit", []), str(method), len(data["images"]))
        results.append(r)
        fig = plot_counterfactual_rows(data["images"], r["counterfactuals"], r["valid"], r["cf_class"],
                                       r["cf_confidence"], titles, cam=cam,
                                       method=str(method) + (f" ({r['verdict']})" if r["verdict"] else ""))
        written += save_figure(fig, out_dir / f"counterfactual_{method}")
    if results:
        results = lead_with_accepted(results)
        written += save_figure(plot_method_grid(data["images"], results, titles), out_dir / "methods")
        bad = np.flatnonzero(data["kind"] == "BAD")
        shown = results[0]
        if len(bad) and cam is not None:
            fig = plot_bad_digits(data["images"][bad], cam[bad], "Grad-CAM", shown["counterfactuals"][bad],
                                  shown["valid"][bad], shown["cf_class"][bad], [titles[i] for i in bad],
                                  shown["method"], shown["verdict"] or "no judges recorded")
            written += save_figure(fig, out_dir / "bad_digits")
    return written


def lead_with_accepted(results: list[dict]) -> list[dict]:
    """Methods by their least convinced judge's agreement, highest first (the accepted ones
    lead); the given order among equals and where no judges were recorded."""
    return sorted(results, key=lambda r: -r.get("agreement", -1.0))


def _judged(per_digit: list[dict], method: str, n: int) -> list[str] | None:
    """Per digit, the judges' classes of the counterfactual ("judges 9 9"), or None without judges."""
    rows = sorted((r for r in per_digit if r["method"] == method), key=lambda r: r["row"])
    columns = [key for key in (rows[0] if rows else {}) if key.startswith("judge_") and key.endswith("_class")]
    if len(rows) != n or not columns:
        return None
    return ["judges " + " ".join(str(r[c]) for c in columns) for r in rows]


SUMMARY_TEXT = (
    "Per method, over the same digits: validity (share of digits whose counterfactual the model puts in "
    "the target class, re-predicted from the saved counterfactual), then means over the valid ones: L0 "
    f"(pixels changed by more than half a grey level, {L0_THRESHOLD:.4f}), L1, L2 (not squared), Linf; "
    "IM1 and IM2 (Van Looveren and Klaise; autoencoder reconstruction ratios, lower is more plausible); "
    "yNN (share of the 5 nearest training digits the model puts in the target class); overlap_<method> "
    "(share of the L0 most-changed pixels that are also among that attribution method's top-L0 pixels of "
    "the original digit; chance is about L0/784); model passes and seconds per digit. "
    "COUT (Jeanneret et al. 2022): the change's pixels inserted into the digit in order of size, 50 steps; "
    "area under the model's target probability minus area under its original-class probability, in [-1, 1] "
    "(high: the largest changes carry the decision). judge_<name>_agrees: share of the valid counterfactuals "
    "that an independent classifier, which took no part in any search, puts in the target class (the oracle "
    "score of Hvilshoej et al. 2021); judge_<name>_keeps: share it still puts in the original class. "
    "verdict: 'accepted by the judges' when every judge agrees on at least 90%; "
    "'adversarial: judges keep the original class' when every judge keeps most of them in the original "
    "class: such changes flip only the model they were searched on.")


def counterfactual_sections(directory: Path, arrays_dir: Path | None = None) -> list[dict]:
    """Report sections for the counterfactual stage's results in `directory` (its arrays in
    `arrays_dir`, default `directory`), if it ran."""
    arrays_dir = Path(arrays_dir or directory)
    if not (arrays_dir / ARRAYS).is_file():
        return []
    data = load_counterfactual_arrays(arrays_dir)
    rule = str(data["target_rule"])
    rules = {"auto": "BAD digits towards their true class, GOOD ones towards the runner-up class",
             "true": "every digit towards its true class",
             "runner-up": "every digit towards its runner-up class"}
    target_text = rules.get(rule, f"every digit towards class {rule}")
    sections = [{"title": "Counterfactuals: every method on the same digits", "figure": "counterfactuals/methods.png",
                 "text": f"Targets: {target_text}. A grey cell: the method found no valid counterfactual "
                         "within its budget. Raw arrays are in counterfactuals/counterfactuals.npz."}]
    if (directory / "bad_digits.png").is_file():
        sections.append({"title": "Misclassified digits: where the model looked, and what had to change",
                         "figure": "counterfactuals/bad_digits.png",
                         "text": "Each misclassified digit with the Grad-CAM map of the original, and the "
                                 "counterfactual (towards its true class) of the first method the judges accept "
                                 "(when none is accepted: the method whose least convinced judge agrees most often, "
                                 "labelled with the judges' verdict); the changed pixels are outlined on the map."})
    if (directory / "summary.csv").is_file():
        sections.append({"title": "Counterfactual metrics per method", "text": SUMMARY_TEXT,
                         "table": ("counterfactuals/summary.csv", read_csv(directory / "summary.csv"))})
    for method in data["methods"]:
        sections.append({"title": f"Counterfactuals: {method}",
                         "figure": f"counterfactuals/counterfactual_{method}.png"})
    return sections


def counterfactual_provenance(arrays_dir: Path, shown_as: str) -> dict[str, dict]:
    """For the manifest: each counterfactual figure, its arrays (`shown_as`: how to name
    their folder) and the methods' parameters."""
    if not (arrays_dir / ARRAYS).is_file():
        return {}
    data = load_counterfactual_arrays(arrays_dir)
    params = {str(m): json.loads(str(data[f"params_{m}"])) for m in data["methods"]}
    figures = {}
    stems = [("methods", params), *((f"counterfactual_{m}", {m: p}) for m, p in params.items())]
    if "map_gradcam" in data and (data["kind"] == "BAD").any():
        stems.append(("bad_digits", params))
    for stem, methods in stems:
        for ext in ("png", "pdf"):
            figures[f"counterfactuals/{stem}.{ext}"] = {"source": [f"{shown_as}/{ARRAYS}"], "methods": methods,
                                                       "target_rule": str(data["target_rule"])}
    return figures
