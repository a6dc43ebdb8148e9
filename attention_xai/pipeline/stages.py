"""The explain and counterfactual stages, and `run`, which chains every stage of an experiment."""

from __future__ import annotations

import contextlib
import dataclasses
import warnings
from pathlib import Path
from typing import Sequence

from attention_xai.config import ExperimentConfig
from attention_xai.pipeline.experiments import finished_model, train


def tensorflow_missing() -> str | None:
    """None when the stages that need TensorFlow (explain, counterfactuals and the helpers
    they train) can run here; else why not."""
    import keras

    if keras.backend.backend() != "tensorflow":
        return (f"needs the TensorFlow backend, and KERAS_BACKEND is {keras.backend.backend()}: train with any "
                f"backend, then run this stage with KERAS_BACKEND=tensorflow on the exported model")
    try:
        import tensorflow  # noqa: F401
    except ImportError:
        return "needs TensorFlow, which is not installed here (pip install -r requirements.txt)"
    return None


def require_tensorflow(what: str) -> None:
    """ConfigError "<what> needs the TensorFlow backend ..." unless TensorFlow runs here."""
    from attention_xai.errors import ConfigError

    why = tensorflow_missing()
    if why:
        raise ConfigError(f"{what} {why}")


TABLE_DIGITS = 100
"""Digits the explain stage's faithfulness table measures by default; the figure shows 8 of
them. On the quick model the 95% interval of insertion AUC was 0.08-0.38 wide at 8 digits
and 0.04-0.14 at 100."""


CALIBRATION_DIGITS = 64
"""Test digits on which a dead randomised copy's normalisation statistics are re-estimated
(`evaluate.sanity.reestimate_batch_norm`)."""


@dataclasses.dataclass(frozen=True)
class Selection:
    """Which digits a stage works on: `good` correctly classified and `bad` misclassified
    ones from the pool, chosen by `rule` ("confident": the most confident of each kind;
    "random": a draw seeded by `seed`), per class when `per_class`. `seed` also seeds the
    methods' own randomness.

    The explain stage's figure shows those digits; its faithfulness table measures
    `table_digits` (the figure's, then more by the same rule, half of each kind), and its
    randomisation tests and robustness metrics the first `sanity_digits` of them (each
    costs several more explanations per digit). A randomised copy of the sanity check that
    ignores its input has its normalisation statistics re-estimated on `calibration_digits`
    other test digits (0: never). The counterfactual stage reads none of these.

    `pool` limits the test digits both stages choose from to the first `pool` (None: all
    10,000). Each stage predicts its whole pool once; a 224x224 ResNet50 takes about 5
    minutes for 10,000 digits on 2 cores."""

    good: int = 4
    bad: int = 4
    rule: str = "confident"
    per_class: bool = False
    seed: int = 0
    table_digits: int = TABLE_DIGITS
    sanity_digits: int = 4
    calibration_digits: int = CALIBRATION_DIGITS
    pool: int | None = None

    def __post_init__(self):
        from attention_xai.errors import ConfigError

        if not (isinstance(self.good, int) and isinstance(self.bad, int)) or self.good < 0 or self.bad < 0:
            raise ConfigError(f"good and bad must be integers >= 0, got {self.good!r} and {self.bad!r}")
        for name in ("table_digits", "sanity_digits", "calibration_digits"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ConfigError(f"{name} must be an integer >= 0, got {value!r}")
        if self.rule not in ("confident", "random"):
            raise ConfigError(f"rule must be 'confident' or 'random', got {self.rule!r}")
        if self.pool is not None and (not isinstance(self.pool, int) or isinstance(self.pool, bool) or self.pool < 1):
            raise ConfigError(f"pool must be an integer >= 1 or None, got {self.pool!r}")

    def smoke(self) -> "Selection":
        """At most 2 digits of each kind in the figure, 8 in the tables (the smoke runs' selection)."""
        return dataclasses.replace(self, good=min(self.good, 2), bad=min(self.bad, 2),
                                   table_digits=min(self.table_digits, 8), sanity_digits=min(self.sanity_digits, 4))


SMOKE_POOL = 512


def digit_pool(data=None, *, smoke: bool = False, limit: int | None = None):
    """The test digits GOOD and BAD ones are chosen from, as model inputs, and their labels:
    all 10,000, the first `limit`, or at most the first 512 for smoke runs."""
    from attention_xai.data import load_mnist, to_model_input

    data = data if data is not None else load_mnist()
    counts = [c for c in (SMOKE_POOL if smoke else None, limit) if c is not None]
    count = min(counts) if counts else None
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


def _listed(names: Sequence[str] | str) -> list[str]:
    """Method names from a list or comma-separated text, stripped and lower-cased, blanks dropped."""
    names = names.split(",") if isinstance(names, str) else names
    return [str(n).strip().lower() for n in names if str(n).strip()]


def attribution_names(names: Sequence[str] | str | None = None) -> list[str]:
    """The attribution methods to run: `names` (a list or comma-separated text), or every
    registered one when None.

    Raises:
        ConfigError: an unknown method (naming the valid ones), or none named.
    """
    require_tensorflow("the explain stage")
    from attention_xai.errors import ConfigError
    from attention_xai.explain import ATTRIBUTIONS

    if names is None:
        return ATTRIBUTIONS.names()
    out = _listed(names)
    if not out:
        raise ConfigError("no attribution method named")
    for name in out:
        ATTRIBUTIONS.get(name)  # ConfigError naming the valid methods
    return out


def attribution_methods(names: Sequence[str] | str | None = None, params=None, *, seed: int = 0) -> dict:
    """Attribution method instances (`attribution_names` picks them), each with its
    parameters from `params` (name -> {key: value, as text or typed}).

    Raises:
        ConfigError: an unknown method, parameter name or a value of the wrong type.
    """
    from attention_xai.explain import ATTRIBUTIONS

    params = params or {}
    return {name: ATTRIBUTIONS.get(name).from_text(params.get(name, {}), seed=seed)
            for name in attribution_names(names)}


def counterfactual_names(names: Sequence[str] | str | None = None, resources=None) -> list[str]:
    """The counterfactual methods to run: `names`, or "all"; None: the default list, less
    the methods whose per-model helpers (seed siblings) this model lacks, each left out
    with a log line naming the command that trains them.

    Raises:
        ConfigError: an unknown method, or none named.
    """
    import logging

    require_tensorflow("the counterfactual stage")
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
    out = COUNTERFACTUALS.names() if isinstance(names, str) and names.strip().lower() == "all" else _listed(names)
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
            official test set (`digit_pool`).
        methods: name -> `Attribution` (`attribution_methods`), or names (`attribution_names`);
            None: all.
        selection: which digits (`Selection`).
        target: the class the maps explain, "predicted" or "true".
        metrics: compute the faithfulness, sanity and agreement tables.
        out_dir: write the grid, the tables and maps.npz there (None: write nothing);
            arrays_dir: keep maps.npz there instead (an experiment keeps it with its model).

    Returns:
        The stage's `Analysis` (explain.analysis).
    """
    import time

    require_tensorflow("the explain stage")
    from attention_xai.explain.analysis import analyse

    model, selection = _classifier(model), selection or Selection()
    methods = methods if isinstance(methods, dict) else attribution_methods(methods, seed=selection.seed)
    if images is None:
        images, labels = digit_pool(limit=selection.pool)
    started = time.perf_counter()
    with _quiet_keras():
        analysis = analyse(model, images, labels, methods=methods, good=selection.good, bad=selection.bad,
                           rule=selection.rule, per_class=selection.per_class, target=target, seed=selection.seed,
                           table_digits=selection.table_digits, sanity_digits=selection.sanity_digits,
                           calibration_digits=selection.calibration_digits, metrics=metrics)
    from attention_xai.reporting.attributions import MAPS, redraw_attribution_report

    return _finish("explain", analysis, len(analysis.explanations), started, out_dir, arrays_dir, MAPS,
                   redraw_attribution_report)


def counterfactuals(model, images=None, labels=None, *, methods=None, selection: Selection | None = None,
                    target="auto", resources=None, data=None, out_dir=None, arrays_dir=None, explained=None,
                    overlap_methods=None):
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
        explained: the explain stage's `Analysis` of the same model: its maps serve the
            overlap columns instead of being computed again, and its predictions of the
            same pool choose the digits.
        overlap_methods: attribution methods whose maps the overlap columns compare with
            where each counterfactual changes pixels (names; default: the methods of
            `explained` when given, else every registered method). Checked before any search.

    Returns:
        The stage's `CounterfactualAnalysis`.

    Raises:
        ArtifactError: a helper some method needs, the autoencoders or the judges are
            missing (before any search starts).
    """
    import time

    require_tensorflow("the counterfactual stage")
    from attention_xai.data import load_mnist, to_model_input
    from attention_xai.explain.counterfactual.analysis import analyse_counterfactuals
    from attention_xai.explain.counterfactual.needs import Resources, check_needs
    from attention_xai.models.autoencoder import load_autoencoders
    from attention_xai.models.judges import load_judges

    selection = selection or Selection()
    if overlap_methods is not None:
        overlap_methods = attribution_names(overlap_methods)
    elif explained is not None:
        overlap_methods = [e.method for e in explained.explanations]
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
        images, labels = digit_pool(data, limit=selection.pool)
    started = time.perf_counter()
    with _quiet_keras():
        analysis = analyse_counterfactuals(model, images, labels, methods=methods, good=selection.good,
                                           bad=selection.bad, rule=selection.rule, per_class=selection.per_class,
                                           target=target, seed=selection.seed, autoencoders=autoencoders,
                                           training_digits=to_model_input(data.x_train), judges=judges,
                                           explained=explained, overlap_methods=overlap_methods)
    from attention_xai.reporting.counterfactuals import ARRAYS, redraw_counterfactual_report

    return _finish("counterfactual", analysis, len(analysis.results), started, out_dir, arrays_dir, ARRAYS,
                   redraw_counterfactual_report)


def _finish(stage: str, analysis, methods: int, started: float, out_dir, arrays_dir, filename: str, redraw):
    """A stage's ending: with `out_dir`, the analysis saves itself (in `arrays_dir`, default
    `out_dir`) and the report is drawn from that file; one log line; the analysis back."""
    import logging
    import time

    if out_dir is not None:
        arrays = Path(arrays_dir or out_dir)
        analysis.save(arrays / filename)
        redraw(arrays, out_dir)
    digits = f"{len(analysis.images)} digits"
    measured = dict(getattr(analysis, "selection", {})).get("table_digits", len(analysis.images))
    if measured != len(analysis.images):
        digits += f" shown ({measured} measured)"
    logging.getLogger(__name__).info("%s: %s x %d methods in %.0f s%s", stage, digits, methods,
                                     time.perf_counter() - started, f" -> {out_dir}" if out_dir is not None else "")
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
    from attention_xai.reporting import write_experiment_page

    selection = selection or Selection()
    selection = selection.smoke() if smoke else selection
    paths = ExperimentPaths(config.name, models_dir, reports_dir)
    resources = dataclasses.replace(resources or Resources(), model_dir=paths.model_dir)
    # Bad names and parameters of either stage fail before training.
    names = attribution_names(methods)
    cf_names = counterfactual_names(cf_methods, resources)
    merged = method_params(config.method_params, params, [*names, *cf_names])
    explainers = attribution_methods(names, merged, seed=selection.seed)
    searchers = counterfactual_methods(cf_names, merged, seed=selection.seed, resources=resources, smoke=smoke)
    data = data if data is not None else load_mnist()
    images, labels = digit_pool(data, smoke=smoke, limit=selection.pool)
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
    page = write_experiment_page(paths)
    logging.getLogger(__name__).info("report: %s", page)
    return RunResult(model=model, training=training, attributions=attributions, counterfactuals=found, page=page)
