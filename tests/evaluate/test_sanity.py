"""The randomisation test's fresh weights: a stream of their own, never the model's own
initialisation (training seeds the same generators with the experiment's seed)."""

import keras
import numpy as np
import pytest

from attention_xai.evaluate.sanity import _clones
from attention_xai.models import build_classifier
from conftest import tiny_model_config


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_the_fresh_weights_are_not_the_models_own_initialisation(seed):
    keras.utils.set_random_seed(seed)  # as training does, with the experiment's seed, before it builds
    untrained = build_classifier(tiny_model_config())
    _, fresh = _clones(untrained, seed)  # the check's seed is the experiment's by default
    kernels = [(w, f) for w, f in zip(untrained.weights, fresh.weights) if w.path.endswith("kernel")]
    assert len(kernels) >= 4
    same = [w.path for w, f in kernels if np.allclose(keras.ops.convert_to_numpy(w), keras.ops.convert_to_numpy(f))]
    assert same == [], f"seed {seed}: the fresh copy is the model's own initialisation in {same}"
    _, again = _clones(untrained, seed)
    assert all(np.array_equal(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))
               for a, b in zip(fresh.weights, again.weights))  # reproducible


def test_the_randomised_models_change_is_recorded_beside_the_maps(digits):
    from attention_xai.evaluate.sanity import output_change

    keras.utils.set_random_seed(3)
    model = build_classifier(tiny_model_config())
    own = model.predict(digits[:8], verbose=0)
    itself = output_change(own, own)
    assert itself["same_class"] == 1.0 and 0.0 < itself["output_entropy"] < 1.0
    inputs = keras.Input((28, 28, 1), name="digits")
    flat = keras.layers.Dense(10, kernel_initializer="zeros", activation="softmax")(keras.layers.Flatten()(inputs))
    uniform = output_change(own, keras.Model(inputs, flat).predict(digits[:8], verbose=0))
    assert uniform["output_entropy"] == pytest.approx(1.0)  # answers nothing: every class 1/10


def test_emprt_complexity_known_answers():
    from attention_xai.evaluate.sanity import histogram_entropy, relative_rise

    assert histogram_entropy(np.ones((1, 28, 28)))[0] == 0.0  # one value, one bin
    assert histogram_entropy(np.arange(100.0)[None])[0] == pytest.approx(np.log(100))  # one value per bin
    assert relative_rise([1.0, 2.0, 0.0], [2.0, 2.0, 5.0]) == pytest.approx(0.5)  # a zero start is left out
    assert np.isnan(relative_rise([0.0], [1.0]))


def test_the_cascade_reports_emprt_beside_the_models_own_entropy_rise(digits):
    from attention_xai.evaluate.sanity import cascading_randomization
    from attention_xai.explain import ATTRIBUTIONS

    keras.utils.set_random_seed(4)
    model = build_classifier(tiny_model_config())
    targets = model.predict(digits[:3], verbose=0).argmax(axis=1)
    rows = cascading_randomization(model, ATTRIBUTIONS.get("gradcam")(), digits[:3], targets)
    assert [set(r) >= {"emprt", "model_entropy_rise", "same_class", "output_entropy"} for r in rows] == [True] * 3
    assert all(np.isfinite(r["emprt"]) and np.isfinite(r["model_entropy_rise"]) for r in rows)


def test_data_randomisation_fails_a_method_that_shows_the_digit_and_passes_one_that_reads_the_model(digits):
    """Against the same model, every method's maps are its own: FAIL. Grad-CAM of another
    initialisation (weights that learned nothing in common) differs: the check can pass."""
    from attention_xai.evaluate.sanity import PASS_BELOW, data_randomization
    from attention_xai.explain import ATTRIBUTIONS

    keras.utils.set_random_seed(5)
    model = build_classifier(tiny_model_config())
    keras.utils.set_random_seed(6)
    other = build_classifier(tiny_model_config())
    targets = model.predict(digits[:4], verbose=0).argmax(axis=1)
    methods = {"gradcam": ATTRIBUTIONS.get("gradcam")(),
               "integrated_gradients": ATTRIBUTIONS.get("integrated_gradients")(steps=8)}
    itself = data_randomization(model, model, methods, digits[:4], targets)
    assert all(r["verdict"].startswith("FAIL") and r["spearman"] == pytest.approx(1.0) for r in itself.values())
    assert itself["gradcam"]["random_model_same_class"] == 1.0
    twin = data_randomization(model, other, methods, digits[:4], targets)
    assert twin["gradcam"]["spearman"] < PASS_BELOW and twin["gradcam"]["verdict"] == "pass"


def test_permuted_labels_keep_every_class_count_and_the_test_labels():
    from attention_xai.data import load_mnist
    from attention_xai.data.batches import split

    data = load_mnist()
    plain = split(data, validation_size=500, seed=0)
    permuted = split(data, validation_size=500, seed=0, permute_labels=True)
    np.testing.assert_array_equal(plain.x_train, permuted.x_train)  # the same digits, in the same order
    assert np.mean(plain.y_train == permuted.y_train) < 0.2  # about 1 in 10 keep their label by chance
    np.testing.assert_array_equal(np.bincount(np.concatenate([plain.y_train, plain.y_val])),
                                  np.bincount(np.concatenate([permuted.y_train, permuted.y_val])))
    np.testing.assert_array_equal(plain.y_test, permuted.y_test)


def test_smprt_denoises_and_randomises_from_the_input_up(digits):
    """The denoised map of a method that returns the digit is the digit (the noise averages
    out); randomising the layers from the input up leaves it as it is, while Grad-CAM's maps
    move further. On MNIST the noise gives the black background random ranks, so even that
    map scores well under 1 (docs/methods.md says what this means for sMPRT here)."""
    from attention_xai.evaluate.sanity import smoothed_maps, smoothed_randomization
    from attention_xai.explain import ATTRIBUTIONS, Attribution, Passes

    class ImageAsMap(Attribution):
        name = "image"

        def attribute(self, model, images, targets):
            return images[..., 0], Passes(forward=len(images)), {}

    keras.utils.set_random_seed(8)
    model = build_classifier(tiny_model_config())
    targets = model.predict(digits[:3], verbose=0).argmax(axis=1)
    smooth = smoothed_maps(ImageAsMap(), model, digits[:3], targets, samples=40, noise=0.1,
                           rng=np.random.default_rng(0))
    assert np.corrcoef(smooth.ravel(), digits[:3, ..., 0].ravel())[0, 1] > 0.95
    rows = smoothed_randomization(model, {"image": ImageAsMap(), "gradcam": ATTRIBUTIONS.get("gradcam")()},
                                  digits[:3], targets, samples=8)
    assert [r["randomized"].split()[0] for r in rows["gradcam"]] == ["bottom", "bottom"]
    assert rows["gradcam"][-1]["spearman"] < rows["image"][-1]["spearman"] < 0.9


def test_emprt_verdict_reads_the_map_rise_beside_the_models_own():
    from attention_xai.evaluate.sanity import emprt_verdict

    row = {"randomized": "top 10 of 10", "spearman": 0.1}
    assert emprt_verdict([{**row, "emprt": 0.3, "model_entropy_rise": 2.0}]) == "pass"
    assert emprt_verdict([{**row, "emprt": -0.1, "model_entropy_rise": 2.0}]).startswith("FAIL (")
    assert emprt_verdict([{**row, "emprt": 0.03, "model_entropy_rise": 2.0}]).startswith("FAIL (")  # within noise
    assert emprt_verdict([{**row, "emprt": 0.3, "model_entropy_rise": -0.2}]).startswith("inconclusive (")
    assert emprt_verdict([row]) == "not measured"  # a table written before eMPRT was recorded
    # the verdict reads the fully randomised row, not the first one
    assert emprt_verdict([{**row, "emprt": -1.0, "model_entropy_rise": 1.0},
                          {**row, "emprt": 0.5, "model_entropy_rise": 1.0}]) == "pass"


def test_reestimated_statistics_are_each_normalisation_layers_own_input_statistics(digits):
    from attention_xai.evaluate.sanity import cascade_for_methods, randomised_copies, reestimate_batch_norm
    from attention_xai.explain import ATTRIBUTIONS

    keras.utils.set_random_seed(4)
    model = build_classifier(tiny_model_config(attention_kwargs={"reduction": 8, "spatial_norm": True}))
    trained = [keras.ops.convert_to_numpy(w).copy() for w in model.weights]
    copy, *_ = next(randomised_copies(model, 0, (1.0,), bottom_up=False))
    info = reestimate_batch_norm(copy, digits)
    norms = [layer for layer in copy.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert info["reestimated"] == len(norms) >= 2 and info["nested_left"] == 1  # CBAM's gate keeps its own
    for layer in norms:  # known answer: the statistics of what the layer now receives
        x = keras.Model(copy.inputs, layer.input).predict(digits, verbose=0).astype(np.float64)
        np.testing.assert_allclose(keras.ops.convert_to_numpy(layer.moving_mean), x.mean(axis=(0, 1, 2)),
                                   rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(keras.ops.convert_to_numpy(layer.moving_variance), x.var(axis=(0, 1, 2)),
                                   rtol=1e-4, atol=1e-5)
    assert all(np.array_equal(keras.ops.convert_to_numpy(w), t) for w, t in zip(model.weights, trained))
    # The cascade takes calibration digits and re-estimates every copy before measuring it.
    gradcam = {"gradcam": ATTRIBUTIONS.get("gradcam")()}
    plain = cascade_for_methods(model, gradcam, digits[:2], np.array([0, 1]))["gradcam"]
    calibrated = cascade_for_methods(model, gradcam, digits[:2], np.array([0, 1]), calibration=digits)["gradcam"]
    assert len(plain) == len(calibrated) and plain[-1]["output_spread"] != calibrated[-1]["output_spread"]
