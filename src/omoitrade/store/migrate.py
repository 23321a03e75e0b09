"""Schema migrations (Alembic), runnable from code and from ``omoitrade db``."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from omoitrade.store.database import create_database_engine

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(engine: Engine) -> Config:
    """An Alembic configuration that migrates through ``engine``'s connections."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(url_or_engine: str | Engine, revision: str = "head") -> None:
    """Bring the schema up to ``revision`` (the newest by default)."""
    engine = _engine(url_or_engine)
    command.upgrade(alembic_config(engine), revision)


def downgrade(url_or_engine: str | Engine, revision: str) -> None:
    engine = _engine(url_or_engine)
    command.downgrade(alembic_config(engine), revision)


def current_revision(url_or_engine: str | Engine) -> str | None:
    """The revision the database is at, or None if it was never migrated."""
    engine = _engine(url_or_engine)
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def _engine(url_or_engine: str | Engine) -> Engine:
    return (
        url_or_engine
        if isinstance(url_or_engine, Engine)
        else create_database_engine(url_or_engine)
    )
