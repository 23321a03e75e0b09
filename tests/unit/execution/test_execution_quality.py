"""Tests for execution quality: slippage (bps and quote currency), latencies and aggregates."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from omoitrade.core.clock import SimulatedClock
from omoitrade.core.errors import Conflict, NotFound, ValidationError
from omoitrade.execution.quality import ExecutionQuality
from omoitrade.model.enums import OrderSide
from omoitrade.model.identifiers import OrderId, StrategyId
from omoitrade.model.instruments import Instrument
from omoitrade.testing.factories import make_instrument

D = Decimal
T = 1_700_000_000_000_000_000
MS = 1_000_000
BUY, SELL = OrderSide.BUY, OrderSide.SELL
BTC = make_instrument()
ETH_EUR = make_instrument(exchange="OTHER", symbol="ETH/EUR", quote_currency="EUR")
ALPHA, BETA = StrategyId(int=1), StrategyId(int=2)


def oid(n: int) -> OrderId:
    return OrderId(int=n)


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(T)


@pytest.fixture
def eq(clock: SimulatedClock) -> ExecutionQuality:
    return ExecutionQuality(clock)


def test_buy_with_partial_fills_volume_weighted(eq: ExecutionQuality) -> None:
    eq.order_submitted(
        oid(1), BTC, BUY, D(2), arrival_price=D(100), limit_price=D(101), strategy_id=ALPHA, at_ns=T
    )
    eq.order_acknowledged(oid(1), at_ns=T + 1_500_000)
    eq.fill(oid(1), D("100.10"), D(1), at_ns=T + 3 * MS)
    eq.fill(oid(1), D("100.30"), D(1), at_ns=T + 5 * MS + 250)
    r = eq.order_report(oid(1))
    assert (r.venue, r.instrument_id, r.quote_currency, r.strategy_id) == (
        "SIM",
        BTC.id,
        "USD",
        ALPHA,
    )
    assert r.filled_quantity == D(2)
    assert r.average_price == D("100.20")
    # (100.10 - 100) * 1 + (100.30 - 100) * 1 = 0.40 USD; 0.40 / (100 * 2) = 20 bps
    assert r.slippage_cost == D("0.40")
    assert r.slippage_bps == D(20)
    # Against the limit of 101: -0.90 - 0.70 = -1.60 USD (better than the limit);
    # -1.60 / (101 * 2) * 10_000 = -8000/101 bps, to 28 digits.
    assert r.limit_slippage_cost == D("-1.60")
    assert r.limit_slippage_bps == D("-79.20792079207920792079207921")
    assert [(f.slippage_bps, f.slippage_cost) for f in r.fills] == [
        (D(10), D("0.10")),
        (D(30), D("0.30")),
    ]
    assert r.fills[0].limit_slippage_cost == D("-0.90")
    assert (r.ack_latency_us, r.first_fill_latency_us, r.last_fill_latency_us) == (
        D(1500),
        D(3000),
        D("5000.25"),
    )
    assert (r.submitted_ns, r.acknowledged_ns, r.first_fill_ns, r.last_fill_ns) == (
        T,
        T + 1_500_000,
        T + 3 * MS,
        T + 5 * MS + 250,
    )


def test_sell_below_arrival_is_a_positive_cost(eq: ExecutionQuality) -> None:
    eq.order_submitted(oid(2), BTC, SELL, D(3), arrival_price=D(50), at_ns=T)
    eq.fill(oid(2), D("49.90"), D(1), at_ns=T + MS)
    eq.fill(oid(2), D("49.95"), D(2), at_ns=T + 2 * MS)
    r = eq.order_report(oid(2))
    # (50 - 49.90) * 1 + (50 - 49.95) * 2 = 0.20 USD; 0.20 / (50 * 3) * 10_000 = 13.33... bps
    assert r.slippage_cost == D("0.20")
    assert r.slippage_bps == D("13.33333333333333333333333333")
    assert r.average_price == D("49.93333333333333333333333333")
    assert [f.slippage_bps for f in r.fills] == [D(20), D(10)]
    assert r.limit_price is None
    assert (r.limit_slippage_bps, r.limit_slippage_cost) == (None, None)
    assert r.ack_latency_us is None  # never acknowledged: unknown


def test_improvement_is_negative_for_both_sides(eq: ExecutionQuality) -> None:
    eq.order_submitted(oid(1), BTC, BUY, D(1), arrival_price=D(200), at_ns=T)
    eq.fill(oid(1), D(199), D(1), at_ns=T)
    eq.order_submitted(oid(2), BTC, SELL, D(1), arrival_price=D(200), at_ns=T)
    eq.fill(oid(2), D(201), D(1), at_ns=T)
    for n in (1, 2):
        r = eq.order_report(oid(n))
        assert (r.slippage_cost, r.slippage_bps) == (D(-1), D(-50))


def test_sell_against_its_limit(eq: ExecutionQuality) -> None:
    eq.order_submitted(oid(3), BTC, SELL, D(4), arrival_price=D(100), limit_price=D(99), at_ns=T)
    eq.fill(oid(3), D("99.50"), D(4), at_ns=T + MS)
    r = eq.order_report(oid(3))
    assert (r.slippage_cost, r.slippage_bps) == (D("2.00"), D(50))
    # sold 0.50 above the limit of 99: -2.00 USD, -0.50 / 99 * 10_000 bps
    assert r.limit_slippage_cost == D("-2.00")
    assert r.limit_slippage_bps == D("-50.50505050505050505050505051")


def test_no_arrival_price_is_unknown_not_zero(eq: ExecutionQuality) -> None:
    eq.order_submitted(oid(4), BTC, BUY, D(1), arrival_price=None, limit_price=D(10), at_ns=T)
    eq.fill(oid(4), D(9), D(1), at_ns=T + MS)
    r = eq.order_report(oid(4))
    assert r.arrival_price is None
    assert (r.slippage_bps, r.slippage_cost) == (None, None)
    assert (r.fills[0].slippage_bps, r.fills[0].slippage_cost) == (None, None)
    assert (r.limit_slippage_cost, r.limit_slippage_bps) == (D(-1), D(-1000))
    agg = eq.aggregate("venue")["SIM"]
    assert (agg.orders, agg.filled_orders, agg.measured_orders) == (1, 1, 0)
    assert agg.mean_slippage_bps is None and agg.p95_slippage_bps is None
    assert agg.slippage_cost == {}


def test_unfilled_order(eq: ExecutionQuality, clock: SimulatedClock) -> None:
    eq.order_submitted(oid(5), BTC, BUY, D(1), arrival_price=D(100))
    clock.advance_by(7 * MS)
    eq.order_acknowledged(oid(5))
    clock.advance_by(MS)
    eq.order_acknowledged(oid(5))  # a later acknowledgement changes nothing
    r = eq.order_report(oid(5))
    assert r.submitted_ns == T  # from the clock
    assert r.ack_latency_us == D(7000)
    assert r.filled_quantity == 0 and r.fills == ()
    assert r.average_price is None and r.slippage_bps is None and r.slippage_cost is None
    assert r.first_fill_latency_us is None and r.last_fill_latency_us is None


def _buy_at_bps(
    eq: ExecutionQuality,
    n: int,
    bps: int,
    strategy_id: StrategyId | None = None,
    instrument: Instrument = BTC,
) -> None:
    """A filled 1-unit buy with an arrival of 100 and ``bps`` of slippage."""
    eq.order_submitted(
        oid(n), instrument, BUY, D(1), arrival_price=D(100), strategy_id=strategy_id, at_ns=T
    )
    eq.order_acknowledged(oid(n), at_ns=T + n * 1000)
    eq.fill(oid(n), D(100) + D(bps) / 100, D(1), at_ns=T + n * 2000)


def test_aggregate_statistics_nearest_rank_p95(eq: ExecutionQuality) -> None:
    for k in range(1, 21):
        _buy_at_bps(eq, k, k, strategy_id=ALPHA)
    agg = eq.aggregate("strategy")[ALPHA]
    assert (agg.orders, agg.filled_orders, agg.measured_orders) == (20, 20, 20)
    assert agg.mean_slippage_bps == D("10.5")
    assert agg.median_slippage_bps == D("10.5")
    assert agg.p95_slippage_bps == D(19)  # rank ceil(0.95 * 20) = 19
    assert agg.slippage_cost == {"USD": D("2.10")}  # (1 + ... + 20) / 100
    assert agg.mean_ack_latency_us == D("10.5")  # n * 1000 ns for n = 1..20
    assert agg.mean_first_fill_latency_us == D(21)
    assert agg.mean_last_fill_latency_us == D(21)


def test_aggregates_by_strategy_venue_and_instrument(eq: ExecutionQuality) -> None:
    _buy_at_bps(eq, 1, 10, strategy_id=ALPHA)
    _buy_at_bps(eq, 2, 30, strategy_id=ALPHA, instrument=ETH_EUR)
    _buy_at_bps(eq, 3, -5, strategy_id=BETA)
    _buy_at_bps(eq, 4, 0)  # no strategy
    eq.order_submitted(oid(5), BTC, SELL, D(1), arrival_price=D(100), strategy_id=BETA, at_ns=T)

    by_strategy = eq.aggregate("strategy")
    assert list(by_strategy) == [ALPHA, BETA, None]
    alpha = by_strategy[ALPHA]
    assert (alpha.mean_slippage_bps, alpha.median_slippage_bps, alpha.p95_slippage_bps) == (
        D(20),
        D(20),
        D(30),
    )
    assert alpha.slippage_cost == {"USD": D("0.10"), "EUR": D("0.30")}  # never mixed
    beta = by_strategy[BETA]
    assert (beta.orders, beta.filled_orders, beta.measured_orders) == (2, 1, 1)
    assert beta.median_slippage_bps == D(-5)
    assert beta.mean_ack_latency_us == D(3)  # the unacknowledged order is left out
    assert by_strategy[None].mean_slippage_bps == D(0)

    by_venue = eq.aggregate("venue")
    assert set(by_venue) == {"SIM", "OTHER"}
    assert by_venue["SIM"].orders == 4
    assert by_venue["SIM"].median_slippage_bps == D(0)  # -5, 0, 10
    assert by_venue["SIM"].slippage_cost == {"USD": D("0.05")}

    by_instrument = eq.aggregate("instrument")
    assert by_instrument[ETH_EUR.id].slippage_cost == {"EUR": D("0.30")}
    assert by_instrument[BTC.id].mean_slippage_bps == D("1.666666666666666666666666667")


def test_reports_and_forget(eq: ExecutionQuality) -> None:
    _buy_at_bps(eq, 1, 1)
    _buy_at_bps(eq, 2, 2)
    assert [r.order_id for r in eq.reports()] == [oid(1), oid(2)]
    eq.forget(oid(1))
    assert [r.order_id for r in eq.reports()] == [oid(2)]
    with pytest.raises(NotFound):
        eq.forget(oid(1))


def test_refusals(eq: ExecutionQuality) -> None:
    eq.order_submitted(oid(1), BTC, BUY, D(2), arrival_price=D(100), at_ns=T)
    with pytest.raises(Conflict):
        eq.order_submitted(oid(1), BTC, BUY, D(2), arrival_price=D(100), at_ns=T)
    with pytest.raises(NotFound):
        eq.fill(oid(9), D(1), D(1))
    with pytest.raises(NotFound):
        eq.order_acknowledged(oid(9))
    with pytest.raises(NotFound):
        eq.order_report(oid(9))
    eq.fill(oid(1), D(100), D("1.5"), at_ns=T)
    with pytest.raises(ValidationError, match=r"would fill 2\.6"):
        eq.fill(oid(1), D(100), D("1.1"), at_ns=T)
    with pytest.raises(ValidationError):
        eq.fill(oid(1), D(100), D("0.1"), at_ns=T - 1)  # before the submission
    with pytest.raises(ValidationError):
        eq.fill(oid(1), D(0), D("0.1"), at_ns=T)
    with pytest.raises(ValidationError):
        eq.fill(oid(1), D(100), 0.1, at_ns=T)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        eq.order_submitted(oid(2), BTC, BUY, D(1), arrival_price=D(-1))
    with pytest.raises(ValidationError):
        eq.order_submitted(oid(2), BTC, "BUY", D(1), arrival_price=None)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        eq.aggregate("portfolio")  # type: ignore[arg-type]
    assert eq.order_report(oid(1)).filled_quantity == D("1.5")  # refusals changed nothing


prices = st.decimals(min_value=D("0.01"), max_value=D(1000), places=2)
sizes = st.decimals(min_value=D("0.001"), max_value=D(10), places=3)


@given(arrival=prices, fills=st.lists(st.tuples(prices, sizes), min_size=1, max_size=8))
def test_sell_mirror_costs_the_same_as_buy(
    arrival: Decimal, fills: list[tuple[Decimal, Decimal]]
) -> None:
    """A sell filled at ``2a - p`` is as bad as a buy filled at ``p``; fills add up."""
    mirrored = [(2 * arrival - p, q) for p, q in fills]
    if any(p <= 0 for p, _ in mirrored):
        return
    eq = ExecutionQuality(SimulatedClock(T))
    total = sum((q for _, q in fills), D(0))
    eq.order_submitted(oid(1), BTC, BUY, total, arrival_price=arrival, at_ns=T)
    eq.order_submitted(oid(2), BTC, SELL, total, arrival_price=arrival, at_ns=T)
    for (p, q), (m, _) in zip(fills, mirrored, strict=True):
        eq.fill(oid(1), p, q, at_ns=T)
        eq.fill(oid(2), m, q, at_ns=T)
    buy, sell = eq.order_report(oid(1)), eq.order_report(oid(2))
    assert buy.slippage_cost == sell.slippage_cost
    assert buy.slippage_bps == sell.slippage_bps
    assert buy.slippage_cost == sum((f.slippage_cost or 0 for f in buy.fills), D(0))
    expected_cost = sum(((p - arrival) * q for p, q in fills), D(0))
    assert buy.slippage_cost == expected_cost
    assert buy.average_price is not None and buy.slippage_bps is not None
    assert abs(buy.slippage_bps - (buy.average_price - arrival) / arrival * 10_000) < D("1e-20")
    assert buy.filled_quantity == total


def test_the_order_managers_shortcuts_match_the_checked_methods(clock: SimulatedClock) -> None:
    checked, quick = ExecutionQuality(clock), ExecutionQuality(clock)
    checked.order_submitted(
        oid(1), BTC, BUY, D(2), arrival_price=D(100), limit_price=D(101), strategy_id=ALPHA
    )
    quick.trusted_order_submitted(
        oid(1), BTC, BUY, D(2), arrival_price=D(100), limit_price=D(101), strategy_id=ALPHA
    )
    with pytest.raises(Conflict):
        quick.trusted_order_submitted(
            oid(1), BTC, BUY, D(2), arrival_price=None, limit_price=None, strategy_id=None
        )
    with pytest.raises(ValidationError):  # the arrival price is still checked
        quick.trusted_order_submitted(
            oid(2), BTC, BUY, D(2), arrival_price=D(0), limit_price=None, strategy_id=None
        )
    clock.advance_by(MS)
    checked.order_acknowledged(oid(1))
    quick.acknowledged_if_known(oid(1))
    clock.advance_by(MS)
    checked.fill(oid(1), D("100.5"), D(1))
    quick.trusted_fill(oid(1), D("100.5"), D(1))
    clock.advance_by(MS)
    quick.acknowledged_if_known(oid(1))  # only the first acknowledgement counts
    assert quick.order_report(oid(1)) == checked.order_report(oid(1))
    with pytest.raises(ValidationError):  # an overfill is still refused
        quick.trusted_fill(oid(1), D("100.5"), D(2))
    quick.acknowledged_if_known(oid(9))  # an order not recorded here: nothing happens
    quick.trusted_fill(oid(9), D("100.5"), D(1))
    assert not quick.knows(oid(9))
