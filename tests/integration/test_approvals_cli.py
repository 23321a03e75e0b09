"""``omoitrade approvals`` against a temporary database, and a running desk applying it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from omoitrade.cli.app import app, main
from omoitrade.core.approvals import ApprovalDesk, ApprovalRequest, ApprovalStatus
from omoitrade.core.clock import LiveClock
from omoitrade.core.ids import IdGenerator
from omoitrade.runtime.approval_store import ApprovalStore
from omoitrade.store import Database
from omoitrade.store import migrate as migrations
from omoitrade.strategy.lifecycle import GO_LIVE_GATE, GoLiveMinimums, go_live_facts
from omoitrade.testing import factories as f

HOUR_NS = 3600 * 1_000_000_000


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Database, ApprovalDesk]:
    monkeypatch.setenv("OMOI_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("OMOI_DATABASE_URL", raising=False)
    url = f"sqlite:///{(tmp_path / 'omoitrade.db').as_posix()}"
    migrations.upgrade(url)
    database = Database(url)
    clock = LiveClock()
    desk = ApprovalDesk(clock, IdGenerator(clock.timestamp_ns))
    ApprovalStore(database).attach(desk)
    yield database, desk
    database.dispose()


def file(
    desk: ApprovalDesk, decided: list[ApprovalRequest], subject: str = "s1"
) -> ApprovalRequest:
    return desk.request(
        gate="high_value",
        scope="portfolio-1",
        subject_type="signal",
        subject_id=subject,
        requested_action="BUY 2 BTC/USD at market",
        facts={"notional": "84000", "strength": 0.9},
        requested_by="strategy:sma_cross",
        ttl_ns=HOUR_NS,
        on_decided=decided.append,
    )


def cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "250"})
    return result.exit_code, result.output


def test_list_approve_and_the_running_desk_applies_it(world: tuple[Database, ApprovalDesk]) -> None:
    database, desk = world
    decided: list[ApprovalRequest] = []
    request = file(desk, decided)
    code, out = cli("approvals", "list")
    assert code == 0
    assert str(request.id) in out and "high_value" in out and "BUY 2 BTC/USD" in out
    assert "notional=84000" in out
    code, out = cli("approvals", "approve", str(request.id), "--reason", "fine", "--actor", "ana")
    assert code == 0, out
    assert "approved" in out
    assert desk.pending()  # not yet: the desk learns it when it polls
    store = ApprovalStore(database)
    store.desk = desk
    (applied,) = store.poll()
    assert applied.status is ApprovalStatus.APPROVED and applied.decided_by == "ana"
    assert decided == [request] and not desk.pending()
    with database.transaction(write=False) as uow:
        stored = uow.approvals.get(request.id)
        audit = [e for e in uow.audit.entries() if e.action == "approval.approved"]
    assert stored.status is ApprovalStatus.APPROVED and stored.decision_reason == "fine"
    assert [(e.actor, e.entity_id) for e in audit] == [("ana", str(request.id))]
    code, out = cli("approvals", "list")
    assert "no approval requests waiting" in out
    code, out = cli("approvals", "list", "--all")
    assert str(request.id) in out and "APPROVED by ana" in out


def test_reject_then_errors_are_one_line(world: tuple[Database, ApprovalDesk]) -> None:
    _, desk = world
    request = file(desk, [])
    code, out = cli("approvals", "reject", str(request.id), "--reason", "too big")
    assert code == 0 and "rejected" in out
    assert desk.pending()  # the store's first decision wins when the desk polls


def run_main(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, *args: str
) -> tuple[int, str]:
    """``main()`` as the ``omoitrade`` script runs it: exit code and stderr."""
    monkeypatch.setattr(sys, "argv", ["omoitrade", *args])
    monkeypatch.setenv("COLUMNS", "250")  # one line, however long
    capsys.readouterr()
    try:
        main()
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else 1
    return code, capsys.readouterr().err


def test_bad_decisions_exit_non_zero_with_one_line(
    world: tuple[Database, ApprovalDesk],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, desk = world
    request = file(desk, [])
    unknown = "018f0000-0000-7000-8000-000000000000"
    cases = {
        ("approve", unknown, "--reason", "ok"): "not found",
        ("approve", "nonsense", "--reason", "ok"): "id",
        ("approve", str(request.id)): "--reason",
        ("reject", str(request.id), "--reason", "  "): "--reason",
    }
    for args, expected in cases.items():
        code, err = run_main(capsys, monkeypatch, "approvals", *args)
        assert code == 1, (args, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), (args, err)
        assert expected in lines[0], (args, lines[0])
    code, err = run_main(
        capsys, monkeypatch, "approvals", "reject", str(request.id), "--reason", "no"
    )
    assert code == 0, err
    code, err = run_main(
        capsys, monkeypatch, "approvals", "approve", str(request.id), "--reason", "y"
    )
    assert code == 1
    assert err.strip().splitlines() == [
        f"error: approval {request.id} is already REJECTED (by cli: no)"
    ]


def test_the_script_prints_one_line_for_an_unknown_id(tmp_path: Path) -> None:
    env = {**os.environ, "OMOI_DATA_DIR": str(tmp_path), "COLUMNS": "200"}
    env.pop("OMOI_DATABASE_URL", None)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "omoitrade",
            "approvals",
            "reject",
            "018f0000-0000-7000-8000-000000000000",
            "--reason",
            "x",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert "not found" in result.stderr


def test_a_go_live_request_shows_each_check_on_its_own_line(
    world: tuple[Database, ApprovalDesk],
) -> None:
    _, desk = world
    strategy = f.make_strategy(f.make_portfolio(f.make_organization()).id)
    paper = f.make_strategy_performance(
        strategy,
        metrics={
            "sharpe": 1.4,
            "sharpe_daily_returns": 15,
            "max_drawdown": 0.25,
            "paper_days": 15.0,
            "equity_curve": [[1, "2"]],
        },
    )
    minimums = GoLiveMinimums(min_sharpe=1.0, max_drawdown=0.2, allow_below_minimums=True)
    facts = go_live_facts(strategy.version, paper, minimums, f.T0)
    desk.request(
        gate=GO_LIVE_GATE,
        scope="portfolio-1",
        subject_type="strategy",
        subject_id=str(strategy.id),
        requested_action="put sma_cross version 1 LIVE",
        facts=facts,
        requested_by="ann",
        ttl_ns=HOUR_NS,
    )
    code, out = cli("approvals", "list")
    assert code == 0, out
    cells = [line.split("│")[5].strip() for line in out.splitlines() if line.count("│") > 5]
    assert cells[:9] == [
        "version=1",
        "checks.paper_days: 15.0 >= 14.0 ok",
        "checks.sharpe: 1.4 >= 1.0 ok",
        "checks.max_drawdown: 0.25 <= 0.2 NOT MET",
        "unmet: max_drawdown",
        "metrics.sharpe=1.4",
        "metrics.sharpe_daily_returns=15",
        "metrics.max_drawdown=0.25",
        "metrics.paper_days=15.0",
    ]
    assert "equity_curve" not in out
