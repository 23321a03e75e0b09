"""Order path latency: submit -> risk checks -> journal -> simulated exchange -> fill -> position.

Each order is a market order of 0.01 BTC (buys and sells alternating) against a deep
two-sided book kept by a maker account on the simulated exchange, so every order fills at
once. One ``OrderManager.submit`` call is timed from request to return: by then the
order is journaled, sent, acknowledged and filled, its fill is journaled, its events are
published, and the position subscriber has updated the position. Two runs:
- in memory: the in-memory journal, as fast as possible (orders/s, p50, p99);
- durable: the SQLite journal (WAL, synchronous=FULL: every commit is on disk) with
  orders arriving at a fixed rate (1,000/s). A new order is committed before the venue
  hears of it; the ack and fill are group-committed with the next order (or within 2 ms)
  and their events published after that commit. Latencies run from arrival (so a journal
  slower than the rate shows as growing latency): to submit's return, and to the fill
  reaching the position subscriber (the whole path, durable).
Targets: in memory p50 under 50 us and p99 under 250 us; durable p99 under 10 ms at
1,000 orders per second. Garbage collection as the trading process sets it.
"""

from __future__ import annotations

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
from omoitrade.execution.order_manager import OrderManager, OrderManagerConfig, OrderRequest
from omoitrade.model.enums import OrderSide, OrderType
from omoitrade.model.events import OrderFillEvent
from omoitrade.model.identifiers import AccountId, ClientOrderId
from omoitrade.model.venue import SubmitOrder
from omoitrade.runtime.process import tune_gc
from omoitrade.store import Database
from omoitrade.store.migrate import upgrade
from omoitrade.store.order_journal import SqlOrderJournal
from omoitrade.testing import factories as f
from omoitrade.venues.sim.exchange import SimExchangeConfig, SimulatedExchange

DESK, MAKER = AccountId("desk"), AccountId("maker")
SIZE = Decimal("0.01")
GROUP_COMMIT_NS = 2_000_000  # a fill is journaled with the next order, or within 2 ms


class Positions:
    """The position subscriber: signed quantity per instrument, from fill events; notes
    when each order's fill reached it."""

    def __init__(self, bus: MessageBus) -> None:
        self.quantity: dict[object, Decimal] = {}
        self.seen_ns: dict[object, int] = {}
        bus.subscribe("events.order.*filled", self.on_fill)

    def on_fill(self, event: OrderFillEvent) -> None:
        signed = event.fill_quantity if event.side is OrderSide.BUY else -event.fill_quantity
        key = (event.portfolio_id, event.instrument_id)
        self.quantity[key] = self.quantity.get(key, Decimal(0)) + signed
        self.seen_ns[event.order_id] = time.perf_counter_ns()


def setup(
    journal: OrderJournal, portfolio_id: object, btc: object, group_commit_ns: int = 0
) -> tuple[OrderManager, Positions]:
    clock = LiveClock()
    exchange = SimulatedExchange(clock, [btc], SimExchangeConfig())  # type: ignore[list-item]
    exchange.open_account(DESK, {"USD": Decimal("1e12")})
    exchange.open_account(MAKER, {"USD": Decimal("1e12"), "BTC": Decimal("1e9")})
    for side, price in ((OrderSide.SELL, "42000.00"), (OrderSide.BUY, "41999.00")):
        exchange.submit(
            SubmitOrder(MAKER, ClientOrderId(f"maker-{side}"), btc.id, side,  # type: ignore[attr-defined]
                        OrderType.LIMIT, Decimal("1000000"), price=Decimal(price))
        )  # fmt: skip
    bus = MessageBus()
    positions = Positions(bus)
    manager = OrderManager(
        clock=clock,
        bus=bus,
        journal=journal,
        venues={"SIM": exchange},
        instruments={btc.id: btc},  # type: ignore[attr-defined]
        accounts={portfolio_id: DESK},  # type: ignore[dict-item]
        pre_trade_check=lambda order, before: None,
        config=OrderManagerConfig(group_commit_ns=group_commit_ns),
    )
    return manager, positions


def requests(portfolio_id: object, btc: object, count: int, prefix: str) -> list[OrderRequest]:
    return [
        OrderRequest(
            portfolio_id,
            btc.id,
            ClientOrderId(f"{prefix}{n}"),  # type: ignore[arg-type,attr-defined]
            OrderSide.BUY if n % 2 == 0 else OrderSide.SELL,
            OrderType.MARKET,
            SIZE,
        )
        for n in range(count)
    ]


def timed(
    manager: OrderManager, work: list[OrderRequest], interval_s: float
) -> tuple[list[int], dict[object, int]]:
    """Latency of each submit in ns, and each order's arrival time by order id. Paced
    (``interval_s``), an order arrives at its slot and its latency runs from that slot: time
    spent waiting behind a slow order counts; between slots the clock's alarms fire (the
    group commit's deadline among them), as the runtime's loop does."""
    clock = time.perf_counter_ns
    fire_due = getattr(manager.clock, "fire_due", None)
    samples, arrivals = [], {}
    start = clock()
    step = int(interval_s * 1e9)
    for n, request in enumerate(work):
        arrival = start + n * step
        while step and clock() < arrival:
            if fire_due is not None:
                fire_due()
        began = arrival if step else clock()
        order = manager.submit(request)
        samples.append(clock() - began)
        arrivals[order.id] = began
    manager.flush()
    samples.sort()
    return samples, arrivals


def visible(positions: Positions, arrivals: dict[object, int]) -> list[int]:
    """For each order, from its arrival to its fill reaching the position subscriber."""
    return sorted(positions.seen_ns[order_id] - at for order_id, at in arrivals.items())


def pct(samples: list[int], q: float) -> float:
    return samples[min(len(samples) - 1, int(q * len(samples)))] / 1000


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    memory_orders, durable_orders = (2_000, 500) if args.quick else (20_000, 5_000)
    rate = 1_000
    organization = f.make_organization()
    portfolio = f.make_portfolio(organization)
    btc = f.make_instrument()

    manager, positions = setup(InMemoryOrderJournal(), portfolio.id, btc)
    timed(manager, requests(portfolio.id, btc, 500, "warm-"), 0)
    tune_gc()
    work = requests(portfolio.id, btc, memory_orders, "m-")
    began = time.perf_counter()
    memory, _ = timed(manager, work, 0)
    memory_rate = memory_orders / (time.perf_counter() - began)
    assert positions.quantity, "fills reached the position subscriber"
    print(f"in memory: {memory_orders:,} market orders, each filled at once")

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/journal.db"
        upgrade(url)
        database = Database(url)
        with database.transaction() as uow:
            uow.organizations.add(organization)
            uow.portfolios.add(portfolio)
            uow.instruments.add(btc)
        journal = SqlOrderJournal(database)
        manager, positions = setup(journal, portfolio.id, btc, GROUP_COMMIT_NS)
        timed(manager, requests(portfolio.id, btc, 200, "warm-"), 1 / rate)
        durable, arrivals = timed(
            manager, requests(portfolio.id, btc, durable_orders, "d-"), 1 / rate
        )
        filled = visible(positions, arrivals)
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
            Figure("durable_filled_p50_us", pct(filled, 0.5), "us", None, "lower"),
            Figure("durable_filled_p99_us", pct(filled, 0.99), "us", 10_000, "lower"),
        ],
    )


if __name__ == "__main__":
    main()
