"""A strategy's versions are immutable: the repository and the database refuse changes."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from omoitrade.core.errors import Conflict
from omoitrade.model.strategy_versions import StrategyVersion
from omoitrade.store import Database
from omoitrade.testing import factories as f


def stored_version(database: Database) -> StrategyVersion:
    organization = f.make_organization()
    portfolio = f.make_portfolio(organization)
    strategy = f.make_strategy(portfolio.id)
    version = f.make_strategy_version(strategy)
    with database.transaction() as uow:
        uow.organizations.add(organization)
        uow.portfolios.add(portfolio)
        uow.strategies.add(strategy)
        uow.strategy_versions.add(version)
    return version


def test_the_repository_refuses_to_change_or_delete_a_version(database: Database) -> None:
    version = stored_version(database)
    with database.transaction() as uow, pytest.raises(Conflict, match="immutable"):
        uow.strategy_versions.update(replace(version, change_note="rewritten"))
    with database.transaction() as uow, pytest.raises(Conflict, match="immutable"):
        uow.strategy_versions.delete(version.id)
    with database.transaction(write=False) as uow:
        assert uow.strategy_versions.get(version.id) == version


@pytest.mark.parametrize(
    "statement",
    ["UPDATE strategy_versions SET change_note = 'rewritten'", "DELETE FROM strategy_versions"],
)
def test_the_database_refuses_to_change_or_delete_a_version(
    database: Database, statement: str
) -> None:
    version = stored_version(database)
    with pytest.raises(DBAPIError, match="append-only"), database.engine.begin() as connection:
        connection.execute(text(statement))
    with database.transaction(write=False) as uow:
        assert uow.strategy_versions.get(version.id) == version
