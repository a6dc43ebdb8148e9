import keras
import numpy as np
import pytest

from attention_xai.config import AugmentConfig
from attention_xai.models import DigitAugmentation, build_classifier
from attention_xai.models.augmentation import augmentation_layers, bilinear_sample
from conftest import max_abs_diff, tiny_model_config


def _grid(values, n=3):
    return np.broadcast_to(values, (n, 28, 28)).astype("float32")


def test_bilinear_sample_is_exact_at_pixels_interpolates_between_and_reads_zero_outside(digits):
    rows, cols = np.meshgrid(np.arange(28.0), np.arange(28.0), indexing="ij")
    batch = digits[:3]
    assert max_abs_diff(bilinear_sample(batch, _grid(rows), _grid(cols)), batch) < 1e-6
    shifted = keras.ops.convert_to_numpy(bilinear_sample(batch, _grid(rows), _grid(cols + 1.0)))
    np.testing.assert_allclose(shifted[:, :, :-1], batch[:, :, 1:], atol=1e-6)
    assert np.all(shifted[:, :, -1] == 0)
    halfway = keras.ops.convert_to_numpy(bilinear_sample(batch, _grid(rows), _grid(cols + 0.5)))
    np.testing.assert_allclose(halfway[:, :, :-1], (batch[:, :, 1:] + batch[:, :, :-1]) / 2, atol=1e-6)


def test_augmentation_moves_pixels_only_while_training(digits):
    layer = DigitAugmentation(seed=0)
    assert max_abs_diff(layer(digits, training=False), digits) == 0.0
    warped = keras.ops.convert_to_numpy(layer(digits, training=True))
    assert warped.shape == digits.shape
    assert all(max_abs_diff(w, d) > 0.2 for w, d in zip(warped, digits))  # every digit moved
    assert warped.min() >= 0.0 and warped.max() <= 1.0 + 1e-6


def test_rigid_motion_moves_ink_without_creating_or_losing_it(digits):
    """Rotation and a shift smaller than MNIST's 4-pixel margin keep the total ink; the
    elastic field, which stretches and compresses strokes, is switched off here."""
    warped = keras.ops.convert_to_numpy(DigitAugmentation(elastic_alpha=0, seed=0)(digits, training=True))
    np.testing.assert_allclose(warped.sum(axis=(1, 2, 3)), digits.sum(axis=(1, 2, 3)), rtol=0.05)


@pytest.mark.parametrize("kwargs, moves_centre_by", [
    ({"rotation_degrees": 0, "translation": 0.2, "elastic_alpha": 0}, (0.5, 5.6 * 1.5)),
    ({"rotation_degrees": 30, "translation": 0, "elastic_alpha": 0}, (0.0, 1.0)),
])
def test_each_distortion_has_its_documented_size(digits, kwargs, moves_centre_by):
    """Translation shifts the ink's centre by up to 20% of 28 px; rotation about the image
    centre barely moves it."""
    layer = DigitAugmentation(seed=1, **kwargs)
    warped = keras.ops.convert_to_numpy(layer(digits, training=True))[..., 0]
    ys = np.arange(28.0)

    def centre(images):
        mass = images.sum(axis=(1, 2))
        return np.stack([(images.sum(axis=2) * ys).sum(1) / mass, (images.sum(axis=1) * ys).sum(1) / mass], 1)

    moved = np.linalg.norm(centre(warped) - centre(digits[..., 0]), axis=1)
    low, high = moves_centre_by
    assert np.median(moved) >= low and moved.max() <= high


def test_probability_leaves_the_other_digits_exactly_as_they_are(digits):
    layer = DigitAugmentation(probability=0.5, seed=3)
    warped = keras.ops.convert_to_numpy(layer(digits, training=True))
    untouched = [max_abs_diff(w, d) == 0.0 for w, d in zip(warped, digits)]
    assert 2 <= sum(untouched) <= 14  # about half of 16


def test_augmentation_repeats_with_its_seed(digits):
    a = DigitAugmentation(seed=7)(digits, training=True)
    b = DigitAugmentation(seed=7)(digits, training=True)
    c = DigitAugmentation(seed=8)(digits, training=True)
    assert max_abs_diff(a, b) == 0.0 and max_abs_diff(a, c) > 0.0


def test_no_distortion_means_no_layer():
    assert augmentation_layers(AugmentConfig(rotation_degrees=0, translation=0, elastic_alpha=0), 0) == []
    (layer,) = augmentation_layers(AugmentConfig(), 0)
    assert layer.name == "augment" and layer.get_config()["elastic_alpha"] == AugmentConfig().elastic_alpha


def test_classifier_is_deterministic_at_inference_and_random_in_training(digits):
    model = build_classifier(tiny_model_config(augment=AugmentConfig()))
    assert "augment" in {layer.name for layer in model.layers}
    assert max_abs_diff(model(digits, training=False), model(digits, training=False)) == 0.0
    assert max_abs_diff(model(digits, training=True), model(digits, training=True)) > 0.0


def test_elastic_smoothing_is_the_zero_padded_gaussian_of_simard():
    """The field's smoothing runs as two matrix products; it must equal the separable
    Gaussian convolution with zero padding, tap for tap."""
    from scipy.ndimage import convolve

    layer = DigitAugmentation(elastic_sigma=4.0, seed=0)
    radius = 8  # the kernel is cut at 2 sigma
    taps = np.exp(-np.arange(-radius, radius + 1) ** 2 / 32.0)
    taps /= taps.sum()
    noise = np.random.default_rng(0).uniform(-1, 1, (28, 32))
    expected = convolve(noise, np.outer(taps, taps), mode="constant", cval=0.0)
    np.testing.assert_allclose(layer._smoothing(28) @ noise @ layer._smoothing(32).T, expected, atol=1e-6)
