"""Writes the explain stage's results under reports/<name>/attributions/.

    maps.npz                  digits, sample info and every method's raw maps (+ params)
    attribution_grid.{png,pdf}
    samples.csv, faithfulness.csv, sanity.csv, agreement.csv

The grid can be redrawn from maps.npz alone (`redraw_attribution_grid`), without
recomputing any map.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from attention_xai.artifacts import atomic_path
from attention_xai.errors import ArtifactError
from attention_xai.explain.analysis import Analysis
from attention_xai.explain.base import Explanation
from attention_xai.reporting.attribution import plot_attribution_grid
from attention_xai.reporting.experiment_report import save_figure, write_csv

GRID = "attribution_grid"


def row_titles(kind, labels, predictions, confidence) -> list[str]:
    titles = []
    for k, label, pred, conf in zip(kind, labels, predictions, confidence):
        truth = f"true {label}  " if label >= 0 else ""
        titles.append(f"{k}  {truth}pred {pred} ({conf:.2f})")
    return titles


def write_attribution_report(analysis: Analysis, out_dir: Path) -> list[Path]:
    """Raw maps, the grid figure and the metric tables; returns the written paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    s = analysis.samples
    arrays = {"images": analysis.images, "indices": s.indices, "kind": s.kind, "labels": s.labels,
              "predictions": s.predictions, "confidence": s.confidence,
              "methods": np.array([e.method for e in analysis.explanations]),
              "selection": np.array(json.dumps(dict(analysis.selection)))}
    for e in analysis.explanations:
        arrays[f"maps_{e.method}"] = e.maps
        arrays[f"targets_{e.method}"] = e.targets
        arrays[f"params_{e.method}"] = np.array(json.dumps(dict(e.params), default=str))
        arrays[f"cost_{e.method}"] = np.array([e.seconds, e.forward_passes, e.gradient_passes])
    written = [out_dir / "maps.npz"]
    with atomic_path(written[0]) as tmp:
        np.savez_compressed(tmp, **arrays)
    written += redraw_attribution_grid(out_dir)
    samples = [{"row": i, "kind": k, "test_index": int(idx), "true": int(l), "predicted": int(p),
                "confidence": round(float(c), 5)}
               for i, (k, idx, l, p, c) in enumerate(zip(s.kind, s.indices, s.labels, s.predictions, s.confidence))]
    for name, rows in (("samples", samples), ("faithfulness", analysis.faithfulness), ("sanity", analysis.sanity),
                       ("informativeness", analysis.informativeness), ("agreement", analysis.agreement)):
        if rows:
            write_csv(out_dir / f"{name}.csv", rows)
            written.append(out_dir / f"{name}.csv")
    return written


def load_explanations(out_dir: Path) -> tuple[dict, list[Explanation]]:
    """Reads maps.npz back: (sample arrays, explanations)."""
    path = out_dir / "maps.npz"
    if not path.is_file():
        raise ArtifactError(f"{path} is missing; run the explain stage first")
    with np.load(path, allow_pickle=False) as f:
        data = {k: f[k] for k in f.files}
    explanations = [Explanation(method=str(m), maps=data[f"maps_{m}"], targets=data[f"targets_{m}"],
                                params=json.loads(str(data[f"params_{m}"])), seconds=float(data[f"cost_{m}"][0]),
                                forward_passes=int(data[f"cost_{m}"][1]), gradient_passes=int(data[f"cost_{m}"][2]))
                    for m in data["methods"]]
    return data, explanations


def redraw_attribution_grid(out_dir: Path) -> list[Path]:
    """The grid figure from maps.npz (PNG and PDF)."""
    data, explanations = load_explanations(out_dir)
    titles = row_titles(data["kind"], data["labels"], data["predictions"], data["confidence"])
    return save_figure(plot_attribution_grid(data["images"], explanations, titles), out_dir / GRID)


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
    target = {"predicted": "the class the model predicts", "true": "the true class"}[selection.get("target", "predicted")]
    return f"{how}{per_class}. Maps explain {target}."
