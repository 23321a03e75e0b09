"""The order manager on the database journal (SQLite and PostgreSQL): durable, restartable."""

from __future__ import annotations

from decimal import Decimal as D

from omoitrade.core.bus import MessageBus
from omoitrade.core.clock import SimulatedClock
from omoitrade.execution.order_manager import OrderManager
from omoitrade.execution.order_requests import OrderRequest
from omoitrade.model.enums import OrderSide, OrderStatus, OrderType
from omoitrade.model.identifiers import AccountId, ClientOrderId
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
