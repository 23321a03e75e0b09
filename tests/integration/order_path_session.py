"""A seeded session through the trading node's order path; run as a script it prints its digest.

Used to check that the compiled order path (see docs/performance.md) and the plain-Python
one behave the same, byte for byte: the test runs it in-process and in a fresh interpreter
that sees only the sources. A trading node (risk engine with limits, order manager, ledger)
on a simulated exchange with fees and a maker keeping a book: thousands of limit, market
and stop orders, cancels and amends, partial and full fills, risk rejections, quotes.
Every event published on the bus, every refusal, and the final ledger, orders and risk
state are written out; identifiers are numbered in order of appearance (the risk
engine's events draw theirs from the process-wide generator, which is not seeded).
"""

from __future__ import annotations

import hashlib
import random
import re
from decimal import Decimal

from omoitrade.core.bus import MessageBus
from omoitrade.core.clock import SimulatedClock
from omoitrade.core.ids import IdGenerator
from omoitrade.execution.journal import InMemoryOrderJournal
from omoitrade.execution.order_requests import OrderManagerConfig, OrderRequest
from omoitrade.model.enums import BreachAction, LimitType, OrderSide, OrderType, TimeInForce
from omoitrade.model.identifiers import (
    AccountId,
    ClientOrderId,
    OrganizationId,
    PortfolioId,
    RiskLimitId,
)
from omoitrade.model.venue import CancelOrder, SubmitOrder
from omoitrade.risk import RiskConfig
from omoitrade.runtime.trading_node import PortfolioSetup, TradingNode, TradingNodeConfig
from omoitrade.testing import factories as f
from omoitrade.venues.sim.exchange import SimExchangeConfig, SimulatedExchange

DESK, OTHER, MAKER = AccountId("desk"), AccountId("other"), AccountId("maker")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def session_text(seed: int = 5, operations: int = 3_000) -> str:
    """Everything the session published, refused and ended with, one line each."""
    rng = random.Random(seed)
    start_ns = int(f.T0.timestamp()) * 1_000_000_000
    clock = SimulatedClock(start_ns)
    ids = IdGenerator(clock.timestamp_ns, seed=seed, thread_safe=False)
    btc = f.make_instrument()  # (its id comes from its exchange and symbol)
    tick, lot = btc.tick_size, btc.lot_size
    organization = f.make_organization(id=OrganizationId(int=ids.next_int()))
    portfolios = [
        f.make_portfolio(
            organization,
            id=PortfolioId(int=ids.next_int()),
            name=f"book-{n}",
            initial_capital=Decimal("2000000"),
            cash=Decimal("2000000"),
            current_equity=Decimal("2000000"),
            margin_available=Decimal("2000000"),
        )
        for n in range(2)
    ]
    limits = [
        f.make_risk_limit(
            portfolios[0].id,
            id=RiskLimitId(int=ids.next_int()),
            limit_type=LimitType.MAX_ORDER_SIZE,
            limit_value=Decimal("4"),
            action_on_breach=BreachAction.HALT,
        ),
        f.make_risk_limit(
            portfolios[0].id,
            id=RiskLimitId(int=ids.next_int()),
            limit_type=LimitType.MAX_POSITION,
            limit_value=Decimal("3"),
            action_on_breach=BreachAction.REDUCE,
        ),
        f.make_risk_limit(
            portfolios[0].id,
            id=RiskLimitId(int=ids.next_int()),
            limit_type=LimitType.MAX_DAILY_LOSS,
            limit_value=Decimal("60"),
            action_on_breach=BreachAction.ALERT,
        ),
    ]
    exchange = SimulatedExchange(
        clock,
        [btc],
        SimExchangeConfig(maker_fee=Decimal("0.0002"), taker_fee=Decimal("0.0005")),
    )
    for account in (DESK, OTHER):
        exchange.open_account(account, {"USD": Decimal("2000000")})
    exchange.open_account(MAKER, {"USD": Decimal("1e9"), "BTC": Decimal("1e6")})
    bus = MessageBus()
    lines: list[str] = []
    bus.subscribe("*", lambda message: lines.append(repr(message)))
    node = TradingNode(
        clock=clock,
        bus=bus,
        journal=InMemoryOrderJournal(),
        venues={"SIM": exchange},
        instruments=[btc],
        portfolios=[
            PortfolioSetup(portfolios[0], DESK, limits),
            PortfolioSetup(portfolios[1], OTHER),
        ],
        ids=ids,
        config=TradingNodeConfig(
            orders=OrderManagerConfig(),
            risk=RiskConfig(max_open_orders=40, duplicate_window_ns=50_000_000),
        ),
    )
    mid = 10_000  # in ticks
    resting: list[ClientOrderId] = []
    sent: list[tuple[PortfolioId, ClientOrderId]] = []
    for number in range(operations):
        clock.set_time(clock.timestamp_ns() + rng.randint(1, 40_000_000))
        draw = rng.random()
        try:
            if draw < 0.25:  # the maker refreshes the book around a wandering mid
                mid += rng.randint(-3, 3)
                side = rng.choice([OrderSide.BUY, OrderSide.SELL])
                away = rng.randint(1, 8)
                ticks = mid - away if side is OrderSide.BUY else mid + away
                client = ClientOrderId(f"m{number}")
                exchange.submit(
                    SubmitOrder(
                        MAKER,
                        client,
                        btc.id,
                        side,
                        OrderType.LIMIT,
                        rng.randint(1, 400) * lot,
                        price=ticks * tick,
                    )
                )
                resting.append(client)
                if len(resting) > 60:
                    gone = resting.pop(rng.randrange(len(resting)))
                    exchange.cancel(CancelOrder(MAKER, gone, btc.id))
            elif draw < 0.65 or not sent:
                portfolio = rng.choice(portfolios).id
                kind = rng.choice([OrderType.LIMIT] * 5 + [OrderType.MARKET] * 3 + [OrderType.STOP])
                side = rng.choice([OrderSide.BUY, OrderSide.SELL])
                ticks = mid + rng.randint(-6, 6)
                client = ClientOrderId(f"n{number}")
                quantity = rng.choice([rng.randint(1, 500), rng.randint(1, 60_000)]) * lot
                node.orders.submit(
                    OrderRequest(
                        portfolio,
                        btc.id,
                        client,
                        side,
                        kind,
                        quantity,
                        price=ticks * tick if kind is OrderType.LIMIT else None,
                        stop_price=(ticks + (5 if side is OrderSide.BUY else -5)) * tick
                        if kind is OrderType.STOP
                        else None,
                        time_in_force=rng.choice([TimeInForce.GTC] * 4 + [TimeInForce.IOC])
                        if kind is OrderType.LIMIT
                        else TimeInForce.GTC,
                    )
                )
                sent.append((portfolio, client))
            else:  # mostly orders still open; now and then one that is not
                portfolio = rng.choice(portfolios).id
                working = node.orders.open_orders(portfolio)
                if working and rng.random() < 0.9:
                    client = rng.choice(working).client_order_id
                else:
                    portfolio, client = rng.choice(sent)
                if draw < 0.82:
                    node.orders.cancel(portfolio, client)
                    continue
                if rng.random() < 0.5:
                    node.orders.amend(portfolio, client, quantity=rng.randint(1, 900) * lot)
                else:
                    node.orders.amend(portfolio, client, price=(mid + rng.randint(-6, 6)) * tick)
        except Exception as error:  # refusals are part of the behaviour compared
            lines.append(f"refused {type(error).__name__}: {error}")
    for portfolio in portfolios:
        pid = portfolio.id
        lines.append(repr(node.ledger.snapshot(pid)))
        lines.extend(repr(position) for position in node.ledger.positions(pid))
        lines.extend(repr(record) for record in node.ledger.pnl_records(pid))
        lines.append(repr(node.ledger.cash_balances(pid)))
        lines.extend(repr(order) for order in node.orders.open_orders(pid))
        lines.append(repr(node.risk.trading_state(pid)))
        lines.append(repr(node.risk.limits(pid)))
        lines.append(repr(node.risk.equity_marks(pid)))
    for account in (DESK, OTHER):
        lines.append(repr(exchange.account(account).balances()))
        lines.append(repr(exchange.account(account).positions()))
    numbers: dict[str, str] = {}
    text = "\n".join(lines)
    return _UUID.sub(lambda m: numbers.setdefault(m.group(), f"#{len(numbers)}"), text)


def session_digest(seed: int = 5, operations: int = 3_000) -> str:
    """The sha256 of :func:`session_text`."""
    return hashlib.sha256(session_text(seed, operations).encode()).hexdigest()


if __name__ == "__main__":
    print(session_digest())
