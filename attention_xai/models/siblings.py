"""Seed siblings: the explained experiment trained again with other seeds, on a short
schedule. The `revise_siblings` counterfactual method asks every sibling, as well as the
model, to put its answer in the target class, so that an answer cannot lean on one set of
weights' accidents (an adversarial perturbation flips one network, rarely three). Siblings
are the model's own family, never a judge: the judges are other architectures, trained and
used only to measure.

Layout: `<model folder>/siblings/seed<k>/model.keras` (+ its metrics.json and history.csv)
and `<model folder>/siblings/metrics.json` (seeds, epochs, accuracies, seconds, machine).
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Sequence

from attention_xai.errors import ConfigError, ModelFileError

SIBLINGS = "siblings"
DEFAULT_SEEDS = (1, 2)
DEFAULT_EPOCHS = 3


def sibling_config(config, seed: int, epochs: int):
    """`config` trained with `seed`, its phases cut to `epochs` epochs in all (each phase
    keeps its own settings; later phases get what is left)."""
    if epochs < 1:
        raise ConfigError(f"siblings need at least one epoch, got {epochs}")
    phases, left = [], epochs
    for phase in config.training.phases:
        if left <= 0:
            break
        phases.append(dataclasses.replace(phase, epochs=min(phase.epochs, left)))
        left -= phases[-1].epochs
    training = dataclasses.replace(config.training, phases=tuple(phases))
    return dataclasses.replace(config, seed=seed, name=f"seed{seed}", training=training)


def train_siblings(config, data, directory: Path, *, seeds: Sequence[int] = DEFAULT_SEEDS,
                   epochs: int = DEFAULT_EPOCHS, verbose=0) -> dict:
    """Trains one sibling of `config` per seed into `directory`/seed<k>; returns the record
    written to `directory`/metrics.json. An interrupted sibling resumes like any training."""
    from attention_xai.artifacts import ExperimentPaths, write_json
    from attention_xai.machine import cpu_description
    from attention_xai.training import train_experiment

    if config.seed in seeds:
        raise ConfigError(f"sibling seeds must differ from the model's own seed {config.seed}, got {list(seeds)}")
    directory = Path(directory)
    record = {"experiment": config.name, "seeds": list(seeds), "epochs": epochs, "machine": cpu_description(),
              "siblings": []}
    for seed in seeds:
        started = time.perf_counter()
        result = train_experiment(sibling_config(config, seed, epochs), data, ExperimentPaths(f"seed{seed}", directory),
                                  verbose=verbose)
        record["siblings"].append({"seed": seed, "test_accuracy": result.metrics["test_accuracy"],
                                   "train_seconds": round(time.perf_counter() - started, 1)})
    write_json(directory / "metrics.json", record)
    return record


def sibling_paths(where) -> list[Path]:
    """The sibling model files named by `where`: a siblings folder (every seed*/model.keras
    in it) or comma-separated .keras files. ModelFileError when there are none."""
    if isinstance(where, (list, tuple)):
        paths = [Path(p) for p in where]
    elif "," in str(where) or str(where).endswith(".keras"):
        paths = [Path(p.strip()) for p in str(where).split(",") if p.strip()]
    else:
        paths = sorted(Path(where).glob("seed*/model.keras"))
        if not paths:
            raise ModelFileError(f"no seed siblings in {where}: `python -m attention_xai siblings <experiment>` "
                                 f"trains them")
    missing = [p for p in paths if not p.is_file()]
    if missing:
        raise ModelFileError(f"sibling model {missing[0]} not found: `python -m attention_xai siblings <experiment>` "
                             f"trains them")
    return paths


def load_siblings(where) -> list:
    """The sibling classifiers named by `where` (see `sibling_paths`), each checked like any
    classifier file."""
    from attention_xai.models import load_classifier

    return [load_classifier(path) for path in sibling_paths(where)]
