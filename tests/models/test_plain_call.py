"""A saved classifier under a plain `model(x)` call, as tf-keras-vis, Alibi, Xplique and
notebooks call it: the same outputs as `training=False`, and no weight changes."""

import keras
import numpy as np
import pytest

from attention_xai.models import backbone_layers, build_classifier, load_classifier
from attention_xai.models.classifier import replace_keras_resizing
from conftest import max_abs_diff, tiny_model_config

pytestmark = pytest.mark.slow  # trains models or starts processes: `make test`, not `make test-fast`

# Every seed-study backbone, each with a different module, at a small input size.
CASES = [("small_cnn", "cbam"), ("MobileNetV2", "se"), ("ResNet50", "gc"), ("EfficientNetB0", "cbam"),
         ("VGG16", "pam"), ("DenseNet121", "none")]


def _assert_plain_call_is_inference(model, digits):
    before = [w.copy() for w in model.get_weights()]
    expected = keras.ops.convert_to_numpy(model(digits, training=False))
    plain = keras.ops.convert_to_numpy(model(digits))
    changed = [v.path for v, w in zip(model.weights, before) if not np.array_equal(keras.ops.convert_to_numpy(v), w)]
    assert changed == []
    np.testing.assert_allclose(plain, expected, atol=1e-6)
    np.testing.assert_allclose(model.predict(digits, verbose=0), expected, atol=1e-5)


@pytest.mark.parametrize("backbone, attention", CASES)
def test_saved_and_reloaded_model_under_a_plain_call(backbone, attention, digits, tmp_path):
    """Also the full-size backbones' save/reload round trip (it was a test of its own in
    test_backbones.py, building and saving each backbone a second time)."""
    kwargs = {} if backbone == "small_cnn" else {"backbone_kwargs": {}}
    config = tiny_model_config(backbone=backbone, attention=attention, image_size=32, **kwargs)
    model = build_classifier(config)
    # The backbone's layers are in the classifier's own graph, not hidden in a nested model.
    assert not any(isinstance(layer, keras.Model) for layer in model.layers)
    assert len(backbone_layers(model)) > 5
    # Moving statistics far from a batch's own, so a training-mode call would show.
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.moving_mean.assign(np.full(layer.moving_mean.shape, 0.3, "float32"))
            layer.moving_variance.assign(np.full(layer.moving_variance.shape, 2.0, "float32"))
    expected = keras.ops.convert_to_numpy(model(digits[:8], training=False))
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert max_abs_diff(keras.ops.convert_to_numpy(loaded(digits[:8], training=False)), expected) == 0.0
    np.testing.assert_allclose(expected.sum(axis=1), 1.0, rtol=1e-5)
    _assert_plain_call_is_inference(loaded, digits[:8])


def test_files_that_resize_with_keras_resizing_are_repaired(digits):
    """Models saved before DigitResize carry a keras Resizing node called with training=True."""
    inputs = keras.Input((28, 28, 1))
    x = keras.layers.Resizing(32, 32, interpolation="bilinear", name="input_resize")(inputs)
    x = keras.layers.Conv2D(4, 3, name="conv")(x)
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    old = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x))
    old.get_layer("bn").moving_variance.assign(np.full(4, 5.0, "float32"))
    expected = keras.ops.convert_to_numpy(old(digits[:8], training=False))
    repaired = replace_keras_resizing(old)
    assert not any(isinstance(layer, keras.layers.Resizing) for layer in repaired.layers)
    _assert_plain_call_is_inference(repaired, digits[:8])
    np.testing.assert_allclose(keras.ops.convert_to_numpy(repaired(digits[:8])), expected, atol=1e-6)


def test_committed_quick_model_loads_safe_for_a_plain_call(digits):
    # The way a user loads it: plain Keras (after `import attention_xai`), no repair step.
    model = keras.saving.load_model("saved_models/quick/model.keras", safe_mode=True)
    assert not any(isinstance(layer, keras.layers.Resizing) for layer in model.layers)
    _assert_plain_call_is_inference(model, digits[:8])
    _assert_plain_call_is_inference(load_classifier("saved_models/quick/model.keras"), digits[:8])
