"""``make_trade`` builds exactly what the checking ``Trade`` constructor builds, or refuses
what it refuses."""

from __future__ import annotations

from dataclasses import astuple, fields
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from omoitrade.core.errors import ValidationError
from omoitrade.model.enums import OrderSide
from omoitrade.model.identifiers import InstrumentId, OrderId, TradeId, VenueTradeId
from omoitrade.model.trades import Trade, make_trade

AT = datetime(2026, 1, 2, 9, 30, 0, 123456, tzinfo=UTC)


def values(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": TradeId.new(),
        "order_id": OrderId.new(),
        "instrument_id": InstrumentId.of("SIM", "BTC/USD"),
        "side": OrderSide.BUY,
        "execution_price": Decimal("42000.50"),
        "quantity": Decimal("0.0123"),
        "exchange_trade_id": VenueTradeId("SIM-1"),
        "executed_at": AT,
        "commission": Decimal("0.25"),
    }
    return {**base, **changes}


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"commission": Decimal(0)},
        {"commission": Decimal("0E-50")},  # zero with any exponent passes
        {"quantity": Decimal("1E-40"), "execution_price": Decimal("9.99E+40")},
        # not of their exact kinds: the constructor normalizes them
        {"side": "SELL", "exchange_trade_id": "SIM-2", "execution_price": 42000},
        {"id": str(TradeId.new()), "quantity": "0.5", "commission": 0},
    ],
)
def test_make_trade_equals_the_constructor(changes: dict[str, Any]) -> None:
    given = values(**changes)

    made, built = make_trade(**given), Trade(**given)

    assert made == built
    assert [type(v) for v in astuple(made)] == [type(v) for v in astuple(built)]
    assert made.slippage is None
    assert len(fields(Trade)) == 10


@pytest.mark.parametrize(
    "changes",
    [
        {"execution_price": Decimal(0)},
        {"quantity": Decimal("-1")},
        {"commission": Decimal("-0.01")},
        {"quantity": Decimal("NaN")},
        {"execution_price": Decimal("Infinity")},
        {"quantity": Decimal("1E-41")},
        {"execution_price": 1.5},
        {"executed_at": AT.replace(tzinfo=None)},
        {"executed_at": AT.astimezone(timezone(timedelta(hours=1)))},
        {"exchange_trade_id": ""},
    ],
)
def test_make_trade_refuses_what_the_constructor_refuses(changes: dict[str, Any]) -> None:
    given = values(**changes)

    with pytest.raises(ValidationError) as constructor:
        Trade(**given)
    with pytest.raises(ValidationError) as fast:
        make_trade(**given)

    assert str(fast.value) == str(constructor.value)
