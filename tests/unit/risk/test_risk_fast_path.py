"""The engine's per-portfolio plans, cached values and one-pass sums give the same decisions
as working everything out afresh for each order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omoitrade.core.clock import SimulatedClock
from omoitrade.model import BreachAction, LimitType, Order, OrderSide, OrderStatus, OrderType
from omoitrade.model.identifiers import InstrumentId, PortfolioId
from omoitrade.model.money import ZERO
from omoitrade.risk import APPROVED, ReasonCode, RiskConfig, TradingState
from omoitrade.risk.checks import STATELESS_CHECKS, OrderContext, _costs, stateless_checks_for
from omoitrade.risk.limits import EquityTracker
from omoitrade.risk.throttle import OrderRateTracker

D = Decimal
SECOND = 1_000_000_000
DAY_NS = 86_400 * SECOND


def codes(world, order) -> tuple[ReasonCode, ...]:
    return world.engine.check_order(order).codes


# --- plans: rebuilt when what they were made from changes -------------------------------------
def test_an_approval_is_the_shared_approved_decision(world) -> None:
    assert world.engine.check_order(world.order()) is APPROVED


def test_limits_loaded_after_orders_were_judged_apply_to_the_next_order(world) -> None:
    assert world.engine.check_order(world.order(quantity=D("2"))).approved

    world.limit(LimitType.MAX_ORDER_SIZE, "1")

    assert codes(world, world.order(quantity=D("3"))) == (ReasonCode.ORDER_SIZE,)
    world.engine.set_limits(world.portfolio_id, [])
    assert world.engine.check_order(world.order(quantity=D("4"))).approved


def test_a_config_set_after_orders_were_judged_applies_to_the_next_order(world) -> None:
    assert world.engine.check_order(world.order(quantity=D("2"))).approved

    world.configure(restricted_instruments=frozenset({world.btc.id}))

    assert codes(world, world.order(quantity=D("3"))) == (ReasonCode.RESTRICTED_INSTRUMENT,)


def test_a_replaced_default_config_applies_to_portfolios_without_their_own(world) -> None:
    world.working(world.eth)
    assert world.engine.check_order(world.order(quantity=D("2"))).approved

    world.engine.default_config = RiskConfig(max_open_orders=1)

    assert codes(world, world.order(quantity=D("3"))) == (ReasonCode.MAX_OPEN_ORDERS,)


def test_a_portfolios_own_config_outlives_a_replaced_default(world) -> None:
    world.working(world.eth)
    world.configure(max_open_orders=5)
    assert world.engine.check_order(world.order(quantity=D("2"))).approved

    world.engine.default_config = RiskConfig(max_open_orders=1)

    assert world.engine.check_order(world.order(quantity=D("3"))).approved


def test_a_limit_value_changed_in_place_applies_to_the_next_order(world) -> None:
    limit = world.limit(LimitType.MAX_ORDER_SIZE, "10")
    assert world.engine.check_order(world.order(quantity=D("2"))).approved

    limit.limit_value = D("1")

    assert codes(world, world.order(quantity=D("3"))) == (ReasonCode.ORDER_SIZE,)


def test_every_stateless_check_is_planned_when_its_setting_is_on() -> None:
    config = RiskConfig(
        restricted_instruments=frozenset({InstrumentId.of("SIM", "X/USD")}),
        max_net_exposure=D("1"),
    )

    assert stateless_checks_for(config, set(LimitType)) == STATELESS_CHECKS


def test_checks_left_out_of_a_plan_are_those_that_cannot_find_anything() -> None:
    config = RiskConfig(price_collar=None)

    assert [c.__name__ for c in stateless_checks_for(config, set())] == ["check_market_price"]


# --- every rule broken is listed, in the same order as ever -----------------------------------
def test_a_rejection_lists_every_rule_broken_in_check_order(world) -> None:
    world.view.set_balance(world.portfolio_id, D("1"))
    world.configure(
        price_collar=D("0.01"),
        max_net_exposure=D("1"),
        max_open_orders=1,
        restricted_instruments=frozenset({world.btc.id}),
    )
    for limit_type in (
        LimitType.MAX_ORDER_SIZE,
        LimitType.MAX_NOTIONAL,
        LimitType.MAX_POSITION,
        LimitType.MAX_GROSS_EXPOSURE,
    ):
        world.limit(limit_type, "0.5")
    world.working(world.eth, quantity=D("0.1"), price=D("100.00"))
    world.engine.states.apply(world.portfolio_id, TradingState.REDUCING)

    decision = world.engine.check_order(world.order(quantity=D("2"), price=D("150.00")))

    assert decision.codes == (
        ReasonCode.REDUCE_ONLY,
        ReasonCode.RESTRICTED_INSTRUMENT,
        ReasonCode.ORDER_SIZE,
        ReasonCode.NOTIONAL,
        ReasonCode.PRICE_COLLAR,
        ReasonCode.POSITION_LIMIT,
        ReasonCode.GROSS_EXPOSURE,
        ReasonCode.NET_EXPOSURE,
        ReasonCode.BUYING_POWER,
        ReasonCode.MAX_OPEN_ORDERS,
    )


def test_rate_duplicate_and_loss_rules_follow_the_others(world) -> None:
    world.limit(LimitType.MAX_ORDER_RATE, "1")
    world.limit(LimitType.MAX_DRAWDOWN, "10")
    world.limit(LimitType.MAX_ORDER_SIZE, "5")
    first = world.order()
    assert world.engine.check_order(first).approved
    world.view.set_equity(world.portfolio_id, D("99000"))

    again = world.order(quantity=D("6"))
    assert world.engine.check_order(again).codes == (
        ReasonCode.ORDER_SIZE,
        ReasonCode.ORDER_RATE,
        ReasonCode.DRAWDOWN,
    )
    assert world.engine.check_order(world.order()).codes == (
        ReasonCode.ORDER_RATE,
        ReasonCode.DUPLICATE_ORDER,
        ReasonCode.DRAWDOWN,
    )


# --- the duplicate key made once per order ----------------------------------------------------
def test_a_rejected_order_is_not_remembered_as_accepted(world) -> None:
    world.limit(LimitType.MAX_ORDER_SIZE, "1")
    big = world.order(quantity=D("2"))
    assert codes(world, big) == (ReasonCode.ORDER_SIZE,)

    world.engine.set_limits(world.portfolio_id, [])

    assert world.engine.check_order(big).approved
    assert codes(world, world.order(quantity=D("2"))) == (ReasonCode.DUPLICATE_ORDER,)


def test_an_amend_neither_records_nor_trips_the_duplicate_check(world) -> None:
    order = world.working(quantity=D("1"))
    assert world.engine.check_amend(order, quantity=D("3")).approved
    assert world.engine.check_amend(order, quantity=D("3")).approved

    assert world.engine.check_order(world.order(quantity=D("3"))).approved


# --- buying power: one pass, the same sums ------------------------------------------------------
def _old_cost(ctx: OrderContext, orders: list[Order]) -> Decimal:
    """The sum as it was made before (once per order list), to compare with."""
    total = ZERO
    sells: dict[InstrumentId, Decimal] = {}
    for o in orders:
        if o.side is OrderSide.BUY:
            total += o.leaves_quantity * ctx.order_price(o)
        else:
            sells[o.instrument_id] = sells.get(o.instrument_id, ZERO) + o.leaves_quantity
    for instrument_id, quantity in sells.items():
        opening = quantity - max(ctx.position(instrument_id), ZERO)
        if opening > 0:
            total += opening * ctx.reference_price(instrument_id)
    return total


_order_spec = st.tuples(
    st.sampled_from(["btc", "eth"]),
    st.sampled_from([OrderSide.BUY, OrderSide.SELL]),
    st.decimals(min_value=D("0.0001"), max_value=D("1E20"), places=4),
    st.one_of(st.none(), st.decimals(min_value=D("0.01"), max_value=D("1E9"), places=2)),
)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    working=st.lists(_order_spec, max_size=5),
    order=_order_spec,
    positions=st.tuples(
        st.decimals(min_value=D("-1E20"), max_value=D("1E20"), places=4),
        st.decimals(min_value=D("-1E20"), max_value=D("1E20"), places=4),
    ),
)
def test_costs_equal_summing_both_order_lists_to_the_last_digit(
    new_world, working, order, positions
) -> None:
    world = new_world()
    instruments = {"btc": world.btc, "eth": world.eth}

    def make(spec, status=OrderStatus.PENDING) -> Order:
        name, side, quantity, price = spec
        order_type = OrderType.MARKET if price is None else OrderType.LIMIT
        return world.order(
            instruments[name],
            side=side,
            quantity=quantity,
            price=price,
            order_type=order_type,
            status=status,
        )

    others = [make(spec, OrderStatus.SUBMITTED) for spec in working]
    new = make(order)
    ctx = OrderContext(
        order=new,
        config=RiskConfig(),
        limits=[],
        positions={world.btc.id: positions[0], world.eth.id: positions[1]},
        working=others,
        price_of=lambda i: D("123.45") if i == world.btc.id else D("0.0625"),
    )

    before, after = _costs(ctx)

    assert str(before) == str(_old_cost(ctx, others))
    assert str(after) == str(_old_cost(ctx, [*others, new]))


# --- equity marks and the order-rate window -----------------------------------------------------
def test_observe_at_takes_the_same_date_as_the_clocks_utc_now() -> None:
    midnight = int(datetime(2026, 3, 1, tzinfo=UTC).timestamp()) * SECOND
    readings = [
        midnight - DAY_NS,
        midnight - 1_000,
        midnight - 1,
        midnight,
        midnight + 1,
        midnight + DAY_NS - 1,
        midnight + DAY_NS,
        midnight - 1,  # back in time (a simulated clock may be reset)
        0,
        -1,
    ]
    by_ns, by_datetime = EquityTracker(), EquityTracker()
    portfolio_id = PortfolioId.new()
    for n, now_ns in enumerate(readings):
        equity = D(1000 + n)
        clock = SimulatedClock(now_ns)
        a = by_ns.observe_at(portfolio_id, equity, now_ns)
        b = by_datetime.observe(portfolio_id, equity, clock.utc_now())
        assert (a.day, a.day_start, a.high_water_mark) == (b.day, b.day_start, b.high_water_mark)


def test_daily_loss_starts_afresh_at_utc_midnight(world) -> None:
    world.limit(LimitType.MAX_DAILY_LOSS, "100000", BreachAction.ALERT)
    limit = world.engine.limits(world.portfolio_id)[0]
    world.engine.update(world.portfolio_id)
    world.view.set_equity(world.portfolio_id, D("99000"))
    world.engine.update(world.portfolio_id)
    assert limit.current_value == D("1000")

    now = world.clock.utc_now()
    tomorrow = datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)
    world.advance(int((tomorrow - now).total_seconds() * SECOND) - 1)
    world.engine.update(world.portfolio_id)
    assert limit.current_value == D("1000")  # still the same day, one nanosecond short
    world.advance(1)
    world.engine.update(world.portfolio_id)
    assert limit.current_value == D("0")


def test_updates_without_limits_keep_the_high_water_mark(world) -> None:
    world.view.set_equity(world.portfolio_id, D("105000"))
    world.engine.update(world.portfolio_id)
    world.view.set_equity(world.portfolio_id, D("101000"))

    limit = world.limit(LimitType.MAX_DRAWDOWN, "100000", BreachAction.ALERT)
    world.engine.update(world.portfolio_id)

    assert limit.current_value == D("4000")


def test_the_rate_window_is_trimmed_as_orders_are_recorded() -> None:
    rates = OrderRateTracker(window_ns=SECOND)
    portfolio_id = PortfolioId.new()
    for n in range(10_000):
        rates.record(portfolio_id, n * (SECOND // 100))

    assert len(rates._sent[portfolio_id]) <= 101
    assert rates.count(portfolio_id, 9_999 * (SECOND // 100)) == 100
