"""A recording ``StrategyContext`` for testing strategies without a runtime."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from omoitrade.core.clock import Clock, SimulatedClock
from omoitrade.model.enums import OrderSide, OrderType, SignalType
from omoitrade.model.identifiers import ClientOrderId, InstrumentId, SignalId
from omoitrade.strategy.base import BracketIntent, OrderIntent, SignalTerms


@dataclass(frozen=True, slots=True)
class EmittedSignal:
    instrument_id: InstrumentId
    signal_type: SignalType
    strength: float
    levels: dict[str, Decimal | None]


@dataclass
class FakeStrategyContext:
    """Records every request; market orders fill at once when ``fill_market_orders``."""

    equity_value: Decimal = Decimal(100_000)
    cash_value: Decimal = Decimal(100_000)
    lot: Decimal = Decimal(1)
    fill_market_orders: bool = True
    sim_clock: SimulatedClock = field(default_factory=SimulatedClock)
    positions: dict[InstrumentId, Decimal] = field(default_factory=dict)
    signals: list[EmittedSignal] = field(default_factory=list)
    orders: list[OrderIntent] = field(default_factory=list)
    brackets: list[BracketIntent] = field(default_factory=list)
    cancelled: list[ClientOrderId] = field(default_factory=list)
    closed: list[InstrumentId] = field(default_factory=list)
    entries: list[tuple[InstrumentId, OrderSide, Decimal]] = field(default_factory=list)
    mark: Decimal | None = None  # the price entry signals fill at
    _next: int = 0

    @property
    def clock(self) -> Clock:
        return self.sim_clock

    def emit_signal(
        self,
        instrument_id: InstrumentId,
        signal_type: SignalType,
        strength: float = 1.0,
        **levels: Any,
    ) -> SignalId:
        """Record the signal; with ``fill_market_orders``, trade it at once: an entry at
        ``mark`` (or its entry price) sized by its terms, a CLOSE flattens."""
        self.signals.append(EmittedSignal(instrument_id, signal_type, strength, levels))
        if self.fill_market_orders:
            if signal_type is SignalType.CLOSE:
                self.close_position(instrument_id)
            elif signal_type in (SignalType.BUY, SignalType.SELL):
                self._fill_entry(instrument_id, signal_type, levels)
        return SignalId.new()

    def _fill_entry(
        self, instrument_id: InstrumentId, signal_type: SignalType, levels: dict[str, Any]
    ) -> None:
        terms: SignalTerms | None = levels.get("terms")
        price = levels.get("entry_price") or self.mark
        if terms is None or price is None:
            return
        raw = terms.quantity if terms.quantity is not None else terms.sizer(price)  # type: ignore[misc]
        quantity = (raw / self.lot).to_integral_value(rounding=ROUND_FLOOR) * self.lot
        if quantity <= 0:
            return
        side = OrderSide.BUY if signal_type is SignalType.BUY else OrderSide.SELL
        self.entries.append((instrument_id, side, quantity))
        held = self.positions.get(instrument_id, Decimal(0))
        self.positions[instrument_id] = held + (quantity if side is OrderSide.BUY else -quantity)

    def submit(self, intent: OrderIntent) -> ClientOrderId:
        self.orders.append(intent)
        if self.fill_market_orders and intent.order_type is OrderType.MARKET:
            sign = 1 if intent.side is OrderSide.BUY else -1
            held = self.positions.get(intent.instrument_id, Decimal(0))
            self.positions[intent.instrument_id] = held + sign * intent.quantity
        return self._client_id()

    def bracket(self, intent: BracketIntent) -> ClientOrderId:
        self.brackets.append(intent)
        return self._client_id()

    def cancel(self, client_order_id: ClientOrderId) -> None:
        self.cancelled.append(client_order_id)

    def close_position(self, instrument_id: InstrumentId) -> None:
        self.closed.append(instrument_id)
        self.positions[instrument_id] = Decimal(0)

    def position(self, instrument_id: InstrumentId) -> Decimal:
        return self.positions.get(instrument_id, Decimal(0))

    def equity(self) -> Decimal:
        return self.equity_value

    def cash(self) -> Decimal:
        return self.cash_value

    def lot_size(self, instrument_id: InstrumentId) -> Decimal:
        return self.lot

    def _client_id(self) -> ClientOrderId:
        self._next += 1
        return ClientOrderId(f"fake-{self._next}")
