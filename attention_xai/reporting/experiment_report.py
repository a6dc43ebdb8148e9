"""Writes an experiment's report from its saved artifacts, without retraining.

    reports/<name>/index.html
    reports/<name>/training_curves.{png,pdf}, confusion_matrix.{png,pdf}
    reports/<name>/summary.csv, per_class_accuracy.csv
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from attention_xai.artifacts import ExperimentPaths, atomic_path, write_text
from attention_xai.errors import ArtifactError
from attention_xai.reporting.html import render_index
from attention_xai.reporting.training import plot_confusion_matrix, plot_training_curves


def read_metrics(paths: ExperimentPaths) -> dict:
    """metrics.json of a finished run; ArtifactError if there is none."""
    if not paths.metrics.is_file():
        raise ArtifactError(f"no trained model for {paths.name!r} ({paths.metrics} is missing); "
                            f"run `python -m attention_xai train {paths.name}` first")
    try:
        return json.loads(paths.metrics.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"cannot read {paths.metrics}: {exc}") from None


def read_history(paths: ExperimentPaths) -> list[dict]:
    if not paths.history.is_file():
        raise ArtifactError(f"{paths.history} is missing; retrain {paths.name!r}")
    return read_csv(paths.history)


def save_figure(fig: Figure, stem: Path) -> list[Path]:
    """PNG and PDF of a figure, each written atomically."""
    written = []
    for suffix in (".png", ".pdf"):
        target = stem.with_suffix(suffix)
        with atomic_path(target) as tmp:
            # No creation date in the PDF: the same artifacts redraw to the same bytes.
            fig.savefig(tmp, format=suffix[1:], dpi=130, metadata={"CreationDate": None} if suffix == ".pdf" else None)
        written.append(target)
    return written


def write_csv(path: Path, rows: list[dict]) -> None:
    out = io.StringIO()
    fields = list(dict.fromkeys(key for row in rows for key in row))  # every row's keys, first-seen order
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_text(path, out.getvalue())


def summary_rows(metrics: dict) -> list[dict]:
    config = metrics["config"]
    model = config["model"]
    return [{
        "experiment": metrics["experiment"],
        "backbone": model["backbone"],
        "attention": model["attention"],
        "weights": model["weights"] or "none (from scratch)",
        "image_size": model["image_size"],
        "test_accuracy": round(metrics["test_accuracy"], 5),
        "test_loss": round(metrics["test_loss"], 5),
        "test_size": metrics["test_size"],
        "params": metrics["params"]["total"],
        "epochs": metrics["epochs"],
        "best_epoch": metrics["best_epoch"] + 1,
        "train_seconds": metrics["train_seconds"],
        "seed": metrics["seed"],
    }]


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


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
     "Layers are randomised from the output down; Spearman correlation of |original map| with "
     "|randomised map|. A method whose maps do not change when every layer is random fails."),
    ("informativeness", "Does the attention map say anything?",
     "Per attention module and digit, at the module's own resolution: relative dynamic range (max - min) / max "
     "and normalised entropy (1: uniform). A map whose range is below 0.1 weighs every position within 10% of "
     "the others and is flagged uninformative: the grid marks it, and the agreement and sanity rows say so "
     "instead of quoting correlations of padding artefacts."),
    ("agreement", "Agreement with the model's own attention map",
     "Mean Spearman rank correlation between the attention module's spatial map and each method's |map|."),
)


def attribution_sections(directory: Path) -> list[dict]:
    """Report sections for the explain stage's results, if it ran."""
    if not (directory / "maps.npz").is_file():
        return []
    sections = [{"title": "Attribution maps (GOOD and BAD digits)", "figure": "attributions/attribution_grid.png",
                 "text": "Each map is min-max scaled to 0-1 and overlaid on its digit; raw maps are in "
                         "attributions/maps.npz."}]
    from attention_xai.reporting.attribution_report import describe_selection

    with np.load(directory / "maps.npz", allow_pickle=False) as f:
        selection = json.loads(str(f["selection"])) if "selection" in f.files else {}
    for stem, title, text in ATTRIBUTION_TABLES:
        text = text if text is not None else describe_selection(selection)
        path = directory / f"{stem}.csv"
        if path.is_file():
            sections.append({"title": title, "text": text, "table": (f"attributions/{stem}.csv", read_csv(path))})
    return sections


def write_training_report(paths: ExperimentPaths) -> Path:
    """Figures, tables and index.html for a trained experiment; returns the index path."""
    from attention_xai.reporting.counterfactual_report import counterfactual_sections  # it imports this module

    metrics, history = read_metrics(paths), read_history(paths)
    out = paths.report_dir
    out.mkdir(parents=True, exist_ok=True)
    summary = summary_rows(metrics)
    per_class = [{"class": k, "accuracy": round(a, 5), "test_digits": sum(row)}
                 for k, (a, row) in enumerate(zip(metrics["per_class_accuracy"], metrics["confusion_matrix"]))]
    write_csv(out / "summary.csv", summary)
    write_csv(out / "per_class_accuracy.csv", per_class)
    save_figure(plot_training_curves(history, title=paths.name), out / "training_curves")
    save_figure(plot_confusion_matrix(metrics["confusion_matrix"],
                                      title=f"{paths.name}: test confusion matrix"), out / "confusion_matrix")
    headline = [(key, value) for key, value in summary[0].items()]
    headline.append(("data", metrics.get("data_source", "")))
    headline.append(("versions", ", ".join(f"{k} {v}" for k, v in metrics.get("versions", {}).items())))
    page = render_index(f"attention_xai report: {paths.name}", headline, [
        {"title": "Training curves", "figure": "training_curves.png",
         "text": "Per epoch: training loss/accuracy (with augmentation) and validation loss/accuracy "
                 "(held-out training digits, no augmentation). The exported model is the epoch "
                 "with the lowest validation loss."},
        {"title": "Confusion matrix (test set)", "figure": "confusion_matrix.png"},
        {"title": "Per-class accuracy (test set)", "table": ("per_class_accuracy.csv", per_class)},
        {"title": "Summary", "table": ("summary.csv", summary)},
        *attribution_sections(out / "attributions"),
        *counterfactual_sections(out / "counterfactuals"),
    ])
    index = out / "index.html"
    write_text(index, page)
    return index
