"""The command line, run as a user runs it: a real process, real exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from omoitrade.store.migrate import head_revision


def omoitrade(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "omoitrade", *args],
        env={**os.environ, "COLUMNS": "200", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_db_upgrade_creates_the_embedded_database(tmp_path: Path) -> None:
    result = omoitrade("db", "upgrade", env={"OMOI_DATA_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "omoitrade.db").exists()
    assert f"database at revision {head_revision()}" in result.stdout
    current = omoitrade("db", "current", env={"OMOI_DATA_DIR": str(tmp_path)})
    assert f"current: {head_revision()}" in current.stdout


def test_run_sets_up_and_shows_the_live_paper_market(tmp_path: Path) -> None:
    result = omoitrade("run", "--no-serve", "--duration", "2", env={"OMOI_DATA_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    for component in ("database", "schema", "instruments", "portfolios", "API", "strategies"):
        assert component in result.stdout
    assert "not started" in result.stdout
    assert "created the demo desk" in result.stdout
    for symbol in ("BTC/USD", "AAPL", "EUR/USD"):
        assert symbol in result.stdout.split("paper trading")[-1]
    assert (tmp_path / "sim-exchange.db").exists()


def test_run_tui_starts_stops_cleanly_and_resumes(tmp_path: Path) -> None:
    env = {"OMOI_DATA_DIR": str(tmp_path / "var")}
    first = subprocess.run(
        [sys.executable, "-m", "omoitrade", "run", "--tui", "--duration", "3"],
        env={**os.environ, "COLUMNS": "200", **env},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert first.returncode == 0, first.stderr
    view = first.stdout.split("paper trading")[-1]
    panels = ("quotes", "risk", "strategies", "recent signals", "working orders", "fills")
    for panel in (*panels, "positions", "approvals waiting", "alerts"):
        assert panel in view, panel
    assert "stopped; the session resumes" in first.stdout
    assert "API" in first.stdout and "not started" in first.stdout
    again = omoitrade("run", "--tui", "--duration", "1", env=env)
    assert again.returncode == 0, again.stderr
    assert "created the demo desk" not in again.stdout
    assert "reconciliation │ clean" in again.stdout


def test_unreachable_database_is_one_clear_line_and_exit_1() -> None:
    result = omoitrade(
        "db", "upgrade", env={"OMOI_DATABASE_URL": "postgresql://nobody@127.0.0.1:9/none"}
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("database error: ")


def test_unknown_command_exits_non_zero() -> None:
    result = omoitrade("frobnicate", env={})
    assert result.returncode == 2
    assert "No such command" in result.stderr
