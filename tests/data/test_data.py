import logging
import os

import numpy as np
import pytest

from attention_xai.data import OFFICIAL_TEST_COUNTS, OFFICIAL_TRAIN_COUNTS, DigitBatches, load_mnist, split
from attention_xai.errors import DataError


def test_offline_mnist_is_the_official_split(mnist):
    assert mnist.x_train.shape == (60000, 28, 28) and mnist.x_train.dtype == np.uint8
    assert mnist.x_test.shape == (10000, 28, 28) and mnist.x_test.dtype == np.uint8
    assert tuple(np.bincount(mnist.y_train)) == OFFICIAL_TRAIN_COUNTS
    assert tuple(np.bincount(mnist.y_test)) == OFFICIAL_TEST_COUNTS
    # uint8 recovered exactly: the full 0..255 range, and the well-known first labels.
    assert mnist.x_train.max() == 255 and mnist.x_train.min() == 0
    assert mnist.y_train[:5].tolist() == [5, 0, 4, 1, 9] and mnist.y_test[:5].tolist() == [7, 2, 1, 0, 4]


def test_a_user_file_is_used_and_logged(mnist, tmp_path, caplog):
    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=mnist.x_train, y_train=mnist.y_train, x_test=mnist.x_test, y_test=mnist.y_test)
    with caplog.at_level(logging.INFO, logger="attention_xai"):
        loaded = load_mnist(path)
    assert loaded.source == f"file {path}"
    assert str(path) in caplog.text
    np.testing.assert_array_equal(loaded.x_test, mnist.x_test)


@pytest.mark.parametrize("content, message", [
    (None, "not found"),
    (b"not a zip file", "cannot read"),
])
def test_missing_or_corrupt_file_is_a_data_error(tmp_path, content, message):
    path = tmp_path / "mnist.npz"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(DataError, match=message):
        load_mnist(path)


def test_a_file_that_is_not_the_official_split_is_refused(mnist, tmp_path):
    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=mnist.x_train[:-1], y_train=mnist.y_train[:-1], x_test=mnist.x_test, y_test=mnist.y_test)
    with pytest.raises(DataError, match="shape"):
        load_mnist(path)
    labels = mnist.y_train.copy()
    labels[0] = (labels[0] + 1) % 10
    np.savez(path, x_train=mnist.x_train, y_train=labels, x_test=mnist.x_test, y_test=mnist.y_test)
    with pytest.raises(DataError, match="class counts"):
        load_mnist(path)


def test_validation_split_is_seeded_and_disjoint(mnist):
    a = split(mnist, validation_size=1000, seed=3)
    b = split(mnist, validation_size=1000, seed=3)
    c = split(mnist, validation_size=1000, seed=4)
    assert len(a.y_val) == 1000 and len(a.y_train) == 59000 and len(a.y_test) == 10000
    np.testing.assert_array_equal(a.x_val, b.x_val)
    assert not np.array_equal(a.x_val, c.x_val)
    # No digit is in both parts: compare raw bytes of every image.
    train = {img.tobytes() for img in a.x_train}
    assert sum(img.tobytes() in train for img in a.x_val) <= 5  # MNIST has a few exact duplicates


def test_batches_convert_one_batch_at_a_time_and_reshuffle_per_epoch(mnist):
    batches = DigitBatches(mnist.x_train[:100], mnist.y_train[:100], 32, shuffle=True, seed=0)
    x, y = batches[0]
    assert len(batches) == 4 and x.shape == (32, 28, 28, 1) and x.dtype == np.float32
    assert 0.0 <= x.min() and x.max() <= 1.0 and y.shape == (32,)
    first = batches[0][1].copy()
    batches.set_epoch(1)
    assert not np.array_equal(first, batches[0][1])
    again = DigitBatches(mnist.x_train[:100], mnist.y_train[:100], 32, shuffle=True, seed=0, epoch=1)
    np.testing.assert_array_equal(again[0][1], batches[0][1])


def test_the_data_source_names_no_path_of_this_machine(mnist):
    """metrics.json and index.html quote it; a venv path would tie them to one machine."""
    import sys

    assert sys.prefix not in mnist.source and not any(word.startswith("/") for word in mnist.source.split())


def test_the_seed_study_subset_is_stratified_seeded_and_apart_from_validation(mnist):
    """12,000 training digits (the seed study's 20%): every class in its share of the digits
    left after validation, the same draw for the same seed, another for another seed."""
    first = split(mnist, validation_size=5000, seed=0, train_subset=12000)
    again = split(mnist, validation_size=5000, seed=0, train_subset=12000)
    other = split(mnist, validation_size=5000, seed=1, train_subset=12000)
    full = split(mnist, validation_size=5000, seed=0)
    assert len(first.y_train) == 12000 and len(first.y_val) == 5000 and len(first.y_test) == 10000
    shares = np.bincount(full.y_train, minlength=10) / len(full.y_train)
    assert np.abs(np.bincount(first.y_train, minlength=10) - 12000 * shares).max() < 1  # rounded quotas
    np.testing.assert_array_equal(first.x_train, again.x_train)
    assert not np.array_equal(first.x_train, other.x_train)
    # Drawn from the training digits left after validation: none is a validation digit.
    train_rows = {row.tobytes() for row in first.x_train.reshape(12000, -1)}
    assert not train_rows & {row.tobytes() for row in first.x_val.reshape(5000, -1)}


def test_a_file_is_read_once_per_process_and_shared_read_only(mnist, tmp_path):
    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=mnist.x_train, y_train=mnist.y_train, x_test=mnist.x_test, y_test=mnist.y_test)
    first, again = load_mnist(path), load_mnist(path)
    assert again is first  # a `run` asks in several stages; the file is read once
    with pytest.raises(ValueError):
        first.x_train[0, 0, 0] = 1  # shared: nobody may change what the others see
    labels = mnist.y_test.copy()
    labels[[0, 1]] = labels[[1, 0]]  # same counts, other order: a different file of the same size
    np.savez(path, x_train=mnist.x_train, y_train=mnist.y_train, x_test=mnist.x_test, y_test=labels)
    os.utime(path, ns=(1, 1))  # a new modification time, even on a coarse clock
    assert load_mnist(path).y_test[:2].tolist() == labels[:2].tolist()


def test_worker_shares_put_together_are_the_whole_batch():
    """Each of W workers serves the k-th of W equal consecutive parts of every (padded) batch:
    together they are exactly one process's batch, in the same seeded order, every epoch."""
    images = np.arange(70 * 28 * 28, dtype=np.uint8).reshape(70, 28, 28) % 251
    labels = np.arange(70) % 10
    whole = DigitBatches(images, labels, 16, shuffle=True, seed=3, replicas=2)
    shares = [DigitBatches(images, labels, 16, shuffle=True, seed=3, replicas=2, workers=2, worker=k) for k in (0, 1)]
    for epoch in (0, 1):
        for batches in (whole, *shares):
            batches.set_epoch(epoch)
        assert all(len(s) == len(whole) for s in shares)  # every worker takes as many steps
        for index in range(len(whole)):
            together = [np.concatenate(parts) for parts in zip(*(s[index] for s in shares))]
            for a, b in zip(together, whole[index]):
                np.testing.assert_array_equal(a, b)
            assert len(shares[0][index][0]) == len(shares[1][index][0])  # equal halves, padding included
    with pytest.raises(ValueError, match="replicas must split among workers"):
        DigitBatches(images, labels, 16, replicas=3, workers=2, worker=0)


def test_checks_per_epoch_cut_each_seeded_pass_into_equal_parts():
    """With parts=4 the four epochs of a pass serve disjoint quarters of that pass's seeded
    order (the 103 mod 4 = 3 digits left over sit it out), every epoch as long as the others;
    the next pass draws a new order."""
    images, labels = np.arange(103 * 784, dtype=np.uint8).reshape(103, 28, 28) % 251, np.arange(103) % 10
    whole = DigitBatches(images, labels, 8, shuffle=True, seed=5)
    parts = DigitBatches(images, labels, 8, shuffle=True, seed=5, parts=4)
    assert len(parts) == 4  # ceil(25 / 8) batches for each quarter of 25 digits
    first_pass = []
    for epoch in range(4):
        parts.set_epoch(epoch)
        served = np.concatenate([parts[i][1] for i in range(len(parts))])
        assert len(served) == 25
        first_pass.append(parts._order)
    assert np.array_equal(np.concatenate(first_pass), whole._order[:100])  # the pass's order, cut in four
    parts.set_epoch(4)
    whole.set_epoch(1)
    assert np.array_equal(parts._order, whole._order[:25])  # epoch 4 starts the second pass
    with pytest.raises(ValueError, match="cannot cut 3 digits into 4 parts"):
        DigitBatches(images[:3], labels[:3], 8, parts=4)
