"""The cross-experiment comparison, reports/index.html, from every experiment's saved
artifacts (metrics.json and the CSV tables its report wrote).

    reports/index.html
    reports/comparison/{accuracy,faithfulness_cost,sanity,counterfactual_judges}.{png,pdf}
    reports/comparison/models.csv           accuracy, loss, parameters, training time
    reports/comparison/attributions.csv     each method's faithfulness, sanity and cost
    reports/comparison/attention.csv        each attention map's informativeness and faithfulness
    reports/comparison/counterfactuals.csv  each counterfactual method's validity, distance, plausibility, cost

Experiments whose configs differ only in name, seed and description are one model
(`quick` and the ablation's `ablation_cbam-seed<k>` are the same protocol); their numbers
are shown as mean +- sample standard deviation over the distinct seeds present, with the count.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from attention_xai.artifacts import ExperimentPaths, write_text
from attention_xai.reporting.html import duration, number, render_index
from attention_xai.reporting.experiment import read_metrics, train_speed
from attention_xai.reporting.writing import read_csv, save_figure, write_csv

COMPARISON_DIR = "comparison"

# The seed studies' test accuracies (224x224 RGB, ImageNet-pretrained), by (backbone, attention).
SEED_STUDY = {
    ("ResNet50", "cbam"): (0.989, "ResNet50 + CBAM, fine-tuned"),
    ("EfficientNetB0", "cbam"): (0.9705, "EfficientNetB0 + CBAM, fine-tuned"),
    ("MobileNetV2", "cbam"): (0.976, "MobileNetV2 + CBAM, fine-tuned"),
    ("DenseNet121", "none"): (0.9614, "DenseNet121, frozen backbone, linear head"),
}


@dataclass
class Record:
    """One experiment's artifacts, read back."""

    name: str
    metrics: dict
    report_dir: Path

    def table(self, relative: str) -> list[dict]:
        path = self.report_dir / relative
        return read_csv(path) if path.is_file() else []


@dataclass
class Group:
    """Experiments with the same config but for name, seed and description."""

    label: str
    records: list[Record] = field(default_factory=list)

    @property
    def config(self) -> dict:
        return self.records[0].metrics["config"]

    @property
    def seeds(self) -> list[int]:
        return [r.metrics["seed"] for r in self.records]


def _protocol(config: dict) -> str:
    from attention_xai.config import ExperimentConfig

    try:
        return json.dumps(ExperimentConfig.protocol(config), sort_keys=True)
    except Exception:  # an unreadable config is its own protocol
        return json.dumps({k: v for k, v in config.items() if k not in ("name", "seed", "description")}, sort_keys=True)


def group_records(records: list[Record]) -> list[Group]:
    """Records grouped by protocol, one record per distinct seed (the first name in sorted
    order wins), groups in order of their first name."""
    by_protocol: dict[str, list[Record]] = {}
    for record in sorted(records, key=lambda r: r.name):
        by_protocol.setdefault(_protocol(record.metrics["config"]), []).append(record)
    groups = []
    for members in by_protocol.values():
        kept, seen = [], set()
        for record in members:
            if record.metrics["seed"] not in seen:
                seen.add(record.metrics["seed"])
                kept.append(record)
        bases = dict.fromkeys(re.sub(r"-seed\d+$", "", r.name) for r in members)
        groups.append(Group(" = ".join(bases), kept))
    return sorted(groups, key=lambda g: g.label)


def stats(values) -> tuple[float, float, int]:
    """(mean, sample standard deviation (0 for one value), count) of the finite values."""
    values = np.array([float(v) for v in values if v not in (None, "")], dtype=float)
    values = values[np.isfinite(values)]
    if not len(values):
        return float("nan"), float("nan"), 0
    return float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else 0.0, len(values)


def shown(values, scale: float = 1.0, digits: int = 4, unit: str | None = None) -> str:
    """'mean ± std (n)' for people: `digits` significant digits for the mean, 2 for the
    spread, no exponents; unit "duration" writes seconds as ms, s, min or h."""
    mean, std, n = stats(values)
    if n == 0:
        return "n/a"

    def write(value, places):
        return duration(value * scale, places) if unit == "duration" else number(value * scale, places)

    return write(mean, digits) if n == 1 else f"{write(mean, digits)} ± {write(std, 2)} (n={n})"


def _numbers(prefix: str, values) -> dict:
    mean, std, _ = stats(values)
    return {f"{prefix}_mean": round(mean, 6), f"{prefix}_std": round(std, 6)}


def _all_numbers(columns: dict) -> dict:
    """`<name>_mean` and `<name>_std` of every column, for the CSV rows."""
    return {k: v for name, values in columns.items() for k, v in _numbers(name, values).items()}


def model_rows(groups: list[Group]) -> tuple[list[dict], list[dict]]:
    """(CSV rows, page rows): one per protocol."""
    csv_rows, page_rows = [], []
    for g in groups:
        model = g.config["model"]
        ms = [r.metrics for r in g.records]
        seed_study = SEED_STUDY.get((model["backbone"], model["attention"]))
        common = {"experiment": g.label, "backbone": model["backbone"], "attention": model["attention"],
                  "image_size": model["image_size"], "weights": model["weights"] or "none (from scratch)",
                  "seeds": " ".join(str(s) for s in sorted(g.seeds)), "n": len(ms)}
        columns = {"test_accuracy": [m["test_accuracy"] for m in ms], "test_loss": [m["test_loss"] for m in ms],
                   "train_seconds": [m["train_seconds"] for m in ms],
                   "train_digits_per_second": [train_speed(m) for m in ms]}
        csv_rows.append({**common, **_all_numbers(columns),
                         "params": ms[0]["params"]["total"], "train_digits": ms[0].get("train_size"),
                         "seed_study_accuracy": seed_study[0] if seed_study else ""})
        page_rows.append({**common, "test accuracy (%)": shown(columns["test_accuracy"], 100),
                          "test loss": shown(columns["test_loss"]), "parameters": f"{ms[0]['params']['total']:,}",
                          "training digits": ms[0].get("train_size", ""),
                          "train time": shown(columns["train_seconds"], digits=3, unit="duration"),
                          "training digits/s": shown(columns["train_digits_per_second"], digits=3),
                          "seed study (224x224, ImageNet)": f"{100 * seed_study[0]:.2f}% ({seed_study[1]})"
                          if seed_study else ""})
    return csv_rows, page_rows


def _verdicts(record: Record, column: str = "verdict") -> dict[str, str]:
    """Each method's sanity verdict (`column`: "verdict", or "emprt_verdict") with every
    layer randomised (its last row)."""
    verdicts = {}
    for row in record.table("attributions/sanity.csv"):
        # the verdict without its model-specific detail, so that models can be counted together
        verdicts[row["method"]] = (row.get(column) or "not measured").split(" (")[0]
    return verdicts


def _range(values) -> str:
    """"8" or "8-100": how many digits each model's row measured."""
    counts = sorted({int(float(v)) for v in values if v not in (None, "")})
    return "n/a" if not counts else str(counts[0]) if len(counts) == 1 else f"{counts[0]}-{counts[-1]}"


def _counted(got: list[str]) -> str:
    """Verdicts as "pass 2/3, FAIL 1/3" ("not run" for none)."""
    return ", ".join(f"{v} {got.count(v)}/{len(got)}" for v in dict.fromkeys(got)) if got else "not run"


def attribution_rows(groups: list[Group]) -> tuple[list[dict], list[dict]]:
    csv_rows, page_rows = [], []
    for g in groups:
        per_method: dict[str, list[dict]] = {}
        verdicts: dict[str, list[str]] = {}
        emprt: dict[str, list[str]] = {}
        for record in g.records:
            for row in record.table("attributions/faithfulness.csv"):
                per_method.setdefault(row["method"], []).append(row)
            for method, verdict in _verdicts(record).items():
                verdicts.setdefault(method, []).append(verdict)
            for method, verdict in _verdicts(record, "emprt_verdict").items():
                emprt.setdefault(method, []).append(verdict)
        for method, rows in per_method.items():
            sanity, emprt_sanity = _counted(verdicts.get(method, [])), _counted(emprt.get(method, []))
            columns = {key: [r.get(key) for r in rows] for key in
                       ("deletion_auc", "insertion_auc", "average_drop_pct", "gini", "max_sensitivity",
                        "local_lipschitz", "average_stability", "seconds_per_digit", "digits")}
            base = {"experiment": g.label, "method": method, "explains": rows[0].get("explains", ""), "n": len(rows),
                    "digits per model": _range(columns["digits"])}
            csv_rows.append({**base, **_all_numbers(columns), "sanity": sanity, "emprt": emprt_sanity})
            page_rows.append({**base, "deletion AUC (lower better)": shown(columns["deletion_auc"]),
                              "insertion AUC (higher better)": shown(columns["insertion_auc"]),
                              "average drop %": shown(columns["average_drop_pct"], digits=3),
                              "max-sensitivity (lower better)": shown(columns["max_sensitivity"], digits=3),
                              "local Lipschitz (lower better)": shown(columns["local_lipschitz"], digits=3),
                              "sanity (all layers random)": sanity, "eMPRT (all layers random)": emprt_sanity,
                              "time per digit": shown(columns["seconds_per_digit"], digits=3, unit="duration")})
    return csv_rows, page_rows


def attention_rows(groups: list[Group]) -> tuple[list[dict], list[dict]]:
    csv_rows, page_rows = [], []
    for g in groups:
        per_module: dict[str, list[dict]] = {}
        faithful = {"deletion_auc": [], "insertion_auc": []}
        for record in g.records:
            for row in record.table("attributions/informativeness.csv"):
                per_module.setdefault(row["module"], []).append(row)
            for row in record.table("attributions/faithfulness.csv"):
                if row["method"] == "attention":
                    for key in faithful:
                        faithful[key].append(row.get(key))
        for module, rows in per_module.items():
            informative = [1.0 if r.get("informative") == "yes" else 0.0 for r in rows]
            ranges, entropy = [r.get("dynamic_range") for r in rows], [r.get("entropy") for r in rows]
            base = {"experiment": g.label, "attention": g.config["model"]["attention"], "module": module,
                    "models": len(g.records), "maps": len(rows)}
            csv_rows.append({**base, **_numbers("dynamic_range", ranges), **_numbers("entropy", entropy),
                             "informative_share": round(float(np.mean(informative)), 4),
                             **_numbers("deletion_auc", faithful["deletion_auc"]),
                             **_numbers("insertion_auc", faithful["insertion_auc"])})
            page_rows.append({**base, "dynamic range": shown(ranges, digits=3), "entropy": shown(entropy, digits=3),
                              "informative maps": f"{int(sum(informative))} of {len(rows)}",
                              "deletion AUC of the map": shown(faithful["deletion_auc"]),
                              "insertion AUC of the map": shown(faithful["insertion_auc"])})
    return csv_rows, page_rows


def counterfactual_rows(groups: list[Group]) -> tuple[list[dict], list[dict]]:
    csv_rows, page_rows = [], []
    for g in groups:
        per_method: dict[str, list[dict]] = {}
        for record in g.records:
            for row in record.table("counterfactuals/summary.csv"):
                per_method.setdefault(row["method"], []).append(row)
        for method, rows in per_method.items():
            judged = sorted({key for r in rows for key in r if key.startswith("judge_") and key.endswith("_agrees")})
            columns = {key: [r.get(key) for r in rows] for key in
                       ("validity", *judged, "cout", "l1", "l2", "im1", "im2", "seconds_per_digit")}
            verdicts = sorted({r.get("verdict") or "not judged (made before the judges)" for r in rows})
            base = {"experiment": g.label, "method": method, "kind": rows[0].get("kind", ""), "n": len(rows),
                    "digits": rows[0].get("digits", ""), "judges' verdict": "; ".join(verdicts)}
            csv_rows.append({**base, **_all_numbers(columns)})
            judges = {f"judge {key[len('judge_'):-len('_agrees')]} agrees": shown(columns[key], digits=3)
                      for key in judged}
            page_rows.append({**base, "validity": shown(columns["validity"], digits=3), **judges,
                              "COUT": shown(columns["cout"], digits=3), "L1": shown(columns["l1"], digits=3),
                              "L2": shown(columns["l2"], digits=3),
                              "IM1 (lower better)": shown(columns["im1"], digits=3),
                              "IM2 (lower better)": shown(columns["im2"], digits=3),
                              "time per digit": shown(columns["seconds_per_digit"], digits=3, unit="duration")})
    return csv_rows, page_rows


TEXT = {
    "models": "One row per protocol; experiments that differ only in name and seed are one protocol, shown as "
              "mean ± sample standard deviation over the distinct seeds (n). The seed studies' figures are for "
              "224x224 inputs from ImageNet-pretrained backbones; a row beside one differs in whatever its own "
              "columns say (input size, weights, training digits).",
    "attributions": "Per protocol and method, means over the explained digits of each model, then mean ± std over "
                    "models: deletion and insertion AUC of the target probability (pixels ranked by the map's signed "
                    "value), Average Drop, Max-Sensitivity and the Local Lipschitz Estimate of the maps divided by "
                    "their maximum ('n/a' for models explained before robustness was measured), the classic "
                    "sanity verdict and eMPRT's with every layer randomised (each verdict with its count of "
                    "models; 'inconclusive' where the randomised model ignores its input or is no less certain), "
                    "and wall time per digit. Each experiment's own page defines every column.",
    "attention": "The model's own attention map, per module: relative dynamic range (max - min) / max and normalised "
                 "entropy per digit (a range below 0.1 counts as uninformative), and the map's deletion and insertion "
                 "AUC when used as an explanation.",
    "counterfactuals": "Per protocol and method: share of digits with a valid counterfactual, then means over the "
                       "valid ones of each judge's agreement (the share an independent classifier, which never took "
                       "part in a search, puts in the target class), COUT, L1 and L2 distance, IM1 and IM2 "
                       "plausibility (autoencoder reconstruction ratios) and seconds per digit. A method the judges "
                       "reject is labelled 'adversarial: judges keep the original class': its changes flip only the "
                       "model they were searched on.",
}
TITLES = {"models": "Accuracy, size and training time per protocol (backbone x attention)",
          "attributions": "Attribution methods: faithfulness, sanity and cost per model",
          "attention": "Attention maps: informativeness and faithfulness per module",
          "counterfactuals": "Counterfactual methods: validity, distance, plausibility and cost per model"}


def _mean(row: dict, key: str) -> float:
    value = row.get(f"{key}_mean")
    return float(value) if value not in (None, "") else float("nan")


def _majority(verdicts: list[str]) -> str:
    """The verdict most models of a protocol got, in the grid's words."""
    words = ["not measured" if v.startswith("not measured") else v for v in verdicts if v]
    return max(dict.fromkeys(words), key=words.count) if words else "not run"


def comparison_figures(groups: list[Group], rows: dict[str, list[dict]]) -> dict[str, list[tuple[str, object]]]:
    """The page's figures by section key: (file stem, Figure) pairs, drawn from the same rows
    as the tables."""
    from attention_xai.plots.comparison import (plot_accuracy, plot_counterfactual_judges, plot_faithfulness_cost,
                                                plot_sanity_grid)

    figures: dict[str, list] = {}
    protocols = [{"label": g.label, "accuracies": [r.metrics["test_accuracy"] for r in g.records],
                  "seed_study": (SEED_STUDY.get((g.config["model"]["backbone"], g.config["model"]["attention"]))
                                 or (None,))[0]} for g in groups]
    if protocols:
        figures["models"] = [("accuracy", plot_accuracy(protocols))]
    attribution = rows.get("attributions", [])
    if attribution:
        points = [{"method": r["method"], "deletion_auc": _mean(r, "deletion_auc"),
                   "seconds_per_digit": _mean(r, "seconds_per_digit")} for r in attribution]
        methods = list(dict.fromkeys(r["method"] for r in attribution))
        labels = list(dict.fromkeys(r["experiment"] for r in attribution))
        verdicts = {}
        for g in groups:
            got: dict[str, list[str]] = {}
            for record in g.records:
                for method, verdict in _verdicts(record).items():
                    got.setdefault(method, []).append(verdict)
            verdicts.update({(g.label, method): _majority(v) for method, v in got.items()})
        figures["attributions"] = [("faithfulness_cost", plot_faithfulness_cost(points)),
                                   ("sanity", plot_sanity_grid(methods, labels, verdicts))]
    counterfactual = rows.get("counterfactuals", [])
    if counterfactual:
        judged = []
        for r in counterfactual:
            agrees = [_mean(r, key[:-len("_mean")]) for key in r if key.startswith("judge_") and
                      key.endswith("_agrees_mean") and r[key] not in (None, "")]
            judged.append({"method": r["method"], "validity": _mean(r, "validity"),
                           "judges_agree": min(agrees) if agrees else None})
        figures["counterfactuals"] = [("counterfactual_judges", plot_counterfactual_judges(judged))]
    return figures


FIGURE_TITLES = {"accuracy": "Accuracy per protocol: every seed, the mean ± std, the seed study",
                 "faithfulness_cost": "Faithfulness against cost: each attribution method on each protocol",
                 "sanity": "Sanity verdicts: method x protocol (all layers randomised)",
                 "counterfactual_judges": "Counterfactuals: validity, and how many the independent judges accept"}


def write_comparison_report(records: list[Record], reports_root: Path) -> Path:
    """reports/index.html, its figures and the comparison CSVs; returns the page's path."""
    groups = group_records(records)
    out = Path(reports_root) / COMPARISON_DIR
    sections, built = [], {}
    for key, build in (("models", model_rows), ("attributions", attribution_rows), ("attention", attention_rows),
                       ("counterfactuals", counterfactual_rows)):
        built[key] = build(groups)
    figures = comparison_figures(groups, {key: csv_rows for key, (csv_rows, _) in built.items()})
    for key, (csv_rows, page_rows) in built.items():
        for stem, fig in figures.get(key, []):
            save_figure(fig, out / stem)
            sections.append({"title": FIGURE_TITLES[stem], "figure": f"{COMPARISON_DIR}/{stem}.png"})
        if csv_rows:
            write_csv(out / f"{key}.csv", csv_rows)
            sections.append({"title": TITLES[key], "text": TEXT[key],
                             "table": (f"{COMPARISON_DIR}/{key}.csv", page_rows)})
    headline = [("experiments", f"{len(records)} with artifacts, {len(groups)} protocols"),
                ("regenerate", "python -m attention_xai report")]
    sections.append({"title": "Experiment pages", "links": [(f"{r.name}/index.html", r.name)
                                                           for r in sorted(records, key=lambda r: r.name)]})
    index = Path(reports_root) / "index.html"
    write_text(index, render_index("attention_xai: every experiment", headline, sections))
    return index


def read_record(paths: ExperimentPaths) -> Record:
    """An experiment's record; ArtifactError (from `read_metrics`) when its artifacts are missing or broken."""
    return Record(paths.name, read_metrics(paths), paths.report_dir)
