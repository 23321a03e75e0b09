"""Trades: the execution records of fills."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from omoitrade.model.enums import OrderSide
from omoitrade.model.fields import normalize_fields
from omoitrade.model.identifiers import InstrumentId, OrderId, TradeId, VenueTradeId
from omoitrade.model.money import ZERO, require_non_negative, require_positive
from omoitrade.model.timestamps import require_utc


@dataclass(frozen=True, slots=True)
class Trade:
    """One fill of one order at one price; ``exchange_trade_id`` makes it apply once."""

    id: TradeId
    order_id: OrderId
    instrument_id: InstrumentId
    side: OrderSide
    execution_price: Decimal
    quantity: Decimal
    exchange_trade_id: VenueTradeId
    executed_at: datetime
    commission: Decimal = ZERO
    slippage: Decimal | None = None

    def __post_init__(self) -> None:
        normalize_fields(self)
        require_positive("execution_price", self.execution_price)
        require_positive("quantity", self.quantity)
        require_non_negative("commission", self.commission)
        require_utc("executed_at", self.executed_at)

    @property
    def notional(self) -> Decimal:
        return self.execution_price * self.quantity
