"""Entity constructors normalize their fields: enums from text, Decimals never from floats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from omoitrade.core.errors import ValidationError
from omoitrade.model import OrderSide, OrderStatus, PositionSide, Quote, Timeframe
from omoitrade.testing import factories as f


def test_enum_fields_given_as_text_become_members() -> None:
    order = f.make_order(
        f.make_portfolio(f.make_organization()).id, f.make_instrument(), side="SELL"
    )
    assert order.side is OrderSide.SELL
    assert order.status is OrderStatus.PENDING
    position = f.make_position(order.portfolio_id, f.make_instrument(), side="SHORT")
    assert position.side is PositionSide.SHORT
    assert position.signed_quantity == Decimal("-0.5")
    assert f.make_bar(f.make_instrument(), timeframe="5m").timeframe is Timeframe.M5


def test_unknown_enum_text_names_the_field_and_the_allowed_values() -> None:
    with pytest.raises(ValidationError) as caught:
        f.make_order(f.make_portfolio(f.make_organization()).id, f.make_instrument(), side="HOLD")
    assert (caught.value.field, caught.value.rule) == ("side", "must be one of BUY, SELL")


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: f.make_bar(f.make_instrument(), close=42000.5), "close"),
        (
            lambda: f.make_signal(
                f.make_strategy(f.PortfolioId.new()).id, f.make_instrument(), entry_price=1.5
            ),
            "entry_price",
        ),
        (lambda: f.make_order(f.PortfolioId.new(), f.make_instrument(), quantity=0.5), "quantity"),
        (lambda: f.make_portfolio(f.make_organization(), cash=0.1), "cash"),
    ],
)
def test_float_money_is_refused_at_construction(build, field: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError) as caught:
        build()
    assert caught.value.field == field
    assert caught.value.rule == "must be a Decimal, int or numeric string, not float"


def test_numeric_text_and_ints_become_decimals() -> None:
    bar = f.make_bar(f.make_instrument(), volume="12.5", open=42000, high="42100.50")
    assert (bar.volume, bar.open) == (Decimal("12.5"), Decimal("42000"))
    assert isinstance(bar.open, Decimal)


def test_only_fixed_zero_offset_zones_count_as_utc() -> None:
    london_winter = datetime(2024, 1, 2, 9, 30, tzinfo=ZoneInfo("Europe/London"))
    assert london_winter.utcoffset() == timedelta(0)
    with pytest.raises(ValidationError, match="created_at: must be timezone-aware UTC"):
        f.make_organization(created_at=london_winter)
    assert f.make_organization(created_at=datetime(2024, 1, 2, tzinfo=UTC)).created_at


def test_quote_prices_must_be_positive() -> None:
    with pytest.raises(ValidationError, match="bid_price: must be greater than 0"):
        Quote(
            instrument_id=f.make_instrument().id,
            timestamp=datetime(2024, 1, 2, tzinfo=UTC),
            bid_price=Decimal("0"),
            ask_price=Decimal("1.00"),
            bid_size=Decimal("1"),
            ask_size=Decimal("1"),
        )


@pytest.mark.parametrize(("field", "value"), [("price", Decimal("0")), ("price", Decimal("-5"))])
def test_amend_refuses_non_positive_prices(field: str, value: Decimal) -> None:
    order = f.make_order(f.PortfolioId.new(), f.make_instrument())
    order.submit(f.T0)
    with pytest.raises(ValidationError, match=f"{field}: must be greater than 0"):
        order.amend(f.T0, **{field: value})
    assert order.price == Decimal("42000.00")
