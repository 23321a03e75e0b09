"""Shared fixtures: databases on SQLite (always) and PostgreSQL (when configured).

Integration tests that need a service read its URL from the environment
(``OMOI_TEST_POSTGRES_URL``, ``OMOI_TEST_REDIS_URL``). Without it they skip with
the reason; with ``OMOI_REQUIRE_SERVICES=1`` (CI) they fail instead.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from omoitrade.core.clock import SimulatedClock
from omoitrade.runtime.demo import seed_demo
from omoitrade.store import Database
from omoitrade.store.database import create_database_engine
from omoitrade.store.migrate import upgrade
from omoitrade.store.tables import metadata
from omoitrade.testing.cli import CommandLine
from omoitrade.testing.factories import T0

START_NS = int(T0.timestamp()) * 1_000_000_000


def service_url(variable: str, service: str) -> str:
    """The URL of a required service, or skip (fail under OMOI_REQUIRE_SERVICES=1)."""
    url = os.environ.get(variable)
    if url:
        return url
    reason = f"{service} is not configured: set {variable} to run this test"
    if os.environ.get("OMOI_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason} (OMOI_REQUIRE_SERVICES=1 makes it required)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "omoitrade.db"
    engine = create_database_engine(f"sqlite:///{path}")
    upgrade(engine)
    engine.dispose()  # checkpoints the WAL into the main file
    return path


@pytest.fixture
def sqlite_database(sqlite_template: Path, tmp_path: Path) -> Iterator[Database]:
    path = tmp_path / "omoitrade.db"
    shutil.copyfile(sqlite_template, path)
    database = Database(f"sqlite:///{path}", clock=SimulatedClock(START_NS))
    yield database
    database.dispose()


@pytest.fixture(scope="session")
def postgres_schema() -> Iterator[tuple[str, str]]:
    """A private schema in the test database, migrated once for the session."""
    url = service_url("OMOI_TEST_POSTGRES_URL", "PostgreSQL")
    schema = f"omoi_test_{uuid.uuid4().hex[:12]}"
    admin = create_database_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = create_database_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    upgrade(engine)
    engine.dispose()
    yield url, schema
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def postgres_database(postgres_schema: tuple[str, str]) -> Iterator[Database]:
    url, schema = postgres_schema
    database = Database(
        url,
        clock=SimulatedClock(START_NS),
        connect_args={"options": f"-csearch_path={schema}"},
    )
    names = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
    with database.engine.begin() as connection:
        # Tests only: replica mode skips the triggers that keep history append-only.
        connection.execute(text("SET LOCAL session_replication_role = replica"))
        connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    yield database
    database.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest) -> Database:
    """The same test on SQLite and on PostgreSQL."""
    return request.getfixturevalue(f"{request.param}_database")


@pytest.fixture
def omoitrade(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> CommandLine:
    """The ``omoitrade`` command in this process, on a fresh SQLite database with the demo
    desk (``OMOI_DATABASE_URL`` points at it)."""
    url = f"sqlite:///{tmp_path}/omoitrade.db"
    upgrade(url)
    database = Database(url)
    seed_demo(database)
    database.dispose()
    monkeypatch.setenv("OMOI_DATABASE_URL", url)
    monkeypatch.setenv("COLUMNS", "250")
    return CommandLine(capsys, monkeypatch)
