"""Quote-to-P&L latency of the portfolio ledger with 100,000 open positions.

1,000 instruments (every fourth one leveraged at a 10% margin rate) and 1,000
portfolios; each portfolio holds 100 instruments, long or short, so every
instrument has 100 open positions in 100 portfolios. The positions are built from
fills (``PortfolioLedger.apply_fill``, timed as fills/s). Then a seeded stream of
quotes on random instruments, with prices on a random walk, is applied with
``PortfolioLedger.mark_quote``: each revalues its instrument's 100 positions and the
balances of their portfolios. Latency is per quote (``time.perf_counter_ns``); memory
is the process's peak resident set size. Targets: under 1 ms per quote (p99) and
under 1 GiB. ``--quick`` runs 100 instruments (10,000 positions).
"""

from __future__ import annotations

import random
import resource
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from harness import Figure, parse_args, report
from omoitrade.core.ids import IdGenerator
from omoitrade.model.enums import InstrumentType, OrderSide
from omoitrade.model.events import OrderFilled
from omoitrade.model.identifiers import EventId, OrderId, PortfolioId, TradeId, VenueTradeId
from omoitrade.model.instruments import Instrument
from omoitrade.model.market_data import Quote
from omoitrade.portfolio import PortfolioLedger
from omoitrade.runtime.process import tune_gc
from omoitrade.testing.factories import make_instrument

AT = datetime(2024, 1, 2, 9, 30, tzinfo=UTC)
PER_INSTRUMENT = 100
TICK = Decimal("0.01")


def instruments(count: int) -> list[Instrument]:
    made = []
    for n in range(count):
        if n % 4 == 3:
            extra = {"instrument_type": InstrumentType.FUTURES, "metadata": {"margin_rate": "0.1"}}
        else:
            extra = {}
        made.append(make_instrument(symbol=f"I{n:04d}", base_currency=f"B{n:04d}", **extra))
    return made


def build(ledger: PortfolioLedger, universe: list[Instrument], rng: random.Random) -> float:
    """Open the positions; returns fills per second."""
    count = len(universe)
    portfolios = [PortfolioId(int=n + 1) for n in range(count)]
    for portfolio in portfolios:
        ledger.open_portfolio(portfolio, "USD", Decimal("10000000.00"))
    ids = IdGenerator(lambda: 0, seed=1)
    events = []
    for k, portfolio in enumerate(portfolios):
        for offset in range(PER_INSTRUMENT):
            instrument = universe[(k + offset) % count]
            price = rng.randint(9_000, 11_000) * TICK
            events.append(
                (
                    OrderFilled(
                        event_id=EventId.new(ids),
                        occurred_at=AT,
                        order_id=OrderId.new(ids),
                        portfolio_id=portfolio,
                        instrument_id=instrument.id,
                        side=OrderSide.BUY if rng.random() < 0.6 else OrderSide.SELL,
                        trade_id=TradeId.new(ids),
                        exchange_trade_id=VenueTradeId(f"T{k}-{offset}"),
                        fill_quantity=Decimal(rng.randint(1, 500)),
                        fill_price=price,
                        commission=Decimal("0.25"),
                        filled_quantity=Decimal(1),
                        average_fill_price=price,
                    ),
                    instrument,
                )
            )
    start = time.perf_counter()
    for event, instrument in events:
        ledger.apply_fill(event, instrument)
    return len(events) / (time.perf_counter() - start)


def quotes(universe: list[Instrument], count: int, rng: random.Random) -> list[Quote]:
    ticks = [10_000] * len(universe)
    made = []
    for n in range(count):
        i = rng.randrange(len(universe))
        ticks[i] = max(100, ticks[i] + rng.randint(-20, 20))
        bid = ticks[i] * TICK
        at = AT + timedelta(milliseconds=n)
        made.append(Quote(universe[i].id, at, bid, bid + TICK, Decimal(1), Decimal(1)))
    return made


def percentile(sorted_ns: list[int], fraction: float) -> float:
    return sorted_ns[min(len(sorted_ns) - 1, int(fraction * len(sorted_ns)))] / 1000


def main() -> None:
    args = parse_args(__doc__.splitlines()[0])
    count, quote_count = (100, 5_000) if args.quick else (1_000, 50_000)
    rng = random.Random(7)
    universe = instruments(count)
    ledger = PortfolioLedger(ids=IdGenerator(lambda: 0, seed=2))
    fill_rate = build(ledger, universe, rng)
    stream = quotes(universe, quote_count, rng)
    held = sum(len(ledger.positions(p)) for p in ledger.portfolio_ids())
    print(f"{held:,} open positions, {count:,} instruments, {len(ledger.portfolio_ids()):,}"
          f" portfolios; {quote_count:,} quotes")  # fmt: skip
    tune_gc()
    mark = ledger.mark_quote
    clock = time.perf_counter_ns
    samples = []
    for quote in stream:
        start = clock()
        mark(quote)
        samples.append(clock() - start)
    samples.sort()
    mean_us = sum(samples) / len(samples) / 1000
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    probe = ledger.portfolio_ids()[0]
    print(f"portfolio 1: equity {ledger.equity(probe):,.2f} USD,"
          f" unrealized {ledger.unrealized_pnl(probe):,.2f}")  # fmt: skip
    report(
        "positions",
        [
            Figure("open_positions", float(held), "positions", None, "higher"),
            Figure("fills_per_s", fill_rate, "1/s", None, "higher"),
            Figure("quote_latency_p50_us", percentile(samples, 0.50), "us", None, "lower"),
            Figure("quote_latency_p99_us", percentile(samples, 0.99), "us", 1000, "lower"),
            Figure("quote_latency_mean_us", mean_us, "us", 1000, "lower"),
            Figure("peak_rss_mib", rss_mib, "MiB", 1024, "lower"),
        ],
    )


if __name__ == "__main__":
    main()
