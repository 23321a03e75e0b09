"""Tests for the order entity: lifecycle, fills, amendments, cancel and reject."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from decimal import Decimal, localcontext

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omoitrade.core.errors import IllegalTransition, ValidationError
from omoitrade.model import (
    Instrument,
    InstrumentId,
    Order,
    OrderId,
    OrderSide,
    OrderStatus,
    OrderType,
    PortfolioId,
    VenueOrderId,
)
from omoitrade.model.state_machines import ORDER_LIFECYCLE, OrderTrigger
from omoitrade.testing.factories import T0, make_instrument, make_order, make_trade

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

    # (4200.001 + 8400.004) / 0.3 = 42000.01666... to 60 digits, not rounded to 28
    assert submitted.average_fill_price == D(
        "42000.0166666666666666666666666666666666666666666666666666667"
    )
    assert len(submitted.average_fill_price.as_tuple().digits) == 60


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
                assert abs(order.average_fill_price - exact) <= exact * D("1e-50")
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


# -- arguments are normalized; a refused call changes nothing ----------------------------------

NAIVE = datetime(2024, 1, 2, 9, 30, 1)
PARIS = datetime(2024, 1, 2, 10, 30, 1, tzinfo=timezone(timedelta(hours=1)))

MUTATORS: dict[str, Callable[[Order, datetime], object]] = {
    "submit": lambda order, at: order.submit(at),
    "acknowledge": lambda order, at: order.acknowledge(VenueOrderId("V-1"), at),
    "apply_fill": lambda order, at: order.apply_fill(D("0.1"), D("42000.00"), D("0"), at),
    "amend": lambda order, at: order.amend(at, quantity=D("0.7")),
    "cancel": lambda order, at: order.cancel("user", at),
    "reject": lambda order, at: order.reject("venue", at),
}


@pytest.mark.parametrize("at", [NAIVE, PARIS, "2024-01-02T09:30:01Z", None])
@pytest.mark.parametrize("name", sorted(MUTATORS))
def test_every_order_mutator_refuses_a_non_utc_timestamp_and_changes_nothing(
    order: Order, name: str, at: object
) -> None:
    if name != "submit":
        order.submit(T0)
    before = snapshot(order)

    with pytest.raises(ValidationError) as caught:
        MUTATORS[name](order, at)  # type: ignore[arg-type]

    assert caught.value.field == "at"
    assert snapshot(order) == before


@pytest.mark.parametrize("name", sorted(MUTATORS))
def test_every_order_mutator_accepts_a_utc_timestamp(order: Order, name: str) -> None:
    if name != "submit":
        order.submit(T0)

    MUTATORS[name](order, T1)

    assert order.updated_at == T1


def test_amend_stores_normalized_decimals_not_the_raw_arguments(submitted: Order) -> None:
    submitted.amend(T1, quantity="0.7", price=42001)  # type: ignore[arg-type]

    assert type(submitted.quantity) is Decimal
    assert submitted.quantity == D("0.7")
    assert type(submitted.price) is Decimal
    assert submitted.price == D("42001")
    assert submitted.leaves_quantity == D("0.7")


def test_amend_stores_a_normalized_stop_price(instrument: Instrument) -> None:
    order = make_order(
        PortfolioId.new(), instrument, order_type=OrderType.STOP, price=None, stop_price="40000"
    )

    order.amend(T1, stop_price="39000.50")  # type: ignore[arg-type]

    assert order.stop_price == D("39000.50")
    assert type(order.stop_price) is Decimal


@pytest.mark.parametrize(
    ("field", "value", "rule"),
    [
        ("quantity", 0.7, "must be a Decimal, int or numeric string, not float"),
        ("quantity", "lots", "must be a number"),
        ("quantity", "1E+999999999", "must be between 1e-40 and 1e40 in magnitude"),
        ("price", float("nan"), "must be a Decimal, int or numeric string, not float"),
        ("price", "NaN", "must be finite"),
        ("stop_price", True, "must be a number, not a boolean"),
    ],
)
def test_amend_refuses_values_that_are_not_bounded_decimals_and_changes_nothing(
    submitted: Order, field: str, value: object, rule: str
) -> None:
    before = snapshot(submitted)

    with pytest.raises(ValidationError) as caught:
        submitted.amend(T1, **{field: value})  # type: ignore[arg-type]

    assert (caught.value.field, caught.value.rule) == (field, rule)
    assert snapshot(submitted) == before


def test_apply_fill_converts_numeric_text_and_ints_to_decimals(submitted: Order) -> None:
    status = submitted.apply_fill("0.5", 42000, "0.42", T1)  # type: ignore[arg-type]

    assert status is OrderStatus.FILLED
    assert type(submitted.filled_quantity) is Decimal
    assert submitted.filled_quantity == D("0.5")
    assert type(submitted.average_fill_price) is Decimal
    assert submitted.average_fill_price == D("42000")
    assert type(submitted.commission) is Decimal
    assert submitted.commission == D("0.42")


@pytest.mark.parametrize(
    ("argument", "value", "rule"),
    [
        ("quantity", 0.1, "must be a Decimal, int or numeric string, not float"),
        ("quantity", "a lot", "must be a number"),
        ("price", 42000.0, "must be a Decimal, int or numeric string, not float"),
        ("price", "Infinity", "must be finite"),
        ("price", "1E+999999999", "must be between 1e-40 and 1e40 in magnitude"),
        ("commission", "free", "must be a number"),
        ("commission", None, "must be a number"),
    ],
)
def test_apply_fill_refuses_floats_and_junk_with_a_validation_error(
    submitted: Order, argument: str, value: object, rule: str
) -> None:
    fill = {"quantity": D("0.1"), "price": D("42000.00"), "commission": D("0")}
    fill[argument] = value  # type: ignore[assignment]
    before = snapshot(submitted)

    with pytest.raises(ValidationError) as caught:
        submitted.apply_fill(at=T1, **fill)

    assert (caught.value.field, caught.value.rule) == (f"fill.{argument}", rule)
    assert snapshot(submitted) == before


def test_filled_quantity_and_commission_are_summed_exactly_beyond_28_digits(
    instrument: Instrument,
) -> None:
    quantity = D("100000000000000000000.000000000001")  # 33 digits
    order = make_order(PortfolioId.new(), instrument, quantity=quantity)
    order.submit(T0)

    first = order.apply_fill(D("100000000000000000000"), D("1"), D("1E+20"), T1)
    second = order.apply_fill(D("0.000000000001"), D("1"), D("1E-12"), T2)

    assert (first, second) == (OrderStatus.PARTIAL, OrderStatus.FILLED)
    assert order.filled_quantity == quantity
    assert order.commission == D("100000000000000000000.000000000001")


def test_average_fill_price_does_not_accumulate_rounding_over_many_fills(
    instrument: Instrument,
) -> None:
    prices = [D("42000.01"), D("42000.02"), D("41999.97")] * 20
    order = make_order(PortfolioId.new(), instrument, quantity=D("0.1") * len(prices))
    order.submit(T0)

    for n, price in enumerate(prices, start=1):
        order.apply_fill(D("0.1"), price, D("0"), T0 + timedelta(seconds=n))

    with localcontext() as ctx:
        ctx.prec = 100
        exact = sum(prices, D(0)) / len(prices)
        assert exact == D("42000")
        assert abs(order.average_fill_price - exact) <= exact * D("1e-50")  # type: ignore[operator]


@pytest.mark.parametrize("venue_id", ["V-7", VenueOrderId("V-7")])
def test_submit_and_acknowledge_store_a_typed_venue_order_id(order: Order, venue_id: str) -> None:
    order.submit(T1, venue_id)  # type: ignore[arg-type]
    assert type(order.exchange_order_id) is VenueOrderId

    order.acknowledge(venue_id, T2)  # type: ignore[arg-type]
    assert type(order.exchange_order_id) is VenueOrderId
    assert order.exchange_order_id == "V-7"


@pytest.mark.parametrize("venue_id", ["", "has space", 42, "x" * 129])
def test_a_junk_venue_order_id_is_refused_naming_the_field(order: Order, venue_id: object) -> None:
    before = snapshot(order)
    with pytest.raises(ValidationError) as caught:
        order.submit(T1, venue_id)  # type: ignore[arg-type]
    assert caught.value.field == "exchange_order_id"
    assert snapshot(order) == before

    order.submit(T1)
    before = snapshot(order)
    with pytest.raises(ValidationError) as caught:
        order.acknowledge(venue_id, T2)  # type: ignore[arg-type]
    assert caught.value.field == "exchange_order_id"
    assert snapshot(order) == before


@pytest.mark.parametrize("name", ["cancel", "reject"])
def test_cancel_and_reject_reasons_must_be_text(submitted: Order, name: str) -> None:
    before = snapshot(submitted)

    with pytest.raises(ValidationError) as caught:
        getattr(submitted, name)(None, T1)

    assert (caught.value.field, caught.value.rule) == ("reason", "must be a string")
    assert snapshot(submitted) == before


# -- apply_trade ---------------------------------------------------------------------------


def test_apply_trade_applies_the_execution_through_the_order(submitted: Order) -> None:
    trade = make_trade(submitted, quantity=D("0.2"), execution_price=D("41999.50"), executed_at=T1)

    status = submitted.apply_trade(trade)

    assert status is OrderStatus.PARTIAL
    assert submitted.filled_quantity == D("0.2")
    assert submitted.average_fill_price == D("41999.50")
    assert submitted.commission == trade.commission == D("0.42")
    assert submitted.updated_at == T1


def test_apply_trade_of_the_rest_fills_the_order(submitted: Order) -> None:
    submitted.apply_trade(make_trade(submitted, quantity=D("0.2"), executed_at=T1))

    status = submitted.apply_trade(make_trade(submitted, quantity=D("0.3"), executed_at=T2))

    assert status is OrderStatus.FILLED
    assert submitted.filled_at == T2
    assert submitted.commission == D("0.84")


@pytest.mark.parametrize(
    ("field", "change", "rule"),
    [
        (
            "order_id",
            lambda order: {"order_id": OrderId.new()},
            lambda order: f"must be {order.id}, the id of its order",
        ),
        (
            "instrument_id",
            lambda order: {"instrument_id": InstrumentId.of("SIM", "ETH/USD")},
            lambda order: f"must be {order.instrument_id} like its order",
        ),
        (
            "side",
            lambda order: {"side": OrderSide.SELL},
            lambda order: "must be BUY like its order",
        ),
    ],
)
def test_apply_trade_refuses_an_execution_of_another_order_and_changes_nothing(
    submitted: Order,
    field: str,
    change: Callable[[Order], dict[str, object]],
    rule: Callable[[Order], str],
) -> None:
    trade = make_trade(submitted, quantity=D("0.1"), executed_at=T1, **change(submitted))
    before = snapshot(submitted)

    with pytest.raises(ValidationError) as caught:
        submitted.apply_trade(trade)

    assert caught.value.field == f"trade.{field}"
    assert caught.value.rule == rule(submitted)
    assert snapshot(submitted) == before


def test_apply_trade_side_message_names_the_order_side(submitted: Order) -> None:
    with pytest.raises(ValidationError) as caught:
        submitted.apply_trade(make_trade(submitted, side=OrderSide.SELL))

    assert str(caught.value) == "trade.side: must be BUY like its order"


def test_apply_trade_refuses_what_is_not_a_trade(submitted: Order) -> None:
    with pytest.raises(ValidationError) as caught:
        submitted.apply_trade({"quantity": D("0.1")})  # type: ignore[arg-type]

    assert (caught.value.field, caught.value.rule) == ("trade", "must be a Trade")


def test_apply_trade_beyond_the_order_quantity_is_refused(submitted: Order) -> None:
    before = snapshot(submitted)

    with pytest.raises(ValidationError) as caught:
        submitted.apply_trade(make_trade(submitted, quantity=D("0.6")))

    assert caught.value.field == "fill.quantity"
    assert snapshot(submitted) == before


def test_apply_trade_to_a_pending_order_is_an_illegal_transition(order: Order) -> None:
    with pytest.raises(IllegalTransition):
        order.apply_trade(make_trade(order, quantity=D("0.1")))

    assert order.status is OrderStatus.PENDING
