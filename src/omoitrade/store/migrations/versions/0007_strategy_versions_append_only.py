"""strategy_versions: append-only in the database itself

A strategy's versions are immutable (a change, or a rollback, is a new version): the
database refuses UPDATE and DELETE on them (and TRUNCATE on PostgreSQL), as it does for
the event store and the audit log.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 21:50:00
"""

from collections.abc import Sequence

from omoitrade.store.append_only import create_append_only_triggers, drop_append_only_triggers

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_append_only_triggers(["strategy_versions"], with_function=False)


def downgrade() -> None:
    drop_append_only_triggers(["strategy_versions"], with_function=False)
