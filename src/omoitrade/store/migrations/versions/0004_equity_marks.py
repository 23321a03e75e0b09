"""equity marks: each portfolio's day-start equity and high-water mark

The daily-loss and drawdown limits measure against them; kept so that a restart
does not forget the day's losses or the peak.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 12:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import omoitrade.store.types

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "equity_marks",
        sa.Column("portfolio_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("day_start", omoitrade.store.types.ExactDecimal(), nullable=False),
        sa.Column("high_water_mark", omoitrade.store.types.ExactDecimal(), nullable=False),
        sa.Column("updated_at", omoitrade.store.types.UtcDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["portfolio_id"],
            ["portfolios.id"],
            name=op.f("fk_equity_marks_portfolio_id_portfolios"),
        ),
        sa.PrimaryKeyConstraint("portfolio_id", name=op.f("pk_equity_marks")),
    )


def downgrade() -> None:
    op.drop_table("equity_marks")
