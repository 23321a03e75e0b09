"""Migrations build exactly the schema the code declares, and can be undone."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from omoitrade.store import Database
from omoitrade.store.migrate import current_revision, downgrade, head_revision, upgrade
from omoitrade.store.tables import metadata


def test_migrated_schema_matches_the_tables_declared_in_code(database: Database) -> None:
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, metadata)
    assert differences == []
    assert current_revision(database.engine) == head_revision()


def test_downgrade_to_base_and_upgrade_again(database: Database) -> None:
    downgrade(database.engine, "base")
    assert current_revision(database.engine) is None
    assert set(inspect(database.engine).get_table_names()) <= {"alembic_version"}
    upgrade(database.engine)
    assert current_revision(database.engine) == head_revision()
    assert set(metadata.tables) <= set(inspect(database.engine).get_table_names())
