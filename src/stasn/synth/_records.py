"""Parameters <-> JSON records: every synthesized sample stores what it was made with, and can be remade from it."""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any, TypeVar

__all__ = ["to_record", "from_record"]

T = TypeVar("T")


def to_record(params: object) -> dict[str, Any]:
    """A JSON-safe ``dict`` of a (nested) parameter dataclass; tuples become lists, numpy scalars plain numbers."""

    def clean(value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): clean(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [clean(v) for v in value]
        if hasattr(value, "item") and not isinstance(value, (str, bytes)):
            return value.item()
        return value

    return clean(dataclasses.asdict(params))  # type: ignore[call-overload]


def from_record(cls: type[T], record: dict[str, Any]) -> T:
    """Rebuild a parameter dataclass from :func:`to_record`'s output; unknown keys are an error."""
    if not isinstance(record, dict):
        raise ValueError(f"{cls.__name__}: expected a dict record, got {type(record).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(record) - names)
    if unknown:
        raise ValueError(f"{cls.__name__}: unknown parameter(s) {unknown}; valid are {sorted(names)}")
    kwargs = {}
    for name, value in record.items():
        hint = hints[name]
        if dataclasses.is_dataclass(hint) and isinstance(value, dict):
            kwargs[name] = from_record(hint, value)
        elif isinstance(value, list) and _is_tuple(hint):
            kwargs[name] = tuple(value)
        else:
            kwargs[name] = value
    return cls(**kwargs)


def _is_tuple(hint: Any) -> bool:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_is_tuple(a) for a in typing.get_args(hint))
    return origin is tuple or hint is tuple
