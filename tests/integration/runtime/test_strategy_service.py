"""Strategies under governance on SQLite and PostgreSQL: versions, rollback, gates, approval."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from omoitrade.core.approvals import ApprovalDesk, ApprovalStatus
from omoitrade.core.bus import MessageBus
from omoitrade.core.errors import Conflict, IllegalTransition
from omoitrade.core.ids import IdGenerator
from omoitrade.model.enums import StrategyStatus, TradingMode
from omoitrade.model.events import StrategyStatusChanged, StrategyVersionCreated
from omoitrade.runtime.strategy_service import StrategyService
from omoitrade.store import Database
from omoitrade.strategy.document import StrategyDocumentError
from omoitrade.strategy.lifecycle import GateRefused, GoLiveMinimums
from omoitrade.testing import factories as f

DAY_NS = 86_400_000_000_000
SMA_CROSS = json.loads(
    (Path(__file__).parents[3] / "examples" / "strategies" / "sma_cross.json").read_text()
)


@pytest.fixture
def service(database: Database) -> StrategyService:
    organization = f.make_organization()
    portfolio = f.make_portfolio(organization)
    with database.transaction() as uow:
        uow.organizations.add(organization)
        uow.portfolios.add(portfolio)
    clock = database.clock
    ids = IdGenerator(clock.timestamp_ns, seed=5)
    bus = MessageBus()
    service = StrategyService(
        database, clock, ApprovalDesk(clock, ids), bus, ids, GoLiveMinimums(paper_days=10)
    )
    service.portfolio_id = portfolio.id  # type: ignore[attr-defined]
    return service


def faster(fast: int) -> dict[str, Any]:
    return SMA_CROSS | {"parameters": {"fast": fast, "slow": 20}}


def test_every_change_is_a_new_version_with_author_diff_event_and_audit(
    service: StrategyService, database: Database
) -> None:
    seen: list[StrategyVersionCreated] = []
    assert service.bus is not None
    service.bus.subscribe(StrategyVersionCreated.topic, seen.append)
    strategy, v1 = service.create(service.portfolio_id, SMA_CROSS, "ann")  # type: ignore[attr-defined]
    v2 = service.change(strategy.id, faster(5), "bob", "faster entry")
    v3 = service.rollback(strategy.id, 1, "carol")
    assert [v.version for v in service.history(strategy.id)] == [1, 2, 3]
    assert v2.diff == [{"op": "replace", "path": "parameters.fast", "old": 10, "new": 5}]
    assert (v3.restored_from, v3.content_hash) == (1, v1.content_hash)
    stored = service.get(strategy.id)
    assert stored.version == 3 and stored.entry_rules == SMA_CROSS["entry_rules"]
    assert [e.version for e in seen] == [1, 2, 3]
    with database.transaction(write=False) as uow:
        events = uow.events.stream(strategy.id)
        audit = [e for e in uow.audit.entries() if e.action == "strategy.version_created"]
    assert [e.event_id for e in events] == [e.event_id for e in seen]  # stored = published
    assert [(a.actor, a.details["version"]) for a in audit] == [
        ("ann", 1),
        ("bob", 2),
        ("carol", 3),
    ]
    with pytest.raises(Conflict, match="nothing to version"):
        service.change(strategy.id, faster(10) | {"version": 9}, "dan")


def test_an_invalid_document_is_refused_with_its_paths_and_nothing_is_stored(
    service: StrategyService, database: Database
) -> None:
    broken = SMA_CROSS | {"parameters": {"fast": 0, "slow": 20}, "timeframe": "7m"}
    with pytest.raises(StrategyDocumentError) as refused:
        service.create(service.portfolio_id, broken, "ann")  # type: ignore[attr-defined]
    assert "timeframe" in str(refused.value)
    with database.transaction(write=False) as uow:
        assert uow.strategies.count() == 0 and uow.strategy_versions.count() == 0


def test_the_lifecycle_gates_paper_on_a_backtest_and_live_on_an_approval(
    service: StrategyService, database: Database
) -> None:
    clock = database.clock
    strategy, _ = service.create(service.portfolio_id, SMA_CROSS, "ann")  # type: ignore[attr-defined]
    with pytest.raises(IllegalTransition):
        service.start_paper(strategy.id, "ann")  # DRAFT cannot skip BACKTESTING
    service.start_backtest(strategy.id, "ann")
    with pytest.raises(GateRefused, match="version 1 has no completed backtest"):
        service.start_paper(strategy.id, "ann")
    service.record_backtest(strategy.id, 1, {"sharpe": 1.4, "trades": 30})
    assert service.start_paper(strategy.id, "ann").status is StrategyStatus.PAPER
    with pytest.raises(GateRefused, match="has not traded on paper"):
        service.request_live(strategy.id, "ann")
    service.record_performance(
        strategy.id, TradingMode.PAPER, {"sharpe": 0.4, "max_drawdown": 0.05}
    )
    clock.advance_by(11 * DAY_NS)  # type: ignore[attr-defined]
    with pytest.raises(GateRefused, match=r"sharpe is 0.4, must be >= 1.0"):
        service.request_live(strategy.id, "ann")
    service.record_performance(
        strategy.id, TradingMode.PAPER, {"sharpe": 1.6, "max_drawdown": 0.05}
    )
    request = service.request_live(strategy.id, "ann")
    assert request.facts["checks"]["sharpe"] == {"value": 1.6, "minimum": 1.0, "met": True}
    assert service.get(strategy.id).status is StrategyStatus.PAPER  # waits for a person
    service.desk.approve(request.id, "risk@desk", "paper record is good")
    live = service.get(strategy.id)
    assert live.status is StrategyStatus.LIVE
    service.pause(strategy.id, "ops", "exchange maintenance")
    service.resume(strategy.id, "ops", "maintenance over")
    service.stop(strategy.id, "ops", "retired")
    with database.transaction(write=False) as uow:
        changes = [
            e for e in uow.events.stream(strategy.id) if isinstance(e, StrategyStatusChanged)
        ]
    assert [c.to_status for c in changes] == [
        StrategyStatus.BACKTESTING,
        StrategyStatus.PAPER,
        StrategyStatus.LIVE,
        StrategyStatus.PAUSED,
        StrategyStatus.LIVE,
        StrategyStatus.STOPPED,
    ]
    assert changes[2].reason == "approved by risk@desk: paper record is good"


def test_a_rejected_or_outdated_go_live_approval_leaves_the_strategy_on_paper(
    service: StrategyService, database: Database
) -> None:
    clock = database.clock
    strategy, _ = service.create(service.portfolio_id, SMA_CROSS, "ann")  # type: ignore[attr-defined]
    service.start_backtest(strategy.id, "ann")
    service.record_backtest(strategy.id, 1, {"sharpe": 1.4})
    service.start_paper(strategy.id, "ann")
    service.record_performance(strategy.id, TradingMode.PAPER, {"sharpe": 2.0, "max_drawdown": 0.1})
    clock.advance_by(11 * DAY_NS)  # type: ignore[attr-defined]
    rejected = service.request_live(strategy.id, "ann")
    service.desk.reject(rejected.id, "risk@desk", "not this quarter")
    assert service.get(strategy.id).status is StrategyStatus.PAPER
    outdated = service.request_live(strategy.id, "ann")
    service.change(strategy.id, faster(7), "bob", "tweak while waiting")
    with pytest.raises(GateRefused, match="was for version 1, the strategy is now at version 2"):
        service.desk.approve(outdated.id, "risk@desk", "ok")
    assert outdated.status is ApprovalStatus.APPROVED
    assert service.get(strategy.id).status is StrategyStatus.PAPER
