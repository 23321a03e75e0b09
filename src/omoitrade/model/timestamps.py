"""Timestamps in the domain are timezone-aware UTC datetimes."""

from __future__ import annotations

from datetime import UTC, datetime

from omoitrade.core.errors import ValidationError


def require_utc(field: str, value: datetime | None) -> None:
    """Refuse naive datetimes and other zones: UTC everywhere, converted at the edges."""
    if value is None:
        return
    if not isinstance(value, datetime):
        raise ValidationError(field, "must be a datetime", value)
    if value.tzinfo is None or value.utcoffset() != UTC.utcoffset(None):
        raise ValidationError(field, "must be timezone-aware UTC", value)
