import keras
import numpy as np

from attention_xai.config import AugmentConfig
from attention_xai.models import ElasticDistortion, build_classifier
from attention_xai.models.augmentation import augmentation_layers, bilinear_sample
from conftest import max_abs_diff, tiny_model_config


def test_bilinear_sample_at_pixel_centres_is_the_identity_and_reads_zero_outside(digits):
    rows, cols = np.meshgrid(np.arange(28.0), np.arange(28.0), indexing="ij")
    batch = digits[:3]
    grid = lambda a: np.broadcast_to(a, (3, 28, 28)).astype("float32")  # noqa: E731
    same = bilinear_sample(batch, grid(rows), grid(cols))
    assert max_abs_diff(same, batch) < 1e-6
    shifted = keras.ops.convert_to_numpy(bilinear_sample(batch, grid(rows), grid(cols + 1.0)))
    np.testing.assert_allclose(shifted[:, :, :-1], batch[:, :, 1:], atol=1e-6)
    assert np.all(shifted[:, :, -1] == 0)
    halfway = keras.ops.convert_to_numpy(bilinear_sample(batch, grid(rows), grid(cols + 0.5)))
    np.testing.assert_allclose(halfway[:, :, :-1], (batch[:, :, 1:] + batch[:, :, :-1]) / 2, atol=1e-6)


def test_elastic_distortion_moves_pixels_only_while_training(digits):
    layer = ElasticDistortion(alpha=34, sigma=4, seed=0)
    assert max_abs_diff(layer(digits, training=False), digits) == 0.0
    warped = keras.ops.convert_to_numpy(layer(digits, training=True))
    assert warped.shape == digits.shape
    assert max_abs_diff(warped, digits) > 0.2  # strokes moved
    assert warped.min() >= 0.0 and warped.max() <= 1.0 + 1e-6
    # Ink is moved, not created: total intensity stays within a few percent.
    np.testing.assert_allclose(warped.sum(axis=(1, 2, 3)), digits.sum(axis=(1, 2, 3)), rtol=0.15)


def test_elastic_distortion_repeats_with_its_seed(digits):
    a = ElasticDistortion(seed=7)(digits, training=True)
    b = ElasticDistortion(seed=7)(digits, training=True)
    c = ElasticDistortion(seed=8)(digits, training=True)
    assert max_abs_diff(a, b) == 0.0 and max_abs_diff(a, c) > 0.0


def test_zero_strength_switches_a_distortion_off():
    names = [layer.name for layer in augmentation_layers(AugmentConfig(rotation_degrees=0, elastic_alpha=0), 0)]
    assert names == ["augment_translation"]


def test_classifier_is_deterministic_at_inference_and_random_in_training(digits):
    model = build_classifier(tiny_model_config())
    assert {"augment_rotation", "augment_translation", "augment_elastic"} <= {layer.name for layer in model.layers}
    assert max_abs_diff(model(digits, training=False), model(digits, training=False)) == 0.0
    assert max_abs_diff(model(digits, training=True), model(digits, training=True)) > 0.0
