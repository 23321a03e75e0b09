"""Several strategies in one run: a rule strategy and a Python strategy (loaded from its
file as the CLI loads it) trade side by side, each its own orders, in one portfolio."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path

from omoitrade.backtest.inputs import load_strategy
from omoitrade.backtest.runner import BacktestConfig, BacktestRunner, RawRun, StrategySpec
from omoitrade.model import Instrument
from omoitrade.model.enums import OrderSide
from omoitrade.model.identifiers import InstrumentId, StrategyId
from omoitrade.model.market_data import Bar
from omoitrade.model.orders import Order
from omoitrade.model.trades import Trade
from omoitrade.strategy.document import validate_document
from omoitrade.testing import factories as f

EXAMPLES = Path(__file__).parents[3] / "examples" / "strategies"
T0 = datetime(2024, 1, 1, tzinfo=UTC)
STOCK = f.make_instrument(symbol="XYZ", lot_size=D("1"), min_quantity=D("1"))
OTHER = f.make_instrument(symbol="ABC", lot_size=D("1"), min_quantity=D("1"))
CLOSES = [100 + ((i * 7) % 13) - 6 for i in range(60)]
RULE_ID = StrategyId.parse("018f0000-0000-7000-8000-00000000a001")
PYTHON_ID = StrategyId.parse("018f0000-0000-7000-8000-00000000b002")
CONFIG = BacktestConfig(initial_cash=D(100_000), commission=D("0.001"))


def bars(instrument: Instrument, shift: int = 0) -> list[Bar]:
    """Daily bars around a zigzag: open c, high c + 2, low c - 2, close c + 1."""
    zigzag = [(c + shift, c + shift + 2, c + shift - 2, c + shift + 1) for c in CLOSES]
    return f.make_daily_bars(instrument, zigzag, T0)


def rule_spec() -> StrategySpec:
    """The SMA crossover (2 over 4) on XYZ only, 10 shares a trade."""
    document = json.loads((EXAMPLES / "sma_cross.json").read_text())
    document.update(instruments=["SIM:XYZ"], parameters={"fast": 2, "slow": 4})
    document["risk_parameters"]["sizing"] = {"fixed_quantity": "10"}
    return StrategySpec("sma", document=validate_document(document), strategy_id=RULE_ID)


def python_spec() -> StrategySpec:
    """The momentum breakout of the examples, 5 a trade, on every instrument it sees."""
    source = load_strategy(EXAMPLES / "momentum_breakout.py")
    parameters = {"entry_period": 1, "exit_period": 1, "quantity": 5}
    return source.spec(parameters, strategy_id=PYTHON_ID)


def python_owns(order: Order) -> bool:
    """What the router gives the Python strategy: orders with its client id prefix (the
    rule strategy's orders are its signals')."""
    return order.signal_id is None and str(order.client_order_id).startswith(
        f"MomentumBrea-{PYTHON_ID.hex[:8]}-"
    )


def fills_of(run: RawRun, owned: list[Order]) -> list[tuple[datetime, str, str, D, D]]:
    ids = {o.id for o in owned}
    return [
        (x.executed_at, str(x.instrument_id), x.side.value, x.quantity, x.execution_price)
        for x in run.fills
        if x.order_id in ids
    ]


def held(fills: list[Trade]) -> dict[InstrumentId, D]:
    position: dict[InstrumentId, D] = {}
    for x in fills:
        sign = 1 if x.side is OrderSide.BUY else -1
        position[x.instrument_id] = position.get(x.instrument_id, D(0)) + sign * x.quantity
    return position


def test_a_rule_and_a_python_strategy_each_trade_their_own_orders_in_one_run() -> None:
    data = bars(STOCK) + bars(OTHER, 50)
    alone_rule = BacktestRunner([rule_spec()], [STOCK, OTHER], data, CONFIG).run()
    alone_python = BacktestRunner([python_spec()], [STOCK, OTHER], data, CONFIG).run()
    both = BacktestRunner([rule_spec(), python_spec()], [STOCK, OTHER], data, CONFIG).run()
    assert both.paused == []
    python_orders = [o for o in both.orders if python_owns(o)]
    rule_orders = [o for o in both.orders if o.signal_id is not None]
    assert len(python_orders) + len(rule_orders) == len(both.orders)  # each has one owner
    assert {o.instrument_id for o in rule_orders} == {STOCK.id}  # its document's only
    assert {o.instrument_id for o in python_orders} == {STOCK.id, OTHER.id}
    assert {o.quantity for o in rule_orders} == {D(10)}
    assert {o.quantity for o in python_orders} == {D(5)}
    # each trades as it does alone: its decisions follow its own position, not the other's
    assert fills_of(both, rule_orders) == fills_of(alone_rule, alone_rule.orders)
    assert fills_of(both, python_orders) == fills_of(alone_python, alone_python.orders)
    assert len(fills_of(both, rule_orders)) >= 4 and len(fills_of(both, python_orders)) >= 8
    assert len(both.fills) == len(alone_rule.fills) + len(alone_python.fills)


def test_the_equity_of_two_strategies_is_the_cash_plus_the_positions_at_every_close() -> None:
    run = BacktestRunner(
        [rule_spec(), python_spec()], [STOCK, OTHER], bars(STOCK) + bars(OTHER, 50), CONFIG
    ).run()
    closes = {
        instrument.id: {b.timestamp: b.close for b in run.bars[instrument.symbol]}
        for instrument in (STOCK, OTHER)
    }
    cash = CONFIG.initial_cash
    fills = list(run.fills)
    done: list[Trade] = []
    holding = 0  # samples with positions open in both instruments
    for k, at in enumerate(run.equity.timestamps):
        end = at + timedelta(days=1)
        while fills and fills[0].executed_at < end:
            x = fills.pop(0)
            sign = 1 if x.side is OrderSide.BUY else -1
            cash -= sign * x.execution_price * x.quantity + x.commission
            done.append(x)
        positions = sum(q * closes[i][at] for i, q in held(done).items())
        holding += all(held(done).get(i.id) for i in (STOCK, OTHER))
        assert run.equity.cash[k] == cash, at
        assert run.equity.equity[k] == cash + positions, at
    assert fills == [] and len(done) > 12 and holding > 5
