"""A ``Strategy`` that trades a validated strategy document's rules."""

from __future__ import annotations

from decimal import Decimal

from omoitrade.core.errors import ValidationError
from omoitrade.model.enums import OrderSide, SignalType
from omoitrade.model.events import OrderFillEvent
from omoitrade.model.identifiers import InstrumentId
from omoitrade.model.market_data import Bar
from omoitrade.strategy.base import SignalTerms, Strategy, StrategyContext
from omoitrade.strategy.document import (
    CappedKelly,
    Direction,
    Level,
    RiskPerTrade,
    StrategyDocument,
)
from omoitrade.strategy.evaluation import FLAT, PositionState, RuleEvaluator
from omoitrade.strategy.indicators.registry import INDICATORS
from omoitrade.strategy.sizing import (
    atr_periods,
    kelly_fraction,
    level_price,
    sizer_for,
    trailing_fraction,
)

_ZERO = Decimal(0)


def instrument_id_of(symbol: str) -> InstrumentId:
    """The id of a document instrument written ``EXCHANGE:SYMBOL``."""
    exchange, sep, name = symbol.partition(":")
    if not sep or not exchange or not name:
        raise ValidationError("instruments", "must be written EXCHANGE:SYMBOL", symbol)
    return InstrumentId.of(exchange, name)


class _Track:
    """Per-instrument evaluator, ATRs and trade bookkeeping for the rules' position state."""

    def __init__(
        self, document: StrategyDocument, atr_periods: set[int], side: OrderSide | None
    ) -> None:
        self.evaluator = RuleEvaluator(document)
        self.atrs = {period: INDICATORS["atr"].create(period=period) for period in atr_periods}
        self.bars_in_trade = 0
        self.entry_price: Decimal | None = None
        self.side = side  # of the latest entry: its fills give the entry price
        self.reversal: OrderSide | None = None  # the side to enter on the bar after a close

    def update_atrs(self, bar: Bar) -> None:
        for atr in self.atrs.values():
            atr.update_bar(
                float(bar.open),
                float(bar.high),
                float(bar.low),
                float(bar.close),
                float(bar.volume),
            )

    def atr(self, period: int) -> Decimal | None:
        indicator = self.atrs.get(period)
        value = None if indicator is None else indicator.value
        return None if value is None or value != value else Decimal(repr(value))


# (enter, exit) -> the side ``both`` is to hold; both rules or neither: no change
_WANTED = {(True, False): OrderSide.BUY, (False, True): OrderSide.SELL}
_SIGNAL_OF = {OrderSide.BUY: SignalType.BUY, OrderSide.SELL: SignalType.SELL}


class RuleStrategy(Strategy):
    """Emits an entry signal (with its stop, target and sizing) when flat and the entry
    rules hold, and a CLOSE signal on the exit rules or after ``max_bars_in_trade``; the
    signal pipeline trades them. With ``direction: both`` it stops and reverses: long
    on the entry rules, short on the exit rules (a CLOSE, then the entry on the next bar)."""

    def __init__(
        self, context: StrategyContext, document: StrategyDocument, *, name: str | None = None
    ) -> None:
        super().__init__(context, name=name or document.name)
        risk = document.risk
        if isinstance(risk.sizing, CappedKelly) and kelly_fraction(risk.sizing) <= 0:
            raise ValidationError(
                "risk_parameters.sizing.kelly",
                "the win rate and payoff ratio give no edge: the strategy would never trade",
            )
        self.document = document
        self.reverses = risk.direction is Direction.BOTH
        one_side = {Direction.LONG_ONLY: OrderSide.BUY, Direction.SHORT_ONLY: OrderSide.SELL}
        side = one_side.get(risk.direction)
        periods = atr_periods(risk.sizing, [risk.stop_loss, risk.take_profit, risk.trailing_stop])
        self._atr_period = risk.sizing.atr_period if isinstance(risk.sizing, RiskPerTrade) else 14
        self._tracks = {
            instrument_id_of(s): _Track(document, periods, side) for s in document.instruments
        }

    def on_bar(self, bar: Bar) -> None:
        """Ask the rules about this bar and act on the decision."""
        track = self._tracks.get(bar.instrument_id)
        if track is None:
            return
        pending, track.reversal = track.reversal, None  # a reversal waits one bar only
        if track.atrs:
            track.update_atrs(bar)
        held = self._context.position(bar.instrument_id)  # (the hot path: no detour)
        if not held:
            track.bars_in_trade, track.entry_price = 0, None
            state = FLAT
        else:
            track.bars_in_trade += 1
            pnl = _ZERO
            if track.evaluator.reads_pnl:
                entry = track.entry_price or bar.close
                pnl = (bar.close - entry) / entry * 100 * (1 if held > 0 else -1)
            state = PositionState("long" if held > 0 else "short", track.bars_in_trade, pnl)
        decision = track.evaluator.on_bar(
            bar.open, bar.high, bar.low, bar.close, bar.volume, state, bar.timestamp
        )
        if self.reverses:
            wanted = _WANTED.get((decision.enter, decision.exit))
            self._stop_and_reverse(bar, track, held, wanted, pending)
        elif not held:
            if decision.enter and track.side is not None:
                self._enter(bar, track, track.side)
        elif decision.exit or self._held_too_long(track):
            self.emit_signal(bar.instrument_id, SignalType.CLOSE)

    def _stop_and_reverse(
        self,
        bar: Bar,
        track: _Track,
        held: Decimal,
        wanted: OrderSide | None,
        pending: OrderSide | None,
    ) -> None:
        """``both``: hold the side the rules want. From the other side, a CLOSE signal now
        and the entry on the next bar, when flat (unless that bar's rules want otherwise)."""
        if not held:
            side = wanted or pending
            if side is not None:
                self._enter(bar, track, side)
        elif wanted is not None and wanted is not (OrderSide.BUY if held > 0 else OrderSide.SELL):
            self.emit_signal(bar.instrument_id, SignalType.CLOSE)
            track.reversal = wanted
        elif self._held_too_long(track):
            self.emit_signal(bar.instrument_id, SignalType.CLOSE)

    def _enter(self, bar: Bar, track: _Track, side: OrderSide) -> None:
        """The entry signal on ``side``, its stop and target on that side of the close; none
        when the sizing, stop or target needs an ATR not ready yet, or a fixed level lies
        on the wrong side (never enter without the protection the document asks for)."""
        risk, close = self.document.risk, bar.close

        def level(chosen: Level | None, target: bool) -> tuple[bool, Decimal | None]:
            if chosen is None:
                return True, None
            period = getattr(chosen, "period", self._atr_period)
            price = level_price(chosen, side, close, track.atr(period), target=target)
            above = (side is OrderSide.BUY) == target  # a long's target and a short's stop
            return price is not None and price > 0 and (price > close) == above, price

        stop_ok, stop = level(risk.stop_loss, False)
        target_ok, target = level(risk.take_profit, True)
        trailing = None
        if risk.trailing_stop is not None:
            period = getattr(risk.trailing_stop, "period", self._atr_period)
            trailing = trailing_fraction(risk.trailing_stop, close, track.atr(period))
        sizer = sizer_for(risk.sizing, self.equity, track.atr(self._atr_period))
        if (
            not (stop_ok and target_ok)
            or sizer is None
            or (risk.trailing_stop and trailing is None)
        ):
            return
        terms = SignalTerms(sizer=sizer, trailing_stop=trailing)
        self.emit_signal(
            bar.instrument_id, _SIGNAL_OF[side], stop_loss=stop, take_profit=target, terms=terms
        )
        track.side = side
        track.entry_price = close  # the reference until the entry's fill says otherwise

    def _held_too_long(self, track: _Track) -> bool:
        limit = self.document.risk.max_bars_in_trade
        return limit is not None and track.bars_in_trade >= limit

    def on_fill(self, fill: OrderFillEvent) -> None:
        """Use the entry fill's average price as the entry for unrealized P&L."""
        track = self._tracks.get(fill.instrument_id)
        if track is not None and fill.side is track.side:
            track.entry_price = fill.average_fill_price
