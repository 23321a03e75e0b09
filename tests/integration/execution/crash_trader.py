"""A trading process for the crash test; run as a script, killed at random moments.

It opens its journal (SQLite), rebuilds its books from the event store, reconciles with
the simulated exchange service, then submits a seeded stream of orders ``c0``, ``c1``, ...
(each order's fields depend only on the seed and its number, so a restart resubmits the
same order under the same id), printing ``RETURNED <cid>`` once each submit has returned.
It resumes at the last order its journal holds: idempotency makes resubmitting it safe.
When done, it starts a second node on the same database, as a restart would (its ledger
rebuilt from the event store alone, nothing sent), and prints that ledger's positions as
``POSITION <instrument> <signed quantity>``.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import uuid
from decimal import Decimal

from omoitrade.core.bus import MessageBus
from omoitrade.core.clock import LiveClock
from omoitrade.core.errors import Conflict
from omoitrade.execution.order_requests import OrderRequest
from omoitrade.model import Organization, Portfolio
from omoitrade.model.enums import OrderSide, OrderType
from omoitrade.model.events import DomainEvent
from omoitrade.model.identifiers import (
    AccountId,
    ClientOrderId,
    InstrumentId,
    OrganizationId,
    PortfolioId,
)
from omoitrade.model.instruments import Instrument
from omoitrade.runtime.trading_node import PortfolioSetup, TradingNode
from omoitrade.store import Database
from omoitrade.store.migrate import upgrade
from omoitrade.store.order_journal import SqlOrderJournal
from omoitrade.venues.sim.remote import RemoteSimVenue

ACCOUNT = AccountId("trader")
NAMESPACE = uuid.UUID("6f1c3f55-0e0e-4a4e-9a61-0c2f8f4c2b11")
REFERENCE = Decimal("42000.00")


def books(database: Database, clock: LiveClock) -> Portfolio:
    """The trader's portfolio, created on the first start."""
    portfolio_id = PortfolioId(int=uuid.uuid5(NAMESPACE, "portfolio").int)
    with database.transaction() as uow:
        portfolio = uow.portfolios.find(portfolio_id)
        if portfolio is not None:
            return portfolio
        now = clock.utc_now()
        organization = Organization(
            id=OrganizationId(int=uuid.uuid5(NAMESPACE, "org").int),
            name="Crash Desk",
            slug="crash-desk",
            created_at=now,
        )
        portfolio = Portfolio.open(
            portfolio_id, organization.id, "crash", "USD", Decimal("10000000"), now
        )
        uow.organizations.add(organization)
        uow.portfolios.add(portfolio)
        return portfolio


def request(portfolio: Portfolio, instrument_id: object, seed: int, n: int) -> OrderRequest:
    """Order number ``n``: the same fields on every run."""
    rng = random.Random(seed * 1_000_003 + n)
    side = OrderSide.BUY if rng.random() < 0.5 else OrderSide.SELL
    quantity = Decimal(rng.randint(1, 50)) * Decimal("0.001")
    if rng.random() < 0.6:
        kind, price = OrderType.MARKET, None
    else:  # rests away from the market
        kind = OrderType.LIMIT
        away = Decimal(rng.randint(100, 900))
        price = REFERENCE - away if side is OrderSide.BUY else REFERENCE + away
    return OrderRequest(
        portfolio.id,
        instrument_id,
        ClientOrderId(f"c{n}"),
        side,
        kind,
        quantity,  # type: ignore[arg-type]
        price=price,
    )


def history(database: Database) -> list[DomainEvent]:
    events: list[DomainEvent] = []
    after = 0
    while True:
        with database.transaction(write=False) as uow:
            batch = uow.events.read(after_sequence=after, limit=1000)
        if not batch:
            return events
        events += [stored.event for stored in batch]
        after = batch[-1].sequence


def rebuilt_positions(
    database: Database, clock: LiveClock, portfolio: Portfolio, instruments: list[Instrument]
) -> dict[InstrumentId, Decimal]:
    """The positions of a node started afresh on ``database``: its ledger rebuilt from the
    event store, as on a restart (no venue: nothing is sent or reconciled)."""
    node = TradingNode(
        clock=clock,
        bus=MessageBus(),
        journal=SqlOrderJournal(database),
        venues={},
        instruments=instruments,
        portfolios=[PortfolioSetup(portfolio, ACCOUNT)],
    )
    node.restore(history(database))
    return dict(node.ledger.signed_quantities(portfolio.id))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--venue", required=True)
    parser.add_argument("--orders", type=int, required=True)
    parser.add_argument("--seed", type=int, required=True)
    args = parser.parse_args()
    clock = LiveClock()
    url = f"sqlite:///{args.db}"
    upgrade(url)
    database = Database(url, clock=clock)
    portfolio = books(database, clock)
    venue = RemoteSimVenue(args.venue, clock=clock)
    instruments = venue.instruments()
    with database.transaction() as uow:
        for instrument in instruments:
            if uow.instruments.find(instrument.id) is None:
                uow.instruments.add(instrument)
    btc = next(i for i in instruments if i.symbol == "BTC/USD")
    node = TradingNode(
        clock=clock,
        bus=MessageBus(),
        journal=SqlOrderJournal(database),
        venues={venue.venue: venue},
        instruments=instruments,
        portfolios=[PortfolioSetup(portfolio, ACCOUNT)],
    )
    node.restore(history(database))
    node.prices[btc.id] = REFERENCE  # the last price, as a market data feed would give it
    asyncio.run(node.reconcile())
    with database.transaction(write=False) as uow:
        stored = uow.orders.count(uow.orders.table.c.portfolio_id == portfolio.id)
    print(f"READY {stored}", flush=True)
    for n in range(max(0, stored - 1), args.orders):
        try:
            order = node.orders.submit(request(portfolio, btc.id, args.seed, n))
        except Conflict as error:  # never expected: the same number makes the same order
            print(f"CONFLICT c{n} {error}", flush=True)
            sys.exit(3)
        print(f"RETURNED {order.client_order_id} {order.status}", flush=True)
        if n % 7 == 6:  # cancel an older resting order now and then
            older = node.orders.order(portfolio.id, ClientOrderId(f"c{n - 3}"))
            if older is not None and older.is_open and older.exchange_order_id is not None:
                node.orders.cancel(portfolio.id, older.client_order_id, "crash test")
    results = asyncio.run(node.reconcile())
    print(f"DONE {sum(len(r.discrepancies) for r in results)}", flush=True)
    for instrument_id, quantity in rebuilt_positions(
        database, clock, portfolio, instruments
    ).items():
        print(f"POSITION {instrument_id} {quantity}", flush=True)
    database.dispose()


if __name__ == "__main__":
    main()
