"""A name -> object registry: the one list of choices that the CLI, configs and tests read."""

from __future__ import annotations

from typing import Callable, Generic, Iterator, TypeVar

from attention_xai.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps lower-case names to objects, and names the valid choices in its errors.

    Args:
        kind: what the entries are, for error messages (e.g. "attention module").
        order: names listed (and offered in errors) first, in this order, whatever order the
            modules that register them happen to be imported in; the rest follow in
            registration order.
    """

    def __init__(self, kind: str, order: tuple[str, ...] = ()):
        self.kind = kind
        self._order = tuple(name.lower() for name in order)
        self._entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator that files an object under `name`."""

        def add(obj: T) -> T:
            key = name.lower()
            if key in self._entries:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._entries[key] = obj
            return obj

        return add

    def get(self, name: str) -> T:
        """The entry called `name` (case-insensitive); ConfigError listing the valid names if none."""
        try:
            return self._entries[str(name).lower()]
        except KeyError:
            raise ConfigError(
                f"unknown {self.kind} {name!r}; valid: {', '.join(self.names())}"
            ) from None

    def names(self) -> list[str]:
        first = [name for name in self._order if name in self._entries]
        return first + [name for name in self._entries if name not in first]

    def __contains__(self, name: object) -> bool:
        return str(name).lower() in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
