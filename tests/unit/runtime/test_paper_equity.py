"""The paper Sharpe is over daily returns, annualized over 365.25 days, and not available
(None, with the reason) below ``SHARPE_MIN_RETURNS`` of them: minutes of paper trading
give no Sharpe rather than an absurd one."""

from __future__ import annotations

import math
from collections import OrderedDict
from decimal import Decimal
from itertools import pairwise

from omoitrade.portfolio.analytics import sharpe_ratio
from omoitrade.runtime.paper_equity import (
    DAY_NS,
    DAYS_PER_YEAR,
    SHARPE_MIN_RETURNS,
    PaperEquity,
    daily_closes,
)

SECOND = 1_000_000_000
MINUTE, HOUR = 60 * SECOND, 3_600 * SECOND
T0 = 1_704_189_600 * SECOND  # 2024-01-02 10:00 UTC
CAPITAL = Decimal(100_000)


def curve(step_ns: int, values: list[Decimal], start: int = T0) -> PaperEquity:
    equity = PaperEquity(CAPITAL, step_ns)
    for n, value in enumerate(values):
        equity.add(start + n * step_ns, value)
    return equity


def wave(count: int) -> list[Decimal]:
    """Equity that rises unevenly: each step up 1 to 7."""
    values, level = [], CAPITAL
    for n in range(count):
        level += 1 + (n * 5) % 7
        values.append(level)
    return values


def test_minutes_of_paper_trading_have_no_sharpe_where_minute_returns_gave_an_absurd_one() -> None:
    equity = curve(MINUTE, wave(10))
    minute_returns = [float(b / a - 1) for (_, a), (_, b) in pairwise(equity.points)]
    absurd = sharpe_ratio(minute_returns, DAYS_PER_YEAR * 1_440)  # what minutes annualize to
    assert absurd is not None and absurd > 100

    figures = equity.metrics()
    assert figures["sharpe"] is None
    assert figures["sharpe_daily_returns"] == 1  # ten minutes of one day
    assert figures["sharpe_unavailable"] == "1 daily return, at least 10 needed"
    assert figures["max_drawdown"] == 0.0 and figures["paper_days"] == round(9 / 1_440, 4)


def test_the_sharpe_is_over_the_daily_closes_annualized_over_365_25_days() -> None:
    values = [CAPITAL + Decimal(n % 11) * 40 - Decimal(n % 5) * 25 + n for n in range(24 * 14)]
    equity = curve(HOUR, values)  # two weeks, an hour a point, from 10:00 on the first day
    closes: OrderedDict[int, Decimal] = OrderedDict()
    for at, value in equity.points:
        closes[at // DAY_NS] = value  # the day's last point
    series = [equity.points[0][1], *closes.values()]
    daily = [float(b / a - 1) for a, b in pairwise(series)]
    expected = sharpe_ratio(daily, 365.25)
    assert expected is not None and math.isfinite(expected)

    figures = equity.metrics()
    assert figures["sharpe_daily_returns"] == len(daily) == 15  # 14 days over 15 dates
    assert figures["sharpe"] == round(expected, 4)
    assert "sharpe_unavailable" not in figures


def test_the_minimum_number_of_daily_returns() -> None:
    def days(count: int) -> PaperEquity:  # a point at each noon: ``count`` daily returns
        return curve(DAY_NS, wave(count + 1), start=T0 + 2 * HOUR)

    short = days(SHARPE_MIN_RETURNS - 1).metrics()
    assert short["sharpe"] is None and short["sharpe_daily_returns"] == SHARPE_MIN_RETURNS - 1
    assert short["sharpe_unavailable"] == "9 daily returns, at least 10 needed"
    enough = days(SHARPE_MIN_RETURNS).metrics()
    assert isinstance(enough["sharpe"], float) and "sharpe_unavailable" not in enough
    assert enough["sharpe_daily_returns"] == SHARPE_MIN_RETURNS


def test_flat_equity_has_no_sharpe_and_says_why() -> None:
    flat = curve(DAY_NS, [CAPITAL] * 20).metrics()
    assert flat["sharpe"] is None
    assert flat["sharpe_unavailable"] == "the daily returns do not vary"


def test_a_day_without_a_point_has_no_close_its_move_is_in_the_next() -> None:
    points = [
        (T0, Decimal(100)),  # day 1, 10:00: the first point
        (T0 + HOUR, Decimal(101)),  # day 1's close
        (T0 + 2 * DAY_NS, Decimal(103)),  # day 3 (day 2: the process was down)
        (T0 + 2 * DAY_NS + HOUR, Decimal(104)),  # day 3's close
    ]
    assert daily_closes(points) == [points[0], points[1], points[3]]
    assert daily_closes(points[:1]) == points[:1]  # no return yet
    assert daily_closes([]) == []


def test_equity_that_ends_at_or_below_zero_has_no_sharpe() -> None:
    values = [*wave(11), Decimal(-5_000)]  # eleven days up, then the equity is gone
    fallen = curve(DAY_NS, values, start=T0 + 2 * HOUR).metrics()
    assert fallen["sharpe_daily_returns"] == 11
    assert fallen["sharpe"] is None
    assert fallen["sharpe_unavailable"] == "the equity fell to zero or below"
    at_zero = curve(DAY_NS, [*wave(11), Decimal(0)], start=T0 + 2 * HOUR).metrics()
    assert at_zero["sharpe"] is None
    assert at_zero["sharpe_unavailable"] == "the equity fell to zero or below"
