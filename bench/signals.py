"""Signals per second through the phases signal and validation, risk checks included.

A real trading node (risk engine with its default checks and an order size limit,
order manager, ledger) on the simulated exchange with a two-sided book, and the signal
pipeline on top. Each signal (BUY of a small size, a fresh id, one of 20 strategies)
passes the signal phase (known instrument, not expired, no open trade, levels on the
right side) and validation (reference price, sizing, the risk engine's verdict on the
entry order it would make, the high-value, unusual-signal and limit-usage gates); its
events (created, phase changes, validated) are published on the bus. The signals are
dry runs (``ExecutionPlan(shadow=True)``), so nothing is traded and no approval is
pending: the figure is the cost of the two phases alone. Signals are built before the
clock starts (a strategy builds them). Target: 100,000 signals per second on one core;
p99 latency per signal printed too.
"""

from __future__ import annotations

import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from harness import Figure, parse_args, report
from omoitrade.core.approvals import ApprovalDesk
from omoitrade.core.bus import MessageBus
from omoitrade.core.clock import LiveClock
from omoitrade.core.ids import IdGenerator
from omoitrade.execution.journal import InMemoryOrderJournal
from omoitrade.model import Signal
from omoitrade.model.enums import LimitType, OrderSide, OrderType, SignalStatus, SignalType
from omoitrade.model.identifiers import AccountId, ClientOrderId, SignalId, StrategyId
from omoitrade.model.venue import SubmitOrder
from omoitrade.runtime.process import tune_gc
from omoitrade.runtime.signal_wiring import signal_pipeline
from omoitrade.runtime.trading_node import PortfolioSetup, TradingNode
from omoitrade.signals.pipeline import SignalPipeline
from omoitrade.signals.plan import ExecutionPlan, SettingsBook, SignalSettings
from omoitrade.testing import factories as f
from omoitrade.venues.sim.exchange import SimExchangeConfig, SimulatedExchange

DESK, MAKER = AccountId("desk"), AccountId("maker")
STRATEGIES = [StrategyId.new() for _ in range(20)]


def build() -> tuple[SignalPipeline, TradingNode, ExecutionPlan]:
    clock = LiveClock()
    btc = f.make_instrument()
    exchange = SimulatedExchange(clock, [btc], SimExchangeConfig())
    exchange.open_account(DESK, {"USD": Decimal("1e9")})
    exchange.open_account(MAKER, {"USD": Decimal("1e12"), "BTC": Decimal("1e6")})
    portfolio = f.make_portfolio(
        f.make_organization(), initial_capital=Decimal("1e9"), cash=Decimal("1e9"),
        current_equity=Decimal("1e9"), margin_available=Decimal("1e9"),
    )  # fmt: skip
    limits = [
        f.make_risk_limit(
            portfolio.id, limit_type=LimitType.MAX_ORDER_SIZE, instrument_id=btc.id,
            limit_value=Decimal("100"),
        )
    ]  # fmt: skip
    node = TradingNode(
        clock=clock,
        bus=MessageBus(),
        journal=InMemoryOrderJournal(),
        venues={"SIM": exchange},
        instruments=[btc],
        portfolios=[PortfolioSetup(portfolio, DESK, limits)],
    )
    for side, price in ((OrderSide.SELL, "42000.00"), (OrderSide.BUY, "41999.00")):
        exchange.submit(
            SubmitOrder(MAKER, ClientOrderId(f"m-{side}"), btc.id, side, OrderType.LIMIT,
                        Decimal("1000"), price=Decimal(price))
        )  # fmt: skip
    settings = SignalSettings(high_value_notional=Decimal("1e7"))
    pipeline = signal_pipeline(node, ApprovalDesk(clock, node.ids), SettingsBook(settings))
    return pipeline, node, ExecutionPlan(portfolio.id, quantity=Decimal("0.01"), shadow=True)


def signals(node: TradingNode, count: int) -> list[Signal]:
    """Built the way a strategy builds them: fresh ids, now, a minute to live."""
    ids = IdGenerator(seed=11)
    (btc,) = node.instruments.values()
    now = node.clock.utc_now()
    later = now + timedelta(minutes=1)
    return [
        Signal(
            id=SignalId.new(ids),
            strategy_id=STRATEGIES[n % len(STRATEGIES)],
            instrument_id=btc.id,
            signal_type=SignalType.BUY,
            strength=0.5 + (n % 7) / 100,
            source="bench",
            created_at=now,
            stop_loss=Decimal("41000.00"),
            take_profit=Decimal("43000.00"),
            expiry_at=later,
        )
        for n in range(count)
    ]


def run(pipeline: SignalPipeline, batch: list[Signal], plan: ExecutionPlan) -> list[int]:
    clock = time.perf_counter_ns
    submit = pipeline.submit
    samples = []
    for signal in batch:
        began = clock()
        submit(signal, plan)
        samples.append(clock() - began)
    return samples


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    count = 20_000 if args.quick else 200_000
    pipeline, node, plan = build()
    run(pipeline, signals(node, 2_000), plan)  # warm up
    batch = signals(node, count)
    tune_gc()
    began = time.perf_counter()
    samples = run(pipeline, batch, plan)
    rate = count / (time.perf_counter() - began)
    statuses = {s.status for s in batch}
    assert statuses == {SignalStatus.VALIDATED}, f"every signal must validate, not {statuses}"
    samples.sort()
    print(f"{count:,} signals through signal and validation (risk checks on), one core")
    report(
        "signals",
        [
            Figure("signals_per_s", rate, "1/s", 100_000, "higher"),
            Figure("p50_us", samples[len(samples) // 2] / 1000, "us", None, "lower"),
            Figure("p99_us", samples[int(len(samples) * 0.99)] / 1000, "us", None, "lower"),
        ],
    )


if __name__ == "__main__":
    main()
