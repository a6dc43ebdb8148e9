"""Method parameters: the declared defaults are the only valid names, and values given
as text (`--set method.key=value`) or in Python are checked against the default's type."""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from attention_xai.errors import ConfigError

_TRUE, _FALSE = ("true", "yes", "1", "on"), ("false", "no", "0", "off")

# Which class a counterfactual aims at, besides a class number (explain.counterfactual.analysis
# applies them; the command line checks them without importing the TensorFlow stages).
TARGET_RULES = ("auto", "true", "runner-up")


def resolve_params(owner: str, defaults: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """`defaults` updated by `given`, each value coerced to its default's type.

    Raises:
        ConfigError: a name that is not a parameter of `owner` (listing the valid ones), or a
            value that is not of the parameter's type.
    """
    unknown = [key for key in given if key not in defaults]
    if unknown:
        raise ConfigError(f"unknown parameter {unknown[0]!r} for {owner}; valid: {', '.join(defaults) or 'none'}")
    return {**defaults, **{key: coerce(f"{owner}.{key}", value, defaults[key]) for key, value in given.items()}}


def coerce(what: str, value: Any, default: Any) -> Any:
    """`value` as the type of `default` (bool, int, float or str); None defaults accept a
    number, text or None."""
    text = value.strip() if isinstance(value, str) else None
    if default is None:
        if text is None:
            return value
        if text.lower() == "none":
            return None
        try:
            return int(text) if text.lstrip("-").isdigit() else float(text)
        except ValueError:
            return text
    kind = type(default)
    try:
        if kind is bool:
            if isinstance(value, bool):
                return value
            if text is not None and text.lower() in _TRUE + _FALSE:
                return text.lower() in _TRUE
            raise ValueError
        if kind is int:
            if isinstance(value, bool):
                raise ValueError
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            return int(text if text is not None else value)
        if kind is float:
            if isinstance(value, bool):
                raise ValueError
            return float(text if text is not None else value)
        if kind is str:
            if not isinstance(value, str):
                raise ValueError
            return value
    except (TypeError, ValueError):
        raise ConfigError(f"{what} must be {kind.__name__}, got {value!r}") from None
    return value


def parse_set_options(items: Iterable[str], methods: Iterable[str]) -> dict[str, dict[str, str]]:
    """`["gradient.max_iter=50", ...]` -> {"gradient": {"max_iter": "50"}}; ConfigError for
    text that is not `method.key=value` or names a method not in `methods`."""
    methods = list(methods)
    out: dict[str, dict[str, str]] = {}
    for item in items:
        name, dot, rest = item.partition(".")
        key, equals, value = rest.partition("=")
        if not (dot and equals and name.strip() and key.strip()):
            raise ConfigError(f"--set takes method.key=value, got {item!r}")
        name = name.strip().lower()
        if name not in methods:
            raise ConfigError(f"--set {item!r}: unknown method {name!r}; valid: {', '.join(methods)}")
        out.setdefault(name, {})[key.strip()] = value
    return out
