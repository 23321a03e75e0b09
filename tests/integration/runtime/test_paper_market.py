"""The paper market end to end on a simulated clock: deterministic, two-sided, clean, tradable."""

from __future__ import annotations

from decimal import Decimal

from omoitrade.core.clock import SimulatedClock
from omoitrade.model import AccountId, ClientOrderId, ExecType, OrderSide, OrderType
from omoitrade.model.venue import ExecutionReport, SubmitOrder
from omoitrade.runtime.paper import PaperMarket, PaperMarketConfig
from omoitrade.venues.sim.catalog import default_instruments

START_NS = 1_704_186_000_000_000_000  # 2024-01-02 09:00 UTC
INSTRUMENTS = default_instruments()
SECOND = 1_000_000_000


def run(seconds: int, seed: int = 7) -> tuple[PaperMarket, list[str]]:
    clock = SimulatedClock(START_NS)
    market = PaperMarket(clock, INSTRUMENTS, PaperMarketConfig(seed=seed))
    published: list[str] = []
    market.bus.subscribe("data.*", lambda item: published.append(repr(item)))
    market.start()
    clock.advance_by(seconds * SECOND)
    return market, published


def test_the_same_seed_gives_the_same_market_data() -> None:
    _, first = run(30)
    _, second = run(30)
    _, other = run(30, seed=8)
    assert first == second
    assert first != other
    assert len(first) > 300


def test_books_stay_two_sided_and_never_crossed() -> None:
    clock = SimulatedClock(START_NS)
    market = PaperMarket(clock, INSTRUMENTS)
    market.start()
    for _ in range(240):  # a minute in steps
        clock.advance_by(SECOND // 4)
        for instrument in INSTRUMENTS:
            engine = market.exchange.engine(instrument.id)
            bid, ask = engine.best_bid(), engine.best_ask()
            assert bid is not None and ask is not None
            assert bid[0] < ask[0]
            bids, asks = engine.depth(10)
            assert len(bids) >= 3 and len(asks) >= 3


def test_a_clean_synthetic_stream_raises_no_anomaly_and_builds_bars() -> None:
    market, _ = run(150)
    assert market.detector.total() == 0
    for view in market.views():
        assert view.quote is not None and view.last_trade is not None
        assert view.bar is not None and view.bar.volume > 0


def test_our_market_order_trades_against_the_background_liquidity() -> None:
    clock = SimulatedClock(START_NS)
    market = PaperMarket(clock, INSTRUMENTS)
    me = AccountId("paper-1")
    market.exchange.open_account(me, {"USD": Decimal("100000")})
    reports: list[ExecutionReport] = []
    market.exchange.on_report(lambda r: reports.append(r))  # type: ignore[arg-type]
    market.start()
    clock.advance_by(2 * SECOND)
    aapl = next(i for i in INSTRUMENTS if i.symbol == "AAPL")
    ask = market.exchange.engine(aapl.id).best_ask()
    assert ask is not None
    market.exchange.submit(
        SubmitOrder(
            me, ClientOrderId("buy-aapl"), aapl.id, OrderSide.BUY, OrderType.MARKET, Decimal("10")
        )
    )
    fills = [r for r in reports if r.exec_type is ExecType.TRADE]
    assert sum(f.last_quantity or 0 for f in fills) == Decimal("10")
    assert all(f.account_id == me for f in reports)  # background reports stay inside
    assert fills[0].last_price == ask[0]
