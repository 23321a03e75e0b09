"""The paper session on a simulated clock: it trades, stores, stops and resumes."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from omoitrade.backtest.qualification import PaperQualification
from omoitrade.core.clock import SimulatedClock
from omoitrade.model.enums import (
    BacktestStatus,
    SignalStatus,
    SignalType,
    StrategyStatus,
    TradingMode,
)
from omoitrade.model.events import SignalSettled, StrategyStatusChanged
from omoitrade.model.identifiers import EventId, InstrumentId, SignalId
from omoitrade.runtime.approval_store import RESTART_REASON
from omoitrade.runtime.paper_session import PaperSession, PaperSessionConfig
from omoitrade.signals.plan import SignalSettings
from omoitrade.store import Database
from omoitrade.strategy.base import SignalTerms
from omoitrade.venues.sim.durable import run_now

SECOND = 1_000_000_000
T0 = 1_704_189_600 * SECOND  # 2024-01-02 10:00 UTC

QUICK: dict[str, Any] = {
    "name": "quick",
    "version": 1,
    "instruments": ["SIM:BTC/USD"],
    "timeframe": "1m",
    "entry_rules": {">": ["close", 0]},
    "exit_rules": {"bars_in_trade": {">=": 2}},
    "risk_parameters": {
        "direction": "long_only",
        "sizing": {"fixed_quantity": "0.01"},
        "stop_loss": {"percent": "2"},
        "take_profit": {"percent": "2"},
    },
}


def config(tmp_path: Path) -> PaperSessionConfig:
    return PaperSessionConfig(
        database_url=f"sqlite:///{tmp_path / 'omoitrade.db'}",
        exchange_path=tmp_path / "sim-exchange.db",
        step_ns=SECOND,
        documents=(QUICK,),
        high_value_notional=None,
        performance_interval_ns=60 * SECOND,
    )


def advance(clock: SimulatedClock, seconds: int) -> None:
    for _ in range(seconds):
        clock.advance_by(SECOND)


def test_the_session_trades_stops_and_resumes_where_it_was(tmp_path: Path) -> None:
    clock = SimulatedClock(T0)
    session = PaperSession(clock, config(tmp_path))
    session.start()
    assert [r.context.name for r in session.strategies.values()] == ["quick"]
    advance(clock, 400)
    snapshot = session.snapshot()
    assert snapshot.signals and snapshot.fills and snapshot.quotes
    assert any(row.signal.status is SignalStatus.EXECUTED for row in snapshot.signals)
    # a signal that waits for a person when the process stops
    session.pipeline.settings.default = SignalSettings(high_value_notional=Decimal("1"))
    (running,) = session.strategies.values()
    context = running.context
    (eurusd,) = [i for i in session.instruments.values() if i.symbol == "EUR/USD"]
    waiting = context.emit_signal(
        eurusd.id, SignalType.BUY, terms=SignalTerms(quantity=Decimal("1000"))
    )
    assert [r.subject_id for r in session.desk.pending()] == [str(waiting)]
    ledger = session.node.ledger
    positions = {p.instrument_id: p.quantity for p in ledger.positions(session.portfolio.id)}
    open_orders = {o.client_order_id for o in session.node.orders.open_orders()}
    strategy_id = context.strategy_id
    session.stop()

    database = Database(config(tmp_path).database_url)
    with database.transaction(write=False) as uow:
        stored_signals = uow.signals.list()
        orders = uow.orders.list()
        trades = uow.trades.list()
        performance = uow.strategy_performance.of(strategy_id, 1, TradingMode.PAPER)
        versions = uow.strategy_versions.history(strategy_id)
    database.dispose()
    assert {s.status for s in stored_signals} >= {SignalStatus.EXECUTED}
    assert orders and trades and performance is not None
    assert len(versions) == 1

    # start again on the same files, a little later
    clock = SimulatedClock(clock.timestamp_ns() + 5 * SECOND)
    again = PaperSession(clock, config(tmp_path))
    again.start()
    assert list(again.strategies) == [strategy_id]  # found, not re-created
    assert again.reconciliation == []
    assert {
        p.instrument_id: p.quantity for p in again.node.ledger.positions(again.portfolio.id)
    } == positions
    assert {o.client_order_id for o in again.node.orders.open_orders()} == open_orders
    at_venue = run_now(again.venue.positions(again.account_id))
    venue_positions = {p.instrument_id: p.quantity for p in at_venue}
    assert venue_positions == {k: v for k, v in positions.items() if v}
    (rejected,) = again.adoption.rejected
    assert rejected.subject_id == str(waiting) and rejected.decision_reason == RESTART_REASON
    advance(clock, 120)
    for order in again.node.orders.open_orders():
        assert again.venue.submits_of(order.client_order_id) == 1  # never sent twice
    again.stop()
    database = Database(config(tmp_path).database_url)
    with database.transaction(write=False) as uow:
        request = uow.approvals.get(rejected.id)
        versions = uow.strategy_versions.history(strategy_id)
        strategies = uow.strategies.list()
        resumed = uow.strategy_performance.of(strategy_id, 1, TradingMode.PAPER)
    database.dispose()
    assert request.decision_reason == RESTART_REASON
    assert resumed is not None  # the equity curve goes on from the first start's
    first_curve = performance.metrics["equity_curve"]
    assert resumed.metrics["equity_curve"][: len(first_curve) - 1] == first_curve[:-1]
    assert len(resumed.metrics["equity_curve"]) > len(first_curve)
    assert resumed.metrics["paper_first_seen"] == performance.metrics["paper_first_seen"]
    assert resumed.metrics["paper_days"] > performance.metrics["paper_days"]
    assert len(versions) == 1 and len(strategies) == 1


def test_a_draft_strategy_is_backtested_and_moved_to_paper_before_it_trades(
    tmp_path: Path,
) -> None:
    settings = replace(config(tmp_path), qualify=PaperQualification(bars=300))
    clock = SimulatedClock(T0)
    session = PaperSession(clock, settings)
    session.start()
    (running,) = session.strategies.values()
    strategy_id = running.context.strategy_id
    assert any("quick: backtested" in a.text and "now PAPER" in a.text for a in session.alerts)
    advance(clock, 120)
    assert session.snapshot().fills  # and it trades
    session.stop()

    again = PaperSession(SimulatedClock(clock.timestamp_ns() + 5 * SECOND), settings)
    again.start()  # already PAPER: not backtested again
    assert list(again.strategies) == [strategy_id]
    again.stop()

    database = Database(settings.database_url)
    with database.transaction(write=False) as uow:
        stored = uow.strategies.get(strategy_id)
        runs = uow.backtest_runs.for_version(strategy_id, 1)
        backtest = uow.strategy_performance.of(strategy_id, 1, TradingMode.BACKTEST)
        changes = [
            (s.event.from_status, s.event.to_status)
            for s in uow.events.read(0, 10_000)
            if isinstance(s.event, StrategyStatusChanged)
        ]
    database.dispose()
    assert stored.status is StrategyStatus.PAPER
    (run,) = runs
    assert run.status is BacktestStatus.COMPLETED
    assert run.parameters["instruments"] == ["BTC/USD"] and "total_return_pct" in run.metrics
    assert backtest is not None and backtest.metrics == run.metrics
    assert changes == [
        (StrategyStatus.DRAFT, StrategyStatus.BACKTESTING),
        (StrategyStatus.BACKTESTING, StrategyStatus.PAPER),
    ]


def test_the_python_example_is_governed_and_sees_only_its_instrument(tmp_path: Path) -> None:
    settings = replace(
        config(tmp_path),
        documents=None,  # the examples: three rule documents and momentum_breakout.py
        qualify=PaperQualification(bars=200),
    )
    session = PaperSession(SimulatedClock(T0), settings)
    session.start()
    names = {r.context.name: r for r in session.strategies.values()}
    assert set(names) >= {"sma_cross", "MomentumBreakout"}
    assert any("MomentumBreakout: backtested" in a.text for a in session.alerts)
    python = names["MomentumBreakout"]
    assert type(python.strategy).__name__ == "MomentumBreakout"
    (btc,) = [i for i in session.instruments.values() if i.symbol == "BTC/USD"]
    assert session.runner.instruments_of(python.strategy) == frozenset({btc.id})
    session.stop()
    database = Database(settings.database_url)
    with database.transaction(write=False) as uow:
        stored = uow.strategies.get(python.context.strategy_id)
        (version,) = uow.strategy_versions.history(stored.id)
    database.dispose()
    assert stored.status is StrategyStatus.PAPER
    assert version.document["python"]["file"] == "momentum_breakout.py"


def test_a_trade_settled_in_an_instrument_not_among_the_session_s_never_crashes_it(
    tmp_path: Path,
) -> None:
    clock = SimulatedClock(T0)
    session = PaperSession(clock, config(tmp_path))
    session.start()
    (running,) = session.strategies.values()
    (btc,) = [i for i in session.instruments.values() if i.symbol == "BTC/USD"]
    del session.instruments[btc.id]  # its trades' currency: from the trades themselves
    advance(clock, 200)
    record = running.record
    assert record.settled > 0 and set(record.realized) == {"USD"}
    assert not [f for f in session.bus.failures if "_on_signal_event" in f.handler_name]

    # neither the trade nor the instrument known: an alert names it, nothing is recorded
    unknown = InstrumentId.of("SIM", "XAU/USD")
    settled = SignalSettled(
        event_id=EventId.new(session.ids),
        occurred_at=clock.utc_now(),
        signal_id=SignalId.new(session.ids),
        strategy_id=running.context.strategy_id,
        strategy_version=running.context.version,
        instrument_id=unknown,
        realized_pnl=Decimal("12.5"),
        commission=Decimal("0.1"),
    )
    before = (record.settled, dict(record.realized))
    session.bus.publish(SignalSettled.topic, settled)
    assert (record.settled, record.realized) == before
    assert not [f for f in session.bus.failures if "_on_signal_event" in f.handler_name]
    assert session.alerts[0].kind == "performance"
    assert session.alerts[0].text == (
        f"quick: a trade settled in {unknown} (P&L 12.5) is not in its paper record: "
        "the instrument is not among this session's, its currency is unknown"
    )
    advance(clock, 70)  # and the session goes on
    session.stop()
