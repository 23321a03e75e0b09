"""A strategy version's paper equity curve, and the figures the go-live gate reads from it
(Sharpe, max drawdown, paper days); kept in the version's paper record.

The curve is sampled every performance tick (a minute), but the Sharpe ratio is computed
from **daily** returns: the equity at the end of each UTC day on the curve against the
day before's (the first day's against the first point), annualized over 365.25 days (the
simulated exchange trades every day). Minute returns annualized over a few minutes of
trading give absurd figures; below :data:`SHARPE_MIN_RETURNS` daily returns, or when a
daily close (the last one included) is at or below zero, the Sharpe is not available
(None) and ``sharpe_unavailable`` says why, so that the go-live gate counts it as unmet
rather than comparing noise with a minimum.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from omoitrade.core.clock import to_datetime
from omoitrade.portfolio.analytics import EquitySeries, max_drawdown, returns, sharpe_ratio

DAY_NS = 86_400 * 1_000_000_000
DAYS_PER_YEAR = 365.25  # the simulated exchange trades every day
SHARPE_MIN_RETURNS = 10  # daily returns; fewer: the Sharpe is not available (None)
CURVE_POINTS = 2_048  # a longer paper equity curve is thinned to every other point


def daily_closes(points: list[tuple[int, Decimal]]) -> list[tuple[int, Decimal]]:
    """The curve's first point, then its last point of each UTC day (the day's close;
    today's so far). A day without a point has no close: its move is in the next one's."""
    if not points:
        return []
    closes = [points[0]]
    for index, (at, value) in enumerate(points[1:], start=1):
        if index + 1 == len(points) or points[index + 1][0] // DAY_NS != at // DAY_NS:
            closes.append((at, value))
    return closes


def daily_sharpe(points: list[tuple[int, Decimal]]) -> tuple[float | None, int, str | None]:
    """The annualized Sharpe of the curve's daily returns, how many returns it is over,
    and, when it is not available (None), why."""
    closes = daily_closes(points)
    count = max(len(closes) - 1, 0)
    if count < SHARPE_MIN_RETURNS:
        plural = "" if count == 1 else "s"
        return None, count, f"{count} daily return{plural}, at least {SHARPE_MIN_RETURNS} needed"
    if any(value <= 0 for _, value in closes):  # (a last close at or below zero too)
        return None, count, "the equity fell to zero or below"
    series = EquitySeries.of((to_datetime(at), value) for at, value in closes)
    sharpe = sharpe_ratio(returns(series), DAYS_PER_YEAR)
    if sharpe is None or not math.isfinite(sharpe):
        return None, count, "the daily returns do not vary"
    return sharpe, count, None


@dataclass(slots=True)
class PaperEquity:
    """A strategy version's paper equity on the session clock: ``capital`` plus its P&L,
    one point per ``step_ns`` (the newest point moves until a full step has passed). Kept
    in its paper record, so a restart continues the curve."""

    capital: Decimal
    step_ns: int
    points: list[tuple[int, Decimal]] = field(default_factory=list)

    @classmethod
    def resume(cls, capital: Decimal, step_ns: int, metrics: dict[str, Any]) -> PaperEquity:
        """The curve stored in a paper record's ``metrics`` (empty when there is none)."""
        points = [(int(at), Decimal(str(value))) for at, value in metrics.get("equity_curve", [])]
        return cls(capital, int(metrics.get("equity_step_ns", step_ns)), points)

    def add(self, at_ns: int, equity: Decimal) -> None:
        points = self.points
        if points and (
            points[-1][0] == at_ns
            or (len(points) > 1 and points[-1][0] - points[-2][0] < self.step_ns)
        ):
            points[-1] = (at_ns, equity)
        else:
            points.append((at_ns, equity))
        if len(points) > CURVE_POINTS:  # every other point, at twice the step
            kept = points[::2]
            self.points = kept if kept[-1] == points[-1] else [*kept, points[-1]]
            self.step_ns *= 2

    def metrics(self) -> dict[str, Any]:
        """The figures the go-live gate reads (Sharpe of the daily returns, or None with
        ``sharpe_unavailable`` saying why; max drawdown as a fraction of the peak; paper
        days from the first to the last point seen) and the curve itself."""
        if not self.points:
            return {}
        series = EquitySeries.of((to_datetime(at), value) for at, value in self.points)
        sharpe, count, unavailable = daily_sharpe(self.points)
        (first, _), (last, equity) = self.points[0], self.points[-1]
        figures: dict[str, Any] = {
            "capital": str(self.capital),
            "equity": str(equity),
            "pnl": str(equity - self.capital),
            "sharpe": None if sharpe is None else round(sharpe, 4),
            "sharpe_daily_returns": count,
        }
        if unavailable is not None:
            figures["sharpe_unavailable"] = unavailable
        return {
            **figures,
            "max_drawdown": round(float(max_drawdown(series).fraction), 6),
            "paper_first_seen": to_datetime(first).isoformat(),
            "paper_last_seen": to_datetime(last).isoformat(),
            "paper_days": round((last - first) / DAY_NS, 4),
            "equity_step_ns": self.step_ns,
            "equity_curve": [[at, str(value)] for at, value in self.points],
        }
