"""The paper session's strategies: each example document registered under governance on
the first start (version 1 stored, audited) or found by name with its **current stored
version** on later starts, backtested first while still DRAFT (the ``qualify`` step),
then built on the trading node with its paper record resumed.

A document that cannot be built is left out with an alert; the others still start.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from omoitrade.core.errors import NotFound, OmoiError
from omoitrade.model import Instrument, InstrumentId
from omoitrade.model.enums import StrategyStatus, TradingMode
from omoitrade.model.identifiers import StrategyId
from omoitrade.model.portfolios import Portfolio
from omoitrade.model.strategies import Strategy
from omoitrade.model.strategy_versions import BacktestRun, StrategyPerformance
from omoitrade.runtime.paper_record import PaperRecord
from omoitrade.runtime.strategy_context import NodeStrategyContext
from omoitrade.runtime.strategy_service import StrategyService
from omoitrade.runtime.trading_node import TradingNode
from omoitrade.signals.pipeline import SignalPipeline
from omoitrade.store import Database
from omoitrade.store.repositories import key_of
from omoitrade.strategy.base import Strategy as TradingStrategy
from omoitrade.strategy.document import StrategyDocument, StrategyDocumentError
from omoitrade.strategy.python_code import PythonStrategyDocument, validate_strategy_document
from omoitrade.strategy.rule_strategy import RuleStrategy, instrument_id_of

DEMO_AUTHOR = "system:demo"
_UNQUALIFIED = frozenset((StrategyStatus.DRAFT, StrategyStatus.BACKTESTING))

Qualifier = Callable[[StrategyService, Strategy, dict[str, Any], list[Instrument]], BacktestRun]
"""Backtests a stored strategy's current version, stores the run and moves it to PAPER."""

Alert = Callable[[str, str], None]  # (kind, text)


@dataclass(slots=True)
class RunningStrategy:
    """One registered strategy in the session, with its paper record."""

    strategy: TradingStrategy  # a RuleStrategy, or a Python strategy's class
    context: NodeStrategyContext
    record: PaperRecord
    instruments: list[InstrumentId]  # what it trades (and is given market data of)


@dataclass(frozen=True, slots=True)
class StrategySetup:
    """What the session's strategies are registered, qualified and built with."""

    database: Database
    portfolio: Portfolio
    service: StrategyService
    node: TradingNode
    pipeline: SignalPipeline
    instruments: Sequence[Instrument]
    signal_ttl_ns: int
    performance_interval_ns: int
    qualify: Qualifier | None
    alert: Alert


def register_strategies(
    setup: StrategySetup, documents: Iterable[dict[str, Any]]
) -> Iterator[RunningStrategy]:
    """Each document's strategy, registered (or found), qualified and built; a document
    that fails is an alert and is skipped."""
    portfolio = setup.portfolio
    table_names: dict[str, StrategyId] = {}
    with setup.database.transaction(write=False) as uow:
        t = uow.strategies.table
        for row in uow.strategies.list(t.c.portfolio_id == key_of(portfolio.id)):
            table_names.setdefault(row.name, row.id)
    for document in documents:
        name = str(document.get("name", "?"))
        base: StrategyPerformance | None = None
        try:
            strategy_id = table_names.get(name)
            if strategy_id is None:
                stored, version = setup.service.create(portfolio.id, document, DEMO_AUTHOR)
                strategy_id, content = stored.id, version.document
                number = version.version
            else:
                with setup.database.transaction(write=False) as uow:
                    stored = uow.strategies.get(strategy_id)
                    found = uow.strategy_versions.version(strategy_id, stored.version)
                    base = uow.strategy_performance.of(
                        strategy_id, stored.version, TradingMode.PAPER
                    )
                if found is None:
                    raise NotFound(f"version {stored.version} of strategy", strategy_id)
                content, number = found.document, found.version
            _qualify(setup, stored, content)
            checked = validate_strategy_document(content)
            rules = checked if isinstance(checked, StrategyDocument) else None
            context = NodeStrategyContext(
                node=setup.node,
                pipeline=setup.pipeline,
                portfolio_id=portfolio.id,
                strategy_id=strategy_id,
                name=name,
                version=number,
                document=rules,
                signal_ttl_ns=setup.signal_ttl_ns,
            )
            strategy = (
                checked.build(context)
                if isinstance(checked, PythonStrategyDocument)
                else RuleStrategy(context, checked)
            )
        except (StrategyDocumentError, OmoiError) as error:
            setup.alert("strategies", f"{name}: not started ({error})")
            continue
        record = PaperRecord.resume(
            portfolio.initial_capital,
            portfolio.base_currency,
            setup.performance_interval_ns,
            {} if base is None else base.metrics,
        )
        traded = [instrument_id_of(n) for n in checked.instruments]
        yield RunningStrategy(strategy, context, record, traded)


def _qualify(setup: StrategySetup, strategy: Strategy, document: dict[str, Any]) -> None:
    """A strategy not yet through its backtest gets there first (see ``qualify``)."""
    qualify = setup.qualify
    if qualify is None or strategy.status not in _UNQUALIFIED:
        return
    run = qualify(setup.service, strategy, document, list(setup.instruments))
    setup.alert("strategies", f"{strategy.name}: backtested (run {run.id}), now PAPER")
