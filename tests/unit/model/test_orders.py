"""Tests for the order entity: lifecycle, fills, amendments, cancel and reject."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal, localcontext

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omoitrade.core.errors import IllegalTransition, ValidationError
from omoitrade.model import (
    Instrument,
    Order,
    OrderStatus,
    OrderType,
    PortfolioId,
    VenueOrderId,
)
from omoitrade.model.state_machines import ORDER_LIFECYCLE, OrderTrigger
from omoitrade.testing.factories import T0, make_instrument, make_order

D = Decimal
T1 = T0 + timedelta(seconds=1)
T2 = T0 + timedelta(seconds=2)
T3 = T0 + timedelta(seconds=3)
TERMINAL = (OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED)


@pytest.fixture
def instrument() -> Instrument:
    return make_instrument()


@pytest.fixture
def order(instrument: Instrument) -> Order:
    """A PENDING limit buy of 0.5 at 42000.00."""
    return make_order(PortfolioId.new(), instrument)


@pytest.fixture
def submitted(order: Order) -> Order:
    order.submit(T0)
    return order


def snapshot(order: Order) -> tuple[object, ...]:
    """Everything a refused operation must leave alone."""
    return (
        order.status,
        order.quantity,
        order.price,
        order.stop_price,
        order.filled_quantity,
        order.average_fill_price,
        order.commission,
        order.exchange_order_id,
        order.submitted_at,
        order.filled_at,
        order.updated_at,
        order.cancel_reason,
        order.reject_reason,
    )


def finish(order: Order, end: str) -> None:
    """Bring a submitted order to a terminal state: FILLED, CANCELLED or REJECTED."""
    if end == "fill":
        order.apply_fill(D("0.5"), D("42000.00"), D("0"), T1)
    elif end == "cancel":
        order.cancel("user", T1)
    else:
        order.reject("venue", T1)


# -- construction ---------------------------------------------------------------------


def test_new_order_is_pending_with_nothing_filled(order: Order) -> None:
    assert order.status is OrderStatus.PENDING
    assert order.filled_quantity == 0
    assert order.average_fill_price is None
    assert order.commission == 0
    assert order.leaves_quantity == D("0.5")
    assert order.is_open
    assert not order.is_terminal
    assert order.updated_at == order.created_at == T0
    assert order.submitted_at is None
    assert order.filled_at is None


@pytest.mark.parametrize("field", ["created_at", "submitted_at", "filled_at", "updated_at"])
def test_naive_timestamps_are_refused(instrument: Instrument, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        make_order(PortfolioId.new(), instrument, **{field: datetime(2024, 1, 2, 9, 30)})

    assert caught.value.field == field
    assert caught.value.rule == "must be timezone-aware UTC"


def test_orders_compare_by_identity_not_by_value(instrument: Instrument) -> None:
    first = make_order(PortfolioId.new(), instrument)
    twin = make_order(first.portfolio_id, instrument, id=first.id)

    assert first != twin
    assert first == first


# -- submit and acknowledge -------------------------------------------------------------


def test_submit_moves_pending_to_submitted_and_stamps_the_time(order: Order) -> None:
    order.submit(T1)

    assert order.status is OrderStatus.SUBMITTED
    assert order.submitted_at == T1
    assert order.updated_at == T1
    assert order.exchange_order_id is None


def test_submit_may_record_the_venue_order_id(order: Order) -> None:
    order.submit(T1, VenueOrderId("V-1"))

    assert order.exchange_order_id == "V-1"


def test_submit_twice_is_an_illegal_transition_and_changes_nothing(submitted: Order) -> None:
    before = snapshot(submitted)

    with pytest.raises(IllegalTransition) as caught:
        submitted.submit(T1)

    assert caught.value.trigger is OrderTrigger.SUBMIT
    assert snapshot(submitted) == before


def test_acknowledge_records_the_venue_id_without_changing_status(submitted: Order) -> None:
    submitted.acknowledge(VenueOrderId("V-9"), T1)

    assert submitted.exchange_order_id == "V-9"
    assert submitted.status is OrderStatus.SUBMITTED
    assert submitted.updated_at == T1


def test_acknowledge_with_the_same_venue_id_again_is_harmless(submitted: Order) -> None:
    submitted.acknowledge(VenueOrderId("V-9"), T1)
    submitted.acknowledge(VenueOrderId("V-9"), T2)

    assert submitted.exchange_order_id == "V-9"
    assert submitted.updated_at == T2


def test_acknowledge_cannot_change_a_recorded_venue_id(submitted: Order) -> None:
    submitted.acknowledge(VenueOrderId("V-9"), T1)
    before = snapshot(submitted)

    with pytest.raises(ValidationError) as caught:
        submitted.acknowledge(VenueOrderId("V-10"), T2)

    assert caught.value.field == "exchange_order_id"
    assert caught.value.rule == "already V-9, cannot become V-10"
    assert snapshot(submitted) == before


def test_acknowledge_is_allowed_while_partially_filled(submitted: Order) -> None:
    submitted.apply_fill(D("0.1"), D("42000.00"), D("0"), T1)

    submitted.acknowledge(VenueOrderId("V-9"), T2)

    assert submitted.exchange_order_id == "V-9"
    assert submitted.status is OrderStatus.PARTIAL


def test_acknowledge_of_a_pending_order_is_refused(order: Order) -> None:
    with pytest.raises(ValidationError) as caught:
        order.acknowledge(VenueOrderId("V-9"), T1)

    assert caught.value.field == "status"
    assert caught.value.rule == "must be SUBMITTED or PARTIAL to acknowledge, is PENDING"
    assert order.exchange_order_id is None


@pytest.mark.parametrize("end", ["fill", "cancel", "reject"])
def test_acknowledge_of_a_finished_order_is_refused(submitted: Order, end: str) -> None:
    finish(submitted, end)

    with pytest.raises(ValidationError) as caught:
        submitted.acknowledge(VenueOrderId("V-9"), T2)

    assert caught.value.rule == (
        f"must be SUBMITTED or PARTIAL to acknowledge, is {submitted.status}"
    )


# -- fills -------------------------------------------------------------------------------


def test_partial_then_full_fill(submitted: Order) -> None:
    assert submitted.apply_fill(D("0.2"), D("42000.00"), D("1.00"), T1) is OrderStatus.PARTIAL
    assert submitted.filled_quantity == D("0.2")
    assert submitted.leaves_quantity == D("0.3")
    assert submitted.average_fill_price == D("42000")
    assert submitted.filled_at is None
    assert submitted.updated_at == T1

    assert submitted.apply_fill(D("0.3"), D("42010.00"), D("1.50"), T2) is OrderStatus.FILLED
    assert submitted.filled_quantity == D("0.5")
    assert submitted.average_fill_price == D("42006")  # (0.2*42000 + 0.3*42010) / 0.5
    assert submitted.commission == D("2.50")
    assert submitted.filled_at == T2
    assert submitted.leaves_quantity == 0
    assert submitted.is_terminal


def test_one_fill_of_the_whole_quantity_fills_the_order(submitted: Order) -> None:
    status = submitted.apply_fill(D("0.5"), D("41999.99"), D("0.42"), T1)

    assert status is OrderStatus.FILLED
    assert submitted.average_fill_price == D("41999.99")
    assert submitted.commission == D("0.42")


def test_fill_of_a_pending_order_is_an_illegal_transition(order: Order) -> None:
    before = snapshot(order)

    with pytest.raises(IllegalTransition) as caught:
        order.apply_fill(D("0.1"), D("42000.00"), D("0"), T1)

    assert caught.value.state is OrderStatus.PENDING
    assert caught.value.trigger is OrderTrigger.PARTIAL_FILL
    assert snapshot(order) == before


def test_fill_beyond_order_quantity_is_refused_and_changes_nothing(submitted: Order) -> None:
    submitted.apply_fill(D("0.3"), D("42000.00"), D("1"), T1)
    before = snapshot(submitted)

    with pytest.raises(ValidationError) as caught:
        submitted.apply_fill(D("0.3"), D("42000.00"), D("1"), T2)

    assert caught.value.field == "fill.quantity"
    assert caught.value.rule == "would fill 0.6, more than the order quantity 0.5"
    assert caught.value.value == D("0.3")
    assert snapshot(submitted) == before


@pytest.mark.parametrize("quantity", [D("0"), D("-0.1")])
def test_fill_quantity_must_be_positive(submitted: Order, quantity: Decimal) -> None:
    before = snapshot(submitted)

    with pytest.raises(ValidationError) as caught:
        submitted.apply_fill(quantity, D("42000.00"), D("0"), T1)

    assert (caught.value.field, caught.value.rule) == ("fill.quantity", "must be greater than 0")
    assert snapshot(submitted) == before


@pytest.mark.parametrize("price", [D("0"), D("-1")])
def test_fill_price_must_be_positive(submitted: Order, price: Decimal) -> None:
    before = snapshot(submitted)

    with pytest.raises(ValidationError) as caught:
        submitted.apply_fill(D("0.1"), price, D("0"), T1)

    assert (caught.value.field, caught.value.rule) == ("fill.price", "must be greater than 0")
    assert snapshot(submitted) == before


def test_fill_commission_must_not_be_negative(submitted: Order) -> None:
    before = snapshot(submitted)

    with pytest.raises(ValidationError) as caught:
        submitted.apply_fill(D("0.1"), D("42000.00"), D("-0.01"), T1)

    assert (caught.value.field, caught.value.rule) == ("fill.commission", "must not be negative")
    assert snapshot(submitted) == before


@pytest.mark.parametrize("end", ["fill", "cancel", "reject"])
def test_fill_after_the_order_finished_is_an_illegal_transition(submitted: Order, end: str) -> None:
    finish(submitted, end)
    before = snapshot(submitted)

    with pytest.raises(IllegalTransition) as caught:
        submitted.apply_fill(D("0.1"), D("42000.00"), D("0"), T2)

    assert caught.value.allowed == ()
    assert snapshot(submitted) == before


def test_average_fill_price_keeps_full_precision_for_awkward_ratios(submitted: Order) -> None:
    submitted.apply_fill(D("0.1"), D("42000.01"), D("0"), T1)
    submitted.apply_fill(D("0.2"), D("42000.02"), D("0"), T2)

    # (4200.001 + 8400.004) / 0.3 = 42000.01666...
    assert submitted.average_fill_price == D("42000.01666666666666666666667")


# Lot and tick sizes with different exponents, including steps that are not powers of ten.
GRIDS = [
    (D("0.0001"), D("0.01")),
    (D("0.01"), D("0.5")),
    (D("1"), D("0.25")),
    (D("0.25"), D("0.0001")),
    (D("5"), D("1E+1")),
]
ACTION = st.tuples(
    st.sampled_from(["fill"] * 8 + ["cancel", "reject"]),
    st.integers(min_value=1, max_value=40),  # fill size in lots
    st.integers(min_value=1, max_value=10**9),  # fill price in ticks
    st.integers(min_value=0, max_value=10**6),  # commission in cents
)


@settings(max_examples=200, deadline=None)
@given(
    grid=st.sampled_from(GRIDS),
    order_lots=st.integers(min_value=1, max_value=100),
    actions=st.lists(ACTION, max_size=30),
)
def test_fills_accumulate_exactly_and_never_overfill(
    grid: tuple[Decimal, Decimal],
    order_lots: int,
    actions: list[tuple[str, int, int, int]],
) -> None:
    lot, tick = grid
    instrument = make_instrument(lot_size=lot, min_quantity=lot, tick_size=tick)
    quantity = order_lots * lot
    order = make_order(PortfolioId.new(), instrument, quantity=quantity, price=1000 * tick)
    order.submit(T0)

    fills: list[tuple[Decimal, Decimal]] = []
    commission = D(0)
    for step, (kind, lots, ticks, cents) in enumerate(actions, start=1):
        at = T0 + timedelta(seconds=step)
        before = snapshot(order)
        was_filled = order.filled_quantity
        if kind == "fill":
            size, price, fee = lots * lot, ticks * tick, D(f"{cents}E-2")
            if order.is_terminal:
                with pytest.raises(IllegalTransition):
                    order.apply_fill(size, price, fee, at)
                assert snapshot(order) == before
            elif order.filled_quantity + size > quantity:
                with pytest.raises(ValidationError) as caught:
                    order.apply_fill(size, price, fee, at)
                assert caught.value.field == "fill.quantity"
                assert snapshot(order) == before
            else:
                status = order.apply_fill(size, price, fee, at)
                fills.append((size, price))
                commission += fee
                assert status is order.status
                assert order.updated_at == at
        else:
            trigger = OrderTrigger.CANCEL if kind == "cancel" else OrderTrigger.REJECT
            move = order.cancel if kind == "cancel" else order.reject
            if ORDER_LIFECYCLE.can(order.status, trigger):
                move(kind, at)
                assert order.status in (OrderStatus.CANCELLED, OrderStatus.REJECTED)
            else:
                with pytest.raises(IllegalTransition):
                    move(kind, at)
                assert snapshot(order) == before

        # filled quantity only grows, never past the order quantity
        assert was_filled <= order.filled_quantity <= quantity
        assert order.filled_quantity == sum((q for q, _ in fills), D(0))
        assert order.commission == commission
        # status follows the filled quantity while the order was not cancelled or rejected
        if order.status not in (OrderStatus.CANCELLED, OrderStatus.REJECTED):
            filled = order.filled_quantity
            assert (order.status is OrderStatus.PARTIAL) == (0 < filled < quantity)
            assert (order.status is OrderStatus.FILLED) == (filled == quantity)
            assert (order.status is OrderStatus.SUBMITTED) == (filled == 0)
        assert (order.filled_at is not None) == (order.status is OrderStatus.FILLED)
        assert order.leaves_quantity == (
            0 if order.is_terminal else quantity - order.filled_quantity
        )
        # the average is the quantity-weighted mean of the fill prices
        if not fills:
            assert order.average_fill_price is None
        else:
            with localcontext() as ctx:
                ctx.prec = 100
                exact = sum(q * p for q, p in fills) / sum(q for q, _ in fills)
                assert abs(order.average_fill_price - exact) <= exact * D("1e-20")
            assert min(p for _, p in fills) <= order.average_fill_price
            assert order.average_fill_price <= max(p for _, p in fills)


# -- amend -------------------------------------------------------------------------------


def test_amend_changes_quantity_and_price_of_an_open_order(submitted: Order) -> None:
    submitted.amend(T1, quantity=D("0.7"), price=D("41000.00"))

    assert submitted.quantity == D("0.7")
    assert submitted.price == D("41000.00")
    assert submitted.status is OrderStatus.SUBMITTED
    assert submitted.updated_at == T1


def test_amend_of_a_pending_order_keeps_it_pending(order: Order) -> None:
    order.amend(T1, quantity=D("0.2"))

    assert order.quantity == D("0.2")
    assert order.status is OrderStatus.PENDING


def test_amend_changes_the_stop_price_of_a_stop_order(instrument: Instrument) -> None:
    order = make_order(
        PortfolioId.new(),
        instrument,
        order_type=OrderType.STOP,
        price=None,
        stop_price=D("40000.00"),
    )

    order.amend(T1, stop_price=D("39000.00"))

    assert order.stop_price == D("39000.00")


def test_amend_of_a_partially_filled_order_keeps_it_partial(submitted: Order) -> None:
    submitted.apply_fill(D("0.2"), D("42000.00"), D("0"), T1)

    submitted.amend(T2, quantity=D("0.3"))

    assert submitted.status is OrderStatus.PARTIAL
    assert submitted.leaves_quantity == D("0.1")


@pytest.mark.parametrize("quantity", [D("0.1"), D("0.2")])
def test_amend_below_or_to_the_filled_quantity_is_refused(
    submitted: Order, quantity: Decimal
) -> None:
    submitted.apply_fill(D("0.2"), D("42000.00"), D("0"), T1)
    before = snapshot(submitted)

    with pytest.raises(ValidationError) as caught:
        submitted.amend(T2, quantity=quantity)

    assert caught.value.field == "quantity"
    assert caught.value.rule == "must exceed the filled quantity 0.2"
    assert snapshot(submitted) == before


def test_amend_price_on_a_market_order_is_refused(instrument: Instrument) -> None:
    order = make_order(PortfolioId.new(), instrument, order_type=OrderType.MARKET, price=None)
    before = snapshot(order)

    with pytest.raises(ValidationError) as caught:
        order.amend(T1, price=D("42000.00"))

    assert caught.value.field == "price"
    assert caught.value.rule == "cannot be set on a MARKET order"
    assert snapshot(order) == before


def test_amend_stop_price_on_a_limit_order_is_refused(submitted: Order) -> None:
    with pytest.raises(ValidationError) as caught:
        submitted.amend(T1, stop_price=D("41000.00"))

    assert caught.value.field == "stop_price"
    assert caught.value.rule == "cannot be set on a LIMIT order"


def test_a_refused_amend_applies_none_of_its_changes(submitted: Order) -> None:
    before = snapshot(submitted)

    with pytest.raises(ValidationError):
        submitted.amend(T1, quantity=D("0.9"), price=D("41000.00"), stop_price=D("1.00"))

    assert snapshot(submitted) == before


@pytest.mark.parametrize("end", ["fill", "cancel", "reject"])
def test_amend_of_a_finished_order_is_an_illegal_transition(submitted: Order, end: str) -> None:
    finish(submitted, end)
    before = snapshot(submitted)

    with pytest.raises(IllegalTransition) as caught:
        submitted.amend(T2, quantity=D("1"))

    assert caught.value.trigger is OrderTrigger.AMEND
    assert snapshot(submitted) == before


# -- cancel and reject -----------------------------------------------------------------


def test_cancel_of_a_pending_order(order: Order) -> None:
    order.cancel("changed my mind", T1)

    assert order.status is OrderStatus.CANCELLED
    assert order.cancel_reason == "changed my mind"
    assert order.updated_at == T1
    assert order.leaves_quantity == 0


def test_cancel_of_a_partially_filled_order_keeps_what_was_filled(submitted: Order) -> None:
    submitted.apply_fill(D("0.2"), D("42000.00"), D("0.10"), T1)

    submitted.cancel("user", T2)

    assert submitted.status is OrderStatus.CANCELLED
    assert submitted.filled_quantity == D("0.2")
    assert submitted.average_fill_price == D("42000")
    assert submitted.commission == D("0.10")
    assert submitted.leaves_quantity == 0
    assert submitted.filled_at is None


def test_cancel_of_a_filled_order_is_refused_with_the_exact_message(submitted: Order) -> None:
    submitted.apply_fill(D("0.5"), D("42000.00"), D("0"), T1)
    before = snapshot(submitted)

    with pytest.raises(IllegalTransition) as caught:
        submitted.cancel("too late", T2)

    assert str(caught.value) == (
        "Order: trigger CANCEL is not allowed in state FILLED (allowed: none)"
    )
    assert snapshot(submitted) == before
    assert submitted.cancel_reason is None


def test_cancel_twice_is_refused(order: Order) -> None:
    order.cancel("first", T1)

    with pytest.raises(IllegalTransition):
        order.cancel("second", T2)

    assert order.cancel_reason == "first"
    assert order.updated_at == T1


@pytest.mark.parametrize("submit", [False, True])
def test_reject_of_a_pending_or_submitted_order(order: Order, submit: bool) -> None:
    if submit:
        order.submit(T1)

    order.reject("insufficient margin", T2)

    assert order.status is OrderStatus.REJECTED
    assert order.reject_reason == "insufficient margin"
    assert order.updated_at == T2
    assert order.is_terminal


def test_reject_of_a_partially_filled_order_is_refused(submitted: Order) -> None:
    submitted.apply_fill(D("0.2"), D("42000.00"), D("0"), T1)
    before = snapshot(submitted)

    with pytest.raises(IllegalTransition) as caught:
        submitted.reject("venue", T2)

    assert caught.value.allowed == (
        OrderTrigger.AMEND,
        OrderTrigger.PARTIAL_FILL,
        OrderTrigger.FILL,
        OrderTrigger.CANCEL,
    )
    assert snapshot(submitted) == before
    assert submitted.reject_reason is None


@pytest.mark.parametrize("status", TERMINAL)
def test_terminal_orders_are_not_open(submitted: Order, status: OrderStatus) -> None:
    submitted.status = status

    assert submitted.is_terminal
    assert not submitted.is_open
    assert submitted.leaves_quantity == 0


def test_full_lifecycle_timestamps(order: Order) -> None:
    order.submit(T1, VenueOrderId("V-1"))
    order.apply_fill(D("0.25"), D("42000.00"), D("0"), T2)
    order.apply_fill(D("0.25"), D("42000.00"), D("0"), T3)

    assert (order.created_at, order.submitted_at, order.filled_at) == (T0, T1, T3)
    assert order.updated_at == T3
