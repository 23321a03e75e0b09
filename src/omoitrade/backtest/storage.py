"""A backtest's results in the store: a completed backtest run of the stored strategy's
version (what the lifecycle's PAPER gate looks for), and the version's BACKTEST metrics."""

from __future__ import annotations

from typing import Any

from omoitrade.backtest.results import BacktestResult
from omoitrade.core.approvals import ApprovalDesk
from omoitrade.core.ids import IdGenerator
from omoitrade.model.enums import TradingMode
from omoitrade.model.strategy_versions import BacktestRun
from omoitrade.runtime.strategy_service import StrategyService
from omoitrade.store import Database


def store_run(database: Database, strategy: str, result: BacktestResult) -> BacktestRun:
    """Record ``result`` as a completed backtest of the stored strategy (name or id) at
    its current version; its metrics and settings go with it."""
    clock = database.clock
    ids = IdGenerator(clock.timestamp_ns)
    service = StrategyService(database, clock, ApprovalDesk(clock, ids), ids=ids)
    found = service.find(strategy)
    metrics: dict[str, Any] = result.to_dict()["metrics"]  # plain JSON data already
    parameters = {
        "strategy_parameters": result.parameters,
        "settings": result.settings,
        "instruments": sorted(result.instruments.values()),
        "start": result.start.isoformat(),
        "end": result.end.isoformat(),
    }
    run = service.record_backtest(found.id, found.version, metrics, parameters)
    service.record_performance(found.id, TradingMode.BACKTEST, metrics)  # the latest backtest
    return run
