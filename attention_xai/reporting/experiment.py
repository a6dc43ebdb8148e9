"""The training report of one experiment, and its page, from saved artifacts only.

    reports/<name>/index.html          every section: training, attributions, counterfactuals
    reports/<name>/training_curves.{png,pdf}, confusion_matrix.{png,pdf}
    reports/<name>/summary.csv, per_class_accuracy.csv
    reports/<name>/manifest.json       what each figure was drawn from (model hash, seed,
                                       library versions, method parameters)
"""

from __future__ import annotations

from pathlib import Path

from attention_xai.artifacts import ExperimentPaths, file_sha256, write_json, write_text
from attention_xai.errors import ArtifactError
from attention_xai.reporting.html import render_index
from attention_xai.plots.training import plot_confusion_matrix, plot_training_curves
from attention_xai.reporting.writing import read_csv, read_json, save_figure, write_csv

METRICS_KEYS = ("experiment", "test_accuracy", "test_loss", "test_size", "per_class_accuracy", "confusion_matrix",
                "params", "train_seconds", "epochs", "best_epoch", "seed", "config")
HISTORY_COLUMNS = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "learning_rate")


def _retrain(name: str) -> str:
    return f"; make it again with `python -m attention_xai train {name}`"


def read_metrics(paths: ExperimentPaths) -> dict:
    """metrics.json of a finished run; ArtifactError if there is none, or it is unreadable
    or of an older format."""
    if not paths.metrics.is_file():
        raise ArtifactError(f"no artifacts for {paths.name!r} ({paths.metrics} is missing); "
                            f"make them with `python -m attention_xai train {paths.name}`")
    return read_json(paths.metrics, METRICS_KEYS, _retrain(paths.name))


def read_history(paths: ExperimentPaths) -> list[dict]:
    if not paths.history.is_file():
        raise ArtifactError(f"{paths.history} is missing{_retrain(paths.name)}")
    return read_csv(paths.history, HISTORY_COLUMNS)


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
        "train_digits_per_second": train_speed(metrics),
        "seed": metrics["seed"],
    }]


def train_speed(metrics: dict) -> float | None:
    """Training digits per second over the whole run, validation passes included (the
    figure a researcher plans a run with); None for a record without the sizes."""
    size, epochs, seconds = metrics.get("train_size"), metrics.get("epochs"), metrics.get("train_seconds")
    if not (size and epochs and seconds):
        return None
    return round(size * epochs / seconds, 1)


def write_experiment_page(paths: ExperimentPaths) -> Path:
    """Figures, tables and index.html for a trained experiment; returns the index path."""
    from attention_xai.reporting.attributions import attribution_sections
    from attention_xai.reporting.counterfactuals import counterfactual_sections

    metrics, history = read_metrics(paths), read_history(paths)
    out = paths.report_dir
    out.mkdir(parents=True, exist_ok=True)
    summary = summary_rows(metrics)
    per_class = [{"class": k, "accuracy": round(a, 5), "test_digits": sum(row)}
                 for k, (a, row) in enumerate(zip(metrics["per_class_accuracy"], metrics["confusion_matrix"]))]
    write_csv(out / "summary.csv", summary)
    write_csv(out / "per_class_accuracy.csv", per_class)
    checks = metrics.get("config", {}).get("training", {}).get("checks_per_epoch", 1)
    save_figure(plot_training_curves(history, title=paths.name, checks_per_epoch=checks), out / "training_curves")
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
        *attribution_sections(out / "attributions", paths.stage_arrays("attributions")),
        *counterfactual_sections(out / "counterfactuals", paths.stage_arrays("counterfactuals")),
    ])
    write_json(out / "manifest.json", manifest(paths, metrics))
    index = out / "index.html"
    write_text(index, page)
    return index


def manifest(paths: ExperimentPaths, metrics: dict) -> dict:
    """Per figure of the experiment's report: the model file's SHA-256 (as recorded at
    export, else of the file now there), the seed, library versions, and the parameters of
    the methods it shows, so any figure can be traced back to what made it."""
    from attention_xai.reporting.attributions import attribution_provenance
    from attention_xai.reporting.counterfactuals import counterfactual_provenance

    base = {"experiment": paths.name, "model": "/".join(paths.model.parts[-3:]),
            "model_sha256": metrics.get("model_sha256") or file_sha256(paths.model),
            "seed": metrics["seed"], "versions": metrics.get("versions", {})}
    figures = {f"{stem}.{ext}": {**base, "source": ["metrics.json", "history.csv"] if stem == "training_curves"
                                 else ["metrics.json"]}
               for stem in ("training_curves", "confusion_matrix") for ext in ("png", "pdf")}
    def shown(folder: Path) -> str:  # saved_models/<name>/<stage>: no machine paths in artifacts
        return "/".join(folder.parts[-3:])

    attributions, counterfactuals = paths.stage_arrays("attributions"), paths.stage_arrays("counterfactuals")
    for figure, extra in {**attribution_provenance(attributions, shown(attributions)),
                          **counterfactual_provenance(counterfactuals, shown(counterfactuals))}.items():
        figures[figure] = {**base, **extra}
    return {"figures": figures}
