"""Momentum breakout: buy when the close breaks the previous N-bar high, exit on the M-bar low.

Run it through a ``StrategyRunner`` with any ``StrategyContext`` (the runtime's, or
``omoitrade.testing.strategies.FakeStrategyContext`` in tests).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from omoitrade.core.errors import ValidationError
from omoitrade.model.enums import OrderSide
from omoitrade.model.identifiers import InstrumentId
from omoitrade.model.market_data import Bar
from omoitrade.strategy.base import Strategy
from omoitrade.strategy.indicators.base import StreamingIndicator


@dataclass(frozen=True, slots=True)
class BreakoutParams:
    entry_period: int = 20
    exit_period: int = 10
    quantity: Decimal = Decimal(1)

    def __post_init__(self) -> None:
        if self.entry_period < 1:
            raise ValidationError("entry_period", "must be at least 1", self.entry_period)
        if self.exit_period < 1:
            raise ValidationError("exit_period", "must be at least 1", self.exit_period)
        if self.quantity <= 0:
            raise ValidationError("quantity", "must be positive", self.quantity)


class MomentumBreakout(Strategy):
    """Long-only Donchian-style breakout on every instrument it sees bars for."""

    params_type = BreakoutParams
    params: BreakoutParams

    def on_start(self) -> None:
        self._channels: dict[InstrumentId, tuple[StreamingIndicator, StreamingIndicator]] = {}
        self._previous: dict[InstrumentId, tuple[float | None, float | None]] = {}

    def on_bar(self, bar: Bar) -> None:
        key = bar.instrument_id
        if key not in self._channels:
            self._channels[key] = (
                self.indicator("highest", period=self.params.entry_period),
                self.indicator("lowest", period=self.params.exit_period),
            )
        upper, lower = self._channels[key]
        previous_high, previous_low = self._previous.get(key, (None, None))
        held = self.position(key)
        close = float(bar.close)
        if held == 0 and previous_high is not None and close > previous_high:
            self.submit_market(key, OrderSide.BUY, self.params.quantity, client_tag="breakout")
        elif held > 0 and previous_low is not None and close < previous_low:
            self.close_position(key)
        values = (float(bar.open), float(bar.high), float(bar.low), close, float(bar.volume))
        self._previous[key] = (upper.update_bar(*values), lower.update_bar(*values))
