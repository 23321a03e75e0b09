"""The matching engine, one behaviour at a time: order types, TIF, amend, stops, fees, STP."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal as D
from typing import Any

import pytest

from omoitrade.core.errors import ValidationError
from omoitrade.model import (
    AccountId,
    ClientOrderId,
    ExecType,
    Liquidity,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
)
from omoitrade.model.venue import (
    AmendOrder,
    CancelOrder,
    CommandRejected,
    ExecutionReport,
    SubmitOrder,
    VenueReport,
)
from omoitrade.testing.factories import T0, make_instrument
from omoitrade.venues.sim.matching import MatchingEngine

BTC = make_instrument()  # BTC/USD: tick 0.01, lot 0.0001, minimum 0.0001
ALICE, BOB, CAROL = AccountId("alice"), AccountId("bob"), AccountId("carol")
BUY, SELL = OrderSide.BUY, OrderSide.SELL
MARKET, LIMIT, STOP, STOP_LIMIT = (
    OrderType.MARKET,
    OrderType.LIMIT,
    OrderType.STOP,
    OrderType.STOP_LIMIT,
)
GTC, IOC, FOK, DAY = TimeInForce.GTC, TimeInForce.IOC, TimeInForce.FOK, TimeInForce.DAY


def command(
    cid: str,
    side: OrderSide,
    qty: str,
    price: str | None = None,
    *,
    account: AccountId = BOB,
    kind: OrderType | None = None,
    stop: str | None = None,
    **extra: Any,
) -> SubmitOrder:
    if kind is None:
        kind = LIMIT if price is not None else MARKET
    return SubmitOrder(
        account_id=account,
        client_order_id=ClientOrderId(cid),
        instrument_id=BTC.id,
        side=side,
        order_type=kind,
        quantity=D(qty),
        price=None if price is None else D(price),
        stop_price=None if stop is None else D(stop),
        **extra,
    )


class Venue:
    """An engine with short helpers for the tests."""

    def __init__(self, **config: Any) -> None:
        self.engine = MatchingEngine(BTC, **config)

    def buy(self, cid: str, qty: str, price: str | None = None, **kw: Any) -> list[ExecutionReport]:
        return self.engine.submit(command(cid, BUY, qty, price, **kw), T0)

    def sell(
        self, cid: str, qty: str, price: str | None = None, **kw: Any
    ) -> list[ExecutionReport]:
        return self.engine.submit(command(cid, SELL, qty, price, **kw), T0)

    def cancel(self, cid: str, *, account: AccountId = BOB) -> list[VenueReport]:
        return self.engine.cancel(CancelOrder(account, ClientOrderId(cid), BTC.id), T0)

    def amend(self, cid: str, *, account: AccountId = BOB, **changes: str) -> list[VenueReport]:
        values = {name: D(value) for name, value in changes.items()}
        return self.engine.amend(AmendOrder(account, ClientOrderId(cid), BTC.id, **values), T0)


def events(reports: Sequence[VenueReport]) -> list[tuple[str, str]]:
    """(exec type or REFUSED, client order id) of each report."""
    return [
        (r.exec_type.value if isinstance(r, ExecutionReport) else "REFUSED", str(r.client_order_id))
        for r in reports
    ]


def fills(reports: Sequence[VenueReport]) -> list[tuple[str, D, D, Liquidity | None]]:
    return [
        (str(r.client_order_id), r.last_quantity, r.last_price, r.liquidity)  # type: ignore[misc]
        for r in reports
        if isinstance(r, ExecutionReport) and r.exec_type is ExecType.TRADE
    ]


def only(reports: Sequence[VenueReport]) -> Any:
    [report] = reports
    return report


# --- limit orders, matching and priority ------------------------------------------------------


def test_limit_order_that_does_not_cross_rests_with_a_new_report() -> None:
    v = Venue()
    new = only(v.buy("b1", "0.5", "42000.00"))
    assert (new.exec_type, new.order_status, new.venue_order_id) == (
        ExecType.NEW,
        OrderStatus.SUBMITTED,
        "SIM-1",
    )
    assert (new.quantity, new.filled_quantity, new.leaves_quantity) == (D("0.5"), 0, D("0.5"))
    assert v.engine.best_bid() == (D("42000.00"), D("0.5"))
    assert v.engine.best_ask() is None


def test_crossing_limit_fills_at_the_resting_price_with_a_trade_report_for_each_side() -> None:
    v = Venue()
    v.sell("s1", "1", "42000.00", account=ALICE)
    reports = v.buy("b1", "1", "42010.00")
    assert events(reports) == [("NEW", "b1"), ("TRADE", "b1"), ("TRADE", "s1")]
    taker, maker = reports[1], reports[2]
    assert taker.trade_id == maker.trade_id == "SIM-T1"
    assert (taker.liquidity, maker.liquidity) == (Liquidity.TAKER, Liquidity.MAKER)
    for fill in (taker, maker):
        assert (fill.last_quantity, fill.last_price) == (D("1"), D("42000.00"))
        assert (fill.order_status, fill.filled_quantity, fill.leaves_quantity) == (
            OrderStatus.FILLED,
            D("1"),
            D(0),
        )
        assert fill.commission_currency == "USD"
    assert (taker.side, maker.side) == (BUY, SELL)
    assert v.engine.last_price == D("42000.00")
    assert v.engine.best_bid() is None and v.engine.best_ask() is None


def test_partial_fill_leaves_the_remainder_resting_at_its_limit() -> None:
    v = Venue()
    v.sell("s1", "0.3", "100.00", account=ALICE)
    reports = v.buy("b1", "1", "100.00")
    taker = reports[1]
    assert (taker.order_status, taker.filled_quantity, taker.leaves_quantity) == (
        OrderStatus.PARTIAL,
        D("0.3"),
        D("0.7"),
    )
    assert v.engine.best_bid() == (D("100.00"), D("0.7"))
    maker = only(v.sell("s2", "0.2", "99.00", account=ALICE)[2:])
    assert (maker.client_order_id, maker.liquidity, maker.last_price) == (
        "b1",
        Liquidity.MAKER,
        D("100.00"),
    )
    assert (maker.order_status, maker.filled_quantity, maker.leaves_quantity) == (
        OrderStatus.PARTIAL,
        D("0.5"),
        D("0.5"),
    )


def test_taker_sweeps_levels_best_price_first_and_fifo_within_a_level() -> None:
    v = Venue()
    v.sell("far", "1", "101.00", account=ALICE)
    v.sell("first", "1", "100.00", account=ALICE)
    v.sell("second", "1", "100.00", account=CAROL)
    reports = v.buy("b1", "2.5", "101.00")
    assert fills(reports) == [
        ("b1", D("1"), D("100.00"), Liquidity.TAKER),
        ("first", D("1"), D("100.00"), Liquidity.MAKER),
        ("b1", D("1"), D("100.00"), Liquidity.TAKER),
        ("second", D("1"), D("100.00"), Liquidity.MAKER),
        ("b1", D("0.5"), D("101.00"), Liquidity.TAKER),
        ("far", D("0.5"), D("101.00"), Liquidity.MAKER),
    ]
    trade_ids = [r.trade_id for r in reports if r.exec_type is ExecType.TRADE]
    assert trade_ids == ["SIM-T1", "SIM-T1", "SIM-T2", "SIM-T2", "SIM-T3", "SIM-T3"]
    assert v.engine.best_ask() == (D("101.00"), D("0.5"))


def test_limit_does_not_trade_beyond_its_price() -> None:
    v = Venue()
    v.sell("s1", "1", "100.00", account=ALICE)
    v.sell("s2", "1", "100.05", account=ALICE)
    reports = v.buy("b1", "2", "100.00")
    assert fills(reports) == [
        ("b1", D("1"), D("100.00"), Liquidity.TAKER),
        ("s1", D("1"), D("100.00"), Liquidity.MAKER),
    ]
    assert v.engine.depth(5) == (
        [(D("100.00"), D("1"), 1)],
        [(D("100.05"), D("1"), 1)],
    )


# --- market, IOC, FOK -------------------------------------------------------------------------


def test_market_order_with_insufficient_liquidity_fills_what_there_is_and_expires_the_rest() -> (
    None
):
    v = Venue()
    v.sell("s1", "0.4", "100.00", account=ALICE)
    v.sell("s2", "0.4", "250.00", account=ALICE)
    reports = v.buy("m1", "1")
    assert events(reports) == [
        ("NEW", "m1"),
        ("TRADE", "m1"),
        ("TRADE", "s1"),
        ("TRADE", "m1"),
        ("TRADE", "s2"),
        ("EXPIRED", "m1"),
    ]
    expired = reports[-1]
    assert (expired.order_status, expired.filled_quantity, expired.leaves_quantity) == (
        OrderStatus.CANCELLED,
        D("0.8"),
        D(0),
    )
    assert expired.reason == "no more liquidity for the market order"
    assert v.engine.depth(5) == ([], [])


def test_market_order_on_an_empty_book_expires_unfilled_and_never_rests() -> None:
    v = Venue()
    reports = v.sell("m1", "1")
    assert events(reports) == [("NEW", "m1"), ("EXPIRED", "m1")]
    assert reports[1].filled_quantity == 0
    assert v.engine.open_orders(BOB, T0) == []


def test_ioc_fills_what_it_can_and_expires_the_rest() -> None:
    v = Venue()
    v.sell("s1", "0.25", "100.00", account=ALICE)
    reports = v.buy("i1", "1", "100.00", time_in_force=IOC)
    assert events(reports) == [("NEW", "i1"), ("TRADE", "i1"), ("TRADE", "s1"), ("EXPIRED", "i1")]
    assert reports[-1].reason == "IOC remainder"
    assert reports[-1].filled_quantity == D("0.25")
    assert v.engine.best_bid() is None


def test_ioc_that_does_not_cross_expires_without_resting() -> None:
    v = Venue()
    v.sell("s1", "1", "101.00", account=ALICE)
    reports = v.buy("i1", "1", "100.00", time_in_force=IOC)
    assert events(reports) == [("NEW", "i1"), ("EXPIRED", "i1")]
    assert v.engine.best_bid() is None


def test_fok_order_without_full_liquidity_is_expired_unfilled() -> None:
    v = Venue()
    v.sell("s1", "0.5", "100.00", account=ALICE)
    v.sell("s2", "0.5", "100.10", account=ALICE)
    reports = v.buy("f1", "1", "100.05", time_in_force=FOK)
    assert events(reports) == [("NEW", "f1"), ("EXPIRED", "f1")]
    assert reports[-1].reason == "FOK order cannot be filled completely"
    assert reports[-1].filled_quantity == 0
    assert v.engine.depth(5)[1] == [(D("100.00"), D("0.5"), 1), (D("100.10"), D("0.5"), 1)]


def test_fok_order_with_full_liquidity_fills_completely_across_levels() -> None:
    v = Venue()
    v.sell("s1", "0.5", "100.00", account=ALICE)
    v.sell("s2", "0.7", "100.10", account=CAROL)
    reports = v.buy("f1", "1", "100.10", time_in_force=FOK)
    assert [(c, q) for c, q, _, liq in fills(reports) if liq is Liquidity.TAKER] == [
        ("f1", D("0.5")),
        ("f1", D("0.5")),
    ]
    assert reports[-1].exec_type is ExecType.TRADE
    assert v.engine.best_ask() == (D("100.10"), D("0.2"))


def test_fok_does_not_count_liquidity_of_its_own_account() -> None:
    v = Venue()
    v.sell("own", "1", "100.00", account=BOB)
    v.sell("other", "0.5", "100.00", account=ALICE)
    reports = v.buy("f1", "1", "100.00", time_in_force=FOK)
    assert events(reports) == [("NEW", "f1"), ("EXPIRED", "f1")]
    assert v.engine.best_ask() == (D("100.00"), D("1.5"))  # nothing was cancelled either


def test_market_fok_fills_at_any_price_or_not_at_all() -> None:
    v = Venue()
    v.buy("b1", "0.6", "90.00", account=ALICE)
    assert events(v.sell("f1", "1", time_in_force=FOK)) == [("NEW", "f1"), ("EXPIRED", "f1")]
    v.buy("b2", "0.4", "80.00", account=ALICE)
    reports = v.sell("f2", "1", time_in_force=FOK)
    assert [p for c, _, p, _ in fills(reports) if c == "f2"] == [D("90.00"), D("80.00")]


# --- post-only and DAY ------------------------------------------------------------------------


def test_post_only_order_that_would_cross_is_rejected() -> None:
    v = Venue()
    v.sell("s1", "1", "100.00", account=ALICE)
    rejected = only(v.buy("p1", "1", "100.00", post_only=True))
    assert (rejected.exec_type, rejected.order_status, rejected.reason) == (
        ExecType.REJECTED,
        OrderStatus.REJECTED,
        "post-only order would cross the book",
    )
    assert rejected.venue_order_id is None
    assert v.engine.best_ask() == (D("100.00"), D("1"))


def test_post_only_order_that_does_not_cross_rests_and_trades_as_maker() -> None:
    v = Venue(maker_fee=D("0.001"), taker_fee=D("0.002"))
    v.sell("s1", "1", "100.01", account=ALICE)
    assert events(v.buy("p1", "1", "100.00", post_only=True)) == [("NEW", "p1")]
    reports = v.sell("s2", "1", "99.00", account=CAROL)
    maker = reports[2]
    assert (maker.client_order_id, maker.liquidity, maker.commission) == (
        "p1",
        Liquidity.MAKER,
        D("0.1"),
    )


def test_day_orders_expire_at_session_end_and_gtc_orders_stay() -> None:
    v = Venue()
    v.buy("day", "1", "99.00", time_in_force=DAY)
    v.buy("gtc", "1", "98.00")
    v.sell("day-stop", "1", kind=STOP, stop="90.00", time_in_force=DAY)
    v.sell("day-partly", "1", "101.00", account=ALICE, time_in_force=DAY)
    v.buy("taker", "0.25", "101.00", account=CAROL)
    reports = v.engine.expire_day_orders(T0)
    assert events(reports) == [
        ("EXPIRED", "day"),
        ("EXPIRED", "day-stop"),
        ("EXPIRED", "day-partly"),
    ]
    assert all(r.reason == "DAY order expired" for r in reports)
    assert (reports[2].filled_quantity, reports[2].leaves_quantity) == (D("0.25"), D(0))
    assert v.engine.depth(5) == ([(D("98.00"), D("1"), 1)], [])
    assert v.engine.expire_day_orders(T0) == []


# --- stops ------------------------------------------------------------------------------------


def test_buy_stop_triggers_when_the_last_trade_reaches_it_and_fills_as_market() -> None:
    v = Venue()
    assert events(v.buy("stop", "1", kind=STOP, stop="101.00")) == [("NEW", "stop")]
    v.sell("s1", "1", "101.00", account=ALICE)
    v.sell("s2", "1", "102.00", account=ALICE)
    reports = v.buy("b1", "0.4", "101.00", account=CAROL)  # trades at 101.00
    assert events(reports)[3:] == [
        ("TRIGGERED", "stop"),
        ("TRADE", "stop"),
        ("TRADE", "s1"),
        ("TRADE", "stop"),
        ("TRADE", "s2"),
    ]
    triggered = reports[3]
    assert (triggered.order_type, triggered.stop_price, triggered.order_status) == (
        STOP,
        D("101.00"),
        OrderStatus.SUBMITTED,
    )
    assert [p for c, _, p, _ in fills(reports) if c == "stop"] == [D("101.00"), D("102.00")]


def test_buy_stop_does_not_trigger_below_its_stop() -> None:
    v = Venue()
    v.buy("stop", "0.5", kind=STOP, stop="101.00")
    v.sell("s1", "1", "100.99", account=ALICE)
    assert "TRIGGERED" not in [e for e, _ in events(v.buy("b1", "0.5", "100.99", account=CAROL))]
    assert [r.client_order_id for r in v.engine.open_orders(BOB, T0)] == ["stop"]


def test_sell_stop_triggers_at_or_below_its_stop() -> None:
    v = Venue()
    v.sell("stop", "0.5", kind=STOP, stop="99.00")
    v.buy("bid", "2", "98.00", account=ALICE)
    v.sell("s1", "0.1", "98.00", account=CAROL)  # trades at 98.00 <= 99.00
    assert v.engine.last_price == D("98.00")
    assert v.engine.best_bid() == (D("98.00"), D("1.4"))


def test_stop_limit_triggers_into_a_limit_that_rests_when_it_cannot_fill() -> None:
    v = Venue()
    v.buy("sl", "1", "101.50", kind=STOP_LIMIT, stop="101.00")
    v.sell("s1", "0.1", "101.00", account=ALICE)
    v.sell("s2", "5", "102.00", account=ALICE)
    reports = v.buy("b1", "0.1", "101.00", account=CAROL)
    assert events(reports)[3:] == [("TRIGGERED", "sl")]
    assert v.engine.best_bid() == (D("101.50"), D("1"))
    maker = v.sell("s3", "0.4", "101.00", account=CAROL)[2]
    assert (maker.client_order_id, maker.liquidity, maker.last_price) == (
        "sl",
        Liquidity.MAKER,
        D("101.50"),
    )


def test_stops_trigger_from_an_outside_reference_price() -> None:
    v = Venue()
    v.sell("stop", "1", kind=STOP, stop="95.00")
    v.buy("bid", "1", "94.00", account=ALICE)
    assert v.engine.update_reference_price(D("95.01"), T0) == []
    reports = v.engine.update_reference_price(D("95.005"), T0)  # off the grid, still <= 95.01
    assert reports == []
    reports = v.engine.update_reference_price(D("94.999"), T0)
    assert events(reports) == [
        ("TRIGGERED", "stop"),
        ("TRADE", "stop"),
        ("TRADE", "bid"),
    ]
    assert v.engine.last_price == D("94.00")


def test_stop_price_already_reached_triggers_at_once() -> None:
    v = Venue()
    v.sell("s1", "2", "100.00", account=ALICE)
    v.buy("b1", "1", "100.00", account=CAROL)
    reports = v.buy("stop", "0.5", kind=STOP, stop="99.00")
    assert events(reports) == [
        ("NEW", "stop"),
        ("TRIGGERED", "stop"),
        ("TRADE", "stop"),
        ("TRADE", "s1"),
    ]


def test_triggered_stops_cascade_in_one_command() -> None:
    v = Venue()
    v.sell("stop-1", "1", kind=STOP, stop="100.00")
    v.sell("stop-2", "1", kind=STOP, stop="98.00")
    v.buy("bid-a", "1", "100.00", account=ALICE)
    v.buy("bid-b", "1", "98.00", account=ALICE)
    v.buy("bid-c", "1", "97.00", account=ALICE)
    reports = v.sell("s1", "0.5", "100.00", account=CAROL)  # 100.00 -> stop-1 -> 98.00 -> stop-2
    assert [e for e in events(reports) if e[0] == "TRIGGERED"] == [
        ("TRIGGERED", "stop-1"),
        ("TRIGGERED", "stop-2"),
    ]
    assert v.engine.last_price == D("97.00")


# --- amend ------------------------------------------------------------------------------------


def _queue_of_two(v: Venue) -> None:
    v.sell("first", "1", "100.00", account=BOB)
    v.sell("second", "1", "100.00", account=ALICE)


def _first_maker(v: Venue) -> str:
    [(maker, quantity, _, _)] = fills(v.buy("probe", "0.1", "100.00", account=CAROL))[1:]
    assert quantity == D("0.1")
    return maker


def test_amend_quantity_down_keeps_time_priority() -> None:
    v = Venue()
    _queue_of_two(v)
    replaced = only(v.amend("first", quantity="0.5"))
    assert (replaced.exec_type, replaced.quantity, replaced.leaves_quantity) == (
        ExecType.REPLACED,
        D("0.5"),
        D("0.5"),
    )
    assert v.engine.best_ask() == (D("100.00"), D("1.5"))
    assert _first_maker(v) == "first"


def test_amend_quantity_up_loses_time_priority() -> None:
    v = Venue()
    _queue_of_two(v)
    v.amend("first", quantity="2")
    assert v.engine.best_ask() == (D("100.00"), D("3"))
    assert _first_maker(v) == "second"


def test_amend_price_moves_the_order_to_the_back_of_its_new_level() -> None:
    v = Venue()
    v.sell("moved", "1", "100.01")
    _queue_of_two(v)
    v.amend("moved", price="100.00")
    assert v.engine.depth(5)[1] == [(D("100.00"), D("3"), 3)]
    reports = v.buy("sweep", "3", "100.00", account=CAROL)
    makers = [c for c, _, _, liq in fills(reports) if liq is Liquidity.MAKER]
    assert makers == ["first", "second", "moved"]


def test_amend_back_to_the_same_price_keeps_priority() -> None:
    v = Venue()
    _queue_of_two(v)
    v.amend("first", price="100.00", quantity="1")
    assert _first_maker(v) == "first"


def test_amend_that_crosses_the_book_trades_at_once_as_taker() -> None:
    v = Venue()
    v.sell("ask", "0.5", "101.00", account=ALICE)
    v.buy("bid", "1", "100.00")
    reports = v.amend("bid", price="101.00")
    assert events(reports) == [("REPLACED", "bid"), ("TRADE", "bid"), ("TRADE", "ask")]
    assert fills(reports)[0] == ("bid", D("0.5"), D("101.00"), Liquidity.TAKER)
    assert v.engine.best_bid() == (D("101.00"), D("0.5"))


def test_amend_of_a_partly_filled_order_must_stay_above_the_filled_quantity() -> None:
    v = Venue()
    v.sell("s1", "1", "100.00")
    v.buy("b1", "0.4", "100.00", account=ALICE)
    refused = only(v.amend("s1", quantity="0.4"))
    assert isinstance(refused, CommandRejected)
    assert (refused.command, refused.order_status, refused.reason) == (
        "AMEND",
        OrderStatus.PARTIAL,
        "quantity 0.4 must exceed the filled quantity 0.4000",
    )
    replaced = only(v.amend("s1", quantity="0.5"))
    assert (replaced.filled_quantity, replaced.leaves_quantity) == (D("0.4"), D("0.1"))
    assert v.engine.best_ask() == (D("100.00"), D("0.1"))


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"quantity": "0.00005"}, "quantity 0.00005 must be a multiple of the lot size 0.0001"),
        ({"price": "100.001"}, "price 100.001 must be a multiple of the tick size 0.01"),
        ({"stop_price": "99.00"}, "a LIMIT order takes no stop price"),
    ],
)
def test_invalid_amend_is_refused_with_the_reason(changes: dict[str, str], reason: str) -> None:
    v = Venue()
    v.buy("b1", "1", "100.00")
    refused = only(v.amend("b1", **changes))  # type: ignore[arg-type]
    assert isinstance(refused, CommandRejected)
    assert (refused.reason, refused.order_status) == (reason, OrderStatus.SUBMITTED)
    assert v.engine.best_bid() == (D("100.00"), D("1"))


def test_amend_of_a_post_only_order_that_would_cross_is_refused() -> None:
    v = Venue()
    v.sell("ask", "1", "101.00", account=ALICE)
    v.buy("p1", "1", "100.00", post_only=True)
    refused = only(v.amend("p1", price="101.00"))
    assert refused.reason == "post-only order would cross the book"
    assert v.engine.best_bid() == (D("100.00"), D("1"))


def test_amend_of_a_waiting_stop_moves_its_trigger() -> None:
    v = Venue()
    v.sell("s1", "2", "100.00", account=ALICE)
    v.buy("b1", "0.1", "100.00", account=CAROL)  # last 100.00
    v.buy("stop", "0.5", "105.00", kind=STOP_LIMIT, stop="101.00")
    reports = v.amend("stop", stop_price="100.00")
    assert events(reports) == [
        ("REPLACED", "stop"),
        ("TRIGGERED", "stop"),
        ("TRADE", "stop"),
        ("TRADE", "s1"),
    ]


def test_a_triggered_stop_limit_keeps_its_stop_price_but_its_limit_can_move() -> None:
    v = Venue()
    v.buy("sl", "1", "101.50", kind=STOP_LIMIT, stop="101.00")
    v.sell("s1", "0.1", "101.00", account=ALICE)
    v.sell("s2", "5", "102.00", account=ALICE)
    v.buy("b1", "0.1", "101.00", account=CAROL)  # triggers sl, which rests at 101.50
    refused = only(v.amend("sl", stop_price="100.00"))
    assert refused.reason == "the stop price of a triggered order cannot change"
    reports = v.amend("sl", price="102.00")
    assert events(reports) == [("REPLACED", "sl"), ("TRADE", "sl"), ("TRADE", "s2")]


# --- cancel, unknown and finished orders ------------------------------------------------------


def test_cancel_takes_the_order_out_of_the_book() -> None:
    v = Venue()
    v.buy("b1", "1", "100.00")
    canceled = only(v.cancel("b1"))
    assert (canceled.exec_type, canceled.order_status, canceled.leaves_quantity) == (
        ExecType.CANCELLED,
        OrderStatus.CANCELLED,
        0,
    )
    assert v.engine.best_bid() is None
    assert events(v.sell("s1", "1", "100.00", account=ALICE)) == [("NEW", "s1")]


def test_cancel_of_a_waiting_stop_removes_it() -> None:
    v = Venue()
    v.buy("stop", "1", kind=STOP, stop="101.00")
    assert events(v.cancel("stop")) == [("CANCELLED", "stop")]
    v.sell("s1", "1", "101.00", account=ALICE)
    assert "TRIGGERED" not in [e for e, _ in events(v.buy("b1", "1", "101.00", account=CAROL))]


@pytest.mark.parametrize("action", ["cancel", "amend"])
def test_cancel_or_amend_of_an_unknown_order_is_refused(action: str) -> None:
    v = Venue()
    refused = only(v.cancel("nope") if action == "cancel" else v.amend("nope", quantity="1"))
    assert isinstance(refused, CommandRejected)
    assert (refused.command, refused.reason, refused.order_status) == (
        action.upper(),
        "unknown order",
        None,
    )


def test_cancel_or_amend_of_a_finished_order_is_refused_with_its_status() -> None:
    v = Venue()
    v.sell("s1", "1", "100.00")
    v.buy("b1", "1", "100.00", account=ALICE)
    v.buy("b2", "1", "99.00")
    v.cancel("b2")
    filled = only(v.cancel("s1"))
    assert (filled.reason, filled.order_status) == ("order is already FILLED", OrderStatus.FILLED)
    cancelled = only(v.amend("b2", quantity="2"))
    assert (cancelled.reason, cancelled.order_status) == (
        "order is already CANCELLED",
        OrderStatus.CANCELLED,
    )


def test_cancel_of_another_accounts_order_is_refused() -> None:
    v = Venue()
    v.buy("b1", "1", "100.00", account=ALICE)
    assert only(v.cancel("b1", account=BOB)).reason == "unknown order"
    assert v.engine.best_bid() == (D("100.00"), D("1"))


# --- self-trade prevention, fees, OCO ---------------------------------------------------------


def test_self_trade_prevention_cancels_the_resting_order_and_matching_goes_on() -> None:
    v = Venue()
    v.sell("own", "1", "100.00", account=BOB)
    v.sell("other", "1", "100.00", account=ALICE)
    reports = v.buy("b1", "1", "100.00", account=BOB)
    assert events(reports) == [
        ("NEW", "b1"),
        ("CANCELLED", "own"),
        ("TRADE", "b1"),
        ("TRADE", "other"),
    ]
    assert reports[1].reason == "self-trade prevention"
    assert v.engine.best_ask() is None


def test_maker_and_taker_fees_are_exact_decimal_amounts_in_the_quote_currency() -> None:
    v = Venue(maker_fee=D("0.0002"), taker_fee=D("0.0007"))
    v.sell("s1", "0.1234", "42000.01", account=ALICE)
    reports = v.buy("b1", "0.1234", "42000.01")
    taker, maker = reports[1], reports[2]
    assert taker.commission == D("42000.01") * D("0.1234") * D("0.0007") == D("3.6279608638")
    assert maker.commission == D("1.0365602468")
    assert taker.commission_currency == maker.commission_currency == "USD"
    assert reports[0].commission == 0 and reports[0].commission_currency is None


def test_a_fill_of_one_oco_order_cancels_its_siblings() -> None:
    v = Venue()
    v.sell("take-profit", "1", "110.00", oco_group="exit")
    v.sell("stop-loss", "1", kind=STOP, stop="90.00", oco_group="exit")
    v.sell("unrelated", "1", "111.00")
    reports = v.buy("b1", "0.5", "110.00", account=ALICE)
    assert events(reports) == [
        ("NEW", "b1"),
        ("TRADE", "b1"),
        ("TRADE", "take-profit"),
        ("CANCELLED", "stop-loss"),
    ]
    assert reports[-1].reason == "OCO sibling take-profit filled"
    assert [r.client_order_id for r in v.engine.open_orders(BOB, T0)] == [
        "take-profit",
        "unrelated",
    ]


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("order", "reason"),
    [
        (command("x", BUY, "0", "100.00"), "quantity 0 must be greater than 0"),
        (
            command("x", BUY, "0.00005", "100.00"),
            "quantity 0.00005 must be a multiple of the lot size 0.0001",
        ),
        (
            command("x", BUY, "1", "100.001"),
            "price 100.001 must be a multiple of the tick size 0.01",
        ),
        (command("x", BUY, "1", "-1.00"), "price -1.00 must be greater than 0"),
        (command("x", BUY, "1", kind=LIMIT), "a LIMIT order needs a price"),
        (command("x", BUY, "1", "100.00", kind=MARKET), "a MARKET order takes no price"),
        (command("x", BUY, "1", kind=STOP), "a STOP order needs a stop price"),
        (
            command("x", BUY, "1", "100.00", kind=STOP_LIMIT),
            "a STOP_LIMIT order needs a stop price",
        ),
        (
            command("x", BUY, "1", kind=STOP, stop="100.005"),
            "stop price 100.005 must be a multiple of the tick size 0.01",
        ),
        (command("x", BUY, "1", "100.00", stop="99.00"), "a LIMIT order takes no stop price"),
        (command("x", BUY, "1", post_only=True), "only LIMIT orders can be post-only"),
        (command("x", BUY, "NaN", "100.00"), "quantity NaN is not a finite number"),
    ],
)
def test_invalid_order_is_rejected_with_a_precise_reason(order: SubmitOrder, reason: str) -> None:
    v = Venue()
    rejected = only(v.engine.submit(order, T0))
    assert (rejected.exec_type, rejected.order_status, rejected.reason) == (
        ExecType.REJECTED,
        OrderStatus.REJECTED,
        reason,
    )
    assert v.engine.depth(5) == ([], [])


def test_quantity_below_the_minimum_is_rejected() -> None:
    engine = MatchingEngine(make_instrument(min_quantity=D("0.01")))
    rejected = only(engine.submit(command("x", BUY, "0.005", "100.00"), T0))
    assert rejected.reason == "quantity 0.005 must be at least the minimum quantity 0.01"


def test_order_for_another_instrument_is_rejected() -> None:
    other = make_instrument(symbol="ETH/USD")
    engine = MatchingEngine(other)
    rejected = only(engine.submit(command("x", BUY, "1", "100.00"), T0))
    assert rejected.reason == "order is for another instrument than ETH/USD@SIM"


def test_order_for_an_instrument_that_is_not_trading_is_rejected() -> None:
    engine = MatchingEngine(make_instrument(is_active=False))
    rejected = only(engine.submit(command("x", BUY, "1", "100.00"), T0))
    assert rejected.reason == "instrument BTC/USD@SIM is not trading"


def test_client_order_id_of_a_working_order_cannot_be_reused_until_it_is_done() -> None:
    v = Venue()
    v.buy("b1", "1", "100.00")
    duplicate = only(v.buy("b1", "2", "99.00"))
    assert duplicate.reason == "client order id b1 is already working"
    v.cancel("b1")
    assert events(v.buy("b1", "2", "99.00")) == [("NEW", "b1")]
    assert events(v.buy("b1", "1", "99.00", account=ALICE)) == [("NEW", "b1")]  # other account


# --- queries, ids and reports -----------------------------------------------------------------


def test_open_orders_are_status_reports_of_one_accounts_working_orders() -> None:
    v = Venue()
    v.buy("b1", "1", "100.00")
    v.sell("s1", "1", "101.00", account=ALICE)
    v.sell("stop", "1", kind=STOP, stop="90.00")
    v.buy("b2", "0.25", "101.00", account=CAROL)
    mine = v.engine.open_orders(BOB, T0)
    assert [(r.exec_type, r.client_order_id) for r in mine] == [
        (ExecType.STATUS, "b1"),
        (ExecType.STATUS, "stop"),
    ]
    [alices] = v.engine.open_orders(ALICE)
    assert (alices.order_status, alices.filled_quantity, alices.leaves_quantity) == (
        OrderStatus.PARTIAL,
        D("0.25"),
        D("0.75"),
    )
    assert alices.timestamp == T0


def test_depth_aggregates_each_price_level_best_first() -> None:
    v = Venue()
    v.buy("b1", "1", "99.00")
    v.buy("b2", "0.5", "99.00", account=ALICE)
    v.buy("b3", "2", "98.50")
    v.sell("s1", "0.3", "100.00")
    v.sell("s2", "0.7", "100.50")
    v.sell("s3", "0.1", "101.00")
    bids, asks = v.engine.depth(2)
    assert bids == [(D("99.00"), D("1.5"), 2), (D("98.50"), D("2"), 1)]
    assert asks == [(D("100.00"), D("0.3"), 1), (D("100.50"), D("0.7"), 1)]
    assert v.engine.depth(0) == ([], [])


def test_report_ids_can_come_from_a_venue_wide_counter_and_ids_carry_the_prefix() -> None:
    numbers = iter(range(100, 200))
    v = Venue(id_prefix="SIM-BTCUSD", next_report_id=lambda: next(numbers))
    v.sell("s1", "1", "100.00", account=ALICE)
    reports = v.buy("b1", "1", "100.00")
    assert [r.report_id for r in reports] == [101, 102, 103]
    assert reports[0].venue_order_id == "SIM-BTCUSD-2"
    assert reports[1].trade_id == "SIM-BTCUSD-T1"


def test_invalid_id_prefix_is_refused_at_construction() -> None:
    with pytest.raises(ValidationError):
        MatchingEngine(BTC, id_prefix="has space")


def test_reports_are_genuine_immutable_execution_reports() -> None:
    v = Venue(maker_fee=D("0.001"), taker_fee=D("0.002"))
    v.sell("s1", "1", "100.00", account=ALICE)
    reports = v.buy("b1", "1.5", "100.00") + v.engine.open_orders(BOB, T0)
    for report in reports:
        assert type(report) is ExecutionReport
        rebuilt = ExecutionReport(**report._asdict())  # through the checked constructor
        assert rebuilt == report and hash(rebuilt) == hash(report)
        assert repr(rebuilt) == repr(report)
        assert report != tuple(report)  # equal only to another report
        with pytest.raises(AttributeError):
            report.price = D("1")  # type: ignore[misc]


def test_update_reference_price_refuses_a_non_positive_price() -> None:
    with pytest.raises(ValidationError):
        Venue().engine.update_reference_price(D("0"), T0)
