"""Judges, COUT and the VAE behind `revise`: metrics on hand-made cases, the judges' and
the VAE's files, and the rule that no search ever calls a judge."""

import ast
from pathlib import Path

import keras
import numpy as np
import pytest

from attention_xai.data import to_model_input
from attention_xai.errors import ArtifactError, ConfigError
from attention_xai.evaluate.counterfactual import COUT_STEPS, cout, judge_verdicts
from attention_xai.explain.base import predict_in_batches
from attention_xai.explain.counterfactual import COUNTERFACTUALS
from attention_xai.explain.counterfactual.analysis import (ADVERSARIAL, CounterfactualAnalysis, analyse_counterfactuals,
                                                           judge_verdict, measure)
from attention_xai.explain.samples import Samples
from attention_xai.models.attention.base import AttentionBlock
from attention_xai.models.judges import JUDGE_DIR, JUDGES, judge_predict, load_judges
from attention_xai.models.vae import build_vae, load_vae
from conftest import ROOT

pytestmark = pytest.mark.slow  # trains models or starts processes: `make test`, not `make test-fast`

COMMITTED_JUDGES = ROOT / JUDGE_DIR


@pytest.fixture(scope="module")
def classifier(tiny_classifier):
    return tiny_classifier


def _predict(model):
    return lambda x: predict_in_batches(model, np.asarray(x, np.float32), 256)


def _analysis(model, digits, result):
    probabilities = _predict(model)(digits)
    n = len(digits)
    samples = Samples(indices=np.arange(n), kind=np.array(["GOOD"] * n), labels=probabilities.argmax(axis=1),
                      predictions=probabilities.argmax(axis=1), confidence=probabilities.max(axis=1))
    return CounterfactualAnalysis(images=digits, samples=samples, targets=result.targets, target_rule="runner-up",
                                  results=[result])


def test_a_judge_identical_to_the_model_agrees_exactly_where_it_is_valid(classifier, mnist):
    digits = to_model_input(mnist.x_test[:6])
    targets = np.argsort(-_predict(classifier)(digits), axis=1)[:, 1]
    result = COUNTERFACTUALS.get("gradient")(**COUNTERFACTUALS.get("gradient").smoke).generate(classifier, digits,
                                                                                               targets)
    assert result.valid.any()
    per_digit, summary = measure(classifier, _analysis(classifier, digits, result), judges={"same": classifier})
    agrees = np.array([np.nan if r["judge_same_agrees"] is None else r["judge_same_agrees"] for r in per_digit])
    # Over all digits, a judge that is the model agrees exactly as often as the model is valid.
    np.testing.assert_array_equal(np.nan_to_num(agrees, nan=0.0), result.valid.astype(float))
    assert summary[0]["judge_same_agrees"] == 1.0 and summary[0]["judge_same_keeps"] == 0.0
    assert summary[0]["verdict"] == "accepted by the judges"


def test_training_digits_of_the_target_are_what_the_committed_judges_agree_with(mnist):
    judges = load_judges(COMMITTED_JUDGES)
    assert set(judges) == set(JUDGES)
    digits = to_model_input(mnist.x_test[:10])
    originals = mnist.y_test[:10].astype(np.int64)
    targets = (originals + 1) % 10
    # Each counterfactual replaced by the first training digit of its target class.
    swaps = to_model_input(mnist.x_train[[int(np.flatnonzero(mnist.y_train == t)[0]) for t in targets]])
    for judge in judges.values():
        verdict = judge_verdicts(lambda x, j=judge: judge_predict(j, x), digits, swaps, targets, originals)
        assert verdict["agrees"].tolist() == [1.0] * 10 and verdict["keeps"].tolist() == [0.0] * 10
        np.testing.assert_array_equal(verdict["before"], originals)  # they read the originals right, too
        # A missing counterfactual is no verdict, not a disagreement.
        none = judge_verdicts(lambda x, j=judge: judge_predict(j, x), digits[:2], np.full((2, 28, 28, 1), np.nan),
                              targets[:2], originals[:2])
        assert np.isnan(none["agrees"]).all() and (none["class"] == -1).all()


def test_committed_judges_are_accurate_and_of_their_own_families():
    import json

    metrics = json.loads((COMMITTED_JUDGES / "metrics.json").read_text())["judges"]
    assert set(metrics) == set(JUDGES)
    assert all(m["test_accuracy"] >= 0.97 and m["test_digits"] == 10000 for m in metrics.values())
    judges = load_judges(COMMITTED_JUDGES)
    layer_kinds = {name: {type(layer).__name__ for layer in j.layers} for name, j in judges.items()}
    assert "Conv2D" not in layer_kinds["mlp"]
    # No judge shares the explained models' machinery: no resize, no normalisation, no attention.
    for kinds in layer_kinds.values():
        assert not any(k in kinds for k in ("Resizing", "BatchNormalization"))
    assert not any(isinstance(layer, AttentionBlock) for j in judges.values() for layer in j.layers)


def test_cout_is_near_one_when_the_first_slice_carries_the_decision_and_flat_without_change():
    x = np.zeros((1, 28, 28, 1), np.float32)
    x_cf = x.copy()
    x_cf[0, :5, :5] = 1.0  # 25 changed pixels, all in the first of 50 slices (16 pixels) ... and the second

    def ink(images):  # class 1 once any ink is there, else class 0, confidently
        has = (np.asarray(images).reshape(len(images), -1).max(axis=1) > 0).astype(np.float32)
        p = np.zeros((len(images), 10), np.float32)
        p[:, 0], p[:, 1] = 1 - has, has
        return p

    score, curves = cout(ink, x, x_cf, np.array([0]), np.array([1]), return_curves=True)
    # p_t goes 0 -> 1 at the first slice: AUC(p_t) = 1 - 1/(2*50), AUC(p_s) = 1/(2*50).
    assert score[0] == pytest.approx(1 - 1 / COUT_STEPS)
    assert curves.shape == (1, COUT_STEPS + 1, 2) and curves[0, 0].tolist() == [0.0, 1.0]
    # No change: both curves stay at the digit's own probabilities, COUT = p_t(x) - p_s(x).
    assert cout(ink, x, x, np.array([0]), np.array([1]))[0] == pytest.approx(-1.0)
    assert np.isnan(cout(ink, x, np.full_like(x, np.nan), np.array([0]), np.array([1]))[0])


def test_cout_of_a_full_swap_to_a_confident_target_digit_is_high(mnist):
    judge = load_judges(COMMITTED_JUDGES)["lenet"]  # here simply a good classifier to score with

    def predict(x):
        return judge_predict(judge, x)

    x = to_model_input(mnist.x_test[:20])
    sources = mnist.y_test[:20].astype(np.int64)
    targets = (sources + 3) % 10
    swaps = to_model_input(mnist.x_train[[int(np.flatnonzero(mnist.y_train == t)[5]) for t in targets]])
    full = cout(predict, x, swaps, sources, targets)
    assert np.median(full) > 0.5 and (full > 0).mean() >= 0.9
    assert (cout(predict, x, x, sources, targets) < -0.9).all()  # no change: stays with the source


def test_judge_verdict_names_adversarial_methods():
    assert judge_verdict([0.95, 0.92], [0.0, 0.05]) == "accepted by the judges"
    assert judge_verdict([0.03, 0.0], [0.97, 1.0]) == ADVERSARIAL
    assert judge_verdict([0.95, 0.5], [0.0, 0.4]).startswith("mixed")
    assert judge_verdict([np.nan, np.nan], [np.nan, np.nan]) == "no valid counterfactual"


class _Trap:
    """A judge that raises when it is called while a search runs."""

    searching = False
    calls = 0

    def __init__(self, model):
        self.model = model

    def __call__(self, x, training=False):
        if _Trap.searching:
            raise AssertionError("a judge was called during a counterfactual search")
        _Trap.calls += 1
        return self.model(x, training=training)


def test_no_search_calls_a_judge(classifier, mnist, autoencoders_dir, tiny_siblings_dir, monkeypatch):
    from conftest import COMMITTED_VAE

    names = ["growing_spheres", "gradient", "seed_loop", "prototype", "revise", "revise_siblings"]
    for name in names:
        cls = COUNTERFACTUALS.get(name)
        original = cls.search

        def trapped(self, *args, _original=original, **kwargs):
            _Trap.searching = True
            try:
                return _original(self, *args, **kwargs)
            finally:
                _Trap.searching = False

        monkeypatch.setattr(cls, "search", trapped)
    judge = _Trap(classifier)
    _Trap.searching = True
    with pytest.raises(AssertionError):  # the trap springs when it should
        judge(to_model_input(mnist.x_test[:1]))
    _Trap.searching, _Trap.calls = False, 0
    methods = {}
    for name in names:
        method = COUNTERFACTUALS.get(name)
        folders = {"autoencoders": autoencoders_dir, "vae": COMMITTED_VAE, "siblings": tiny_siblings_dir}
        params = {**method.smoke, **{parameter: str(folders[kind]) for parameter, kind in method.needs.items()}}
        methods[name] = method(**params)
    analysis = analyse_counterfactuals(classifier, to_model_input(mnist.x_test[:64]), mnist.y_test[:64],
                                       methods=methods, good=1, bad=1, judges={"trap": judge},
                                       overlap_methods=["gradcam"])
    assert _Trap.calls >= len(names)  # it judged afterwards
    assert all("judge_trap_agrees" in row and "verdict" in row for row in analysis.summary)


def test_no_method_reads_the_judges_folder():
    """No module that defines a counterfactual method (or their base) imports the judges,
    and no method's parameters point at them; only the measurement afterwards does."""
    import sys

    modules = {COUNTERFACTUALS.get(n).__module__ for n in COUNTERFACTUALS.names()}
    modules |= {"attention_xai.explain.counterfactual.base", "attention_xai.explain.counterfactual.gradient"}
    paths = {Path(sys.modules[m].__file__) for m in modules}
    assert len(paths) >= 7
    for path in paths:
        tree = ast.parse(path.read_text())
        imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        assert not any("judges" in (m or "") for m in imported), path.name
    for name in COUNTERFACTUALS.names():
        for value in COUNTERFACTUALS.get(name).defaults.values():
            assert "judges" not in str(value), (name, value)


def test_judges_and_vae_save_and_reload_exactly(judges_dir, vae_dir, mnist):
    x = to_model_input(mnist.x_test[:8])
    judges = load_judges(judges_dir)
    for name, judge in judges.items():
        fresh = keras.saving.load_model(judges_dir / f"{name}.keras", compile=False)
        np.testing.assert_array_equal(judge_predict(judge, x), judge_predict(fresh, x))
        assert judge_predict(judge, x).shape == (8, 10)
    vae = load_vae(vae_dir)
    encoder = keras.saving.load_model(vae_dir / "encoder.keras", compile=False)
    decoder = keras.saving.load_model(vae_dir / "decoder.keras", compile=False)
    codes = vae.encode(x)
    np.testing.assert_array_equal(codes, keras.ops.convert_to_numpy(encoder(x, training=False)[0]))
    np.testing.assert_array_equal(vae.decode(codes), keras.ops.convert_to_numpy(decoder(codes, training=False)))
    assert codes.shape == (8, 8) and vae.decode(codes).min() >= 0 and vae.decode(codes).max() <= 1


def test_missing_or_foreign_judges_and_vae_name_the_command(tmp_path, judges_dir):
    with pytest.raises(ArtifactError, match="python -m attention_xai judges"):
        load_judges(tmp_path / "nothing")
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    for name in JUDGES:  # a classifier of 32x32 images where a 28x28 judge belongs
        inputs = keras.Input((32, 32, 1))
        keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(inputs))).save(
            foreign / f"{name}.keras")
    with pytest.raises(ArtifactError, match=r"not 28x28x1 digits.*python -m attention_xai judges"):
        load_judges(foreign)
    with pytest.raises(ArtifactError, match="python -m attention_xai vae"):
        load_vae(tmp_path / "nothing")
    encoder, decoder = build_vae(4)
    encoder.save(foreign / "encoder.keras")
    keras.Model(decoder.input, keras.layers.Reshape((28, 28))(decoder.output)).save(foreign / "decoder.keras")
    with pytest.raises(ArtifactError, match="python -m attention_xai vae"):
        load_vae(foreign)


def test_revise_answers_clear_the_margin_and_sparsify_keeps_a_subset(classifier, mnist):
    """Known answers: every valid counterfactual clears the margin kappa (a clear change of
    class, unlike `gradient`'s boundary points); `sparsify` keeps a subset of the drawn
    answer's changes, so it never changes more, and still clears kappa."""
    from conftest import COMMITTED_VAE

    digits = to_model_input(mnist.x_test[:6])
    targets = np.argsort(-_predict(classifier)(digits), axis=1)[:, 1]

    def run(**params):
        return COUNTERFACTUALS.get("revise")(vae=str(COMMITTED_VAE), kappa=2.0, steps=100, **params).generate(
            classifier, digits, targets)

    def margins(result):
        p = _predict(classifier)(result.counterfactuals[result.valid])
        t = targets[result.valid]
        other = np.where(np.eye(10, dtype=bool)[t], 0, p).max(axis=1)
        return np.log(p[np.arange(len(t)), t]) - np.log(other)

    drawn = run(sparsify=False)
    assert drawn.valid.mean() >= 0.5 and (margins(drawn) >= 2.0 - 1e-3).all()
    sparse = run(sparsify=True)
    np.testing.assert_array_equal(sparse.valid, drawn.valid)  # the same search, then fewer pixels
    assert (margins(sparse) >= 2.0 - 1e-3).all()
    # Every pixel of a sparsified answer is the digit's own or the drawn answer's.
    cf, x, full = sparse.counterfactuals[sparse.valid], digits[sparse.valid], drawn.counterfactuals[drawn.valid]
    assert np.all(np.isclose(cf, x) | np.isclose(cf, full))
    l1 = lambda r: np.abs(r.counterfactuals[r.valid] - digits[r.valid]).sum(axis=(1, 2, 3))  # noqa: E731
    assert (l1(sparse) <= l1(drawn) + 1e-4).all() and l1(sparse).sum() < l1(drawn).sum()
    assert sparse.params["kappa"] == 2.0 and sparse.params["vae"] == str(COMMITTED_VAE)
    # A lower margin for what is kept keeps no more pixels; a finer grid no more either.
    looser = run(sparsify=True, keep_margin=1.0)
    finer = run(sparsify=True, sparsify_steps=40)
    assert (l1(looser) <= l1(sparse) + 1e-4).all() and (l1(finer) <= l1(sparse) + 1e-4).all()
    # keep_projected: a kept subset must also read as the target once the VAE redraws it, so
    # it keeps no fewer pixels than the same margin alone; every sparsified answer passes.
    projected = run(sparsify=True, keep_margin=1.0, keep_projected=1.0)
    assert (l1(projected) >= l1(looser) - 1e-4).all()
    from attention_xai.models.vae import load_vae

    vae = load_vae(COMMITTED_VAE)
    cut = ~np.isclose(projected.counterfactuals[projected.valid], full).all(axis=(1, 2, 3))
    redrawn = vae.decode(vae.encode(projected.counterfactuals[projected.valid]))
    p = _predict(classifier)(redrawn)
    t = targets[projected.valid]
    other = np.where(np.eye(10, dtype=bool)[t], 0, p).max(axis=1)
    assert (np.log(p[np.arange(len(t)), t]) - np.log(other) >= 1.0 - 1e-3)[cut].all()
    with pytest.raises(ConfigError, match="at least one round, one step and one sparsify step"):
        run(sparsify_steps=0)


def _log_margins(model, images, targets):
    p = _predict(model)(images)
    other = np.where(np.eye(10, dtype=bool)[targets], 0, p).max(axis=1)
    return np.log(p[np.arange(len(targets)), targets]) - np.log(other)


def test_revise_siblings_answers_convince_every_sibling(classifier, mnist, tiny_siblings_dir, tmp_path):
    """Known answers: each valid answer clears keep_margin on the model and on every
    sibling; a sibling that can never be convinced leaves no valid answer (the siblings
    really take part); the model as its own sibling changes nothing."""
    from conftest import COMMITTED_VAE

    from attention_xai.models.siblings import load_siblings

    digits = to_model_input(mnist.x_test[:6])
    targets = np.argsort(-_predict(classifier)(digits), axis=1)[:, 1]
    budget = {"vae": str(COMMITTED_VAE), "kappa": 2.0, "steps": 100, "keep_margin": 1.5, "rounds": 3}

    def run(name="revise_siblings", **params):
        if name == "revise_siblings":
            params.setdefault("sibling_margin", 1.5)
        return COUNTERFACTUALS.get(name)(**budget, **params).generate(classifier, digits, targets)

    result = run(siblings=str(tiny_siblings_dir))
    assert result.valid.mean() >= 0.5 and result.params["siblings"] == str(tiny_siblings_dir)
    (sibling,) = load_siblings(tiny_siblings_dir)
    for model in (classifier, sibling):
        assert (_log_margins(model, result.counterfactuals[result.valid], targets[result.valid]) >= 1.5 - 1e-3).all()
    # Each step asks the sibling too: two gradient passes a step, not one.
    plain = run("revise", sparsify=False)
    assert result.gradient_passes.sum() > plain.gradient_passes.sum()

    # A sibling that always answers one class no target asks for: nothing can convince it.
    stubborn_class = next(c for c in range(10) if c not in targets)
    inputs = keras.Input((28, 28, 1))
    dense = keras.layers.Dense(10, activation="softmax", kernel_initializer="zeros",
                               bias_initializer=keras.initializers.Constant(np.eye(10)[stubborn_class] * 50))
    (tmp_path / "stubborn" / "seed9").mkdir(parents=True)
    keras.Model(inputs, dense(keras.layers.Flatten()(inputs))).save(tmp_path / "stubborn" / "seed9" / "model.keras")
    assert not run(siblings=str(tmp_path / "stubborn")).valid.any()

    # The model as its own sibling: the same answers as plain revise with the same settings.
    classifier.save(tmp_path / "self.keras")
    itself = run(siblings=str(tmp_path / "self.keras"))
    alone = run("revise", sparsify_steps=40)
    np.testing.assert_array_equal(itself.valid, alone.valid)
    np.testing.assert_allclose(itself.counterfactuals, alone.counterfactuals, atol=1e-5)


def test_revise_siblings_without_siblings_names_the_command(classifier, mnist, tmp_path):
    from conftest import COMMITTED_VAE

    from attention_xai.errors import ModelFileError

    digits = to_model_input(mnist.x_test[:2])
    targets = np.argsort(-_predict(classifier)(digits), axis=1)[:, 1]
    with pytest.raises(ConfigError, match="python -m attention_xai siblings"):
        COUNTERFACTUALS.get("revise_siblings")(vae=str(COMMITTED_VAE)).generate(classifier, digits, targets)
    for where in (tmp_path / "nowhere", tmp_path / "missing.keras"):
        with pytest.raises(ModelFileError, match="python -m attention_xai siblings"):
            COUNTERFACTUALS.get("revise_siblings")(vae=str(COMMITTED_VAE), siblings=str(where)).generate(
                classifier, digits, targets)


def test_sibling_config_cuts_the_schedule_and_changes_only_the_seed():
    import dataclasses

    from attention_xai.config import Phase
    from attention_xai.models.siblings import sibling_config, train_siblings
    from conftest import tiny_experiment

    config = tiny_experiment(epochs=2)
    two_phases = dataclasses.replace(config, training=dataclasses.replace(
        config.training, phases=(Phase(epochs=2, learning_rate=1e-3), Phase(epochs=3, learning_rate=1e-4))))
    cut = sibling_config(two_phases, seed=5, epochs=3)
    assert [(p.epochs, p.learning_rate) for p in cut.training.phases] == [(2, 1e-3), (1, 1e-4)]
    assert cut.seed == 5 and cut.name == "seed5" and cut.model == two_phases.model
    assert [p.epochs for p in sibling_config(two_phases, seed=5, epochs=1).training.phases] == [1]
    with pytest.raises(ConfigError, match="at least one epoch"):
        sibling_config(two_phases, seed=5, epochs=0)
    with pytest.raises(ConfigError, match="must differ from the model's own seed"):
        train_siblings(config, None, Path("unused"), seeds=(config.seed,))
