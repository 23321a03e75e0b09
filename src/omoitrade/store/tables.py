"""The relational schema: one table per domain entity, plus the event store and audit log.

Column names equal the entity's field names, which lets one mapper serve every
entity (see :mod:`omoitrade.store.mapping`). Migrations (Alembic) create this
schema; tests check that the migrations and these tables agree.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
)

from omoitrade.core.approvals import ApprovalStatus
from omoitrade.model import enums
from omoitrade.store.types import ExactDecimal, JsonDocument, UtcDateTime, enum_column_type

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Sequence = BigInteger().with_variant(Integer(), "sqlite")  # an INTEGER PRIMARY KEY on SQLite


def _id() -> Column[Any]:
    return Column("id", Uuid(), primary_key=True)


def _fk(name: str, target: str, *, nullable: bool = False, index: bool = True) -> Column[Any]:
    return Column(name, Uuid(), ForeignKey(f"{target}.id"), nullable=nullable, index=index)


def _money(name: str, *, nullable: bool = False) -> Column[Any]:
    return Column(name, ExactDecimal(), nullable=nullable)


def _at(name: str, *, nullable: bool = False) -> Column[Any]:
    return Column(name, UtcDateTime(), nullable=nullable)


def _enum(name: str, enum_cls: type, *, nullable: bool = False) -> Column[Any]:
    return Column(name, enum_column_type(enum_cls), nullable=nullable)


organizations = Table(
    "organizations",
    metadata,
    _id(),
    Column("name", String(200), nullable=False),
    Column("slug", String(100), nullable=False, unique=True),
    _at("created_at"),
    Column("is_active", Boolean, nullable=False),
)

users = Table(
    "users",
    metadata,
    _id(),
    _fk("organization_id", "organizations"),
    Column("email", String(320), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False),
    _enum("role", enums.UserRole),
    _at("created_at"),
    Column("password_hash", String(500)),
    Column("is_active", Boolean, nullable=False),
)

portfolios = Table(
    "portfolios",
    metadata,
    _id(),
    _fk("organization_id", "organizations"),
    Column("name", String(200), nullable=False),
    Column("base_currency", String(16), nullable=False),
    _money("initial_capital"),
    _money("current_equity"),
    _money("cash"),
    _money("margin_available"),
    _at("created_at"),
    _enum("risk_profile", enums.RiskProfile),
    Column("connected_exchanges", JsonDocument, nullable=False),
    _at("updated_at"),
    UniqueConstraint("organization_id", "name"),
)

instruments = Table(
    "instruments",
    metadata,
    _id(),
    Column("symbol", String(64), nullable=False),
    Column("exchange", String(64), nullable=False),
    _enum("instrument_type", enums.InstrumentType),
    Column("base_currency", String(16), nullable=False),
    Column("quote_currency", String(16), nullable=False),
    _money("tick_size"),
    _money("lot_size"),
    _money("min_quantity"),
    Column("is_active", Boolean, nullable=False),
    Column("metadata", JsonDocument, nullable=False),
    UniqueConstraint("exchange", "symbol"),
)

market_data = Table(
    "market_data",
    metadata,
    _id(),
    _fk("instrument_id", "instruments", index=False),
    _at("timestamp"),
    _enum("timeframe", enums.Timeframe),
    _money("open"),
    _money("high"),
    _money("low"),
    _money("close"),
    _money("volume"),
    _money("bid", nullable=True),
    _money("ask", nullable=True),
    UniqueConstraint("instrument_id", "timeframe", "timestamp"),
)

strategies = Table(
    "strategies",
    metadata,
    _id(),
    _fk("portfolio_id", "portfolios"),
    Column("name", String(200), nullable=False),
    _enum("strategy_type", enums.StrategyType),
    _at("created_at"),
    Column("description", Text, nullable=False),
    Column("entry_rules", JsonDocument, nullable=False),
    Column("exit_rules", JsonDocument, nullable=False),
    Column("risk_parameters", JsonDocument, nullable=False),
    _enum("status", enums.StrategyStatus),
    Column("version", Integer, nullable=False),
    Column("performance_metrics", JsonDocument, nullable=False),
    _at("updated_at"),
)

strategy_versions = Table(  # immutable: a change is a new row
    "strategy_versions",
    metadata,
    _id(),
    _fk("strategy_id", "strategies", index=False),
    Column("version", Integer, nullable=False),
    Column("document", JsonDocument, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("author", String(200), nullable=False),
    _at("created_at"),
    Column("change_note", Text, nullable=False),
    Column("diff", JsonDocument, nullable=False),
    Column("restored_from", Integer),
    UniqueConstraint("strategy_id", "version"),
)

backtest_runs = Table(
    "backtest_runs",
    metadata,
    _id(),
    _fk("strategy_id", "strategies", index=False),
    Column("strategy_version", Integer, nullable=False),
    _at("started_at"),
    _enum("status", enums.BacktestStatus),
    Column("parameters", JsonDocument, nullable=False),
    Column("metrics", JsonDocument, nullable=False),
    _at("finished_at", nullable=True),
    Column("error", Text, nullable=False),
    Index("ix_backtest_runs_strategy_id_strategy_version", "strategy_id", "strategy_version"),
)

strategy_performance = Table(  # one row per strategy version and trading mode
    "strategy_performance",
    metadata,
    _id(),
    _fk("strategy_id", "strategies", index=False),
    Column("version", Integer, nullable=False),
    _enum("mode", enums.TradingMode),
    _at("started_at"),
    _at("updated_at"),
    Column("metrics", JsonDocument, nullable=False),
    UniqueConstraint("strategy_id", "version", "mode"),
)

approval_requests = Table(
    "approval_requests",
    metadata,
    _id(),
    Column("gate", String(100), nullable=False),
    Column("scope", String(200), nullable=False),
    Column("subject_type", String(100), nullable=False),
    Column("subject_id", String(200), nullable=False),
    Column("requested_action", String(200), nullable=False),
    Column("facts", JsonDocument, nullable=False),
    Column("requested_by", String(200), nullable=False),
    _at("created_at"),
    _at("expires_at"),
    _enum("status", ApprovalStatus),
    Column("decided_by", String(200)),
    _at("decided_at", nullable=True),
    Column("decision_reason", Text),
    Column("auto", Boolean, nullable=False),
    Index("ix_approval_requests_status_created_at", "status", "created_at"),
)

signals = Table(
    "signals",
    metadata,
    _id(),
    _fk("strategy_id", "strategies"),
    _fk("instrument_id", "instruments"),
    _enum("signal_type", enums.SignalType),
    Column("strength", Double(), nullable=False),  # a score, not money
    Column("source", String(200), nullable=False),
    _at("created_at"),
    _money("entry_price", nullable=True),
    _money("stop_loss", nullable=True),
    _money("take_profit", nullable=True),
    _at("expiry_at", nullable=True),
    _enum("status", enums.SignalStatus),
    Column("validation_result", JsonDocument),
    Index("ix_signals_status_created_at", "status", "created_at"),
)

orders = Table(
    "orders",
    metadata,
    _id(),
    _fk("portfolio_id", "portfolios", index=False),
    _fk("instrument_id", "instruments"),
    Column("client_order_id", String(64), nullable=False),
    _enum("order_type", enums.OrderType),
    _enum("side", enums.OrderSide),
    _money("quantity"),
    _at("created_at"),
    _money("price", nullable=True),
    _money("stop_price", nullable=True),
    _enum("time_in_force", enums.TimeInForce),
    _fk("signal_id", "signals", nullable=True),
    _enum("status", enums.OrderStatus),
    Column("reject_reason", Text),
    Column("cancel_reason", Text),
    Column("exchange_order_id", String(128)),
    _money("filled_quantity"),
    _money("average_fill_price", nullable=True),
    _money("commission"),
    _at("submitted_at", nullable=True),
    _at("filled_at", nullable=True),
    _at("updated_at"),
    Column("oco_group", String(64)),
    UniqueConstraint("portfolio_id", "client_order_id"),
    Index("ix_orders_status", "status"),
)

trades = Table(
    "trades",
    metadata,
    _id(),
    _fk("order_id", "orders", index=False),
    _fk("instrument_id", "instruments"),
    _enum("side", enums.OrderSide),
    _money("execution_price"),
    _money("quantity"),
    Column("exchange_trade_id", String(128), nullable=False),
    _at("executed_at"),
    _money("commission"),
    _money("slippage", nullable=True),
    UniqueConstraint("order_id", "exchange_trade_id"),
)

positions = Table(
    "positions",
    metadata,
    _id(),
    _fk("portfolio_id", "portfolios", index=False),
    _fk("instrument_id", "instruments"),
    _at("opened_at"),
    _enum("side", enums.PositionSide),
    _money("quantity"),
    _money("average_entry_price", nullable=True),
    _money("current_price", nullable=True),
    _money("unrealized_pnl"),
    _money("realized_pnl"),
    _money("margin_used"),
    _at("updated_at"),
    UniqueConstraint("portfolio_id", "instrument_id"),
)

risk_limits = Table(
    "risk_limits",
    metadata,
    _id(),
    _fk("portfolio_id", "portfolios"),
    _enum("limit_type", enums.LimitType),
    _money("limit_value"),
    _enum("action_on_breach", enums.BreachAction),
    _at("created_at"),
    _fk("instrument_id", "instruments", nullable=True, index=False),
    _money("current_value"),
    Column("is_breached", Boolean, nullable=False),
    _at("updated_at"),
)

equity_marks = Table(  # one row per portfolio: what its loss limits measure against
    "equity_marks",
    metadata,
    Column("portfolio_id", Uuid(), ForeignKey("portfolios.id"), primary_key=True),
    Column("day", Date(), nullable=False),
    _money("day_start"),
    _money("high_water_mark"),
    _at("updated_at"),
)

trading_agents = Table(
    "trading_agents",
    metadata,
    _id(),
    Column("name", String(200), nullable=False, unique=True),
    _enum("agent_role", enums.AgentRole),
    _at("registered_at"),
    _enum("status", enums.AgentStatus),
    Column("assigned_strategies", JsonDocument, nullable=False),
    Column("assigned_instruments", JsonDocument, nullable=False),
    Column("trading_permissions", JsonDocument, nullable=False),
    Column("performance_metrics", JsonDocument, nullable=False),
    _at("last_heartbeat_at", nullable=True),
)

trading_tasks = Table(
    "trading_tasks",
    metadata,
    _id(),
    _enum("task_category", enums.TaskCategory),
    _at("created_at"),
    Column("priority", Integer, nullable=False),
    _enum("status", enums.TaskStatus),
    _fk("portfolio_id", "portfolios", nullable=True),
    _fk("agent_id", "trading_agents", nullable=True),
    _fk("related_order_id", "orders", nullable=True),
    _fk("related_position_id", "positions", nullable=True),
    Column("payload", JsonDocument, nullable=False),
    Column("execution_result", JsonDocument),
    _at("started_at", nullable=True),
    _at("completed_at", nullable=True),
    Index("ix_trading_tasks_status_priority", "status", "priority"),
)

events = Table(
    "events",
    metadata,
    Column("sequence", Sequence, primary_key=True, autoincrement=True),
    Column("event_id", Uuid(), nullable=False, unique=True),
    Column("event_type", String(100), nullable=False),
    Column("topic", String(200), nullable=False),
    Column("stream_id", Uuid(), nullable=False, index=True),
    _at("occurred_at"),
    _at("recorded_at"),
    Column("payload", JsonDocument, nullable=False),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("sequence", Sequence, primary_key=True, autoincrement=True),
    Column("entry_id", Uuid(), nullable=False, unique=True),
    _at("recorded_at"),
    Column("actor", String(200), nullable=False),
    Column("action", String(100), nullable=False),
    Column("entity_type", String(100), nullable=False),
    Column("entity_id", String(200), nullable=False),
    Column("details", Text, nullable=False),  # the exact canonical JSON that was hashed
    Column("prev_hash", String(64), nullable=False),
    Column("entry_hash", String(64), nullable=False, unique=True),
)
