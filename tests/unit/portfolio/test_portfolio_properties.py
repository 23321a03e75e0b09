"""Properties of the ledger over random fills and marks: quantities, exact P&L, aggregates."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from omoitrade.core.ids import IdGenerator
from omoitrade.model import (
    EventId,
    InstrumentType,
    OrderId,
    OrderSide,
    PortfolioId,
    TradeId,
    VenueTradeId,
)
from omoitrade.model.events import OrderFilled
from omoitrade.model.instruments import Instrument
from omoitrade.portfolio import PortfolioLedger
from omoitrade.testing.factories import make_instrument

AT = datetime(2024, 1, 2, tzinfo=UTC)
INSTRUMENTS = [
    make_instrument(),  # fully funded, USD
    make_instrument(  # leveraged, USD
        symbol="ES",
        instrument_type=InstrumentType.FUTURES,
        metadata={"margin_rate": "0.05"},
        tick_size=D("0.25"),
        lot_size=D("1"),
        min_quantity=D("1"),
    ),
    make_instrument(symbol="SAP", quote_currency="EUR"),  # fully funded, EUR
    make_instrument(symbol="FDAX", quote_currency="EUR", metadata={"margin_rate": "0.125"}),
]
EUR_USD = D("1.0873")
START = D("1000000.00")

fills = st.tuples(
    st.just("fill"),
    st.integers(0, len(INSTRUMENTS) - 1),
    st.sampled_from([OrderSide.BUY, OrderSide.SELL]),
    st.integers(1, 5000),  # lots
    st.integers(1, 2_000_000),  # ticks
    st.integers(0, 500),  # commission in cents
    st.booleans(),  # redeliver the previous fill afterwards
)
marks = st.tuples(st.just("mark"), st.integers(0, len(INSTRUMENTS) - 1), st.integers(1, 2_000_000))
steps = st.lists(st.one_of(fills, marks), min_size=1, max_size=60)


def fill_event(
    portfolio: PortfolioId,
    instrument: Instrument,
    side: OrderSide,
    qty: D,
    price: D,
    fee: D,
    n: int,
) -> OrderFilled:
    return OrderFilled(
        event_id=EventId.new(),
        occurred_at=AT + timedelta(seconds=n),
        order_id=OrderId.new(),
        portfolio_id=portfolio,
        instrument_id=instrument.id,
        side=side,
        trade_id=TradeId.new(),
        exchange_trade_id=VenueTradeId(f"T{n}"),
        fill_quantity=qty,
        fill_price=price,
        commission=fee,
        filled_quantity=qty,
        average_fill_price=price,
    )


def run(script: list[tuple[object, ...]]) -> None:
    ledger = PortfolioLedger(ids=IdGenerator(lambda: 0, seed=3), fifo_lots=True)
    ledger.set_rate("EUR", "USD", EUR_USD)
    portfolio = PortfolioId.new()
    ledger.open_portfolio(portfolio, "USD", START)
    signed = {i.id: D(0) for i in INSTRUMENTS}
    fees = D(0)
    for n, step in enumerate(script):
        instrument = INSTRUMENTS[step[1]]
        if step[0] == "mark":
            ledger.mark(instrument.id, step[2] * instrument.tick_size, AT)
        else:
            _, _, side, lots, ticks, cents, redeliver = step
            qty, price = lots * instrument.lot_size, ticks * instrument.tick_size
            fee = D(cents) / 100
            event = fill_event(portfolio, instrument, side, qty, price, fee, n)
            assert ledger.apply_fill(event, instrument)
            signed[instrument.id] += qty if side is OrderSide.BUY else -qty
            fees += fee if instrument.quote_currency == "USD" else fee * EUR_USD
            if redeliver:
                before = ledger.snapshot(portfolio)
                assert ledger.apply_fill(event, instrument) == []
                assert ledger.snapshot(portfolio) == before

        # (a) quantity is the sum of signed fills
        for i in INSTRUMENTS:
            position = ledger.position(portfolio, i.id)
            quantity = D(0) if position is None else position.signed_quantity
            assert quantity == signed[i.id]
        # (b) realized + unrealized = equity change + fees, exactly
        pnl = ledger.realized_pnl(portfolio) + ledger.unrealized_pnl(portfolio)
        assert pnl == ledger.equity(portfolio) - START + fees
        # incremental totals equal totals recomputed from the positions
        positions = ledger.positions(portfolio)
        rate = {"USD": D(1), "EUR": EUR_USD}
        currency = {i.id: i.quote_currency for i in INSTRUMENTS}
        assert ledger.unrealized_pnl(portfolio) == sum(
            (p.unrealized_pnl * rate[currency[p.instrument_id]] for p in positions), D(0)
        )
        assert ledger.margin_used(portfolio) == sum(
            (p.margin_used * rate[currency[p.instrument_id]] for p in positions), D(0)
        )
        # the per-fill records add up to the totals; positions keep the entity's rules
        records = ledger.pnl_records(portfolio)
        assert sum((r.realized_pnl * rate[r.currency] for r in records), D(0)) == (
            ledger.realized_pnl(portfolio)
        )
        for p in positions:
            replace(p)  # runs Position.__post_init__ validation
        # FIFO and average cost agree on total P&L per instrument, exactly
        for p in positions:
            book = ledger.book(portfolio, p.instrument_id)
            assert p.current_price is not None
            fifo = ledger.fifo_report(portfolio, p.instrument_id)
            assert fifo.quantity == p.signed_quantity
            assert fifo.realized_pnl + fifo.unrealized_pnl(p.current_price) == (
                book.total_realized_pnl + p.unrealized_pnl
            )


@settings(max_examples=300, deadline=None)
@given(steps)
def test_quantities_and_pnl_stay_exact_over_random_fills_and_marks(
    script: list[tuple[object, ...]],
) -> None:
    run(script)


@settings(max_examples=100, deadline=None)
@given(st.lists(fills, min_size=1, max_size=30), st.integers(1, 2_000_000))
def test_closing_everything_leaves_only_cash(
    script: list[tuple[object, ...]], close_ticks: int
) -> None:
    run(script)
    ledger = PortfolioLedger()
    portfolio = PortfolioId.new()
    ledger.open_portfolio(portfolio, "USD", START)
    ledger.set_rate("EUR", "USD", EUR_USD)
    instrument = INSTRUMENTS[0]
    net = D(0)
    for n, (_, _, side, lots, ticks, _, _) in enumerate(script):
        qty, price = lots * instrument.lot_size, ticks * instrument.tick_size
        ledger.apply_fill(fill_event(portfolio, instrument, side, qty, price, D(0), n), instrument)
        net += qty if side is OrderSide.BUY else -qty
    if net:
        side = OrderSide.SELL if net > 0 else OrderSide.BUY
        price = close_ticks * instrument.tick_size
        last = fill_event(portfolio, instrument, side, abs(net), price, D(0), 10**6)
        ledger.apply_fill(last, instrument)
    assert ledger.positions(portfolio) == []
    assert ledger.unrealized_pnl(portfolio) == 0
    assert (
        ledger.equity(portfolio) == ledger.cash(portfolio) == START + ledger.realized_pnl(portfolio)
    )
