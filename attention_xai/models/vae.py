"""A variational autoencoder of digits: the generative model the `revise` counterfactual
method searches in.

The autoencoders of `models/autoencoder.py` are trained for reconstruction only, and a
search in their latent space wanders off into codes that decode to images no digit
looks like (a second classifier rejects what they produce). A VAE's latent space is
regularised towards a standard normal, so codes near the origin decode to digits and a
short path between two codes decodes to a morph between digits.

Trained once per dataset (not per classifier), on every training digit, and saved as two
plain functional models of built-in layers:

    saved_models/vae/encoder.keras   digits (N, 28, 28, 1) -> [z_mean, z_log_var] (N, D) each
    saved_models/vae/decoder.keras   codes (N, D) -> digits (N, 28, 28, 1) in [0, 1]
    saved_models/vae/metrics.json    latent size, epochs, test reconstruction, train seconds

References: Kingma and Welling, "Auto-Encoding Variational Bayes", ICLR 2014; Joshi et
al., "Towards Realistic Individual Recourse and Actionable Explanations in Black-Box
Decision Making Systems" (REVISE), arXiv:1907.09615, 2019.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from attention_xai.artifacts import load_shared_model, save_model, write_json
from attention_xai.errors import ArtifactError, ConfigError
from attention_xai.machine import cpu_description
from attention_xai.models.classifier import DIGIT_SHAPE

log = logging.getLogger(__name__)

VAE_DIR = Path("saved_models") / "vae"
MAKE_COMMAND = "python -m attention_xai vae"


def build_vae(latent_dim: int = 16, seed: int = 0) -> tuple[keras.Model, keras.Model]:
    """(encoder, decoder): two strided convolutions and a dense layer to the mean and log
    variance of a `latent_dim` normal; the decoder mirrors it with transposed convolutions."""
    init = lambda k: keras.initializers.GlorotUniform(seed=seed + k)  # noqa: E731
    digits = keras.Input(DIGIT_SHAPE, name="digits")
    x = keras.layers.Conv2D(32, 3, strides=2, padding="same", activation="relu", kernel_initializer=init(0),
                            name="enc_conv1")(digits)
    x = keras.layers.Conv2D(64, 3, strides=2, padding="same", activation="relu", kernel_initializer=init(1),
                            name="enc_conv2")(x)
    x = keras.layers.Flatten(name="enc_flatten")(x)
    x = keras.layers.Dense(256, activation="relu", kernel_initializer=init(2), name="enc_dense")(x)
    z_mean = keras.layers.Dense(latent_dim, kernel_initializer=init(3), name="z_mean")(x)
    z_log_var = keras.layers.Dense(latent_dim, kernel_initializer="zeros", name="z_log_var")(x)
    encoder = keras.Model(digits, [z_mean, z_log_var], name="vae_encoder")

    code = keras.Input((latent_dim,), name="code")
    x = keras.layers.Dense(256, activation="relu", kernel_initializer=init(4), name="dec_dense1")(code)
    x = keras.layers.Dense(7 * 7 * 64, activation="relu", kernel_initializer=init(5), name="dec_dense2")(x)
    x = keras.layers.Reshape((7, 7, 64), name="dec_reshape")(x)
    x = keras.layers.Conv2DTranspose(64, 3, strides=2, padding="same", activation="relu", kernel_initializer=init(6),
                                     name="dec_deconv1")(x)
    x = keras.layers.Conv2DTranspose(32, 3, strides=2, padding="same", activation="relu", kernel_initializer=init(7),
                                     name="dec_deconv2")(x)
    out = keras.layers.Conv2D(1, 3, padding="same", activation="sigmoid", kernel_initializer=init(8),
                              name="reconstruction")(x)
    decoder = keras.Model(code, out, name="vae_decoder")
    return encoder, decoder


@dataclass(frozen=True)
class Vae:
    """A trained VAE: `encoder` (digits -> [mean, log variance]) and `decoder`."""

    encoder: keras.Model
    decoder: keras.Model

    @property
    def latent_dim(self) -> int:
        return int(self.decoder.input_shape[-1])

    def encode(self, images: np.ndarray, batch_size: int = 512) -> np.ndarray:
        """Posterior means (N, D) of digits (N, 28, 28, 1)."""
        out = [keras.ops.convert_to_numpy(self.encoder(np.asarray(images[i:i + batch_size], np.float32),
                                                       training=False)[0])
               for i in range(0, len(images), batch_size)]
        return np.concatenate(out) if out else np.zeros((0, self.latent_dim), np.float32)

    def decode(self, codes: np.ndarray, batch_size: int = 512) -> np.ndarray:
        """Digits (N, 28, 28, 1) in [0, 1] of codes (N, D)."""
        out = [keras.ops.convert_to_numpy(self.decoder(np.asarray(codes[i:i + batch_size], np.float32),
                                                       training=False))
               for i in range(0, len(codes), batch_size)]
        return np.concatenate(out) if out else np.zeros((0, *DIGIT_SHAPE), np.float32)


def vae_paths(directory: Path = VAE_DIR) -> dict[str, Path]:
    directory = Path(directory)
    return {"encoder": directory / "encoder.keras", "decoder": directory / "decoder.keras"}


def train_vae(x_train: np.ndarray, x_test: np.ndarray, directory: Path = VAE_DIR, *, latent_dim: int = 16,
              epochs: int = 15, batch_size: int = 128, beta: float = 1.0, seed: int = 0) -> dict:
    """Trains the VAE (Bernoulli likelihood, loss = binary cross-entropy summed over pixels
    + beta * KL to N(0, I)) with Adam, and saves it; returns the metrics in `metrics.json`.

    Args:
        x_train, x_test: (N, 28, 28, 1) float32 in [0, 1].
    """
    import tensorflow as tf

    if epochs <= 0 or latent_dim <= 0 or batch_size <= 0 or beta <= 0:
        raise ConfigError("VAE epochs, latent size, batch size and beta must be positive")
    keras.utils.set_random_seed(seed)
    encoder, decoder = build_vae(latent_dim, seed)
    optimizer = keras.optimizers.Adam(1e-3)
    weights = encoder.trainable_weights + decoder.trainable_weights
    optimizer.build(weights)
    noise = tf.random.Generator.from_seed(seed)

    def losses(x, sample: bool):
        mean, log_var = encoder(x, training=True)
        z = mean + tf.exp(0.5 * log_var) * noise.normal(tf.shape(mean)) if sample else mean
        p = tf.clip_by_value(decoder(z, training=True), 1e-6, 1 - 1e-6)
        reconstruction = -tf.reduce_sum(x * tf.math.log(p) + (1 - x) * tf.math.log(1 - p), axis=(1, 2, 3))
        kl = -0.5 * tf.reduce_sum(1 + log_var - tf.square(mean) - tf.exp(log_var), axis=1)
        return reconstruction, kl

    @tf.function
    def step(x):
        with tf.GradientTape() as tape:
            reconstruction, kl = losses(x, True)
            loss = tf.reduce_mean(reconstruction + beta * kl)
        optimizer.apply_gradients(zip(tape.gradient(loss, weights), weights))
        return loss

    rng = np.random.default_rng(seed)
    x_train = np.asarray(x_train, np.float32)
    started = time.perf_counter()
    history = []
    for epoch in range(epochs):
        order = rng.permutation(len(x_train))
        total = 0.0
        for i in range(0, len(order) - batch_size + 1, batch_size):
            total += float(step(tf.constant(x_train[order[i:i + batch_size]])))
        history.append(round(total / max(1, len(order) // batch_size), 3))
        log.info("vae: epoch %d loss %.2f", epoch + 1, history[-1])
    seconds = time.perf_counter() - started
    vae = Vae(encoder, decoder)
    reconstructed = vae.decode(vae.encode(x_test))
    metrics = {"latent_dim": latent_dim, "epochs": epochs, "batch_size": batch_size, "beta": beta, "seed": seed,
               "loss": "binary cross-entropy summed over pixels + beta * KL(q(z|x) || N(0, I)), per digit",
               "train_loss_by_epoch": history, "train_digits": int(len(x_train)), "test_digits": int(len(x_test)),
               "test_l1_per_digit": round(float(np.abs(reconstructed - x_test).sum(axis=(1, 2, 3)).mean()), 3),
               "test_mse_per_pixel": round(float(np.mean((reconstructed - x_test) ** 2)), 6),
               "train_seconds": round(seconds, 1), "machine": cpu_description()}
    paths = vae_paths(directory)
    save_model(encoder, paths["encoder"])
    save_model(decoder, paths["decoder"])
    write_json(Path(directory) / "metrics.json", metrics)
    _CACHE.pop(Path(directory).resolve(), None)
    return metrics


_CACHE: dict[Path, Vae] = {}


def load_vae(directory: Path = VAE_DIR) -> Vae:
    """The VAE under `directory` (loaded once per process).

    Raises:
        ArtifactError: a file missing, unreadable, or of another image format, naming the
            command that makes it.
    """
    directory = Path(directory).resolve()
    if directory in _CACHE:
        return _CACHE[directory]
    models = {key: load_shared_model(path, f"VAE {key}", f"make it with `{MAKE_COMMAND}`")
              for key, path in vae_paths(directory).items()}
    encoder, decoder = models["encoder"], models["decoder"]
    if (tuple(encoder.input_shape[1:]) != DIGIT_SHAPE or tuple(decoder.output_shape[1:]) != DIGIT_SHAPE
            or len(encoder.outputs) != 2 or encoder.outputs[0].shape[-1] != decoder.input_shape[-1]):
        raise ArtifactError(f"{directory} does not hold a 28x28 digit VAE (encoder {encoder.input_shape} -> "
                            f"decoder {decoder.output_shape}); remake it with `{MAKE_COMMAND}`")
    _CACHE[directory] = Vae(encoder, decoder)
    return _CACHE[directory]
