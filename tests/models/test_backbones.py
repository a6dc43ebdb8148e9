import keras
import numpy as np
import pytest

from attention_xai.artifacts import keras_home
from attention_xai.errors import ConfigError, WeightsUnavailableError
from attention_xai.models import (available_backbones, backbone_layers, build_classifier, resolve_backbone,
                                  set_trainable)
from attention_xai.models.backbones import normalization_mode
from attention_xai.models.preprocessing import BackboneNormalization
from conftest import max_abs_diff, tiny_model_config


def test_tiny_variant_round_trips_with_identical_outputs(digits, tmp_path):
    """small_cnn here (the edit loop); every full-size backbone makes the same round trip in
    tests/models/test_plain_call.py, with an attention module and under a plain call."""
    config = tiny_model_config(backbone="small_cnn", backbone_kwargs={"widths": (8, 16, 16)})
    model = build_classifier(config)
    # The backbone's layers are in the classifier's own graph, not hidden in a nested model.
    assert not any(isinstance(layer, keras.Model) for layer in model.layers)
    assert len(backbone_layers(model)) > 5
    expected = model.predict(digits[:4], verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert max_abs_diff(loaded.predict(digits[:4], verbose=0), expected) == 0.0
    assert expected.shape == (4, 10)
    np.testing.assert_allclose(expected.sum(axis=1), 1.0, rtol=1e-5)


def test_names_are_case_insensitive_and_unknown_names_list_the_valid_ones():
    assert resolve_backbone("resnet50") == "ResNet50"
    with pytest.raises(ConfigError, match="unknown backbone 'ResNet51'.*MobileNetV2"):
        resolve_backbone("ResNet51")
    assert {"ResNet50", "EfficientNetB0", "MobileNetV2", "VGG16", "DenseNet121"} <= set(available_backbones())


@pytest.mark.parametrize("backbone, module", [
    ("ResNet50", "resnet"), ("VGG16", "vgg16"), ("MobileNetV2", "mobilenet_v2"), ("DenseNet121", "densenet"),
    ("Xception", "xception"),
])
def test_normalization_matches_the_backbones_own_preprocess_input(backbone, module):
    rgb = np.random.default_rng(0).uniform(size=(2, 8, 8, 3)).astype("float32")
    expected = getattr(keras.applications, module).preprocess_input(rgb * 255.0)
    ours = BackboneNormalization(normalization_mode(backbone))(rgb)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(ours), keras.ops.convert_to_numpy(expected), atol=1e-3)


def test_imagenet_weights_offline_name_the_file_keras_looks_for():
    if list((keras_home() / "models").glob("mobilenet_v2_weights*0.35_224_no_top.h5")):
        pytest.skip("this machine has the ImageNet weights cached")
    with pytest.raises(WeightsUnavailableError, match=r"models/mobilenet_v2_weights\S+_no_top\.h5"):
        build_classifier(tiny_model_config(backbone="MobileNetV2", weights="imagenet", backbone_kwargs={"alpha": 0.35}))


def test_missing_weights_file_is_reported(tmp_path):
    with pytest.raises(WeightsUnavailableError, match="not found"):
        build_classifier(tiny_model_config(weights=str(tmp_path / "none.weights.h5")))


def test_small_input_is_a_config_error():
    with pytest.raises(ConfigError, match="cannot build ResNet50"):
        build_classifier(tiny_model_config(backbone="ResNet50", image_size=28))


@pytest.mark.slow
def test_attention_after_intermediate_layers_keeps_one_flat_graph(digits, tmp_path):
    config = tiny_model_config(backbone="MobileNetV2", backbone_kwargs={"alpha": 0.35}, attention="se",
                               attention_after=("block_3_project_BN", "block_6_project_BN"))
    model = build_classifier(config)
    names = [layer.name for layer in model.layers]
    assert {"attention_after_block_3_project_BN", "attention_after_block_6_project_BN", "attention"} <= set(names)
    assert names.index("attention_after_block_3_project_BN") > names.index("block_3_project_BN")
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert max_abs_diff(loaded.predict(digits[:2], verbose=0), model.predict(digits[:2], verbose=0)) == 0.0
    with pytest.raises(ConfigError, match="no layer named nope"):
        build_classifier(tiny_model_config(attention_after=("nope",)))


def test_trainable_head_last_n_and_all():
    model = build_classifier(tiny_model_config())
    backbone = backbone_layers(model)
    weighted = [layer for layer in backbone if layer.weights]
    set_trainable(model, "head")
    assert not any(layer.trainable for layer in backbone)
    assert model.get_layer("attention").trainable and model.get_layer("predictions").trainable
    set_trainable(model, 3)
    assert [layer.trainable for layer in backbone[-3:]] == [True] * 3
    assert not any(layer.trainable for layer in backbone[:-3])
    set_trainable(model, "all")
    assert all(layer.trainable for layer in weighted)
    with pytest.raises(ConfigError):
        set_trainable(model, "some")


@pytest.mark.slow
def test_bn_momentum_reaches_every_backbone_batch_norm_and_survives_saving(tmp_path):
    """From scratch the seed configs use momentum 0.9 (keras.applications' MobileNetV2 has
    0.999: its moving statistics lag weights that change fast, and inference stays at chance
    while training accuracy climbs)."""
    import dataclasses

    from attention_xai.experiment import load_experiment

    config = load_experiment("cpu224_mobilenetv2_cbam")
    assert config.model.bn_momentum == 0.9 and load_experiment("seed_mobilenetv2_cbam").model.bn_momentum is None
    model = build_classifier(dataclasses.replace(config.model, image_size=32))
    norms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(norms) > 40 and {layer.momentum for layer in norms} == {0.9}
    model.save(tmp_path / "m.keras")
    reloaded = keras.saving.load_model(tmp_path / "m.keras")
    assert {layer.momentum for layer in reloaded.layers if isinstance(layer, keras.layers.BatchNormalization)} == {0.9}
    default = build_classifier(dataclasses.replace(config.model, image_size=32, bn_momentum=None))
    assert {layer.momentum for layer in default.layers if isinstance(layer, keras.layers.BatchNormalization)} == {0.999}
