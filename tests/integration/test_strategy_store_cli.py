"""``omoitrade strategy add|list|update|versions|rollback|lifecycle`` on a real database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from omoitrade.store import Database
from omoitrade.testing import factories as f
from omoitrade.testing.cli import CommandLine, Outcome

EXAMPLES = Path(__file__).parents[2] / "examples" / "strategies"


def test_a_strategy_is_versioned_and_moved_through_its_lifecycle_from_the_cli(
    tmp_path: Path, omoitrade: CommandLine, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = os.environ["OMOI_DATABASE_URL"]

    omoitrade_cli = omoitrade

    def strategy(*args: str) -> Outcome:
        return omoitrade_cli("strategy", *args)

    real = subprocess.run(  # once as a real process, as a user runs it
        [sys.executable, "-m", "omoitrade", "strategy", "list"],
        env={**os.environ, "COLUMNS": "250", "OMOI_DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert real.returncode == 0 and "name" in real.stdout
    added = strategy("add", str(EXAMPLES / "sma_cross.json"), "--author", "ann")
    assert added.returncode == 0, added.stderr
    assert added.stdout.startswith("added sma_cross (") and "version 1, DRAFT" in added.stdout
    faster = json.loads((EXAMPLES / "sma_cross.json").read_text())
    faster["parameters"]["fast"] = 5
    changed = tmp_path / "faster.json"
    changed.write_text(json.dumps(faster))
    updated = strategy("update", "sma_cross", str(changed), "--note", "faster entry")
    assert updated.returncode == 0, updated.stderr
    assert updated.stdout.splitlines() == ["version 2:", "  ~ parameters.fast: 10 -> 5"]
    same = strategy("update", "sma_cross", str(changed))
    assert same.returncode == 1
    assert same.stderr.strip() == "error: the content equals version 2: nothing to version"
    assert strategy("rollback", "sma_cross", "--to", "1").stdout.strip() == (
        "version 3 restores version 1"
    )
    history = strategy("versions", "sma_cross")
    assert "faster entry" in history.stdout and "restores 1" in history.stdout
    shown = json.loads(strategy("show", "sma_cross", "--version", "2").stdout)
    assert shown == {**faster, "version": 2}  # the document, numbered as its version
    current = json.loads(strategy("show", "sma_cross").stdout)  # version 3: version 1's
    assert current["parameters"]["fast"] == 10
    missing = strategy("show", "sma_cross", "--version", "9")
    assert missing.returncode == 1 and missing.stderr.count("\n") == 1
    assert "version 9" in missing.stderr
    skipped = strategy("lifecycle", "sma_cross", "paper")
    assert skipped.returncode == 1 and "DRAFT" in skipped.stderr
    assert "is BACKTESTING (version 3)" in strategy("lifecycle", "sma_cross", "backtest").stdout
    gated = strategy("lifecycle", "sma_cross", "paper")
    assert gated.returncode == 1
    assert gated.stderr.strip() == (
        "error: version 3 has no completed backtest: backtest it before PAPER"
    )
    listed = strategy("list")
    assert "sma_cross" in listed.stdout and "BACKTESTING" in listed.stdout
    missing = strategy("versions", "nope")
    assert missing.returncode == 1 and missing.stderr.startswith("error: strategy")
    wrong = strategy("lifecycle", "sma_cross", "fly")
    assert wrong.returncode == 1 and "must be one of backtest, paper" in wrong.stderr

    # a backtest and a paper record (as the backtester and a paper session leave them)
    database = Database(url)
    with database.transaction() as uow:
        (stored,) = uow.strategies.list()
        uow.backtest_runs.add(f.make_backtest_run(stored, strategy_version=3))
    assert "is PAPER (version 3)" in strategy("lifecycle", "sma_cross", "paper").stdout
    with database.transaction() as uow:
        long_ago = database.clock.utc_now() - timedelta(days=30)
        uow.strategy_performance.add(
            f.make_strategy_performance(
                stored,
                version=3,
                started_at=long_ago,
                updated_at=long_ago,
                metrics={"sharpe": 1.4, "max_drawdown": 0.1},
            )
        )
    database.dispose()
    bad = strategy("lifecycle", "sma_cross", "go-live", "--min-sharpe", "high")
    assert (bad.returncode, bad.stderr.strip()) == (1, "error: --min-sharpe: must be a number")
    monkeypatch.setenv("OMOI_GO_LIVE_MIN_SHARPE", "2")  # the desk's standing minimum
    strict = strategy("lifecycle", "sma_cross", "go-live")
    assert strict.returncode == 1
    assert strict.stderr.strip().endswith("minimums: sharpe is 1.4, must be >= 2.0")
    monkeypatch.delenv("OMOI_GO_LIVE_MIN_SHARPE")
    filed = strategy("lifecycle", "sma_cross", "go-live", "--actor", "ann")
    assert filed.returncode == 0, filed.stderr
    approval_id = filed.stdout.split()[1]
    approved = omoitrade_cli(
        "approvals", "approve", approval_id, "--reason", "paper record good", "--actor", "risk"
    )
    assert approved.returncode == 0, approved.stderr
    assert "sma_cross is LIVE (version 3)" in approved.stdout


def test_a_python_strategy_is_stored_versioned_and_qualified_from_the_cli(
    tmp_path: Path, omoitrade: CommandLine
) -> None:
    source = EXAMPLES / "momentum_breakout.py"
    no_market = omoitrade("strategy", "add", str(source))
    assert no_market.returncode == 1
    assert no_market.stderr.strip() == (
        "error: file: momentum_breakout.py: a Python strategy needs --instrument and --timeframe"
    )
    added = omoitrade(
        "strategy", "add", str(source), "--instrument", "SIM:BTC/USD", "--timeframe", "1m"
    )
    assert added.returncode == 0, added.stderr
    assert added.stdout.startswith("added MomentumBreakout (") and "DRAFT" in added.stdout
    changed = tmp_path / "momentum_breakout.py"
    changed.write_text(source.read_text().replace("exit_period: int = 10", "exit_period: int = 5"))
    updated = omoitrade("strategy", "update", "MomentumBreakout", str(changed), "--note", "x")
    assert updated.returncode == 0, updated.stderr
    lines = updated.stdout.splitlines()
    assert lines[0] == "version 2:" and any("python.code" in line for line in lines)
    assert not any("parameters" in line for line in lines)  # the stored 10 is kept

    database = Database(os.environ["OMOI_DATABASE_URL"])
    with database.transaction(write=False) as uow:
        (stored,) = uow.strategies.list()
        (first, second) = uow.strategy_versions.history(stored.id)
    database.dispose()
    assert second.document["parameters"] == first.document["parameters"]
    assert second.document["instruments"] == ["SIM:BTC/USD"]
    assert "exit_period: int = 5" in second.document["python"]["code"]

    assert (
        "is BACKTESTING"
        in omoitrade("strategy", "lifecycle", "MomentumBreakout", "backtest").stdout
    )
    data = tmp_path / "btc.csv"
    closes = [100 + (n % 9) for n in range(120)]  # a saw: breakouts up, then down
    rows = [
        f"2024-01-01T{n // 60:02d}:{n % 60:02d}:00Z,{c},{c + 1},{c - 1},{c},5"
        for n, c in enumerate(closes)
    ]
    data.write_text("timestamp,open,high,low,close,volume\n" + "\n".join(rows) + "\n")
    ran = omoitrade(
        "backtest", str(changed), "--data", str(data), "--instrument", "BTC/USD",
        "--store", "MomentumBreakout",
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert "of MomentumBreakout version 2" in ran.stdout
    assert (
        "is PAPER (version 2)"
        in omoitrade("strategy", "lifecycle", "MomentumBreakout", "paper").stdout
    )
