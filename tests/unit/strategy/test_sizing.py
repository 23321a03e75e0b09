"""Sizing, stops and targets of a strategy document as numbers, and the signals carrying them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path

import pytest

from omoitrade.core.errors import ValidationError
from omoitrade.model.enums import OrderSide, SignalType, Timeframe
from omoitrade.model.identifiers import BarId, InstrumentId
from omoitrade.model.market_data import Bar
from omoitrade.strategy.base import StrategyRunner
from omoitrade.strategy.document import (
    AtrLevel,
    CappedKelly,
    FixedQuantity,
    PercentLevel,
    PercentOfEquity,
    PriceLevel,
    RiskPerTrade,
    validate_document,
)
from omoitrade.strategy.rule_strategy import RuleStrategy
from omoitrade.strategy.sizing import kelly_fraction, level_price, sizer_for, trailing_fraction
from omoitrade.testing.strategies import FakeStrategyContext

EXAMPLES = Path(__file__).parents[3] / "examples" / "strategies"
BTC = InstrumentId.of("SIM", "BTC/USD")


def equity() -> D:
    return D("100000")


def test_each_sizing_gives_its_quantity() -> None:
    fixed = sizer_for(FixedQuantity(D("2.5")), equity, None)
    percent = sizer_for(PercentOfEquity(D("50")), equity, None)
    risk = sizer_for(RiskPerTrade(D("1"), D("2")), equity, atr=D("250"))
    kelly = sizer_for(CappedKelly(D("0.55"), D("1.2"), D("0.5"), D("20")), equity, None)
    assert fixed is not None and fixed(D("40000")) == D("2.5")
    assert percent is not None and percent(D("40000")) == D("1.25")
    assert risk is not None and risk(D("40000")) == D("2")  # 1000 at risk / 500 per unit
    assert kelly is not None and kelly(D("100")) == D("100000") * kelly_fraction(
        CappedKelly(D("0.55"), D("1.2"), D("0.5"), D("20"))
    ) / D("100")
    # W - (1 - W) / R = 0.55 - 0.45 / 1.2 = 0.175; half of it: 0.0875, under the 20% cap
    assert kelly_fraction(CappedKelly(D("0.55"), D("1.2"), D("0.5"), D("20"))) == D("0.0875")
    assert kelly_fraction(CappedKelly(D("0.9"), D("3"), D("1"), D("20"))) == D("0.2")  # capped


def test_sizings_that_cannot_size_give_nothing() -> None:
    assert sizer_for(RiskPerTrade(D("1"), D("2")), equity, atr=None) is None
    assert sizer_for(CappedKelly(D("0.3"), D("1")), equity, None) is None  # no edge
    percent = sizer_for(PercentOfEquity(D("50")), equity, None)
    assert percent is not None
    with pytest.raises(ValidationError, match="price"):
        percent(D("0"))


@pytest.mark.parametrize(
    ("level", "side", "target", "expected"),
    [
        (PercentLevel(D("3")), OrderSide.BUY, False, D("97.00")),
        (PercentLevel(D("6")), OrderSide.BUY, True, D("106.00")),
        (PercentLevel(D("3")), OrderSide.SELL, False, D("103.00")),
        (AtrLevel(D("2")), OrderSide.BUY, False, D("95.0")),
        (AtrLevel(D("4")), OrderSide.SELL, True, D("90.0")),
        (PriceLevel(D("92.5")), OrderSide.BUY, False, D("92.5")),
    ],
)
def test_levels_lie_on_the_right_side(
    level: PercentLevel | AtrLevel | PriceLevel, side: OrderSide, target: bool, expected: D
) -> None:
    assert level_price(level, side, D("100.00"), D("2.5"), target=target) == expected


def test_atr_levels_wait_for_an_atr() -> None:
    assert level_price(AtrLevel(D("2")), OrderSide.BUY, D("100"), None, target=False) is None
    assert trailing_fraction(AtrLevel(D("3")), D("100"), None) is None
    assert trailing_fraction(AtrLevel(D("3")), D("100"), D("2")) == D("0.06")
    assert trailing_fraction(PercentLevel(D("2")), D("100"), None) == D("0.02")


def test_the_bollinger_example_signals_with_atr_stop_target_and_trailing() -> None:
    document = validate_document(json.loads((EXAMPLES / "bollinger_breakout.json").read_text()))
    ctx = FakeStrategyContext(equity_value=D("100000"), lot=D("0.0001"))
    strategy = RuleStrategy(ctx, document)
    runner = StrategyRunner([strategy])
    runner.start()
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    closes = [100.0 + (i % 3) for i in range(30)] + [110.0]  # flat, then a breakout
    for i, close in enumerate(closes):
        c = D(str(close))
        ctx.mark = c
        runner.on_bar(
            Bar(
                BarId.new(),
                BTC,
                t0 + timedelta(hours=4 * i),
                Timeframe.H4,
                c,
                c + 1,
                c - 1,
                c,
                D(5),
            )
        )
    (entry,) = [s for s in ctx.signals if s.signal_type is SignalType.BUY]
    atr = strategy._tracks[BTC].atr(14)
    assert atr is not None and atr > 0
    close = D("110.0")
    assert entry.levels["stop_loss"] == close - 2 * atr
    assert entry.levels["take_profit"] == close + 4 * atr
    terms = entry.levels["terms"]
    assert terms.trailing_stop == 3 * atr / close
    assert terms.sizer(close) == D("1000") / (2 * atr)  # 1% of equity over the stop distance
