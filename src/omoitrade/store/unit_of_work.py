"""A unit of work: every repository bound to one open transaction."""

from __future__ import annotations

from functools import cached_property

from sqlalchemy import Connection

from omoitrade.core.clock import Clock
from omoitrade.store import governance_repositories as governance
from omoitrade.store import repositories as repos
from omoitrade.store.audit import AuditLog
from omoitrade.store.event_store import EventStore


class UnitOfWork:
    """What :meth:`Database.transaction` yields; everything done through it commits together."""

    def __init__(self, connection: Connection, clock: Clock) -> None:
        self.connection = connection
        self.clock = clock

    @cached_property
    def organizations(self) -> repos.OrganizationRepository:
        return repos.OrganizationRepository(self.connection)

    @cached_property
    def users(self) -> repos.UserRepository:
        return repos.UserRepository(self.connection)

    @cached_property
    def portfolios(self) -> repos.PortfolioRepository:
        return repos.PortfolioRepository(self.connection)

    @cached_property
    def instruments(self) -> repos.InstrumentRepository:
        return repos.InstrumentRepository(self.connection)

    @cached_property
    def market_data(self) -> repos.MarketDataRepository:
        return repos.MarketDataRepository(self.connection)

    @cached_property
    def strategies(self) -> repos.StrategyRepository:
        return repos.StrategyRepository(self.connection)

    @cached_property
    def signals(self) -> repos.SignalRepository:
        return repos.SignalRepository(self.connection)

    @cached_property
    def orders(self) -> repos.OrderRepository:
        return repos.OrderRepository(self.connection)

    @cached_property
    def trades(self) -> repos.TradeRepository:
        return repos.TradeRepository(self.connection)

    @cached_property
    def positions(self) -> repos.PositionRepository:
        return repos.PositionRepository(self.connection)

    @cached_property
    def risk_limits(self) -> repos.RiskLimitRepository:
        return repos.RiskLimitRepository(self.connection)

    @cached_property
    def equity_marks(self) -> repos.EquityMarksRepository:
        return repos.EquityMarksRepository(self.connection)

    @cached_property
    def strategy_versions(self) -> governance.StrategyVersionRepository:
        return governance.StrategyVersionRepository(self.connection)

    @cached_property
    def backtest_runs(self) -> governance.BacktestRunRepository:
        return governance.BacktestRunRepository(self.connection)

    @cached_property
    def strategy_performance(self) -> governance.StrategyPerformanceRepository:
        return governance.StrategyPerformanceRepository(self.connection)

    @cached_property
    def approvals(self) -> governance.ApprovalRequestRepository:
        return governance.ApprovalRequestRepository(self.connection)

    @cached_property
    def agents(self) -> repos.TradingAgentRepository:
        return repos.TradingAgentRepository(self.connection)

    @cached_property
    def tasks(self) -> repos.TradingTaskRepository:
        return repos.TradingTaskRepository(self.connection)

    @cached_property
    def events(self) -> EventStore:
        return EventStore(self.connection, self.clock)

    @cached_property
    def audit(self) -> AuditLog:
        return AuditLog(self.connection, self.clock)
