"""The value types of the execution algorithms: ids, parents, schedules, profiles, pricing."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal as D
from fractions import Fraction

import pytest

from omoitrade.core.errors import IllegalTransition, ValidationError
from omoitrade.execution.algos import (
    ALGO_LIFECYCLE,
    AlgoId,
    AlgoStatus,
    AlgoTrigger,
    ChildPricing,
    IcebergParams,
    ParentOrder,
    PovParams,
    PriceReference,
    Schedule,
    TwapParams,
    VolumeProfile,
    child_client_order_id,
    parent_of,
    volume_profile_from_bars,
)
from omoitrade.execution.algos.pricing import MARKET_PRICING, child_terms
from omoitrade.execution.algos.schedule import share_of
from omoitrade.model import Bar, OrderSide, OrderType, PortfolioId, Quote
from omoitrade.testing import factories as f

BTC = f.make_instrument()  # tick 0.01, lot 0.0001
QUOTE = Quote(BTC.id, f.T0, D("41990.00"), D("42010.00"), D("1"), D("1"))


def test_child_ids_are_derived_from_the_parent_and_name_it() -> None:
    parent = AlgoId("twap-2024.01")
    child = child_client_order_id(parent, 7)
    assert child == "twap-2024.01:7"
    assert parent_of(child) == parent
    assert parent_of("manual-order") is None
    assert parent_of("x:y") is None
    with pytest.raises(ValidationError):
        AlgoId("no:colons")
    with pytest.raises(ValidationError):
        child_client_order_id(parent, 0)


def test_a_parent_order_checks_its_terms() -> None:
    def parent(**terms: object) -> ParentOrder:
        values: dict[str, object] = {
            "id": "p1",
            "portfolio_id": PortfolioId.new(),
            "instrument_id": BTC.id,
            "side": OrderSide.BUY,
            "quantity": D("1"),
        }
        return ParentOrder(**(values | terms))  # type: ignore[arg-type]

    assert parent().quantity == D("1")
    with pytest.raises(ValidationError, match="quantity"):
        parent(quantity=D("0"))
    with pytest.raises(ValidationError, match="quantity"):
        parent(quantity=1.5)
    with pytest.raises(ValidationError, match="end_ns"):
        parent(start_ns=10, end_ns=10)
    with pytest.raises(ValidationError, match="lot size"):
        parent(quantity=D("0.00001")).check_against(BTC)
    with pytest.raises(ValidationError, match="tick size"):
        parent(limit_price=D("42000.001")).check_against(BTC)


def test_the_lifecycle_allows_only_its_transitions() -> None:
    assert ALGO_LIFECYCLE.next_state(AlgoStatus.PENDING, AlgoTrigger.START) is AlgoStatus.WORKING
    assert ALGO_LIFECYCLE.next_state(AlgoStatus.STOPPING, AlgoTrigger.FAIL) is AlgoStatus.FAILED
    with pytest.raises(IllegalTransition):
        ALGO_LIFECYCLE.next_state(AlgoStatus.WORKING, AlgoTrigger.CANCEL)
    assert ALGO_LIFECYCLE.terminal == {
        AlgoStatus.COMPLETED,
        AlgoStatus.CANCELLED,
        AlgoStatus.FAILED,
        AlgoStatus.EXPIRED,
    }


def test_an_even_schedule_is_a_straight_line_and_exact() -> None:
    schedule = Schedule(0, 60)
    assert schedule.fraction_at(-5) == 0
    assert schedule.fraction_at(20) == Fraction(1, 3)
    assert schedule.fraction_at(60) == 1
    assert share_of(D("1.2"), schedule.fraction_at(20), BTC.lot_size) == D("0.4")
    assert share_of(D("1"), Fraction(1, 3), BTC.lot_size) == D("0.3333")


def test_a_weighted_schedule_follows_its_buckets_linearly_within_each() -> None:
    schedule = Schedule(0, 40, (D(1), D(2), D(3), D(4)))
    assert [schedule.fraction_at(t) for t in (10, 20, 30, 40)] == [
        Fraction(1, 10),
        Fraction(3, 10),
        Fraction(6, 10),
        1,
    ]
    assert schedule.fraction_at(15) == Fraction(2, 10)  # half of the second bucket
    with pytest.raises(ValidationError, match="weights"):
        Schedule(0, 40, (D(0), D(0)))
    with pytest.raises(ValidationError, match="weights"):
        Schedule(0, 40, (D(1), D(-1)))


def test_a_volume_profile_sums_bar_volumes_into_time_of_day_buckets() -> None:
    def bar(day: int, hour: int, minute: int, volume: str) -> Bar:
        moment = datetime(2024, 1, day, hour, minute, tzinfo=UTC)
        return f.make_bar(BTC, timestamp=moment, volume=D(volume))

    bars = [
        bar(2, 14, 0, "1"),
        bar(2, 14, 29, "2"),  # first half hour
        bar(2, 14, 30, "3"),
        bar(3, 14, 45, "4"),  # second half hour, another day
        bar(3, 15, 0, "100"),  # outside the window
        bar(3, 13, 59, "100"),
    ]
    profile = volume_profile_from_bars(
        bars,
        2,
        window_start=time(14, 0),
        window=timedelta(hours=1),
    )
    assert profile.weights == (D("0.3"), D("0.7"))
    night = volume_profile_from_bars(
        [bar(2, 23, 30, "1"), bar(3, 0, 30, "3")],
        2,
        window_start=time(23, 0),
        window=timedelta(hours=2),
    )
    assert night.weights == (D("0.25"), D("0.75"))
    with pytest.raises(ValidationError, match="no volume"):
        volume_profile_from_bars(
            [bar(2, 3, 0, "1")], 2, window_start=time(14), window=timedelta(hours=1)
        )
    assert VolumeProfile.uniform(4).weights == (D("0.25"),) * 4
    assert VolumeProfile.of([1, 3]).weights == (D("0.25"), D("0.75"))


@pytest.mark.parametrize(
    ("reference", "offset", "side", "price"),
    [
        (PriceReference.NEAR_TOUCH, 0, OrderSide.BUY, "41990.00"),
        (PriceReference.NEAR_TOUCH, 2, OrderSide.BUY, "41990.02"),
        (PriceReference.FAR_TOUCH, 0, OrderSide.BUY, "42010.00"),
        (PriceReference.NEAR_TOUCH, 1, OrderSide.SELL, "42009.99"),
        (PriceReference.FAR_TOUCH, -1, OrderSide.SELL, "41990.01"),
        (PriceReference.MID, 0, OrderSide.BUY, "42000.00"),
    ],
)
def test_children_are_priced_from_the_quote(
    reference: PriceReference, offset: int, side: OrderSide, price: str
) -> None:
    terms = child_terms(ChildPricing(reference, offset), BTC, side, QUOTE, None)
    assert terms == (OrderType.LIMIT, D(price))


def test_the_parent_limit_caps_children_and_replaces_market_orders() -> None:
    far = ChildPricing(PriceReference.FAR_TOUCH)
    assert child_terms(far, BTC, OrderSide.BUY, QUOTE, D("42000.00")) == (
        OrderType.LIMIT,
        D("42000.00"),
    )
    assert child_terms(far, BTC, OrderSide.SELL, QUOTE, D("42000.00")) == (
        OrderType.LIMIT,
        D("42000.00"),
    )
    assert child_terms(MARKET_PRICING, BTC, OrderSide.BUY, None, None) == (OrderType.MARKET, None)
    assert child_terms(MARKET_PRICING, BTC, OrderSide.BUY, None, D("1.00")) == (
        OrderType.LIMIT,
        D("1.00"),
    )
    assert child_terms(far, BTC, OrderSide.BUY, None, None) is None  # no quote, no price


def test_parameters_refuse_what_cannot_work() -> None:
    with pytest.raises(ValidationError, match="interval_ns"):
        TwapParams(interval_ns=0)
    with pytest.raises(ValidationError, match="rate"):
        PovParams(rate=D("1.5"))
    with pytest.raises(ValidationError, match="min_child"):
        PovParams(rate=D("0.1"), min_child=D("2"), max_child=D("1"))
    with pytest.raises(ValidationError, match="display_quantity"):
        IcebergParams(display_quantity=D("0"))
    with pytest.raises(ValidationError, match="retry_after_ns"):
        IcebergParams(display_quantity=D("1"), retry_after_ns=0)
