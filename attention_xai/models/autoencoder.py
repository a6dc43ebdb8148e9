"""Digit autoencoders: one trained on every training digit and one per class. They are
trained once per dataset (not per classifier) and shared by the counterfactual methods
(`prototype`, `alibi_proto`, `alibi_cfrl`) and the plausibility metrics IM1 and IM2.

    saved_models/autoencoders/all.keras, class_0.keras ... class_9.keras, metrics.json

Each is a plain functional Keras model of built-in layers, (N, 28, 28, 1) in [0, 1] ->
the same; its encoder is the sub-graph up to the layer named "latent".

References: Van Looveren and Klaise, "Interpretable Counterfactual Explanations Guided by
Prototypes", ECML PKDD 2021 (arXiv:1907.02584), which introduced IM1 and IM2.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from attention_xai.artifacts import save_model, write_json
from attention_xai.errors import ArtifactError, ConfigError
from attention_xai.machine import cpu_description
from attention_xai.models.classifier import DIGIT_SHAPE, NUM_CLASSES

log = logging.getLogger(__name__)

AUTOENCODER_DIR = Path("saved_models") / "autoencoders"
LATENT = "latent"
MAKE_COMMAND = "python -m attention_xai autoencoders"


def build_autoencoder(latent_dim: int = 32, width: int = 16, seed: int = 0, name: str = "autoencoder") -> keras.Model:
    """A convolutional autoencoder: two strided convolutions to a `latent_dim` vector
    (the layer named "latent") and back through two transposed convolutions."""
    init = lambda k: keras.initializers.GlorotUniform(seed=seed + k)  # noqa: E731
    digits = keras.Input(DIGIT_SHAPE, name="digits")
    x = keras.layers.Conv2D(width, 3, strides=2, padding="same", activation="relu", kernel_initializer=init(0),
                            name="enc_conv1")(digits)
    x = keras.layers.Conv2D(2 * width, 3, strides=2, padding="same", activation="relu", kernel_initializer=init(1),
                            name="enc_conv2")(x)
    x = keras.layers.Flatten(name="enc_flatten")(x)
    z = keras.layers.Dense(latent_dim, kernel_initializer=init(2), name=LATENT)(x)
    x = keras.layers.Dense(7 * 7 * 2 * width, activation="relu", kernel_initializer=init(3), name="dec_dense")(z)
    x = keras.layers.Reshape((7, 7, 2 * width), name="dec_reshape")(x)
    x = keras.layers.Conv2DTranspose(width, 3, strides=2, padding="same", activation="relu",
                                     kernel_initializer=init(4), name="dec_deconv1")(x)
    x = keras.layers.Conv2DTranspose(width, 3, strides=2, padding="same", activation="relu",
                                     kernel_initializer=init(5), name="dec_deconv2")(x)
    out = keras.layers.Conv2D(1, 3, padding="same", activation="sigmoid", kernel_initializer=init(6),
                              name="reconstruction")(x)
    return keras.Model(digits, out, name=name)


def encoder_of(autoencoder: keras.Model) -> keras.Model:
    """The encoder half (digits -> latent vector), sharing the autoencoder's layers."""
    return keras.Model(autoencoder.input, autoencoder.get_layer(LATENT).output)


@dataclass(frozen=True)
class Autoencoders:
    """The shared autoencoder (`all`) and one per class (`per_class[k]`)."""

    all: keras.Model
    per_class: tuple[keras.Model, ...]

    @property
    def encoder(self) -> keras.Model:
        return encoder_of(self.all)


def autoencoder_paths(directory: Path = AUTOENCODER_DIR) -> dict[str, Path]:
    directory = Path(directory)
    return {"all": directory / "all.keras",
            **{f"class_{k}": directory / f"class_{k}.keras" for k in range(NUM_CLASSES)}}


_CACHE: dict[Path, Autoencoders] = {}


def load_autoencoders(directory: Path = AUTOENCODER_DIR) -> Autoencoders:
    """Loads (once per process) the autoencoders under `directory`.

    Raises:
        ArtifactError: any of the eleven files missing or unreadable, naming the command
            that makes them.
    """
    directory = Path(directory).resolve()
    if directory in _CACHE:
        return _CACHE[directory]
    paths = autoencoder_paths(directory)
    missing = [p.name for p in paths.values() if not p.is_file()]
    if missing:
        raise ArtifactError(f"autoencoders missing in {directory} ({', '.join(missing[:3])}"
                            f"{', ...' if len(missing) > 3 else ''}); make them with `{MAKE_COMMAND}`")
    models = {}
    for key, path in paths.items():
        try:
            models[key] = keras.saving.load_model(path, safe_mode=True, compile=False)
        except Exception as exc:  # a truncated or foreign file
            raise ArtifactError(f"cannot load autoencoder {path}: {exc}; remake them with `{MAKE_COMMAND}`") from None
        if tuple(models[key].input_shape[1:]) != DIGIT_SHAPE or tuple(models[key].output_shape[1:]) != DIGIT_SHAPE:
            raise ArtifactError(f"{path} is not a digit autoencoder; remake them with `{MAKE_COMMAND}`")
    _CACHE[directory] = Autoencoders(models["all"], tuple(models[f"class_{k}"] for k in range(NUM_CLASSES)))
    return _CACHE[directory]


def reconstruct(autoencoder: keras.Model, images: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """Reconstructions (N, 28, 28, 1) in inference mode."""
    out = [keras.ops.convert_to_numpy(autoencoder(images[i:i + batch_size], training=False))
           for i in range(0, len(images), batch_size)]
    return np.concatenate(out) if out else np.zeros_like(images)


def train_autoencoders(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray,
                       directory: Path = AUTOENCODER_DIR, *, epochs: int = 10, class_epochs: int = 30,
                       latent_dim: int = 32, seed: int = 0, verbose: int = 0) -> dict:
    """Trains and saves the shared and the ten per-class autoencoders; returns the metrics
    written to `metrics.json` (test reconstruction MSE per pixel, train seconds).

    Args:
        x_train, x_test: (N, 28, 28, 1) float32 in [0, 1]; y_train, y_test: classes.
        epochs: epochs of the shared autoencoder; class_epochs: of each per-class one.
    """
    if epochs <= 0 or class_epochs <= 0 or latent_dim <= 0:
        raise ConfigError("epochs, class epochs and latent size must be positive")
    keras.utils.set_random_seed(seed)
    directory = Path(directory)
    metrics = {"latent_dim": latent_dim, "seed": seed, "epochs": epochs, "class_epochs": class_epochs,
               "loss": "mean squared error per pixel", "autoencoders": {}, "machine": cpu_description()}
    jobs = [("all", x_train, x_test, epochs)] + [
        (f"class_{k}", x_train[y_train == k], x_test[y_test == k], class_epochs) for k in range(NUM_CLASSES)]
    for key, train, test, n_epochs in jobs:
        started = time.perf_counter()
        model = build_autoencoder(latent_dim, seed=seed, name=key)
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
        model.fit(train, train, batch_size=128, epochs=n_epochs, shuffle=True, verbose=verbose)
        seconds = time.perf_counter() - started
        mse = float(np.mean((reconstruct(model, test) - test) ** 2))
        metrics["autoencoders"][key] = {"train_digits": int(len(train)), "test_digits": int(len(test)),
                                        "test_mse": round(mse, 6), "train_seconds": round(seconds, 1)}
        log.info("autoencoder %s: test MSE %.5f on %d digits (%.0f s)", key, mse, len(test), seconds)
        plain = build_autoencoder(latent_dim, seed=seed, name=key)  # saved without optimizer state
        plain.set_weights(model.get_weights())
        save_model(plain, directory / f"{key}.keras")
    write_json(directory / "metrics.json", metrics)
    _CACHE.pop(directory.resolve(), None)
    return metrics
