"""Concurrent writers on real databases: no lost update, no lock failure, history in order."""

from __future__ import annotations

import contextlib
import threading
import time
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from omoitrade.core.errors import Conflict
from omoitrade.model import EventId, OrderId
from omoitrade.model.events import OrderCancelled
from omoitrade.store import Database
from omoitrade.testing import factories as f


def _stored_order(database: Database):  # type: ignore[no-untyped-def]
    organization = f.make_organization()
    portfolio = f.make_portfolio(organization)
    instrument = f.make_instrument()
    order = f.make_order(portfolio.id, instrument)
    order.submit(f.T0)
    with database.transaction() as uow:
        uow.organizations.add(organization)
        uow.portfolios.add(portfolio)
        uow.instruments.add(instrument)
        uow.orders.add(order)
    return order


def test_concurrent_read_modify_write_loses_no_fill(database: Database) -> None:
    order = _stored_order(database)
    both_read = threading.Barrier(2, timeout=10)
    errors: list[BaseException] = []

    def fill(quantity: str, pause: float) -> None:
        try:
            with database.transaction() as uow:
                current = uow.orders.get(order.id, for_update=True)
                with contextlib.suppress(threading.BrokenBarrierError):
                    both_read.wait(timeout=0.5)  # the second one is blocked by the lock
                time.sleep(pause)
                current.apply_fill(Decimal(quantity), Decimal("42000.00"), Decimal("0"), f.T0)
                uow.orders.update(current)
        except BaseException as error:
            errors.append(error)

    threads = [
        threading.Thread(target=fill, args=("0.2", 0.2)),
        threading.Thread(target=fill, args=("0.1", 0.0)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    with database.transaction(write=False) as uow:
        assert uow.orders.get(order.id).filled_quantity == Decimal("0.3")


def test_a_refused_insert_leaves_the_unit_of_work_usable(database: Database) -> None:
    organization = f.make_organization()
    with database.transaction() as uow:
        uow.organizations.add(organization)
        with pytest.raises(Conflict):
            uow.organizations.add(organization)  # same id again
        uow.portfolios.add(f.make_portfolio(organization))  # the transaction goes on
    with database.transaction(write=False) as uow:
        assert uow.portfolios.count() == 1


def test_event_sequence_follows_commit_order(database: Database) -> None:
    slow, fast = OrderId.new(), OrderId.new()

    def event(order_id: OrderId) -> OrderCancelled:
        return OrderCancelled(
            event_id=EventId.new(), occurred_at=f.T0, order_id=order_id, reason="x"
        )

    fast_done = threading.Event()

    def append_fast() -> None:
        with database.transaction() as uow:
            uow.events.append(event(fast))
        fast_done.set()

    with database.transaction() as uow:
        uow.events.append(event(slow))
        other = threading.Thread(target=append_fast)
        other.start()
        assert not fast_done.wait(0.5)  # waits for the first appender to commit
    other.join(timeout=30)
    with database.transaction(write=False) as uow:
        assert [s.event.stream_id for s in uow.events.read()] == [slow, fast]


def test_audit_details_with_numbers_verify_after_the_round_trip(database: Database) -> None:
    details = {"big": 1e16, "small": 0.1, "int": 10**18, "nested": {"list": [1.5, "x", None]}}
    with database.transaction() as uow:
        entry = uow.audit.record("alice", "limit.set", "RiskLimit", "r-1", details)
    with database.transaction(write=False) as uow:
        assert uow.audit.verify() == 1
        assert uow.audit.entries()[0].details == details
        assert uow.audit.head() == (entry.sequence, entry.entry_hash)


def test_audit_refuses_details_that_are_not_json(database: Database) -> None:
    with (
        pytest.raises(Exception, match="details: must contain only JSON values"),
        database.transaction() as uow,
    ):
        uow.audit.record("alice", "limit.set", "RiskLimit", "r-1", {"v": Decimal("1.5")})


@pytest.mark.postgres
def test_history_tables_refuse_truncate(postgres_database: Database) -> None:
    for table in ("events", "audit_log"):
        with (
            pytest.raises(DBAPIError, match="append-only"),
            postgres_database.engine.begin() as connection,
        ):
            connection.execute(text(f"TRUNCATE {table}"))
