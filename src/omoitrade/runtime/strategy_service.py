"""Strategies under governance: versions on every change, and the lifecycle's gates.

Every change is validated (the strategy document's rules), stored as a new immutable
version with its diff, announced (``StrategyVersionCreated``) and audited. Status
changes go through the lifecycle's state machine and its gates (``strategy.lifecycle``):
PAPER needs a completed backtest of the current version; LIVE needs an approval
(filed with the version's paper record as facts) and happens when it is granted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omoitrade.core.approvals import ApprovalDesk, ApprovalRequest, ApprovalStatus
from omoitrade.core.bus import MessageBus
from omoitrade.core.clock import Clock
from omoitrade.core.errors import Conflict, NotFound, ValidationError
from omoitrade.core.ids import IdGenerator
from omoitrade.model.enums import StrategyStatus, StrategyType, TradingMode
from omoitrade.model.events import DomainEvent, StrategyStatusChanged, StrategyVersionCreated
from omoitrade.model.identifiers import (
    BacktestRunId,
    EventId,
    PortfolioId,
    StrategyId,
    StrategyPerformanceId,
)
from omoitrade.model.state_machines import STRATEGY_LIFECYCLE, StrategyTrigger
from omoitrade.model.strategies import Strategy
from omoitrade.model.strategy_versions import BacktestRun, StrategyPerformance, StrategyVersion
from omoitrade.store import Database, UnitOfWork
from omoitrade.strategy.lifecycle import (
    GO_LIVE_GATE,
    GateRefused,
    GoLiveMinimums,
    go_live_facts,
    require_completed_backtest,
)
from omoitrade.strategy.python_code import validate_strategy_document
from omoitrade.strategy.versions import next_version, rollback_version

DAY_NS = 86_400_000_000_000


@dataclass
class StrategyService:
    """Creates and changes strategies as versions, and moves them through the lifecycle."""

    database: Database
    clock: Clock
    desk: ApprovalDesk
    bus: MessageBus | None = None
    ids: IdGenerator = field(default_factory=IdGenerator)
    minimums: GoLiveMinimums = field(default_factory=GoLiveMinimums)
    approval_ttl_ns: int = 7 * DAY_NS

    # --- versions ---------------------------------------------------------------------------
    def create(
        self,
        portfolio_id: PortfolioId,
        document: dict[str, Any],
        author: str,
        strategy_type: StrategyType = StrategyType.CUSTOM,
    ) -> tuple[Strategy, StrategyVersion]:
        """A DRAFT strategy at version 1 from a (validated) strategy document: a rule
        document, or a Python strategy's (``strategy.python_code``)."""
        checked = validate_strategy_document(document).to_dict()
        now = self.clock.utc_now()
        strategy = Strategy(
            id=StrategyId.new(self.ids),
            portfolio_id=portfolio_id,
            name=checked["name"],
            strategy_type=strategy_type,
            created_at=now,
        )
        version = next_version([], strategy.id, checked, author=author, at=now, ids=self.ids)
        _adopt(strategy, version)
        with self.database.transaction() as uow:
            uow.strategies.add(strategy)
            event = self._store_version(uow, version)
        self._publish(event)
        return strategy, version

    def change(
        self, strategy_id: StrategyId, document: dict[str, Any], author: str, note: str = ""
    ) -> StrategyVersion:
        """A new version with ``document``'s content; Conflict if nothing changed."""
        checked = validate_strategy_document(document).to_dict()
        return self._new_version(
            strategy_id,
            lambda history, at: next_version(
                history, strategy_id, checked, author=author, at=at, ids=self.ids, note=note
            ),
        )

    def rollback(
        self, strategy_id: StrategyId, to_version: int, author: str, note: str = ""
    ) -> StrategyVersion:
        """Re-activate an earlier version's content, as a new version pointing at it."""
        return self._new_version(
            strategy_id,
            lambda history, at: rollback_version(
                history, to_version, author=author, at=at, ids=self.ids, note=note
            ),
        )

    def history(self, strategy_id: StrategyId) -> list[StrategyVersion]:
        with self.database.transaction(write=False) as uow:
            uow.strategies.get(strategy_id)
            return uow.strategy_versions.history(strategy_id)

    def get(self, strategy_id: StrategyId) -> Strategy:
        with self.database.transaction(write=False) as uow:
            return uow.strategies.get(strategy_id)

    def find(self, name_or_id: str) -> Strategy:
        """A stored strategy by id, or by name when exactly one has it."""
        with self.database.transaction(write=False) as uow:
            try:
                return uow.strategies.get(StrategyId.parse(name_or_id))
            except (NotFound, ValidationError):
                pass
            found = uow.strategies.list(uow.strategies.table.c.name == name_or_id)
        if not found:
            raise NotFound("strategy", name_or_id)
        if len(found) > 1:
            raise Conflict(f"{len(found)} strategies are called {name_or_id}: give the id")
        return found[0]

    # --- results ----------------------------------------------------------------------------
    def record_backtest(
        self,
        strategy_id: StrategyId,
        version: int,
        metrics: dict[str, Any],
        parameters: dict[str, Any] | None = None,
    ) -> BacktestRun:
        """Store a completed backtest of ``version`` (what the PAPER gate looks for)."""
        now = self.clock.utc_now()
        run = BacktestRun(
            id=BacktestRunId.new(self.ids),
            strategy_id=strategy_id,
            strategy_version=version,
            started_at=now,
            parameters=parameters or {},
        )
        run.complete(metrics, now)
        with self.database.transaction() as uow:
            if uow.strategy_versions.version(strategy_id, version) is None:
                raise NotFound(f"version {version} of strategy", strategy_id)
            uow.backtest_runs.add(run)
        return run

    def record_performance(
        self,
        strategy_id: StrategyId,
        mode: TradingMode,
        metrics: dict[str, Any],
        version: int | None = None,
    ) -> StrategyPerformance:
        """Keep ``version``'s (default: the current version's) metrics in ``mode``; the
        first call starts its record."""
        now = self.clock.utc_now()
        with self.database.transaction() as uow:
            strategy = uow.strategies.get(strategy_id)
            number = strategy.version if version is None else version
            if uow.strategy_versions.version(strategy_id, number) is None:
                raise NotFound(f"version {number} of strategy", strategy_id)
            found = uow.strategy_performance.of(strategy_id, number, mode)
            if found is None:
                found = StrategyPerformance(
                    id=StrategyPerformanceId.new(self.ids),
                    strategy_id=strategy_id,
                    version=number,
                    mode=mode,
                    started_at=now,
                    updated_at=now,
                    metrics=metrics,
                )
                uow.strategy_performance.add(found)
            else:
                found.metrics, found.updated_at = metrics, now
                uow.strategy_performance.update(found)
            return found

    # --- lifecycle --------------------------------------------------------------------------
    def start_backtest(self, strategy_id: StrategyId, actor: str) -> Strategy:
        return self._transition(strategy_id, StrategyTrigger.START_BACKTEST, actor, "backtest")

    def start_paper(self, strategy_id: StrategyId, actor: str) -> Strategy:
        """BACKTESTING -> PAPER, once the current version has a completed backtest."""

        def gate(uow: UnitOfWork, strategy: Strategy) -> str:
            runs = uow.backtest_runs.for_version(strategy_id, strategy.version)
            run = require_completed_backtest(strategy.version, runs)
            return f"backtest {run.id} of version {strategy.version} completed"

        return self._transition(strategy_id, StrategyTrigger.START_PAPER, actor, "", gate)

    def request_live(self, strategy_id: StrategyId, actor: str) -> ApprovalRequest:
        """File the go-live approval for the current version (PAPER only); the strategy
        goes LIVE when a person approves it."""
        now = self.clock.utc_now()
        with self.database.transaction(write=False) as uow:
            strategy = uow.strategies.get(strategy_id)
            if strategy.status is not StrategyStatus.PAPER:
                raise GateRefused(f"only a PAPER strategy can go live, not {strategy.status}")
            paper = uow.strategy_performance.of(strategy_id, strategy.version, TradingMode.PAPER)
        facts = go_live_facts(strategy.version, paper, self.minimums, now)
        return self.desk.request(
            gate=GO_LIVE_GATE,
            scope=str(strategy.portfolio_id),
            subject_type="strategy",
            subject_id=str(strategy_id),
            requested_action=f"put {strategy.name} version {strategy.version} LIVE",
            facts=facts,
            requested_by=actor,
            ttl_ns=self.approval_ttl_ns,
            on_decided=self.on_live_decision,
        )

    def on_live_decision(self, request: ApprovalRequest) -> None:
        """An approved go-live request puts the version it names LIVE (still PAPER, and
        still that version); a rejected one leaves the strategy as it is. Applying the
        same approval twice (the deciding process, then a running session) is harmless."""
        if request.status is not ApprovalStatus.APPROVED:
            return
        strategy_id = StrategyId.parse(request.subject_id)
        approved_version = request.facts["version"]
        current = self.get(strategy_id)
        if current.status is StrategyStatus.LIVE and current.version == approved_version:
            return  # applied already (by the process that took the decision)

        def gate(_: UnitOfWork, strategy: Strategy) -> str:
            if strategy.version != approved_version:
                raise GateRefused(
                    f"approval {request.id} was for version {approved_version}, "
                    f"the strategy is now at version {strategy.version}"
                )
            return f"approved by {request.decided_by}: {request.decision_reason}"

        actor = request.decided_by or "approval"
        self._transition(strategy_id, StrategyTrigger.GO_LIVE, actor, "", gate)

    def pause(self, strategy_id: StrategyId, actor: str, reason: str) -> Strategy:
        return self._transition(strategy_id, StrategyTrigger.PAUSE, actor, reason)

    def resume(self, strategy_id: StrategyId, actor: str, reason: str) -> Strategy:
        return self._transition(strategy_id, StrategyTrigger.RESUME, actor, reason)

    def stop(self, strategy_id: StrategyId, actor: str, reason: str) -> Strategy:
        return self._transition(strategy_id, StrategyTrigger.STOP, actor, reason)

    # --- internals --------------------------------------------------------------------------
    def _new_version(self, strategy_id: StrategyId, make: Any) -> StrategyVersion:
        with self.database.transaction() as uow:
            strategy = uow.strategies.get(strategy_id, for_update=True)
            version: StrategyVersion = make(
                uow.strategy_versions.history(strategy_id), self.clock.utc_now()
            )
            _adopt(strategy, version)
            uow.strategies.update(strategy)
            event = self._store_version(uow, version)
        self._publish(event)
        return version

    def _store_version(self, uow: UnitOfWork, version: StrategyVersion) -> StrategyVersionCreated:
        """Store the version with its event and audit entry; returns the event."""
        event = self._version_event(version)
        uow.strategy_versions.add(version)
        uow.events.append(event)
        uow.audit.record(
            version.author,
            "strategy.version_created",
            "strategy",
            version.strategy_id,
            {"version": version.version, "note": version.change_note, "diff": version.diff},
        )
        return event

    def _version_event(self, version: StrategyVersion) -> StrategyVersionCreated:
        return StrategyVersionCreated(
            event_id=EventId.new(self.ids),
            occurred_at=version.created_at,
            strategy_id=version.strategy_id,
            version=version.version,
            author=version.author,
            content_hash=version.content_hash,
            change_note=version.change_note,
            restored_from=version.restored_from,
        )

    def _transition(
        self,
        strategy_id: StrategyId,
        trigger: StrategyTrigger,
        actor: str,
        reason: str,
        gate: Any = None,
    ) -> Strategy:
        now = self.clock.utc_now()
        with self.database.transaction() as uow:
            strategy = uow.strategies.get(strategy_id, for_update=True)
            if gate is not None:
                STRATEGY_LIFECYCLE.next_state(strategy.status, trigger)  # allowed at all?
                reason = gate(uow, strategy)
            previous = strategy.apply(trigger, now)
            uow.strategies.update(strategy)
            event = StrategyStatusChanged(
                event_id=EventId.new(self.ids),
                occurred_at=now,
                strategy_id=strategy_id,
                version=strategy.version,
                from_status=previous,
                to_status=strategy.status,
                reason=reason,
            )
            uow.events.append(event)
            uow.audit.record(
                actor,
                "strategy.status_changed",
                "strategy",
                strategy_id,
                {"from": previous.value, "to": strategy.status.value, "reason": reason},
            )
        self._publish(event)
        return strategy

    def _publish(self, event: DomainEvent) -> None:
        if self.bus is not None:
            self.bus.publish(event.topic, event)


def _adopt(strategy: Strategy, version: StrategyVersion) -> None:
    """The strategy row shows its current version's content."""
    document = version.document
    strategy.version = version.version
    strategy.name = document["name"]
    strategy.description = document.get("description", "")
    strategy.entry_rules = document.get("entry_rules") or {}  # a Python strategy has none
    strategy.exit_rules = document.get("exit_rules") or {}
    strategy.risk_parameters = document.get("risk_parameters") or {}
    strategy.updated_at = version.created_at
