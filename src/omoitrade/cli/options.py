"""What several commands share: the configured database, and options parsed to values
with one clear error each."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation

from omoitrade.config import Settings
from omoitrade.core.errors import ValidationError
from omoitrade.store import Database
from omoitrade.store import migrate as migrations
from omoitrade.venues.sim.bar_fills import FillModel


def open_database() -> Database:
    """The configured database, migrated to the newest schema."""
    url = Settings().resolved_database_url()
    migrations.upgrade(url)
    return Database(url)


def decimal_option(name: str, text: str) -> Decimal:
    """``--name``'s value as a finite Decimal."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValidationError(f"--{name}", "must be a number", text) from None
    if not value.is_finite():
        raise ValidationError(f"--{name}", "must be a finite number", text)
    return value


def fill_model_option(text: str) -> FillModel:
    try:
        return FillModel(text)
    except ValueError:
        allowed = ", ".join(m.value for m in FillModel)
        raise ValidationError("--fill", f"must be one of {allowed}", text) from None


def day_option(option: str, text: str | None) -> datetime | None:
    """A YYYY-MM-DD day as its first moment in UTC (None stays None)."""
    if text is None:
        return None
    try:
        return datetime.combine(date.fromisoformat(text), time(0), tzinfo=UTC)
    except ValueError:
        raise ValidationError(option, "must be a date YYYY-MM-DD", text) from None
