"""Errors a user can cause. The CLI turns each into one line on stderr and exit code 2."""


class AttentionXaiError(Exception):
    """Base class: a problem with the user's input, not a bug in the library."""


class ConfigError(AttentionXaiError, ValueError):
    """An experiment, backbone, attention module or config value that is not valid."""


class DataError(AttentionXaiError):
    """MNIST could not be loaded, or what was loaded is not the official split."""


class WeightsUnavailableError(AttentionXaiError):
    """Pre-trained weights were asked for but cannot be had (offline, missing file)."""


class ModelFileError(AttentionXaiError):
    """A `.keras` file that is missing, corrupt, or not an attention_xai classifier."""


class ArtifactError(AttentionXaiError):
    """A saved artifact (metrics.json, history.csv, ...) that is missing or unreadable."""


class StorageError(AttentionXaiError):
    """A write the file system refused: disk full, quota, read-only, permission denied."""


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type name if it has none)."""
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__

