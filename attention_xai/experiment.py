"""Finding and loading experiments: Python files in `experiments/` with a `config()` function.

A command names an experiment by file stem ("quick") or by path ("my/exp.py"). The
experiment's name is its file stem.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
from pathlib import Path

from attention_xai.config import ExperimentConfig
from attention_xai.errors import AttentionXaiError, ConfigError, first_line

DEFAULT_EXPERIMENT = "quick"


def experiments_dir() -> Path:
    """$ATTENTION_XAI_EXPERIMENTS, else ./experiments, else the one beside the package."""
    if os.environ.get("ATTENTION_XAI_EXPERIMENTS"):
        return Path(os.environ["ATTENTION_XAI_EXPERIMENTS"])
    local = Path.cwd() / "experiments"
    return local if local.is_dir() else Path(__file__).resolve().parent.parent / "experiments"


def available_experiments(directory: Path | None = None) -> list[str]:
    """Stems of the experiment files (those defining a top-level `config` function; a
    benchmark that merely writes one into a string is not one), sorted."""
    import ast

    directory = directory or experiments_dir()
    names = []
    for path in sorted(directory.glob("*.py")):
        if path.name.startswith("_"):
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except SyntaxError:
            names.append(path.stem)  # loading it reports the error
            continue
        if any(isinstance(node, ast.FunctionDef) and node.name == "config" for node in tree.body):
            names.append(path.stem)
    return names


def load_experiment(name_or_path: str, *, smoke: bool = False) -> ExperimentConfig:
    """The config of an experiment, by name or path; `smoke` shrinks it for tests.

    Raises:
        ConfigError: no such experiment, or its file fails or returns no ExperimentConfig.
    """
    path = Path(name_or_path)
    if path.suffix != ".py":
        path = experiments_dir() / f"{name_or_path}.py"
        if not path.is_file():
            raise ConfigError(f"unknown experiment {name_or_path!r}; valid: {', '.join(available_experiments())}")
    elif not path.is_file():
        raise ConfigError(f"experiment file not found: {path}")
    spec = importlib.util.spec_from_file_location(f"attention_xai_experiment_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
        config = module.config()
    except AttentionXaiError:
        raise
    except Exception as exc:
        raise ConfigError(f"experiment {path} failed to load: {type(exc).__name__}: {first_line(exc)}") from None
    if not isinstance(config, ExperimentConfig):
        raise ConfigError(f"{path}: config() must return an ExperimentConfig, got {type(config).__name__}")
    config = dataclasses.replace(config, name=path.stem)
    return config.smoke() if smoke else config
