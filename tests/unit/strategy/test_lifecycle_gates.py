"""The PAPER gate wants a completed backtest of the version; LIVE wants paper minimums met."""

from __future__ import annotations

from datetime import timedelta

import pytest

from omoitrade.model.enums import BacktestStatus
from omoitrade.strategy.lifecycle import (
    OLD_SHARPE,
    GateRefused,
    GoLiveMinimums,
    go_live_facts,
    require_completed_backtest,
)
from omoitrade.testing import factories as f


def test_paper_needs_a_completed_backtest_of_this_very_version() -> None:
    strategy = f.make_strategy(f.make_portfolio(f.make_organization()).id, version=2)
    old = f.make_backtest_run(strategy, strategy_version=1)
    failed = f.make_backtest_run(strategy, status=BacktestStatus.FAILED)
    with pytest.raises(GateRefused, match="version 2 has no completed backtest"):
        require_completed_backtest(2, [old, failed])
    done = f.make_backtest_run(strategy)
    assert require_completed_backtest(2, [old, failed, done]) is done


def test_live_facts_show_each_minimum_and_refuse_when_one_is_unmet() -> None:
    strategy = f.make_strategy(f.make_portfolio(f.make_organization()).id)
    paper = f.make_strategy_performance(
        strategy, metrics={"sharpe": 1.3, "max_drawdown": 0.08, "trades": 40}
    )
    minimums = GoLiveMinimums(paper_days=14, min_sharpe=1.0, max_drawdown=0.2, min_trades=30)
    now = paper.started_at + timedelta(days=15)
    facts = go_live_facts(strategy.version, paper, minimums, now)
    assert facts["unmet"] == []
    assert facts["checks"]["paper_days"] == {"value": 15.0, "minimum": 14, "met": True}
    assert facts["checks"]["max_drawdown"] == {"value": 0.08, "maximum": 0.2, "met": True}
    with pytest.raises(GateRefused, match=r"paper_days is 13.0, must be >= 14"):
        go_live_facts(strategy.version, paper, minimums, now - timedelta(days=2))
    deep = f.make_strategy_performance(strategy, metrics={"sharpe": 1.3, "max_drawdown": 0.3})
    with pytest.raises(GateRefused, match=r"max_drawdown is 0.3, must be <= 0.2"):
        go_live_facts(strategy.version, deep, minimums, now)
    lenient = GoLiveMinimums(min_trades=30, allow_below_minimums=True)
    assert go_live_facts(strategy.version, deep, lenient, now)["unmet"] == [
        "trades",
        "max_drawdown",
    ]


def test_live_needs_paper_trading_of_the_current_version() -> None:
    strategy = f.make_strategy(f.make_portfolio(f.make_organization()).id, version=3)
    with pytest.raises(GateRefused, match="has not traded on paper"):
        go_live_facts(3, None, GoLiveMinimums(), f.T0)
    older = f.make_strategy_performance(strategy, version=2)
    with pytest.raises(GateRefused, match="has not traded on paper"):
        go_live_facts(3, older, GoLiveMinimums(), f.T0)


def test_live_reads_the_paper_sessions_measured_days_and_settled_trades() -> None:
    strategy = f.make_strategy(f.make_portfolio(f.make_organization()).id)
    paper = f.make_strategy_performance(
        strategy,
        metrics={
            "sharpe": 1.3,
            "sharpe_daily_returns": 12,
            "max_drawdown": 0.05,
            "paper_days": 3.5,  # first to last seen, whatever the time since it started
            "trades_settled": 12,
            "equity_curve": [[1, "100"], [2, "101"]],
            "position": {"SIM:BTC/USD": "0.01"},
        },
    )
    now = paper.started_at + timedelta(days=30)
    with pytest.raises(
        GateRefused, match=r"paper_days is 3.5, must be >= 14.0; trades is 12, must be >= 20$"
    ):
        go_live_facts(strategy.version, paper, GoLiveMinimums(min_trades=20), now)
    facts = go_live_facts(strategy.version, paper, GoLiveMinimums(paper_days=3, min_trades=10), now)
    assert facts["checks"]["trades"] == {"value": 12, "minimum": 10, "met": True}
    assert facts["metrics"] == {
        "sharpe": 1.3,
        "sharpe_daily_returns": 12,
        "max_drawdown": 0.05,
        "paper_days": 3.5,
        "trades_settled": 12,
    }


def test_a_sharpe_not_available_meets_no_minimum_and_the_refusal_says_why() -> None:
    strategy = f.make_strategy(f.make_portfolio(f.make_organization()).id)
    why = "1 daily return, at least 10 needed"
    paper = f.make_strategy_performance(
        strategy, metrics={"sharpe": None, "sharpe_unavailable": why, "max_drawdown": 0.01}
    )
    now = paper.started_at + timedelta(days=30)
    minimums = GoLiveMinimums(paper_days=1, min_sharpe=-1000.0)
    with pytest.raises(
        GateRefused, match=rf"sharpe is not available \({why}\), must be >= -1000.0$"
    ):
        go_live_facts(strategy.version, paper, minimums, now)
    lenient = GoLiveMinimums(paper_days=1, min_sharpe=0.0, allow_below_minimums=True)
    facts = go_live_facts(strategy.version, paper, lenient, now)
    assert facts["unmet"] == ["sharpe"]
    assert facts["checks"]["sharpe"] == {
        "value": None, "minimum": 0.0, "met": False, "unavailable": why,
    }  # fmt: skip


def test_a_paper_record_of_the_minute_based_sharpe_meets_no_sharpe_minimum() -> None:
    strategy = f.make_strategy(f.make_portfolio(f.make_organization()).id)
    old = f.make_strategy_performance(
        strategy, metrics={"sharpe": 25.3, "paper_days": 20.0, "equity_curve": [[1, "100"]]}
    )
    minimums = GoLiveMinimums(min_sharpe=1.0, max_drawdown=None)
    with pytest.raises(GateRefused, match=rf"sharpe is not available \({OLD_SHARPE}\)"):
        go_live_facts(strategy.version, old, minimums, f.T0)
    new = f.make_strategy_performance(
        strategy,
        metrics={
            "sharpe": 1.3, "sharpe_daily_returns": 19, "paper_days": 20.0,
            "equity_curve": [[1, "100"]],
        },
    )  # fmt: skip
    facts = go_live_facts(strategy.version, new, minimums, f.T0)
    assert facts["checks"]["sharpe"] == {"value": 1.3, "minimum": 1.0, "met": True}
