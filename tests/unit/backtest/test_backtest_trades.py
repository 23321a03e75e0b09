"""Round trips: FIFO matching of fills, partial exits, reversals, fee shares, MAE/MFE."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal as D
from decimal import localcontext

import pytest
from backtest_builders import BTC, DAY, ETH, T0, FillMaker, make_bar
from hypothesis import given, settings
from hypothesis import strategies as st

from omoitrade.backtest.trades import BarArrays, RoundTrip, round_trips
from omoitrade.core.errors import ValidationError
from omoitrade.model import OrderId, OrderSide, PositionSide, Trade, TradeId, VenueTradeId
from omoitrade.model.money import EXACT


def test_a_long_round_trip_nets_both_commissions(fill: FillMaker) -> None:
    fills = [
        fill("BUY", 10, "100", T0, commission="1.00"),
        fill("SELL", 10, "110", T0 + 2 * DAY, commission="1.10"),
    ]
    (trip,) = round_trips(fills, symbols={BTC: "BTC/USD"})
    assert trip.symbol == "BTC/USD"
    assert trip.direction is PositionSide.LONG
    assert (trip.entry_time, trip.exit_time, trip.duration) == (T0, T0 + 2 * DAY, 2 * DAY)
    assert (trip.entry_price, trip.exit_price, trip.quantity) == (D(100), D(110), D(10))
    assert trip.gross_pnl == D(100)
    assert (trip.entry_fees, trip.exit_fees, trip.fees) == (D("1.00"), D("1.10"), D("2.10"))
    assert trip.pnl == D("97.90")
    assert trip.return_pct == D("9.79")  # 97.90 / (10 * 100)
    assert trip.is_win and not trip.is_open
    assert trip.entry_order_ids == (fills[0].order_id,)
    assert trip.exit_order_ids == (fills[1].order_id,)


def test_a_short_round_trip_gains_when_the_price_falls(fill: FillMaker) -> None:
    fills = [
        fill("SELL", 5, "200", T0, commission="0.50"),
        fill("BUY", 5, "180", T0 + DAY, commission="0.50"),
    ]
    (trip,) = round_trips(fills)
    assert trip.direction is PositionSide.SHORT
    assert trip.symbol == str(BTC)  # no symbol given: the id's text
    assert (trip.gross_pnl, trip.fees, trip.pnl) == (D(100), D("1.00"), D("99.00"))
    assert trip.return_pct == D("9.9")


def test_scaling_in_makes_one_trip_at_the_average_entry(fill: FillMaker) -> None:
    fills = [
        fill("BUY", 10, "100", T0, commission="1"),
        fill("BUY", 10, "110", T0 + DAY, commission="1"),
        fill("SELL", 20, "120", T0 + 2 * DAY, commission="2"),
    ]
    (trip,) = round_trips(fills)
    assert (trip.quantity, trip.entry_price, trip.exit_price) == (D(20), D(105), D(120))
    assert trip.entry_time == T0
    assert (trip.gross_pnl, trip.fees, trip.pnl) == (D(300), D(4), D(296))
    assert trip.entry_order_ids == (fills[0].order_id, fills[1].order_id)


def test_a_partial_exit_is_its_own_trip_with_its_share_of_the_entry_fee(
    fill: FillMaker,
) -> None:
    fills = [
        fill("BUY", 10, "100", T0, commission="1.00"),
        fill("SELL", 4, "110", T0 + DAY, commission="0.44"),
        fill("SELL", 6, "90", T0 + 2 * DAY, commission="0.54"),
    ]
    first, second = round_trips(fills)
    assert (first.quantity, first.entry_price, first.exit_price) == (D(4), D(100), D(110))
    assert (first.entry_fees, first.exit_fees) == (D("0.4"), D("0.44"))
    assert first.pnl == D("39.16")
    assert (second.quantity, second.exit_price, second.entry_time) == (D(6), D(90), T0)
    assert (second.entry_fees, second.exit_fees) == (D("0.6"), D("0.54"))
    assert second.pnl == D("-61.14")
    assert first.fees + second.fees == D("1.98")  # every commission, once


def test_exits_take_the_entry_lots_first_in_first_out(fill: FillMaker) -> None:
    fills = [
        fill("BUY", 10, "100", T0, commission="1"),
        fill("BUY", 10, "120", T0 + DAY, commission="3"),
        fill("SELL", 15, "130", T0 + 2 * DAY, commission="1.5"),
        fill("SELL", 5, "110", T0 + 3 * DAY, commission="0.5"),
    ]
    first, second = round_trips(fills)
    # 10 @ 100 (fee 1) and 5 of the 10 @ 120 (fee 1.5): 1600 of entry notional
    assert first.entry_time == T0
    assert first.entry_price == D(1600) / D(15)
    assert (first.gross_pnl, first.entry_fees, first.pnl) == (D(350), D("2.5"), D(346))
    assert (second.entry_time, second.entry_price) == (T0 + DAY, D(120))
    assert (second.gross_pnl, second.entry_fees, second.pnl) == (D(-50), D("1.5"), D(-52))


def test_the_fills_of_one_closing_order_make_one_trip(fill: FillMaker) -> None:
    fills = [
        fill("BUY", 10, "100", T0),
        fill("SELL", 6, "110", T0 + DAY, order=7),
        fill("SELL", 4, "105", T0 + DAY + timedelta(minutes=1), order=7),
    ]
    (trip,) = round_trips(fills)
    assert trip.quantity == D(10)
    assert trip.exit_price == D(108)  # (660 + 420) / 10
    assert trip.exit_time == T0 + DAY + timedelta(minutes=1)
    assert trip.exit_order_ids == (fills[1].order_id,)


def test_a_reversal_closes_the_trip_and_opens_the_other_side(fill: FillMaker) -> None:
    fills = [
        fill("BUY", 10, "100", T0, commission="1"),
        fill("SELL", 15, "110", T0 + DAY, commission="1.5"),
        fill("BUY", 5, "105", T0 + 2 * DAY, commission="0.5"),
    ]
    long, short = round_trips(fills)
    assert (long.direction, long.quantity, long.exit_fees) == (PositionSide.LONG, D(10), D(1))
    assert long.pnl == D(98)  # 100 - 1 - 1
    assert (short.direction, short.quantity) == (PositionSide.SHORT, D(5))
    assert (short.entry_time, short.entry_price, short.entry_fees) == (
        T0 + DAY,
        D(110),
        D("0.5"),
    )
    assert (short.gross_pnl, short.pnl) == (D(25), D(24))


def test_fee_shares_that_do_not_divide_evenly_still_add_up(fill: FillMaker) -> None:
    fills = [fill("BUY", 3, "100", T0, commission="1")] + [
        fill("SELL", 1, "100", T0 + k * DAY) for k in (1, 2, 3)
    ]
    trips = round_trips(fills)
    assert len(trips) == 3
    assert sum(t.entry_fees for t in trips) == D(1)
    assert trips[0].entry_fees == D(1) / D(3)


def test_excursions_come_from_the_bars_the_trip_was_open_in(fill: FillMaker) -> None:
    bars = [
        make_bar(T0, 300, 10),  # ends when the trip starts: not counted
        make_bar(T0 + DAY, 103, 98),
        make_bar(T0 + 2 * DAY, 108, 99),
        make_bar(T0 + 3 * DAY, 106, 97),
        make_bar(T0 + 4 * DAY, 200, 50),  # starts when the trip ends: not counted
    ]
    long_fills = [fill("BUY", 1, "100", T0 + DAY), fill("SELL", 1, "104", T0 + 4 * DAY)]
    (trip,) = round_trips(long_fills, {BTC: bars})
    assert (trip.mfe, trip.mae, trip.bars_held) == (D(8), D(3), 3)
    assert (trip.mfe_pct, trip.mae_pct) == (D(8), D(3))

    short_fills = [fill("SELL", 1, "100", T0 + DAY), fill("BUY", 1, "104", T0 + 4 * DAY)]
    (trip,) = round_trips(short_fills, {BTC: BarArrays.of(bars)})
    assert (trip.mfe, trip.mae) == (D(3), D(8))


def test_without_bars_the_excursions_come_from_the_fill_prices(fill: FillMaker) -> None:
    (trip,) = round_trips([fill("BUY", 1, "100", T0), fill("SELL", 1, "90", T0 + DAY)])
    assert (trip.mfe, trip.mae, trip.bars_held) == (D(0), D(10), 0)


def test_an_open_position_is_left_out_unless_asked_for(fill: FillMaker) -> None:
    bars = [make_bar(T0 + k * DAY, 110 + k, 100, close=105 + k) for k in range(3)]
    fills = [fill("BUY", 2, "100", T0, commission="1")]
    assert round_trips(fills, {BTC: bars}) == []
    (trip,) = round_trips(fills, {BTC: bars}, include_open=True)
    assert trip.is_open
    assert (trip.exit_price, trip.exit_time) == (D(107), T0 + 3 * DAY)  # the last close
    assert (trip.exit_fees, trip.pnl, trip.exit_order_ids) == (D(0), D(13), ())
    assert trip.bars_held == 3


def test_instruments_are_matched_apart_and_trips_ordered_by_exit(fill: FillMaker) -> None:
    fills = [
        fill("BUY", 1, "100", T0, instrument=BTC),
        fill("BUY", 1, "10", T0, instrument=ETH),
        fill("SELL", 1, "12", T0 + DAY, instrument=ETH),
        fill("SELL", 1, "101", T0 + 2 * DAY, instrument=BTC),
    ]
    trips = round_trips(fills, symbols={BTC: "BTC/USD", ETH: "ETH/USD"})
    assert [(t.symbol, t.pnl) for t in trips] == [("ETH/USD", D(2)), ("BTC/USD", D(1))]


def test_fills_are_taken_in_time_order(fill: FillMaker) -> None:
    buy = fill("BUY", 1, "100", T0)
    sell = fill("SELL", 1, "110", T0 + DAY)
    assert round_trips([sell, buy]) == round_trips([buy, sell])


def test_bars_out_of_order_are_refused() -> None:
    with pytest.raises(ValidationError, match="bars"):
        BarArrays.of([make_bar(T0 + DAY, 2, 1), make_bar(T0, 2, 1)])


_steps = st.lists(
    st.tuples(
        st.sampled_from(["BUY", "SELL"]),
        st.integers(1, 9),
        st.integers(90, 110),
        st.integers(0, 7),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=150, deadline=None)
@given(_steps)
def test_the_trips_add_up_to_the_cash_of_a_run_that_ends_flat(
    steps: list[tuple[str, int, int, int]],
) -> None:
    """Gross P&L and fees of all the trips are exactly those of the fills, position flat."""
    fills: list[Trade] = []
    position = 0
    for k, (side, quantity, price, fee) in enumerate(steps):
        fills.append(_fill(k, side, quantity, price, fee))
        position += quantity if side == "BUY" else -quantity
    if position:
        side = "SELL" if position > 0 else "BUY"
        fills.append(_fill(len(steps), side, abs(position), 100, 1))
    trips = round_trips(fills)
    with localcontext(EXACT):  # shares are divided to 28 digits: add them up exactly
        _assert_adds_up(fills, trips)
    assert all(t.quantity > 0 and t.exit_time >= t.entry_time for t in trips)


def _assert_adds_up(fills: list[Trade], trips: list[RoundTrip]) -> None:
    cash = sum((f.notional if f.side is OrderSide.SELL else -f.notional for f in fills), D(0))
    fees = sum((f.commission for f in fills), D(0))
    assert sum((t.gross_pnl for t in trips), D(0)) == cash
    assert sum((t.fees for t in trips), D(0)) == fees
    assert sum((t.pnl for t in trips), D(0)) == cash - fees


def _fill(k: int, side: str, quantity: int, price: int, fee: int) -> Trade:
    return Trade(
        TradeId(int=k + 1),
        OrderId(int=k + 1),
        BTC,
        OrderSide(side),
        D(price),
        D(quantity),
        VenueTradeId(f"t{k}"),
        T0 + k * timedelta(hours=1),
        D(fee) / 10,
    )
