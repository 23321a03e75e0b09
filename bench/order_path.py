"""Order path latency: submit -> risk checks -> journal -> simulated exchange -> fill -> position.

The real trading node (``runtime.trading_node``: risk engine with its default checks,
order manager, portfolio ledger) trades market orders of about 0.01 BTC (buys and sells
alternating) against a deep two-sided book kept by a maker on the simulated exchange, so
every order fills at once. In memory, one ``submit`` is timed from request to return: by
then the order passed the risk checks, was journaled, sent, acknowledged and filled, its
fill journaled, its events published and the ledger's position and cash updated. Runs:
- in memory: the in-memory journal, as fast as possible (orders/s, p50, p99);
- durable: the SQLite journal (WAL, synchronous=FULL: every commit is on disk) with
  orders arriving at a fixed rate (1,000/s) into the node's inbox; the orders waiting
  there are submitted together (one commit). A new order is committed before the venue
  hears of it; the ack and fill are group-committed with the next orders, or as soon as
  the node is idle (at most 2 ms later), and their events published after that commit.
  Latencies run from arrival (a journal slower than the rate shows as growing latency):
  to submit's return, and to the fill having updated the ledger (the whole path).
Targets: in memory p50 under 50 us and p99 under 250 us; durable p99 under 10 ms at
1,000 orders per second. Garbage collection as the trading process sets it.
"""

from __future__ import annotations

import itertools
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from harness import Figure, parse_args, report
from omoitrade.core.bus import MessageBus
from omoitrade.core.clock import LiveClock
from omoitrade.execution.journal import InMemoryOrderJournal, OrderJournal
from omoitrade.execution.order_manager import OrderManager
from omoitrade.execution.order_requests import OrderManagerConfig, OrderRequest
from omoitrade.model import Instrument, Portfolio
from omoitrade.model.enums import OrderSide, OrderStatus, OrderType
from omoitrade.model.events import OrderFillEvent
from omoitrade.model.identifiers import AccountId, ClientOrderId
from omoitrade.model.venue import SubmitOrder
from omoitrade.runtime.process import tune_gc
from omoitrade.runtime.trading_node import PortfolioSetup, TradingNode, TradingNodeConfig
from omoitrade.store import Database
from omoitrade.store.migrate import upgrade
from omoitrade.store.order_journal import SqlOrderJournal
from omoitrade.testing import factories as f
from omoitrade.venues.sim.exchange import SimExchangeConfig, SimulatedExchange

DESK, MAKER = AccountId("desk"), AccountId("maker")
SIZE, LOT = Decimal("0.01"), Decimal("0.0001")
GROUP_COMMIT_NS = 2_000_000  # a fill is journaled with the next order, or within 2 ms


class FillWatch:
    """Notes when each order's fill has gone through the ledger (it subscribes after the
    node, so the node's ledger update has run by then)."""

    def __init__(self, bus: MessageBus) -> None:
        self.seen_ns: dict[object, int] = {}
        bus.subscribe("events.order.*filled", self.on_fill)

    def on_fill(self, event: OrderFillEvent) -> None:
        self.seen_ns[event.order_id] = time.perf_counter_ns()


def setup(
    journal: OrderJournal, portfolio: Portfolio, btc: Instrument, group_commit_ns: int = 0
) -> tuple[TradingNode, FillWatch]:
    """A trading node (risk engine, order manager, ledger) on a simulated exchange with a
    deep two-sided book kept by a maker."""
    clock = LiveClock()
    exchange = SimulatedExchange(clock, [btc], SimExchangeConfig())
    exchange.open_account(DESK, {"USD": Decimal("1e12")})
    exchange.open_account(MAKER, {"USD": Decimal("1e12"), "BTC": Decimal("1e9")})
    bus = MessageBus()
    node = TradingNode(
        clock=clock,
        bus=bus,
        journal=journal,
        venues={"SIM": exchange},
        instruments=[btc],
        portfolios=[PortfolioSetup(portfolio, DESK)],
        config=TradingNodeConfig(orders=OrderManagerConfig(group_commit_ns=group_commit_ns)),
    )
    for side, price in ((OrderSide.SELL, "42000.00"), (OrderSide.BUY, "41999.00")):
        exchange.submit(
            SubmitOrder(MAKER, ClientOrderId(f"maker-{side}"), btc.id, side, OrderType.LIMIT,
                        Decimal("1000000"), price=Decimal(price))
        )  # fmt: skip
    return node, FillWatch(bus)


_numbers = itertools.count()


def requests(portfolio: Portfolio, btc: Instrument, count: int) -> list[OrderRequest]:
    """Market orders, buys and sells alternating, each of a different size over the whole
    run (so the risk engine's duplicate-order check, which is on, refuses none)."""
    work = []
    for _ in range(count):
        n = next(_numbers)
        side = OrderSide.BUY if n % 2 == 0 else OrderSide.SELL
        size = SIZE + LOT * (n % 100_000)
        work.append(
            OrderRequest(portfolio.id, btc.id, ClientOrderId(f"o{n}"), side, OrderType.MARKET, size)
        )
    return work


def timed(
    manager: OrderManager, work: list[OrderRequest], interval_s: float
) -> tuple[list[int], dict[object, int]]:
    """Latency of each submit in ns, and each order's arrival time by order id.

    Unpaced, orders go one by one. Paced (``interval_s``), order n arrives at slot n and its
    latency runs from that slot, so time spent waiting behind slower work counts. The loop
    is the node's inbox: when it comes back to it, every order that has arrived by then is
    submitted together (``submit_many``: one journal commit for all of them). When idle
    it writes what waits for a group commit, and fires the clock's alarms.
    """
    clock = time.perf_counter_ns
    fire_due = getattr(manager.clock, "fire_due", None)
    samples: list[int] = []
    arrivals: dict[object, int] = {}
    start = clock()
    step = int(interval_s * 1e9)
    n = 0
    while n < len(work):
        if not step:
            began = clock()
            order = manager.submit(work[n])
            samples.append(clock() - began)
            arrivals[order.id] = began
            n += 1
            continue
        now = clock()
        if now < start + n * step:  # idle: write what waits, then mind the timers
            manager.flush()
            if fire_due is not None:
                fire_due()
            continue
        last = min(len(work), (now - start) // step + 1)
        orders = manager.submit_many(work[n:last])
        done = clock()
        for k, order in enumerate(orders, start=n):
            samples.append(done - (start + k * step))
            arrivals[order.id] = start + k * step
        n = last
    manager.flush()
    samples.sort()
    return samples, arrivals


def visible(watch: FillWatch, arrivals: dict[object, int]) -> list[int]:
    """For each order, from its arrival to its fill having updated the ledger."""
    return sorted(watch.seen_ns[order_id] - at for order_id, at in arrivals.items())


def pct(samples: list[int], q: float) -> float:
    return samples[min(len(samples) - 1, int(q * len(samples)))] / 1000


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    memory_orders, durable_orders = (2_000, 500) if args.quick else (20_000, 5_000)
    rate = 1_000
    organization = f.make_organization()
    portfolio = f.make_portfolio(
        organization, initial_capital=Decimal("1e12"), cash=Decimal("1e12"),
        current_equity=Decimal("1e12"), margin_available=Decimal("1e12"),
    )  # fmt: skip
    btc = f.make_instrument()

    node, _ = setup(InMemoryOrderJournal(), portfolio, btc)
    timed(node.orders, requests(portfolio, btc, 500), 0)
    tune_gc()
    work = requests(portfolio, btc, memory_orders)
    began = time.perf_counter()
    memory, done = timed(node.orders, work, 0)
    memory_rate = memory_orders / (time.perf_counter() - began)
    statuses = {node.orders.registry.get(o).status for o in done}  # type: ignore[union-attr,arg-type]
    assert statuses == {OrderStatus.FILLED}, f"every order must fill, not {statuses}"
    del node  # its garbage must not be collected during the next run
    tune_gc()
    print(f"in memory: {memory_orders:,} market orders, each filled at once")

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/journal.db"
        upgrade(url)
        database = Database(url)
        with database.transaction() as uow:
            uow.organizations.add(organization)
            uow.portfolios.add(portfolio)
            uow.instruments.add(btc)
        node, watch = setup(SqlOrderJournal(database), portfolio, btc, GROUP_COMMIT_NS)
        timed(node.orders, requests(portfolio, btc, 200), 1 / rate)
        tune_gc()
        durable, arrivals = timed(node.orders, requests(portfolio, btc, durable_orders), 1 / rate)
        landed = visible(watch, arrivals)
        database.dispose()
    print(
        f"durable: {durable_orders:,} orders arriving at {rate:,}/s, SQLite journal"
        f" (synchronous=FULL), group commit within {GROUP_COMMIT_NS / 1e6:g} ms"
    )
    report(
        "order_path",
        [
            Figure("memory_orders_per_s", memory_rate, "1/s", None, "higher"),
            Figure("memory_p50_us", pct(memory, 0.5), "us", 50, "lower"),
            Figure("memory_p99_us", pct(memory, 0.99), "us", 250, "lower"),
            Figure("durable_submit_p50_us", pct(durable, 0.5), "us", None, "lower"),
            Figure("durable_submit_p99_us", pct(durable, 0.99), "us", None, "lower"),
            Figure("durable_filled_p50_us", pct(landed, 0.5), "us", None, "lower"),
            Figure("durable_filled_p99_us", pct(landed, 0.99), "us", 10_000, "lower"),
        ],
    )


if __name__ == "__main__":
    main()
