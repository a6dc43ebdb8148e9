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

    experiments.py  resolve_experiment, with_seeds, train, evaluate, saved_model, finished_model
    stages.py       Selection, explain, counterfactuals, run, and the method lists they take
    helpers.py      the counterfactual stage's trained helpers (autoencoders, VAE, judges,
                    a model's seed siblings and CounterfactualRL policy)
    reports.py      report, report_experiment: pages from saved artifacts only
"""

from attention_xai.pipeline.experiments import (evaluate, finished_model, resolve_experiment, saved_model, train,
                                                with_seeds)
from attention_xai.pipeline.helpers import (train_autoencoders, train_judges, train_policy, train_siblings,
                                            train_vae, training_split)
from attention_xai.pipeline.reports import Reports, experiments_with_artifacts, report, report_experiment
from attention_xai.pipeline.stages import (SMOKE_POOL, RunResult, Selection, attribution_methods, attribution_names,
                                           counterfactual_methods, counterfactual_names, counterfactuals, explain,
                                           method_params, run, digit_pool)

__all__ = ["RunResult", "Reports", "SMOKE_POOL", "Selection", "attribution_methods", "attribution_names",
           "counterfactual_methods", "counterfactual_names", "counterfactuals", "digit_pool", "evaluate",
           "experiments_with_artifacts", "explain", "finished_model", "method_params", "report", "report_experiment",
           "resolve_experiment", "run", "saved_model", "train", "train_autoencoders", "train_judges", "train_policy",
           "train_siblings", "train_vae", "training_split", "with_seeds"]
