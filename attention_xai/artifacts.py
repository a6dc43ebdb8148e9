"""Where an experiment's files live, and writing them so that no reader sees half a file."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import keras

from attention_xai.errors import ArtifactError, StorageError, first_line

_UMASK = os.umask(0)
os.umask(_UMASK)


STAGE_ARRAYS = {"attributions": "maps.npz", "counterfactuals": "counterfactuals.npz"}


@dataclass(frozen=True)
class ExperimentPaths:
    """The artifacts of experiment `name` under a models root and a reports root."""

    name: str
    models_root: Path = Path("saved_models")
    reports_root: Path = Path("reports")

    @property
    def model_dir(self) -> Path:
        return Path(self.models_root) / self.name

    @property
    def model(self) -> Path:
        return self.model_dir / "model.keras"

    @property
    def metrics(self) -> Path:
        return self.model_dir / "metrics.json"

    @property
    def history(self) -> Path:
        return self.model_dir / "history.csv"

    @property
    def checkpoints(self) -> Path:
        return self.model_dir / "checkpoints"

    @property
    def tensorboard(self) -> Path:
        return self.model_dir / "logs"

    @property
    def report_dir(self) -> Path:
        return Path(self.reports_root) / self.name

    def stage_arrays(self, stage: str) -> Path:
        """The folder where a stage ("attributions", "counterfactuals") keeps the arrays its
        report is drawn from: beside the model, so that reports/ can be deleted and rebuilt
        (or, for runs made before they moved there, the stage's report folder)."""
        here, before = self.model_dir / stage, self.report_dir / stage
        name = STAGE_ARRAYS[stage]
        return before if not (here / name).is_file() and (before / name).is_file() else here


def keras_home() -> Path:
    """Where Keras caches downloads: $KERAS_HOME (read when Keras was imported) or ~/.keras."""
    try:
        from keras.src.backend import config as keras_config

        return Path(keras_config.keras_home())
    except (ImportError, AttributeError):  # private API; fall back to Keras' documented default
        return Path(os.environ.get("KERAS_HOME", "~/.keras")).expanduser()


def shown(path: Path) -> str:
    """`path` with the home directory written as ~, for messages."""
    home = str(Path.home())
    text = str(path)
    return "~" + text[len(home):] if text.startswith(home + os.sep) else text


def portable(value: Any, root: Path) -> Any:
    """`value` for a committed record: a path string inside `root` (the repository) relative
    to it, in dicts and lists too, so that a file carries no machine's absolute paths."""
    if isinstance(value, dict):
        return {k: portable(v, root) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [portable(v, root) for v in value]
    if isinstance(value, (str, Path)) and Path(value).is_absolute() and Path(value).is_relative_to(root):
        return Path(value).relative_to(root).as_posix()
    return str(value) if isinstance(value, Path) else value


STORAGE_ERRNOS = {errno.ENOSPC: "no space left on the device", errno.EDQUOT: "disk quota exceeded",
                  errno.EACCES: "permission denied", errno.EPERM: "operation not permitted",
                  errno.EROFS: "read-only file system"}
"""Write failures that are the storage's, not the program's: each becomes a StorageError."""


def storage_error(exc: BaseException, path: str | Path) -> StorageError | None:
    """A one-line StorageError naming `path` and the cause, when `exc` (or what it wraps) is
    a refused write; else None."""
    while exc is not None and not (isinstance(exc, OSError) and exc.errno in STORAGE_ERRNOS):
        exc = exc.__cause__ or exc.__context__
    if exc is None:
        return None
    return StorageError(f"cannot write {path}: {STORAGE_ERRNOS[exc.errno]}; nothing there was changed "
                        f"(free space or fix the permissions, then run the same command again)")


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yields a temporary path beside `path` (same suffix) that replaces `path` on success.

    On an exception the temporary file is removed and `path` is left as it was; a write the
    storage refuses (disk full, read-only, permission denied) becomes a StorageError naming
    `path` and the cause.
    """
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix or ".tmp", dir=path.parent)
        os.close(fd)
        tmp = Path(name)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes 0600 files; artifacts are ordinary files
        yield tmp
        os.replace(tmp, path)
    except Exception as exc:
        refused = storage_error(exc, path)
        if refused is None:
            raise
        raise refused from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)


def write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | Path, data: Any) -> None:
    write_text(path, json.dumps(data, indent=2, sort_keys=False) + "\n")


def save_model(model: keras.Model, path: str | Path) -> None:
    """`model.save` to a temporary `.keras` file, then rename."""
    with atomic_path(path) as tmp:
        model.save(tmp)


def load_shared_model(path: Path, what: str, remedy: str) -> keras.Model:
    """A plain Keras model that several runs share (judges, the VAE), loaded in safe mode.

    Raises:
        ArtifactError: the file is missing ("{what} missing (path); {remedy}") or cannot be
            loaded (truncated, foreign), in one line.
    """
    if not Path(path).is_file():
        raise ArtifactError(f"{what} missing ({path}); {remedy}")
    try:
        return keras.saving.load_model(path, safe_mode=True, compile=False)
    except Exception as exc:  # a truncated or foreign file
        raise ArtifactError(f"cannot load {what} from {path}: {first_line(exc)}; {remedy}") from None


def file_sha256(path: Path) -> str | None:
    """Hex SHA-256 of a file, None when it is not there."""
    if not Path(path).is_file():
        return None
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
