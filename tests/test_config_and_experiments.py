import dataclasses
import json

import pytest

from attention_xai.config import ExperimentConfig, ModelConfig, Phase, TrainConfig
from attention_xai.errors import ConfigError
from attention_xai.experiment import available_experiments, experiments_dir, load_experiment
from attention_xai.models import check_model_config
from conftest import ROOT


SEED_BACKBONES = {"seed_resnet50_cbam": "ResNet50", "seed_efficientnetb0_cbam": "EfficientNetB0",
                  "seed_mobilenetv2_cbam": "MobileNetV2", "seed_densenet121_frozen": "DenseNet121"}


def test_every_experiment_loads_and_is_valid():
    names = available_experiments()
    assert "quick" in names and len(names) >= 13
    for name in names:
        config = load_experiment(name)
        assert config.name == name
        check_model_config(config.model)
        assert config.smoke().training.epochs == len(config.training.phases)
        assert config.smoke().method_params == {}
        _check_method_params(config)


def _check_method_params(config):
    """Every parameter an experiment gives its methods is a parameter of that method, of its type."""
    from attention_xai.explain import ATTRIBUTIONS
    from attention_xai.explain.counterfactual import COUNTERFACTUALS
    from attention_xai.params import resolve_params

    for name, given in config.method_params.items():
        if name in COUNTERFACTUALS.names():
            resolve_params(name, COUNTERFACTUALS.get(name).defaults, given)
        else:
            ATTRIBUTIONS.get(name).from_text(given)


def test_the_quick_experiment_carries_a_smaller_growing_spheres_budget():
    quick = load_experiment("quick")
    assert quick.method_params == {"growing_spheres": {"samples": 250}}
    _check_method_params(quick)
    # Its own parameters are not what the model is: resume and --reuse still match the committed run.
    assert ExperimentConfig.trained(quick.to_dict()) == ExperimentConfig.trained(
        dataclasses.replace(quick, method_params={}).to_dict())
    with pytest.raises(ConfigError, match="unknown parameter 'sample' for growing_spheres"):
        _check_method_params(dataclasses.replace(quick, method_params={"growing_spheres": {"sample": 250}}))


def test_seed_configurations_exist_with_imagenet_and_from_scratch_variants():
    for name, backbone in SEED_BACKBONES.items():
        config = load_experiment(name)
        assert config.model.backbone == backbone and config.model.image_size == 224
        assert config.model.weights == "imagenet"
        scratch = load_experiment(name.replace("_frozen", "") + "_scratch")
        assert scratch.model.backbone == backbone and scratch.model.weights is None
    frozen = load_experiment("seed_densenet121_frozen")
    assert [(p.trainable, p.epochs) for p in frozen.training.phases][0] == ("head", 4)
    assert frozen.model.head_dropout == 0 and frozen.model.attention == "none"


def test_ablation_family_changes_only_the_attention_module():
    """Each cell is the quick model with another module (and that module's options), on the
    12-pass schedule its committed models were trained with; the cbam cell is quick's model."""
    from attention_xai.presets import QUICK_12_PASSES

    configs = {a: load_experiment(f"ablation_{a}") for a in ["none", "se", "cbam", "pam", "gc"]}
    assert {c.model.attention for c in configs.values()} == set(configs)
    quick = load_experiment("quick")
    for config in configs.values():
        assert dataclasses.replace(config.model, attention=quick.model.attention,
                                   attention_kwargs=quick.model.attention_kwargs) == quick.model
        assert config.training == QUICK_12_PASSES and config.seed == quick.seed
    assert configs["cbam"].model == quick.model and configs["none"].model.attention_kwargs == {}


def test_every_committed_model_was_trained_by_its_experiment_file():
    """`--reuse`, `report` and the comparison page trust a model's recorded config: each
    committed model's metrics.json must record what its experiment file (the folder name,
    less any -seed<k>) trains today."""
    from attention_xai.training import same_config

    models = [m for m in sorted((ROOT / "saved_models").glob("*/metrics.json"))
              if "config" in json.loads(m.read_text())]
    assert len(models) >= 19
    for metrics in models:
        recorded = json.loads(metrics.read_text())["config"]
        config = load_experiment(metrics.parent.name.split("-seed")[0])
        config = dataclasses.replace(config, name=recorded["name"], seed=recorded["seed"])
        assert same_config(recorded, config), metrics.parent.name


def test_importing_an_experiment_has_no_side_effects(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    load_experiment(str(experiments_dir() / "quick.py"))
    assert list(tmp_path.iterdir()) == []


def test_smoke_shrinks_any_experiment():
    smoke = load_experiment("seed_resnet50_cbam", smoke=True)
    assert smoke.name == "seed_resnet50_cbam_smoke"
    assert smoke.model.image_size == 32 and smoke.training.train_limit == 256 and smoke.training.epochs == 1


@pytest.mark.parametrize("build, message", [
    (lambda: Phase(epochs=0), "epochs"),
    (lambda: Phase(epochs=1, learning_rate=-1), "learning_rate"),
    (lambda: Phase(epochs=1, trainable="some"), "trainable"),
    (lambda: Phase(epochs=1, anneal="cosin"), "anneal must be one of constant, cosine, got 'cosin'"),
    (lambda: ModelConfig(image_size=16), "image_size"),
    (lambda: ModelConfig(head_dropout=1.5), "head_dropout"),
    (lambda: TrainConfig(batch_size=0), "batch_size"),
    (lambda: TrainConfig(checks_per_epoch=0), "checks_per_epoch must be a positive integer"),
    (lambda: TrainConfig(checks_per_epoch=2.5), "checks_per_epoch must be a positive integer"),
    (lambda: ExperimentConfig(name="bad name!"), "name"),
])
def test_invalid_values_are_config_errors(build, message):
    with pytest.raises(ConfigError, match=message):
        build()


def test_unknown_names_are_config_errors_listing_valid_ones():
    with pytest.raises(ConfigError, match="unknown experiment 'nope'; valid: .*quick"):
        load_experiment("nope")
    with pytest.raises(ConfigError, match="unknown attention module 'xyz'; valid: none, se, cbam, pam, gc"):
        check_model_config(ModelConfig(attention="xyz"))


def test_config_dict_round_trip():
    config = load_experiment("seed_densenet121_frozen")
    assert ExperimentConfig.from_dict(config.to_dict()) == config


def test_a_config_recorded_before_a_field_existed_is_the_same_config():
    """metrics.json written before `train_subset` existed still matches (reuse, resume,
    grouping of seeds in the comparison), and a different value does not."""
    import dataclasses

    from attention_xai.experiment import load_experiment
    from attention_xai.training import same_config

    config = load_experiment("quick")
    recorded = config.to_dict()
    del recorded["training"]["train_subset"]
    assert same_config(recorded, config)
    assert not same_config(recorded, dataclasses.replace(config, training=dataclasses.replace(
        config.training, train_subset=12000)))
    assert not same_config({}, config) and not same_config(None, config)


def test_cpu224_runs_share_the_seed_subset_protocol_but_for_backbone_and_epochs():
    """The 224x224 CPU runs are comparable with each other: the same 12,000-digit subset,
    validation split, module, optimiser and from-scratch settings."""
    names = ("cpu224_mobilenetv2_cbam", "cpu224_efficientnetb0_cbam", "cpu224_resnet50_cbam")
    runs = {name: load_experiment(name) for name in names}
    for config in runs.values():
        assert config.model.image_size == 224 and config.model.weights is None and config.model.bn_momentum == 0.9
        assert (config.training.train_subset, config.training.validation_size, config.training.test_limit) == (
            12000, 2000, None)
        assert config.model.attention == "cbam" and config.model.attention_kwargs == {"spatial_norm": True}
    mobile, efficient, resnet = runs.values()
    assert (mobile.model.backbone, efficient.model.backbone, resnet.model.backbone) == (
        "MobileNetV2", "EfficientNetB0", "ResNet50")
    assert resnet.training.phases == efficient.training.phases and resnet.training.phases[0].epochs == 4
    for other in (efficient, resnet):
        same = dataclasses.replace(other, name=mobile.name, description=mobile.description,
                                   model=dataclasses.replace(other.model, backbone="MobileNetV2"),
                                   training=dataclasses.replace(other.training, phases=mobile.training.phases))
        assert same == mobile


def test_only_files_defining_config_are_experiments(tmp_path):
    """A benchmark that writes an experiment into a string (bench_multiworker.py) is not one."""
    from attention_xai.experiment import available_experiments

    (tmp_path / "real.py").write_text("def config():\n    return None\n")
    (tmp_path / "bench_thing.py").write_text("TEMPLATE = '''\ndef config():\n    pass\n'''\n")
    (tmp_path / "_private.py").write_text("def config():\n    return None\n")
    assert available_experiments(tmp_path) == ["real"]
