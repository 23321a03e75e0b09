"""Repositories of a strategy's versions, backtest runs and per-mode performance, and of
the approval gates' requests."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import select

from omoitrade.core.approvals import ApprovalRequest, ApprovalStatus
from omoitrade.core.errors import Conflict
from omoitrade.model.enums import BacktestStatus, TradingMode
from omoitrade.model.identifiers import StrategyId
from omoitrade.model.strategy_versions import BacktestRun, StrategyPerformance, StrategyVersion
from omoitrade.store import tables
from omoitrade.store.repositories import Repository, key_of

IMMUTABLE = "strategy versions are immutable: a change (or a rollback) is a new version"


class StrategyVersionRepository(Repository[StrategyVersion]):
    """Versions are only ever added: a change is a new version (unique per number). The
    database refuses updates and deletes too (migration 0007)."""

    entity_cls = StrategyVersion
    table = tables.strategy_versions

    def update_all(self, entities: Sequence[StrategyVersion], *, savepoint: bool = True) -> None:
        raise Conflict(IMMUTABLE)

    def delete(self, entity_id: UUID) -> None:
        raise Conflict(IMMUTABLE)

    def history(self, strategy_id: StrategyId) -> list[StrategyVersion]:
        """Every version of a strategy, oldest first."""
        t = self.table
        return self.list(t.c.strategy_id == key_of(strategy_id), order_by=[t.c.version])

    def version(self, strategy_id: StrategyId, number: int) -> StrategyVersion | None:
        t = self.table
        return self._one((t.c.strategy_id == key_of(strategy_id)) & (t.c.version == number))

    def latest(self, strategy_id: StrategyId) -> StrategyVersion | None:
        t = self.table
        query = (
            select(t)
            .where(t.c.strategy_id == key_of(strategy_id))
            .order_by(t.c.version.desc())
            .limit(1)
        )
        row = self.connection.execute(query).mappings().first()
        return None if row is None else self.mapper.from_row(row)


class BacktestRunRepository(Repository[BacktestRun]):
    entity_cls = BacktestRun
    table = tables.backtest_runs

    def for_version(self, strategy_id: StrategyId, version: int) -> list[BacktestRun]:
        """The version's runs, oldest first."""
        t = self.table
        where = (t.c.strategy_id == key_of(strategy_id)) & (t.c.strategy_version == version)
        return self.list(where, order_by=[t.c.started_at])

    def completed(self, strategy_id: StrategyId, version: int) -> list[BacktestRun]:
        return [
            run
            for run in self.for_version(strategy_id, version)
            if run.status is BacktestStatus.COMPLETED
        ]


class StrategyPerformanceRepository(Repository[StrategyPerformance]):
    entity_cls = StrategyPerformance
    table = tables.strategy_performance

    def of(
        self, strategy_id: StrategyId, version: int, mode: TradingMode
    ) -> StrategyPerformance | None:
        t = self.table
        return self._one(
            (t.c.strategy_id == key_of(strategy_id)) & (t.c.version == version) & (t.c.mode == mode)
        )

    def for_strategy(self, strategy_id: StrategyId) -> list[StrategyPerformance]:
        t = self.table
        return self.list(t.c.strategy_id == key_of(strategy_id), order_by=[t.c.version, t.c.mode])


class ApprovalRequestRepository(Repository[ApprovalRequest]):
    entity_cls = ApprovalRequest
    table = tables.approval_requests

    def pending(self, scope: str | None = None) -> list[ApprovalRequest]:
        """Open requests, oldest first."""
        t = self.table
        where = t.c.status == ApprovalStatus.PENDING
        if scope is not None:
            where = where & (t.c.scope == scope)
        return self.list(where, order_by=[t.c.created_at])

    def save(self, request: ApprovalRequest) -> None:
        """Insert a new request or overwrite the stored one (its decision)."""
        if self.find(request.id) is None:
            self.add(request)
        else:
            self.update(request)
