"""Fitting an experiment's classifier: phases, callbacks, checkpoints and resume.

Every finished epoch leaves a complete checkpoint (model with optimizer state, the
callbacks' counters, the history so far) under `saved_models/<name>/checkpoints/`. Run
the same experiment again after an interruption and it continues from the last finished
epoch; a finished run exports `model.keras`, `metrics.json` and `history.csv` and clears
its checkpoints.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
import math
import platform
import shutil
from importlib import metadata
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import keras
import numpy as np

from attention_xai import __version__
from attention_xai.cluster import DEFAULT_TIMEOUT, Cluster, cluster_from_environment, rendezvous
from attention_xai.artifacts import ExperimentPaths, file_sha256, save_model, write_json, write_text
from attention_xai.config import ExperimentConfig
from attention_xai.data import DigitBatches, EpochShuffle, Mnist, split
from attention_xai.errors import ArtifactError, ConfigError, first_line
from attention_xai.evaluate import classification_metrics
from attention_xai.machine import cpu_description
from attention_xai.models import build_classifier, check_model_config, count_params, set_trainable

log = logging.getLogger(__name__)

MONITOR = "val_loss"
HISTORY_COLUMNS = ("epoch", "phase", "loss", "accuracy", "val_loss", "val_accuracy", "learning_rate", "seconds")


@dataclass(frozen=True)
class TrainResult:
    """The exported model (best validation loss) and what was measured."""

    model: keras.Model
    metrics: dict
    history: list[dict]


def current_learning_rate(model: keras.Model) -> float:
    """The optimizer's current learning rate, as a Python float."""
    return float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))


class _Resumable:
    """Mixin for Keras callbacks whose counters must survive a restart."""

    STATE_KEYS: tuple[str, ...] = ()
    _pending: dict | None = None

    def state(self) -> dict:
        return {key: _plain(getattr(self, key)) for key in self.STATE_KEYS}

    def restore(self, state: dict | None) -> None:
        """Counters to apply at the start of the next `fit` (which otherwise resets them)."""
        self._pending = state

    def _apply_pending(self) -> None:
        for key, value in (self._pending or {}).items():
            setattr(self, key, value)
        self._pending = None


class ResumableReduceLROnPlateau(_Resumable, keras.callbacks.ReduceLROnPlateau):
    """ReduceLROnPlateau, resumable, on top of a phase's annealing.

    With `anneal="cosine"` each check (Keras epoch) of the phase starts at
    `learning_rate * scale * (1 + cos(pi * k / checks)) / 2` for its index k within the
    phase, where `scale` is the product of the plateau's cuts so far. With "constant" the
    rate is left to the plateau alone, as Keras' callback does it.
    """

    STATE_KEYS = ("best", "wait", "cooldown_counter", "scale")

    def __init__(self, *, learning_rate: float, anneal: str = "constant", first_epoch: int = 0, checks: int = 1,
                 **kwargs):
        super().__init__(**kwargs)
        self.learning_rate, self.anneal, self.first_epoch, self.checks = learning_rate, anneal, first_epoch, checks
        self.scale = 1.0

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self._apply_pending()

    def on_epoch_begin(self, epoch, logs=None):
        if self.anneal == "cosine":
            shape = 0.5 * (1.0 + math.cos(math.pi * (epoch - self.first_epoch) / self.checks))
            self.model.optimizer.learning_rate = max(self.learning_rate * self.scale * shape, self.min_lr)

    def on_epoch_end(self, epoch, logs=None):
        before = current_learning_rate(self.model)
        super().on_epoch_end(epoch, logs)
        after = current_learning_rate(self.model)
        if after < before:
            self.scale *= after / before


class ResumableEarlyStopping(_Resumable, keras.callbacks.EarlyStopping):
    STATE_KEYS = ("best", "wait", "best_epoch")

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self._apply_pending()


class RunCheckpoint(keras.callbacks.Callback):
    """After every epoch: best model (by val_loss), last model and the run state, in that
    order, each written atomically under a new name, so a kill at any moment leaves the
    previous complete checkpoint usable."""

    def __init__(self, directory: Path, state: dict, phase: str, counters: Sequence[_Resumable]):
        super().__init__()
        self.directory, self.state, self.phase, self.counters = directory, state, phase, counters
        self._started = 0.0
        self._learning_rate = 0.0

    def on_epoch_begin(self, epoch, logs=None):
        self._started = time.perf_counter()
        self._learning_rate = current_learning_rate(self.model)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        seconds = time.perf_counter() - self._started
        row = {"epoch": epoch, "phase": self.phase, **{k: float(logs[k]) for k in HISTORY_COLUMNS[2:6] if k in logs},
               "learning_rate": self._learning_rate, "seconds": round(seconds, 3)}
        state = self.state
        old = {state.get("last"), state.get("best")}
        if logs.get(MONITOR, np.inf) < state.get("best_value", np.inf):
            state["best"] = f"best-epoch-{epoch:03d}.keras"
            state["best_value"], state["best_epoch"] = float(logs[MONITOR]), epoch
            save_model(self.model, self.directory / state["best"])
        state["last"] = f"last-epoch-{epoch:03d}.keras"
        save_model(self.model, self.directory / state["last"])
        state["epochs_done"] = epoch + 1
        state["history"].append(row)
        state["train_seconds"] = state.get("train_seconds", 0.0) + seconds
        state["counters"] = [c.state() for c in self.counters]
        state["random_streams"] = random_streams(self.model)
        write_json(self.directory / "state.json", state)
        for name in old - {state["last"], state["best"], None}:
            (self.directory / name).unlink(missing_ok=True)


def train_experiment(config: ExperimentConfig, data: Mnist, paths: ExperimentPaths, *, fresh: bool = False,
                     verbose="auto", tensorboard: bool = False,
                     callbacks: Sequence[keras.callbacks.Callback] = (),
                     cluster_timeout: float = DEFAULT_TIMEOUT) -> TrainResult:
    """Trains, evaluates on the test set and exports an experiment.

    Args:
        config: the experiment.
        data: MNIST from `load_mnist`.
        paths: where checkpoints and artifacts go.
        fresh: discard an interrupted run's checkpoints instead of resuming it.
        verbose: Keras progress output ("auto", 0, 1 or 2).
        tensorboard: also write TensorBoard logs to `paths.tensorboard`.
        callbacks: extra Keras callbacks, run after the checkpoint of each epoch.
        cluster_timeout: seconds the processes of a multi-worker run (see `attention_xai.cluster`)
            wait for each other before giving up.

    Returns:
        The exported model, its metrics (also in metrics.json) and the history.

    Raises:
        ConfigError: invalid model config, or an interrupted run of another config.
        ClusterError: the workers of a multi-worker run could not find each other.
    """
    check_model_config(config.model)
    with data_parallel(config.training.distribute, cluster_timeout) as (replicas, cluster), \
            precision_policy(config.training.precision):
        if config.training.batch_size % replicas:
            raise ConfigError(f"batch_size {config.training.batch_size} does not split evenly among {replicas} devices")
        # Only the chief writes into the models folder; another worker keeps its checkpoints in
        # a folder of its own (starting from the chief's, to resume alike) and removes it at the end.
        own = paths if cluster is None or cluster.chief else _worker_paths(paths, cluster, fresh)
        try:
            splits, state = _train(config, data, own, fresh=fresh, verbose=verbose, tensorboard=tensorboard,
                                   callbacks=callbacks, replicas=replicas, cluster=cluster)
        except BaseException:
            if own is not paths:
                shutil.rmtree(own.models_root.parent, ignore_errors=True)
            raise
    # The engines' distribution is over: the best weights are evaluated here, in this process alone.
    try:
        return _export(config, splits, own, state, data.source, replicas, cluster)
    finally:
        if own is not paths:
            shutil.rmtree(own.models_root.parent, ignore_errors=True)


def _worker_paths(paths: ExperimentPaths, cluster: Cluster, fresh: bool) -> ExperimentPaths:
    """A non-chief worker's private copy of the run folder (with the chief's checkpoints,
    unless the run starts fresh)."""
    import tempfile

    root = Path(tempfile.mkdtemp(prefix=f"attention_xai-worker{cluster.index}-"))
    own = ExperimentPaths(paths.name, root / "models", root / "reports")
    if not fresh and (paths.checkpoints / "state.json").is_file():
        shutil.copytree(paths.checkpoints, own.checkpoints)
    log.info("worker %d of %d: checkpoints in %s (the chief, worker 0, writes the artifacts)", cluster.index,
             cluster.size, root)
    return own


@contextlib.contextmanager
def data_parallel(enabled: bool, cluster_timeout: float = DEFAULT_TIMEOUT):
    """Builds and trains inside it run data-parallel on every visible device when `enabled`:
    Keras' `DataParallel` distribution on JAX, `tf.distribute.MirroredStrategy` on
    TensorFlow. Several processes (on one machine or several) join through the engines' own
    settings, read from the environment (see `attention_xai.cluster`): on JAX
    `KERAS_DISTRIBUTION_JOB_ADDRESSES`, `KERAS_DISTRIBUTION_NUM_PROCESSES` and
    `KERAS_DISTRIBUTION_PROCESS_ID` (`jax.distributed`); on TensorFlow `TF_CONFIG`
    (`MultiWorkerMirroredStrategy`). The processes first meet within `cluster_timeout`
    seconds or fail with a `ClusterError`.

    Yields (replicas in all, the cluster or None); (1, None) when not enabled."""
    if not enabled:
        yield 1, None
        return
    backend = keras.backend.backend()
    if backend not in ("jax", "tensorflow"):
        raise ConfigError(f"distribute is implemented for the jax and tensorflow backends, not {backend}")
    cluster = cluster_from_environment(backend)
    if cluster is not None:
        rendezvous(cluster, cluster_timeout)
        log.info("worker %d of %d: every worker reached %s", cluster.index, cluster.size, cluster.chief_address)
    if backend == "jax":
        import jax

        if cluster is not None and not jax.distributed.is_initialized():
            jax.distributed.initialize(coordinator_address=cluster.chief_address, num_processes=cluster.size,
                                       process_id=cluster.index, initialization_timeout=int(max(1, cluster_timeout)))
        devices = keras.distribution.list_devices()
        previous = keras.distribution.distribution()
        # Each process feeds its own share of every batch (DigitBatches' workers/worker).
        keras.distribution.set_distribution(keras.distribution.DataParallel(devices=devices, auto_shard_dataset=False))
        log.info("data-parallel on %d devices (JAX): %s", len(devices), ", ".join(map(str, devices)))
        try:
            yield len(devices), cluster
        finally:
            keras.distribution.set_distribution(previous)
    else:
        import tensorflow as tf

        strategy = tf.distribute.MultiWorkerMirroredStrategy() if cluster else tf.distribute.MirroredStrategy()
        log.info("data-parallel on %d devices (TensorFlow %s)", strategy.num_replicas_in_sync, type(strategy).__name__)
        with strategy.scope():
            yield strategy.num_replicas_in_sync, cluster


@contextlib.contextmanager
def _multi_worker_keras(model: keras.Model, batches: DigitBatches):
    """Two repairs that Keras 3's TensorFlow `fit` needs under MultiWorkerMirroredStrategy
    (keras-team/keras#20585), for the duration of one `fit`:

    * it first builds the model on the first batch averaged across workers with
      `strategy.reduce`, which fails for a batch of several tensors: the model is built on
      this worker's own first batch instead (the average only served for shapes);
    * it averages each step's scalar logs across workers along axis 0, which scalars do not
      have: scalars are averaged as they are.
    """
    import tensorflow as tf
    from keras.src.backend.tensorflow import trainer as tf_trainer

    first = tuple(tf.constant(part) for part in batches[0])

    def build(iterator=None, data_batch=None):
        with model.distribute_strategy.scope():
            model._symbolic_build(data_batch=first)

    original = tf_trainer.reduce_per_replica

    def reduce_per_replica(values, strategy, reduction):
        if reduction not in ("auto", "mean"):
            return original(values, strategy, reduction)

        def mean(value):
            rank = strategy.experimental_local_results(value)[0].shape.rank
            return strategy.reduce("MEAN", value, axis=0 if rank else None)

        return keras.tree.map_structure(mean, values)

    model._maybe_symbolic_build = build
    tf_trainer.reduce_per_replica = reduce_per_replica
    try:
        yield
    finally:
        tf_trainer.reduce_per_replica = original
        del model._maybe_symbolic_build


def _engine_input(batches: DigitBatches, cluster):
    """What `fit` reads: the batches themselves, or for TensorFlow workers a distributed
    dataset of this worker's shares (MultiWorkerMirroredStrategy takes no PyDataset)."""
    if cluster is None or cluster.engine != "tensorflow":
        return batches
    import tensorflow as tf

    def shares():
        for index in range(len(batches)):  # read when an epoch's iterator starts: after set_epoch
            yield batches[index]

    signature = (tf.TensorSpec((None, 28, 28, 1), tf.float32), tf.TensorSpec((None,), tf.int32),
                 tf.TensorSpec((None,), tf.float32))
    dataset = tf.data.Dataset.from_generator(shares, output_signature=signature)
    dataset = dataset.apply(tf.data.experimental.assert_cardinality(len(batches)))  # a known epoch length
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF
    dataset = dataset.with_options(options)
    return tf.distribute.get_strategy().distribute_datasets_from_function(lambda context: dataset)


@contextlib.contextmanager
def precision_policy(name: str):
    """Keras' global dtype policy `name` while the model is built and trained, the previous
    one afterwards."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(name)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def _train(config: ExperimentConfig, data: Mnist, paths: ExperimentPaths, *, fresh: bool, verbose, tensorboard: bool,
           callbacks, replicas: int, cluster: Cluster | None = None):
    """Runs (or resumes) every phase; returns (the splits, the final run state)."""
    splits = split(data, validation_size=config.training.validation_size, seed=config.seed,
                   train_limit=config.training.train_limit, test_limit=config.training.test_limit,
                   train_subset=config.training.train_subset, permute_labels=config.training.permute_labels)
    ckpt = paths.checkpoints
    if fresh and ckpt.exists():
        shutil.rmtree(ckpt)
    state, model = _resume_or_start(config, ckpt)
    ckpt.mkdir(parents=True, exist_ok=True)
    training = config.training

    share = {"workers": cluster.size, "worker": cluster.index} if cluster else {}
    train_batches = DigitBatches(splits.x_train, splits.y_train, training.batch_size, shuffle=True, seed=config.seed,
                                 replicas=replicas, parts=training.checks_per_epoch, **share)
    val_batches = DigitBatches(splits.x_val, splits.y_val, training.batch_size, replicas=replicas, **share)
    train_input, val_input = _engine_input(train_batches, cluster), _engine_input(val_batches, cluster)
    for index, phase in enumerate(training.phases):
        if index < state["phase_index"]:
            continue
        continuing = state["epochs_done"] > state["phase_start"]  # this phase already ran an epoch
        if not continuing:
            set_trainable(model, phase.trainable)
            model.compile(optimizer=keras.optimizers.Adam(phase.learning_rate),
                          loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        plateau = ResumableReduceLROnPlateau(monitor=MONITOR, factor=training.plateau_factor,
                                             patience=training.plateau_patience, min_lr=training.min_learning_rate,
                                             verbose=1 if verbose else 0, learning_rate=phase.learning_rate,
                                             anneal=phase.anneal, first_epoch=state["phase_start"],
                                             checks=phase.epochs * training.checks_per_epoch)
        stopping = ResumableEarlyStopping(monitor=MONITOR, patience=training.early_stopping_patience,
                                          verbose=1 if verbose else 0)
        if continuing:
            for counter, saved in zip((plateau, stopping), state.get("counters", ())):
                counter.restore(saved)
        run_callbacks = [EpochShuffle(train_batches), plateau, stopping,
                         RunCheckpoint(ckpt, state, phase.name, (plateau, stopping))]
        if tensorboard:
            run_callbacks.append(keras.callbacks.TensorBoard(log_dir=str(paths.tensorboard)))
        end = state["phase_start"] + phase.epochs * training.checks_per_epoch  # Keras epochs: checks
        if state["epochs_done"] < end:
            checks = f" ({training.checks_per_epoch} checks per pass)" if training.checks_per_epoch > 1 else ""
            log.info("%s: phase %r (trainable=%s), epochs %d-%d%s%s", config.name, phase.name, phase.trainable,
                     state["epochs_done"] + 1, end, checks, " (resumed)" if continuing else "")
            tensorflow_workers = cluster is not None and cluster.engine == "tensorflow"
            repairs = _multi_worker_keras(model, train_batches) if tensorflow_workers else contextlib.nullcontext()
            with repairs:
                model.fit(train_input, validation_data=val_input, initial_epoch=state["epochs_done"], epochs=end,
                          shuffle=False, callbacks=[*run_callbacks, *callbacks], verbose=verbose)
        state.update(phase_index=index + 1, phase_start=state["epochs_done"], counters=[])
        write_json(ckpt / "state.json", state)
    return splits, state


def same_config(recorded, config: ExperimentConfig) -> bool:
    """Whether a recorded config dict (metrics.json, a checkpoint) trains what `config` trains,
    fields it predates taken at their defaults (see `ExperimentConfig.trained`)."""
    try:
        return ExperimentConfig.trained(recorded) == ExperimentConfig.trained(config.to_dict())
    except (ConfigError, TypeError, AttributeError):
        return False


def _resume_or_start(config: ExperimentConfig, ckpt: Path) -> tuple[dict, keras.Model]:
    state_file = ckpt / "state.json"
    if state_file.is_file():
        try:
            state = json.loads(state_file.read_text())
        except (OSError, ValueError) as exc:
            raise ArtifactError(f"the checkpoint state {state_file} is unreadable ({first_line(exc)}); "
                                f"rerun with --fresh to discard it") from None
        if not same_config(state.get("config"), config):
            raise ConfigError(f"{ckpt} holds an interrupted run of a different config; "
                              f"rerun with --fresh to discard it")
        # The same draws on every process for the initial values load_model overwrites: with
        # several JAX processes each variable must start equal everywhere.
        keras.utils.set_random_seed(config.seed + state["epochs_done"])
        try:
            model = keras.saving.load_model(ckpt / state["last"])
        except (OSError, ValueError, KeyError) as exc:
            raise ArtifactError(f"the checkpoint in {ckpt} is unreadable ({first_line(exc)}); "
                                f"rerun with --fresh to discard it") from None
        if "random_streams" in state:
            set_random_streams(model, state["random_streams"], ckpt)
        log.info("%s: resuming after epoch %d from %s", config.name, state["epochs_done"], ckpt)
        keras.utils.set_random_seed(config.seed + state["epochs_done"])
        return state, model
    keras.utils.set_random_seed(config.seed)
    state = {"config": config.to_dict(), "phase_index": 0, "phase_start": 0, "epochs_done": 0, "history": []}
    return state, build_classifier(config.model, seed=config.seed)


def _stream_variables(model: keras.Model) -> list:
    """The state variables of the model's random streams (augmentation, dropout), in the
    model's own variable order, which a reloaded copy of the same architecture repeats."""
    return [v for v in model.variables if v.path.rsplit("/", 1)[-1] == "seed_generator_state"]


def random_streams(model: keras.Model) -> list[list[int]]:
    """Where each random stream of the model stands ([seed, draws so far] per stream).
    A `.keras` file does not keep this (it reloads every stream at its start), so the
    run state records it beside the checkpoint."""
    return [keras.ops.convert_to_numpy(v).astype(np.int64).tolist() for v in _stream_variables(model)]


def set_random_streams(model: keras.Model, streams: list[list[int]], where: Path) -> None:
    """Puts the model's random streams back where `random_streams` found them."""
    variables = _stream_variables(model)
    if len(variables) != len(streams):
        raise ArtifactError(f"the checkpoint in {where} records {len(streams)} random streams but its model has "
                            f"{len(variables)}; rerun with --fresh to discard it")
    for variable, value in zip(variables, streams):
        variable.assign(np.asarray(value, dtype=keras.backend.standardize_dtype(variable.dtype)))


def _export(config: ExperimentConfig, splits, paths: ExperimentPaths, state: dict, source: str,
            replicas: int = 1, cluster: Cluster | None = None) -> TrainResult:
    model = keras.saving.load_model(paths.checkpoints / state["best"], compile=False)
    if config.training.precision != "float32":
        # Trained with float16/bfloat16 compute (the weights are float32 throughout): the
        # exported model computes in float32, so explanations get full-precision gradients.
        with precision_policy("float32"):
            exported = build_classifier(config.model, seed=config.seed)
        exported.set_weights(model.get_weights())
        model = exported
    test_batches = DigitBatches(splits.x_test, splits.y_test, config.training.batch_size)
    probabilities = model.predict(test_batches, verbose=0)[: len(splits.y_test)]  # without any padding
    test = classification_metrics(splits.y_test, probabilities)
    best_row = next(row for row in state["history"] if row["epoch"] == state["best_epoch"])
    metrics = {
        "experiment": config.name,
        "test_accuracy": test["accuracy"],
        "test_loss": test["loss"],
        "test_size": int(len(splits.y_test)),
        "per_class_accuracy": test["per_class_accuracy"],
        "confusion_matrix": test["confusion_matrix"],
        "params": count_params(model),
        "train_seconds": round(state["train_seconds"], 2),
        "epochs": state["epochs_done"],
        "best_epoch": state["best_epoch"],
        "val_accuracy": best_row.get("val_accuracy"),
        "val_loss": best_row.get("val_loss"),
        "train_size": int(len(splits.y_train)),
        "validation_size": int(len(splits.y_val)),
        "seed": config.seed,
        "replicas": replicas,
        "workers": cluster.size if cluster else 1,
        "data_source": source,
        "config": config.to_dict(),
        "versions": library_versions(),
        "machine": cpu_description(),  # train_seconds means little without it
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    save_model(model, paths.model)
    metrics["model_sha256"] = file_sha256(paths.model)  # the manifests trace figures back to this file
    write_text(paths.history, history_csv(state["history"]))
    write_json(paths.metrics, metrics)
    shutil.rmtree(paths.checkpoints, ignore_errors=True)
    where = f"model in {paths.model}" if cluster is None or cluster.chief else "the chief (worker 0) exports the model"
    log.info("%s: test accuracy %.4f (loss %.4f) on %d digits; %s", config.name, test["accuracy"], test["loss"],
             len(splits.y_test), where)
    return TrainResult(model=model, metrics=metrics, history=state["history"])


def history_csv(rows: list[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=HISTORY_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def library_versions() -> dict[str, str]:
    """Versions that produced an artifact: Python, Keras and its backend, numpy."""
    versions = {"python": platform.python_version(), "attention_xai": __version__, "keras": keras.__version__,
                "backend": keras.backend.backend(), "numpy": np.__version__}
    for package in ("tensorflow", "tensorflow-cpu", "jax"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            pass
    return versions


def _plain(value):
    """JSON-ready copy of a callback counter (numpy scalars and infinities included)."""
    if value is None:
        return None
    value = float(value) if not isinstance(value, int) else value
    return value
