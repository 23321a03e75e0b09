"""Slippage models: always against the order, on the tick grid, never below one tick."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from omoitrade.core.errors import ValidationError
from omoitrade.model import OrderSide
from omoitrade.testing.factories import make_instrument
from omoitrade.venues.sim.slippage import (
    BpsSlippage,
    FixedTickSlippage,
    NoSlippage,
    VolumeShareSlippage,
)

BTC = make_instrument()  # tick 0.01
BUY, SELL = OrderSide.BUY, OrderSide.SELL


@pytest.mark.parametrize(
    ("model", "side", "reference", "quantity", "volume", "expected"),
    [
        (NoSlippage(), BUY, "42000.00", "1", "100", "42000.00"),
        (FixedTickSlippage(3), BUY, "42000.00", "1", "100", "42000.03"),
        (FixedTickSlippage(3), SELL, "42000.00", "1", "100", "41999.97"),
        (BpsSlippage(D("10")), BUY, "42000.00", "1", "100", "42042.00"),
        (BpsSlippage(D("1")), SELL, "100.01", "1", "100", "99.99"),  # 0.010001 rounds against
        (VolumeShareSlippage(D("0.1")), SELL, "42000.00", "10", "100", "41580.00"),
        (VolumeShareSlippage(D("0.1")), BUY, "100.00", "500", "100", "110.00"),  # capped share
        (VolumeShareSlippage(D("0.1")), BUY, "100.00", "1", "0", "110.00"),  # no volume
        (FixedTickSlippage(3), SELL, "0.02", "1", "1", "0.01"),  # never below one tick
    ],
)
def test_slippage_moves_the_price_against_the_order(
    model: object, side: OrderSide, reference: str, quantity: str, volume: str, expected: str
) -> None:
    price = model.fill_price(BTC, side, D(reference), D(quantity), D(volume))  # type: ignore[attr-defined]
    assert price == D(expected)
    assert price % BTC.tick_size == 0


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: FixedTickSlippage(-1), "ticks"),
        (lambda: BpsSlippage(D("-1")), "bps"),
        (lambda: VolumeShareSlippage(D("-0.1")), "impact"),
    ],
)
def test_negative_slippage_is_refused(build, field: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError, match=f"{field}: must not be negative"):
        build()
