"""Column types that keep money exact and time in UTC on every database.

- :class:`ExactDecimal`: ``NUMERIC`` on PostgreSQL; on SQLite, text (SQLite has no
  decimal type and would turn a ``NUMERIC`` column into binary floats). Either
  way a ``Decimal`` comes back exactly as it went in; floats are refused.
- :class:`UtcDateTime`: ``timestamptz`` on PostgreSQL; on SQLite, UTC text.
  Naive datetimes are refused; values come back timezone-aware UTC.
- :data:`JsonDocument`: ``JSONB`` on PostgreSQL, JSON text elsewhere.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy import JSON, DateTime, Numeric, String
from sqlalchemy import Enum as SqlEnum
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


class ExactDecimal(TypeDecorator[Decimal]):
    """A Decimal column that never passes through a float."""

    impl = Numeric
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(120))  # room for 60-digit fill averages
        return dialect.type_descriptor(Numeric(asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, Decimal):
            if isinstance(value, int) and not isinstance(value, bool):
                value = Decimal(value)
            else:
                raise TypeError(f"exact decimal column needs a Decimal, got {type(value).__name__}")
        if not value.is_finite():
            raise ValueError(f"exact decimal column refuses {value}")
        return str(value) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return value if isinstance(value, Decimal) else Decimal(value)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp column (microsecond precision)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, datetime) or value.tzinfo is None:
            raise ValueError(f"timestamp column needs a timezone-aware datetime, got {value!r}")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        stored: datetime = value
        if stored.tzinfo is None:
            return stored.replace(tzinfo=UTC)
        return stored.astimezone(UTC)


JsonDocument = JSON().with_variant(JSONB(), "postgresql")


def enum_column_type(enum_cls: type[Enum]) -> SqlEnum:
    """A portable enum column: VARCHAR with a CHECK constraint listing the values."""
    name = "".join(f"_{c.lower()}" if c.isupper() else c for c in enum_cls.__name__).lstrip("_")
    return SqlEnum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        validate_strings=True,
        values_callable=lambda members: [member.value for member in members],
    )
