"""Every entity round-trips exactly through SQLite and PostgreSQL, and the queries work."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from omoitrade.core.errors import Conflict, NotFound
from omoitrade.model import (
    ClientOrderId,
    OrderId,
    OrderStatus,
    PortfolioId,
    TaskStatus,
    Timeframe,
    UserRole,
)
from omoitrade.store import Database, UnitOfWork
from omoitrade.testing import factories as f

# (unit-of-work attribute, name in the graph) for every persisted entity
ENTITIES = [
    ("organizations", "organization"),
    ("users", "user"),
    ("portfolios", "portfolio"),
    ("instruments", "instrument"),
    ("market_data", "bar"),
    ("strategies", "strategy"),
    ("signals", "signal"),
    ("orders", "order"),
    ("trades", "trade"),
    ("positions", "position"),
    ("risk_limits", "risk_limit"),
    ("agents", "agent"),
    ("tasks", "task"),
    ("strategy_versions", "strategy_version"),
    ("backtest_runs", "backtest_run"),
    ("strategy_performance", "strategy_performance"),
    ("approvals", "approval"),
]


def build_graph() -> dict[str, Any]:
    """One of everything, linked as the specification's entity diagram."""
    organization = f.make_organization()
    portfolio = f.make_portfolio(organization)
    instrument = f.make_instrument()
    strategy = f.make_strategy(portfolio.id)
    signal = f.make_signal(strategy.id, instrument)
    order = f.make_order(portfolio.id, instrument, signal_id=signal.id)
    order.submit(f.T0 + timedelta(milliseconds=3))
    position = f.make_position(portfolio.id, instrument)
    agent = f.make_agent(assigned_strategies=[strategy.id], assigned_instruments=[instrument.id])
    return {
        "organization": organization,
        "user": f.make_user(organization, role=UserRole.RISK_MANAGER),
        "portfolio": portfolio,
        "instrument": instrument,
        "bar": f.make_bar(instrument),
        "strategy": strategy,
        "signal": signal,
        "order": order,
        "trade": f.make_trade(order),
        "position": position,
        "risk_limit": f.make_risk_limit(portfolio.id, instrument_id=instrument.id),
        "agent": agent,
        "task": f.make_task(
            portfolio_id=portfolio.id,
            agent_id=agent.id,
            related_order_id=order.id,
            related_position_id=position.id,
            execution_result={"filled": "0.5"},
        ),
        "strategy_version": f.make_strategy_version(strategy),
        "backtest_run": f.make_backtest_run(strategy),
        "strategy_performance": f.make_strategy_performance(strategy),
        "approval": f.make_approval_request(),
    }


def store_graph(uow: UnitOfWork, graph: dict[str, Any]) -> None:
    for attribute, name in ENTITIES:
        getattr(uow, attribute).add(graph[name])


def assert_same_entity(expected: object, actual: object) -> None:
    """Field by field: equal values of identical types (typed ids stay typed)."""
    assert type(actual) is type(expected)
    for field in dataclasses.fields(expected):  # type: ignore[arg-type]
        want, got = getattr(expected, field.name), getattr(actual, field.name)
        assert got == want, field.name
        assert type(got) is type(want), f"{field.name}: {type(got)} is not {type(want)}"
        if isinstance(want, list):
            assert [type(x) for x in got] == [type(x) for x in want], field.name


@pytest.mark.parametrize(("attribute", "name"), ENTITIES)
def test_entity_round_trips_exactly(database: Database, attribute: str, name: str) -> None:
    graph = build_graph()
    with database.transaction() as uow:
        store_graph(uow, graph)
    with database.transaction() as uow:
        loaded = getattr(uow, attribute).get(graph[name].id)
    assert_same_entity(graph[name], loaded)


def test_updated_order_round_trips_with_fills(database: Database) -> None:
    graph = build_graph()
    with database.transaction() as uow:
        store_graph(uow, graph)
    order = graph["order"]
    order.apply_fill(Decimal("0.2"), Decimal("41999.99"), Decimal("0.21"), f.T0 + timedelta(1))
    order.apply_fill(Decimal("0.3"), Decimal("42000.01"), Decimal("0.31"), f.T0 + timedelta(2))
    with database.transaction() as uow:
        uow.orders.update(order)
    with database.transaction() as uow:
        loaded = uow.orders.get(order.id)
    assert_same_entity(order, loaded)
    assert loaded.status is OrderStatus.FILLED
    assert loaded.average_fill_price == Decimal("42000.002")


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    value=st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**20), max_value=10**20)
    | st.sampled_from([Decimal("0.1") + Decimal("0.2"), Decimal("1E+2"), Decimal("-0.000000001")])
)
def test_decimal_money_round_trips_exactly(database: Database, value: Decimal) -> None:
    organization = f.make_organization(slug=f"org-{uuid.uuid4().hex[:12]}")  # one per example
    portfolio = f.make_portfolio(organization, cash=value, current_equity=value)
    with database.transaction() as uow:
        uow.organizations.add(organization)
        uow.portfolios.add(portfolio)
    with database.transaction() as uow:
        loaded = uow.portfolios.get(portfolio.id)
    assert loaded.cash == value
    assert isinstance(loaded.cash, Decimal)


def test_point_one_plus_point_two_reads_back_as_point_three(database: Database) -> None:
    organization = f.make_organization()
    portfolio = f.make_portfolio(organization, cash=Decimal("0.1") + Decimal("0.2"))
    with database.transaction() as uow:
        uow.organizations.add(organization)
        uow.portfolios.add(portfolio)
    with database.transaction() as uow:
        assert uow.portfolios.get(portfolio.id).cash == Decimal("0.3")


def test_timestamps_come_back_as_aware_utc(database: Database) -> None:
    organization = f.make_organization(created_at=datetime(2024, 3, 1, 12, 0, 0, 123456, UTC))
    with database.transaction() as uow:
        uow.organizations.add(organization)
    with database.transaction() as uow:
        loaded = uow.organizations.get(organization.id)
    assert loaded.created_at == organization.created_at
    assert loaded.created_at.utcoffset() == timedelta(0)


def test_float_money_is_refused_by_the_column(database: Database) -> None:
    organization = f.make_organization()
    portfolio = f.make_portfolio(organization)
    portfolio.cash = 0.1  # type: ignore[assignment]  # a bug that slipped past the constructor
    with (
        pytest.raises(Exception, match="needs a Decimal, got float"),
        database.transaction() as uow,
    ):
        uow.organizations.add(organization)
        uow.portfolios.add(portfolio)


def test_failed_transaction_leaves_nothing_behind(database: Database) -> None:
    organization = f.make_organization()
    with pytest.raises(RuntimeError), database.transaction() as uow:
        uow.organizations.add(organization)
        raise RuntimeError("abort")
    with database.transaction() as uow:
        assert uow.organizations.find(organization.id) is None


def test_unknown_ids_raise_not_found(database: Database) -> None:
    organization = f.make_organization()
    with database.transaction() as uow:
        with pytest.raises(NotFound, match=f"Organization {organization.id} not found"):
            uow.organizations.get(organization.id)
        with pytest.raises(NotFound):
            uow.organizations.update(organization)
        with pytest.raises(NotFound):
            uow.organizations.delete(organization.id)


def test_foreign_keys_are_enforced(database: Database) -> None:
    orphan = f.make_portfolio(f.make_organization())
    with (
        pytest.raises(Conflict, match="Portfolio could not be stored"),
        database.transaction() as uow,
    ):
        uow.portfolios.add(orphan)


def test_client_order_id_is_unique_per_portfolio(database: Database) -> None:
    graph = build_graph()
    with database.transaction() as uow:
        store_graph(uow, graph)
    first = graph["order"]
    twin = f.make_order(
        first.portfolio_id, graph["instrument"], client_order_id=first.client_order_id
    )
    with pytest.raises(Conflict), database.transaction() as uow:
        uow.orders.add(twin)


def test_order_queries(database: Database) -> None:
    graph = build_graph()
    with database.transaction() as uow:
        store_graph(uow, graph)
        done = f.make_order(graph["portfolio"].id, graph["instrument"], id=OrderId.new())
        done.cancel("user asked", f.T0)
        uow.orders.add(done)
    portfolio_id: PortfolioId = graph["portfolio"].id
    with database.transaction() as uow:
        found = uow.orders.by_client_order_id(portfolio_id, graph["order"].client_order_id)
        assert found is not None and found.id == graph["order"].id
        assert uow.orders.by_client_order_id(portfolio_id, ClientOrderId("nope")) is None
        assert [o.id for o in uow.orders.open_orders(portfolio_id)] == [graph["order"].id]
        assert uow.orders.count() == 2
        trade = graph["trade"]
        assert uow.trades.by_exchange_trade_id(trade.order_id, trade.exchange_trade_id) is not None
        assert [t.id for t in uow.trades.for_order(trade.order_id)] == [trade.id]


def test_lookup_queries(database: Database) -> None:
    graph = build_graph()
    with database.transaction() as uow:
        store_graph(uow, graph)
        low = f.make_task(priority=1)
        high = f.make_task(priority=9)
        done = f.make_task(priority=99, status=TaskStatus.COMPLETED)
        uow.tasks.add_all([low, high, done])
    instrument = graph["instrument"]
    with database.transaction() as uow:
        assert uow.instruments.by_symbol("SIM", "BTC/USD").id == instrument.id
        assert uow.users.by_email(graph["user"].email).id == graph["user"].id
        position = uow.positions.for_instrument(graph["portfolio"].id, instrument.id)
        assert position is not None and position.id == graph["position"].id
        assert len(uow.risk_limits.for_portfolio(graph["portfolio"].id)) == 1
        pending = [t.priority for t in uow.tasks.pending_by_priority()]
        assert pending == [9, 5, 1]


def test_bars_come_back_in_time_order_within_the_range(database: Database) -> None:
    instrument = f.make_instrument()
    bars = [
        f.make_bar(instrument, timestamp=f.T0 + timedelta(minutes=minute))
        for minute in (3, 0, 2, 1)
    ]
    with database.transaction() as uow:
        uow.instruments.add(instrument)
        uow.market_data.add_all(bars)
        other = f.make_bar(instrument, timeframe=Timeframe.M5)
        uow.market_data.add(other)
    with database.transaction() as uow:
        got = uow.market_data.bars(
            instrument.id, Timeframe.M1, start=f.T0 + timedelta(minutes=1), end=f.T0 + timedelta(3)
        )
    assert [b.timestamp for b in got] == [f.T0 + timedelta(minutes=m) for m in (1, 2, 3)]


def test_sqlite_runs_with_wal_foreign_keys_and_full_sync(sqlite_database: Database) -> None:
    with sqlite_database.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL


@pytest.mark.postgres
def test_postgres_uses_jsonb_numeric_and_timestamptz(postgres_database: Database) -> None:
    query = text(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = 'orders' "
        "AND column_name IN ('quantity', 'created_at', 'id')"
        " UNION ALL SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = 'strategies' "
        "AND column_name = 'entry_rules'"
    )
    with postgres_database.engine.connect() as connection:
        types = dict(connection.execute(query).all())
    assert types == {
        "quantity": "numeric",
        "created_at": "timestamp with time zone",
        "id": "uuid",
        "entry_rules": "jsonb",
    }
