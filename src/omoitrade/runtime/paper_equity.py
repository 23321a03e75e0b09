"""A strategy version's paper equity curve, and the figures the go-live gate reads from it
(Sharpe, max drawdown, paper days); kept in the version's paper record."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from omoitrade.core.clock import to_datetime
from omoitrade.core.errors import ValidationError
from omoitrade.portfolio.analytics import EquitySeries, max_drawdown, returns, sharpe_ratio

DAY_NS = 86_400 * 1_000_000_000
YEAR_NS = 365.25 * DAY_NS  # the simulated exchange trades every day
CURVE_POINTS = 2_048  # a longer paper equity curve is thinned to every other point


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
        """The figures the go-live gate reads (Sharpe, max drawdown as a fraction of the
        peak, paper days from the first to the last point seen) and the curve itself."""
        if not self.points:
            return {}
        series = EquitySeries.of((to_datetime(at), value) for at, value in self.points)
        try:
            sharpe = sharpe_ratio(returns(series), YEAR_NS / self.step_ns)
        except ValidationError:  # equity at or below zero: no returns
            sharpe = None
        (first, _), (last, equity) = self.points[0], self.points[-1]
        return {
            "capital": str(self.capital),
            "equity": str(equity),
            "pnl": str(equity - self.capital),
            "sharpe": None if sharpe is None else round(sharpe, 4),
            "max_drawdown": round(float(max_drawdown(series).fraction), 6),
            "paper_first_seen": to_datetime(first).isoformat(),
            "paper_last_seen": to_datetime(last).isoformat(),
            "paper_days": round((last - first) / DAY_NS, 4),
            "equity_step_ns": self.step_ns,
            "equity_curve": [[at, str(value)] for at, value in self.points],
        }
