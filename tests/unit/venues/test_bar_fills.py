"""Orders filled against bars: the three fill models, slippage, caps, TIF, DAY expiry, OCO."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal as D

import pytest

from omoitrade.model import (
    AccountId,
    BarId,
    ClientOrderId,
    ExecType,
    Liquidity,
    OrderSide,
    OrderStatus,
    OrderType,
    Timeframe,
    TimeInForce,
)
from omoitrade.model.market_data import Bar
from omoitrade.model.venue import AmendOrder, CancelOrder, CommandRejected, SubmitOrder
from omoitrade.testing.factories import make_instrument
from omoitrade.venues.sim.bar_fills import BarExecutionSimulator, BarFillConfig, FillModel
from omoitrade.venues.sim.slippage import FixedTickSlippage

AAPL = make_instrument(
    exchange="SIM",
    symbol="AAPL",
    base_currency="AAPL",
    tick_size=D("0.01"),
    lot_size=D("1"),
    min_quantity=D("1"),
)
ACCOUNT = AccountId("acct-1")
DAY0 = datetime(2024, 1, 2, tzinfo=UTC)


def bar(n: int, o: str, h: str, low: str, c: str, v: str = "1000") -> Bar:
    return Bar(
        id=BarId.new(),
        instrument_id=AAPL.id,
        timestamp=DAY0 + timedelta(days=n),
        timeframe=Timeframe.D1,
        open=D(o),
        high=D(h),
        low=D(low),
        close=D(c),
        volume=D(v),
    )


def order(
    cid: str, side: OrderSide, kind: OrderType, qty: str = "10", **extra: object
) -> SubmitOrder:
    return SubmitOrder(
        account_id=ACCOUNT,
        client_order_id=ClientOrderId(cid),
        instrument_id=AAPL.id,
        side=side,
        order_type=kind,
        quantity=D(qty),
        **extra,  # type: ignore[arg-type]
    )


def trades(reports: list) -> list[tuple[str, D, D]]:  # type: ignore[type-arg]
    return [
        (str(r.client_order_id), r.last_quantity, r.last_price)
        for r in reports
        if getattr(r, "exec_type", None) is ExecType.TRADE
    ]


def sim(**config: object) -> BarExecutionSimulator:
    return BarExecutionSimulator(AAPL, BarFillConfig(**config))  # type: ignore[arg-type]


BUY, SELL = OrderSide.BUY, OrderSide.SELL
MARKET, LIMIT, STOP, STOP_LIMIT = (
    OrderType.MARKET,
    OrderType.LIMIT,
    OrderType.STOP,
    OrderType.STOP_LIMIT,
)


def test_next_open_market_order_fills_at_the_next_bars_open_with_taker_fee() -> None:
    s = sim(taker_fee=D("0.001"))
    s.on_bar(bar(0, "100", "101", "99", "100.50"))
    [new] = s.submit(order("m1", BUY, MARKET), DAY0)
    assert (new.exec_type, new.order_status, new.venue_order_id) == (
        ExecType.NEW,
        OrderStatus.SUBMITTED,
        "SIM-1",
    )
    [fill] = s.on_bar(bar(1, "102", "103", "101", "102.50"))
    assert (fill.last_quantity, fill.last_price, fill.order_status) == (
        D("10"),
        D("102"),
        OrderStatus.FILLED,
    )
    assert (fill.liquidity, fill.commission, fill.commission_currency) == (
        Liquidity.TAKER,
        D("1.020"),
        "USD",
    )
    assert fill.leaves_quantity == 0 and fill.trade_id == "SIM-T1"


def test_close_model_fills_a_market_order_at_once_at_the_latest_close() -> None:
    s = sim(fill_model=FillModel.CLOSE)
    s.on_bar(bar(0, "100", "101", "99", "100.50"))
    reports = s.submit(order("m1", BUY, MARKET), DAY0)
    assert trades(reports) == [("m1", D("10"), D("100.50"))]


def test_close_model_without_a_bar_yet_fills_at_the_next_close() -> None:
    s = sim(fill_model=FillModel.CLOSE)
    assert trades(s.submit(order("m1", BUY, MARKET), DAY0)) == []
    assert trades(s.on_bar(bar(0, "100", "101", "99", "100.50"))) == [("m1", D("10"), D("100.50"))]


def test_next_open_limit_fills_only_when_the_open_reaches_it() -> None:
    s = sim()
    s.submit(order("l1", BUY, LIMIT, price=D("99.00")), DAY0)
    assert trades(s.on_bar(bar(1, "100", "101", "98", "100"))) == []  # low touched, open did not
    assert trades(s.on_bar(bar(2, "98.50", "99", "98", "98.80"))) == [("l1", D("10"), D("98.50"))]


def test_ohlc_limit_fills_at_its_price_inside_the_range_as_maker() -> None:
    s = sim(fill_model=FillModel.OHLC, maker_fee=D("0.0002"), taker_fee=D("0.001"))
    s.submit(order("l1", BUY, LIMIT, price=D("99.00")), DAY0)
    [fill] = s.on_bar(bar(1, "100", "101", "98", "100"))
    assert (fill.last_price, fill.liquidity, fill.commission) == (
        D("99.00"),
        Liquidity.MAKER,
        D("0.198000"),
    )


def test_ohlc_limit_gapped_through_fills_at_the_better_open() -> None:
    s = sim(fill_model=FillModel.OHLC)
    s.submit(order("l1", BUY, LIMIT, price=D("99.00")), DAY0)
    assert trades(s.on_bar(bar(1, "97", "98", "96", "97.5"))) == [("l1", D("10"), D("97"))]


def test_ohlc_stop_triggers_in_range_and_slips_against_the_order() -> None:
    s = sim(fill_model=FillModel.OHLC, slippage=FixedTickSlippage(2))
    s.submit(order("s1", SELL, STOP, stop_price=D("95.00")), DAY0)
    assert trades(s.on_bar(bar(1, "100", "101", "96", "97"))) == []
    assert trades(s.on_bar(bar(2, "97", "98", "94", "95"))) == [("s1", D("10"), D("94.98"))]


def test_stop_gapped_through_fills_at_the_open() -> None:
    s = sim(fill_model=FillModel.OHLC)
    s.submit(order("s1", BUY, STOP, stop_price=D("105.00")), DAY0)
    assert trades(s.on_bar(bar(1, "107", "108", "106", "107"))) == [("s1", D("10"), D("107"))]


def test_stop_limit_triggered_beyond_its_limit_rests_as_a_limit() -> None:
    s = sim(fill_model=FillModel.OHLC)
    s.submit(order("sl", BUY, STOP_LIMIT, stop_price=D("105.00"), price=D("105.50")), DAY0)
    assert trades(s.on_bar(bar(1, "107", "108", "106", "107"))) == []  # gapped above the limit
    assert trades(s.on_bar(bar(2, "106", "106", "105", "105.20"))) == [("sl", D("10"), D("105.50"))]


def test_when_stop_loss_and_take_profit_share_a_bar_the_adverse_one_fills_first() -> None:
    s = sim(fill_model=FillModel.OHLC)
    s.submit(order("tp", SELL, LIMIT, price=D("105.00")), DAY0)
    s.submit(order("sl", SELL, STOP, stop_price=D("95.00")), DAY0)
    assert [t[0] for t in trades(s.on_bar(bar(1, "100", "106", "94", "100")))] == ["sl", "tp"]


def test_oco_sibling_is_cancelled_when_the_first_fills() -> None:
    s = sim(fill_model=FillModel.OHLC)
    s.submit(order("tp", SELL, LIMIT, price=D("105.00"), oco_group="exit-1"), DAY0)
    s.submit(order("sl", SELL, STOP, stop_price=D("95.00"), oco_group="exit-1"), DAY0)
    reports = s.on_bar(bar(1, "100", "106", "94", "100"))
    assert trades(reports) == [("sl", D("10"), D("95.00"))]
    [cancelled] = [r for r in reports if r.exec_type is ExecType.CANCELLED]
    assert (cancelled.client_order_id, cancelled.reason) == ("tp", "OCO sibling sl filled")
    assert s.open_orders(ACCOUNT, DAY0) == []


def test_participation_cap_leaves_the_rest_working() -> None:
    s = sim(participation_cap=D("0.1"))
    s.submit(order("m1", BUY, MARKET, qty="100"), DAY0)
    [part] = s.on_bar(bar(1, "100", "101", "99", "100", v="500"))
    assert (part.last_quantity, part.order_status, part.leaves_quantity) == (
        D("50"),
        OrderStatus.PARTIAL,
        D("50"),
    )
    [rest] = s.on_bar(bar(2, "101", "102", "100", "101", v="900"))
    assert (rest.last_quantity, rest.last_price, rest.order_status) == (
        D("50"),
        D("101"),
        OrderStatus.FILLED,
    )


@pytest.mark.parametrize(
    ("model", "second_price"),
    [(FillModel.NEXT_OPEN, D("104")), (FillModel.OHLC, D("104")), (FillModel.CLOSE, D("104.50"))],
)
def test_a_triggered_stop_left_part_filled_by_the_cap_fills_the_rest_as_a_market_order(
    model: FillModel, second_price: D
) -> None:
    s = sim(fill_model=model, participation_cap=D("0.1"))
    s.submit(order("s1", BUY, STOP, qty="100", stop_price=D("101.00")), DAY0)
    [part] = s.on_bar(bar(1, "102", "103", "99", "102", v="500"))  # triggered: 50 of 100
    assert (part.last_quantity, part.order_status) == (D("50"), OrderStatus.PARTIAL)
    [rest] = s.on_bar(bar(2, "104", "105", "99", "104.50", v="900"))  # below its stop, too
    assert (rest.last_quantity, rest.last_price, rest.order_status) == (
        D("50"),
        second_price,
        OrderStatus.FILLED,
    )


def test_fok_that_cannot_fill_completely_expires_unfilled() -> None:
    s = sim(participation_cap=D("0.1"))
    s.submit(order("f1", BUY, MARKET, qty="100", time_in_force=TimeInForce.FOK), DAY0)
    [expired] = s.on_bar(bar(1, "100", "101", "99", "100", v="500"))
    assert (expired.exec_type, expired.filled_quantity, expired.reason) == (
        ExecType.EXPIRED,
        D("0"),
        "not enough volume in the bar",
    )


def test_ioc_fills_what_it_can_and_the_rest_expires() -> None:
    s = sim(participation_cap=D("0.1"))
    s.submit(order("i1", BUY, MARKET, qty="100", time_in_force=TimeInForce.IOC), DAY0)
    fill, expired = s.on_bar(bar(1, "100", "101", "99", "100", v="500"))
    assert (fill.last_quantity, expired.exec_type, expired.filled_quantity) == (
        D("50"),
        ExecType.EXPIRED,
        D("50"),
    )


def test_ioc_limit_not_reached_expires() -> None:
    s = sim(fill_model=FillModel.OHLC)
    s.submit(order("i1", BUY, LIMIT, price=D("90.00"), time_in_force=TimeInForce.IOC), DAY0)
    [expired] = s.on_bar(bar(1, "100", "101", "99", "100"))
    assert (expired.exec_type, expired.reason) == (ExecType.EXPIRED, "not marketable")


def test_day_order_expires_at_the_session_close() -> None:
    s = sim(fill_model=FillModel.OHLC, session_close=time(21, 0))
    placed = DAY0 + timedelta(hours=15)
    s.submit(order("d1", BUY, LIMIT, price=D("90.00"), time_in_force=TimeInForce.DAY), placed)
    [expired] = s.on_bar(bar(1, "89", "91", "88", "90"))  # next day: after the 21:00 close
    assert (expired.exec_type, expired.reason, expired.filled_quantity) == (
        ExecType.EXPIRED,
        "DAY order expired",
        D("0"),
    )


def test_amend_changes_the_working_order_and_refusals_are_command_rejections() -> None:
    s = sim(fill_model=FillModel.OHLC)
    s.submit(order("l1", BUY, LIMIT, price=D("90.00")), DAY0)
    amend = AmendOrder(ACCOUNT, ClientOrderId("l1"), AAPL.id, price=D("99.50"))
    [replaced] = s.amend(amend, DAY0)
    assert (replaced.exec_type, replaced.price) == (ExecType.REPLACED, D("99.50"))
    [refused] = s.amend(AmendOrder(ACCOUNT, ClientOrderId("l1"), AAPL.id, price=D("99.505")), DAY0)
    assert isinstance(refused, CommandRejected)
    assert refused.reason == "price 99.505 must be a multiple of the tick size 0.01"
    assert refused.order_status is OrderStatus.SUBMITTED
    assert trades(s.on_bar(bar(1, "100", "101", "99", "100"))) == [("l1", D("10"), D("99.50"))]


def test_cancel_of_an_unknown_order_is_refused_without_a_status() -> None:
    [refused] = sim().cancel(CancelOrder(ACCOUNT, ClientOrderId("ghost"), AAPL.id), DAY0)
    assert isinstance(refused, CommandRejected)
    assert (refused.command, refused.reason, refused.order_status) == (
        "CANCEL",
        "no such working order",
        None,
    )


@pytest.mark.parametrize(
    ("command", "reason"),
    [
        (order("q", BUY, MARKET, qty="1.5"), "quantity 1.5 must be a multiple of the lot size 1"),
        (order("p", BUY, LIMIT), "a LIMIT order needs a price"),
        (order("s", BUY, MARKET, price=D("1.00")), "a MARKET order takes no price"),
        (
            order("t", BUY, STOP, stop_price=D("1.001")),
            "stop price 1.001 must be a multiple of the tick size 0.01",
        ),
        (order("po", BUY, MARKET, post_only=True), "only LIMIT orders can be post-only"),
    ],
)
def test_invalid_orders_are_rejected_with_the_reason(command: SubmitOrder, reason: str) -> None:
    [rejected] = sim().submit(command, DAY0)
    assert (rejected.exec_type, rejected.order_status, rejected.reason) == (
        ExecType.REJECTED,
        OrderStatus.REJECTED,
        reason,
    )


def test_same_inputs_give_identical_reports() -> None:
    def run() -> list:  # type: ignore[type-arg]
        s = BarExecutionSimulator(AAPL, BarFillConfig(fill_model=FillModel.OHLC))
        out = s.submit(order("a", BUY, LIMIT, price=D("99.00")), DAY0)
        out += s.submit(order("b", SELL, STOP, stop_price=D("98.00")), DAY0)
        for n, (o, h, low, c) in enumerate(
            [("100", "101", "98.5", "99"), ("99", "99", "97", "98")]
        ):
            out += s.on_bar(bar(n + 1, o, h, low, c))
        return out

    assert run() == run()
