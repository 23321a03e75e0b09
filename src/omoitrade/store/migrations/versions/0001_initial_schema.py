"""tenants and reference data: organizations, users, portfolios, instruments, bars, bots

Revision ID: 0001
Revises:
Create Date: 2026-11-25 10:50:00
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


def upgrade() -> None:
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


def downgrade() -> None:
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
