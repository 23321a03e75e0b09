"""The order manager on the database journal (SQLite and PostgreSQL): durable, restartable."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D
from typing import Any

import pytest

from omoitrade.core.bus import MessageBus
from omoitrade.core.clock import SimulatedClock
from omoitrade.core.errors import Conflict, NotFound
from omoitrade.execution.order_manager import OrderManager
from omoitrade.execution.order_requests import OrderRequest
from omoitrade.model.enums import OrderSide, OrderStatus, OrderType
from omoitrade.model.events import OrderAccepted
from omoitrade.model.identifiers import AccountId, ClientOrderId, EventId
from omoitrade.model.orders import Order
from omoitrade.model.venue import SubmitOrder
from omoitrade.store import Database
from omoitrade.store.order_journal import SqlOrderJournal
from omoitrade.testing import factories as f
from omoitrade.venues.sim.exchange import SimExchangeConfig, SimulatedExchange

ME, MAKER = AccountId("desk-1"), AccountId("maker")


def test_orders_fills_and_events_survive_a_restart_and_fills_apply_once(
    database: Database,
) -> None:
    organization = f.make_organization()
    portfolio = f.make_portfolio(organization)
    btc = f.make_instrument()
    with database.transaction() as uow:
        uow.organizations.add(organization)
        uow.portfolios.add(portfolio)
        uow.instruments.add(btc)
    clock = SimulatedClock(int(f.T0.timestamp() * 1e9))
    exchange = SimulatedExchange(clock, [btc], SimExchangeConfig())
    exchange.open_account(ME, {"USD": D("1000000")})
    exchange.open_account(MAKER, {"BTC": D("10")})
    reports: list[object] = []
    exchange.on_report(reports.append)

    def manager() -> OrderManager:
        return OrderManager(
            clock=clock,
            bus=MessageBus(),
            journal=SqlOrderJournal(database),
            venues={"SIM": exchange},
            instruments={btc.id: btc},
            accounts={portfolio.id: ME},
        )

    def request(cid: str, qty: str, price: str) -> OrderRequest:
        return OrderRequest(portfolio.id, btc.id, ClientOrderId(cid), OrderSide.BUY,
                            OrderType.LIMIT, D(qty), price=D(price))  # fmt: skip

    first = manager()
    exchange.submit(SubmitOrder(MAKER, ClientOrderId("ask"), btc.id, OrderSide.SELL,
                                OrderType.LIMIT, D("0.3"), price=D("42000.00")))  # fmt: skip
    partly = first.submit(request("b1", "0.5", "42000.00"))
    resting = first.submit(request("b2", "0.1", "40000.00"))
    assert partly.status is OrderStatus.PARTIAL

    second = manager()  # a new process: everything from the journal
    assert sorted(o.client_order_id for o in second.open_orders()) == ["b1", "b2"]
    again = second.submit(request("b2", "0.1", "40000.00"))
    assert again.id == resting.id
    trade = next(r for r in reports if getattr(r, "trade_id", None) and r.account_id == ME)  # type: ignore[attr-defined]
    second.reports.on_report(trade)  # a replayed fill after the restart
    reloaded = second.order(portfolio.id, ClientOrderId("b1"))
    assert reloaded is not None and reloaded.filled_quantity == D("0.3")
    with database.transaction(write=False) as uow:
        assert len(uow.trades.for_order(partly.id)) == 1
        assert uow.orders.get(partly.id).status is OrderStatus.PARTIAL
        kinds = [type(e).__name__ for e in uow.events.stream(partly.id)]
    assert kinds == ["OrderSubmitted", "OrderAccepted", "OrderPartiallyFilled"]


def journal_desk(database: Database) -> tuple[SqlOrderJournal, Any, Any]:
    """A journal on a database holding one portfolio and instrument."""
    organization = f.make_organization()
    portfolio = f.make_portfolio(organization)
    btc = f.make_instrument()
    with database.transaction() as uow:
        uow.organizations.add(organization)
        uow.portfolios.add(portfolio)
        uow.instruments.add(btc)
    return SqlOrderJournal(database), portfolio, btc


def accepted(order: Order) -> OrderAccepted:
    return OrderAccepted(
        event_id=EventId.new(), occurred_at=f.T0, order_id=order.id, exchange_order_id="x"
    )


def test_one_write_stores_new_and_changed_orders_their_fills_and_events(
    database: Database,
) -> None:
    journal, portfolio, btc = journal_desk(database)
    first = [f.make_order(portfolio.id, btc) for _ in range(3)]
    journal.write(first, [], [], [accepted(o) for o in first])
    for order in first[:2]:
        order.submit(f.T0, "x")
        order.apply_fill(D("0.5"), D("42000.00"), D("0.1"), f.T0 + timedelta(seconds=1))
    trades = [f.make_trade(order, quantity=D("0.5")) for order in first[:2]]
    later = f.make_order(portfolio.id, btc)
    journal.write([later], first[:2], trades, [accepted(later)])

    assert {o.id for o in journal.open_orders()} == {first[2].id, later.id}
    for order, trade in zip(first[:2], trades, strict=True):
        stored = journal.order_by_client_id(portfolio.id, order.client_order_id)
        assert stored is not None and stored.status is OrderStatus.FILLED
        assert stored.average_fill_price == D("42000.00")
        assert [t.id for t in journal.trades_of(order.id)] == [trade.id]
    with database.transaction(write=False) as uow:
        assert len(uow.events.read()) == 4


def test_a_refused_write_stores_none_of_it(database: Database) -> None:
    journal, portfolio, btc = journal_desk(database)
    stored = [f.make_order(portfolio.id, btc) for _ in range(2)]
    journal.write(stored, [], [], [])
    stored[0].cancel("user", f.T0)
    fresh = f.make_order(portfolio.id, btc)
    taken = f.make_order(portfolio.id, btc, client_order_id=stored[1].client_order_id)
    unknown = f.make_order(portfolio.id, btc)

    with pytest.raises(Conflict):
        journal.write([fresh, taken], [stored[0]], [], [accepted(fresh)])
    with pytest.raises(NotFound, match=str(unknown.id)):
        journal.write([fresh], [stored[0], unknown], [], [accepted(fresh)])

    assert journal.order_by_client_id(portfolio.id, fresh.client_order_id) is None
    assert {o.id for o in journal.open_orders()} == {o.id for o in stored}
    with database.transaction(write=False) as uow:
        assert uow.events.read() == []
