"""What every explanation method shares, attribution and counterfactual alike.

A method is a class with a registry name, its declared parameters (`defaults`: the only
valid names, each value typed by its default), a seed and a batch size. Its parameters
read as attributes (`occlusion.window`) and are recorded, with the seed and batch size, in
every result it returns. Every result counts its cost in the same three words:

    forward_passes   model evaluations of single images without gradients
    gradient_passes  evaluations of single images with a backward pass to the input
    seconds          wall time

A new method is one file in `explain/attribution/` or `explain/counterfactual/` with one
registered class (`@ATTRIBUTIONS.register("name")` / `@COUNTERFACTUALS.register("name")`);
the package imports every module in its folder, and the contract tests run over every
registered name.
"""

from __future__ import annotations

import numbers
from abc import ABC
from dataclasses import dataclass
from typing import Any, ClassVar, Mapping

from attention_xai.errors import ConfigError
from attention_xai.params import resolve_params


@dataclass(frozen=True)
class Passes:
    """Single-image model passes a method made: plain forward ones, and ones with a
    backward pass for the input gradient."""

    forward: int = 0
    gradient: int = 0


class Method(ABC):
    """One explanation method.

    Subclasses set `name` and `defaults`, and may override `check` to validate their
    parameters together.

    Args:
        seed: seed of the method's randomness, where it has any.
        batch_size: images per model call (default: the family's `default_batch_size`).
        **params: the method's parameters (text such as "3" is read as the default's type);
            an unknown name or a value of the wrong type is a ConfigError naming the valid ones.
    """

    name: ClassVar[str]
    family: ClassVar[str] = "method"
    defaults: ClassVar[Mapping[str, Any]] = {}
    """The method's own parameters and their defaults; a subclass adds to (and may
    re-default) its parents'."""
    default_batch_size: ClassVar[int] = 64
    smoke: ClassVar[Mapping[str, Any]] = {}
    """Smaller budgets for smoke runs (seconds on the tiny test models)."""
    needs: ClassVar[Mapping[str, str]] = {}
    """Trained helpers the method cannot work without: its parameter that names the folder
    -> the kind of helper (see `explain/counterfactual/needs.py`)."""

    def __init__(self, *, seed: int = 0, batch_size: int | None = None, **params):
        batch_size = self.default_batch_size if batch_size is None else batch_size
        if not isinstance(batch_size, numbers.Integral) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ConfigError(f"batch_size must be a positive integer, got {batch_size!r}")
        if not isinstance(seed, numbers.Integral) or isinstance(seed, bool):
            raise ConfigError(f"seed must be an integer, got {seed!r}")
        self.seed, self.batch_size = int(seed), int(batch_size)
        self.params = resolve_params(self.name, self.parameters(), params)
        self.check()

    @classmethod
    def parameters(cls) -> dict[str, Any]:
        """Every declared parameter and its default, the class's own over its parents'."""
        out: dict[str, Any] = {}
        for klass in reversed(cls.__mro__):
            out.update(vars(klass).get("defaults", {}))
        return out

    @classmethod
    def from_text(cls, given: Mapping[str, Any], **shared) -> "Method":
        """An instance from parameters given as text (`--set method.key=value`)."""
        return cls(**dict(given), **shared)

    def check(self) -> None:
        """Raises ConfigError when the parameters do not fit together (a subclass's hook)."""

    def recorded(self, **extra) -> dict[str, Any]:
        """The parameters a result records: the method's own, its seed and batch size, and `extra`."""
        return {**self.params, "seed": self.seed, "batch_size": self.batch_size, **extra}

    def __getattr__(self, key: str):
        # Declared parameters read as attributes (called only when normal lookup fails).
        params = self.__dict__.get("params", {})
        if key in params:
            return params[key]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {key!r}")

    def __repr__(self) -> str:
        given = ", ".join(f"{key}={value!r}" for key, value in self.params.items())
        return f"{type(self).__name__}(seed={self.seed}, batch_size={self.batch_size}{', ' if given else ''}{given})"
