"""The trained helpers of the counterfactual stage, from Python: the shared digit
autoencoders, the digit VAE and the judges (one set for every model), and a model's own
seed siblings and CounterfactualRL policy. Each function trains, saves under its folder and
returns what it recorded in that folder's metrics.json (or cfrl.json)."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Sequence

from attention_xai.errors import ConfigError
from attention_xai.pipeline.stages import require_tensorflow

log = logging.getLogger(__name__)

SMOKE_TRAIN, SMOKE_TEST = 1000, 200


def training_split(data=None, *, smoke: bool = False):
    """(x_train, y_train, x_test, y_test) of MNIST as model inputs; smoke: the first 1,000
    training and 200 test digits."""
    from attention_xai.data import load_mnist, to_model_input

    data = data if data is not None else load_mnist()
    train, test = (SMOKE_TRAIN, SMOKE_TEST) if smoke else (None, None)
    return (to_model_input(data.x_train[:train]), data.y_train[:train], to_model_input(data.x_test[:test]),
            data.y_test[:test])


def _positive(**values) -> None:
    for name, value in values.items():
        if not isinstance(value, int) or value <= 0:
            raise ConfigError(f"{name} must be a positive integer, got {value!r}")


def train_autoencoders(out=None, *, epochs: int = 10, class_epochs: int = 30, seed: int = 0, smoke: bool = False,
                       data=None) -> dict:
    """The shared all-digit autoencoder and one per class (prototype search, IM1/IM2,
    CounterfactualRL), into `out` (default saved_models/autoencoders); smoke: 1 epoch each
    on 1,000 digits."""
    require_tensorflow("training the autoencoders")
    from attention_xai.models.autoencoder import AUTOENCODER_DIR, train_autoencoders as train

    _positive(epochs=epochs, class_epochs=class_epochs)
    out = Path(out or AUTOENCODER_DIR)
    started = time.perf_counter()
    metrics = train(*training_split(data, smoke=smoke), out, epochs=1 if smoke else epochs,
                    class_epochs=1 if smoke else class_epochs, seed=seed)
    log.info("autoencoders: 11 trained in %.0f s -> %s", time.perf_counter() - started, out)
    return metrics


def train_vae(out=None, *, epochs: int = 15, latent: int = 16, seed: int = 0, smoke: bool = False,
              data=None) -> dict:
    """The digit VAE that `revise` searches in, into `out` (default saved_models/vae)."""
    require_tensorflow("training the VAE")
    from attention_xai.models.vae import VAE_DIR, train_vae as train

    _positive(epochs=epochs, latent=latent)
    x_train, _, x_test, _ = training_split(data, smoke=smoke)
    out = Path(out or VAE_DIR)
    metrics = train(x_train, x_test, out, latent_dim=latent, epochs=1 if smoke else epochs, seed=seed)
    log.info("vae: %d epochs in %.0f s, test L1 %.1f per digit -> %s", metrics["epochs"], metrics["train_seconds"],
             metrics["test_l1_per_digit"], out)
    return metrics


def train_judges(out=None, *, smoke: bool = False, data=None) -> dict:
    """The independent classifiers (an MLP and a LeNet) that judge every counterfactual,
    into `out` (default saved_models/judges)."""
    from attention_xai.models.judges import JUDGE_DIR, train_judges as train

    out = Path(out or JUDGE_DIR)
    metrics = train(*training_split(data, smoke=smoke), out, epochs=1 if smoke else None)
    for name, m in metrics["judges"].items():
        log.info("judge %s: test accuracy %.4f (%d s) -> %s", name, m["test_accuracy"], m["train_seconds"], out)
    return metrics


def train_siblings(config, *, models_dir="saved_models", seeds: Sequence[int] = (1, 2), epochs: int = 3,
                   data=None, verbose="auto") -> dict:
    """`config` trained again with each of `seeds` for `epochs` epochs, into its model
    folder's siblings/ (what `revise_siblings` asks too)."""
    require_tensorflow("training the seed siblings")
    from attention_xai.data import load_mnist
    from attention_xai.models.siblings import SIBLINGS, train_siblings as train

    _positive(epochs=epochs)
    out = Path(models_dir) / config.name / SIBLINGS
    record = train(config, data if data is not None else load_mnist(), out, seeds=seeds, epochs=epochs,
                   verbose=verbose)
    for sibling in record["siblings"]:
        log.info("sibling seed %d: test accuracy %.4f (%.0f s) -> %s", sibling["seed"], sibling["test_accuracy"],
                 sibling["train_seconds"], out)
    return record


def train_policy(model_file, *, out=None, steps: int = 10000, seed: int = 0, autoencoders=None, data=None) -> dict:
    """Alibi's CounterfactualRL policy for the classifier in `model_file`, into `out`
    (default: cfrl/ beside the model, where `alibi_cfrl` looks for it)."""
    require_tensorflow("training the CounterfactualRL policy")
    from attention_xai.data import load_mnist, to_model_input
    from attention_xai.explain.counterfactual.cfrl import train_cfrl
    from attention_xai.models import load_classifier
    from attention_xai.models.autoencoder import AUTOENCODER_DIR, load_autoencoders

    _positive(steps=steps)
    model = load_classifier(model_file)
    out, autoencoders = Path(out or Path(model_file).parent / "cfrl"), autoencoders or AUTOENCODER_DIR
    load_autoencoders(autoencoders)  # fails before training when missing
    data = data if data is not None else load_mnist()
    record = train_cfrl(model, to_model_input(data.x_train), out, steps=steps, seed=seed, autoencoders=autoencoders)
    log.info("cfrl: %d steps in %.0f s (%.1f steps/s) -> %s", record["steps"], record["train_seconds"],
             record["steps_per_second"], out)
    return record
