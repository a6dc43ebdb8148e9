"""The attribution methods: one contract over the registry, known answers, metrics, sanity."""

import keras
import numpy as np
import pytest

from attention_xai.errors import ConfigError
from attention_xai.evaluate.faithfulness import (area_under_curve, average_drop_and_increase, deletion_auc, gini,
                                                  insertion_auc, perturbation_curve)
from attention_xai.evaluate.sanity import (DEAD_BELOW, PASS_BELOW, cascade_for_methods, cascading_randomization,
                                          output_spread, passes_sanity_check, sanity_verdict)
from attention_xai.explain import ATTRIBUTIONS, Attribution, Explanation, Passes
from attention_xai.explain.samples import select_samples
from attention_xai.models import build_classifier
from conftest import tiny_model_config

FAST = {"occlusion": {"window": 7, "stride": 7}, "scorecam": {"max_N": 4}, "smoothgrad": {"samples": 4},
        "lime": {"num_samples": 60}, "shap": {"background_size": 8, "nsamples": 8},
        "integrated_gradients": {"steps": 8}, "rise": {"masks": 64}}


RANDOM = ("smoothgrad", "lime", "shap", "rise")


@pytest.fixture(scope="module")
def model():
    """Untrained; its weights drawn from a fixed seed (Keras initializers take theirs from
    Python's `random`), so that every run tests the same model."""
    import random

    state = random.getstate()
    random.seed(1)
    try:
        return build_classifier(tiny_model_config())
    finally:
        random.setstate(state)


def test_registry_lists_every_method_of_the_issue():
    assert ATTRIBUTIONS.names() == ["gradcam", "gradcampp", "scorecam", "smoothgrad", "lime", "shap",
                                    "integrated_gradients", "occlusion", "rise", "attention"]


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n == "shap" else n  # shap: 11 s
                                  for n in ATTRIBUTIONS.names()])
def test_contract(name, model, digits):
    targets = np.array([3, 1, 4])
    weights = [w.copy() for w in model.get_weights()]
    method = ATTRIBUTIONS.get(name)(batch_size=2, seed=0, **FAST.get(name, {}))
    result = method.explain(model, digits[:3], targets)
    assert result.method == name and result.maps.shape == (3, 28, 28) and result.maps.dtype == np.float32
    assert np.isfinite(result.maps).all() and result.model_passes >= 3 and result.seconds > 0
    assert result.targets.tolist() == [3, 1, 4] and result.params["seed"] == 0
    assert not result.maps.flags.writeable  # results are immutable
    normalized = result.normalized()
    assert normalized.min() >= 0 and normalized.max() <= 1
    # Explaining never changes the model.
    assert all(np.array_equal(a, b) for a, b in zip(weights, model.get_weights()))
    # Same seed, same maps, and numpy's global random state is left as it was.
    state = np.random.get_state()[1].copy()
    again = ATTRIBUTIONS.get(name)(batch_size=2, seed=0, **FAST.get(name, {})).explain(model, digits[:3], targets)
    np.testing.assert_allclose(again.maps, result.maps, rtol=1e-4, atol=1e-6)
    assert np.array_equal(np.random.get_state()[1], state)
    if name in RANDOM:  # another seed draws other noise, samples or perturbations
        other = ATTRIBUTIONS.get(name)(batch_size=2, seed=1, **FAST.get(name, {})).explain(model, digits[:3], targets)
        assert not np.allclose(other.maps, result.maps)
    else:  # a batch gives what single digits give
        single = method.explain(model, digits[1:2], targets[1:2])
        np.testing.assert_allclose(single.maps[0], result.maps[1], rtol=1e-4, atol=1e-6)


def _one_pixel_model(pixel):
    """Class 0's logit is 8 * x[pixel]; a 1x1 convolution keeps a full-resolution feature map for CAMs."""
    inputs = keras.Input((28, 28, 1), name="digits")
    features = keras.layers.Conv2D(1, 1, use_bias=False, kernel_initializer="ones", name="features")(inputs)
    kernel = np.zeros((784, 10), "float32")
    kernel[pixel[0] * 28 + pixel[1], 0] = 8.0
    dense = keras.layers.Dense(10, activation="softmax", name="predictions")
    outputs = dense(keras.layers.Flatten()(features))
    dense.set_weights([kernel, np.zeros(10, "float32")])
    return keras.Model(inputs, outputs)


KNOWN_ANSWER = {"occlusion": {"window": 1, "stride": 1}, "lime": {"num_samples": 300, "cell": 2},
                "shap": {"background": np.zeros((4, 28, 28, 1), "float32"), "nsamples": 32},
                "gradcam": {"layer": "features"}, "gradcampp": {"layer": "features"},
                "scorecam": {"layer": "features", "max_N": None}, "rise": {"grid": 28, "masks": 2000}}


@pytest.mark.parametrize("name", [n for n in ATTRIBUTIONS.names() if n != "attention"])
def test_a_model_that_reads_one_pixel_gets_that_pixel_ranked_first(name):
    pixel = (13, 9)
    model = _one_pixel_model(pixel)
    image = np.full((1, 28, 28, 1), 0.5, "float32")
    image[0, pixel[0], pixel[1]] = 1.0
    maps = ATTRIBUTIONS.get(name)(**KNOWN_ANSWER.get(name, {})).explain(model, image, np.array([0])).maps[0]
    assert maps[pixel] == pytest.approx(maps.max()) and maps[pixel] > np.median(maps)


def test_attention_method_needs_a_spatial_attention_map(digits):
    for attention in ("none", "se"):
        with pytest.raises(ConfigError, match="attention"):
            ATTRIBUTIONS.get("attention")().explain(build_classifier(tiny_model_config(attention=attention)),
                                                    digits[:1], np.array([0]))


def test_integrated_gradients_are_complete(model, digits):
    targets = np.array([7, 2])
    maps = ATTRIBUTIONS.get("integrated_gradients")(steps=128).explain(model, digits[:2], targets).maps
    probs = model.predict(np.concatenate([digits[:2], np.zeros((1, 28, 28, 1), "float32")]), verbose=0)
    expected = probs[[0, 1], targets] - probs[2, targets]
    np.testing.assert_allclose(maps.sum(axis=(1, 2)), expected, atol=2e-3)


@pytest.mark.parametrize("images, targets, message", [
    (np.zeros((2, 28, 28, 3), "float32"), [0, 1], "shape"),
    (np.full((2, 28, 28, 1), 2.0, "float32"), [0, 1], r"\[0, 1\]"),
    (np.full((2, 28, 28, 1), np.nan, "float32"), [0, 1], "NaN"),
    (np.zeros((2, 28, 28, 1), "uint8"), [0, 1], "floats"),
    (np.zeros((2, 28, 28, 1), "float32"), [0, 10], "classes"),
    (np.zeros((2, 28, 28, 1), "float32"), [0], "2 integer classes"),
])
def test_bad_inputs_are_config_errors(model, images, targets, message):
    with pytest.raises(ConfigError, match=message):
        ATTRIBUTIONS.get("occlusion")().explain(model, images, np.array(targets))


def test_unknown_method_and_layer_are_config_errors(model, digits):
    with pytest.raises(ConfigError, match="unknown attribution method 'gradcam\\+\\+'; valid: gradcam"):
        ATTRIBUTIONS.get("gradcam++")
    with pytest.raises(ConfigError, match="no layer named 'nope'"):
        ATTRIBUTIONS.get("gradcam")(layer="nope").explain(model, digits[:1], np.array([0]))


def _pixel_reader(pixel):
    """predict(x)[:, 0] = x[pixel]; the other classes share the rest."""
    def predict(x):
        p = x[:, pixel[0], pixel[1], 0]
        return np.stack([p] + [(1 - p) / 9] * 9, axis=1)
    return predict


def test_deletion_and_insertion_known_answer():
    pixel = (5, 6)
    predict = _pixel_reader(pixel)
    image = np.ones((1, 28, 28, 1), "float32")
    right = np.zeros((1, 28, 28), "float32")
    right[0][pixel] = 1.0
    wrong = 1.0 - right
    # One pixel per step: deleting the right pixel first leaves nothing after step one.
    curve = perturbation_curve(predict, image, np.array([0]), right, mode="deletion", steps=784)
    assert curve[0, 0] == 1.0 and np.all(curve[0, 1:] == 0.0)
    assert deletion_auc(predict, image, np.array([0]), right, steps=784)[0] == pytest.approx(0.5 / 784)
    assert deletion_auc(predict, image, np.array([0]), wrong, steps=784)[0] == pytest.approx(1 - 0.5 / 784)
    assert insertion_auc(predict, image, np.array([0]), right, steps=784)[0] == pytest.approx(1 - 0.5 / 784)
    assert area_under_curve(np.array([[0.0, 1.0]]))[0] == pytest.approx(0.5)


def test_average_drop_and_increase_known_answer():
    pixel = (5, 6)
    predict = _pixel_reader(pixel)
    image = np.full((2, 28, 28, 1), 0.5, "float32")
    keep = np.zeros((2, 28, 28), "float32")
    keep[:, pixel[0], pixel[1]] = 1.0  # map 1 on the pixel: masked image keeps it
    drop, increase = average_drop_and_increase(predict, image, np.array([0, 0]), keep)
    assert drop == pytest.approx(0.0) and increase == 0.0
    drop, _ = average_drop_and_increase(predict, image, np.array([0, 0]), 1.0 - keep)
    assert drop == pytest.approx(100.0)


def test_gini_bounds():
    flat = np.ones((1, 28, 28))
    spike = np.zeros((1, 28, 28))
    spike[0, 3, 3] = 1
    assert gini(flat)[0] == pytest.approx(0.0, abs=1e-9)
    assert gini(spike)[0] == pytest.approx(1 - 1 / 784)


class ImageAsMap(Attribution):
    """An 'explanation' that ignores the model: the digit itself (an edge detector would do the same)."""

    name = "image_as_map"

    def attribute(self, model, images, targets):
        return images[..., 0] + 1e-3 * np.arange(784).reshape(28, 28), Passes(forward=0), {}


@pytest.mark.slow
def test_randomization_check_separates_weight_dependent_methods(model, digits):
    targets = model.predict(digits[:3], verbose=0).argmax(axis=1)
    grad_rows = cascading_randomization(model, ATTRIBUTIONS.get("smoothgrad")(samples=8), digits[:3], targets)
    fake_rows = cascading_randomization(model, ImageAsMap(), digits[:3], targets)
    assert passes_sanity_check(grad_rows) and not passes_sanity_check(fake_rows)
    assert fake_rows[-1]["spearman"] == pytest.approx(1.0)
    _, done, _, total = grad_rows[-1]["randomized"].split()
    assert len(grad_rows) == 3 and done == total  # the last row has every weighted layer randomised
    assert grad_rows[-1]["output_spread"] > DEAD_BELOW and sanity_verdict(grad_rows) == "pass"


@pytest.mark.slow
def test_methods_checked_together_get_the_rows_each_gets_alone(model, digits):
    """The randomised copies are shared by the methods of one check: sharing must not
    change what any method's cascade reports."""
    targets = model.predict(digits[:2], verbose=0).argmax(axis=1)
    methods = {"gradcam": ATTRIBUTIONS.get("gradcam")(), "image": ImageAsMap()}
    together = cascade_for_methods(model, methods, digits[:2], targets, seed=2)
    assert together == {name: cascading_randomization(model, m, digits[:2], targets, seed=2)
                        for name, m in methods.items()}
    assert together["gradcam"][-1]["spearman"] < together["image"][-1]["spearman"]


def _deep_normalised_model(blocks: int = 6) -> keras.Model:
    """A working classifier whose batch normalisation stores large activation statistics
    (variance 1e4, scale 100: each block passes its input through unchanged), as a trained
    deep network's do. Re-initialised weights (scale 1) meet statistics not made for them:
    each block shrinks the signal about 100 times, and the copy soon answers the same for
    every digit."""
    inputs = keras.Input((28, 28, 1))
    x = inputs
    for i in range(blocks):
        x = keras.layers.Conv2D(4, 3, padding="same", name=f"conv{i}")(x)
        x = keras.layers.BatchNormalization(name=f"bn{i}")(x)
        x = keras.layers.ReLU()(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax", name="predictions")(x))
    for i in range(blocks):
        conv = model.get_layer(f"conv{i}")
        kernel, bias = conv.get_weights()
        kernel[:] = 0.0
        kernel[1, 1, np.arange(kernel.shape[2]), np.arange(4) % kernel.shape[2]] = 1.0  # passes the digit on
        conv.set_weights([kernel, bias])
        bn = model.get_layer(f"bn{i}")
        gamma, beta, mean, variance = bn.get_weights()
        bn.set_weights([np.full_like(gamma, 100.0), beta, mean, np.full_like(variance, 1e4)])
    return model


@pytest.mark.slow
def test_a_randomised_model_that_ignores_its_input_gives_no_verdict(digits):
    """Unlike maps from a copy that answers the same for every digit say nothing about the
    method: 'inconclusive', never 'pass' (a 224x224 MobileNetV2 did exactly this)."""
    model = _deep_normalised_model()
    assert output_spread(model, digits[:3]) > 10 * DEAD_BELOW  # the model itself depends on its input
    targets = model.predict(digits[:3], verbose=0).argmax(axis=1)
    rows = cascading_randomization(model, ATTRIBUTIONS.get("smoothgrad")(samples=4), digits[:3], targets)
    assert rows[-1]["output_spread"] < DEAD_BELOW
    assert rows[-1]["spearman"] < PASS_BELOW  # unlike maps, which the old check called a pass
    assert not passes_sanity_check(rows) and sanity_verdict(rows).startswith("inconclusive")
    older = [{k: v for k, v in row.items() if k != "output_spread"} for row in rows]
    assert sanity_verdict(older) == "pass"  # rows recorded before the spread keep their verdict
    # A map that keeps the input's structure on a copy that ignores the input still fails.
    fake = cascading_randomization(model, ImageAsMap(), digits[:3], targets)
    assert fake[-1]["output_spread"] < DEAD_BELOW and sanity_verdict(fake).startswith("FAIL")
    # Re-estimating the dead copies' normalisation statistics brings them back to life; the
    # copies that were alive keep the trained statistics.
    (revived,) = cascade_for_methods(model, {"smoothgrad": ATTRIBUTIONS.get("smoothgrad")(samples=4)}, digits[:3],
                                     targets, calibration=digits, when="dead").values()
    first_dead = next(i for i, row in enumerate(rows) if row["output_spread"] < DEAD_BELOW)
    # from the first dead copy on: a later copy grows out of it and no longer has the trained statistics
    assert [row["statistics"] for row in revived] == ["trained"] * first_dead + ["re-estimated"] * (
        len(rows) - first_dead)
    assert revived[-1]["output_spread"] > DEAD_BELOW


@pytest.mark.slow
def test_randomization_redraws_weights_from_their_initializers_and_leaves_the_model_alone(model, digits):
    """Adebayo et al.'s re-initialisation: a batch normalisation's scale goes back to 1 (a
    redraw around 0 would silence every block), a kernel gets a new draw; the original
    model and the caller's random state are untouched; the same seed gives the same rows."""
    from attention_xai.evaluate.sanity import _clones

    before = [w.copy() for w in model.get_weights()]
    _, fresh = _clones(model, seed=3)
    norms = [layer for layer in fresh.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert norms and all(np.all(keras.ops.convert_to_numpy(n.gamma) == 1.0) for n in norms)
    kernel = next(layer for layer in fresh.layers if isinstance(layer, keras.layers.Conv2D)).kernel
    trained = next(layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)).kernel
    assert not np.allclose(keras.ops.convert_to_numpy(kernel), keras.ops.convert_to_numpy(trained))
    import random

    np.random.seed(11)
    random.seed(11)
    expected = np.random.random(), random.random()
    np.random.seed(11)
    random.seed(11)
    targets = model.predict(digits[:2], verbose=0).argmax(axis=1)
    rows = [cascading_randomization(model, ATTRIBUTIONS.get("gradcam")(), digits[:2], targets, seed=5)
            for _ in range(2)]
    assert (np.random.random(), random.random()) == expected  # the caller's random state is untouched
    assert rows[0] == rows[1]
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_good_and_bad_selection():
    probabilities = np.eye(10)[[0, 1, 2, 3, 4, 5]] * 0.5 + 0.05
    probabilities[5] = np.eye(10)[9] * 0.9 + 0.01
    probabilities[4] = np.eye(10)[8] * 0.6 + 0.04
    labels = np.array([0, 1, 2, 3, 4, 5])  # digits 4 and 5 are wrong, 5 the most confidently
    samples = select_samples(probabilities, labels, good=2, bad=5)
    assert samples.kind.tolist() == ["GOOD", "GOOD", "BAD", "BAD"]
    assert samples.indices.tolist()[2:] == [5, 4] and samples.predictions.tolist()[2:] == [9, 8]
    per_class = select_samples(probabilities, labels, good=1, bad=1, per_class=True)
    assert sorted(per_class.indices.tolist()) == [0, 1, 2, 3, 4, 5]
    random = select_samples(probabilities, labels, good=2, bad=1, rule="random", seed=3)
    assert len(random.indices) == 3


def test_the_tables_digits_are_the_figures_then_more_by_the_same_rule_half_of_each_kind():
    from attention_xai.explain.samples import measured_samples

    rng = np.random.default_rng(0)
    labels = np.arange(60) % 10
    predictions = labels.copy()
    predictions[:9] = (labels[:9] + 1) % 10  # only 9 misclassified digits
    probabilities = np.eye(10)[predictions] * 0.5 + rng.uniform(0.0, 0.05, (60, 10))
    shown = select_samples(probabilities, labels, good=2, bad=2)
    measured = measured_samples(probabilities, labels, shown, total=30)
    assert len(measured) == 30 and len(set(measured.indices.tolist())) == 30
    assert measured.subset(slice(0, 4)).indices.tolist() == shown.indices.tolist()  # the figure's digits first
    assert int(np.sum(measured.kind == "BAD")) == 9  # half would be 15: the pool has 9, GOOD make up the rest
    right = predictions[measured.indices] == labels[measured.indices]
    assert np.array_equal(right, measured.kind == "GOOD")
    # The random rule draws the extra digits from the rest, the same ones for the same seed.
    drawn = select_samples(probabilities, labels, good=2, bad=2, rule="random", seed=5)
    again = [measured_samples(probabilities, labels, drawn, total=20, rule="random", seed=5) for _ in range(2)]
    assert np.array_equal(again[0].indices, again[1].indices) and len(set(again[0].indices.tolist())) == 20
    assert measured_samples(probabilities, labels, shown, total=3) is shown
    enough = measured_samples(probabilities, labels, shown, total=12)
    assert int(np.sum(enough.kind == "BAD")) == 6 and len(enough) == 12


def test_a_subset_keeps_its_digits_per_digit_params_and_share_of_the_cost():
    e = Explanation(method="attention", maps=np.arange(4 * 4).reshape(4, 2, 2), targets=[0, 1, 2, 3],
                    params={"layer": "attention", "informative": [True, False, True, False],
                            "dynamic_range": [0.1, 0.2, 0.3, 0.4]},
                    seconds=8.0, forward_passes=40, gradient_passes=4)
    part = e.subset(slice(1, 3))
    assert part.targets.tolist() == [1, 2] and np.array_equal(part.maps, e.maps[1:3])
    assert part.params == {"layer": "attention", "informative": [False, True], "dynamic_range": [0.2, 0.3]}
    assert (part.seconds, part.forward_passes, part.gradient_passes) == (4.0, 20, 2)


@pytest.mark.slow
def test_the_tables_measure_more_digits_than_the_figure_shows(model, mnist):
    from attention_xai.data import to_model_input
    from attention_xai.explain.analysis import analyse

    methods = {"occlusion": ATTRIBUTIONS.get("occlusion")(window=7, stride=7)}
    pool = to_model_input(mnist.x_test[:200]), mnist.y_test[:200]
    small = analyse(model, *pool, methods=methods, good=2, bad=2, sanity_digits=2, robustness_samples=1)
    large = analyse(model, *pool, methods=methods, good=2, bad=2, table_digits=24, sanity_digits=2,
                    robustness_samples=1)
    # The figure is the same four digits and maps; the table is measured on 24.
    assert np.array_equal(large.images, small.images) and len(large.images) == 4
    assert np.array_equal(large.explanations[0].maps, small.explanations[0].maps)
    assert large.selection["table_digits"] == 24 and small.selection["table_digits"] == 4
    (row,), (before,) = large.faithfulness, small.faithfulness
    assert row["digits"] == 24 and before["digits"] == 4
    width = row["insertion_auc_ci_high"] - row["insertion_auc_ci_low"]
    assert 0 < width < before["insertion_auc_ci_high"] - before["insertion_auc_ci_low"]
    # Randomisation tests and robustness stay on the first two (the figure's first rows).
    assert row["robustness_digits"] == 2 and {r["digits"] for r in large.sanity} == {2}
    assert [r["spearman"] for r in large.sanity] == [r["spearman"] for r in small.sanity]


def test_calibration_digits_are_a_seeded_draw_from_the_unmeasured_pool():
    from attention_xai.explain.analysis import calibration_pool

    pool = np.arange(20, dtype=np.float32).reshape(20, 1, 1, 1)
    measured = np.array([0, 3, 7])
    drawn = calibration_pool(pool, measured, 5, seed=1)
    assert drawn.shape == (5, 1, 1, 1) and not np.isin(drawn.ravel(), measured).any()
    assert np.array_equal(drawn, calibration_pool(pool, measured, 5, seed=1))
    assert len(calibration_pool(pool, measured, 100, seed=1)) == 17  # every unmeasured digit, no more
    assert len(calibration_pool(pool, np.arange(20), 8, seed=1)) == 8  # all measured (own images): the pool itself
    assert calibration_pool(pool, measured, 0, seed=1) is None


@pytest.mark.slow
def test_the_stage_can_re_estimate_the_randomised_copies_statistics(model, mnist):
    from attention_xai.data import to_model_input
    from attention_xai.explain.analysis import analyse

    methods = {"gradcam": ATTRIBUTIONS.get("gradcam")()}
    pool = to_model_input(mnist.x_test[:120]), mnist.y_test[:120]
    kept, calibrated = (analyse(model, *pool, methods=methods, good=2, bad=2, sanity_digits=2, robustness_samples=0,
                                calibration_digits=n) for n in (0, 64))
    assert [r["calibration_digits"] for r in kept.sanity] == [0, 0, 0]
    assert [r["calibration_digits"] for r in calibrated.sanity] == [64, 64, 64]
    # This model's copies stay alive, so they keep the trained statistics: the published test.
    assert min(r["output_spread"] for r in kept.sanity) > DEAD_BELOW
    assert {r["statistics"] for r in calibrated.sanity} == {"trained"}
    assert [r["spearman"] for r in calibrated.sanity] == [r["spearman"] for r in kept.sanity]
    def timeless(rows):
        return [{k: v for k, v in row.items() if k != "seconds_per_digit"} for row in rows]

    assert timeless(calibrated.faithfulness) == timeless(kept.faithfulness)  # only the randomised copies change


def test_confident_rule_spreads_near_ties_over_classes():
    labels = np.array([8, 8, 8, 3, 1])
    probabilities = np.eye(10)[labels] * 0.9995 + 0.00005
    probabilities[3, 3] = probabilities[4, 1] = 0.9990  # a hair less confident than the 8s
    samples = select_samples(probabilities, labels, good=3, bad=0)
    assert sorted(samples.labels.tolist()) == [1, 3, 8]


@pytest.mark.parametrize("name", ATTRIBUTIONS.names())
def test_unknown_parameters_are_refused_with_the_valid_ones(name):
    valid = ", ".join(ATTRIBUTIONS.get(name).parameters())
    with pytest.raises(ConfigError, match=f"unknown parameter 'windw' for {name}; valid: {valid}"):
        ATTRIBUTIONS.get(name)(windw=3)


def test_parameters_given_as_text_are_typed():
    method = ATTRIBUTIONS.get("occlusion").from_text({"window": "3", "fill": "0.5"})
    assert (method.window, method.fill, method.stride) == (3, 0.5, 2)
    with pytest.raises(ConfigError, match="occlusion.window must be int, got 'wide'"):
        ATTRIBUTIONS.get("occlusion").from_text({"window": "wide"})


@pytest.mark.parametrize("window, stride", [(5, 3), (4, 2), (7, 7), (6, 4), (28, 1), (1, 1)])
def test_occlusion_covers_every_pixel(window, stride):
    """A model whose class-0 probability is the mean brightness: hiding any pixel lowers it."""
    inputs = keras.Input((28, 28, 1))
    mean = keras.layers.GlobalAveragePooling2D()(inputs)
    model = keras.Model(inputs, keras.layers.Dense(10, kernel_initializer=keras.initializers.Constant(
        [[1.0] + [0.0] * 9]), bias_initializer=keras.initializers.Constant([0.0] + [-0.5] * 9))(mean))
    image = np.full((1, 28, 28, 1), 0.5, "float32")
    maps = ATTRIBUTIONS.get("occlusion")(window=window, stride=stride).explain(model, image, np.array([0])).maps[0]
    assert (maps > 0).all(), f"uncovered rows/columns: {sorted(set(np.argwhere(maps <= 0)[:, 0]))}"


def test_occlusion_refuses_a_stride_that_skips_pixels():
    with pytest.raises(ConfigError, match="stride <= window"):
        ATTRIBUTIONS.get("occlusion")(window=3, stride=5)


def test_signed_maps_keep_their_sign_and_zero():
    maps = np.zeros((1, 28, 28), "float32")
    maps[0, :2, :2], maps[0, 5, 5], maps[0, 9, 9] = -0.5, 1.0, 400.0  # one outlier
    explanation = Explanation(method="x", maps=maps, targets=np.array([0]), params={"signed": True})
    scaled = explanation.symmetric()
    assert scaled[0, 0, 0] < 0 and scaled[0, 5, 5] > 0 and scaled[0, 20, 20] == 0 and scaled.max() == 1.0
    assert explanation.normalized()[0, 20, 20] > 0  # min-max would put zero evidence mid-scale


def test_grid_shows_signed_maps_on_a_diverging_map(model, digits):
    from attention_xai.plots.attribution import SIGNED_CMAP, UNSIGNED_CMAP, plot_attribution_grid

    targets = np.array([3, 1])
    explanations = [ATTRIBUTIONS.get("gradcam")().explain(model, digits[:2], targets),
                    ATTRIBUTIONS.get("integrated_gradients")(steps=4).explain(model, digits[:2], targets),
                    ATTRIBUTIONS.get("smoothgrad")(samples=2, absolute=False).explain(model, digits[:2], targets)]
    assert [e.signed for e in explanations] == [False, True, True]
    assert (explanations[2].maps < 0).any() and explanations[2].params["absolute"] is False
    fig = plot_attribution_grid(digits[:2], explanations, ["a", "b"])
    overlay = [ax.images[1] for ax in fig.axes[:6] if len(ax.images) > 1]
    columns = {im.get_cmap().name: im.get_clim() for im in overlay}
    assert columns == {UNSIGNED_CMAP: (0.0, 1.0), SIGNED_CMAP: (-1.0, 1.0)}


def test_average_drop_masks_by_the_positive_part():
    """Min-max scaling would turn 'no evidence' into full evidence next to negative values,
    and stretch a map that is everywhere near its maximum; the positive part does neither."""
    pixel = (5, 6)
    predict = _pixel_reader(pixel)
    image = np.full((1, 28, 28, 1), 0.5, "float32")
    against = np.full((1, 28, 28), -1.0, "float32")
    against[0][pixel] = 0.0  # no evidence for the target anywhere: everything is masked
    drop, _ = average_drop_and_increase(predict, image, np.array([0]), against)
    assert drop == pytest.approx(100.0)  # min-max scaling gave the pixel 1.0: a drop of 0
    flat = np.full((1, 28, 28), 0.85, "float32")  # an attention-like map, all near its max
    flat[0][pixel], flat[0, 0, 0] = 0.9, 1.0
    drop, _ = average_drop_and_increase(predict, image, np.array([0]), flat)
    assert drop == pytest.approx(10.0, abs=1e-4)  # 0.9 / 1.0 kept; min-max would keep 1/3: a 67% drop


def test_every_explanation_says_which_score_it_explains(model, digits):
    expected = {"gradcam": "logit", "gradcampp": "logit", "smoothgrad": "logit", "scorecam": "probability",
                "lime": "probability", "shap": "probability", "integrated_gradients": "probability",
                "occlusion": "probability", "rise": "probability", "attention": "none"}
    assert set(expected) == set(ATTRIBUTIONS.names())
    for name, score in expected.items():
        result = ATTRIBUTIONS.get(name)(**FAST.get(name, {})).explain(model, digits[:1], np.array([2]))
        assert result.params["score"] == score, name


def test_integrated_gradients_of_the_logit_are_complete(model, digits):
    from attention_xai.explain.base import log_scores

    targets = np.array([7, 2])
    result = ATTRIBUTIONS.get("integrated_gradients")(steps=128, output="logit").explain(model, digits[:2], targets)
    assert result.params["score"] == "logit" and result.params["output"] == "logit"
    inputs = np.concatenate([digits[:2], np.zeros((1, 28, 28, 1), "float32")])
    logits = keras.ops.convert_to_numpy(log_scores(model)(inputs))
    np.testing.assert_allclose(result.maps.sum(axis=(1, 2)), logits[[0, 1], targets] - logits[2, targets], atol=2e-2)
    with pytest.raises(ConfigError, match="output must be one of probability, logit"):
        ATTRIBUTIONS.get("occlusion")(output="softmax")


def test_informativeness_known_answers():
    from attention_xai.evaluate.attention import RANGE_THRESHOLD, informativeness

    uniform = np.ones((1, 8, 8))
    one_hot = np.zeros((1, 8, 8))
    one_hot[0, 3, 4] = 1.0
    saturated = np.full((1, 8, 8), 0.95)
    saturated[0, 0, 0] = 0.92  # CBAM's sigmoid gate of the old quick model: [0.92, 1.00]
    saturated[0, 7, 7] = 1.0
    stats = informativeness(np.concatenate([uniform, one_hot, saturated]))
    np.testing.assert_allclose(stats["dynamic_range"], [0.0, 1.0, 0.08])
    np.testing.assert_allclose(stats["entropy"][:2], [1.0, 0.0], atol=1e-12)
    assert stats["entropy"][2] > 0.99 and stats["informative"].tolist() == [False, True, False]
    assert RANGE_THRESHOLD == 0.1


@pytest.mark.slow
def test_a_saturated_attention_map_is_flagged_not_correlated(digits):
    from attention_xai.explain.analysis import ROBUSTNESS_SAMPLES, analyse

    model = build_classifier(tiny_model_config())
    spatial = model.get_layer("attention").spatial
    spatial.bias.assign(np.full(spatial.bias.shape, 20.0, "float32"))  # sigmoid ~ 1 at every position
    methods = {"occlusion": ATTRIBUTIONS.get("occlusion")(window=7, stride=7),
               "attention": ATTRIBUTIONS.get("attention")()}
    analysis = analyse(model, digits[:8], None, methods=methods, sanity_digits=1)
    attention = next(e for e in analysis.explanations if e.method == "attention")
    assert attention.params["informative"] == [False] * 8
    assert {row["informative"] for row in analysis.informativeness} == {"NO"}
    (agreement,) = analysis.agreement
    assert agreement["spearman_with_attention"] is None and "uninformative" in agreement["note"]
    attention_sanity = [row for row in analysis.sanity if row["method"] == "attention"]
    assert len(attention_sanity) == 1 and "uninformative" in attention_sanity[0]["verdict"]
    # Every faithfulness mean carries its bootstrap interval over the 8 digits.
    for row in analysis.faithfulness:
        assert row["digits"] == 8
        for key in ("deletion_auc", "insertion_auc"):
            assert row[f"{key}_ci_low"] <= row[key] <= row[f"{key}_ci_high"], (row["method"], key)
        # robustness on the sanity digit, from the stage's few perturbed copies
        assert row["robustness_digits"] == 1 and row["robustness_samples"] == ROBUSTNESS_SAMPLES
        for key in ("max_sensitivity", "local_lipschitz", "average_stability"):
            assert np.isfinite(row[key]) and row[key] >= 0, (row["method"], key)
            assert row[f"{key}_ci_low"] == row[key] == row[f"{key}_ci_high"]  # one digit: no spread
    occlusion = next(row for row in analysis.faithfulness if row["method"] == "occlusion")
    assert occlusion["max_sensitivity"] > 0  # a 7x7 occlusion map moves when the digit does
    emprt = {row["emprt_verdict"].split(" (")[0] for row in analysis.sanity if row["method"] == "occlusion"}
    assert len(emprt) == 1 and emprt <= {"pass", "FAIL", "inconclusive"}  # one verdict, read off the last row


@pytest.mark.parametrize("absolute", [True, False])
def test_smoothgrad_compiled_gradients_give_tf_keras_vis_own_maps(model, digits, absolute):
    """The adapter swaps only tf-keras-vis' gradient pass for the model's compiled one: with
    the same numpy seed, plain `Saliency` on the logit view draws the same noise and must
    give the same maps."""
    from tf_keras_vis.saliency import Saliency

    from attention_xai.explain.attribution.cam import logit_view
    from attention_xai.explain.base import numpy_seed

    targets = np.array([3, 1, 4])
    ours = ATTRIBUTIONS.get("smoothgrad")(samples=5, absolute=absolute, seed=7).explain(model, digits[:3], targets)
    view, score_for = logit_view(model)
    with numpy_seed(7):
        theirs = Saliency(view, clone=False)(score_for(targets), digits[:3], smooth_samples=5, normalize_map=False,
                                             **({} if absolute else {"gradient_modifier": None}))
    assert np.abs(theirs).max() > 0
    np.testing.assert_allclose(ours.maps, theirs, rtol=1e-4, atol=1e-5 * np.abs(theirs).max())


@pytest.mark.parametrize("name", ["gradcam", "scorecam", "smoothgrad"])
def test_tf_keras_vis_methods_on_a_model_without_a_softmax_dense_head(name, digits):
    """The softmax is a layer of its own: the methods fall back to tf-keras-vis' own path on
    a copy whose softmax is made linear."""
    inputs = keras.Input((28, 28, 1))
    features = keras.layers.Conv2D(4, 3, activation="relu", name="features")(inputs)
    dense = keras.layers.Dense(10)
    pooled = keras.layers.GlobalAveragePooling2D()(features)
    model = keras.Model(inputs, keras.layers.Activation("softmax")(dense(pooled)))
    kernel, bias = dense.get_weights()
    dense.set_weights([np.abs(kernel) + 0.1, bias])  # every channel speaks for every class: the maps cannot be all 0
    result = ATTRIBUTIONS.get(name)(**FAST.get(name, {}), **({} if name == "smoothgrad" else {"layer": "features"})
                                    ).explain(model, digits[:2], np.array([1, 2]))
    assert result.maps.shape == (2, 28, 28) and np.isfinite(result.maps).all() and result.maps.max() > 0


def test_scorecam_weighs_each_channel_by_the_target_probability():
    """Score-CAM's weight for channel k is p(target | image masked by channel k, min-max
    normalised); the map is ReLU(sum_k weight_k * channel_k). Known answer: class 0's logit
    is 8 * x[pixel]; channel 0 is the image, channel 1 its negative. Masked by channel 0
    only the pixel survives (p = e^8 / (e^8 + 9)); masked by channel 1 the pixel is 0 (p =
    0.1). tf-keras-vis softmaxes what the model outputs: fed the softmax model it would
    weigh channel 0 by softmax(probabilities)[0] = 0.23 instead of 0.997."""
    pixel = (13, 9)
    inputs = keras.Input((28, 28, 1), name="digits")
    features = keras.layers.Conv2D(2, 1, use_bias=False, name="features")(inputs)
    dense = keras.layers.Dense(10, activation="softmax", name="predictions")
    model = keras.Model(inputs, dense(keras.layers.Flatten()(features)))
    kernel = np.zeros((28 * 28 * 2, 10), "float32")
    kernel[(pixel[0] * 28 + pixel[1]) * 2, 0] = 8.0
    dense.set_weights([kernel, np.zeros(10, "float32")])
    model.get_layer("features").set_weights([np.array([1.0, -1.0], "float32").reshape(1, 1, 1, 2)])
    image = np.full((1, 28, 28, 1), 0.5, "float32")
    image[0, pixel[0], pixel[1]] = 1.0

    maps = ATTRIBUTIONS.get("scorecam")(layer="features").explain(model, image, np.array([0])).maps[0]
    weights = np.array([np.exp(8.0) / (np.exp(8.0) + 9), 0.1])
    expected = np.maximum(weights[0] * image[0, ..., 0] - weights[1] * image[0, ..., 0], 0)
    np.testing.assert_allclose(maps, expected, rtol=1e-3)


def test_rise_of_a_model_that_ignores_its_input_is_that_constant_everywhere():
    """With the masks' own weights in the denominator, a constant score gives a constant map."""
    inputs = keras.Input((28, 28, 1), name="digits")
    zero = keras.layers.Lambda(lambda x: 0.0 * keras.ops.sum(x, axis=(1, 2, 3))[:, None])(inputs)
    logits = keras.layers.Dense(10, kernel_initializer="zeros",
                                bias_initializer=keras.initializers.Constant([2.0] + [0.0] * 9))(zero)
    model = keras.Model(inputs, keras.layers.Softmax()(logits))
    maps = ATTRIBUTIONS.get("rise")(masks=200).explain(model, np.ones((1, 28, 28, 1), "float32"), np.array([0])).maps
    expected = np.exp(2.0) / (np.exp(2.0) + 9)
    np.testing.assert_allclose(maps, expected, rtol=1e-4)


def test_rise_masks_are_smooth_shifted_and_keep_the_asked_share():
    from attention_xai.explain.attribution.rise import rise_masks

    masks = rise_masks(2000, 7, 0.3, np.random.default_rng(0))
    assert masks.shape == (2000, 28, 28) and masks.min() >= 0 and masks.max() <= 1
    assert abs(masks.mean() - 0.3) < 0.02  # a cell is kept with probability `keep`
    assert len({m.tobytes() for m in masks[:50]}) == 50
    assert 0 < ((masks > 0.01) & (masks < 0.99)).mean() < 0.9  # bilinear edges between cells
    np.testing.assert_array_equal(masks, rise_masks(2000, 7, 0.3, np.random.default_rng(0)))


def test_gradcampp_weighs_channels_by_the_exponentiated_logit_at_gradcams_layer(model, digits):
    """On the attention model it reads Grad-CAM's own layer, the attention module's output;
    on a model with one feature channel (the digit itself) its map is that channel times
    one positive weight, so the read pixel, the brightest, comes first."""
    targets = np.array([3, 1])
    plusplus = ATTRIBUTIONS.get("gradcampp")().explain(model, digits[:2], targets)
    assert plusplus.params["layer"] == ATTRIBUTIONS.get("gradcam")().explain(model, digits[:2], targets).params["layer"]
    assert plusplus.params["layer"] == "attention" and plusplus.params["score"] == "logit"
    pixel = (5, 20)
    one = _one_pixel_model(pixel)
    image = np.full((1, 28, 28, 1), 0.5, "float32")
    image[0][pixel] = 1.0
    cam = ATTRIBUTIONS.get("gradcampp")(layer="features").explain(one, image, np.array([0])).maps[0]
    assert cam[pixel] == pytest.approx(cam.max()) and cam.min() > 0
    np.testing.assert_allclose(cam / image[0, ..., 0], cam[pixel], rtol=1e-4)  # weight x the one channel
