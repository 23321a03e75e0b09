"""``omoitrade run --tui`` stopped by Ctrl-C, as a user stops it: a real process, SIGINT.

The issue: "Ctrl-C stops cleanly; starting again resumes from the store and reconciles
with the simulated exchange". The session is started without ``--duration``, interrupted
once it trades, and started again.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

PANELS = (
    "quotes",
    "risk",
    "strategies",
    "recent signals",
    "working orders",
    "fills",
    "positions",
    "approvals waiting",
    "alerts",
)
LIVE_MARKER = "reconciliation"  # the overview's last row: the session is started, trading
START_TIMEOUT_S = 60.0  # migrations, the demo desk, four backtests, on 2 shared cores
STOP_TIMEOUT_S = 10.0


def _reader(stream: Any, lines: queue.Queue[str | None]) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def _store(data_dir: Path) -> dict[str, Any]:
    engine = sa.create_engine(f"sqlite:///{(data_dir / 'omoitrade.db').as_posix()}")
    try:
        with engine.connect() as connection:

            def count(table: str) -> int:
                return int(
                    connection.execute(sa.text(f"select count(*) from {table}")).scalar_one()
                )

            return {
                "strategies": sorted(
                    row[0] for row in connection.execute(sa.text("select id from strategies"))
                ),
                "portfolios": count("portfolios"),
                "instruments": count("instruments"),
                "orders": count("orders"),
                "fills": count("trades"),
                "signals": count("signals"),
                "events": count("events"),
                "paper": sorted(
                    (str(row[0]), str(row[1]), str(row[2]), "paper_last_seen" in str(row[3]))
                    for row in connection.execute(
                        sa.text(
                            "select id, strategy_id, started_at, metrics"
                            " from strategy_performance where mode = 'PAPER'"
                        )
                    )
                ),
            }
    finally:
        engine.dispose()


def test_ctrl_c_stops_cleanly_and_the_next_start_resumes(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    env = {**os.environ, "COLUMNS": "200", "OMOI_DATA_DIR": str(data_dir)}
    process = subprocess.Popen(
        [sys.executable, "-m", "omoitrade", "run", "--tui", "--duration", "600"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    lines: queue.Queue[str | None] = queue.Queue()
    errors: queue.Queue[str | None] = queue.Queue()  # drained too: a full pipe would block it
    threading.Thread(target=_reader, args=(process.stdout, lines), daemon=True).start()
    threading.Thread(target=_reader, args=(process.stderr, errors), daemon=True).start()
    before: list[str] = []
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not any(LIVE_MARKER in line for line in before):
            remaining = deadline - time.monotonic()
            assert remaining > 0, "no overview in time:\n" + "".join(before)
            try:
                line = lines.get(timeout=remaining)
            except queue.Empty:
                continue
            assert line is not None, "exited before trading:\n" + "".join(before)
            before.append(line)
        time.sleep(1.5)  # the live loop runs: the clock fires, the view redraws
        assert process.poll() is None, "stopped on its own"
        started_at = time.monotonic()
        process.send_signal(signal.SIGINT)
        returncode = process.wait(timeout=STOP_TIMEOUT_S)
        stop_s = time.monotonic() - started_at
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    after: list[str] = []
    while (line := lines.get(timeout=5)) is not None:
        after.append(line)
    stdout = "".join(before + after)
    stderr = "".join(iter(lambda: errors.get(timeout=5), None))

    # a clean stop: exit 0 (the documented "Ctrl-C stops cleanly"), quickly, no traceback
    assert returncode == 0, stdout + stderr
    assert stop_s < STOP_TIMEOUT_S
    assert "Traceback" not in stdout + stderr, stdout + stderr
    assert "Aborted" not in stderr
    assert "created the demo desk" in stdout
    assert "reconciliation │ clean" in stdout
    view = "".join(after)  # the last frame of the view, printed as it stops
    assert "Ctrl-C stops" in view
    for panel in PANELS:
        assert panel in view, panel
    assert "\nstopping\n" in view  # on its own line, after the view
    assert view.rstrip().endswith("stopped; the session resumes from the store on the next start")

    first = _store(data_dir)
    assert len(first["strategies"]) == 4 and first["portfolios"] == 1
    # written at the stop: each strategy's paper record, so the stop ran to its end
    assert len(first["paper"]) == 4, first["paper"]
    assert all(has_curve for *_, has_curve in first["paper"]), first["paper"]

    again = subprocess.run(
        [sys.executable, "-m", "omoitrade", "run", "--tui", "--duration", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert again.returncode == 0, again.stderr
    assert "Traceback" not in again.stdout + again.stderr
    assert "created the demo desk" not in again.stdout  # resumed, not seeded again
    assert "reconciliation │ clean" in again.stdout  # the store agrees with the exchange
    orders = re.search(r"│ orders +│ (\d+) ", again.stdout)
    assert orders is not None and int(orders[1]) == first["orders"]  # the first session's
    assert "backtested" not in again.stdout  # PAPER already: not qualified a second time
    second = _store(data_dir)
    assert second["strategies"] == first["strategies"]
    assert (second["portfolios"], second["instruments"]) == (1, first["instruments"])
    for key in ("orders", "fills", "signals", "events"):
        assert second[key] >= first[key], key
    # the first session's records, continued (same rows, same start), not replaced
    assert [p[:3] for p in second["paper"]] == [p[:3] for p in first["paper"]]


IMPORT_PHASE_S = 0.3  # Python's own imports of the application take the first seconds


def test_ctrl_c_during_the_imports_is_one_line_and_exit_130(tmp_path: Path) -> None:
    """Ctrl-C before the application is even imported: no traceback, one line, 130."""
    data_dir = tmp_path / "var"
    env = {**os.environ, "COLUMNS": "200", "OMOI_DATA_DIR": str(data_dir)}
    script = Path(sys.executable).with_name("omoitrade")  # the console script users run
    assert script.is_file(), script
    for command in ([str(script)], [sys.executable, "-m", "omoitrade"]):
        process = subprocess.Popen(
            [*command, "run", "--tui", "--duration", "30"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
        )
        try:
            time.sleep(IMPORT_PHASE_S)
            assert process.poll() is None, "exited on its own"
            process.send_signal(signal.SIGINT)
            stdout, stderr = process.communicate(timeout=STOP_TIMEOUT_S)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        assert process.returncode == 130, (command, stdout, stderr)
        assert stderr == "interrupted\n", (command, stderr)
        assert "Traceback" not in stdout + stderr
        assert not (data_dir / "omoitrade.db").exists()  # interrupted before anything opened
