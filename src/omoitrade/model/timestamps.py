"""Timestamps in the domain are timezone-aware UTC datetimes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from omoitrade.core.errors import ValidationError

_ZERO = timedelta(0)


def require_utc(field: str, value: datetime | None) -> None:
    """Refuse naive datetimes and other zones: UTC everywhere, converted at the edges.

    Only fixed zero-offset zones count as UTC; a zone that merely happens to be at
    offset zero on that date (London in winter) is refused like any other.
    """
    if value is None or (type(value) is datetime and value.tzinfo is UTC):
        return  # the common case, decided at once
    if not isinstance(value, datetime):
        raise ValidationError(field, "must be a datetime", value)
    if value.tzinfo is None or value.tzinfo.utcoffset(None) != _ZERO:
        raise ValidationError(field, "must be timezone-aware UTC", value)
