"""Risk limits: a bound on a portfolio (or one instrument in it) and what to do on breach."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from omoitrade.model.enums import BreachAction, LimitType
from omoitrade.model.fields import normalize_fields, require_timestamp
from omoitrade.model.identifiers import InstrumentId, PortfolioId, RiskLimitId
from omoitrade.model.money import ZERO, require_positive, to_decimal
from omoitrade.model.timestamps import require_utc


@dataclass(slots=True, eq=False)
class RiskLimit:
    """``current_value`` is measured in the unit of ``limit_value`` (losses as positive amounts)."""

    id: RiskLimitId
    portfolio_id: PortfolioId
    limit_type: LimitType
    limit_value: Decimal
    action_on_breach: BreachAction
    created_at: datetime
    instrument_id: InstrumentId | None = None
    current_value: Decimal = ZERO
    is_breached: bool = False
    updated_at: datetime | None = None

    def __post_init__(self) -> None:
        normalize_fields(self)
        require_positive("limit_value", self.limit_value)
        require_utc("created_at", self.created_at)
        require_utc("updated_at", self.updated_at)
        if self.updated_at is None:
            self.updated_at = self.created_at

    @property
    def utilization(self) -> Decimal:
        """How much of the limit is used: 1 means at the limit."""
        return self.current_value / self.limit_value

    def observe(self, value: Decimal, at: datetime) -> bool:
        """Record the measured value; returns True when this observation starts a breach."""
        value = to_decimal("value", value)
        require_timestamp("at", at)
        was_breached = self.is_breached
        self.current_value = value
        self.is_breached = value > self.limit_value
        self.updated_at = at
        return self.is_breached and not was_breached


@dataclass(slots=True)
class EquityMarks:
    """The equity a portfolio started its UTC day with, and the highest it has reached:
    what the daily-loss and drawdown limits measure against."""

    day: date
    day_start: Decimal
    high_water_mark: Decimal

    def daily_loss(self, equity: Decimal) -> Decimal:
        return max(self.day_start - equity, ZERO)

    def drawdown(self, equity: Decimal) -> Decimal:
        return max(self.high_water_mark - equity, ZERO)
