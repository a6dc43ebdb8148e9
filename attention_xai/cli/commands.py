"""The commands: each parses nothing itself (parser.py did) and calls the pipeline
(`attention_xai.pipeline`), which a notebook calls the same way. Errors a user can cause end
in one line on stderr and exit code 2."""

from __future__ import annotations

import json
import logging
import sys
import time
import warnings
from pathlib import Path

from attention_xai.cli.parser import EXIT_USER_ERROR, build_parser
from attention_xai.errors import AttentionXaiError, ConfigError

log = logging.getLogger("attention_xai")
NEEDS_TENSORFLOW = ("explain", "counterfactual", "autoencoders", "vae", "cfrl", "siblings", "run")


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


def _verbose(args):
    return 0 if args.quiet else (1 if sys.stdout.isatty() else 2)


def _mnist(args):
    from attention_xai.data import load_mnist

    return load_mnist(args.data)


def _selection(args):
    from attention_xai.pipeline import Selection

    tables = {name: getattr(args, name) for name in ("table_digits", "sanity_digits", "calibration_digits")
              if hasattr(args, name)}
    selection = Selection(good=args.good, bad=args.bad, rule=args.rule, per_class=args.per_class, seed=args.seed,
                          pool=args.pool, **tables)
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


def _names(text: str | None, what: str = "method", flag: str = "--methods") -> str | None:
    """--methods (or --cf-methods, --overlap) as given; one line for a list that names nothing."""
    if text is not None and not [n for n in text.split(",") if n.strip()]:
        raise ConfigError(f"{flag} names no {what}")
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
    if args.images is not None and args.pool is not None:
        raise ConfigError("--pool chooses among the test digits; with --images every image is used")
    model_file, paths = _model_file(args)
    built = methods(model_file)
    model, data = load_classifier(model_file), _mnist(args)
    if args.images is None:
        images, labels = digit_pool(data, smoke=args.smoke, limit=args.pool)
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
    from attention_xai.pipeline import (attribution_names, counterfactual_methods, counterfactual_names,
                                        counterfactuals)

    def methods(model_file):
        resources = _resources(args, model_file.parent)
        names = counterfactual_names(_names(args.cf_methods, "counterfactual method"), resources)
        return counterfactual_methods(names, _params(args, names), seed=args.seed, smoke=args.smoke,
                                      resources=resources)

    overlap = _names(args.overlap, "attribution method", "--overlap")
    overlap = None if overlap is None else attribution_names(overlap)  # a misspelled one fails before any search
    built, model, data, images, labels, paths, out, arrays = _stage(args, "counterfactuals", methods)
    counterfactuals(model, images, labels, methods=built, selection=_selection(args), target=args.target,
                    resources=_resources(args), data=data, out_dir=out, arrays_dir=arrays, overlap_methods=overlap)
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
