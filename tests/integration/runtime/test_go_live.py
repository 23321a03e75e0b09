"""From a paper session to a go-live request: the session measures the figures the gate
checks (Sharpe, drawdown, paper days), and the approver sees them against the minimums.
Minutes of paper trading have no Sharpe (it needs daily returns): not available is an
unmet Sharpe minimum, whatever the minimum, and the record says why."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path

from test_paper_session import SECOND, T0, advance, config

from omoitrade.backtest.qualification import PaperQualification
from omoitrade.core.approvals import ApprovalDesk
from omoitrade.core.clock import SimulatedClock
from omoitrade.core.ids import IdGenerator
from omoitrade.model.enums import StrategyStatus, TradingMode
from omoitrade.runtime.approval_store import ApprovalStore
from omoitrade.runtime.paper_equity import PaperEquity
from omoitrade.runtime.paper_session import PaperSession
from omoitrade.runtime.strategy_service import StrategyService
from omoitrade.store import Database
from omoitrade.strategy.lifecycle import GoLiveMinimums
from omoitrade.testing.cli import CommandLine

MINUTE = 60 * SECOND
NO_SHARPE = "1 daily return, at least 10 needed"


def test_a_paper_traded_strategy_asks_to_go_live_with_its_measured_figures(
    tmp_path: Path, omoitrade: CommandLine
) -> None:
    settings = replace(
        config(tmp_path), qualify=PaperQualification(bars=300), performance_interval_ns=MINUTE
    )
    clock = SimulatedClock(T0)
    session = PaperSession(clock, settings)
    session.start()
    (running,) = session.strategies.values()
    strategy_id = running.context.strategy_id
    advance(clock, 600)
    session.stop()

    database = Database(settings.database_url)
    with database.transaction(write=False) as uow:
        paper = uow.strategy_performance.of(strategy_id, 1, TradingMode.PAPER)
        assert uow.strategies.get(strategy_id).status is StrategyStatus.PAPER
    database.dispose()
    assert paper is not None
    metrics = paper.metrics
    sharpe, drawdown = metrics["sharpe"], metrics["max_drawdown"]
    assert sharpe is None and metrics["sharpe_daily_returns"] == 1  # ten minutes: one day
    assert metrics["sharpe_unavailable"] == NO_SHARPE
    assert isinstance(drawdown, float) and 0 <= drawdown < 1
    assert metrics["signals"] >= metrics["trades_settled"] > 0
    assert metrics["paper_days"] == round(540 / 86_400, 4)  # first point at one minute
    curve = metrics["equity_curve"]
    assert [at for at, _ in curve] == [T0 + n * MINUTE for n in range(1, 11)]
    assert Decimal(metrics["pnl"]) == Decimal(curve[-1][1]) - Decimal(metrics["capital"])

    refused = omoitrade("strategy", "lifecycle", "quick", "go-live")  # the default minimums
    assert refused.returncode == 1
    assert refused.stderr.strip().startswith(
        "error: version 1 does not meet the go-live minimums: paper_days is 0.01, must be >= 14"
    )
    for minimum in ("1", "0", "-1000"):  # not available meets no Sharpe minimum
        strict = omoitrade(
            "strategy", "lifecycle", "quick", "go-live",
            "--min-paper-days", "0", "--min-sharpe", minimum, "--max-drawdown", "off",
        )  # fmt: skip
        assert strict.returncode == 1
        assert strict.stderr.strip() == (
            "error: version 1 does not meet the go-live minimums: sharpe is not available "
            f"({NO_SHARPE}), must be >= {float(minimum)}"
        )
    bad = omoitrade("strategy", "lifecycle", "quick", "go-live", "--max-drawdown", "2")
    assert bad.returncode == 1
    assert bad.stderr.strip() == "error: --max-drawdown: must be at most 1"

    filed = omoitrade(
        "strategy", "lifecycle", "quick", "go-live", "--actor", "ann",
        "--min-paper-days", "0", "--min-sharpe", "off", "--max-drawdown", "0.5",
    )  # fmt: skip
    assert filed.returncode == 0, filed.stderr
    listed = omoitrade("approvals", "list")
    assert listed.returncode == 0, listed.stderr
    for line in (
        "version=1",
        "checks.paper_days: 0.01 >= 0.0 ok",
        f"checks.max_drawdown: {drawdown} <= 0.5 ok",
        "unmet: -",
        "metrics.sharpe=None",
        f"metrics.sharpe_unavailable={NO_SHARPE}",
        f"metrics.pnl={metrics['pnl']}",
    ):
        assert line in listed.stdout, (line, listed.stdout)
    assert "equity_curve" not in listed.stdout
    assert "checks.sharpe" not in listed.stdout  # off: not checked
    approval_id = filed.stdout.split()[1]
    approved = omoitrade("approvals", "approve", approval_id, "--reason", "good paper record")
    assert approved.returncode == 0, approved.stderr
    assert "quick is LIVE (version 1)" in approved.stdout


def test_a_long_paper_curve_is_thinned_evenly() -> None:
    equity = PaperEquity(Decimal(100), MINUTE)
    for n in range(1, 2_050):
        equity.add(n * MINUTE, Decimal(100 + n % 7))
    assert equity.step_ns == 2 * MINUTE and len(equity.points) == 1_025
    assert equity.points[0][0] == MINUTE and equity.points[-1][0] == 2_049 * MINUTE
    equity.add(2_050 * MINUTE, Decimal(101))
    equity.add(2_051 * MINUTE, Decimal(102))  # moves the newest point: a step is 2 minutes
    assert [at // MINUTE for at, _ in equity.points[-3:]] == [2_047, 2_049, 2_051]
    figures = equity.metrics()
    assert figures["paper_days"] == round(2_050 * MINUTE / (86_400 * SECOND), 4)
    again = PaperEquity.resume(Decimal(100), MINUTE, figures)
    assert again.step_ns == 2 * MINUTE and again.points == equity.points


def test_the_approver_sees_a_sharpe_not_available_as_an_unmet_minimum_and_why(
    tmp_path: Path, omoitrade: CommandLine
) -> None:
    """Filed below the minimums (``allow_below_minimums``): the request shows the Sharpe
    check NOT MET, unmet among the minimums, and the record's reason beside it."""
    settings = replace(config(tmp_path), qualify=PaperQualification(bars=300))
    clock = SimulatedClock(T0)
    session = PaperSession(clock, settings)
    session.start()
    (running,) = session.strategies.values()
    strategy_id = running.context.strategy_id
    advance(clock, 180)
    session.stop()

    database = Database(settings.database_url)
    desk_clock = SimulatedClock(clock.timestamp_ns())
    ids = IdGenerator(desk_clock.timestamp_ns)
    desk = ApprovalDesk(desk_clock, ids)
    ApprovalStore(database).attach(desk)
    minimums = GoLiveMinimums(paper_days=0, min_sharpe=1.0, allow_below_minimums=True)
    service = StrategyService(database, desk_clock, desk, ids=ids, minimums=minimums)
    request = service.request_live(strategy_id, "ann")
    database.dispose()
    assert request.facts["checks"]["sharpe"] == {
        "value": None, "minimum": 1.0, "met": False, "unavailable": NO_SHARPE,
    }  # fmt: skip
    assert request.facts["unmet"] == ["sharpe"]
    assert request.facts["metrics"]["sharpe_unavailable"] == NO_SHARPE

    listed = omoitrade("approvals", "list")
    assert listed.returncode == 0, listed.stderr
    for line in (
        f"checks.sharpe: not available ({NO_SHARPE}) >= 1.0 NOT MET",
        "unmet: sharpe",
        "metrics.sharpe=None",
        f"metrics.sharpe_unavailable={NO_SHARPE}",
    ):
        assert line in listed.stdout, (line, listed.stdout)
