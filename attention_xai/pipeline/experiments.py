"""Experiments from Python: resolve one by name with overrides, train it, evaluate a model."""

from __future__ import annotations

import dataclasses
from typing import Sequence

from attention_xai.config import ExperimentConfig, smoke_train_limit


def resolve_experiment(experiment: str | None = None, *, smoke: bool = False, backbone: str | None = None,
                       attention: str | None = None, weights: str | None = None, image_size: int | None = None,
                       precision: str | None = None, name: str | None = None,
                       distribute: bool = False) -> ExperimentConfig:
    """An experiment's config by name (a file in experiments/) or path, with overrides.

    Args:
        experiment: the name or a path to a .py file; None: the quick experiment.
        smoke: shrink it to a seconds-long run (`ExperimentConfig.smoke`).
        backbone, attention, weights ("none", "imagenet" or a file), image_size, precision:
            replace the experiment's own; each that changes the model adds a suffix to the
            name ("quick-resnet50-gc"), so that artifacts of different models never mix.
        name: the artifact name instead of the derived one.
        distribute: train data-parallel (how to train, not what: the name stays).

    Raises:
        ConfigError: no such experiment, an unknown backbone or module, or an invalid value.
    """
    from attention_xai.experiment import DEFAULT_EXPERIMENT, load_experiment
    from attention_xai.models import check_model_config, resolve_backbone

    config = load_experiment(experiment or DEFAULT_EXPERIMENT, smoke=smoke)
    overrides, suffix = {}, []
    if backbone:
        overrides["backbone"] = resolve_backbone(backbone)
        if overrides["backbone"] != resolve_backbone(config.model.backbone):
            overrides["backbone_kwargs"] = {}  # they belong to the experiment's own backbone
            overrides["attention_after"] = ()
        suffix.append(overrides["backbone"].lower())
    if attention:
        overrides["attention"] = attention.lower()
        if overrides["attention"] != config.model.attention.lower():
            overrides["attention_kwargs"] = {}  # they belong to the experiment's own module
        suffix.append(overrides["attention"])
    if weights:
        overrides["weights"] = None if weights.lower() == "none" else weights
        suffix.append("imagenet" if weights == "imagenet" else "weights")
    if image_size is not None:
        overrides["image_size"] = image_size
        suffix.append(str(image_size))
    if overrides:
        config = dataclasses.replace(config, model=dataclasses.replace(config.model, **overrides),
                                     name="-".join([config.name, *suffix]))
        if smoke:  # the smoke size follows the backbone it ends up with
            config = dataclasses.replace(config, training=dataclasses.replace(
                config.training, train_limit=smoke_train_limit(config.model)))
    if precision and precision != config.training.precision:
        config = dataclasses.replace(config, training=dataclasses.replace(config.training, precision=precision),
                                     name=f"{config.name}-{precision.replace('_', '')}")
    if name:
        config = dataclasses.replace(config, name=name)
    if distribute:
        config = dataclasses.replace(config, training=dataclasses.replace(config.training, distribute=True))
    check_model_config(config.model)
    return config


def with_seeds(config: ExperimentConfig, seeds: Sequence[int] | None) -> list[ExperimentConfig]:
    """One config per seed, named <name>-seed<k>; without seeds, the config itself."""
    if not seeds:
        return [config]
    return [dataclasses.replace(config, seed=seed, name=f"{config.name}-seed{seed}") for seed in seeds]


def train(config: ExperimentConfig, *, models_dir="saved_models", reports_dir="reports", data=None,
          fresh: bool = False, verbose="auto", tensorboard: bool = False, cluster_timeout: float | None = None):
    """Trains (or resumes) `config` and exports it under `models_dir/<name>/`.

    Args:
        config: from `resolve_experiment` (or any ExperimentConfig).
        models_dir, reports_dir: where the model and its report go.
        data: MNIST from `attention_xai.data.load_mnist` (loaded here when None).
        fresh: discard an interrupted run's checkpoints instead of resuming it.
        verbose: Keras progress output ("auto", 0, 1 or 2).
        tensorboard: also write TensorBoard logs.
        cluster_timeout: seconds the processes of a multi-worker run wait for each other.

    Returns:
        The TrainResult: the exported model, its metrics (also in metrics.json), the history.
    """
    import logging
    import time

    from attention_xai.artifacts import ExperimentPaths
    from attention_xai.cluster import DEFAULT_TIMEOUT
    from attention_xai.data import load_mnist
    from attention_xai.training import train_experiment

    data = data if data is not None else load_mnist()
    started = time.perf_counter()
    result = train_experiment(config, data, ExperimentPaths(config.name, models_dir, reports_dir), fresh=fresh,
                              verbose=verbose, tensorboard=tensorboard,
                              cluster_timeout=DEFAULT_TIMEOUT if cluster_timeout is None else cluster_timeout)
    logging.getLogger(__name__).info("%s: trained in %.0f s, test accuracy %.2f%%", config.name,
                                     time.perf_counter() - started, 100 * result.metrics["test_accuracy"])
    return result


def evaluate(model, *, limit: int | None = None, batch_size: int = 256, data=None) -> dict:
    """A saved classifier (a path) or a loaded one on the first `limit` official test digits
    (all 10,000 when None): accuracy, loss, the count and the per-class accuracy.

    Raises:
        ConfigError: a limit that is not a positive integer.
        ArtifactError: a model file that cannot be loaded as a digit classifier.
    """
    from attention_xai.data import DigitBatches, load_mnist
    from attention_xai.errors import ConfigError
    from attention_xai.evaluate import classification_metrics
    from attention_xai.models import load_classifier

    if limit is not None and (not isinstance(limit, int) or limit <= 0):
        raise ConfigError(f"limit must be a positive integer, got {limit!r}")
    classifier = load_classifier(model) if not hasattr(model, "predict") else model
    data = data if data is not None else load_mnist()
    x, y = data.x_test[:limit], data.y_test[:limit]
    metrics = classification_metrics(y, classifier.predict(DigitBatches(x, y, batch_size), verbose=0))
    return {"test_accuracy": metrics["accuracy"], "test_loss": metrics["loss"], "test_size": int(len(y)),
            "per_class_accuracy": metrics["per_class_accuracy"]}


def saved_model(name: str, *, models_dir="saved_models", reports_dir="reports"):
    """The paths of an experiment's trained model (`ExperimentPaths`: .model, .model_dir,
    .report_dir, ...), checked to exist.

    Raises:
        ArtifactError: no model was trained under that name (one line naming the command).
    """
    from attention_xai.artifacts import ExperimentPaths
    from attention_xai.errors import ArtifactError

    paths = ExperimentPaths(name, models_dir, reports_dir)
    if not paths.model.is_file():
        raise ArtifactError(f"no trained model for {paths.name!r} ({paths.model} is missing); "
                            f"run `python -m attention_xai train {paths.name}` first")
    return paths


def finished_model(config: ExperimentConfig, *, models_dir="saved_models", reports_dir="reports"):
    """The exported model of a finished training of exactly `config` (None when there is none)."""
    import json

    from attention_xai.artifacts import ExperimentPaths
    from attention_xai.training import same_config

    paths = ExperimentPaths(config.name, models_dir, reports_dir)
    try:
        metrics = json.loads(paths.metrics.read_text())
    except (OSError, ValueError):
        return None
    if not (paths.model.is_file() and same_config(metrics.get("config"), config)):
        return None
    from attention_xai.models import load_classifier

    return load_classifier(paths.model)
