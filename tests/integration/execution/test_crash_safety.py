"""Crash safety: a trading process killed with SIGKILL at random moments loses nothing.

The simulated exchange runs as its own service (own process, own database file). The
trading process (``crash_trader.py``) submits a seeded stream of orders against it and is
killed with SIGKILL several times at random moments, then restarted; each start rebuilds
its books and reconciles. At the end: every order whose submit had returned is in the
journal; no client order id reached the venue twice; the positions of a node restarted
on the journal (its ledger rebuilt from the event store) equal the venue's, and so do
the journal's trades; nothing is REJECTED without a reason.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from omoitrade.model.enums import OrderSide, OrderStatus, OrderType
from omoitrade.model.identifiers import AccountId, ClientOrderId
from omoitrade.model.venue import ExecType, ExecutionReport, SubmitOrder
from omoitrade.store import Database
from omoitrade.testing.sim_service import ServiceProcess
from omoitrade.venues.sim.remote import RemoteSimVenue

TRADER = Path(__file__).with_name("crash_trader.py")
ORDERS = 160
MAKER = AccountId("maker")


class Trader:
    """One run of the trading process, its output read as it comes."""

    def __init__(self, db: Path, venue_url: str, seed: int) -> None:
        command = [sys.executable, str(TRADER), "--db", str(db), "--venue", venue_url,
                   "--orders", str(ORDERS), "--seed", str(seed)]  # fmt: skip
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.lines: list[str] = []
        self.ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.strip())
            if line.startswith("READY"):
                self.ready.set()

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self._reader.join(timeout=10)

    def finish(self) -> None:
        assert self.process.wait(timeout=180) == 0, self.process.stderr.read()  # type: ignore[union-attr]
        self._reader.join(timeout=10)

    def returned(self) -> list[str]:
        return [line.split()[1] for line in self.lines if line.startswith("RETURNED")]

    def ledger_positions(self) -> dict[str, Decimal]:
        """The ``POSITION <instrument> <quantity>`` lines of the restarted node's ledger."""
        rows = (line.split() for line in self.lines if line.startswith("POSITION "))
        return {instrument: Decimal(quantity) for _, instrument, quantity in rows}


def provide_liquidity(url: str) -> None:
    """Open the trader's account, and rest deep orders on both sides of BTC/USD."""
    opened = httpx.post(
        f"{url}/accounts", json={"account_id": "trader", "deposits": {"USD": "1e8"}}
    )
    assert opened.status_code == 201, opened.text
    venue = RemoteSimVenue(url)
    btc = next(i for i in venue.instruments() if i.symbol == "BTC/USD")
    for side, price in ((OrderSide.SELL, "42000.00"), (OrderSide.BUY, "41999.00")):
        venue.submit(
            SubmitOrder(MAKER, ClientOrderId(f"maker-{side}"), btc.id, side, OrderType.LIMIT,
                        Decimal("1000"), price=Decimal(price))
        )  # fmt: skip
    venue.close()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_trader_killed_at_random_moments_loses_and_doubles_nothing(
    tmp_path: Path, seed: int
) -> None:
    service = ServiceProcess(
        tmp_path / "exchange.db", "--cash", "USD=100000000", "--cash", "BTC=10000"
    )
    service.start()
    try:
        provide_liquidity(service.url)
        rng = random.Random(seed)
        journal = tmp_path / "trader.db"
        returned: list[str] = []
        for _ in range(3):
            trader = Trader(journal, service.url, seed)
            assert trader.ready.wait(timeout=60), trader.process.stderr.read()  # type: ignore[union-attr]
            time.sleep(rng.uniform(0.05, 0.6))
            trader.kill()
            returned += trader.returned()
        last = Trader(journal, service.url, seed)
        last.finish()
        returned += last.returned()
        assert any(line.startswith("DONE") for line in last.lines)

        database = Database(f"sqlite:///{journal}")
        with database.transaction(write=False) as uow:
            orders = uow.orders.list()
            trades = uow.trades.list()
        database.dispose()
        stored = {str(o.client_order_id): o for o in orders}
        assert set(returned) <= set(stored), "every order whose submit returned is journaled"
        assert len(stored) >= ORDERS - 1

        venue = RemoteSimVenue(service.url)
        news = Counter(
            str(r.client_order_id) for r in venue.catch_up(0)
            if isinstance(r, ExecutionReport) and r.account_id == "trader"
            and r.exec_type is ExecType.NEW
        )  # fmt: skip
        assert news and max(news.values()) == 1, "no client order id reached the venue twice"
        assert set(news) <= set(stored), "the venue has no order we do not know"

        for order in orders:
            if order.status is OrderStatus.REJECTED:
                assert order.reject_reason, f"{order.client_order_id} rejected without a reason"

        theirs = {
            str(p.instrument_id): p.quantity
            for p in asyncio.run(venue.positions(AccountId("trader")))
            if p.quantity
        }
        venue.close()
        assert theirs, "the run traded: there are positions to compare"
        ledger = {k: v for k, v in last.ledger_positions().items() if v}
        assert ledger == theirs, "the restarted node's ledger holds what the venue holds"

        ours: dict[str, Decimal] = {}
        sides = {o.id: o.side for o in orders}
        for trade in trades:
            sign = 1 if sides[trade.order_id] is OrderSide.BUY else -1
            key = str(trade.instrument_id)
            ours[key] = ours.get(key, Decimal(0)) + sign * trade.quantity
        assert {k: v for k, v in ours.items() if v} == theirs, "and so do the journal's trades"
    finally:
        service.stop()
