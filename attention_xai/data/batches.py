"""Batches of digits for Keras, converted to float one batch at a time.

The dataset stays as 28x28 uint8 (47 MB for all of MNIST); resizing to the backbone's
size happens inside the model, so memory does not grow with image size or dataset size.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np

from attention_xai.data.mnist import Mnist


def to_model_input(images: np.ndarray) -> np.ndarray:
    """(N, 28, 28) uint8 -> (N, 28, 28, 1) float32 in [0, 1], the classifier's input."""
    return (np.asarray(images, dtype=np.float32) / 255.0)[..., None]


class DigitBatches(keras.utils.PyDataset):
    """Yields (digits (B, 28, 28, 1) float32 in [0, 1], labels (B,)) batches.

    Args:
        images: (N, 28, 28) uint8.
        labels: (N,) integer classes.
        batch_size: digits per batch (the last batch may be smaller).
        shuffle: draw the order of epoch e from (seed, e), so a resumed run sees the same
            order as an uninterrupted one. Whoever runs the epochs calls `set_epoch`
            (training does it with `EpochShuffle`); fit with `shuffle=False`, since Keras'
            own batch shuffling draws from global state.
        seed: shuffling seed.
        epoch: the epoch of the first pass.
        replicas: for data-parallel training on this many devices, whose batches must
            split evenly: a short last batch is padded with blank digits of weight 0 (batches
            are then (digits, labels, weights); metrics and gradients ignore the padding,
            predictions for it are trimmed by the caller). 1: no padding, no weights.
        parts: cut every pass into this many Keras epochs (`TrainConfig.checks_per_epoch`):
            epoch e serves part e mod `parts` of pass e // `parts`, whose order is drawn from
            (seed, pass); each part holds N // `parts` digits, so every epoch has the same
            number of batches and the N mod `parts` digits at the end of a pass's order
            sit that pass out. 1: an epoch is a pass.
        workers, worker: in a multi-worker run (several processes), this process's share of
            every batch: each (padded) batch of `batch_size` digits is cut into `workers`
            equal consecutive parts and part `worker` is served, so the order of the whole
            run stays a function of the seed alone and every worker takes as many steps.
    """

    def __init__(self, images, labels, batch_size: int, *, shuffle: bool = False, seed: int = 0, epoch: int = 0,
                 replicas: int = 1, workers: int = 1, worker: int = 0, parts: int = 1):
        super().__init__()
        if parts < 1 or parts > len(images):
            raise ValueError(f"cannot cut {len(images)} digits into {parts} parts")
        if workers < 1 or not 0 <= worker < workers or replicas % workers:
            raise ValueError(f"worker {worker} of {workers} with {replicas} replicas: "
                             "replicas must split among workers")
        self.images, self.labels = images, np.asarray(labels, dtype=np.int32)
        self.batch_size, self.shuffle, self.seed, self.replicas = batch_size, shuffle, seed, replicas
        self.workers, self.worker, self.parts = workers, worker, parts
        self.set_epoch(epoch)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
        n = len(self.images)
        passed, part = divmod(epoch, self.parts)
        order = np.random.default_rng([self.seed, passed]).permutation(n) if self.shuffle else np.arange(n)
        size = n // self.parts
        self._order = order if self.parts == 1 else order[part * size:(part + 1) * size]

    def __len__(self) -> int:
        return -(-(len(self.images) // self.parts) // self.batch_size)

    def __getitem__(self, index: int):
        rows = np.sort(self._order[index * self.batch_size:(index + 1) * self.batch_size])
        digits, labels = to_model_input(self.images[rows]), self.labels[rows]
        if self.replicas == 1:
            return digits, labels
        pad = -len(rows) % self.replicas
        weights = np.concatenate([np.ones(len(rows), np.float32), np.zeros(pad, np.float32)])
        digits = np.concatenate([digits, np.zeros((pad, *digits.shape[1:]), np.float32)])
        labels = np.concatenate([labels, np.zeros(pad, np.int32)])
        if self.workers == 1:
            return digits, labels, weights
        share = slice(self.worker * len(weights) // self.workers, (self.worker + 1) * len(weights) // self.workers)
        return digits[share], labels[share], weights[share]



class EpochShuffle(keras.callbacks.Callback):
    """Tells a shuffling `DigitBatches` which epoch is starting."""

    def __init__(self, batches: DigitBatches):
        super().__init__()
        self.batches = batches

    def on_epoch_begin(self, epoch, logs=None):
        self.batches.set_epoch(epoch)


@dataclass(frozen=True)
class Splits:
    """Train / validation / test digits, all (N, 28, 28) uint8 with (N,) labels."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def split(data: Mnist, *, validation_size: int, seed: int, train_limit: int | None = None,
          test_limit: int | None = None, train_subset: int | None = None, permute_labels: bool = False) -> Splits:
    """Holds out `validation_size` training digits (a seeded draw) for validation.

    `permute_labels` first shuffles the labels of the whole training split among its
    digits (a seeded permutation: every class keeps its count, no digit its meaning), for
    the data randomisation test; the test digits keep their labels.

    `train_subset` then keeps a seeded, class-stratified draw of that many of the remaining
    training digits (each class in proportion to its share, largest remainders rounding).
    `train_limit` keeps the first that many of the remaining training digits and
    `test_limit` the first digits of the test set; both are for smoke runs.
    """
    y_train = data.y_train
    if permute_labels:
        y_train = y_train[np.random.default_rng([seed, 0x1AB]).permutation(len(y_train))]
    order = np.random.default_rng(seed).permutation(len(data.x_train))
    val, train = order[:validation_size], np.sort(order[validation_size:])
    if train_subset is not None and train_subset < len(train):
        train = train[stratified_subset(y_train[train], train_subset, seed)]
    if train_limit is not None:
        train = train[:train_limit]
    test = slice(None) if test_limit is None else slice(0, test_limit)
    return Splits(
        x_train=data.x_train[train], y_train=y_train[train],
        x_val=data.x_train[np.sort(val)], y_val=y_train[np.sort(val)],
        x_test=data.x_test[test], y_test=data.y_test[test],
    )


def stratified_subset(labels: np.ndarray, size: int, seed: int) -> np.ndarray:
    """Sorted positions of a seeded draw of `size` labels in which every class keeps its
    share (quotas rounded by largest remainder, so they sum to `size`)."""
    classes, counts = np.unique(labels, return_counts=True)
    exact = counts * size / len(labels)
    quota = np.floor(exact).astype(int)
    quota[np.argsort(-(exact - quota), kind="stable")[: size - quota.sum()]] += 1
    rng = np.random.default_rng([seed, size])
    picked = [rng.choice(np.flatnonzero(labels == c), q, replace=False) for c, q in zip(classes, quota)]
    return np.sort(np.concatenate(picked))
