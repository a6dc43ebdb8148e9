"""Counterfactuals guided by prototypes: the elastic-net search of `gradient`, pulled
towards digits that look like the target class.

References: Van Looveren and Klaise, "Interpretable Counterfactual Explanations Guided by
Prototypes", ECML PKDD 2021 (arXiv:1907.02584).
"""

from __future__ import annotations

import functools

import numpy as np
import tensorflow as tf

from attention_xai.explain.counterfactual.base import COUNTERFACTUALS
from attention_xai.explain.counterfactual.gradient import ElasticNetSearch
from attention_xai.models.autoencoder import AUTOENCODER_DIR, encoder_of, load_autoencoders, reconstruct


@functools.lru_cache(maxsize=4)
def encoded_training_digits(directory: str, per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`per_class` training digits of each class (a seeded draw), encoded by the shared
    autoencoder: (latents (10 * per_class, latent_dim), classes)."""
    from attention_xai.data import load_mnist, to_model_input

    data = load_mnist()
    rng = np.random.default_rng(seed)
    rows = np.concatenate([np.sort(rng.choice(np.flatnonzero(data.y_train == k), per_class, replace=False))
                           for k in range(10)])
    encoder = encoder_of(load_autoencoders(directory).all)
    return reconstruct(encoder, to_model_input(data.x_train[rows])), data.y_train[rows].astype(np.int64)


def class_prototypes(latents: np.ndarray, classes: np.ndarray, queries: np.ndarray, targets: np.ndarray,
                     k: int) -> np.ndarray:
    """For each query latent (N, D): the mean of the `k` latents of its target class
    nearest to it (L2), the class prototype of Van Looveren and Klaise."""
    out = np.zeros_like(queries)
    for i, (query, target) in enumerate(zip(queries, targets)):
        pool = latents[classes == target]
        nearest = np.argsort(np.linalg.norm(pool - query, axis=1))[:k]
        out[i] = pool[nearest].mean(axis=0)
    return out


@COUNTERFACTUALS.register("prototype")
class Prototype(ElasticNetSearch):
    """The `gradient` loss plus gamma * |x' - AE(x')|_2^2 (stay where the shared
    autoencoder reconstructs well) and theta * |ENC(x') - proto_t|_2^2 (move towards the
    target class's prototype in the encoder's latent space). The prototype of class t for
    digit x is the mean latent of the `k` training digits of class t nearest to ENC(x),
    among `pool` training digits per class.

    Parameters: those of `gradient`, and gamma, theta, k, pool, autoencoders (folder).
    """

    name = "prototype"
    needs = {"autoencoders": "autoencoders"}
    defaults = {**ElasticNetSearch.defaults, "gamma": 0.1, "theta": 1.0, "k": 10, "pool": 1000,
                "autoencoders": str(AUTOENCODER_DIR)}
    smoke = {"max_iter": 100, "c_steps": 2, "pool": 100}

    def prepare(self, access, digits, targets):
        p = self.params
        ae = load_autoencoders(p["autoencoders"]).all
        self._autoencoder, self._encoder = ae, encoder_of(ae)
        latents, classes = encoded_training_digits(p["autoencoders"], p["pool"], self.seed)
        prototypes = class_prototypes(latents, classes, reconstruct(self._encoder, digits), targets, p["k"])
        self._prototypes = tf.constant(prototypes, tf.float32)

    def extra_loss(self, x_cf, rows):
        p = self.params
        reconstruction = tf.reduce_sum(tf.square(x_cf - self._autoencoder(x_cf, training=False)), axis=(1, 2, 3))
        pull = tf.reduce_sum(tf.square(self._encoder(x_cf, training=False) - tf.gather(self._prototypes, rows)),
                             axis=1)
        return p["gamma"] * reconstruction + p["theta"] * pull
