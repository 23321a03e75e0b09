"""Trades: the execution records of fills."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from decimal import Decimal

from omoitrade.model.enums import OrderSide
from omoitrade.model.fields import normalize_fields
from omoitrade.model.identifiers import InstrumentId, OrderId, TradeId, VenueTradeId
from omoitrade.model.money import MAX_EXPONENT, ZERO, require_non_negative, require_positive
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


_new = object.__new__
_Setter = Callable[[Trade, object], None]


def _setter(name: str) -> _Setter:
    """Writes the slot ``name`` of a Trade (the frozen class's __setattr__ would refuse)."""
    setter: _Setter = Trade.__dict__[name].__set__
    return setter


_set_id, _set_order_id, _set_instrument_id = (
    _setter("id"),
    _setter("order_id"),
    _setter("instrument_id"),
)
_set_side, _set_price, _set_quantity = (
    _setter("side"),
    _setter("execution_price"),
    _setter("quantity"),
)
_set_exchange_trade_id, _set_executed_at = _setter("exchange_trade_id"), _setter("executed_at")
_set_commission, _set_slippage = _setter("commission"), _setter("slippage")
assert len(fields(Trade)) == 10, "make_trade sets every field of a Trade"


def _fits(value: Decimal) -> bool:
    """A Decimal the checks pass as it is: finite, not negative, bounded (or zero)."""
    return (
        value.is_finite()
        and value >= ZERO
        and (not value or -MAX_EXPONENT <= value.adjusted() <= MAX_EXPONENT)
    )


def make_trade(
    id: TradeId,
    order_id: OrderId,
    instrument_id: InstrumentId,
    side: OrderSide,
    execution_price: Decimal,
    quantity: Decimal,
    exchange_trade_id: VenueTradeId,
    executed_at: datetime,
    commission: Decimal = ZERO,
) -> Trade:
    """``Trade(...)`` of these values, for the order path.

    When every value already has its exact type and passes the checks (a fill's usual
    case), the trade is built directly: the constructor's normalizing and checks would
    change and refuse nothing, and cost more than the rest of applying the fill.
    Otherwise the constructor normalizes or refuses them, as ever.
    """
    if not (
        type(execution_price) is Decimal
        and type(quantity) is Decimal
        and type(commission) is Decimal
        and execution_price
        and quantity
        and _fits(execution_price)
        and _fits(quantity)
        and _fits(commission)
        and type(executed_at) is datetime
        and executed_at.tzinfo is UTC
        and type(id) is TradeId
        and type(order_id) is OrderId
        and type(instrument_id) is InstrumentId
        and type(side) is OrderSide
        and type(exchange_trade_id) is VenueTradeId
    ):
        return Trade(
            id, order_id, instrument_id, side, execution_price, quantity, exchange_trade_id,
            executed_at, commission,
        )  # fmt: skip
    trade: Trade = _new(Trade)
    _set_id(trade, id)
    _set_order_id(trade, order_id)
    _set_instrument_id(trade, instrument_id)
    _set_side(trade, side)
    _set_price(trade, execution_price)
    _set_quantity(trade, quantity)
    _set_exchange_trade_id(trade, exchange_trade_id)
    _set_executed_at(trade, executed_at)
    _set_commission(trade, commission)
    _set_slippage(trade, None)
    return trade
