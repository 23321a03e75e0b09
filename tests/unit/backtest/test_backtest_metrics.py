"""Metrics of the equity curve and of the round trips, on hand-computed examples."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import numpy as np
import pytest
from backtest_builders import DAY, T0, FillMaker, make_bar, make_trip

from omoitrade.backtest.metrics import (
    EquityCurve,
    EquityPoint,
    bars_per_year,
    compute_metrics,
    drawdown_curve,
    exposure_time_pct,
    monthly_returns,
)
from omoitrade.backtest.trades import timestamps_ns
from omoitrade.core.errors import ValidationError
from omoitrade.model import Timeframe


def curve_of(
    values: list[str | int], exposure: list[int] | None = None, step: timedelta = DAY
) -> EquityCurve:
    n = len(values)
    return EquityCurve(
        tuple(T0 + k * step for k in range(n)),
        tuple(D(v) for v in values),
        tuple(D(v) for v in values),
        tuple(D(e) for e in (exposure or [0] * n)),
    )


CURVE = curve_of([100, 110, 99, 121, 120], exposure=[0, 50, 50, 0, 0])
RETURNS = np.array([0.1, -0.1, 22 / 99, -1 / 121])


def test_the_equity_metrics_of_a_small_curve() -> None:
    m = compute_metrics(CURVE, [], None, 252.0, D(100))
    assert (m.start, m.end, m.duration, m.bars) == (T0, T0 + 4 * DAY, 4 * DAY, 5)
    assert (m.initial_cash, m.final_equity, m.peak_equity) == (D(100), D(120), D(121))
    assert m.total_return_pct == D(20)
    deviation = float(np.std(RETURNS, ddof=1))
    assert m.volatility_pct == pytest.approx(deviation * math.sqrt(252) * 100)
    assert m.sharpe == pytest.approx(float(np.mean(RETURNS)) / deviation * math.sqrt(252))
    downside = math.sqrt(float(np.mean(np.minimum(RETURNS, 0) ** 2)))
    assert m.sortino == pytest.approx(float(np.mean(RETURNS)) / downside * math.sqrt(252))
    cagr = (1.2 ** (365.25 / 4) - 1) * 100
    assert m.cagr_pct == pytest.approx(cagr)
    # deepest: 110 -> 99 (10%); longest under a peak: 110 from day 1 until day 3
    assert (m.max_drawdown_pct, m.max_drawdown) == (D(10), D(11))
    assert (m.max_drawdown_peak_at, m.max_drawdown_trough_at) == (T0 + DAY, T0 + 2 * DAY)
    assert m.max_drawdown_duration == 2 * DAY
    assert m.calmar == pytest.approx(cagr / 10)
    assert m.exposure_time_pct == pytest.approx(40.0)  # 2 of 5 bars with a position
    assert m.average_exposure_pct == pytest.approx((50 / 110 + 50 / 99) / 5 * 100)
    assert m.buy_and_hold_return_pct is None
    assert (m.periods_per_year, m.risk_free_rate) == (252.0, 0.0)


def test_a_risk_free_rate_lowers_the_sharpe_ratio() -> None:
    plain = compute_metrics(CURVE, [], periods_per_year=252.0)
    with_rate = compute_metrics(CURVE, [], periods_per_year=252.0, risk_free_rate=0.05)
    per_bar = 1.05 ** (1 / 252) - 1
    deviation = float(np.std(RETURNS, ddof=1))
    expected = float(np.mean(RETURNS - per_bar)) / deviation * math.sqrt(252)
    assert with_rate.sharpe == pytest.approx(expected)
    assert plain.sharpe is not None and with_rate.sharpe < plain.sharpe


def test_the_trade_metrics_of_four_trips() -> None:
    trips = [
        make_trip(pnl=D(10), return_pct=D(1), duration=DAY),
        make_trip(pnl=D(-5), return_pct=D("-0.5"), duration=2 * DAY),
        make_trip(pnl=D(20), return_pct=D(2), duration=3 * DAY),
        make_trip(pnl=D(-5), return_pct=D("-0.5"), duration=6 * DAY),
    ]
    m = compute_metrics(CURVE, trips, periods_per_year=252.0)
    assert m.trades == 4
    assert m.win_rate_pct == D(50)
    assert (m.gross_profit, m.gross_loss, m.profit_factor) == (D(30), D(10), D(3))
    assert (m.expectancy, m.expectancy_pct) == (D(5), D("0.5"))
    assert (m.best_trade_pct, m.worst_trade_pct) == (D(2), D("-0.5"))
    assert (m.best_trade_pnl, m.worst_trade_pnl) == (D(20), D(-5))
    # sqrt(4) * mean 5 / sample std sqrt(450 / 3)
    assert m.sqn == pytest.approx(2 * 5 / math.sqrt(150))
    geometric = (1.01 * 0.995 * 1.02 * 0.995) ** 0.25 - 1
    assert m.avg_trade_pct == pytest.approx(geometric * 100)
    assert (m.avg_trade_duration, m.max_trade_duration) == (3 * DAY, 6 * DAY)
    assert m.total_fees == D(0)


def test_no_trades() -> None:
    m = compute_metrics(CURVE, [], periods_per_year=252.0)
    assert m.trades == 0
    assert (m.gross_profit, m.gross_loss, m.profit_factor) == (D(0), D(0), None)
    for name in (
        "win_rate_pct",
        "best_trade_pct",
        "worst_trade_pct",
        "avg_trade_pct",
        "expectancy",
        "expectancy_pct",
        "sqn",
        "avg_trade_duration",
        "max_trade_duration",
    ):
        assert getattr(m, name) is None, name


def test_one_winning_trade() -> None:
    m = compute_metrics(CURVE, [make_trip()], periods_per_year=252.0)
    assert (m.trades, m.win_rate_pct, m.expectancy) == (1, D(100), D(10))
    assert m.sqn is None  # no deviation from one trade
    assert m.profit_factor == D("Infinity")  # wins and no losses


def test_all_losses_have_a_profit_factor_of_zero() -> None:
    trips = [make_trip(pnl=D(-1), return_pct=D(-1)), make_trip(pnl=D(-3), return_pct=D(-3))]
    m = compute_metrics(CURVE, trips, periods_per_year=252.0)
    assert (m.win_rate_pct, m.profit_factor, m.gross_loss) == (D(0), D(0), D(4))


def test_a_trade_that_lost_everything_has_no_geometric_mean() -> None:
    trips = [make_trip(pnl=D(-100), return_pct=D(-100)), make_trip()]
    assert compute_metrics(CURVE, trips, periods_per_year=252.0).avg_trade_pct is None


def test_flat_equity() -> None:
    m = compute_metrics(curve_of([100, 100, 100]), [], periods_per_year=252.0)
    assert (m.total_return_pct, m.max_drawdown_pct, m.max_drawdown) == (D(0), D(0), D(0))
    assert m.max_drawdown_duration == timedelta(0)
    assert (m.sharpe, m.sortino, m.calmar) == (None, None, None)
    assert (m.volatility_pct, m.cagr_pct) == (0.0, 0.0)
    assert m.exposure_time_pct == 0.0


def test_a_single_point() -> None:
    m = compute_metrics(curve_of([100]), [], periods_per_year=252.0)
    assert (m.bars, m.duration, m.cagr_pct) == (1, timedelta(0), None)
    assert (m.volatility_pct, m.sharpe, m.sortino) == (None, None, None)


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(ValidationError, match="equity_curve"):
        compute_metrics(curve_of([]), [], periods_per_year=252.0)
    with pytest.raises(ValidationError, match="initial_cash"):
        compute_metrics(CURVE, [], periods_per_year=252.0, initial_cash=D(0))
    with pytest.raises(ValidationError, match="periods_per_year"):
        compute_metrics(CURVE, [], periods_per_year=0.0)
    with pytest.raises(ValidationError, match="timestamps"):
        EquityCurve((T0, T0), (D(1), D(1)), (D(1), D(1)), (D(0), D(0)))
    with pytest.raises(ValidationError, match="cash"):
        EquityCurve((T0,), (D(1),), (), (D(0),))


def test_buy_and_hold_and_fees_from_the_fills(fill: FillMaker) -> None:
    bars = [make_bar(T0, 110, 90, close=100), make_bar(T0 + DAY, 130, 100, close=125)]
    fills = [fill("BUY", 1, "100", T0, commission="0.25")]
    m = compute_metrics(CURVE, [], bars, 252.0, fills=fills)
    assert m.buy_and_hold_return_pct == D(25)
    assert m.total_fees == D("0.25")
    fees_of_trips = compute_metrics(CURVE, [make_trip(fees=D("0.75"))], periods_per_year=252.0)
    assert fees_of_trips.total_fees == D("0.75")


def test_exposure_time_counts_the_bars_a_trip_was_entered_and_left_in() -> None:
    trip = make_trip(entry_time=T0 + 3 * DAY, exit_time=T0 + 4 * DAY)
    assert exposure_time_pct(CURVE, [trip]) == pytest.approx(80.0)  # days 1, 2, 3, 4
    assert exposure_time_pct(curve_of([]), []) == 0.0


def test_the_drawdown_curve() -> None:
    expected = [0.0, 0.0, 0.1, 0.0, 1 - 120 / 121]
    assert drawdown_curve(CURVE) == pytest.approx(expected)
    assert drawdown_curve(curve_of([])).size == 0


def test_monthly_returns_chain_from_month_end_to_month_end() -> None:
    stamps = [
        datetime(2024, 1, 15, tzinfo=UTC),
        datetime(2024, 1, 31, tzinfo=UTC),
        datetime(2024, 2, 10, tzinfo=UTC),
        datetime(2024, 2, 29, tzinfo=UTC),
        datetime(2024, 4, 1, tzinfo=UTC),
    ]
    values = [D(100), D(105), D(90), D(84), D(126)]
    curve = EquityCurve(stamps, values, values, [D(0)] * 5)
    months = monthly_returns(curve, D(100))
    assert [(m.year, m.month) for m in months] == [(2024, 1), (2024, 2), (2024, 4)]
    assert [m.return_pct for m in months] == pytest.approx([5.0, -20.0, 50.0])
    assert monthly_returns(curve_of([])) == []


def test_the_curve_from_points_and_back() -> None:
    points = list(CURVE.points())
    assert points[1] == EquityPoint(T0 + DAY, D(110), D(110), D(50))
    assert EquityCurve.of(points) == CURVE
    assert len(CURVE) == 5
    assert CURVE.times_ns[1] - CURVE.times_ns[0] == 86_400 * 10**9


def _days(start: datetime, count: int, step: timedelta = DAY) -> np.ndarray:
    return timestamps_ns(start + k * step for k in range(count))


def test_bars_per_year_by_calendar_and_bar_length() -> None:
    weekdays = [T0 + k * DAY for k in range(70) if (T0 + k * DAY).weekday() < 5]
    assert bars_per_year(timestamps_ns(weekdays)) == 252.0  # a stock's trading days
    assert bars_per_year(_days(T0, 70)) == 365.0  # crypto trades every day
    assert bars_per_year(_days(T0, 20, 7 * DAY)) == pytest.approx(365.25 / 7)
    assert bars_per_year(_days(T0, 500, timedelta(hours=1))) == pytest.approx(8766.0)
    session = [
        T0 + d * DAY + timedelta(hours=14, minutes=30 + m)
        for d in range(5)  # Monday to Friday
        for m in range(390)
    ]
    assert bars_per_year(timestamps_ns(session)) == 390 * 252  # bars per session
    assert bars_per_year(_days(T0, 3), Timeframe.D1) == 252.0  # Monday to Wednesday
    assert bars_per_year(_days(T0, 1)) == 252.0  # nothing to measure
