"""The pipeline as a notebook calls it (`attention_xai.pipeline`), and the command line on
top of it naming the same models."""

import ast

import numpy as np
import pytest

from attention_xai.cli import build_parser
from attention_xai.cli.commands import _configs
from attention_xai.errors import ConfigError
from attention_xai.pipeline import resolve_experiment, with_seeds
from conftest import ROOT

ROOT_MODELS = ROOT / "saved_models"


def test_an_experiment_with_overrides_names_the_model_it_trains():
    config = resolve_experiment("quick", backbone="resnet50", attention="GC", image_size=64)
    assert config.name == "quick-resnet50-gc-64"
    assert (config.model.backbone, config.model.attention, config.model.image_size) == ("ResNet50", "gc", 64)
    # The experiment's own backbone and module options do not follow onto others.
    assert config.model.backbone_kwargs == {} and config.model.attention_kwargs == {}
    assert resolve_experiment("quick", attention="cbam").model.attention_kwargs == \
        resolve_experiment("quick").model.attention_kwargs
    distributed = resolve_experiment("quick", distribute=True)
    assert distributed.name == "quick" and distributed.training.distribute  # how, not what
    assert resolve_experiment(None).name == "quick"
    assert [c.name for c in with_seeds(resolve_experiment("quick", smoke=True), [0, 2])] == \
        ["quick_smoke-seed0", "quick_smoke-seed2"]


def test_the_command_line_resolves_through_the_library():
    args = build_parser().parse_args(["train", "quick", "--backbone", "ResNet50", "--attention", "gc",
                                      "--seeds", "0,1"])
    assert _configs(args) == with_seeds(resolve_experiment("quick", backbone="ResNet50", attention="gc"), [0, 1])


@pytest.mark.parametrize("kwargs, message", [
    ({"experiment": "quik"}, "unknown experiment 'quik'"),
    ({"backbone": "ResNet51"}, "unknown backbone 'ResNet51'"),
    ({"attention": "transformer"}, "unknown attention module 'transformer'"),
    ({"image_size": 8}, "image_size must be"),
])
def test_a_bad_override_is_a_config_error(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        resolve_experiment(**{"experiment": "quick", **kwargs})


@pytest.mark.slow  # trains an epoch
def test_train_from_python_exports_where_the_command_line_would(mnist, tmp_path, caplog):
    import json
    import logging

    from attention_xai.artifacts import ExperimentPaths
    from attention_xai.pipeline import train
    from conftest import tiny_experiment

    with caplog.at_level(logging.INFO, logger="attention_xai"):
        result = train(tiny_experiment(epochs=1), models_dir=tmp_path / "models", reports_dir=tmp_path / "reports",
                       data=mnist, verbose=0)
    paths = ExperimentPaths("tiny", tmp_path / "models", tmp_path / "reports")
    recorded = json.loads(paths.metrics.read_text())
    assert paths.model.is_file() and recorded["test_accuracy"] == result.metrics["test_accuracy"]
    assert "tiny: trained in" in caplog.text


@pytest.mark.slow  # uses the session's tiny trained run
def test_report_from_python_names_what_it_wrote_and_what_it_could_not(tiny_run, tmp_path):
    from attention_xai.errors import ArtifactError
    from attention_xai.pipeline import report
    from conftest import copy_run

    paths = copy_run(tiny_run, tmp_path / "run")
    written = report(["tiny", "missing"], models_dir=paths.models_root, reports_dir=paths.reports_root)
    assert written.pages["tiny"].is_file() and list(written.failed) == ["missing"]
    assert "missing" in written.failed["missing"] and written.compared == 1 and written.comparison.is_file()
    with pytest.raises(ArtifactError, match="no experiment has artifacts under"):
        report(models_dir=tmp_path / "empty", reports_dir=tmp_path / "reports")


@pytest.mark.slow  # uses the session's tiny trained run
def test_evaluate_from_python_gives_the_recorded_test_metrics(tiny_run, mnist):
    import json

    from attention_xai.models import load_classifier
    from attention_xai.pipeline import evaluate

    model = tiny_run / "models" / "tiny" / "model.keras"
    recorded = json.loads((model.parent / "metrics.json").read_text())  # tiny tests on its first 128 digits
    by_path = evaluate(model, limit=128, data=mnist)
    assert by_path["test_size"] == 128 and by_path["test_accuracy"] == pytest.approx(recorded["test_accuracy"])
    assert evaluate(load_classifier(model), limit=128, data=mnist) == by_path
    with pytest.raises(ConfigError, match="limit must be a positive integer, got 0"):
        evaluate(model, limit=0, data=mnist)


def test_a_declared_need_is_filled_checked_and_left_out_by_kind_not_by_name(tmp_path):
    """Methods declare the trained helpers they need; the stage finds them under Resources,
    leaves a default method out when its per-model helper is missing, and fails before any
    search when an asked-for one is missing. Nothing here names a method to do so."""
    from attention_xai.errors import ArtifactError
    from attention_xai.explain.counterfactual import COUNTERFACTUALS, default_methods
    from attention_xai.explain.counterfactual.needs import NEEDS, Resources, check_needs
    from attention_xai.pipeline import counterfactual_methods, counterfactual_names

    assert all(kind in NEEDS for name in COUNTERFACTUALS for kind in COUNTERFACTUALS.get(name).needs.values())
    model_dir = tmp_path / "quick"
    model_dir.mkdir()
    resources = Resources(autoencoders=tmp_path / "ae", vae=tmp_path / "vae", model_dir=model_dir)
    cfrl = counterfactual_methods(["alibi_cfrl"], resources=resources)["alibi_cfrl"]
    assert cfrl.params["directory"] == str(model_dir / "cfrl") and cfrl.params["autoencoders"] == str(tmp_path / "ae")
    given = counterfactual_methods(["alibi_cfrl"], {"alibi_cfrl": {"directory": "mine"}}, resources=resources)
    assert given["alibi_cfrl"].params["directory"] == "mine"  # what the caller names wins
    with pytest.raises(ArtifactError, match=f"no trained CounterfactualRL policy in {model_dir / 'cfrl'}"):
        check_needs([COUNTERFACTUALS.get("alibi_cfrl")(directory=str(model_dir / "cfrl"),
                                                       autoencoders=str(ROOT_MODELS / "autoencoders"))])
    per_model = [n for n in default_methods() if any(NEEDS[k].per_model for k in COUNTERFACTUALS.get(n).needs.values())]
    assert per_model == ["revise_siblings"]
    assert counterfactual_names(None, resources) == [n for n in default_methods() if n not in per_model]
    (model_dir / "siblings").mkdir()
    assert counterfactual_names(None, resources) == default_methods()
    with pytest.raises(ConfigError, match="revise_siblings needs the model's seed siblings .* has no folder"):
        counterfactual_methods(["revise_siblings"], resources=Resources())


def test_the_command_line_special_cases_no_method_by_name():
    from attention_xai.explain import ATTRIBUTIONS
    from attention_xai.explain.counterfactual import COUNTERFACTUALS

    names = [n for n in [*ATTRIBUTIONS.names(), *COUNTERFACTUALS.names()] if n != "attention"]  # also a model option
    modules = sorted(p for folder in ("cli", "pipeline") for p in (ROOT / "attention_xai" / folder).glob("*.py"))
    assert len(modules) >= 5
    for module in modules:
        tree = ast.parse(module.read_text())
        docstrings = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)}
        texts = {node.value for node in ast.walk(tree)
                 if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings}
        named = [n for n in names if n in texts]
        assert named == [], f"{module.name} names {named}"


@pytest.mark.slow  # uses the session's tiny trained run
def test_explain_and_counterfactuals_from_python_return_results_and_write_only_when_asked(
        tiny_run, mnist, judges_dir, tmp_path, caplog):
    import logging

    from attention_xai.data import to_model_input
    from attention_xai.explain.counterfactual.needs import Resources
    from attention_xai.pipeline import Selection, counterfactual_methods, counterfactuals, explain

    model = tiny_run / "models" / "tiny" / "model.keras"
    pool = to_model_input(mnist.x_test[:128]), mnist.y_test[:128]
    selection = Selection(good=1, bad=1)
    maps = explain(model, *pool, methods=["gradcam", "occlusion"], selection=selection, metrics=False)
    assert [e.method for e in maps.explanations] == ["gradcam", "occlusion"]
    assert list(maps.samples.kind) == ["GOOD", "BAD"] and maps.faithfulness == []
    assert list(tmp_path.iterdir()) == []  # nothing written without out_dir
    resources = Resources(autoencoders=ROOT_MODELS / "autoencoders", judges=judges_dir, model_dir=model.parent)
    methods = counterfactual_methods(["growing_spheres"], smoke=True, resources=resources)
    with caplog.at_level(logging.INFO, logger="attention_xai"):
        found = counterfactuals(model, *pool, methods=methods, selection=selection, resources=resources, data=mnist,
                                out_dir=tmp_path / "cf", explained=maps)
    assert [r.method for r in found.results] == ["growing_spheres"] and len(found.targets) == 2
    assert (tmp_path / "cf" / "counterfactuals.npz").is_file()
    assert "overlap with the explain stage's maps of gradcam, occlusion" in caplog.text
    # The overlap compares with the explained methods only, and the pool is not predicted again.
    assert [e.method for e in found.attributions] == ["gradcam", "occlusion"]
    assert "the explain stage's predictions of the 128 pool digits" in caplog.text
    assert np.array_equal(found.samples.indices, maps.samples.indices)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="attention_xai"):
        other = counterfactuals(model, pool[0][:100], pool[1][:100], methods=methods, selection=selection,
                                resources=resources, data=mnist, explained=maps, overlap_methods=["gradcam"])
    assert "pool digits" not in caplog.text  # another pool: predicted here
    assert [e.method for e in other.attributions] == ["gradcam"]
    with pytest.raises(ConfigError, match="good and bad must be integers >= 0"):
        Selection(good=-1)
    with pytest.raises(ConfigError, match="table_digits must be an integer >= 0, got -5"):
        Selection(table_digits=-5)
    with pytest.raises(ConfigError, match="pool must be an integer >= 1 or None, got 0"):
        Selection(pool=0)
    assert Selection(good=4, bad=4, table_digits=100).smoke() == Selection(good=2, bad=2, table_digits=8)


def test_a_notebook_sees_the_stages_progress_and_a_missing_model_in_one_line(tmp_path, capsys, request):
    import logging

    from attention_xai.errors import ArtifactError
    from attention_xai.logs import show_progress
    from attention_xai.pipeline import saved_model

    log = logging.getLogger("attention_xai")
    before = (list(log.handlers), log.level, log.propagate)
    request.addfinalizer(lambda: (setattr(log, "handlers", before[0]), log.setLevel(before[1]),
                                  setattr(log, "propagate", before[2])))
    assert show_progress() is log
    show_progress()  # a second call adds no second handler
    logging.getLogger("attention_xai.pipeline.stages").info("explain: 8 digits x 8 methods in 14 s")
    assert capsys.readouterr().err == "[attention_xai] explain: 8 digits x 8 methods in 14 s\n"
    show_progress(logging.WARNING)
    logging.getLogger("attention_xai.pipeline.stages").info("hidden")
    assert capsys.readouterr().err == "" and log.level == logging.WARNING
    assert saved_model("quick", models_dir=ROOT_MODELS).model.is_file()
    with pytest.raises(ArtifactError, match=r"no trained model for 'quick' .* run `python -m attention_xai train "
                                            r"quick` first"):
        saved_model("quick", models_dir=tmp_path)


def test_method_lists_are_read_the_same_for_both_families():
    from attention_xai.pipeline import attribution_names, counterfactual_names

    assert attribution_names(" GradCAM,,occlusion, ") == ["gradcam", "occlusion"]
    assert attribution_names(["rise"]) == ["rise"] and len(attribution_names()) == 10
    assert counterfactual_names("revise,,gradient,") == ["revise", "gradient"]
    for names, message in ((",", "no attribution method named"), ("gradcm", "unknown attribution method 'gradcm'")):
        with pytest.raises(ConfigError, match=message):
            attribution_names(names)
