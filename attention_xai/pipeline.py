"""The pipeline as a library: what the command line does, callable from a notebook.

    from attention_xai.pipeline import Selection, counterfactuals, explain, resolve_experiment, run

    config = resolve_experiment("quick", backbone="ResNet50", attention="gc")
    config.name                                  # "quick-resnet50-gc"
    result = run(config)                         # train, explain, counterfactuals, the page
    maps = explain("saved_models/quick/model.keras", methods=["gradcam", "occlusion"],
                   selection=Selection(good=2, bad=2))
    found = counterfactuals("saved_models/quick/model.keras", methods=["revise"])

Each stage returns its result objects; with `out_dir` it also writes its figures and tables.
The command line (`attention_xai.cli`) parses arguments and calls these functions.
"""

from __future__ import annotations

import contextlib
import dataclasses
import warnings
from typing import Sequence

from attention_xai.config import ExperimentConfig


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
    from attention_xai.reporting import write_training_report
    from attention_xai.reporting.attribution_report import redraw_attribution_report
    from attention_xai.reporting.counterfactual_report import redraw_counterfactual_report
    from attention_xai.reporting.training_report import read_metrics

    paths = ExperimentPaths(name, models_dir, reports_dir)
    read_metrics(paths)  # a missing or broken experiment fails before anything is redrawn
    for stage, redraw in (("attributions", redraw_attribution_report),
                          ("counterfactuals", redraw_counterfactual_report)):
        arrays = paths.stage_arrays(stage)
        if (arrays / STAGE_ARRAYS[stage]).is_file():
            redraw(arrays, paths.report_dir / stage)
    return write_training_report(paths)


def report(names: Sequence[str] | None = None, *, models_dir="saved_models", reports_dir="reports") -> Reports:
    """Each named experiment's report (every one with artifacts when `names` is empty), then
    the cross-experiment page over every experiment with artifacts. A broken experiment is
    recorded in `Reports.failed` and skipped; the others are still written.

    Raises:
        ArtifactError: no experiment has artifacts under `models_dir`.
    """
    from attention_xai.artifacts import ExperimentPaths
    from attention_xai.errors import ArtifactError
    from attention_xai.reporting.comparison_report import read_record, write_comparison_report

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


# --- The explain and counterfactual stages ------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Selection:
    """Which digits a stage works on: `good` correctly classified and `bad` misclassified
    ones from the pool, chosen by `rule` ("confident": the most confident of each kind;
    "random": a draw seeded by `seed`), per class when `per_class`. `seed` also seeds the
    methods' own randomness."""

    good: int = 4
    bad: int = 4
    rule: str = "confident"
    per_class: bool = False
    seed: int = 0

    def __post_init__(self):
        from attention_xai.errors import ConfigError

        if not (isinstance(self.good, int) and isinstance(self.bad, int)) or self.good < 0 or self.bad < 0:
            raise ConfigError(f"good and bad must be integers >= 0, got {self.good!r} and {self.bad!r}")
        if self.rule not in ("confident", "random"):
            raise ConfigError(f"rule must be 'confident' or 'random', got {self.rule!r}")

    def smoke(self) -> "Selection":
        """At most 2 digits of each kind (the smoke runs' selection)."""
        return dataclasses.replace(self, good=min(self.good, 2), bad=min(self.bad, 2))


SMOKE_POOL = 512


def test_pool(data=None, *, smoke: bool = False):
    """The test digits GOOD and BAD ones are chosen from, as model inputs, and their labels:
    all 10,000, or the first 512 for smoke runs."""
    from attention_xai.data import load_mnist, to_model_input

    data = data if data is not None else load_mnist()
    count = SMOKE_POOL if smoke else None
    return to_model_input(data.x_test[:count]), data.y_test[:count]


def method_params(own=None, given=None, ran: Sequence[str] = ()) -> dict:
    """Parameters by method: an experiment's own (`ExperimentConfig.method_params`) updated
    by `given` (for example from --set), for the methods in `ran`.

    Raises:
        ConfigError: `given` names a method that does not run, or `own` one that does not exist.
    """
    from attention_xai.errors import ConfigError
    from attention_xai.explain import ATTRIBUTIONS
    from attention_xai.explain.counterfactual import COUNTERFACTUALS

    own, given, ran = dict(own or {}), dict(given or {}), list(ran)
    names = [*ATTRIBUTIONS.names(), *COUNTERFACTUALS.names()]
    unused = [name for name in given if name not in ran]
    if unused:
        raise ConfigError(f"--set names {unused[0]!r}, which is not among the methods run ({', '.join(ran)})")
    unknown = [name for name in own if name not in names]
    if unknown:
        raise ConfigError(f"the experiment's method_params name {unknown[0]!r}, which is not a method; "
                          f"valid: {', '.join(names)}")
    return {name: {**own.get(name, {}), **given.get(name, {})} for name in ran if name in own or name in given}


def attribution_methods(names: Sequence[str] | None = None, params=None, *, seed: int = 0) -> dict:
    """Attribution method instances by name (every registered one when `names` is None),
    each with its parameters from `params` (name -> {key: value, as text or typed}).

    Raises:
        ConfigError: an unknown method, parameter name or a value of the wrong type.
    """
    from attention_xai.errors import ConfigError
    from attention_xai.explain import ATTRIBUTIONS

    names = ATTRIBUTIONS.names() if names is None else [str(n).strip().lower() for n in names]
    if not names:
        raise ConfigError("no attribution method named")
    params = params or {}
    return {name: ATTRIBUTIONS.get(name).from_text(params.get(name, {}), seed=seed) for name in names}


def counterfactual_names(names: Sequence[str] | str | None = None, resources=None) -> list[str]:
    """The counterfactual methods to run: `names`, or "all"; None: the default list, less
    the methods whose per-model helpers (seed siblings) this model lacks, each left out
    with a log line naming the command that trains them.

    Raises:
        ConfigError: an unknown method, or none named.
    """
    import logging

    from attention_xai.errors import ConfigError
    from attention_xai.explain.counterfactual import COUNTERFACTUALS, default_methods
    from attention_xai.explain.counterfactual.needs import Resources, missing_need

    if names is None:
        out = []
        for name in default_methods():
            missing = missing_need(COUNTERFACTUALS.get(name), resources or Resources())
            if missing:
                logging.getLogger(__name__).warning("%s: left out, %s", name, missing)
                continue
            out.append(name)
        return out
    if isinstance(names, str):
        names = COUNTERFACTUALS.names() if names.strip().lower() == "all" else names.split(",")
    out = [str(n).strip().lower() for n in names if str(n).strip()]
    if not out:
        raise ConfigError("no counterfactual method named")
    for name in out:
        COUNTERFACTUALS.get(name)  # ConfigError naming the valid methods
    return out


def counterfactual_methods(names: Sequence[str] | str | None = None, params=None, *, seed: int = 0,
                           smoke: bool = False, resources=None) -> dict:
    """Counterfactual method instances (`counterfactual_names` picks them), each with its
    parameters from `params`; every folder a method needs is taken from `resources`
    (`needs.Resources`) unless `params` names it; `smoke` applies the methods' smaller budgets.

    Raises:
        ConfigError: an unknown method, parameter name, or a value of the wrong type.
    """
    from attention_xai.explain.counterfactual import COUNTERFACTUALS
    from attention_xai.explain.counterfactual.needs import Resources, fill_needs

    resources = resources or Resources()
    params = params or {}
    methods = {}
    for name in counterfactual_names(names, resources):
        method = COUNTERFACTUALS.get(name)
        given = {**(method.smoke if smoke else {}), **params.get(name, {})}
        methods[name] = method(seed=seed, **fill_needs(method, given, resources))
    return methods


@contextlib.contextmanager
def _quiet_keras():
    """Mutes Keras' note that tf-keras-vis and SHAP call the model with a list where it names
    its input (harmless, and repeated on every call)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"The structure of `inputs` doesn't match", category=UserWarning)
        yield


def _classifier(model):
    from attention_xai.models import load_classifier

    return model if hasattr(model, "predict") else load_classifier(model)


def explain(model, images=None, labels=None, *, methods=None, selection: Selection | None = None,
            target: str = "predicted", metrics: bool = True, out_dir=None, arrays_dir=None):
    """Attribution maps of GOOD and BAD digits, with the trust tables.

    Args:
        model: a classifier, or the path of a .keras file.
        images, labels: the pool (N, 28, 28, 1) in [0, 1] and its true classes; labels None
            for a user's own digits (then every one is explained); images None: the
            official test set (`test_pool`).
        methods: name -> `Attribution` (`attribution_methods`), or names; None: all.
        selection: which digits (`Selection`).
        target: the class the maps explain, "predicted" or "true".
        metrics: compute the faithfulness, sanity and agreement tables.
        out_dir: write the grid, the tables and maps.npz there (None: write nothing);
            arrays_dir: keep maps.npz there instead (an experiment keeps it with its model).

    Returns:
        The stage's `Analysis` (explain.analysis).
    """
    import logging
    import time

    from attention_xai.explain.analysis import analyse

    model, selection = _classifier(model), selection or Selection()
    methods = methods if isinstance(methods, dict) else attribution_methods(methods, seed=selection.seed)
    if images is None:
        images, labels = test_pool()
    started = time.perf_counter()
    with _quiet_keras():
        analysis = analyse(model, images, labels, methods=methods, good=selection.good, bad=selection.bad,
                           rule=selection.rule, per_class=selection.per_class, target=target, seed=selection.seed,
                           metrics=metrics)
    if out_dir is not None:
        from attention_xai.reporting.attribution_report import write_attribution_report

        write_attribution_report(analysis, out_dir, arrays_dir)
    logging.getLogger(__name__).info("explain: %d digits x %d methods in %.0f s%s", len(analysis.images),
                                     len(analysis.explanations), time.perf_counter() - started,
                                     f" -> {out_dir}" if out_dir is not None else "")
    return analysis


def counterfactuals(model, images=None, labels=None, *, methods=None, selection: Selection | None = None,
                    target="auto", resources=None, data=None, out_dir=None, arrays_dir=None, explained=None):
    """Counterfactuals of GOOD and BAD digits by every method, measured by the judges.

    Args:
        model: a classifier, or the path of a .keras file (its folder is where its seed
            siblings and policy are looked for).
        images, labels: the pool, as for `explain`.
        methods: name -> `CounterfactualMethod` (`counterfactual_methods`), names, "all",
            or None for the default list.
        selection: which digits (`Selection`).
        target: "auto" (BAD digits towards their true class, the others towards the
            runner-up), "true", "runner-up", or a class 0-9.
        resources: where the autoencoders, VAE, judges and the model's own helpers are
            (`needs.Resources`; default: the shared folders, and the model file's folder).
        data: MNIST (its training digits serve the yNN plausibility column).
        out_dir, arrays_dir: as for `explain` (counterfactuals.npz).
        explained: the explain stage's `Analysis` of the same digits: its maps serve the
            overlap columns instead of being computed again.

    Returns:
        The stage's `CounterfactualAnalysis`.

    Raises:
        ArtifactError: a helper some method needs, the autoencoders or the judges are
            missing (before any search starts).
    """
    import logging
    import time
    from pathlib import Path

    from attention_xai.data import load_mnist, to_model_input
    from attention_xai.explain.counterfactual.analysis import analyse_counterfactuals
    from attention_xai.explain.counterfactual.needs import Resources, check_needs
    from attention_xai.models.autoencoder import load_autoencoders
    from attention_xai.models.judges import load_judges

    selection = selection or Selection()
    if resources is None:
        resources = Resources(model_dir=Path(model).parent if not hasattr(model, "predict") else None)
    model = _classifier(model)
    if not isinstance(methods, dict):
        methods = counterfactual_methods(methods, seed=selection.seed, resources=resources)
    # Everything the stage reads fails before any search when missing or of another format.
    autoencoders = load_autoencoders(resources.autoencoders)
    judges = load_judges(resources.judges)  # handed to the measurement only, after every search
    check_needs(methods.values())
    data = data if data is not None else load_mnist()
    if images is None:
        images, labels = test_pool(data)
    started = time.perf_counter()
    with _quiet_keras():
        analysis = analyse_counterfactuals(model, images, labels, methods=methods, good=selection.good,
                                           bad=selection.bad, rule=selection.rule, per_class=selection.per_class,
                                           target=target, seed=selection.seed, autoencoders=autoencoders,
                                           training_digits=to_model_input(data.x_train), judges=judges,
                                           explained=explained)
    if out_dir is not None:
        from attention_xai.reporting.counterfactual_report import write_counterfactual_report

        write_counterfactual_report(analysis, out_dir, arrays_dir)
    logging.getLogger(__name__).info("counterfactual: %d digits x %d methods in %.0f s%s", len(analysis.images),
                                     len(analysis.results), time.perf_counter() - started,
                                     f" -> {out_dir}" if out_dir is not None else "")
    return analysis


@dataclasses.dataclass(frozen=True)
class RunResult:
    """What `run` made for one experiment: the training result (or None when a finished
    model was reused), both stages' analyses, and the experiment's page."""

    model: object
    training: object
    attributions: object
    counterfactuals: object
    page: object


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


def run(config: ExperimentConfig, *, models_dir="saved_models", reports_dir="reports", data=None,
        methods=None, cf_methods=None, params=None, selection: Selection | None = None, resources=None,
        target: str = "predicted", metrics: bool = True, smoke: bool = False, reuse: bool = False,
        fresh: bool = False, verbose="auto", tensorboard: bool = False,
        cluster_timeout: float | None = None) -> RunResult:
    """Every stage of one experiment in order: train (or resume, or with `reuse` keep a
    finished model of the same config), explain, counterfactuals (reusing the explain
    stage's maps for the overlap columns), and the experiment's page.

    Args:
        config: from `resolve_experiment`.
        methods, cf_methods: attribution and counterfactual method names (None: the
            defaults; cf_methods may be "all").
        params: name -> {key: value} for either family, over the experiment's own
            `method_params`.
        selection: which digits both stages explain.
        target, metrics: as for `explain` (the counterfactuals' targets follow "auto").
        resources: the shared helpers' folders (`needs.Resources`; its model_dir becomes
            this experiment's model folder).
        smoke: the methods' smaller budgets, the first 512 test digits and at most 2 of
            each kind (shrink the config itself with `resolve_experiment(smoke=True)`).
        Others: as for `train`.

    Raises:
        ConfigError: a bad method name or parameter, before anything is trained.
    """
    import logging

    from attention_xai.artifacts import ExperimentPaths
    from attention_xai.data import load_mnist
    from attention_xai.explain.counterfactual.needs import Resources
    from attention_xai.reporting import write_training_report

    selection = selection or Selection()
    selection = selection.smoke() if smoke else selection
    paths = ExperimentPaths(config.name, models_dir, reports_dir)
    resources = dataclasses.replace(resources or Resources(), model_dir=paths.model_dir)
    # Bad names and parameters of either stage fail before training.
    names = list(attribution_methods(methods))
    cf_names = counterfactual_names(cf_methods, resources)
    merged = method_params(config.method_params, params, [*names, *cf_names])
    explainers = attribution_methods(names, merged, seed=selection.seed)
    searchers = counterfactual_methods(cf_names, merged, seed=selection.seed, resources=resources, smoke=smoke)
    data = data if data is not None else load_mnist()
    images, labels = test_pool(data, smoke=smoke)
    model = finished_model(config, models_dir=models_dir, reports_dir=reports_dir) if reuse else None
    training = None
    if model is None:
        training = train(config, models_dir=models_dir, reports_dir=reports_dir, data=data, fresh=fresh,
                         verbose=verbose, tensorboard=tensorboard, cluster_timeout=cluster_timeout)
        model = training.model
    else:
        logging.getLogger(__name__).info("%s: reusing the finished model in %s", config.name, paths.model)
    attributions = explain(model, images, labels, methods=explainers, selection=selection, target=target,
                           metrics=metrics, out_dir=paths.report_dir / "attributions",
                           arrays_dir=paths.model_dir / "attributions")
    found = counterfactuals(model, images, labels, methods=searchers, selection=selection, resources=resources,
                            data=data, out_dir=paths.report_dir / "counterfactuals",
                            arrays_dir=paths.model_dir / "counterfactuals", explained=attributions)
    page = write_training_report(paths)
    logging.getLogger(__name__).info("report: %s", page)
    return RunResult(model=model, training=training, attributions=attributions, counterfactuals=found, page=page)
