"""Backtest metrics: the equity curve, its drawdown and monthly returns, and the metrics of a
run's equity and round trips.

Definitions are in the docstrings of :class:`Metrics` and in ``docs/backtesting.md``
(with how they compare with backtesting.py's). Money and what is exact in Decimal stays
Decimal (equity, P&L, fees, trade percentages, total return, max drawdown); ratios that
need roots, logarithms or powers are floats. Curves are numpy arrays, computed once per
curve, so that a million-bar run is measured in seconds.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cached_property
from typing import Any, Protocol

import numpy as np

from omoitrade.backtest.trades import (
    DIVIDE,
    HUNDRED,
    FloatArray,
    IntArray,
    RoundTrip,
    timestamps_ns,
)
from omoitrade.core.errors import ValidationError
from omoitrade.model.enums import Timeframe
from omoitrade.model.market_data import Bar
from omoitrade.model.money import EXACT, ZERO
from omoitrade.model.timestamps import require_utc
from omoitrade.model.trades import Trade
from omoitrade.portfolio.analytics import (
    EquitySeries,
    max_drawdown,
    returns,
    sharpe_ratio,
    sortino_ratio,
)

_DAY_NS = 86_400 * 1_000_000_000
_YEAR_DAYS = 365.25
_TRADING_DAYS = 252
_WEEKEND_SHARE = 2 / 7 * 0.6  # more samples than this on Saturdays and Sundays: a 7-day week


# --- the equity curve -----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class EquityPoint:
    """The account at one bar close: equity (cash + positions' value), cash, and gross
    exposure (sum of the absolute notionals of the open positions)."""

    timestamp: datetime
    equity: Decimal
    cash: Decimal
    exposure: Decimal


class EquityLike(Protocol):
    """What :meth:`EquityCurve.of` reads of a sample (the runner's samples have it)."""

    @property
    def timestamp(self) -> datetime: ...
    @property
    def equity(self) -> Decimal: ...
    @property
    def cash(self) -> Decimal: ...
    @property
    def exposure(self) -> Decimal: ...


@dataclass(frozen=True)
class EquityCurve:
    """The account sampled at every bar close, as columns (UTC timestamps strictly
    increasing; Decimal equity, cash and gross exposure).

    Columns rather than one object per point: the runner appends four values per bar,
    and the metrics read numpy arrays made once (``times_ns``, ``equity_values``, ...).
    """

    timestamps: tuple[datetime, ...]
    equity: tuple[Decimal, ...]
    cash: tuple[Decimal, ...]
    exposure: tuple[Decimal, ...]

    def __post_init__(self) -> None:
        for name in ("timestamps", "equity", "cash", "exposure"):
            value = getattr(self, name)
            if not isinstance(value, tuple):
                object.__setattr__(self, name, tuple(value))
        n = len(self.timestamps)
        for name in ("equity", "cash", "exposure"):
            if len(getattr(self, name)) != n:
                raise ValidationError(name, "must have one value per timestamp")
        if n:
            require_utc("timestamps", self.timestamps[0])
            require_utc("timestamps", self.timestamps[-1])
        if n > 1 and not bool(np.all(np.diff(self.times_ns) > 0)):
            raise ValidationError("timestamps", "must be strictly increasing")

    @classmethod
    def of(cls, points: Iterable[EquityLike]) -> EquityCurve:
        pts = list(points)
        return cls(
            tuple(p.timestamp for p in pts),
            tuple(p.equity for p in pts),
            tuple(p.cash for p in pts),
            tuple(p.exposure for p in pts),
        )

    def __len__(self) -> int:
        return len(self.timestamps)

    def points(self) -> Iterator[EquityPoint]:
        return map(EquityPoint, self.timestamps, self.equity, self.cash, self.exposure)

    @cached_property
    def times_ns(self) -> IntArray:
        return timestamps_ns(self.timestamps, len(self.timestamps))

    @cached_property
    def equity_values(self) -> FloatArray:
        return np.fromiter(map(float, self.equity), np.float64, len(self.equity))

    @cached_property
    def cash_values(self) -> FloatArray:
        return np.fromiter(map(float, self.cash), np.float64, len(self.cash))

    @cached_property
    def exposure_values(self) -> FloatArray:
        return np.fromiter(map(float, self.exposure), np.float64, len(self.exposure))

    @cached_property
    def series(self) -> EquitySeries:
        """The equity as the portfolio analytics' :class:`EquitySeries`."""
        return EquitySeries(self.timestamps, self.equity)


def drawdown_curve(curve: EquityCurve) -> FloatArray:
    """The fraction by which equity is below its running peak at each point (0 at a new
    high; 1 where the peak is not positive and equity is below it)."""
    values = curve.equity_values
    if not values.size:
        return np.zeros(0)
    peaks = np.maximum.accumulate(values)
    below = values < peaks
    safe = np.where(peaks > 0, peaks, 1.0)
    fraction = np.where(peaks > 0, 1.0 - values / safe, 1.0)
    return np.where(below, fraction, 0.0)


@dataclass(frozen=True, slots=True)
class MonthlyReturn:
    """The return of one calendar month (UTC) in percent: the month's last equity over
    the previous month's last (the first month: over the starting equity), minus 1."""

    year: int
    month: int
    return_pct: float | None  # None when the starting equity is not positive


def monthly_returns(
    curve: EquityCurve, initial_equity: Decimal | None = None
) -> list[MonthlyReturn]:
    """The return of each calendar month the curve covers, in time order.

    The first month starts from ``initial_equity`` (by default the curve's first equity).
    """
    if not len(curve):
        return []
    values = curve.equity_values
    months = curve.times_ns.astype("datetime64[ns]").astype("datetime64[M]").astype(np.int64)
    last = np.append(np.flatnonzero(np.diff(months)), months.size - 1)
    ends = values[last]
    base = float(initial_equity) if initial_equity is not None else float(values[0])
    starts = np.concatenate(([base], ends[:-1]))
    out: list[MonthlyReturn] = []
    for m, start, end in zip(months[last].tolist(), starts.tolist(), ends.tolist(), strict=True):
        value = (end / start - 1.0) * 100.0 if start > 0 else None
        out.append(MonthlyReturn(1970 + m // 12, m % 12 + 1, value))
    return out


def bars_per_year(times_ns: IntArray, timeframe: Timeframe | None = None) -> float:
    """How many bars make a year, for annualizing (Sharpe, Sortino, volatility).

    The bar length is ``timeframe`` or else the median spacing of ``times_ns``. The
    calendar is a 7-day week when more than 60% of a 7-day week's share of the samples
    (2/7) fall on a Saturday or Sunday (crypto), else a 252-day trading year (the
    backtesting.py rule). Bars of a day or more: 365 (7-day week) or 252 days per year
    over the bar length in days, and weeks or longer over 365.25 days. Shorter bars: a
    year's length over the bar length on a 7-day week; else 252 times the median number
    of bars per UTC calendar day (a trading session is shorter than 24 hours).
    """
    times = np.asarray(times_ns, dtype=np.int64)
    if timeframe is not None:
        step = float(timeframe.nanos)
    elif times.size > 1:
        step = float(np.median(np.diff(times)))
    else:
        return float(_TRADING_DAYS)
    if step <= 0:
        raise ValidationError("times_ns", "must be increasing to give a bar length")
    days = times // _DAY_NS
    weekday = (days + 3) % 7  # 1970-01-01 was a Thursday; Monday is 0
    seven_day_week = times.size > 0 and float(np.mean(weekday >= 5)) > _WEEKEND_SHARE
    step_days = step / _DAY_NS
    if step_days >= 7:
        return _YEAR_DAYS / step_days
    if step_days >= 1:
        return (365 if seven_day_week else _TRADING_DAYS) / step_days
    if seven_day_week or times.size < 2:
        return _YEAR_DAYS * _DAY_NS / step
    _, per_day = np.unique(days, return_counts=True)
    return float(np.median(per_day)) * _TRADING_DAYS


# --- the metrics ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Metrics:
    """The metrics of one backtest. Percentages are in percent (12.5 means 12.5%).

    Equity (from the equity curve, one point per bar close):

    - ``start``, ``end``, ``duration``: the first and last point's time and the span;
      ``bars``: the number of points.
    - ``initial_cash``: the equity the run started with; ``final_equity``: the last
      point's; ``peak_equity``: the highest point's.
    - ``total_return_pct`` = ``100 * (final_equity - initial_cash) / initial_cash``.
    - ``cagr_pct`` = ``100 * ((final_equity / initial_cash) ** (1 / years) - 1)``, with
      ``years = duration / 365.25 days``; -100 when final equity is not positive; None
      for a zero duration.
    - ``volatility_pct``: the sample standard deviation (ddof 1) of the per-bar simple
      returns times ``sqrt(periods_per_year)``, in percent.
    - ``sharpe``: the mean per-bar excess return over its sample standard deviation times
      ``sqrt(periods_per_year)`` (:func:`portfolio.analytics.sharpe_ratio`); ``sortino``:
      the mean excess return over the downside deviation (root mean square of the
      shortfalls below the risk-free rate, over all bars) times the same
      (:func:`portfolio.analytics.sortino_ratio`). The risk-free rate is annual,
      ``risk_free_rate``, compounded to a per-bar rate. None when undefined.
    - ``calmar`` = ``cagr_pct / max_drawdown_pct`` (None without a drawdown).
    - ``max_drawdown_pct`` and ``max_drawdown``: the deepest fall from a running peak, as a
      percentage of that peak and as an amount, from ``max_drawdown_peak_at`` to
      ``max_drawdown_trough_at``; ``max_drawdown_duration``: the longest time from a peak
      until equity regained it, or until the end if it never did
      (:func:`portfolio.analytics.max_drawdown`).
    - ``exposure_time_pct``: the share of the points at which a position was open: with a
      gross exposure, or within ``[entry_time, exit_time]`` of a round trip.
      ``average_exposure_pct``: the mean of ``gross exposure / equity``, in percent.
    - ``buy_and_hold_return_pct``: the benchmark's last close over its first close, minus
      1, in percent (None without benchmark bars).

    Round trips (see :mod:`omoitrade.backtest.trades`), ``trades`` of them:

    - ``win_rate_pct``: the share with ``pnl > 0``.
    - ``best_trade_pct``, ``worst_trade_pct``: the highest and lowest ``return_pct``;
      ``best_trade_pnl``, ``worst_trade_pnl``: the highest and lowest ``pnl``.
    - ``avg_trade_pct``: the geometric mean of the returns,
      ``100 * (prod(1 + r) ** (1 / n) - 1)`` (None if a trade lost 100% or more).
    - ``expectancy`` and ``expectancy_pct``: the arithmetic mean ``pnl`` and
      ``return_pct``.
    - ``gross_profit``, ``gross_loss``: the sums of the positive and (as a positive amount)
      negative ``pnl``; ``profit_factor`` = ``gross_profit / gross_loss``, Decimal
      Infinity when there are wins and no losses, None without wins or losses.
    - ``sqn`` = ``sqrt(n) * mean(pnl) / std(pnl)`` (sample standard deviation; None for
      fewer than two trades or no variation).
    - ``avg_trade_duration``, ``max_trade_duration``: of ``exit_time - entry_time``.
    - ``total_fees``: the commissions of all fills (of the round trips if no fills given).
    """

    start: datetime
    end: datetime
    duration: timedelta
    bars: int
    periods_per_year: float
    risk_free_rate: float
    initial_cash: Decimal
    final_equity: Decimal
    peak_equity: Decimal
    total_return_pct: Decimal
    buy_and_hold_return_pct: Decimal | None
    cagr_pct: float | None
    volatility_pct: float | None
    sharpe: float | None
    sortino: float | None
    calmar: float | None
    max_drawdown_pct: Decimal
    max_drawdown: Decimal
    max_drawdown_peak_at: datetime | None
    max_drawdown_trough_at: datetime | None
    max_drawdown_duration: timedelta
    exposure_time_pct: float
    average_exposure_pct: float | None
    trades: int
    win_rate_pct: Decimal | None
    best_trade_pct: Decimal | None
    worst_trade_pct: Decimal | None
    best_trade_pnl: Decimal | None
    worst_trade_pnl: Decimal | None
    avg_trade_pct: float | None
    expectancy: Decimal | None
    expectancy_pct: Decimal | None
    gross_profit: Decimal
    gross_loss: Decimal
    profit_factor: Decimal | None
    sqn: float | None
    avg_trade_duration: timedelta | None
    max_trade_duration: timedelta | None
    total_fees: Decimal


def compute_metrics(
    equity_curve: EquityCurve,
    trades: Sequence[RoundTrip],
    benchmark_bars: Sequence[Bar] | None = None,
    periods_per_year: float | None = None,
    initial_cash: Decimal | None = None,
    *,
    fills: Sequence[Trade] | None = None,
    risk_free_rate: float = 0.0,
    timeframe: Timeframe | None = None,
) -> Metrics:
    """The :class:`Metrics` of one run.

    ``periods_per_year`` annualizes the per-bar figures; by default it comes from
    ``timeframe`` or the curve's spacing (:func:`bars_per_year`). ``initial_cash``
    defaults to the curve's first equity. ``risk_free_rate`` is annual (0.02 for 2%).
    """
    n = len(equity_curve)
    if not n:
        raise ValidationError("equity_curve", "must have at least one point")
    if not -1 < risk_free_rate < 1:
        raise ValidationError("risk_free_rate", "must be between -1 and 1", risk_free_rate)
    stamps, equity = equity_curve.timestamps, equity_curve.equity
    if periods_per_year is None:
        periods_per_year = bars_per_year(equity_curve.times_ns, timeframe)
    if not periods_per_year > 0:
        raise ValidationError("periods_per_year", "must be greater than 0", periods_per_year)
    initial = equity[0] if initial_cash is None else initial_cash
    if initial <= 0:
        raise ValidationError("initial_cash", "must be greater than 0", initial)
    values = equity_curve.equity_values
    final = equity[-1]
    peak = equity[int(np.argmax(values))]
    duration = stamps[-1] - stamps[0]

    per_bar_rf = (1.0 + risk_free_rate) ** (1.0 / periods_per_year) - 1.0
    volatility = sharpe = sortino = None
    if n > 1 and bool(np.all(values[:-1] > 0)):
        period_returns = returns(equity_curve.series)
        sharpe = sharpe_ratio(period_returns, periods_per_year, per_bar_rf)
        sortino = sortino_ratio(period_returns, periods_per_year, per_bar_rf)
        deviation = float(np.std(period_returns, ddof=1)) if n > 2 else math.nan
        if math.isfinite(deviation):
            volatility = deviation * math.sqrt(periods_per_year) * 100.0

    cagr = _cagr(initial, final, duration)
    drawdown = max_drawdown(equity_curve.series)
    calmar = (
        cagr / float(drawdown.fraction * HUNDRED)
        if cagr is not None and drawdown.fraction
        else None
    )

    return Metrics(
        start=stamps[0],
        end=stamps[-1],
        duration=duration,
        bars=n,
        periods_per_year=float(periods_per_year),
        risk_free_rate=float(risk_free_rate),
        initial_cash=initial,
        final_equity=final,
        peak_equity=peak,
        total_return_pct=DIVIDE.divide(EXACT.subtract(final, initial) * HUNDRED, initial),
        buy_and_hold_return_pct=buy_and_hold_return_pct(benchmark_bars),
        cagr_pct=cagr,
        volatility_pct=volatility,
        sharpe=sharpe,
        sortino=sortino,
        calmar=calmar,
        max_drawdown_pct=drawdown.fraction * HUNDRED,
        max_drawdown=drawdown.amount,
        max_drawdown_peak_at=drawdown.peak_at,
        max_drawdown_trough_at=drawdown.trough_at,
        max_drawdown_duration=drawdown.longest_duration,
        exposure_time_pct=exposure_time_pct(equity_curve, trades),
        average_exposure_pct=_average_exposure(equity_curve),
        total_fees=_total_fees(trades, fills),
        **_trade_stats(trades),
    )


def _cagr(initial: Decimal, final: Decimal, duration: timedelta) -> float | None:
    years = duration.total_seconds() / (_YEAR_DAYS * 86_400)
    if years <= 0:
        return None
    if final <= 0:
        return -100.0
    return (math.pow(float(final / initial), 1.0 / years) - 1.0) * 100.0


def buy_and_hold_return_pct(bars: Sequence[Bar] | None) -> Decimal | None:
    """``100 * (last close / first close - 1)`` of ``bars`` (None without bars): the return
    of holding the instrument over the bars given (pass those of the backtest's period)."""
    if not bars:
        return None
    first, last = bars[0].close, bars[-1].close
    return DIVIDE.divide(EXACT.subtract(last, first) * HUNDRED, first)


def exposure_time_pct(curve: EquityCurve, trades: Sequence[RoundTrip]) -> float:
    """The share of the curve's points (in percent) at which a position was open: those
    with a non-zero gross exposure, and those within ``[entry_time, exit_time]`` of a
    round trip (which counts the bar a trip was entered or left in, as backtesting.py
    does)."""
    n = len(curve)
    if not n:
        return 0.0
    held = curve.exposure_values != 0
    if trades:
        times = curve.times_ns
        entries = timestamps_ns((t.entry_time for t in trades), len(trades))
        exits = timestamps_ns((t.exit_time for t in trades), len(trades))
        lo = np.searchsorted(times, entries, side="left")
        hi = np.searchsorted(times, exits, side="right")
        marks = np.zeros(n + 1, dtype=np.int64)
        np.add.at(marks, lo, 1)
        np.add.at(marks, hi, -1)
        held |= np.cumsum(marks[:-1]) > 0
    return float(np.mean(held)) * 100.0


def _average_exposure(curve: EquityCurve) -> float | None:
    values, exposure = curve.equity_values, curve.exposure_values
    positive = values > 0
    if not bool(np.any(positive)):
        return None
    return float(np.mean(exposure[positive] / values[positive])) * 100.0


def _total_fees(trades: Sequence[RoundTrip], fills: Sequence[Trade] | None) -> Decimal:
    total = ZERO
    if fills is not None:
        for fill in fills:
            total = EXACT.add(total, fill.commission)
    else:
        for trip in trades:
            total = EXACT.add(total, trip.fees)
    return total


def _mean(values: Sequence[Decimal]) -> Decimal:
    total = ZERO
    for value in values:
        total = EXACT.add(total, value)
    return DIVIDE.divide(total, Decimal(len(values)))


def _trade_stats(trades: Sequence[RoundTrip]) -> dict[str, Any]:
    n = len(trades)
    pnls = [t.pnl for t in trades]
    pcts = [t.return_pct for t in trades]
    gross_profit = gross_loss = ZERO
    for pnl in pnls:
        if pnl > 0:
            gross_profit = EXACT.add(gross_profit, pnl)
        elif pnl < 0:
            gross_loss = EXACT.subtract(gross_loss, pnl)
    stats: dict[str, Any] = {
        "trades": n,
        "gross_profit": gross_profit,
        "gross_loss": gross_loss,
        "profit_factor": _profit_factor(gross_profit, gross_loss),
        "win_rate_pct": None,
        "best_trade_pct": None,
        "worst_trade_pct": None,
        "best_trade_pnl": None,
        "worst_trade_pnl": None,
        "avg_trade_pct": None,
        "expectancy": None,
        "expectancy_pct": None,
        "sqn": None,
        "avg_trade_duration": None,
        "max_trade_duration": None,
    }
    if not n:
        return stats
    wins = sum(1 for pnl in pnls if pnl > 0)
    durations = [t.duration for t in trades]
    stats.update(
        win_rate_pct=DIVIDE.divide(Decimal(wins) * HUNDRED, Decimal(n)),
        best_trade_pct=max(pcts),
        worst_trade_pct=min(pcts),
        best_trade_pnl=max(pnls),
        worst_trade_pnl=min(pnls),
        avg_trade_pct=_geometric_mean_pct(pcts),
        expectancy=_mean(pnls),
        expectancy_pct=_mean(pcts),
        sqn=_sqn(pnls),
        avg_trade_duration=sum(durations, timedelta(0)) / n,
        max_trade_duration=max(durations),
    )
    return stats


def _profit_factor(gross_profit: Decimal, gross_loss: Decimal) -> Decimal | None:
    if gross_loss:
        return DIVIDE.divide(gross_profit, gross_loss)
    return Decimal("Infinity") if gross_profit else None


def _geometric_mean_pct(pcts: Sequence[Decimal]) -> float | None:
    growth = np.array([float(p) for p in pcts], dtype=np.float64) / 100.0 + 1.0
    if not bool(np.all(growth > 0)):
        return None
    return float(np.expm1(np.mean(np.log(growth)))) * 100.0


def _sqn(pnls: Sequence[Decimal]) -> float | None:
    if len(pnls) < 2:
        return None
    values = np.array([float(p) for p in pnls], dtype=np.float64)
    deviation = float(np.std(values, ddof=1))
    if deviation == 0 or not math.isfinite(deviation):
        return None
    return math.sqrt(len(values)) * float(np.mean(values)) / deviation
