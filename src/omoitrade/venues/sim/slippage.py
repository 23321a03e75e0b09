"""Slippage models for bar-based fills: how much worse than the reference price a fill is.

Slippage always goes against the order (a buy pays more, a sell receives
less) and the result is rounded to the tick away from the order's favour, so
a model never improves a price. Limit fills are not slipped: a limit order
fills at its price or better.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Protocol

from omoitrade.core.errors import ValidationError
from omoitrade.model.enums import OrderSide
from omoitrade.model.instruments import Instrument
from omoitrade.model.money import ZERO, round_to_step

_BPS = Decimal("0.0001")


class SlippageModel(Protocol):
    """Gives the price a market-like fill of ``quantity`` gets, from a reference price."""

    def fill_price(
        self,
        instrument: Instrument,
        side: OrderSide,
        reference: Decimal,
        quantity: Decimal,
        bar_volume: Decimal,
    ) -> Decimal: ...


def _worsen(
    instrument: Instrument, side: OrderSide, reference: Decimal, amount: Decimal
) -> Decimal:
    """``reference`` moved by ``amount`` against ``side``, on the tick grid, never below a tick."""
    if side is OrderSide.BUY:
        return round_to_step(reference + amount, instrument.tick_size, ROUND_CEILING)
    price = round_to_step(reference - amount, instrument.tick_size, ROUND_FLOOR)
    return max(price, instrument.tick_size)


@dataclass(frozen=True, slots=True)
class NoSlippage:
    """Fills at the reference price."""

    def fill_price(
        self,
        instrument: Instrument,
        side: OrderSide,
        reference: Decimal,
        quantity: Decimal,
        bar_volume: Decimal,
    ) -> Decimal:
        return reference


class _AdverseMove(ABC):
    """Slippage as an amount of price moved against the order; subclasses say how much."""

    __slots__ = ()

    @abstractmethod
    def amount(
        self, instrument: Instrument, reference: Decimal, quantity: Decimal, bar_volume: Decimal
    ) -> Decimal: ...

    def fill_price(
        self,
        instrument: Instrument,
        side: OrderSide,
        reference: Decimal,
        quantity: Decimal,
        bar_volume: Decimal,
    ) -> Decimal:
        move = self.amount(instrument, reference, quantity, bar_volume)
        return _worsen(instrument, side, reference, move)


def _non_negative(name: str, value: Decimal | int) -> None:
    if value < 0:
        raise ValidationError(name, "must not be negative", value)


@dataclass(frozen=True, slots=True)
class FixedTickSlippage(_AdverseMove):
    """A fixed number of ticks against the order."""

    ticks: int = 1

    def __post_init__(self) -> None:
        _non_negative("ticks", self.ticks)

    def amount(
        self, instrument: Instrument, reference: Decimal, quantity: Decimal, bar_volume: Decimal
    ) -> Decimal:
        return instrument.tick_size * self.ticks


@dataclass(frozen=True, slots=True)
class BpsSlippage(_AdverseMove):
    """A fixed fraction of the price, in basis points, against the order."""

    bps: Decimal = Decimal("5")

    def __post_init__(self) -> None:
        _non_negative("bps", self.bps)

    def amount(
        self, instrument: Instrument, reference: Decimal, quantity: Decimal, bar_volume: Decimal
    ) -> Decimal:
        return reference * self.bps * _BPS


@dataclass(frozen=True, slots=True)
class VolumeShareSlippage(_AdverseMove):
    """Impact grows with the order's share of the bar's volume.

    ``impact`` is the price move, as a fraction of the price, for an order
    equal to the whole bar's volume; the move is ``impact * (quantity / volume)``.
    A bar without volume gives the full ``impact``.
    """

    impact: Decimal = Decimal("0.1")

    def __post_init__(self) -> None:
        _non_negative("impact", self.impact)

    def amount(
        self, instrument: Instrument, reference: Decimal, quantity: Decimal, bar_volume: Decimal
    ) -> Decimal:
        share = min(quantity / bar_volume, Decimal(1)) if bar_volume > ZERO else Decimal(1)
        return reference * self.impact * share
