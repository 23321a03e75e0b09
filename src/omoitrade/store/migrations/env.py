"""Alembic environment: migrates through the engine handed over by omoitrade.store.migrate."""

from __future__ import annotations

from alembic import context

from omoitrade.store.database import create_database_engine
from omoitrade.store.tables import metadata

config = context.config
engine = config.attributes.get("engine") or create_database_engine(
    config.get_main_option("sqlalchemy.url")
)

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    context.run_migrations()
