"""Alibi's `CounterfactualRL`: a policy trained once per classifier that writes a
counterfactual for any digit and target in one forward pass.

It acts in the latent space of the shared autoencoder: the actor maps (latent code,
predicted class, target class) to a new latent code, which the decoder turns into the
counterfactual. DDPG needs actions in [-1, 1], so the encoder and decoder are wrapped to
scale the latent codes by their largest magnitude over the training digits. Training
takes tens of thousands of steps (alibi's MNIST example: 50,000), far too long for
`make run` on a CPU: `python -m attention_xai cfrl <experiment> --steps N` trains it and
saves the actor and critic weights with a record of the run under
`saved_models/<name>/cfrl/`; `alibi_cfrl` then only loads them.

References: Samoilescu, Van Looveren and Klaise, "Model-agnostic and Scalable
Counterfactual Explanations via Reinforcement Learning", arXiv:2106.02597, 2021.
Alibi is under the Business Source License 1.1.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import keras
import numpy as np

from attention_xai.artifacts import write_json
from attention_xai.errors import ArtifactError
from attention_xai.explain.counterfactual.base import COUNTERFACTUALS, CounterfactualMethod
from attention_xai.machine import cpu_description
from attention_xai.models.autoencoder import AUTOENCODER_DIR, LATENT, encoder_of, load_autoencoders, reconstruct

log = logging.getLogger(__name__)

RECORD = "cfrl.json"


def scaled_codec(autoencoder: keras.Model, scale: float) -> tuple[keras.Model, keras.Model]:
    """(encoder digits -> latent / scale, decoder latent / scale -> digits), sharing the
    autoencoder's layers."""
    encoder = encoder_of(autoencoder)
    scaled = keras.Model(encoder.input, keras.layers.Rescaling(1.0 / scale)(encoder.output))
    code = keras.Input(encoder.output.shape[1:])
    x = keras.layers.Rescaling(scale)(code)
    after = False
    for layer in autoencoder.layers:
        if after:
            x = layer(x)
        after = after or layer.name == LATENT
    return scaled, keras.Model(code, x)


def _explainer(predict, autoencoder, scale, params, seed, train_steps):
    from alibi.explainers import CounterfactualRL

    encoder, decoder = scaled_codec(autoencoder, scale)
    return CounterfactualRL(predictor=predict, encoder=encoder, decoder=decoder,
                            latent_dim=int(encoder.output.shape[-1]), coeff_sparsity=params["coeff_sparsity"],
                            coeff_consistency=params["coeff_consistency"], train_steps=train_steps,
                            batch_size=params["train_batch_size"], backend="tensorflow", seed=seed)


def weights_fingerprint(model: keras.Model) -> str:
    """sha256 of the model's weights: a policy is valid only for the classifier it learned from."""
    import hashlib

    digest = hashlib.sha256()
    for weight in model.get_weights():
        digest.update(np.ascontiguousarray(weight).tobytes())
    return digest.hexdigest()


def _actor_critic_paths(directory: Path) -> tuple[Path, Path]:
    return directory / "actor.weights.h5", directory / "critic.weights.h5"


def train_cfrl(model: keras.Model, training_digits: np.ndarray, directory: Path, *, steps: int, seed: int = 0,
               autoencoders: str | Path = AUTOENCODER_DIR, coeff_sparsity: float = 7.5,
               coeff_consistency: float = 0.0, train_batch_size: int = 100) -> dict:
    """Trains CounterfactualRL for `model` and saves it under `directory`; returns the record."""
    ae = load_autoencoders(autoencoders).all
    scale = float(np.abs(reconstruct(encoder_of(ae), training_digits[:5000])).max())
    params = {"coeff_sparsity": coeff_sparsity, "coeff_consistency": coeff_consistency,
              "train_batch_size": train_batch_size}

    def predict(x):
        return keras.ops.convert_to_numpy(model(np.asarray(x, np.float32), training=False))

    explainer = _explainer(predict, ae, scale, params, seed, steps)
    started = time.perf_counter()
    explainer.fit(training_digits)
    seconds = time.perf_counter() - started
    directory.mkdir(parents=True, exist_ok=True)
    actor, critic = _actor_critic_paths(directory)
    explainer.params["actor"].save_weights(actor)
    explainer.params["critic"].save_weights(critic)
    record = {"steps": steps, "train_seconds": round(seconds, 1), "steps_per_second": round(steps / seconds, 2),
              "machine": cpu_description(),
              "latent_scale": scale, "seed": seed, "autoencoders": str(autoencoders), **params,
              "training_digits": int(len(training_digits)), "classifier_weights_sha256": weights_fingerprint(model)}
    write_json(directory / RECORD, record)
    return record


@COUNTERFACTUALS.register("alibi_cfrl")
class AlibiCfrl(CounterfactualMethod):
    """Counterfactuals from a trained CounterfactualRL policy: one batched pass per digit.

    Parameters: directory (where `python -m attention_xai cfrl` saved the policy for this
    classifier), autoencoders.
    """

    name = "alibi_cfrl"
    kind = "black-box"
    slow = True  # not to run, but to train: the default list leaves it out
    needs = {"directory": "policy", "autoencoders": "autoencoders"}
    defaults = {"directory": "", "autoencoders": str(AUTOENCODER_DIR)}

    def search(self, access, digits, targets, rng):
        directory = Path(self.params["directory"])
        record_path = directory / RECORD
        if not record_path.is_file():
            raise ArtifactError(f"no trained CounterfactualRL policy in {directory or '(none given)'}; train one with "
                                f"`python -m attention_xai cfrl <experiment> --steps N`")
        record = json.loads(record_path.read_text())
        if record.get("classifier_weights_sha256") != weights_fingerprint(access.model):
            raise ArtifactError(f"the CounterfactualRL policy in {directory} was trained for another classifier; "
                                f"retrain it with `python -m attention_xai cfrl <experiment> --steps N`")
        ae = load_autoencoders(self.params["autoencoders"]).all

        def predict(x):
            x = np.asarray(x, np.float32)
            return access.predict(x, owners[: len(x)])

        owners = np.arange(len(digits))
        explainer = _explainer(predict, ae, record["latent_scale"], record, self.seed, train_steps=0)
        actor, critic = explainer.params["actor"], explainer.params["critic"]
        # Build the networks with one call each, then load the trained weights.
        latent = ae.get_layer(LATENT).output.shape[-1]
        actor(np.zeros((1, latent + 20), np.float32))
        critic(np.zeros((1, 2 * latent + 20), np.float32))
        actor.load_weights(_actor_critic_paths(directory)[0])
        critic.load_weights(_actor_critic_paths(directory)[1])
        out = np.asarray(explainer.explain(digits, Y_t=targets, batch_size=len(digits)).data["cf"]["X"], np.float32)
        return np.clip(out.reshape(digits.shape), 0.0, 1.0), None
