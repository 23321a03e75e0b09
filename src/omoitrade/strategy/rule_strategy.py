"""A ``Strategy`` that trades a validated strategy document's rules."""

from __future__ import annotations

from decimal import ROUND_FLOOR, Decimal

from omoitrade.core.errors import ValidationError
from omoitrade.model.enums import OrderSide
from omoitrade.model.events import OrderFillEvent
from omoitrade.model.identifiers import InstrumentId
from omoitrade.model.market_data import Bar
from omoitrade.strategy.base import Strategy, StrategyContext
from omoitrade.strategy.document import (
    Direction,
    FixedQuantity,
    PercentOfEquity,
    Sizing,
    StrategyDocument,
)
from omoitrade.strategy.evaluation import PositionState, RuleEvaluator


def instrument_id_of(symbol: str) -> InstrumentId:
    """The id of a document instrument written ``EXCHANGE:SYMBOL``."""
    exchange, sep, name = symbol.partition(":")
    if not sep or not exchange or not name:
        raise ValidationError("instruments", "must be written EXCHANGE:SYMBOL", symbol)
    return InstrumentId.of(exchange, name)


def entry_quantity(sizing: Sizing, equity: Decimal, close: Decimal, lot_size: Decimal) -> Decimal:
    """The entry size for ``sizing``, floored to whole lots (zero when under one lot)."""
    if isinstance(sizing, FixedQuantity):
        raw = sizing.quantity
    elif isinstance(sizing, PercentOfEquity):
        if close <= 0:
            raise ValidationError("close", "must be positive to size by equity", close)
        raw = equity * sizing.percent / 100 / close
    else:
        raise ValidationError(
            "risk_parameters.sizing",
            f"{type(sizing).__name__} sizing is not supported by RuleStrategy "
            "(use fixed_quantity or percent_of_equity)",
        )
    if lot_size <= 0:
        raise ValidationError("lot_size", "must be positive", lot_size)
    lots = (raw / lot_size).to_integral_value(rounding=ROUND_FLOOR)
    return max(lots, Decimal(0)) * lot_size


class _Track:
    """Per-instrument evaluator and trade bookkeeping for the rules' position state."""

    def __init__(self, document: StrategyDocument) -> None:
        self.evaluator = RuleEvaluator(document)
        self.bars_in_trade = 0
        self.entry_price: Decimal | None = None


class RuleStrategy(Strategy):
    """Enters with a market order when flat and the entry rules hold; closes on exit rules."""

    def __init__(
        self, context: StrategyContext, document: StrategyDocument, *, name: str | None = None
    ) -> None:
        super().__init__(context, name=name or document.name)
        sizing = document.risk.sizing
        if not isinstance(sizing, FixedQuantity | PercentOfEquity):
            entry_quantity(sizing, Decimal(0), Decimal(1), Decimal(1))  # raises the reason
        if document.risk.direction is Direction.BOTH:
            raise ValidationError(
                "risk_parameters.direction",
                "'both' is not supported by RuleStrategy (one entry rule gives one side); "
                "use long_only or short_only",
            )
        self.document = document
        self.entry_side = (
            OrderSide.BUY if document.risk.direction is Direction.LONG_ONLY else OrderSide.SELL
        )
        self._tracks = {instrument_id_of(s): _Track(document) for s in document.instruments}

    def on_bar(self, bar: Bar) -> None:
        """Ask the rules about this bar and act on the decision."""
        track = self._tracks.get(bar.instrument_id)
        if track is None:
            return
        held = self.position(bar.instrument_id)
        if held == 0:
            track.bars_in_trade, track.entry_price = 0, None
            state = PositionState()
        else:
            track.bars_in_trade += 1
            entry = track.entry_price or bar.close
            pnl = (bar.close - entry) / entry * 100 * (1 if held > 0 else -1)
            state = PositionState("long" if held > 0 else "short", track.bars_in_trade, pnl)
        decision = track.evaluator.on_bar(
            bar.open, bar.high, bar.low, bar.close, bar.volume, state, bar.timestamp
        )
        if held == 0 and decision.enter:
            lot = self._context.lot_size(bar.instrument_id)
            quantity = entry_quantity(self.document.risk.sizing, self.equity(), bar.close, lot)
            if quantity > 0:
                self.submit_market(
                    bar.instrument_id, self.entry_side, quantity, client_tag=self.name
                )
                track.entry_price = bar.close
        elif held != 0 and (decision.exit or self._held_too_long(track)):
            self.close_position(bar.instrument_id)

    def _held_too_long(self, track: _Track) -> bool:
        limit = self.document.risk.max_bars_in_trade
        return limit is not None and track.bars_in_trade >= limit

    def on_fill(self, fill: OrderFillEvent) -> None:
        """Use the fill's average price as the entry for unrealized P&L."""
        track = self._tracks.get(fill.instrument_id)
        if track is not None and fill.side is self.entry_side:
            track.entry_price = fill.average_fill_price
