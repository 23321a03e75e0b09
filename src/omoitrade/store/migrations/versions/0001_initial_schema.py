"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25 08:50:59.986297
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import omoitrade.store.types

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


APPEND_ONLY = ("events", "audit_log")


def _create_append_only_triggers() -> None:
    """The database itself refuses UPDATE and DELETE on the event store and audit log."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION omoi_refuse_change() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$"
        )
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION omoi_refuse_change()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION omoi_refuse_change()"
            )
        return
    for table in APPEND_ONLY:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_append_only_{action.lower()} BEFORE {action} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )


def _drop_append_only_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        op.execute("DROP FUNCTION IF EXISTS omoi_refuse_change()")
        return
    for table in APPEND_ONLY:
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only_{action}")


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column(
            "sequence",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("entry_id", sa.Uuid(), nullable=False),
        sa.Column("recorded_at", omoitrade.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("entity_type", sa.String(length=100), nullable=False),
        sa.Column("entity_id", sa.String(length=200), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("entry_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("sequence", name=op.f("pk_audit_log")),
        sa.UniqueConstraint("entry_hash", name=op.f("uq_audit_log_entry_hash")),
        sa.UniqueConstraint("entry_id", name=op.f("uq_audit_log_entry_id")),
    )
    op.create_table(
        "events",
        sa.Column(
            "sequence",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("stream_id", sa.Uuid(), nullable=False),
        sa.Column("occurred_at", omoitrade.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", omoitrade.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("sequence", name=op.f("pk_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_events_event_id")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_events_stream_id"), ["stream_id"], unique=False)

    op.create_table(
        "instruments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("symbol", sa.String(length=64), nullable=False),
        sa.Column("exchange", sa.String(length=64), nullable=False),
        sa.Column(
            "instrument_type",
            sa.Enum(
                "SPOT",
                "FUTURES",
                "OPTIONS",
                "PERPETUAL",
                "FOREX",
                "EQUITY",
                name="instrument_type",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("base_currency", sa.String(length=16), nullable=False),
        sa.Column("quote_currency", sa.String(length=16), nullable=False),
        sa.Column("tick_size", omoitrade.store.types.ExactDecimal(), nullable=False),
        sa.Column("lot_size", omoitrade.store.types.ExactDecimal(), nullable=False),
        sa.Column("min_quantity", omoitrade.store.types.ExactDecimal(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column(
            "metadata",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_instruments")),
        sa.UniqueConstraint("exchange", "symbol", name=op.f("uq_instruments_exchange")),
    )
    op.create_table(
        "organizations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("created_at", omoitrade.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organizations")),
        sa.UniqueConstraint("slug", name=op.f("uq_organizations_slug")),
    )
    op.create_table(
        "trading_agents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "agent_role",
            sa.Enum(
                "EXECUTOR",
                "ANALYZER",
                "RISK_MONITOR",
                "GUARDIAN",
                name="agent_role",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "registered_at", omoitrade.store.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "status",
            sa.Enum(
                "IDLE",
                "RUNNING",
                "DEGRADED",
                "OFFLINE",
                "TERMINATED",
                name="agent_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "assigned_strategies",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "assigned_instruments",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "trading_permissions",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "performance_metrics",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "last_heartbeat_at", omoitrade.store.types.UtcDateTime(timezone=True), nullable=True
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trading_agents")),
        sa.UniqueConstraint("name", name=op.f("uq_trading_agents_name")),
    )
    op.create_table(
        "market_data",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("instrument_id", sa.Uuid(), nullable=False),
        sa.Column("timestamp", omoitrade.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column(
            "timeframe",
            sa.Enum(
                "1m",
                "5m",
                "15m",
                "1h",
                "4h",
                "1d",
                name="timeframe",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("open", omoitrade.store.types.ExactDecimal(), nullable=False),
        sa.Column("high", omoitrade.store.types.ExactDecimal(), nullable=False),
        sa.Column("low", omoitrade.store.types.ExactDecimal(), nullable=False),
        sa.Column("close", omoitrade.store.types.ExactDecimal(), nullable=False),
        sa.Column("volume", omoitrade.store.types.ExactDecimal(), nullable=False),
        sa.Column("bid", omoitrade.store.types.ExactDecimal(), nullable=True),
        sa.Column("ask", omoitrade.store.types.ExactDecimal(), nullable=True),
        sa.ForeignKeyConstraint(
            ["instrument_id"],
            ["instruments.id"],
            name=op.f("fk_market_data_instrument_id_instruments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_market_data")),
        sa.UniqueConstraint(
            "instrument_id", "timeframe", "timestamp", name=op.f("uq_market_data_instrument_id")
        ),
    )
    op.create_table(
        "portfolios",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("base_currency", sa.String(length=16), nullable=False),
        sa.Column("initial_capital", omoitrade.store.types.ExactDecimal(), nullable=False),
        sa.Column("current_equity", omoitrade.store.types.ExactDecimal(), nullable=False),
        sa.Column("cash", omoitrade.store.types.ExactDecimal(), nullable=False),
        sa.Column("margin_available", omoitrade.store.types.ExactDecimal(), nullable=False),
        sa.Column("created_at", omoitrade.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column(
            "risk_profile",
            sa.Enum(
                "CONSERVATIVE",
                "MODERATE",
                "AGGRESSIVE",
                name="risk_profile",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "connected_exchanges",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("updated_at", omoitrade.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_portfolios_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portfolios")),
        sa.UniqueConstraint("organization_id", "name", name=op.f("uq_portfolios_organization_id")),
    )
    with op.batch_alter_table("portfolios", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_portfolios_organization_id"), ["organization_id"], unique=False
        )

    op.create_table(
        "users",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "ADMIN",
                "TRADER",
                "RISK_MANAGER",
                "VIEWER",
                name="user_role",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("created_at", omoitrade.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("password_hash", sa.String(length=500), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_users_organization_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_users_organization_id"), ["organization_id"], unique=False
        )

    op.create_table(
        "positions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("portfolio_id", sa.Uuid(), nullable=False),
        sa.Column("instrument_id", sa.Uuid(), nullable=False),
        sa.Column("opened_at", omoitrade.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column(
            "side",
            sa.Enum(
                "LONG",
                "SHORT",
                "FLAT",
                name="position_side",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("quantity", omoitrade.store.types.ExactDecimal(), nullable=False),
        sa.Column("average_entry_price", omoitrade.store.types.ExactDecimal(), nullable=True),
        sa.Column("current_price", omoitrade.store.types.ExactDecimal(), nullable=True),
        sa.Column("unrealized_pnl", omoitrade.store.types.ExactDecimal(), nullable=False),
        sa.Column("realized_pnl", omoitrade.store.types.ExactDecimal(), nullable=False),
        sa.Column("margin_used", omoitrade.store.types.ExactDecimal(), nullable=False),
        sa.Column("updated_at", omoitrade.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["instrument_id"],
            ["instruments.id"],
            name=op.f("fk_positions_instrument_id_instruments"),
        ),
        sa.ForeignKeyConstraint(
            ["portfolio_id"], ["portfolios.id"], name=op.f("fk_positions_portfolio_id_portfolios")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_positions")),
        sa.UniqueConstraint(
            "portfolio_id", "instrument_id", name=op.f("uq_positions_portfolio_id")
        ),
    )
    with op.batch_alter_table("positions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_positions_instrument_id"), ["instrument_id"], unique=False
        )

    op.create_table(
        "risk_limits",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("portfolio_id", sa.Uuid(), nullable=False),
        sa.Column(
            "limit_type",
            sa.Enum(
                "MAX_POSITION",
                "MAX_NOTIONAL",
                "MAX_GROSS_EXPOSURE",
                "MAX_DRAWDOWN",
                "MAX_DAILY_LOSS",
                "MAX_ORDER_SIZE",
                "MAX_ORDER_RATE",
                name="limit_type",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("limit_value", omoitrade.store.types.ExactDecimal(), nullable=False),
        sa.Column(
            "action_on_breach",
            sa.Enum(
                "ALERT",
                "REDUCE",
                "HALT",
                name="breach_action",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("created_at", omoitrade.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("instrument_id", sa.Uuid(), nullable=True),
        sa.Column("current_value", omoitrade.store.types.ExactDecimal(), nullable=False),
        sa.Column("is_breached", sa.Boolean(), nullable=False),
        sa.Column("updated_at", omoitrade.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["instrument_id"],
            ["instruments.id"],
            name=op.f("fk_risk_limits_instrument_id_instruments"),
        ),
        sa.ForeignKeyConstraint(
            ["portfolio_id"], ["portfolios.id"], name=op.f("fk_risk_limits_portfolio_id_portfolios")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_limits")),
    )
    with op.batch_alter_table("risk_limits", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_risk_limits_portfolio_id"), ["portfolio_id"], unique=False
        )

    op.create_table(
        "strategies",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("portfolio_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "strategy_type",
            sa.Enum(
                "MOMENTUM",
                "MEAN_REVERSION",
                "ARBITRAGE",
                "MARKET_MAKING",
                "TREND_FOLLOWING",
                "CUSTOM",
                name="strategy_type",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("created_at", omoitrade.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "entry_rules",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "exit_rules",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "risk_parameters",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "DRAFT",
                "BACKTESTING",
                "PAPER",
                "LIVE",
                "PAUSED",
                "STOPPED",
                name="strategy_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "performance_metrics",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("updated_at", omoitrade.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["portfolio_id"], ["portfolios.id"], name=op.f("fk_strategies_portfolio_id_portfolios")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_strategies")),
    )
    with op.batch_alter_table("strategies", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_strategies_portfolio_id"), ["portfolio_id"], unique=False
        )

    op.create_table(
        "signals",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("strategy_id", sa.Uuid(), nullable=False),
        sa.Column("instrument_id", sa.Uuid(), nullable=False),
        sa.Column(
            "signal_type",
            sa.Enum(
                "BUY",
                "SELL",
                "HOLD",
                "CLOSE",
                name="signal_type",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("strength", sa.Double(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("created_at", omoitrade.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("entry_price", omoitrade.store.types.ExactDecimal(), nullable=True),
        sa.Column("stop_loss", omoitrade.store.types.ExactDecimal(), nullable=True),
        sa.Column("take_profit", omoitrade.store.types.ExactDecimal(), nullable=True),
        sa.Column("expiry_at", omoitrade.store.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "PENDING",
                "VALIDATED",
                "REJECTED",
                "EXECUTED",
                "EXPIRED",
                name="signal_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "validation_result",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.ForeignKeyConstraint(
            ["instrument_id"], ["instruments.id"], name=op.f("fk_signals_instrument_id_instruments")
        ),
        sa.ForeignKeyConstraint(
            ["strategy_id"], ["strategies.id"], name=op.f("fk_signals_strategy_id_strategies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signals")),
    )
    with op.batch_alter_table("signals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_signals_instrument_id"), ["instrument_id"], unique=False
        )
        batch_op.create_index(
            "ix_signals_status_created_at", ["status", "created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_signals_strategy_id"), ["strategy_id"], unique=False)

    op.create_table(
        "orders",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("portfolio_id", sa.Uuid(), nullable=False),
        sa.Column("instrument_id", sa.Uuid(), nullable=False),
        sa.Column("client_order_id", sa.String(length=64), nullable=False),
        sa.Column(
            "order_type",
            sa.Enum(
                "MARKET",
                "LIMIT",
                "STOP",
                "STOP_LIMIT",
                name="order_type",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "side",
            sa.Enum(
                "BUY",
                "SELL",
                name="order_side",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("quantity", omoitrade.store.types.ExactDecimal(), nullable=False),
        sa.Column("created_at", omoitrade.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("price", omoitrade.store.types.ExactDecimal(), nullable=True),
        sa.Column("stop_price", omoitrade.store.types.ExactDecimal(), nullable=True),
        sa.Column(
            "time_in_force",
            sa.Enum(
                "GTC",
                "IOC",
                "FOK",
                "DAY",
                name="time_in_force",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("signal_id", sa.Uuid(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "PENDING",
                "SUBMITTED",
                "PARTIAL",
                "FILLED",
                "CANCELLED",
                "REJECTED",
                name="order_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("reject_reason", sa.Text(), nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column("exchange_order_id", sa.String(length=128), nullable=True),
        sa.Column("filled_quantity", omoitrade.store.types.ExactDecimal(), nullable=False),
        sa.Column("average_fill_price", omoitrade.store.types.ExactDecimal(), nullable=True),
        sa.Column("commission", omoitrade.store.types.ExactDecimal(), nullable=False),
        sa.Column("submitted_at", omoitrade.store.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("filled_at", omoitrade.store.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", omoitrade.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["instrument_id"], ["instruments.id"], name=op.f("fk_orders_instrument_id_instruments")
        ),
        sa.ForeignKeyConstraint(
            ["portfolio_id"], ["portfolios.id"], name=op.f("fk_orders_portfolio_id_portfolios")
        ),
        sa.ForeignKeyConstraint(
            ["signal_id"], ["signals.id"], name=op.f("fk_orders_signal_id_signals")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint("portfolio_id", "client_order_id", name=op.f("uq_orders_portfolio_id")),
    )
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_orders_instrument_id"), ["instrument_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_orders_signal_id"), ["signal_id"], unique=False)
        batch_op.create_index("ix_orders_status", ["status"], unique=False)

    op.create_table(
        "trades",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("instrument_id", sa.Uuid(), nullable=False),
        sa.Column(
            "side",
            sa.Enum(
                "BUY",
                "SELL",
                name="order_side",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("execution_price", omoitrade.store.types.ExactDecimal(), nullable=False),
        sa.Column("quantity", omoitrade.store.types.ExactDecimal(), nullable=False),
        sa.Column("exchange_trade_id", sa.String(length=128), nullable=False),
        sa.Column("executed_at", omoitrade.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("commission", omoitrade.store.types.ExactDecimal(), nullable=False),
        sa.Column("slippage", omoitrade.store.types.ExactDecimal(), nullable=True),
        sa.ForeignKeyConstraint(
            ["instrument_id"], ["instruments.id"], name=op.f("fk_trades_instrument_id_instruments")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_trades_order_id_orders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trades")),
        sa.UniqueConstraint("order_id", "exchange_trade_id", name=op.f("uq_trades_order_id")),
    )
    with op.batch_alter_table("trades", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_trades_instrument_id"), ["instrument_id"], unique=False
        )

    op.create_table(
        "trading_tasks",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "task_category",
            sa.Enum(
                "SIGNAL_ANALYSIS",
                "ORDER_EXECUTION",
                "RISK_CHECK",
                "REBALANCE",
                name="task_category",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("created_at", omoitrade.store.types.UtcDateTime(timezone=True), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "PENDING",
                "ASSIGNED",
                "RUNNING",
                "COMPLETED",
                "FAILED",
                "CANCELLED",
                name="task_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("portfolio_id", sa.Uuid(), nullable=True),
        sa.Column("agent_id", sa.Uuid(), nullable=True),
        sa.Column("related_order_id", sa.Uuid(), nullable=True),
        sa.Column("related_position_id", sa.Uuid(), nullable=True),
        sa.Column(
            "payload",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "execution_result",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=True,
        ),
        sa.Column("started_at", omoitrade.store.types.UtcDateTime(timezone=True), nullable=True),
        sa.Column("completed_at", omoitrade.store.types.UtcDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["trading_agents.id"],
            name=op.f("fk_trading_tasks_agent_id_trading_agents"),
        ),
        sa.ForeignKeyConstraint(
            ["portfolio_id"],
            ["portfolios.id"],
            name=op.f("fk_trading_tasks_portfolio_id_portfolios"),
        ),
        sa.ForeignKeyConstraint(
            ["related_order_id"],
            ["orders.id"],
            name=op.f("fk_trading_tasks_related_order_id_orders"),
        ),
        sa.ForeignKeyConstraint(
            ["related_position_id"],
            ["positions.id"],
            name=op.f("fk_trading_tasks_related_position_id_positions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trading_tasks")),
    )
    with op.batch_alter_table("trading_tasks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_trading_tasks_agent_id"), ["agent_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_trading_tasks_portfolio_id"), ["portfolio_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_trading_tasks_related_order_id"), ["related_order_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_trading_tasks_related_position_id"),
            ["related_position_id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_trading_tasks_status_priority", ["status", "priority"], unique=False
        )
    _create_append_only_triggers()


def downgrade() -> None:
    _drop_append_only_triggers()
    with op.batch_alter_table("trading_tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_trading_tasks_status_priority")
        batch_op.drop_index(batch_op.f("ix_trading_tasks_related_position_id"))
        batch_op.drop_index(batch_op.f("ix_trading_tasks_related_order_id"))
        batch_op.drop_index(batch_op.f("ix_trading_tasks_portfolio_id"))
        batch_op.drop_index(batch_op.f("ix_trading_tasks_agent_id"))

    op.drop_table("trading_tasks")
    with op.batch_alter_table("trades", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trades_instrument_id"))

    op.drop_table("trades")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_index("ix_orders_status")
        batch_op.drop_index(batch_op.f("ix_orders_signal_id"))
        batch_op.drop_index(batch_op.f("ix_orders_instrument_id"))

    op.drop_table("orders")
    with op.batch_alter_table("signals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_signals_strategy_id"))
        batch_op.drop_index("ix_signals_status_created_at")
        batch_op.drop_index(batch_op.f("ix_signals_instrument_id"))

    op.drop_table("signals")
    with op.batch_alter_table("strategies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_strategies_portfolio_id"))

    op.drop_table("strategies")
    with op.batch_alter_table("risk_limits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_risk_limits_portfolio_id"))

    op.drop_table("risk_limits")
    with op.batch_alter_table("positions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_positions_instrument_id"))

    op.drop_table("positions")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_users_organization_id"))

    op.drop_table("users")
    with op.batch_alter_table("portfolios", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_portfolios_organization_id"))

    op.drop_table("portfolios")
    op.drop_table("market_data")
    op.drop_table("trading_agents")
    op.drop_table("organizations")
    op.drop_table("instruments")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_events_stream_id"))

    op.drop_table("events")
    op.drop_table("audit_log")
