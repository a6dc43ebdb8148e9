"""Reports from saved artifacts only: each experiment's page and the comparison page."""

from __future__ import annotations

import dataclasses
from typing import Sequence


@dataclasses.dataclass(frozen=True)
class Reports:
    """What `report` wrote: each experiment's page, the experiments it could not redraw
    (name -> the one-line reason), the cross-experiment page (None without records) and how
    many experiments that page compares."""

    pages: dict
    failed: dict
    comparison: object = None
    compared: int = 0


def experiments_with_artifacts(models_dir="saved_models") -> list[str]:
    """Folders under `models_dir` with a metrics.json, but for the shared models' (the
    autoencoders, the VAE and the judges), which are not experiments."""
    from pathlib import Path

    from attention_xai.models.autoencoder import AUTOENCODER_DIR
    from attention_xai.models.judges import JUDGE_DIR
    from attention_xai.models.vae import VAE_DIR

    shared = {Path(d).name for d in (AUTOENCODER_DIR, JUDGE_DIR, VAE_DIR)}
    return sorted(p.parent.name for p in Path(models_dir).glob("*/metrics.json") if p.parent.name not in shared)


def report_experiment(name: str, *, models_dir="saved_models", reports_dir="reports"):
    """Every figure of one experiment from its saved arrays (nothing is trained, explained
    or searched again), then its page; returns the page's path.

    Raises:
        ArtifactError: the experiment has no artifacts, or they are broken.
    """
    from attention_xai.artifacts import STAGE_ARRAYS, ExperimentPaths
    from attention_xai.reporting import write_experiment_page
    from attention_xai.reporting.attributions import redraw_attribution_report
    from attention_xai.reporting.counterfactuals import redraw_counterfactual_report
    from attention_xai.reporting.experiment import read_metrics

    paths = ExperimentPaths(name, models_dir, reports_dir)
    read_metrics(paths)  # a missing or broken experiment fails before anything is redrawn
    for stage, redraw in (("attributions", redraw_attribution_report),
                          ("counterfactuals", redraw_counterfactual_report)):
        arrays = paths.stage_arrays(stage)
        if (arrays / STAGE_ARRAYS[stage]).is_file():
            redraw(arrays, paths.report_dir / stage)
    return write_experiment_page(paths)


def report(names: Sequence[str] | None = None, *, models_dir="saved_models", reports_dir="reports") -> Reports:
    """Each named experiment's report (every one with artifacts when `names` is empty), then
    the cross-experiment page over every experiment with artifacts. A broken experiment is
    recorded in `Reports.failed` and skipped; the others are still written.

    Raises:
        ArtifactError: no experiment has artifacts under `models_dir`.
    """
    from attention_xai.artifacts import ExperimentPaths
    from attention_xai.errors import ArtifactError
    from attention_xai.reporting.comparison import read_record, write_comparison_report

    names = list(names or experiments_with_artifacts(models_dir))
    if not names:
        raise ArtifactError(f"no experiment has artifacts under {models_dir}; make some with "
                            f"`python -m attention_xai run`")
    pages, failed = {}, {}
    for name in names:
        try:
            pages[name] = report_experiment(name, models_dir=models_dir, reports_dir=reports_dir)
        except ArtifactError as exc:
            failed[name] = str(exc)
    records = []
    for name in experiments_with_artifacts(models_dir):
        try:
            records.append(read_record(ExperimentPaths(name, models_dir, reports_dir)))
        except ArtifactError as exc:
            failed.setdefault(name, str(exc))
    comparison = write_comparison_report(records, reports_dir) if records else None
    return Reports(pages=pages, failed=failed, comparison=comparison, compared=len(records))
