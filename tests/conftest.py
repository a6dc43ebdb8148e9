"""Shared, read-only test inputs: real MNIST (loaded once) and tiny configs."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import dataclasses  # noqa: E402
import re  # noqa: E402
import shutil  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from attention_xai.config import NO_AUGMENTATION, ExperimentConfig, ModelConfig, Phase, TrainConfig  # noqa: E402
from attention_xai.data import load_mnist, to_model_input  # noqa: E402


@pytest.fixture(scope="session")
def mnist():
    """The full official split (uint8); tests must not modify it."""
    data = load_mnist()
    for array in (data.x_train, data.y_train, data.x_test, data.y_test):
        array.setflags(write=False)
    return data


@pytest.fixture(scope="session")
def digits(mnist):
    """16 real test digits as model input: (16, 28, 28, 1) float32 in [0, 1]."""
    return to_model_input(mnist.x_test[:16])


ROOT = Path(__file__).resolve().parent.parent
"""The repository: tests name committed files and experiment folders from here."""

COMMITTED_AUTOENCODERS = ROOT / "saved_models" / "autoencoders"


@pytest.fixture(scope="session")
def autoencoders_dir():
    """The committed digit autoencoders (read only: tests never write into the folder).
    Training eleven tiny ones per session cost a minute; `test_autoencoders_command_smoke`
    still trains a set through the command."""
    return COMMITTED_AUTOENCODERS


@pytest.fixture(scope="session")
def judges_dir(mnist, tmp_path_factory):
    """Tiny judges (one epoch each on 1,000 training digits), for the counterfactual tests;
    the committed ones (saved_models/judges) are for real runs."""
    from attention_xai.models.judges import train_judges

    directory = tmp_path_factory.mktemp("judges")
    train_judges(to_model_input(mnist.x_train[:1000]), mnist.y_train[:1000], to_model_input(mnist.x_test[:200]),
                 mnist.y_test[:200], directory, epochs=1)
    return directory


def _tiny_trained(mnist, seed: int):
    import keras

    from attention_xai.models import build_classifier

    keras.utils.set_random_seed(seed)
    model = build_classifier(tiny_model_config())
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy")
    model.fit(to_model_input(mnist.x_train[:2048]), mnist.y_train[:2048], batch_size=32, epochs=3, verbose=0)
    return model


@pytest.fixture(scope="session")
def tiny_classifier(mnist):
    """The tiny model after three epochs on 2,048 digits (about 89% accurate on test digits),
    shared read-only by the counterfactual and judge tests."""
    return _tiny_trained(mnist, 0)


@pytest.fixture(scope="session")
def tiny_siblings_dir(mnist, tmp_path_factory):
    """A siblings folder for `tiny_classifier`: the same recipe with seed 1, laid out as
    `python -m attention_xai siblings` lays it out (seed1/model.keras)."""
    directory = tmp_path_factory.mktemp("siblings")
    (directory / "seed1").mkdir()
    _tiny_trained(mnist, 1).save(directory / "seed1" / "model.keras")
    return directory


COMMITTED_VAE = ROOT / "saved_models" / "vae"
"""The committed digit VAE: `revise` is tested on it, as users run it (a VAE trained in
seconds draws too few digits for a search to reach another class)."""


@pytest.fixture(scope="session")
def vae_dir(mnist, tmp_path_factory):
    """A tiny digit VAE (two epochs on 2,000 training digits), for the save/reload tests."""
    from attention_xai.models.vae import train_vae

    directory = tmp_path_factory.mktemp("vae")
    train_vae(to_model_input(mnist.x_train[:2000]), to_model_input(mnist.x_test[:200]), directory, latent_dim=8,
              epochs=2)
    return directory


@pytest.fixture(scope="session")
def tiny_run(mnist, tmp_path_factory):
    """The tiny experiment trained for two epochs and exported (models/tiny), once per test
    process, for the command-line tests of the later stages. Read it through `copy_run`: a
    module's own copy, so that what one module writes beside the model never reaches another."""
    from attention_xai.artifacts import ExperimentPaths
    from attention_xai.training import train_experiment

    root = tmp_path_factory.mktemp("tiny_run")
    train_experiment(tiny_experiment(epochs=2), mnist, ExperimentPaths("tiny", root / "models", root / "reports"),
                     verbose=0)
    return root


def copy_run(run: Path, into: Path):
    """A copy of `tiny_run` at `into`, as ExperimentPaths of its "tiny" experiment."""
    from attention_xai.artifacts import ExperimentPaths

    shutil.copytree(run, into)
    return ExperimentPaths("tiny", into / "models", into / "reports")


def tiny_model_config(**overrides) -> ModelConfig:
    """A small CNN at 32x32, no augmentation: ~65% test accuracy after 2 epochs on 1,024 digits."""
    base = ModelConfig(backbone="small_cnn", backbone_kwargs={"widths": (16, 32), "stem_stride": 2}, image_size=32,
                       attention="cbam", head_dropout=0.0, augment=NO_AUGMENTATION)
    return dataclasses.replace(base, **overrides)


def tiny_experiment(name="tiny", epochs=2, **model_overrides) -> ExperimentConfig:
    return ExperimentConfig(
        name=name,
        model=tiny_model_config(**model_overrides),
        training=TrainConfig(phases=(Phase(epochs, 3e-3),), batch_size=32, validation_size=64, train_limit=1024,
                             test_limit=128),
        seed=1,
    )


def multiworker_experiment() -> ExperimentConfig:
    """tiny with augmentation and dropout, sized so that its test accuracy settles (0.87-0.89
    over seeds 1-3 in one process) within tens of seconds: the multi-worker tests compare runs."""
    from attention_xai.config import AugmentConfig

    base = tiny_experiment(epochs=3)
    model = dataclasses.replace(base.model, augment=AugmentConfig(probability=0.5), head_dropout=0.1)
    training = dataclasses.replace(base.training, phases=(Phase(3, 2e-3),), batch_size=64, train_limit=3072,
                                   validation_size=256, test_limit=1000)
    return dataclasses.replace(base, name="mw", model=model, training=training)


# TensorFlow's native start-up log, written before Python can set its level: on Intel CPUs
# with AVX-512 the oneDNN notice ("I0000 00:00:... port.cc:153] oneDNN custom operations are
# on") comes out even with TF_CPP_MIN_LOG_LEVEL=3. Not ours, and not an error.
_NATIVE_LOG = re.compile(r"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
                         r"|[IW]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [\w.]+:\d+\] .*)$")


def one_error_line(stderr: str) -> bool:
    """The error is one line, the last one, with no traceback; lines before it may only be
    the progress log ("[attention_xai] ...") and TensorFlow's native start-up notices."""
    lines = [line for line in stderr.strip().splitlines() if not _NATIVE_LOG.match(line)]
    return (bool(lines) and lines[-1].startswith("attention_xai: error: ")
            and all(line.startswith("[attention_xai] ") for line in lines[:-1]) and "Traceback" not in stderr)


def max_abs_diff(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b))))


__all__ = ["COMMITTED_VAE", "ROOT", "copy_run", "multiworker_experiment", "NO_AUGMENTATION", "one_error_line",
           "max_abs_diff", "tiny_experiment", "tiny_model_config"]


# A short training history (two phases) for the figure and page tests.
HISTORY = [{"epoch": e, "phase": "head" if e < 2 else "fine_tune", "loss": 1 / (e + 1), "accuracy": 0.5 + e / 10,
            "val_loss": 1.2 / (e + 1), "val_accuracy": 0.45 + e / 10, "learning_rate": 1e-3 / (e + 1)}
           for e in range(4)]
