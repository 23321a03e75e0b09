"""Database triggers that make tables append-only: UPDATE and DELETE refused (and TRUNCATE on
PostgreSQL), by the database itself, whatever code runs against it. Used by migrations."""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op


def create_append_only_triggers(tables: Sequence[str], *, with_function: bool) -> None:
    """Refuse changes to ``tables``; ``with_function`` creates the PostgreSQL trigger
    function too (once, by the first migration that needs it)."""
    if op.get_bind().dialect.name == "postgresql":
        if with_function:
            op.execute(
                "CREATE FUNCTION omoi_refuse_change() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$"
            )
        for table in tables:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION omoi_refuse_change()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION omoi_refuse_change()"
            )
        return
    for table in tables:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_append_only_{action.lower()} BEFORE {action} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
            )


def drop_append_only_triggers(tables: Sequence[str], *, with_function: bool) -> None:
    """Undo :func:`create_append_only_triggers` for ``tables``."""
    if op.get_bind().dialect.name == "postgresql":
        for table in tables:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        if with_function:
            op.execute("DROP FUNCTION IF EXISTS omoi_refuse_change()")
        return
    for table in tables:
        for action in ("update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only_{action}")
