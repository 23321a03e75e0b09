"""Our SMA crossover agrees with backtesting.py's on the GOOG daily data it ships.

Assumptions lined up (docs/backtesting.md): enter and exit at the next bar's open;
commission 0.2% of each fill's value, on both sides; all-in sizing in whole shares that
leaves the entry's commission free (backtesting.py's default ``buy()``); long only (our
``sma_cross.json``: in on SMA 10 crossing above SMA 20, out on crossing back below); the
last trade is left open and marked at the last close.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

backtesting = pytest.importorskip("backtesting")
from backtesting import Backtest, Strategy  # noqa: E402
from backtesting.lib import crossover  # noqa: E402
from backtesting.test import GOOG, SMA  # noqa: E402

from omoitrade.backtest.runner import BacktestConfig, BacktestRunner, StrategySpec  # noqa: E402
from omoitrade.core.ids import IdGenerator  # noqa: E402
from omoitrade.data.csv_import import read_csv_bars  # noqa: E402
from omoitrade.model import Instrument  # noqa: E402
from omoitrade.model.enums import InstrumentType, OrderSide, Timeframe  # noqa: E402
from omoitrade.model.identifiers import InstrumentId  # noqa: E402
from omoitrade.strategy.document import validate_document  # noqa: E402

EXAMPLES = Path(__file__).parents[2] / "examples" / "strategies"
GOOG_CSV = Path(backtesting.__file__).parent / "test" / "GOOG.csv"
STOCK = Instrument(
    id=InstrumentId.of("SIM", "GOOG"),
    symbol="GOOG",
    exchange="SIM",
    instrument_type=InstrumentType.EQUITY,
    base_currency="GOOG",
    quote_currency="USD",
    tick_size=Decimal("0.01"),
    lot_size=Decimal("1"),
    min_quantity=Decimal("1"),
)


class LongSmaCross(Strategy):  # type: ignore[misc]
    """backtesting.py's SmaCross example, long only like ours."""

    def init(self) -> None:
        self.fast = self.I(SMA, self.data.Close, 10)
        self.slow = self.I(SMA, self.data.Close, 20)

    def next(self) -> None:
        if crossover(self.fast, self.slow):
            self.buy()
        elif crossover(self.slow, self.fast):
            self.position.close()


def test_the_same_trades_and_the_same_final_equity_as_backtesting_py() -> None:
    theirs = Backtest(GOOG, LongSmaCross, cash=10_000, commission=0.002).run()
    bars = read_csv_bars(GOOG_CSV, STOCK.id, Timeframe.D1, ids=IdGenerator(seed=1)).bars()
    document = json.loads((EXAMPLES / "sma_cross.json").read_text())
    document["instruments"] = ["SIM:GOOG"]
    ours = BacktestRunner(
        [StrategySpec("sma_cross", document=validate_document(document))],
        [STOCK],
        bars,
        BacktestConfig(initial_cash=Decimal(10_000), commission=Decimal("0.002")),
    ).run()

    their_fills = []
    for _, trade in theirs["_trades"].iterrows():
        their_fills.append((trade.EntryTime.date(), "BUY", int(trade.Size), trade.EntryPrice))
        their_fills.append((trade.ExitTime.date(), "SELL", int(trade.Size), trade.ExitPrice))
    our_fills = [
        (f.executed_at.date(), f.side.value, int(f.quantity), float(f.execution_price))
        for f in ours.fills
    ]
    assert len(their_fills) == 92  # 46 closed trades; the 47th is still open at the end
    assert our_fills[:92] == their_fills
    assert len(our_fills) == 93 and our_fills[92][1] == OrderSide.BUY.value  # still open
    final = float(ours.equity.equity[-1])  # the open trade marked at the last close
    assert final == pytest.approx(theirs["Equity Final [$]"], rel=1e-4)  # within 0.01%
