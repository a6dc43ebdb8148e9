import inspect

import keras
import numpy as np
import pytest

import attention_xai  # noqa: F401  (registers the layers for loading)
from attention_xai.models import (ATTENTION, ATTENTION_CHOICES, AttentionBlock, PositionAttention, attention_maps,
                                  build_classifier)
from conftest import max_abs_diff, tiny_model_config

FEATURES = np.random.default_rng(0).normal(size=(3, 6, 5, 16)).astype("float32")


def _feature_model(layer):
    inputs = keras.Input(FEATURES.shape[1:])
    return keras.Model(inputs, layer(inputs))


@pytest.mark.parametrize("name", ATTENTION.names())
def test_layer_survives_a_keras_round_trip(name, tmp_path):
    layer = ATTENTION.get(name)(name=f"{name}_block")
    model = _feature_model(layer)
    # Move every weight off its initial value so the test sees whether weights are saved.
    for weight in model.weights:
        weight.assign(weight + 0.1)
    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert type(loaded.get_layer(f"{name}_block")) is type(layer)
    assert max_abs_diff(loaded(FEATURES), model(FEATURES)) == 0.0


@pytest.mark.parametrize("name", ATTENTION.names())
def test_get_config_holds_exactly_the_constructor_arguments(name):
    cls = ATTENTION.get(name)
    arguments = set(inspect.signature(cls.__init__).parameters) - {"self", "kwargs"}
    layer = cls()
    config = layer.get_config()
    assert arguments <= set(config)
    rebuilt = cls.from_config(config)
    assert {k: rebuilt.get_config()[k] for k in arguments} == {k: config[k] for k in arguments}


@pytest.mark.parametrize("name", ATTENTION.names())
def test_attention_maps_have_documented_shapes_and_ranges(name):
    layer = ATTENTION.get(name)()
    _feature_model(layer)
    maps = {k: keras.ops.convert_to_numpy(v) for k, v in layer.attention_maps(FEATURES).items()}
    assert maps and set(maps) <= {"spatial", "channel", "affinity"}
    if "spatial" in maps:
        assert maps["spatial"].shape == (3, 6, 5)
    if "channel" in maps:
        assert maps["channel"].shape == (3, 16)
    for value in maps.values():
        assert np.all(value >= 0) and np.all(value <= 1) and np.isfinite(value).all()


@pytest.mark.parametrize("name", ["pam", "gc"])
def test_softmax_attention_sums_to_one_over_positions(name):
    layer = ATTENTION.get(name)()
    _feature_model(layer)
    spatial = keras.ops.convert_to_numpy(layer.attention_maps(FEATURES)["spatial"])
    np.testing.assert_allclose(spatial.sum(axis=(1, 2)), 1.0, rtol=1e-5)


def test_position_attention_starts_as_identity():
    layer = PositionAttention()
    model = _feature_model(layer)
    np.testing.assert_allclose(model(FEATURES), FEATURES, atol=1e-6)


def test_choices_are_none_plus_the_registry():
    assert ATTENTION_CHOICES == ["none", "se", "cbam", "pam", "gc"]


@pytest.mark.parametrize("name", ATTENTION_CHOICES)
def test_classifier_exposes_attention_maps_for_a_batch_of_digits(name, digits):
    model = build_classifier(tiny_model_config(attention=name))
    maps = attention_maps(model, digits[:5], batch_size=2)
    if name == "none":
        assert maps == {}
        return
    (layer_name, layer_maps), = maps.items()
    assert layer_name == "attention" and isinstance(model.get_layer("attention"), AttentionBlock)
    for value in layer_maps.values():
        assert value.shape[0] == 5


# Trainable weight tensors after build: kernels and biases of each sub-layer (PAM: + gamma).
WEIGHT_COUNTS = {"se": 4, "cbam": 6, "pam": 7, "gc": 8}


def test_cbam_spatial_norm_as_the_authors_build_it(tmp_path):
    """conv (no bias), BatchNormalization, sigmoid; saved and reloaded unchanged; the plain
    configuration (files saved before the option) keeps its six weights."""
    from attention_xai.models import Cbam

    layer = Cbam(spatial_norm=True, name="cbam_bn")
    model = _feature_model(layer)
    assert len(layer.trainable_weights) == 7 and len(layer.non_trainable_weights) == 2  # BN's moving statistics
    assert layer.spatial.activation is keras.activations.linear and not layer.spatial.use_bias
    for weight in model.weights:
        weight.assign(weight + 0.1)
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    assert loaded.get_layer("cbam_bn").spatial_norm
    assert max_abs_diff(loaded(FEATURES), model(FEATURES)) == 0.0
    assert Cbam().get_config()["spatial_norm"] is False


@pytest.mark.parametrize("name", ATTENTION.names())
def test_layer_like_keras_hub(name):
    """Symbolic call, weight counts after build, and one training step that moves every weight."""
    layer = ATTENTION.get(name)()
    symbolic = layer(keras.Input(FEATURES.shape[1:]))
    assert tuple(symbolic.shape) == (None, *FEATURES.shape[1:])
    assert len(layer.trainable_weights) == WEIGHT_COUNTS[name] and not layer.non_trainable_weights
    inputs = keras.Input(FEATURES.shape[1:])
    model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.GlobalAveragePooling2D()(layer(inputs))))
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    before = [keras.ops.convert_to_numpy(w).copy() for w in layer.trainable_weights]
    loss = model.train_on_batch(FEATURES, np.ones((3, 1), "float32"))
    assert np.isfinite(loss)
    moved = [not np.array_equal(b, keras.ops.convert_to_numpy(w)) for b, w in zip(before, layer.trainable_weights)]
    assert any(moved)


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
@pytest.mark.parametrize("name", ATTENTION.names())
def test_layer_under_mixed_precision(name, policy):
    """Sub-layers follow the layer's own policy (not only a global one); weights stay float32."""
    layer = ATTENTION.get(name)(dtype=policy)
    output = layer(FEATURES)
    compute = policy.split("_")[1]
    assert keras.backend.standardize_dtype(output.dtype) == compute
    assert np.isfinite(keras.ops.convert_to_numpy(keras.ops.cast(output, "float32"))).all()
    sub_layers = list(layer._flatten_layers(include_self=False))
    assert sub_layers and all(sub.dtype_policy.name == policy for sub in sub_layers)
    assert all(keras.backend.standardize_dtype(w.dtype) == "float32" for w in layer.weights)
    maps = layer.attention_maps(FEATURES)
    assert all(np.isfinite(keras.ops.convert_to_numpy(keras.ops.cast(v, "float32"))).all() for v in maps.values())
