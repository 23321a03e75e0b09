"""trading: strategies, signals, orders, trades, positions, risk limits, bot tasks

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 10:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import omoitrade.store.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
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


def downgrade() -> None:
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
