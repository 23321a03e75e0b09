"""Pre-trade checks: for each, an order just inside passes and one just outside is rejected."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omoitrade.model import BreachAction, LimitType, OrderSide, OrderType
from omoitrade.model.identifiers import ClientOrderId
from omoitrade.risk import ReasonCode, RiskConfig

D = Decimal
SECOND = 1_000_000_000


def approved(world, order) -> bool:
    decision = world.engine.check_order(order)
    assert decision.approved == (decision.reason is None)
    return decision.approved


def codes(world, order) -> tuple[ReasonCode, ...]:
    return world.engine.check_order(order).codes


# --- order size and notional ----------------------------------------------------------------
def test_order_size_cap_per_portfolio(world) -> None:
    world.limit(LimitType.MAX_ORDER_SIZE, "10")

    assert approved(world, world.order(quantity=D("10")))
    assert codes(world, world.order(quantity=D("10.0001"))) == (ReasonCode.ORDER_SIZE,)


def test_order_size_cap_per_instrument_applies_to_that_instrument_only(world) -> None:
    world.limit(LimitType.MAX_ORDER_SIZE, "2", instrument=world.btc)

    assert approved(world, world.order(world.btc, quantity=D("2")))
    assert codes(world, world.order(world.btc, quantity=D("2.0001"))) == (ReasonCode.ORDER_SIZE,)
    assert approved(world, world.order(world.eth, quantity=D("5")))


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    limit=st.integers(min_value=1, max_value=10**6),
    quantity=st.integers(min_value=1, max_value=10**6),
)
def test_order_size_passes_exactly_up_to_the_cap(new_world, limit: int, quantity: int) -> None:
    world = new_world()
    world.configure(check_buying_power=False)
    world.limit(LimitType.MAX_ORDER_SIZE, str(D(limit) / 10000))
    order = world.order(quantity=D(quantity) / 10000)

    assert approved(world, order) == (quantity <= limit)


def test_notional_cap_uses_the_limit_price(world) -> None:
    world.limit(LimitType.MAX_NOTIONAL, "1000")

    assert approved(world, world.order(quantity=D("10"), price=D("100.00")))
    assert codes(world, world.order(quantity=D("10"), price=D("100.01"))) == (ReasonCode.NOTIONAL,)


def test_notional_cap_values_a_market_order_at_the_reference_price(world) -> None:
    world.limit(LimitType.MAX_NOTIONAL, "1000")
    market = {"order_type": OrderType.MARKET, "price": None}

    assert approved(world, world.order(quantity=D("10"), **market))
    assert codes(world, world.order(quantity=D("10.0001"), **market)) == (ReasonCode.NOTIONAL,)


def test_notional_cap_per_instrument(world) -> None:
    world.limit(LimitType.MAX_NOTIONAL, "500", instrument=world.eth)

    assert approved(world, world.order(world.btc, quantity=D("6")))
    assert approved(world, world.order(world.eth, quantity=D("5")))
    assert codes(world, world.order(world.eth, quantity=D("5.0001"))) == (ReasonCode.NOTIONAL,)


# --- price collar -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("price", "ok"),
    [("110.00", True), ("110.01", False), ("90.00", True), ("89.99", False)],
)
def test_price_collar_on_limit_price(world, price: str, ok: bool) -> None:
    decision = world.engine.check_order(world.order(price=D(price)))

    assert decision.approved is ok
    if not ok:
        assert decision.codes == (ReasonCode.PRICE_COLLAR,)


def test_price_collar_on_stop_price(world) -> None:
    stop = {"order_type": OrderType.STOP, "price": None, "side": OrderSide.SELL}

    assert approved(world, world.order(stop_price=D("90.00"), **stop))
    decision = world.engine.check_order(world.order(stop_price=D("89.99"), **stop))
    assert decision.codes == (ReasonCode.PRICE_COLLAR,)
    assert "stop_price 89.99" in (decision.reason or "")


def test_price_collar_width_is_configurable(world) -> None:
    world.configure(price_collar=D("0.01"))

    assert approved(world, world.order(price=D("101.00")))
    assert codes(world, world.order(price=D("101.01"))) == (ReasonCode.PRICE_COLLAR,)


# --- position -----------------------------------------------------------------------------------
def test_position_limit_counts_the_position_and_working_orders_on_the_side(world) -> None:
    world.limit(LimitType.MAX_POSITION, "10")
    world.view.set_position(world.portfolio_id, world.btc.id, D("4"))
    world.working(quantity=D("3"))
    world.working(quantity=D("5"), side=OrderSide.SELL)  # the other side does not offset

    assert approved(world, world.order(quantity=D("3")))
    assert codes(world, world.order(quantity=D("3.0001"))) == (ReasonCode.POSITION_LIMIT,)


def test_position_limit_on_the_short_side(world) -> None:
    world.limit(LimitType.MAX_POSITION, "10", instrument=world.btc)
    world.view.set_position(world.portfolio_id, world.btc.id, D("-6"))
    sell = {"side": OrderSide.SELL}

    assert approved(world, world.order(quantity=D("4"), **sell))
    assert codes(world, world.order(quantity=D("4.0001"), **sell)) == (ReasonCode.POSITION_LIMIT,)


def test_position_limit_counts_only_what_a_partly_filled_order_has_left(world) -> None:
    world.limit(LimitType.MAX_POSITION, "10")
    world.working(quantity=D("8"), filled_quantity=D("6"))  # 2 left; its 6 are in the position
    world.view.set_position(world.portfolio_id, world.btc.id, D("6"))

    assert approved(world, world.order(quantity=D("2")))
    assert codes(world, world.order(quantity=D("2.0001"))) == (ReasonCode.POSITION_LIMIT,)


def test_an_order_that_shrinks_a_position_over_the_limit_passes(world) -> None:
    world.limit(LimitType.MAX_POSITION, "10")
    world.view.set_position(world.portfolio_id, world.btc.id, D("15"))

    assert approved(world, world.order(quantity=D("2"), side=OrderSide.SELL))
    assert codes(world, world.order(quantity=D("0.0001"))) == (ReasonCode.POSITION_LIMIT,)


# --- exposure -----------------------------------------------------------------------------------
def test_gross_exposure_counts_positions_and_working_orders_as_filled(world) -> None:
    world.limit(LimitType.MAX_GROSS_EXPOSURE, "1000")
    world.view.set_position(world.portfolio_id, world.eth.id, D("-3"))  # 300, short counts too
    world.working(world.btc, quantity=D("2"))  # 200

    assert approved(world, world.order(world.btc, quantity=D("5")))  # 300 + 200 + 500
    assert codes(world, world.order(world.btc, quantity=D("5.0001"))) == (
        ReasonCode.GROSS_EXPOSURE,
    )


def test_gross_exposure_per_instrument(world) -> None:
    world.limit(LimitType.MAX_GROSS_EXPOSURE, "500", instrument=world.btc)
    world.view.set_position(world.portfolio_id, world.eth.id, D("50"))

    assert approved(world, world.order(world.btc, quantity=D("5")))
    assert codes(world, world.order(world.btc, quantity=D("5.0001"))) == (
        ReasonCode.GROSS_EXPOSURE,
    )


def test_net_exposure_offsets_longs_and_shorts(world) -> None:
    world.configure(max_net_exposure=D("1000"), check_buying_power=False)
    world.view.set_position(world.portfolio_id, world.btc.id, D("5"))
    world.view.set_position(world.portfolio_id, world.eth.id, D("-3"))  # net 200

    assert approved(world, world.order(world.btc, quantity=D("8")))  # net 1000
    assert codes(world, world.order(world.btc, quantity=D("8.0001"))) == (ReasonCode.NET_EXPOSURE,)


def test_net_exposure_on_the_short_side_counts_working_sells(world) -> None:
    world.configure(max_net_exposure=D("1000"), check_buying_power=False)
    world.working(world.eth, quantity=D("4"), side=OrderSide.SELL)
    sell = {"side": OrderSide.SELL}

    assert approved(world, world.order(world.btc, quantity=D("6"), **sell))
    assert codes(world, world.order(world.btc, quantity=D("6.0001"), **sell)) == (
        ReasonCode.NET_EXPOSURE,
    )


# --- buying power -------------------------------------------------------------------------------
def test_buying_power_reserves_working_buys(world) -> None:
    world.view.set_balance(world.portfolio_id, D("1000"))
    world.working(quantity=D("3"), price=D("100.00"))

    assert approved(world, world.order(quantity=D("7")))
    assert codes(world, world.order(quantity=D("7.0001"))) == (ReasonCode.BUYING_POWER,)


def test_selling_a_held_position_needs_no_buying_power_but_opening_a_short_does(world) -> None:
    world.view.set_balance(world.portfolio_id, D("100"))
    world.view.set_position(world.portfolio_id, world.btc.id, D("2"))
    sell = {"side": OrderSide.SELL}

    assert approved(world, world.order(quantity=D("3"), **sell))  # 1 opens a short: 100
    assert codes(world, world.order(quantity=D("3.0001"), **sell)) == (ReasonCode.BUYING_POWER,)


# --- open orders and rate -----------------------------------------------------------------------
def test_max_open_orders(world) -> None:
    world.configure(max_open_orders=3)
    world.working(quantity=D("1"))
    world.working(quantity=D("2"))

    assert approved(world, world.order(quantity=D("3")))
    world.working(quantity=D("4"))
    assert codes(world, world.order(quantity=D("5"))) == (ReasonCode.MAX_OPEN_ORDERS,)


def test_order_rate_counts_accepted_messages_per_second_on_the_clock(world) -> None:
    world.limit(LimitType.MAX_ORDER_RATE, "3")

    for n in range(3):
        assert approved(world, world.order(quantity=D(n + 1)))
        world.advance(SECOND // 4)
    assert codes(world, world.order(quantity=D("9"))) == (ReasonCode.ORDER_RATE,)
    world.advance(SECOND // 4)  # the first message is now a second old
    assert approved(world, world.order(quantity=D("9")))


def test_amends_count_toward_the_rate(world) -> None:
    world.limit(LimitType.MAX_ORDER_RATE, "2")
    order = world.order(quantity=D("1"))
    assert approved(world, order)
    world.view.add_orders([order])

    assert world.engine.check_amend(order, quantity=D("2")).approved
    assert world.engine.check_amend(order, quantity=D("3")).codes == (ReasonCode.ORDER_RATE,)
    assert codes(world, world.order(quantity=D("5"))) == (ReasonCode.ORDER_RATE,)


def test_cancels_count_toward_the_rate_and_always_pass(world) -> None:
    world.limit(LimitType.MAX_ORDER_RATE, "2")
    order = world.order(quantity=D("1"))
    assert approved(world, order)
    world.view.add_orders([order])
    for _ in range(3):  # past the limit too: a cancel only ever lowers risk
        assert world.engine.check_cancel(order).approved
    assert codes(world, world.order(quantity=D("5"))) == (ReasonCode.ORDER_RATE,)


def test_rejected_orders_do_not_count_toward_the_rate(world) -> None:
    world.limit(LimitType.MAX_ORDER_RATE, "1")
    world.configure(restricted_instruments=frozenset({world.eth.id}))

    assert not approved(world, world.order(world.eth))
    assert approved(world, world.order(world.btc))


# --- losses -------------------------------------------------------------------------------------
def test_daily_loss_halt_rejects_past_the_limit(world) -> None:
    world.limit(LimitType.MAX_DAILY_LOSS, "1000", BreachAction.HALT)
    world.engine.update(world.portfolio_id)  # day starts at 100000

    world.view.set_equity(world.portfolio_id, D("99000"))
    assert approved(world, world.order(quantity=D("1")))
    world.view.set_equity(world.portfolio_id, D("98999.99"))
    assert codes(world, world.order(quantity=D("2"))) == (ReasonCode.DAILY_LOSS,)
    assert codes(world, world.order(quantity=D("1"), side=OrderSide.SELL)) == (
        ReasonCode.DAILY_LOSS,
    )


def test_daily_loss_reduce_lets_only_reducing_orders_through(world) -> None:
    world.limit(LimitType.MAX_DAILY_LOSS, "1000", BreachAction.REDUCE)
    world.view.set_position(world.portfolio_id, world.btc.id, D("5"))
    world.engine.update(world.portfolio_id)
    world.view.set_equity(world.portfolio_id, D("98999.99"))

    assert approved(world, world.order(quantity=D("5"), side=OrderSide.SELL))
    assert codes(world, world.order(quantity=D("1"))) == (ReasonCode.DAILY_LOSS,)


def test_daily_loss_alert_does_not_block(world) -> None:
    world.limit(LimitType.MAX_DAILY_LOSS, "1000", BreachAction.ALERT)
    world.engine.update(world.portfolio_id)
    world.view.set_equity(world.portfolio_id, D("90000"))

    assert approved(world, world.order())


def test_daily_loss_restarts_each_utc_day(world) -> None:
    world.limit(LimitType.MAX_DAILY_LOSS, "1000")
    world.engine.update(world.portfolio_id)
    world.view.set_equity(world.portfolio_id, D("98000"))
    assert codes(world, world.order()) == (ReasonCode.DAILY_LOSS,)

    world.advance(24 * 3600 * SECOND)

    assert approved(world, world.order(quantity=D("2")))


def test_drawdown_from_the_high_water_mark(world) -> None:
    world.limit(LimitType.MAX_DRAWDOWN, "5000")
    world.view.set_equity(world.portfolio_id, D("110000"))
    world.engine.update(world.portfolio_id)  # high-water mark 110000

    world.view.set_equity(world.portfolio_id, D("105000"))
    assert approved(world, world.order(quantity=D("1")))
    world.view.set_equity(world.portfolio_id, D("104999.99"))
    assert codes(world, world.order(quantity=D("2"))) == (ReasonCode.DRAWDOWN,)


# --- restricted and duplicates ------------------------------------------------------------------
def test_restricted_instrument(world) -> None:
    world.configure(restricted_instruments=frozenset({world.eth.id}))

    assert approved(world, world.order(world.btc))
    assert codes(world, world.order(world.eth)) == (ReasonCode.RESTRICTED_INSTRUMENT,)


def test_duplicate_order_inside_the_window(world) -> None:
    world.configure(duplicate_window_ns=SECOND)
    first = world.order(quantity=D("2"))
    assert approved(world, first)

    world.advance(SECOND - 1)
    assert codes(world, world.order(quantity=D("2.0"))) == (ReasonCode.DUPLICATE_ORDER,)
    assert approved(world, world.order(quantity=D("2"), price=D("100.01")))
    assert approved(world, world.order(quantity=D("2"), side=OrderSide.SELL))
    world.advance(1)
    assert approved(world, world.order(quantity=D("2")))


def test_slices_of_one_parent_order_are_not_duplicates_of_each_other(world) -> None:
    world.configure(duplicate_window_ns=SECOND)
    assert approved(world, world.order(client_order_id=ClientOrderId("twap-1:1")))
    assert approved(world, world.order(client_order_id=ClientOrderId("twap-1:2")))
    assert codes(world, world.order(client_order_id=ClientOrderId("twap-2:1"))) == (
        ReasonCode.DUPLICATE_ORDER,
    )  # another parent's equal slice, or a manual order, still is one
    assert codes(world, world.order(client_order_id=ClientOrderId("manual-7"))) == (
        ReasonCode.DUPLICATE_ORDER,
    )


def test_duplicate_detection_can_be_turned_off(world) -> None:
    world.configure(duplicate_window_ns=None)

    assert approved(world, world.order())
    assert approved(world, world.order())


# --- decisions ----------------------------------------------------------------------------------
def test_every_broken_rule_is_reported_first_one_as_the_reason(world) -> None:
    world.limit(LimitType.MAX_ORDER_SIZE, "1")
    world.configure(restricted_instruments=frozenset({world.btc.id}))

    decision = world.engine.check_order(world.order(quantity=D("2"), price=D("200.00")))

    assert decision.codes == (
        ReasonCode.RESTRICTED_INSTRUMENT,
        ReasonCode.ORDER_SIZE,
        ReasonCode.PRICE_COLLAR,
    )
    assert decision.reason is not None
    assert decision.reason.startswith("risk.restricted_instrument: ")


def test_reason_codes_are_stable() -> None:
    assert {code.value for code in ReasonCode} >= {
        "risk.order_size",
        "risk.notional",
        "risk.price_collar",
        "risk.position_limit",
        "risk.gross_exposure",
        "risk.net_exposure",
        "risk.buying_power",
        "risk.max_open_orders",
        "risk.order_rate",
        "risk.daily_loss",
        "risk.drawdown",
        "risk.restricted_instrument",
        "risk.duplicate_order",
        "risk.trading_halted",
        "risk.reduce_only",
        "risk.no_reference_price",
        "risk.unknown_account",
        "risk.missing_limit_data",
    }


@pytest.mark.parametrize(
    "settings_",
    [
        {"price_collar": D("0")},
        {"max_net_exposure": D("-1")},
        {"max_open_orders": 0},
        {"duplicate_window_ns": 0},
        {"warning_threshold": D("1")},
    ],
)
def test_config_refuses_nonsense(settings_) -> None:
    from omoitrade.core.errors import ValidationError

    with pytest.raises(ValidationError):
        RiskConfig(**settings_)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    orders=st.lists(
        st.tuples(st.sampled_from(list(OrderSide)), st.integers(min_value=1, max_value=60)),
        max_size=25,
    )
)
def test_accepted_working_orders_never_take_the_position_past_the_limit(
    new_world, orders: list[tuple[OrderSide, int]]
) -> None:
    world = new_world()
    world.configure(duplicate_window_ns=None)
    world.limit(LimitType.MAX_POSITION, "10")
    for side, tenths in orders:
        order = world.order(side=side, quantity=D(tenths) / 10)
        if world.engine.check_order(order).approved:
            world.view.add_orders([order])
        working = world.view.working_orders(world.portfolio_id)
        for each in OrderSide:
            total = sum((o.quantity for o in working if o.side is each), D(0))
            assert total <= 10
