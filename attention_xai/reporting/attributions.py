"""The explain stage's report under reports/<name>/attributions/, drawn from its saved result:

    attribution_grid.{png,pdf}
    samples.csv, faithfulness.csv, sanity.csv, informativeness.csv, agreement.csv

from maps.npz (`Analysis.save`: the digits, every method's raw maps and parameters, and the
metric tables, which need the model). An experiment keeps maps.npz with its model
(saved_models/<name>/attributions/), so that reports/ can be deleted and rebuilt; this
module only reads it.
"""

from __future__ import annotations

from pathlib import Path


from attention_xai.explain.analysis import Analysis
from attention_xai.plots.attribution import plot_attribution_grid
from attention_xai.reporting.writing import read_csv, save_figure, write_csv

GRID = "attribution_grid"


def row_titles(kind, labels, predictions, confidence) -> list[str]:
    titles = []
    for k, label, pred, conf in zip(kind, labels, predictions, confidence):
        truth = f"true {label}  " if label >= 0 else ""
        titles.append(f"{k}  {truth}pred {pred} ({conf:.2f})")
    return titles


MAPS = "maps.npz"


def redraw_attribution_report(arrays_dir: Path, out_dir: Path | None = None) -> list[Path]:
    """The grid figure and the metric tables, from maps.npz in `arrays_dir` alone (the
    explain stage's `Analysis.save`), into `out_dir` (default `arrays_dir`)."""
    out_dir = Path(out_dir or arrays_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    analysis = load_analysis(arrays_dir)
    s = analysis.samples
    titles = row_titles(s.kind, s.labels, s.predictions, s.confidence)
    written = save_figure(plot_attribution_grid(analysis.images, analysis.explanations, titles,
                                                rows=grid_rows(s.kind)), out_dir / GRID)
    for name, rows in analysis.tables().items():
        if rows:
            write_csv(out_dir / f"{name}.csv", rows)
            written.append(out_dir / f"{name}.csv")
    return written


GRID_DIGITS = 8
"""Digits the attribution grid shows: the tables cover every explained digit (100 for
trustworthy numbers), the figure stays readable."""


def grid_rows(kind) -> list[int]:
    """The digits the grid shows: at most GRID_DIGITS, shared equally among the kinds
    (GOOD, BAD, INPUT), the first of each kind in the order they were chosen."""
    kinds = list(dict.fromkeys(str(k) for k in kind))
    share = max(GRID_DIGITS // max(len(kinds), 1), 1)
    return sorted(i for k in kinds for i in [j for j, x in enumerate(kind) if str(x) == k][:share])


def load_analysis(arrays_dir: Path) -> Analysis:
    """The explain stage's analysis from maps.npz in `arrays_dir`."""
    return Analysis.load(Path(arrays_dir) / MAPS)


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
    pool = selection.get("pool_digits")
    among = f", among the first {pool:,} test digits" if pool and pool < 10000 else ""
    targets = {"predicted": "the class the model predicts", "true": "the true class"}
    target = targets[selection.get("target", "predicted")]
    measured = selection.get("table_digits")
    tables = (f" The faithfulness table measures {measured} digits: these, then more chosen by the same rule, half "
              f"GOOD and half BAD (their test indices are in maps.npz)." if measured else "")
    return f"{how}{per_class}{among}. Maps explain {target}.{tables}"


ATTRIBUTION_TABLES = (
    ("samples", "Explained digits", None),  # the text says how they were chosen (maps.npz records it)
    ("faithfulness", "How faithful is each map",
     "Deletion AUC (lower is better) and insertion AUC (higher is better): target probability while "
     "pixels are removed from the digit (set to 0) or added to a black canvas, ranked by the map's "
     "signed value, most important first, in 28 steps of 28 pixels. Average Drop (lower is better) and "
     "Increase in Confidence (higher is better) of the digit multiplied by the positive part of its map "
     "(divided by the map's maximum). Gini: sparseness of |map|. Cost: wall time and single-image model "
     "passes per digit. ci_low / ci_high: the 95% percentile bootstrap interval of the mean over the digits "
     "(2,000 seeded resamples) over the digits column's digits. Robustness, on the sanity check's digits "
     "(robustness_digits), from robustness_samples perturbed copies of each, every map divided by its largest "
     "|value| first (lower is more robust): max_sensitivity, the largest map change over the digit's size "
     "under uniform noise of radius 0.2 (Yeh et al. 2019, as Quantus); local_lipschitz, the largest map "
     "change over input change under Gaussian noise of sigma 0.1 (Alvarez-Melis and Jaakkola 2018); "
     "average_stability, the mean squared map change under noise of at most 1/784 a pixel (as Xplique). "
     "With few copies the two maxima are lower bounds."),
    ("sanity", "Sanity check: model-parameter randomization",
     "Layers are re-initialised from the output down; Spearman correlation of |original map| with "
     "|randomised map|. A method whose maps do not change when every layer is random fails. Output spread: "
     "how much the randomised model's answer still depends on its input (std of its log-probability ratios "
     "over the digits and their negatives); below 1e-3 it answers the same for everything, its maps prove "
     "nothing, and a low correlation is 'inconclusive' rather than a pass. Such a copy first has its "
     "normalisation statistics re-estimated on calibration_digits other test digits (statistics: "
     "'re-estimated'; copies that still depend on their input keep the trained ones). Same class: the share of the "
     "digits the randomised model still puts in the original model's class; output entropy: its mean "
     "predictive entropy over the ten classes (0 certain, 1 uniform). emprt (Hedstrom et al. 2023): the "
     "relative rise in the entropy of each map's histogram from the original model to the randomised one "
     "(above 0: the maps grow more complex as the model loses its training); model_entropy_rise: the same "
     "rise in the model's output entropy, to read beside it. emprt_verdict: pass when the maps' entropy "
     "rises with every layer random while the model's output entropy rises too, FAIL when it does not, "
     "inconclusive when the randomised model is no less certain than the trained one."),
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
    if not (arrays_dir / MAPS).is_file():
        return []
    sections = [{"title": "Attribution maps (GOOD and BAD digits)", "figure": "attributions/attribution_grid.png",
                 "text": "Each map is min-max scaled to 0-1 and overlaid on its digit; raw maps are in "
                         "attributions/maps.npz."}]
    selection = dict(load_analysis(arrays_dir).selection)
    for stem, title, text in ATTRIBUTION_TABLES:
        text = text if text is not None else describe_selection(selection)
        path = directory / f"{stem}.csv"
        if path.is_file():
            sections.append({"title": title, "text": text, "table": (f"attributions/{stem}.csv", read_csv(path))})
    return sections


def attribution_provenance(arrays_dir: Path, shown_as: str) -> dict[str, dict]:
    """For the manifest: the grid figures, the arrays they come from (`shown_as`: how to
    name the folder) and every method's parameters."""
    if not (arrays_dir / MAPS).is_file():
        return {}
    explanations = load_analysis(arrays_dir).explanations
    entry = {"source": [f"{shown_as}/{MAPS}"], "methods": {e.method: dict(e.params) for e in explanations}}
    return {f"attributions/{GRID}.{ext}": entry for ext in ("png", "pdf")}
