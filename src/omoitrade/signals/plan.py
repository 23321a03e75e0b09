"""How a signal is to be traded (its plan) and the pipeline's settings per portfolio."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from omoitrade.core.errors import ValidationError
from omoitrade.model.enums import OrderType
from omoitrade.model.identifiers import PortfolioId

ZERO = Decimal(0)

# price -> quantity before rounding to lots (sizing from the strategy's risk parameters,
# evaluated at execution time: after an approval, at the price of that moment)
Sizer = Callable[[Decimal], Decimal]


@dataclass(frozen=True, slots=True)
class ExecutionPlan:
    """What the execution and management phases do with a validated signal.

    Exactly one of ``quantity`` and ``sizer``. The entry is a market order, or a limit
    order at the signal's entry price. Stop loss and take profit come from the signal;
    ``trailing_stop`` is a fraction (0.02: the stop follows 2% behind the best price);
    ``max_holding_ns`` closes the position after that long. A ``shadow`` signal stops
    after validation (VALIDATED with the verdict, or REJECTED): a dry run of a strategy.
    """

    portfolio_id: PortfolioId
    quantity: Decimal | None = None
    sizer: Sizer | None = None
    entry_type: OrderType = OrderType.MARKET
    trailing_stop: Decimal | None = None
    max_holding_ns: int | None = None
    strategy_version: int = 1
    agent: str | None = None  # the bot that emitted it, for attribution
    shadow: bool = False  # validate only: the verdict is recorded, nothing is traded

    def __post_init__(self) -> None:
        if (self.quantity is None) == (self.sizer is None):
            raise ValidationError("plan", "needs exactly one of quantity and sizer")
        if self.quantity is not None and self.quantity <= 0:
            raise ValidationError("quantity", "must be positive", self.quantity)
        if self.entry_type not in (OrderType.MARKET, OrderType.LIMIT):
            raise ValidationError("entry_type", "must be MARKET or LIMIT", self.entry_type)
        if self.trailing_stop is not None and not 0 < self.trailing_stop < 1:
            raise ValidationError(
                "trailing_stop", "must be a fraction in (0, 1)", self.trailing_stop
            )
        if self.max_holding_ns is not None and self.max_holding_ns <= 0:
            raise ValidationError("max_holding_ns", "must be positive", self.max_holding_ns)

    def record(self) -> dict[str, Any]:
        """What management needs after a restart, as JSON (the sizer is spent by then)."""
        return {
            "portfolio_id": str(self.portfolio_id),
            "entry_type": self.entry_type.value,
            "trailing_stop": None if self.trailing_stop is None else str(self.trailing_stop),
            "max_holding_ns": self.max_holding_ns,
            "strategy_version": self.strategy_version,
            "agent": self.agent,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any], quantity: Decimal) -> ExecutionPlan:
        """The plan of a :meth:`record`, with the quantity its entry was sent with."""
        trailing = record.get("trailing_stop")
        return cls(
            portfolio_id=PortfolioId.parse(record["portfolio_id"]),
            quantity=quantity,
            entry_type=OrderType(record["entry_type"]),
            trailing_stop=None if trailing is None else Decimal(trailing),
            max_holding_ns=record.get("max_holding_ns"),
            strategy_version=int(record.get("strategy_version", 1)),
            agent=record.get("agent"),
        )

    def size(
        self, price: Decimal, lot_size: Decimal, min_quantity: Decimal, fee_rate: Decimal = ZERO
    ) -> Decimal:
        """The entry quantity at ``price``, floored to whole lots (zero if under the minimum).

        A sizer sees the price with the fee added (``price * (1 + fee_rate)``): sizing by
        equity then leaves room for the commission ("all-in" fits the cash, fees included).
        """
        raw = self.quantity
        if raw is None:
            raw = self.sizer(price * (1 + fee_rate) if fee_rate else price)  # type: ignore[misc]
        lots = (raw / lot_size).to_integral_value(rounding=ROUND_FLOOR)
        if lots <= 0:
            return ZERO
        quantity = lots * lot_size
        return quantity if quantity >= min_quantity and quantity > 0 else ZERO


@dataclass(frozen=True, slots=True)
class SignalSettings:
    """The validation gates' settings for one portfolio (or the default)."""

    high_value_notional: Decimal | None = None  # above it, a person approves the trade
    unusual_sigma: float = 3.0  # entry price or strength this many std devs off: approval
    unusual_window: int = 100  # signals of the strategy remembered
    unusual_min_history: int = 20  # fewer than this: nothing is unusual yet
    limit_alert_usage: float = 0.8  # a risk limit this full raises an alert
    pause_strategy_on_limit_alert: bool = False
    approval_ttl_ns: int = 15 * 60 * 1_000_000_000
    default_expiry_ns: int | None = 60 * 1_000_000_000  # of a signal without expiry_at
    sizing_fee_rate: Decimal = Decimal(0)  # the venue's taker fee, kept free when sizing


@dataclass(slots=True)
class SettingsBook:
    """Settings per portfolio, with a default."""

    default: SignalSettings = field(default_factory=SignalSettings)
    per_portfolio: dict[PortfolioId, SignalSettings] = field(default_factory=dict)

    def of(self, portfolio_id: PortfolioId) -> SignalSettings:
        return self.per_portfolio.get(portfolio_id, self.default)
