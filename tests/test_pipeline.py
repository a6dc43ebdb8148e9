"""The pipeline as a notebook calls it (`attention_xai.pipeline`), and the command line on
top of it naming the same models."""

import pytest

from attention_xai.cli import _configs, build_parser
from attention_xai.errors import ConfigError
from attention_xai.pipeline import resolve_experiment, with_seeds


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
