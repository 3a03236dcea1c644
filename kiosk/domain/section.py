"""Typed access to a parsed TOML mapping, with errors that name file and key.

Every config section of the product (catalog, back-office, kiosk, devices) parses
through a `Section`, so a wrong value anywhere produces the same kind of message:
``config/catalog.toml: procedures[2].fee_yen: must be an integer ≥ 0, got "300円"``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import MISSING as MISSING_FIELD
from typing import Any, TypeVar

from kiosk.domain.errors import ConfigError

T = TypeVar("T")

_MISSING = object()


def _describe(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


class Section:
    """A mapping from a config file, remembering where it came from."""

    def __init__(self, data: Mapping[str, Any], file: str, path: str = "") -> None:
        if not isinstance(data, Mapping):
            raise ConfigError(file, path or "(top level)",
                              f"must be a table, got {_describe(data)}")
        self.data = data
        self.file = file
        self.path = path

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def error(self, name: str, problem: str) -> ConfigError:
        return ConfigError(self.file, self.key(name), problem)

    def has(self, name: str) -> bool:
        return name in self.data

    def _get(self, name: str, default: object) -> object:
        if name in self.data:
            return self.data[name]
        if default is _MISSING:
            raise self.error(name, "is required")
        return default

    def text(self, name: str, default: object = _MISSING, *, choices: Sequence[str] = ()) -> str:
        if name not in self.data and isinstance(default, str):
            return default  # an absent optional string keeps its default, even ""
        value = self._get(name, default)
        if value == "" and default == "":
            return ""  # a shipped file may spell out an optional string's empty default
        if not isinstance(value, str) or not value.strip():
            raise self.error(name, f"must be a non-empty string, got {_describe(value)}")
        if choices and value not in choices:
            raise self.error(name, f"must be one of {', '.join(choices)}; got {value!r}")
        return value

    def optional_text(self, name: str) -> str | None:
        return self.text(name) if name in self.data else None

    def integer(
        self, name: str, default: object = _MISSING, *, min: int | None = None,
        max: int | None = None,
    ) -> int:
        value = self._get(name, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(name, f"must be an integer, got {_describe(value)}")
        if min is not None and value < min:
            raise self.error(name, f"must be ≥ {min}, got {value}")
        if max is not None and value > max:
            raise self.error(name, f"must be ≤ {max}, got {value}")
        return value

    def number(self, name: str, default: object = _MISSING, *, min: float | None = None) -> float:
        value = self._get(name, default)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(name, f"must be a number, got {_describe(value)}")
        if min is not None and value < min:
            raise self.error(name, f"must be ≥ {min}, got {value}")
        return float(value)

    def flag(self, name: str, default: object = _MISSING) -> bool:
        value = self._get(name, default)
        if not isinstance(value, bool):
            raise self.error(name, f"must be true or false, got {_describe(value)}")
        return value

    def texts(self, name: str, default: object = _MISSING) -> tuple[str, ...]:
        value = self._get(name, default)
        if not isinstance(value, list | tuple) or not all(
            isinstance(v, str) and v for v in value
        ):
            raise self.error(name, f"must be a list of strings, got {_describe(value)}")
        return tuple(value)

    def integers(self, name: str, default: object = _MISSING) -> tuple[int, ...]:
        value = self._get(name, default)
        if not isinstance(value, list | tuple) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        ):
            raise self.error(name, f"must be a list of integers, got {_describe(value)}")
        return tuple(value)

    def section(self, name: str, default: object = _MISSING) -> Section:
        value = self._get(name, {} if default is not _MISSING else default)
        return Section(value, self.file, self.key(name))  # type: ignore[arg-type]

    def sections(self, name: str, *, required: bool = True) -> Iterator[Section]:
        value = self._get(name, _MISSING if required else [])
        if not isinstance(value, list):
            raise self.error(
                name, f"must be an array of tables ([[{name}]]), got {_describe(value)}")
        if required and not value:
            raise self.error(name, "must have at least one entry")
        for i, item in enumerate(value):
            yield Section(item, self.file, f"{self.key(name)}[{i}]")

    def unknown_keys(self, allowed: Sequence[str]) -> None:
        """Refuse typos: a misspelt key silently ignored is a setting silently lost."""
        for name in self.data:
            if name not in allowed:
                raise self.error(name, f"unknown key (allowed: {', '.join(sorted(allowed))})")


class Defaults:
    """A settings dataclass's own field defaults, by attribute (`Defaults(Store).retries`):
    the one set of defaults, which a parser reads instead of repeating them (and which
    also serves a dataclass with required fields, where `cls()` cannot)."""

    def __init__(self, cls: type) -> None:
        self._fields: Mapping[str, Any] = getattr(cls, "__dataclass_fields__")  # noqa: B009

    def __getattr__(self, name: str) -> Any:
        field = self._fields[name]
        if field.default_factory is not MISSING_FIELD:
            return field.default_factory()
        return field.default
