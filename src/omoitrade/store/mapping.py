"""One mapper for every entity: domain dataclass <-> table row, driven by type hints.

Column names equal field names, so a mapper only needs to know how to turn
each field's declared type into a database value and back: typed identifiers
become plain UUIDs or strings, lists of identifiers become JSON lists of text.
Mismatches between an entity and its table are caught when the mapper is built.
A :class:`PreparedStatement` writes such rows without SQLAlchemy's per-call compiling.
"""

from __future__ import annotations

import dataclasses
import operator
import types
import typing
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, NamedTuple, TypeVar
from uuid import UUID

from sqlalchemy import Connection, Table
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.expression import UpdateBase

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
        self._names = tuple(fields)
        values = operator.attrgetter(*fields)  # every field at once (a tuple if several)
        self._values = values if len(fields) > 1 else (lambda entity: (values(entity),))
        self._to_db = tuple(None if to_db is _identity else to_db for _, to_db, _ in self._fields)

    def to_row(self, entity: E) -> dict[str, Any]:
        return {
            name: value if to_db is None else to_db(value)
            for name, to_db, value in zip(
                self._names, self._to_db, self._values(entity), strict=True
            )
        }

    def from_row(self, row: Mapping[Any, Any]) -> E:
        return self.entity_cls(**{name: from_db(row[name]) for name, _, from_db in self._fields})


def execute_on_driver(connection: Connection, sql: str, params: Sequence[Any] = ()) -> int:
    """Run ``sql`` on the connection's DBAPI cursor: once, or once per parameter set
    (``executemany``) if there are several. Skips SQLAlchemy's per-statement machinery
    (events, logging) but raises errors as it would (``IntegrityError``...).
    Returns the number of rows the database reports changed."""
    cursor = connection.connection.cursor()
    try:
        if len(params) > 1:
            cursor.executemany(sql, params)
        elif params:
            cursor.execute(sql, params[0])
        else:
            cursor.execute(sql)
        changed: int = cursor.rowcount
    except Exception as error:
        raise _as_sqlalchemy_error(connection, sql, params, error) from error
    finally:
        cursor.close()
    return changed


def _as_sqlalchemy_error(
    connection: Connection, sql: str, params: Sequence[Any], error: Exception
) -> BaseException:
    """The exception SQLAlchemy raises for ``error``: a driver error becomes its
    ``DBAPIError`` subclass, any other a ``StatementError`` (a bind value refused)."""
    return DBAPIError.instance(
        sql,
        params,
        error,
        connection.dialect.loaded_dbapi.Error,
        hide_parameters=connection.engine.hide_parameters,
        dialect=connection.dialect,
        ismulti=len(params) > 1,
    )


class _Compiled(NamedTuple):
    sql: str
    positional: bool  # parameters as sequences (SQLite), else as dicts (PostgreSQL)
    binds: tuple[tuple[str, Convert | None], ...]  # (parameter name, bind processor)


class PreparedStatement:
    """An INSERT or UPDATE with named parameters, compiled once per dialect.

    For small writes, compiling a Core statement and processing its parameters on each
    call costs more CPU than the database's own work. This keeps each dialect's SQL and
    bind processors (the ones SQLAlchemy itself would apply) and runs the rows on the
    transaction's DBAPI connection, several in one ``executemany``. A driver error is
    raised as SQLAlchemy would raise it (``IntegrityError`` and so on).
    Parameter names must be plain identifiers (column names).
    """

    def __init__(self, statement: UpdateBase) -> None:
        self.statement = statement
        self._by_dialect: weakref.WeakKeyDictionary[Dialect, _Compiled] = (
            weakref.WeakKeyDictionary()
        )

    def execute(self, connection: Connection, rows: Sequence[Mapping[str, Any]]) -> int:
        """Run the statement once per row; the number of rows the database reports."""
        if not rows:
            return 0
        dialect = connection.dialect
        compiled = self._by_dialect.get(dialect)
        if compiled is None:
            compiled = self._by_dialect[dialect] = self._compile(dialect)
        binds = compiled.binds
        try:
            params: list[Any] = [
                [row[name] if process is None else process(row[name]) for name, process in binds]
                for row in rows
            ]
        except Exception as error:  # a value its column refuses
            raise _as_sqlalchemy_error(connection, compiled.sql, rows, error) from error
        if not compiled.positional:
            names = [name for name, _ in binds]
            params = [dict(zip(names, values, strict=True)) for values in params]
        return execute_on_driver(connection, compiled.sql, params)

    def _compile(self, dialect: Dialect) -> _Compiled:
        compiled = self.statement.compile(dialect=dialect, for_executemany=True)  # no RETURNING
        names = compiled.positiontup if compiled.positional else list(compiled.binds)
        binds = tuple(
            (name, compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect))
            for name in names or ()
        )
        return _Compiled(compiled.string, compiled.positional, binds)
