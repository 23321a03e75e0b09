"""Engines and transactions for SQLite (embedded default) and PostgreSQL.

SQLite runs in WAL mode with foreign keys enforced and ``synchronous=FULL``,
so a committed transaction survives a power cut. A writing transaction starts
with ``BEGIN IMMEDIATE``: it takes the write lock up front, so a
read-modify-write waits for another writer (``busy_timeout``) instead of
failing when it tries to upgrade a read lock. PostgreSQL is reached through
psycopg 3; a plain ``postgresql://`` URL is taken to mean that driver.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url

from omoitrade.core.clock import Clock, LiveClock
from omoitrade.store.mapping import execute_on_driver
from omoitrade.store.unit_of_work import UnitOfWork

WRITE_OPTION = "omoi_write"  # execution option: False for a read-only transaction


def normalize_url(url: str | URL) -> URL:
    """Pin the driver: ``postgresql`` means psycopg 3, ``sqlite`` means the stdlib driver."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def create_database_engine(url: str | URL, **options: Any) -> Engine:
    """An engine configured for durability and correctness on its dialect."""
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        connect_args = {"timeout": 30, **options.pop("connect_args", {})}
        engine = create_engine(parsed, connect_args=connect_args, **options)
        _configure_sqlite(engine)
        return engine
    return create_engine(parsed, pool_pre_ping=True, **options)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "journal_mode=WAL",
            "foreign_keys=ON",
            "synchronous=FULL",
            "busy_timeout=30000",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        writing = connection.get_execution_options().get(WRITE_OPTION, True)
        execute_on_driver(connection, "BEGIN IMMEDIATE" if writing else "BEGIN")


class Database:
    """The system's database: hands out units of work, one transaction each."""

    def __init__(self, url: str | URL, clock: Clock | None = None, **options: Any) -> None:
        self.url = normalize_url(url)
        self.engine = create_database_engine(self.url, **options)
        self.clock = clock or LiveClock()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[UnitOfWork]:
        """A unit of work committed when the block ends, rolled back if it raises.

        Read-modify-write code loads with ``get(id, for_update=True)`` so that
        concurrent writers queue instead of overwriting each other. Pass
        ``write=False`` for a read-only unit of work, which never waits for writers.
        """
        with self.engine.connect() as connection:
            connection.execution_options(**{WRITE_OPTION: write})
            with connection.begin():
                yield UnitOfWork(connection, self.clock)

    def dispose(self) -> None:
        self.engine.dispose()
