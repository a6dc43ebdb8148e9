import csv
import json
import logging

import keras
import numpy as np
import pytest

import attention_xai  # noqa: F401
from attention_xai.artifacts import ExperimentPaths
from attention_xai.errors import ArtifactError, ConfigError
from attention_xai.training import train_experiment
from conftest import max_abs_diff, tiny_experiment

pytestmark = pytest.mark.slow  # trains models or starts processes: `make test`, not `make test-fast`


class Interrupt(keras.callbacks.Callback):
    """Stands in for a kill: stops the process right after epoch `after` is checkpointed."""

    def __init__(self, after: int):
        super().__init__()
        self.after = after

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.after:
            raise KeyboardInterrupt


@pytest.fixture
def paths(tmp_path):
    return ExperimentPaths("tiny", tmp_path / "models", tmp_path / "reports")


def test_training_exports_a_model_metrics_and_history(mnist, paths, digits):
    result = train_experiment(tiny_experiment(), mnist, paths, verbose=0)
    metrics = json.loads(paths.metrics.read_text())
    for key in ("test_accuracy", "test_loss", "per_class_accuracy", "confusion_matrix", "params", "train_seconds",
                "epochs", "seed", "config", "versions"):
        assert key in metrics
    assert metrics["epochs"] == 2 and metrics["seed"] == 1 and metrics["test_size"] == 128
    assert np.sum(metrics["confusion_matrix"]) == 128
    assert metrics["test_accuracy"] > 0.3  # 2 epochs on 1,024 digits: far above chance (0.1)
    assert metrics["versions"]["keras"] == keras.__version__
    # Timings are compared across machines that differ 3x: the CPU and its vector extensions travel with them.
    assert metrics["machine"]["cores"] >= 1 and metrics["machine"]["cpu"]
    assert metrics["machine"]["vector_extensions"] in ("AVX-512", "AVX2", "none of AVX2, AVX-512", "unknown")
    with open(paths.history) as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == [0, 1] and float(rows[0]["learning_rate"]) == pytest.approx(3e-3)
    loaded = keras.saving.load_model(paths.model)
    assert max_abs_diff(loaded.predict(digits, verbose=0), result.model.predict(digits, verbose=0)) == 0.0
    assert not paths.checkpoints.exists()


def test_same_seed_repeats_on_cpu(mnist, tmp_path):
    """Augmentation, dropout and the epoch order all draw from the seed: the same weights, bit for bit."""
    import dataclasses

    from attention_xai.config import AugmentConfig

    config = tiny_experiment(epochs=1)
    config = dataclasses.replace(config, model=dataclasses.replace(
        config.model, augment=AugmentConfig(probability=0.5), head_dropout=0.2))
    a = train_experiment(config, mnist, ExperimentPaths("a", tmp_path), verbose=0)
    b = train_experiment(config, mnist, ExperimentPaths("b", tmp_path), verbose=0)
    assert a.metrics["test_loss"] == b.metrics["test_loss"]
    assert a.history[0]["loss"] == b.history[0]["loss"]
    assert all(np.array_equal(x, y) for x, y in zip(a.model.get_weights(), b.model.get_weights()))
    other = train_experiment(dataclasses.replace(config, seed=2), mnist, ExperimentPaths("c", tmp_path), verbose=0)
    assert not np.array_equal(other.model.get_weights()[0], a.model.get_weights()[0])


def test_an_interrupted_run_resumes_from_the_last_finished_epoch(mnist, paths, caplog):
    config = tiny_experiment(epochs=3)
    with pytest.raises(KeyboardInterrupt):
        train_experiment(config, mnist, paths, verbose=0, callbacks=[Interrupt(after=1)])
    state = json.loads((paths.checkpoints / "state.json").read_text())
    assert state["epochs_done"] == 2 and not paths.model.exists()

    with caplog.at_level(logging.INFO, logger="attention_xai"):
        result = train_experiment(config, mnist, paths, verbose=0)
    assert "resuming after epoch 2" in caplog.text
    assert [row["epoch"] for row in result.history] == [0, 1, 2]
    assert result.metrics["epochs"] == 3 and paths.model.exists()


def test_a_different_config_does_not_resume_silently(mnist, paths):
    with pytest.raises(KeyboardInterrupt):
        train_experiment(tiny_experiment(epochs=2), mnist, paths, verbose=0, callbacks=[Interrupt(after=0)])
    with pytest.raises(ConfigError, match="--fresh"):
        train_experiment(tiny_experiment(epochs=3), mnist, paths, verbose=0)
    result = train_experiment(tiny_experiment(epochs=3), mnist, paths, verbose=0, fresh=True)
    assert [row["epoch"] for row in result.history] == [0, 1, 2]


def test_a_damaged_checkpoint_is_reported_not_loaded(mnist, paths):
    with pytest.raises(KeyboardInterrupt):
        train_experiment(tiny_experiment(epochs=2), mnist, paths, verbose=0, callbacks=[Interrupt(after=0)])
    state = json.loads((paths.checkpoints / "state.json").read_text())
    (paths.checkpoints / state["last"]).write_bytes(b"truncated")
    with pytest.raises(ArtifactError, match="unreadable.*--fresh"):
        train_experiment(tiny_experiment(epochs=2), mnist, paths, verbose=0)


def test_phases_freeze_then_fine_tune(mnist, paths):
    import dataclasses

    from attention_xai.config import Phase

    base = tiny_experiment()
    # Each phase one pass, checked twice (checks_per_epoch): two history rows per phase.
    config = dataclasses.replace(base, training=dataclasses.replace(
        base.training, phases=(Phase(1, 1e-3, "head", "head"), Phase(1, 1e-4, 4, "fine_tune")), checks_per_epoch=2))
    result = train_experiment(config, mnist, paths, verbose=0)
    assert [(r["phase"], r["learning_rate"]) for r in result.history] == [("head", pytest.approx(1e-3))] * 2 + [
        ("fine_tune", pytest.approx(1e-4))] * 2
    assert result.metrics["epochs"] == 4 and result.metrics["train_size"] == 1024


def test_cosine_annealing_takes_plateau_cuts_on_top_and_resumes_them():
    """Each check of a cosine phase starts at rate x (product of the plateau's cuts) x the
    cosine of its place in the phase; a callback restored from the saved state continues
    with the same rates."""
    import math

    from attention_xai.training import ResumableReduceLROnPlateau

    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.1), loss="mse")

    def plateau(saved=None):
        callback = ResumableReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=1, min_lr=1e-6,
                                              learning_rate=0.1, anneal="cosine", first_epoch=2, checks=4)
        callback.set_model(model)
        callback.restore(saved)
        callback.on_train_begin()
        return callback

    def run(callback, epochs, losses):
        rates = []
        for epoch, loss in zip(epochs, losses):
            callback.on_epoch_begin(epoch)
            rates.append(float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)))
            callback.on_epoch_end(epoch, {"val_loss": loss})
        return rates

    cosine = [0.5 * (1 + math.cos(math.pi * k / 4)) for k in range(4)]
    # Validation loss worse at the second and third check: patience 1 cuts the rate in half after each.
    whole = run(plateau(), [2, 3, 4, 5], [1.0, 2.0, 3.0, 0.5])
    assert whole == pytest.approx([0.1 * cosine[0], 0.1 * cosine[1], 0.05 * cosine[2], 0.025 * cosine[3]], rel=1e-6)
    first = plateau()
    head = run(first, [2, 3], [1.0, 2.0])
    tail = run(plateau(json.loads(json.dumps(first.state()))), [4, 5], [3.0, 0.5])
    assert head + tail == pytest.approx(whole, rel=1e-6)
