"""A backtest's results in the store: a completed backtest run of the stored strategy's
version (what the lifecycle's PAPER gate looks for), and the version's BACKTEST metrics.

A run is stored only against the version it backtested: the backtested strategy's
validated document must equal the stored version's, less the version number and the
instruments (a backtest trades its data's instruments). A Python file holds its class
and code; the rest of its stored document is the store's, parameters included (``strategy
update`` keeps them): a run to be stored uses them (:func:`stored_source`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from omoitrade.backtest.inputs import StrategySource
from omoitrade.backtest.results import BacktestResult
from omoitrade.core.approvals import ApprovalDesk
from omoitrade.core.errors import ValidationError
from omoitrade.core.ids import IdGenerator
from omoitrade.model.enums import TradingMode
from omoitrade.model.strategies import Strategy
from omoitrade.model.strategy_versions import BacktestRun, StrategyVersion
from omoitrade.runtime.strategy_service import StrategyService
from omoitrade.store import Database
from omoitrade.strategy.base import validate_parameters
from omoitrade.strategy.python_code import (
    PythonStrategyDocument,
    is_python_document,
    validate_strategy_document,
)
from omoitrade.strategy.versions import document_diff

_NOT_CONTENT = ("version", "instruments")  # the version's number; the backtest's data


def store_run(
    database: Database, strategy: str, result: BacktestResult, source: StrategySource
) -> BacktestRun:
    """Record ``result``, a backtest of ``source``, as a completed backtest of the stored
    strategy (name or id) at its current version, with its metrics and settings;
    ValidationError when ``source`` is not that version's content."""
    service = _service(database)
    stored, version = _current(service, strategy)
    _require_content(stored, version, source)
    return record_result(service, stored, result)


def stored_source(database: Database, strategy: str, source: StrategySource) -> StrategySource:
    """``source`` as the stored strategy's (name or id) current version runs it (a Python
    file with the version's parameters: they are the store's); ValidationError when it
    holds other content. For checking before a run that :func:`store_run` will take."""
    stored, version = _current(_service(database), strategy)
    if source.document is None and is_python_document(version.document):
        source = dataclasses.replace(source, parameters=dict(version.document["parameters"]))
    _require_content(stored, version, source)
    return source


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


def _service(database: Database) -> StrategyService:
    clock = database.clock
    ids = IdGenerator(clock.timestamp_ns)
    return StrategyService(database, clock, ApprovalDesk(clock, ids), ids=ids)


def _current(service: StrategyService, strategy: str) -> tuple[Strategy, StrategyVersion]:
    """The stored strategy (name or id) and its current version."""
    stored = service.find(strategy)
    return stored, next(v for v in service.history(stored.id) if v.version == stored.version)


def _require_content(stored: Strategy, version: StrategyVersion, source: StrategySource) -> None:
    differs = _differences(version, source)
    if differs:
        raise ValidationError(
            "--store",
            f"the backtested {source.name} is not {stored.name} version {version.version} "
            f"(it differs in {differs}): backtest that version to store its run",
        )


def _differences(version: StrategyVersion, source: StrategySource) -> str:
    """Where ``source``'s content differs from ``version``'s ("" when it does not)."""
    stored = version.document
    if is_python_document(stored) != (source.document is None):
        return "kind (a Python strategy and a rule document)"
    if source.document is not None:
        backtested = source.document
    else:
        python = {**stored["python"], "class": source.class_name, "code": source.code}
        backtested = {**stored, "parameters": source.parameters, "python": python}
    paths = [c["path"] for c in document_diff(_content(stored), _content(backtested))]
    return ", ".join(paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")


def _content(document: dict[str, Any]) -> dict[str, Any]:
    """The validated document as data, without what is not its content (a Python
    strategy's parameters as its class takes them: ``"1"`` and ``1`` are one Decimal)."""
    checked = validate_strategy_document(document)
    content = checked.to_dict()
    if isinstance(checked, PythonStrategyDocument) and checked.strategy_class.params_type:
        values = validate_parameters(checked.strategy_class.params_type, checked.parameters)
        content["parameters"] = dataclasses.asdict(values)
    return {k: v for k, v in content.items() if k not in _NOT_CONTENT}
