"""A strategy document's sizing, stops and targets as numbers at a given price.

Sizes come out as sizers (price -> quantity before rounding to lots), evaluated when
the entry is sent: equity is read then, so an entry that waited for an approval is
sized on the equity and price of that moment.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from omoitrade.core.errors import ValidationError
from omoitrade.model.enums import OrderSide
from omoitrade.strategy.document import (
    AtrLevel,
    CappedKelly,
    FixedQuantity,
    Level,
    PercentLevel,
    PercentOfEquity,
    PriceLevel,
    RiskPerTrade,
    Sizing,
)

Sizer = Callable[[Decimal], Decimal]
HUNDRED = Decimal(100)


def sizer_for(sizing: Sizing, equity: Callable[[], Decimal], atr: Decimal | None) -> Sizer | None:
    """The sizer of ``sizing``; None when it sizes to nothing (a negative Kelly edge, or
    risk per trade without an ATR yet)."""
    if isinstance(sizing, FixedQuantity):
        quantity = sizing.quantity
        return lambda _price: quantity
    if isinstance(sizing, PercentOfEquity):
        share = sizing.percent / HUNDRED
        return lambda price: equity() * share / _positive(price)
    if isinstance(sizing, RiskPerTrade):
        if atr is None or atr <= 0:
            return None
        risk, distance = sizing.percent / HUNDRED, sizing.atr_multiple * atr
        return lambda _price: equity() * risk / distance
    return _kelly(sizing, equity)


def kelly_fraction(sizing: CappedKelly) -> Decimal:
    """``fraction`` x (W - (1 - W) / R), capped at ``cap_percent`` (may be <= 0: no edge)."""
    w, r = sizing.win_rate, sizing.payoff_ratio
    full = w - (1 - w) / r
    return min(sizing.fraction * full, sizing.cap_percent / HUNDRED)


def _kelly(sizing: CappedKelly, equity: Callable[[], Decimal]) -> Sizer | None:
    share = kelly_fraction(sizing)
    if share <= 0:
        return None
    return lambda price: equity() * share / _positive(price)


def level_price(
    level: Level, side: OrderSide, close: Decimal, atr: Decimal | None, *, target: bool
) -> Decimal | None:
    """The stop (``target`` False) or target price of ``level`` for an entry on ``side``
    at ``close``; None when an ATR level has no ATR yet."""
    if isinstance(level, PriceLevel):
        return level.price
    if isinstance(level, PercentLevel):
        distance = close * level.percent / HUNDRED
    elif atr is None:
        return None
    else:
        distance = level.multiple * atr
    above = (side is OrderSide.BUY) == target  # a long's target and a short's stop
    return close + distance if above else close - distance


def trailing_fraction(
    level: PercentLevel | AtrLevel, close: Decimal, atr: Decimal | None
) -> Decimal | None:
    """A trailing distance as a fraction of the price."""
    if isinstance(level, PercentLevel):
        return level.percent / HUNDRED
    if atr is None:
        return None
    return level.multiple * atr / _positive(close)


def atr_periods(sizing: Sizing, levels: list[Level | None]) -> set[int]:
    """The ATR periods a document's sizing and levels need."""
    periods = {sizing.atr_period} if isinstance(sizing, RiskPerTrade) else set()
    periods |= {level.period for level in levels if isinstance(level, AtrLevel)}
    return periods


def _positive(price: Decimal) -> Decimal:
    if price <= 0:
        raise ValidationError("price", "must be positive to size by equity", price)
    return price
