"""The event store and audit log are append-only; the audit chain detects tampering."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from omoitrade.model import EventId, OrderId, OrderSide, OrderType, PortfolioId, TimeInForce
from omoitrade.model.events import OrderCancelled, OrderSubmitted
from omoitrade.store import Database
from omoitrade.store.audit import GENESIS_HASH, AuditChainBroken
from omoitrade.testing import factories as f


def submitted(order_id: OrderId) -> OrderSubmitted:
    instrument = f.make_instrument()
    return OrderSubmitted(
        event_id=EventId.new(),
        occurred_at=f.T0,
        order_id=order_id,
        client_order_id=f.make_order(PortfolioId.new(), instrument).client_order_id,
        portfolio_id=PortfolioId.new(),
        instrument_id=instrument.id,
        side=OrderSide.BUY,
        order_type=OrderType.LIMIT,
        quantity=Decimal("0.50"),
        time_in_force=TimeInForce.GTC,
        price=Decimal("42000.00"),
    )


def cancelled(order_id: OrderId) -> OrderCancelled:
    return OrderCancelled(
        event_id=EventId.new(), occurred_at=f.T0, order_id=order_id, reason="user"
    )


def test_events_read_back_by_stream_and_in_recording_order(database: Database) -> None:
    first, second = OrderId.new(), OrderId.new()
    events = [submitted(first), submitted(second), cancelled(first)]
    with database.transaction() as uow:
        uow.events.append_all(events[:2])
        uow.events.append(events[2])
    with database.transaction() as uow:
        assert uow.events.stream(first) == [events[0], events[2]]
        stored = uow.events.read()
        assert [s.event for s in stored] == events
        assert [s.sequence for s in stored] == sorted(s.sequence for s in stored)
        assert [s.event for s in uow.events.read(after_sequence=stored[0].sequence)] == events[1:]
        assert stored[0].recorded_at == database.clock.utc_now()


@pytest.mark.parametrize("statement", ["UPDATE {t} SET {c} = {c}", "DELETE FROM {t}"])
@pytest.mark.parametrize(("table", "column"), [("events", "topic"), ("audit_log", "actor")])
def test_history_tables_refuse_update_and_delete(
    database: Database, table: str, column: str, statement: str
) -> None:
    with database.transaction() as uow:
        uow.events.append(submitted(OrderId.new()))
        uow.audit.record("alice", "order.submit", "Order", OrderId.new())
    with pytest.raises(DBAPIError, match="append-only"), database.engine.begin() as connection:
        connection.execute(text(statement.format(t=table, c=column)))


def test_audit_entries_chain_and_verify(database: Database) -> None:
    with database.transaction() as uow:
        first = uow.audit.record("alice", "portfolio.create", "Portfolio", "p-1", {"cash": "100"})
        second = uow.audit.record("bob", "risk.limit.set", "RiskLimit", "r-1", {"value": "5"})
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.entry_hash
    with database.transaction() as uow:
        assert uow.audit.verify() == 2
        assert [e.actor for e in uow.audit.entries()] == ["alice", "bob"]


def test_audit_verification_names_the_tampered_entry(database: Database) -> None:
    with database.transaction() as uow:
        for n in range(3):
            uow.audit.record("alice", "order.submit", "Order", f"o-{n}", {"n": n})
    with database.engine.begin() as connection:
        _without_append_only_guard(connection, database.dialect)
        connection.execute(text("UPDATE audit_log SET actor = 'mallory' WHERE sequence = 2"))
    broken = "audit entry 2: content does not match its hash"
    with pytest.raises(AuditChainBroken, match=broken), database.transaction() as uow:
        uow.audit.verify()


def _without_append_only_guard(connection, dialect: str) -> None:  # type: ignore[no-untyped-def]
    """What an attacker with DDL rights would do first; verification must still catch it."""
    if dialect == "postgresql":
        connection.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
    else:
        connection.execute(text("DROP TRIGGER audit_log_append_only_update"))
