"""Alembic environment: migrates through the engine handed over by omoitrade.store.migrate."""

from __future__ import annotations

from alembic import context

from omoitrade.store.database import create_database_engine
from omoitrade.store.tables import metadata

config = context.config
engine = config.attributes.get("engine")
if engine is None:
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("migrations need an engine or sqlalchemy.url in the Alembic config")
    engine = create_database_engine(url)

with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    context.run_migrations()
