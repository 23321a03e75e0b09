"""POV: trade a percentage of the volume the market prints, until the parent is done.

Observed volume is the trade ticks of the instrument since the parent started, less
the trades of its own children (matched by venue trade id, whichever comes first: the
tick or the fill). The target is ``rate`` times that volume; a child is sent when the
target is at least ``min_child`` ahead of what is filled and working, for at most
``max_child``. So the parent never trades ahead of the rate, and lags it by less than
one ``min_child``.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TypeVar

from omoitrade.core.errors import ValidationError
from omoitrade.execution.algos.base import ExecutionAlgorithm
from omoitrade.execution.algos.params import AlgoParams
from omoitrade.execution.algos.parent import AlgoStatus, AlgoTrigger
from omoitrade.execution.algos.pricing import MARKET_PRICING, ChildPricing
from omoitrade.model.identifiers import VenueTradeId
from omoitrade.model.market_data import TradeTick
from omoitrade.model.money import EXACT, ZERO, to_decimal

_REMEMBERED = 10_000  # trade ids kept to match ticks with our fills
V = TypeVar("V")


@dataclass(frozen=True, slots=True, kw_only=True)
class PovParams(AlgoParams):
    """``rate`` of the others' volume (0 < rate <= 1); child sizes within the bounds."""

    rate: Decimal
    min_child: Decimal | None = None  # default: the instrument's minimum quantity
    max_child: Decimal | None = None  # default: no cap
    pricing: ChildPricing = field(default_factory=lambda: MARKET_PRICING)

    def __post_init__(self) -> None:
        AlgoParams.__post_init__(self)
        rate = to_decimal("rate", self.rate)
        if not ZERO < rate <= 1:
            raise ValidationError("rate", "must be greater than 0 and at most 1", self.rate)
        for name in ("min_child", "max_child"):
            value = getattr(self, name)
            if value is not None and to_decimal(name, value) <= 0:
                raise ValidationError(name, "must be greater than 0", value)
        if (
            self.min_child is not None
            and self.max_child is not None
            and self.min_child > self.max_child
        ):
            raise ValidationError("min_child", "must not exceed max_child", self.min_child)


class Pov(ExecutionAlgorithm[PovParams]):
    name = "POV"

    def _check(self) -> None:
        self.observed_volume = ZERO
        self._counted: OrderedDict[VenueTradeId, Decimal] = OrderedDict()
        self._own: OrderedDict[VenueTradeId, None] = OrderedDict()

    def _begin(self) -> None:
        end = self.parent.end_ns
        if end is not None:
            self._alarm("end", end, lambda _: self._stop(AlgoTrigger.EXPIRE, "end time reached"))

    def on_trade_tick(self, tick: TradeTick) -> None:
        if self.status is not AlgoStatus.WORKING or tick.instrument_id != self.parent.instrument_id:
            return
        if tick.trade_id in self._own:  # one of ours, filled before its tick came
            del self._own[tick.trade_id]
            return
        self.observed_volume = EXACT.add(self.observed_volume, tick.size)
        _remember(self._counted, tick.trade_id, tick.size)
        self._kick()

    def _own_fill(self, trade_id: VenueTradeId, quantity: Decimal) -> None:
        counted = self._counted.pop(trade_id, None)
        if counted is None:
            _remember(self._own, trade_id, None)
        else:  # its tick came first and was counted as the market's
            self.observed_volume = EXACT.subtract(self.observed_volume, counted)

    def _target(self) -> Decimal:
        wanted = EXACT.multiply(self.params.rate, self.observed_volume)
        return min(self.parent.quantity, self.instrument.floor_quantity(wanted))

    def _work(self) -> None:
        due = EXACT.subtract(
            EXACT.subtract(self._target(), self.filled_quantity), self.children.working_quantity()
        )
        if due <= ZERO:
            return
        if self.params.max_child is not None:
            due = min(due, self.params.max_child)
        self._send_for(due, self.params.pricing, self.params.min_child)

    def _scheduled_quantity(self) -> Decimal | None:
        return self._target()

    @property
    def participation(self) -> Decimal | None:
        """Filled over observed volume so far (None before any volume)."""
        if self.observed_volume <= 0:
            return None
        return self.filled_quantity / self.observed_volume


def _remember(memory: OrderedDict[VenueTradeId, V], trade_id: VenueTradeId, value: V) -> None:
    """Note ``trade_id`` in a bounded memory (the oldest forgotten first)."""
    memory[trade_id] = value
    if len(memory) > _REMEMBERED:
        memory.popitem(last=False)
