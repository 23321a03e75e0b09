"""One mapper for every entity: domain dataclass <-> table row, driven by type hints.

Column names equal field names, so a mapper only needs to know how to turn
each field's declared type into a database value and back: typed identifiers
become plain UUIDs or strings, lists of identifiers become JSON lists of text.
Mismatches between an entity and its table are caught when the mapper is built.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar
from uuid import UUID

from sqlalchemy import Table

from omoitrade.core.ids import StrIdentifier, UuidIdentifier

E = TypeVar("E")
Convert = Callable[[Any], Any]


def _identity(value: Any) -> Any:
    return value


def _converters(hint: Any) -> tuple[Convert, Convert]:
    """(to database, from database) for a field declared as ``hint``."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        inner = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        if len(inner) == 1:
            to_db, from_db = _converters(inner[0])
            return (
                lambda v: None if v is None else to_db(v),
                lambda v: None if v is None else from_db(v),
            )
        return _identity, _identity
    if origin is list:
        (item,) = typing.get_args(hint) or (Any,)
        item_to, item_from = _converters(item)
        if item_to is _identity:
            return list, list
        return (
            lambda values: [_json_safe(item_to(v)) for v in values],
            lambda values: [item_from(v) for v in values],
        )
    if isinstance(hint, type) and issubclass(hint, UuidIdentifier):
        cls = hint
        return (lambda v: UUID(int=v.int)), (lambda v: cls(int=UUID(str(v)).int))
    if isinstance(hint, type) and issubclass(hint, StrIdentifier):
        return str, hint
    return _identity, _identity


def _json_safe(value: Any) -> Any:
    return str(value) if isinstance(value, UUID) else value


class EntityMapper(Generic[E]):
    """Converts instances of one entity class to row dicts for one table, and back."""

    def __init__(self, entity_cls: type[E], table: Table) -> None:
        hints = typing.get_type_hints(entity_cls)
        fields = [f.name for f in dataclasses.fields(entity_cls)]  # type: ignore[arg-type]
        columns = set(table.columns.keys())
        missing = [name for name in fields if name not in columns]
        extra = sorted(columns - set(fields))
        if missing or extra:
            raise TypeError(
                f"{entity_cls.__name__} and table {table.name} disagree: "
                f"fields without column {missing}, columns without field {extra}"
            )
        self.entity_cls = entity_cls
        self.table = table
        self._fields = [(name, *_converters(hints[name])) for name in fields]

    def to_row(self, entity: E) -> dict[str, Any]:
        return {name: to_db(getattr(entity, name)) for name, to_db, _ in self._fields}

    def from_row(self, row: Mapping[Any, Any]) -> E:
        return self.entity_cls(**{name: from_db(row[name]) for name, _, from_db in self._fields})
