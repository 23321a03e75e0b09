"""``omoitrade strategy add|list|update|versions|rollback|lifecycle`` on a real database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from omoitrade.store import Database
from omoitrade.testing import factories as f
from omoitrade.testing.cli import CommandLine, Outcome

EXAMPLES = Path(__file__).parents[2] / "examples" / "strategies"


def test_a_strategy_is_versioned_and_moved_through_its_lifecycle_from_the_cli(
    tmp_path: Path, omoitrade: CommandLine
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
    filed = strategy("lifecycle", "sma_cross", "go-live", "--actor", "ann")
    assert filed.returncode == 0, filed.stderr
    approval_id = filed.stdout.split()[1]
    approved = omoitrade_cli(
        "approvals", "approve", approval_id, "--reason", "paper record good", "--actor", "risk"
    )
    assert approved.returncode == 0, approved.stderr
    assert "sma_cross is LIVE (version 3)" in approved.stdout
