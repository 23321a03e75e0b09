"""A backtest's results in the store: a completed backtest run of the stored strategy's
version (what the lifecycle's PAPER gate looks for), and the version's BACKTEST metrics."""

from __future__ import annotations

from typing import Any

from omoitrade.backtest.results import BacktestResult
from omoitrade.core.approvals import ApprovalDesk
from omoitrade.core.ids import IdGenerator
from omoitrade.model.enums import TradingMode
from omoitrade.model.strategies import Strategy
from omoitrade.model.strategy_versions import BacktestRun
from omoitrade.runtime.strategy_service import StrategyService
from omoitrade.store import Database


def store_run(database: Database, strategy: str, result: BacktestResult) -> BacktestRun:
    """Record ``result`` as a completed backtest of the stored strategy (name or id) at
    its current version; its metrics and settings go with it."""
    clock = database.clock
    ids = IdGenerator(clock.timestamp_ns)
    service = StrategyService(database, clock, ApprovalDesk(clock, ids), ids=ids)
    return record_result(service, service.find(strategy), result)


def record_result(
    service: StrategyService, strategy: Strategy, result: BacktestResult
) -> BacktestRun:
    """Store ``result`` as a completed backtest of ``strategy``'s current version, and its
    metrics as the version's latest BACKTEST performance."""
    metrics: dict[str, Any] = result.to_dict()["metrics"]  # plain JSON data already
    parameters = {
        "strategy_parameters": result.parameters,
        "settings": result.settings,
        "instruments": sorted(result.instruments.values()),
        "start": result.start.isoformat(),
        "end": result.end.isoformat(),
    }
    run = service.record_backtest(strategy.id, strategy.version, metrics, parameters)
    service.record_performance(strategy.id, TradingMode.BACKTEST, metrics)
    return run
