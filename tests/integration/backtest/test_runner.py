"""The backtest runner: the trading kernel on a simulated clock over bars."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path

import pytest

from omoitrade.backtest.runner import BacktestConfig, BacktestRunner, StrategySpec
from omoitrade.core.errors import ValidationError
from omoitrade.model.enums import OrderSide, Timeframe
from omoitrade.model.identifiers import VenueTradeId
from omoitrade.model.market_data import Bar, TradeTick
from omoitrade.strategy.document import validate_document
from omoitrade.testing import factories as f
from omoitrade.venues.sim.bar_fills import FillModel
from omoitrade.venues.sim.latency import LatencyModel
from omoitrade.venues.sim.slippage import BpsSlippage, FixedTickSlippage

EXAMPLES = Path(__file__).parents[3] / "examples" / "strategies"
T0 = datetime(2024, 1, 1, tzinfo=UTC)
STOCK = f.make_instrument(symbol="XYZ", lot_size=D("1"), min_quantity=D("1"))


def bars(rows: list[tuple[str, str, str, str]]) -> list[Bar]:
    """Daily bars from (open, high, low, close)."""
    return f.make_daily_bars(STOCK, rows, T0)


def above(level: int, **risk: object) -> StrategySpec:
    """Buy 10 when the close is above ``level``, flat when it falls under it."""
    document = {
        "name": "above",
        "version": 1,
        "instruments": ["SIM:XYZ"],
        "timeframe": "1d",
        "entry_rules": {"all": [{"position": "flat"}, {">": ["close", level]}]},
        "exit_rules": {"any": [{"<": ["close", level]}]},
        "risk_parameters": {"direction": "long_only", "sizing": {"fixed_quantity": "10"}, **risk},
    }
    return StrategySpec("above", document=validate_document(document))


def fills(run: object) -> list[tuple[str, str, D]]:
    return [(x.executed_at.date().isoformat(), x.side.value, x.execution_price) for x in run.fills]  # type: ignore[attr-defined]


FLAT_THEN_UP = [
    ("100", "101", "99", "100"),
    ("100", "106", "99", "105"),  # closes above 102: enter
    ("107", "109", "106", "108"),
    ("108", "108", "100", "101"),  # closes under 102: exit
    ("99", "100", "98", "99"),
]


def test_next_open_fills_at_the_open_after_the_signal_bar() -> None:
    run = BacktestRunner([above(102)], [STOCK], bars(FLAT_THEN_UP)).run()
    assert fills(run) == [("2024-01-03", "BUY", D("107")), ("2024-01-05", "SELL", D("99"))]
    assert run.equity.equity[-1] == D("100000") + 10 * (D("99") - D("107"))


def test_close_fills_at_the_close_of_the_signal_bar() -> None:
    config = BacktestConfig(fill_model=FillModel.CLOSE)
    run = BacktestRunner([above(102)], [STOCK], bars(FLAT_THEN_UP), config).run()
    assert fills(run) == [("2024-01-02", "BUY", D("105")), ("2024-01-04", "SELL", D("101"))]


def test_ohlc_fills_stop_and_target_inside_a_bar_the_adverse_leg_first() -> None:
    spec = above(102, stop_loss={"percent": "5"}, take_profit={"percent": "5"})
    rows = [
        ("100", "101", "99", "100"),
        ("100", "106", "99", "105"),  # enter at the next open (110): stop 99.75, target 110.25
        ("110", "110", "108", "109"),  # the pair goes out after the entry fills
        ("109", "112", "99", "104"),  # both inside this bar: the stop (adverse) fills first
        ("104", "105", "103", "104"),
    ]
    config = BacktestConfig(fill_model=FillModel.OHLC)
    run = BacktestRunner([spec], [STOCK], bars(rows), config).run()
    assert fills(run)[:2] == [("2024-01-03", "BUY", D("110")), ("2024-01-04", "SELL", D("99.75"))]
    assert fills(run)[2] == ("2024-01-05", "BUY", D("104"))  # closed above 102 again: back in


def test_ohlc_works_the_bracket_in_the_rest_of_its_entry_bar() -> None:
    spec = above(102, stop_loss={"percent": "5"}, take_profit={"percent": "5"})
    rows = [
        ("100", "101", "99", "100"),
        ("100", "106", "99", "105"),  # enter at the next open (110): stop 99.75, target 110.25
        ("110", "112", "99", "101"),  # after the open the bar reaches both: the stop first
        ("101", "101", "100", "100"),
    ]
    config = BacktestConfig(fill_model=FillModel.OHLC)
    run = BacktestRunner([spec], [STOCK], bars(rows), config).run()
    assert fills(run) == [("2024-01-03", "BUY", D("110")), ("2024-01-03", "SELL", D("99.75"))]


def test_next_open_waits_for_the_next_bar_to_work_the_bracket() -> None:
    spec = above(102, stop_loss={"percent": "5"}, take_profit={"percent": "5"})
    rows = [
        ("100", "101", "99", "100"),
        ("100", "106", "99", "105"),
        ("110", "112", "99", "101"),  # next-open: only opens trade; the pair waits
        ("98", "101", "97", "100"),  # opens under the stop: it fills at this open
    ]
    run = BacktestRunner([spec], [STOCK], bars(rows)).run()
    assert fills(run) == [("2024-01-03", "BUY", D("110")), ("2024-01-04", "SELL", D("98"))]


def test_ohlc_a_bar_opening_beyond_the_stop_fills_at_the_open() -> None:
    spec = above(102, stop_loss={"percent": "5"})
    rows = [
        ("100", "101", "99", "100"),
        ("100", "106", "99", "105"),
        ("110", "110", "108", "109"),
        ("95", "96", "94", "95"),  # gaps under the 99.75 stop: it fills at the open
    ]
    config = BacktestConfig(fill_model=FillModel.OHLC)
    run = BacktestRunner([spec], [STOCK], bars(rows), config).run()
    assert fills(run)[-1] == ("2024-01-04", "SELL", D("95"))


def test_commission_is_charged_on_both_sides_exactly() -> None:
    config = BacktestConfig(commission=D("0.001"))
    run = BacktestRunner([above(102)], [STOCK], bars(FLAT_THEN_UP), config).run()
    assert [x.commission for x in run.fills] == [D("1.070"), D("0.990")]
    assert run.equity.equity[-1] == D("100000") - 80 - D("1.070") - D("0.990")


def test_slippage_moves_market_fills_against_us_exactly_and_fees_follow() -> None:
    config = BacktestConfig(slippage=FixedTickSlippage(ticks=3), commission=D("0.001"))
    run = BacktestRunner([above(102)], [STOCK], bars(FLAT_THEN_UP), config).run()
    # the buy pays 3 ticks over the open, the sell gets 3 ticks under it
    assert fills(run) == [("2024-01-03", "BUY", D("107.03")), ("2024-01-05", "SELL", D("98.97"))]
    assert [x.commission for x in run.fills] == [D("1.07030"), D("0.98970")]
    bps = BacktestConfig(slippage=BpsSlippage(bps=D("10")))
    worse = BacktestRunner([above(102)], [STOCK], bars(FLAT_THEN_UP), bps).run()
    assert fills(worse)[0][2] == D("107.11")  # 10 bps of 107 is 0.107: on the tick grid, against us


def test_latency_makes_an_order_sent_at_the_open_miss_it() -> None:
    slow = BacktestConfig(latency=LatencyModel(order_ack_ns=60_000_000_000))  # a minute
    run = BacktestRunner([above(102)], [STOCK], bars(FLAT_THEN_UP), slow).run()
    # the entry sent at the open of 01-03 arrives a minute later: it fills at the next open
    assert fills(run)[0] == ("2024-01-04", "BUY", D("108"))


def test_the_same_inputs_give_the_same_run() -> None:
    document = json.loads((EXAMPLES / "sma_cross.json").read_text())
    document["instruments"] = ["SIM:XYZ"]
    document["parameters"] = {"fast": 2, "slow": 4}
    spec = StrategySpec("sma", document=validate_document(document))
    closes = [100 + ((i * 7) % 13) - 6 for i in range(60)]
    rows = [(str(c), str(c + 2), str(c - 2), str(c + 1)) for c in closes]
    one = BacktestRunner([spec], [STOCK], bars(rows)).run()
    two = BacktestRunner([spec], [STOCK], bars(rows)).run()
    assert len(one.fills) > 4
    assert fills(one) == fills(two)
    assert one.equity == two.equity
    assert [o.id for o in one.orders] == [o.id for o in two.orders]
    assert {x.side for x in one.fills} == {OrderSide.BUY, OrderSide.SELL}


def test_bad_inputs_are_refused_with_a_reason() -> None:
    with pytest.raises(ValidationError, match="at least one strategy"):
        BacktestRunner([], [STOCK], bars(FLAT_THEN_UP))
    with pytest.raises(ValidationError, match="no bars"):
        BacktestRunner([above(102)], [STOCK], [])
    with pytest.raises(ValidationError, match="initial_cash"):
        BacktestConfig(initial_cash=D(0))


def tick(second: int, price: str, size: str = "1") -> TradeTick:
    return TradeTick(
        STOCK.id, T0 + timedelta(seconds=second), D(price), D(size), VenueTradeId(f"t{second}")
    )


def test_ticks_fill_at_the_next_trade_and_strategies_get_bars_built_from_them() -> None:
    spec = above(102)
    document = spec.document
    assert document is not None
    minute = StrategySpec("above", document=replace(document, timeframe=Timeframe.M1))
    trades = [
        tick(10, "100"), tick(50, "101"),  # bar 00:00 closes at 101
        tick(70, "103"), tick(100, "104"),  # bar 00:01 closes at 104: enter at the next trade
        tick(125, "105"), tick(150, "101"),  # bar 00:02 closes at 101: leave at the next
        tick(185, "99"), tick(220, "98"),
    ]  # fmt: skip
    run = BacktestRunner([minute], [STOCK], ticks=reversed(trades)).run()
    assert [(x.executed_at.second, x.side.value, x.execution_price) for x in run.fills] == [
        (5, "BUY", D("105")),
        (5, "SELL", D("99")),
    ]
    assert [b.close for b in run.bars["XYZ"]] == [D("101"), D("104"), D("101"), D("98")]
    assert run.equity.equity[-1] == D("100000") + 10 * (D("99") - D("105"))
    with pytest.raises(ValidationError, match="bars or ticks, not both"):
        BacktestRunner([minute], [STOCK], bars(FLAT_THEN_UP), ticks=trades)
