"""Prepared writes (SQLite and PostgreSQL) store exactly what SQLAlchemy Core would store,
update many rows in one round trip and refuse bad input with the same errors."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import Table, insert, select, text
from sqlalchemy.exc import IntegrityError, StatementError
from test_event_store_and_audit import cancelled, submitted

from omoitrade.core.errors import NotFound
from omoitrade.model import Order, OrderId, OrderStatus, PortfolioId
from omoitrade.store import Database, UnitOfWork, tables
from omoitrade.store.mapping import PreparedStatement
from omoitrade.testing import factories as f


def desk(uow: UnitOfWork) -> tuple[PortfolioId, Any]:
    """A stored organization, portfolio and instrument: (portfolio id, instrument)."""
    organization = f.make_organization()
    portfolio = f.make_portfolio(organization)
    instrument = f.make_instrument()
    uow.organizations.add(organization)
    uow.portfolios.add(portfolio)
    uow.instruments.add(instrument)
    return portfolio.id, instrument


def filled(order: Order) -> Order:
    order.submit(f.T0 + timedelta(milliseconds=1), "x-1")
    order.apply_fill(Decimal("0.2"), Decimal("41999.99"), Decimal("0.21"), f.T0 + timedelta(1))
    return order


def stored_as_text(database: Database, table: Table) -> list[dict[str, str]]:
    """Every row of ``table`` as the database holds it (no type processing), as text."""
    with database.transaction(write=False) as uow:
        rows = uow.connection.execute(text(f"SELECT * FROM {table.name}")).mappings().all()
    return [{key: str(value) for key, value in row.items()} for row in rows]


def twin_through_core(database: Database, table: Table, unique: dict[str, Any]) -> None:
    """Read the table's one row back and insert it again through SQLAlchemy Core, with
    ``unique`` replacing its unique columns: the reference for how values are stored."""
    with database.transaction() as uow:
        (row,) = uow.connection.execute(select(table)).mappings().all()
        values = {key: value for key, value in row.items() if key != "sequence"}
        uow.connection.execute(insert(table), [values | unique])


@pytest.mark.parametrize("table", ["orders", "trades", "events"])
def test_prepared_rows_are_stored_as_sqlalchemy_core_stores_them(
    database: Database, table: str
) -> None:
    with database.transaction() as uow:
        portfolio_id, instrument = desk(uow)
        order = filled(f.make_order(portfolio_id, instrument, stop_price=Decimal("41000.50")))
        uow.orders.add_all([order], savepoint=False)
        if table == "trades":
            uow.trades.add_all([f.make_trade(order, slippage=Decimal("-0.0001"))])
        if table == "events":
            uow.events.append_all([submitted(order.id)])
    unique: dict[str, dict[str, Any]] = {
        "orders": {"id": uuid.uuid4(), "client_order_id": "twin"},
        "trades": {"id": uuid.uuid4(), "exchange_trade_id": "twin"},
        "events": {"event_id": uuid.uuid4()},
    }
    twin_through_core(database, tables.metadata.tables[table], unique[table])
    skip = {"sequence", *unique[table]}
    prepared, core = stored_as_text(database, tables.metadata.tables[table])
    assert {k: v for k, v in prepared.items() if k not in skip} == {
        k: v for k, v in core.items() if k not in skip
    }


def test_changed_orders_are_updated_together(database: Database) -> None:
    with database.transaction() as uow:
        portfolio_id, instrument = desk(uow)
        orders = [f.make_order(portfolio_id, instrument) for _ in range(3)]
        uow.orders.add_all(orders)
    changed = [filled(orders[0]), orders[2]]
    orders[2].cancel("user", f.T0 + timedelta(2))
    with database.transaction() as uow:
        uow.orders.update_all(changed, savepoint=False)
    with database.transaction(write=False) as uow:
        loaded = [uow.orders.get(order.id) for order in orders]
    assert [o.status for o in loaded] == [
        OrderStatus.PARTIAL,
        OrderStatus.PENDING,
        OrderStatus.CANCELLED,
    ]
    assert loaded[0].filled_quantity == Decimal("0.2")
    assert loaded[0].average_fill_price == Decimal("41999.99")


@pytest.mark.parametrize("position", [0, 1, 2])
def test_an_unknown_order_among_changed_ones_is_named(database: Database, position: int) -> None:
    with database.transaction() as uow:
        portfolio_id, instrument = desk(uow)
        known = [f.make_order(portfolio_id, instrument) for _ in range(2)]
        uow.orders.add_all(known)
    unknown = f.make_order(portfolio_id, instrument)
    changed = [filled(order) for order in known]
    changed.insert(position, unknown)
    with (
        pytest.raises(NotFound, match=f"Order {unknown.id} not found"),
        database.transaction() as uow,
    ):
        uow.orders.update_all(changed, savepoint=False)
    with database.transaction(write=False) as uow:  # the whole transaction was abandoned
        assert {uow.orders.get(order.id).status for order in known} == {OrderStatus.PENDING}


def test_a_refused_update_in_a_savepoint_leaves_the_transaction_usable(
    database: Database,
) -> None:
    with database.transaction() as uow:
        portfolio_id, instrument = desk(uow)
        order = f.make_order(portfolio_id, instrument)
        uow.orders.add(order)
    with database.transaction() as uow:
        with pytest.raises(NotFound):
            uow.orders.update_all([filled(order), f.make_order(portfolio_id, instrument)])
        uow.events.append(cancelled(order.id))
    with database.transaction(write=False) as uow:  # the refused update changed no row
        assert uow.orders.get(order.id).status is OrderStatus.PENDING
        assert [type(e).__name__ for e in uow.events.stream(order.id)] == ["OrderCancelled"]


def test_refused_values_raise_as_sqlalchemy_raises_them(database: Database) -> None:
    statement = PreparedStatement(insert(tables.organizations))
    organization = f.make_organization()
    with database.transaction() as uow:
        uow.organizations.add(organization)
        row = uow.organizations.mapper.to_row(organization)
        with pytest.raises(IntegrityError), uow.connection.begin_nested():  # a driver error
            statement.execute(uow.connection, [row])
    with database.transaction() as uow:
        portfolio = f.make_portfolio(organization)
        portfolio.cash = 0.1  # type: ignore[assignment]
        with pytest.raises(StatementError, match="needs a Decimal, got float"):
            uow.portfolios.add(portfolio)


def test_many_events_are_appended_in_order(database: Database) -> None:
    order_id = OrderId.new()
    events = [submitted(order_id), *(cancelled(order_id) for _ in range(4))]
    with database.transaction() as uow:
        uow.events.append_all(events)
    with database.transaction(write=False) as uow:
        assert uow.events.stream(order_id) == events
