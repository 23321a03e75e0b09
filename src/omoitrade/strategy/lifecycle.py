"""The lifecycle's gates: what a strategy version must show before PAPER and before LIVE.

DRAFT -> BACKTESTING -> PAPER -> LIVE <-> PAUSED, LIVE/PAUSED -> STOPPED (the table is
``model.state_machines.STRATEGY_LIFECYCLE``). To PAPER, a completed backtest of the
current version must exist. To LIVE, a person approves a request whose facts are the
version's paper-trading record against configured minimums (days, Sharpe, drawdown,
trades); a request is not filed while a minimum is unmet unless the config allows it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from omoitrade.core.errors import OmoiError
from omoitrade.model.enums import BacktestStatus
from omoitrade.model.strategy_versions import BacktestRun, StrategyPerformance

GO_LIVE_GATE = "strategy_go_live"


class GateRefused(OmoiError):
    """A lifecycle gate refused a transition; the message says what is missing."""

    code = "gate-refused"


@dataclass(frozen=True, slots=True)
class GoLiveMinimums:
    """What paper trading must show before a version may ask to go live."""

    paper_days: float = 14.0
    min_sharpe: float | None = 1.0
    max_drawdown: float | None = 0.20  # a fraction of the peak equity
    min_trades: int = 0
    allow_below_minimums: bool = False  # file the request anyway, unmet minimums shown


def require_completed_backtest(version: int, runs: Sequence[BacktestRun]) -> BacktestRun:
    """The latest completed backtest of ``version`` among ``runs``, else GateRefused."""
    done = [
        r for r in runs if r.strategy_version == version and r.status is BacktestStatus.COMPLETED
    ]
    if not done:
        raise GateRefused(f"version {version} has no completed backtest: backtest it before PAPER")
    return max(done, key=lambda r: r.finished_at or r.started_at)


#: Why a paper record's Sharpe is not used: the minute-based code wrote it (its record has
#: an equity curve but no ``sharpe_daily_returns``), annualizing minute returns.
OLD_SHARPE = "recorded before Sharpe was computed from daily returns"


def go_live_facts(
    version: int,
    paper: StrategyPerformance | None,
    minimums: GoLiveMinimums,
    now: datetime,
) -> dict[str, Any]:
    """The facts an approver sees: each minimum with the value, the bound and whether it
    is met. Raises GateRefused when one is unmet (unless the minimums allow it)."""
    if paper is None or paper.version != version:
        raise GateRefused(f"version {version} has not traded on paper: run it in PAPER first")
    metrics = paper.metrics
    days = metrics.get("paper_days")  # measured by the paper session, first to last seen
    if not isinstance(days, int | float):
        days = (now - paper.started_at).total_seconds() / 86_400
    checks: dict[str, dict[str, Any]] = {
        "paper_days": _at_least(round(days, 2), minimums.paper_days),
    }
    if minimums.min_trades:
        trades = metrics.get("trades_settled", metrics.get("trades"))
        checks["trades"] = _at_least(trades, minimums.min_trades)
    if minimums.min_sharpe is not None:
        sharpe, why = metrics.get("sharpe"), metrics.get("sharpe_unavailable")
        if "equity_curve" in metrics and "sharpe_daily_returns" not in metrics:
            sharpe, why = None, OLD_SHARPE  # a paper record of the minute-based code
        checks["sharpe"] = _at_least(sharpe, minimums.min_sharpe)
        if sharpe is None and why:
            checks["sharpe"]["unavailable"] = why
    if minimums.max_drawdown is not None:
        drawdown = metrics.get("max_drawdown")
        checks["max_drawdown"] = {
            "value": drawdown,
            "maximum": minimums.max_drawdown,
            "met": isinstance(drawdown, int | float) and drawdown <= minimums.max_drawdown,
        }
    unmet = [name for name, check in checks.items() if not check["met"]]
    if unmet and not minimums.allow_below_minimums:
        detail = "; ".join(f"{name} {_describe(checks[name])}" for name in unmet)
        raise GateRefused(f"version {version} does not meet the go-live minimums: {detail}")
    figures = {k: v for k, v in metrics.items() if not isinstance(v, dict | list)}  # no curve
    return {"version": version, "checks": checks, "unmet": unmet, "metrics": figures}


def _at_least(value: Any, minimum: float) -> dict[str, Any]:
    met = isinstance(value, int | float) and not isinstance(value, bool) and value >= minimum
    return {"value": value, "minimum": minimum, "met": met}


def _describe(check: dict[str, Any]) -> str:
    bound = f">= {check['minimum']}" if "minimum" in check else f"<= {check['maximum']}"
    if check["value"] is None:
        why = check.get("unavailable")
        return f"is not available{f' ({why})' if why else ''}, must be {bound}"
    return f"is {check['value']}, must be {bound}"
