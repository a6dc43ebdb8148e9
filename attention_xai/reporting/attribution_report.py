"""Writes the explain stage's results under reports/<name>/attributions/.

    maps.npz                  digits, sample info and every method's raw maps (+ params)
    attribution_grid.{png,pdf}
    samples.csv, faithfulness.csv, sanity.csv, agreement.csv

maps.npz holds everything the figure and tables are drawn from (the metric tables as
JSON, since they need the model); `redraw_attribution_report` rebuilds them from it alone.
An experiment keeps maps.npz with its model (saved_models/<name>/attributions/), so that
reports/ can be deleted and rebuilt.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from attention_xai.artifacts import atomic_path
from attention_xai.explain.analysis import Analysis
from attention_xai.explain.base import Explanation
from attention_xai.reporting.attribution import plot_attribution_grid
from attention_xai.reporting.writing import load_npz, read_csv, save_figure, write_csv

GRID = "attribution_grid"


def row_titles(kind, labels, predictions, confidence) -> list[str]:
    titles = []
    for k, label, pred, conf in zip(kind, labels, predictions, confidence):
        truth = f"true {label}  " if label >= 0 else ""
        titles.append(f"{k}  {truth}pred {pred} ({conf:.2f})")
    return titles


TABLES = ("samples", "faithfulness", "sanity", "informativeness", "agreement")


def write_attribution_report(analysis: Analysis, out_dir: Path, arrays_dir: Path | None = None) -> list[Path]:
    """maps.npz (raw maps, costs, parameters and every metric table) in `arrays_dir`
    (default `out_dir`), then the grid and the CSV tables drawn from it in `out_dir`;
    returns the written paths."""
    arrays_dir = Path(arrays_dir or out_dir)
    s = analysis.samples
    samples = [{"row": i, "kind": k, "test_index": int(idx), "true": int(label), "predicted": int(p),
                "confidence": round(float(c), 5)}
               for i, (k, idx, label, p, c) in enumerate(zip(s.kind, s.indices, s.labels, s.predictions, s.confidence))]
    tables = {"samples": samples, "faithfulness": analysis.faithfulness, "sanity": analysis.sanity,
              "informativeness": analysis.informativeness, "agreement": analysis.agreement}
    arrays = {"images": analysis.images, "indices": s.indices, "kind": s.kind, "labels": s.labels,
              "predictions": s.predictions, "confidence": s.confidence,
              "methods": np.array([e.method for e in analysis.explanations]),
              "selection": np.array(json.dumps(dict(analysis.selection))),
              "tables": np.array(json.dumps(tables, default=plain))}
    for e in analysis.explanations:
        arrays[f"maps_{e.method}"] = e.maps
        arrays[f"targets_{e.method}"] = e.targets
        arrays[f"params_{e.method}"] = np.array(json.dumps(dict(e.params), default=str))
        arrays[f"cost_{e.method}"] = np.array([e.seconds, e.forward_passes, e.gradient_passes])
    written = [arrays_dir / "maps.npz"]
    with atomic_path(written[0]) as tmp:
        np.savez_compressed(tmp, **arrays)
    return written + redraw_attribution_report(arrays_dir, out_dir)


def plain(value):
    """JSON for numpy scalars in metric rows."""
    return value.item() if hasattr(value, "item") else str(value)


def redraw_attribution_report(arrays_dir: Path, out_dir: Path | None = None) -> list[Path]:
    """The grid figure and the metric tables, from maps.npz in `arrays_dir` alone, into
    `out_dir` (default `arrays_dir`)."""
    out_dir = Path(out_dir or arrays_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    data, explanations = load_explanations(arrays_dir)
    titles = row_titles(data["kind"], data["labels"], data["predictions"], data["confidence"])
    written = save_figure(plot_attribution_grid(data["images"], explanations, titles), out_dir / GRID)
    tables = json.loads(str(data["tables"])) if "tables" in data else {}
    for name in TABLES:
        if tables.get(name):
            write_csv(out_dir / f"{name}.csv", tables[name])
            written.append(out_dir / f"{name}.csv")
    return written


def load_explanations(out_dir: Path) -> tuple[dict, list[Explanation]]:
    """Reads maps.npz back: (sample arrays, explanations)."""
    data = load_npz(out_dir / "maps.npz", "; make it with `python -m attention_xai explain`")
    explanations = [Explanation(method=str(m), maps=data[f"maps_{m}"], targets=data[f"targets_{m}"],
                                params=json.loads(str(data[f"params_{m}"])), seconds=float(data[f"cost_{m}"][0]),
                                forward_passes=int(data[f"cost_{m}"][1]), gradient_passes=int(data[f"cost_{m}"][2]))
                    for m in data["methods"]]
    return data, explanations


def describe_selection(selection: dict) -> str:
    """One sentence on how the explained digits were chosen and what the maps explain."""
    if not selection:
        return "Explained digits (how they were chosen was not recorded)."
    if selection.get("own_images"):
        return "Your own images, every one, explained towards the class the model predicts for it."
    how = {"confident": "GOOD: the most confident correct test digits; BAD: the most confidently "
                        "misclassified ones",
           "random": "GOOD and BAD test digits drawn at random (seeded)"}[selection.get("rule", "confident")]
    per_class = ", chosen per true class" if selection.get("per_class") else ""
    targets = {"predicted": "the class the model predicts", "true": "the true class"}
    target = targets[selection.get("target", "predicted")]
    return f"{how}{per_class}. Maps explain {target}."


ATTRIBUTION_TABLES = (
    ("samples", "Explained digits", None),  # the text says how they were chosen (maps.npz records it)
    ("faithfulness", "How faithful is each map",
     "Deletion AUC (lower is better) and insertion AUC (higher is better): target probability while "
     "pixels are removed from the digit (set to 0) or added to a black canvas, ranked by the map's "
     "signed value, most important first, in 28 steps of 28 pixels. Average Drop (lower is better) and "
     "Increase in Confidence (higher is better) of the digit multiplied by the positive part of its map "
     "(divided by the map's maximum). Gini: sparseness of |map|. Cost: wall time and single-image model "
     "passes per digit."),
    ("sanity", "Sanity check: model-parameter randomization",
     "Layers are re-initialised from the output down; Spearman correlation of |original map| with "
     "|randomised map|. A method whose maps do not change when every layer is random fails. Output spread: "
     "how much the randomised model's answer still depends on its input (std of its log-probability ratios "
     "over the digits and their negatives); below 1e-3 it answers the same for everything, its maps prove "
     "nothing, and a low correlation is 'inconclusive' rather than a pass."),
    ("informativeness", "Does the attention map say anything?",
     "Per attention module and digit, at the module's own resolution: relative dynamic range (max - min) / max "
     "and normalised entropy (1: uniform). A map whose range is below 0.1 weighs every position within 10% of "
     "the others and is flagged uninformative: the grid marks it, and the agreement and sanity rows say so "
     "instead of quoting correlations of padding artefacts."),
    ("agreement", "Agreement with the model's own attention map",
     "Mean Spearman rank correlation between the attention module's spatial map and each method's |map|."),
)


def attribution_sections(directory: Path, arrays_dir: Path | None = None) -> list[dict]:
    """Report sections for the explain stage's results in `directory` (its maps.npz in
    `arrays_dir`, default `directory`), if it ran."""
    arrays_dir = Path(arrays_dir or directory)
    if not (arrays_dir / "maps.npz").is_file():
        return []
    sections = [{"title": "Attribution maps (GOOD and BAD digits)", "figure": "attributions/attribution_grid.png",
                 "text": "Each map is min-max scaled to 0-1 and overlaid on its digit; raw maps are in "
                         "attributions/maps.npz."}]
    data, _ = load_explanations(arrays_dir)
    selection = json.loads(str(data["selection"])) if "selection" in data else {}
    for stem, title, text in ATTRIBUTION_TABLES:
        text = text if text is not None else describe_selection(selection)
        path = directory / f"{stem}.csv"
        if path.is_file():
            sections.append({"title": title, "text": text, "table": (f"attributions/{stem}.csv", read_csv(path))})
    return sections


def attribution_provenance(arrays_dir: Path, shown_as: str) -> dict[str, dict]:
    """For the manifest: the grid figures, the arrays they come from (`shown_as`: how to
    name the folder) and every method's parameters."""
    if not (arrays_dir / "maps.npz").is_file():
        return {}
    _, explanations = load_explanations(arrays_dir)
    entry = {"source": [f"{shown_as}/maps.npz"], "methods": {e.method: dict(e.params) for e in explanations}}
    return {f"attributions/{GRID}.{ext}": entry for ext in ("png", "pdf")}
