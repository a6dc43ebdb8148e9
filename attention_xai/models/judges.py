"""Judges: digit classifiers that never take part in a counterfactual search, and decide
afterwards whether a counterfactual reads as its target class to someone other than the
model it was searched on (the "oracle score" of Hvilshoej et al.).

A counterfactual that flips only the explained model is an adversarial perturbation; one
that independently trained classifiers of other families also put in the target class is
a change of digit. The judges are chosen to share nothing with the explained models:

    mlp     784-512-256-10 multilayer perceptron (no convolutions at all)
    lenet   LeNet-style CNN on the raw 28x28 digits (5x5 convolutions, max pooling, no
            resize, no normalisation layers, no attention), unlike every backbone here

Each has its own seed and its own files, in a folder no method reads:

    saved_models/judges/mlp.keras, lenet.keras, metrics.json

References: Hvilshoej, Iosifidis and Assent, "On Quantitative Evaluations of
Counterfactuals", arXiv:2111.00177, 2021.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Callable, Mapping

import keras
import numpy as np

from attention_xai.artifacts import load_shared_model, save_model, write_json
from attention_xai.errors import ArtifactError, ConfigError
from attention_xai.machine import cpu_description
from attention_xai.models.classifier import DIGIT_SHAPE, NUM_CLASSES

log = logging.getLogger(__name__)

JUDGE_DIR = Path("saved_models") / "judges"
MAKE_COMMAND = "python -m attention_xai judges"


def build_mlp(seed: int) -> keras.Model:
    """784-512-256-10 perceptron with dropout."""
    init = lambda k: keras.initializers.GlorotUniform(seed=seed + k)  # noqa: E731
    digits = keras.Input(DIGIT_SHAPE, name="digits")
    x = keras.layers.Flatten(name="flatten")(digits)
    x = keras.layers.Dense(512, activation="relu", kernel_initializer=init(0), name="dense1")(x)
    x = keras.layers.Dropout(0.2, seed=seed, name="dropout1")(x)
    x = keras.layers.Dense(256, activation="relu", kernel_initializer=init(1), name="dense2")(x)
    x = keras.layers.Dropout(0.2, seed=seed + 1, name="dropout2")(x)
    out = keras.layers.Dense(NUM_CLASSES, activation="softmax", kernel_initializer=init(2), name="probabilities")(x)
    return keras.Model(digits, out, name="judge_mlp")


def build_lenet(seed: int) -> keras.Model:
    """LeNet-style: conv 5x5 (20) - max pool - conv 5x5 (50) - max pool - dense 500 - 10."""
    init = lambda k: keras.initializers.GlorotUniform(seed=seed + k)  # noqa: E731
    digits = keras.Input(DIGIT_SHAPE, name="digits")
    x = keras.layers.Conv2D(20, 5, activation="relu", kernel_initializer=init(0), name="conv1")(digits)
    x = keras.layers.MaxPooling2D(2, name="pool1")(x)
    x = keras.layers.Conv2D(50, 5, activation="relu", kernel_initializer=init(1), name="conv2")(x)
    x = keras.layers.MaxPooling2D(2, name="pool2")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(500, activation="relu", kernel_initializer=init(2), name="dense")(x)
    x = keras.layers.Dropout(0.3, seed=seed, name="dropout")(x)
    out = keras.layers.Dense(NUM_CLASSES, activation="softmax", kernel_initializer=init(3), name="probabilities")(x)
    return keras.Model(digits, out, name="judge_lenet")


JUDGES: Mapping[str, tuple[Callable[[int], keras.Model], int, int]] = {
    # name: (builder, seed, epochs) -- seeds of their own, used by nothing else here
    "mlp": (build_mlp, 1013, 8),
    "lenet": (build_lenet, 2029, 6),
}


def judge_paths(directory: Path = JUDGE_DIR) -> dict[str, Path]:
    return {name: Path(directory) / f"{name}.keras" for name in JUDGES}


def train_judges(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray,
                 directory: Path = JUDGE_DIR, *, epochs: int | None = None, verbose: int = 0) -> dict:
    """Trains and saves every judge; returns the metrics written to `metrics.json`
    (test accuracy, train seconds, seed, epochs).

    Args:
        x_train, x_test: (N, 28, 28, 1) float32 in [0, 1]; y_train, y_test: classes.
        epochs: overrides each judge's own epoch count (for smoke runs).
    """
    if epochs is not None and epochs <= 0:
        raise ConfigError("judge epochs must be positive")
    directory = Path(directory)
    metrics = {"judges": {}, "note": "independent classifiers for the oracle score; no counterfactual method "
                                     "reads this folder", "machine": cpu_description()}
    for name, (build, seed, own_epochs) in JUDGES.items():
        keras.utils.set_random_seed(seed)
        n_epochs = epochs or own_epochs
        started = time.perf_counter()
        model = build(seed)
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        model.fit(x_train, y_train, batch_size=128, epochs=n_epochs, shuffle=True, verbose=verbose)
        seconds = time.perf_counter() - started
        accuracy = float(np.mean(judge_predict(model, x_test).argmax(axis=1) == y_test))
        metrics["judges"][name] = {"family": model.name, "seed": seed, "epochs": n_epochs,
                                   "train_digits": int(len(x_train)), "test_digits": int(len(x_test)),
                                   "test_accuracy": round(accuracy, 5), "train_seconds": round(seconds, 1),
                                   "params": int(model.count_params())}
        log.info("judge %s: test accuracy %.4f on %d digits (%.0f s)", name, accuracy, len(x_test), seconds)
        plain = build(seed)  # saved without optimizer state
        plain.set_weights(model.get_weights())
        save_model(plain, directory / f"{name}.keras")
    write_json(directory / "metrics.json", metrics)
    _CACHE.pop(directory.resolve(), None)
    return metrics


_CACHE: dict[Path, dict[str, keras.Model]] = {}


def load_judges(directory: Path = JUDGE_DIR) -> dict[str, keras.Model]:
    """The judges under `directory` by name (loaded once per process).

    Raises:
        ArtifactError: a judge missing, unreadable, or not a 28x28 digit classifier (a judge
            of another image format), naming the command that makes them.
    """
    directory = Path(directory).resolve()
    if directory in _CACHE:
        return _CACHE[directory]
    judges = {}
    for name, path in judge_paths(directory).items():
        model = load_shared_model(path, f"judge {name!r}", f"make the judges with `{MAKE_COMMAND}`")
        if tuple(model.input_shape[1:]) != DIGIT_SHAPE or tuple(model.output_shape[1:]) != (NUM_CLASSES,):
            raise ArtifactError(f"judge {path} takes {tuple(model.input_shape[1:])} and gives "
                                f"{tuple(model.output_shape[1:])}, not 28x28x1 digits -> 10 classes; "
                                f"remake the judges with `{MAKE_COMMAND}`")
        judges[name] = model
    _CACHE[directory] = judges
    return judges


def judge_predict(judge: Callable, images: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """Probabilities (N, 10) of a judge, in inference mode."""
    out = [keras.ops.convert_to_numpy(judge(np.asarray(images[i:i + batch_size], np.float32), training=False))
           for i in range(0, len(images), batch_size)]
    return np.concatenate(out) if out else np.zeros((0, NUM_CLASSES), np.float32)
