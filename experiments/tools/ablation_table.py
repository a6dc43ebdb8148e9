"""The attention ablation as one Markdown table (the README's), from saved artifacts only.

Reads the comparison tables that `python -m attention_xai report` writes
(reports/comparison/{models,attributions,attention}.csv) and, for the cost columns, the
module benchmark (`python experiments/benchmarks/bench_training.py --only-modules --out
experiments/benchmarks/results/bench_modules.json`), and prints one row per attention module: test
accuracy (mean +- std over the seeds, n), parameters, training and inference speed,
Grad-CAM's deletion/insertion AUC, and the module's own attention map (informative share,
dynamic range, deletion/insertion AUC when used as an explanation).

    python experiments/tools/ablation_table.py [--reports reports] [--costs FILE]
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "experiments" / "benchmarks" / "results"
MODULES = ("none", "se", "cbam", "pam", "gc")


def _rows(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _group(label: str) -> str | None:
    """The ablation module a comparison row belongs to ('ablation_cbam = quick' -> 'cbam')."""
    for part in label.split(" = "):
        if part.startswith("ablation_") and part[len("ablation_"):] in MODULES:
            return part[len("ablation_"):]
    return None


def _pm(row: dict, key: str, scale: float = 1.0, digits: int = 3) -> str:
    mean, std = float(row[f"{key}_mean"]) * scale, float(row[f"{key}_std"]) * scale
    if mean != mean:  # NaN: not measured
        return "n/a"
    return f"{mean:.{digits}f} ± {std:.{digits}f}" if int(row.get("n", 1) or 1) > 1 else f"{mean:.{digits}f}"


def table(reports: Path, costs: Path | None) -> str:
    comparison = reports / "comparison"
    models = {_group(r["experiment"]): r for r in _rows(comparison / "models.csv") if _group(r["experiment"])}
    cams = {_group(r["experiment"]): r for r in _rows(comparison / "attributions.csv")
            if _group(r["experiment"]) and r["method"] == "gradcam"}
    maps = {_group(r["experiment"]): r for r in _rows(comparison / "attention.csv") if _group(r["experiment"])}
    cost = json.loads(costs.read_text())["modules"] if costs and costs.is_file() else {}
    lines = ["| module | seeds | test accuracy (%) | parameters | train digits/s | inference ms/digit "
             "| Grad-CAM deletion AUC | Grad-CAM insertion AUC | own map: informative | own map: range "
             "| own map: deletion AUC | own map: insertion AUC |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for module in MODULES:
        if module not in models:
            continue
        m, c, a, k = models[module], cams.get(module), maps.get(module), cost.get(module, {})
        lines.append(" | ".join([
            f"| {module}", f"{m['n']} ({m['seeds']})",
            _pm({**m, "n": m["n"]}, "test_accuracy", 100, 2), f"{int(m['params']):,}",
            f"{k['train_images_per_second']:,.0f}" if k else "n/a",
            f"{k['inference_ms_per_digit']:.3f}" if k else "n/a",
            _pm(c, "deletion_auc") if c else "n/a", _pm(c, "insertion_auc") if c else "n/a",
            f"{float(a['informative_share']):.0%} of {a['maps']}" if a else "no spatial map",
            _pm({**a, "n": a["models"]}, "dynamic_range") if a else "n/a",
            _pm({**a, "n": a["models"]}, "deletion_auc") if a else "n/a",
            _pm({**a, "n": a["models"]}, "insertion_auc") + " |" if a else "n/a |"]))
    return "\n".join(lines)


def main(argv=None) -> str:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=Path, default=ROOT / "reports")
    parser.add_argument("--costs", type=Path, default=RESULTS / "bench_modules.json")
    args = parser.parse_args(argv)
    text = table(args.reports, args.costs)
    print(text)
    return text


if __name__ == "__main__":
    main()
