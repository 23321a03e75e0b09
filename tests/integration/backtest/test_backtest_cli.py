"""``omoitrade backtest``: a summary, files that repeat byte for byte, the run stored."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from omoitrade.cli.app import main
from omoitrade.runtime.demo import seed_demo
from omoitrade.store import Database
from omoitrade.store.migrate import upgrade

backtesting = pytest.importorskip("backtesting")

EXAMPLES = Path(__file__).parents[3] / "examples" / "strategies"
GOOG_CSV = Path(backtesting.__file__).parent / "test" / "GOOG.csv"


@dataclass
class Outcome:
    code: int
    out: str
    err: str


@pytest.fixture
def omoitrade(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    url = f"sqlite:///{tmp_path}/omoitrade.db"
    upgrade(url)
    database = Database(url)
    seed_demo(database)
    database.dispose()
    monkeypatch.setenv("OMOI_DATABASE_URL", url)
    monkeypatch.setenv("COLUMNS", "200")

    def run(*args: str) -> Outcome:
        monkeypatch.setattr(sys, "argv", ["omoitrade", *args])
        code = 0
        try:
            main()
        except SystemExit as exit_:
            code = int(exit_.code or 0)
        out, err = capsys.readouterr()
        return Outcome(code, out, err)

    return run


def test_a_backtest_prints_a_summary_and_writes_the_same_json_twice(
    omoitrade, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "goog.csv"
    data.write_bytes(GOOG_CSV.read_bytes())
    strategy = str(EXAMPLES / "sma_cross.json")
    first = omoitrade(
        "backtest", strategy, "--data", str(data), "--cash", "10000", "--commission", "0.002",
        "--json", str(tmp_path / "a.json"), "--report", str(tmp_path / "r.html"),
        "--png", str(tmp_path / "png"),
    )  # fmt: skip
    assert first.code == 0, first.err
    assert "63,341.19 USD" in first.out and "GOOG" in first.out
    again = omoitrade(
        "backtest", strategy, "--data", str(data), "--cash", "10000", "--commission", "0.002",
        "--json", str(tmp_path / "b.json"),
    )  # fmt: skip
    assert again.code == 0
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    result = json.loads((tmp_path / "a.json").read_text())
    assert len(result["trades"]) == 46
    html = (tmp_path / "r.html").read_text()
    assert '<script src="http' not in html and "sma_cross" in html
    assert sorted(p.name for p in (tmp_path / "png").iterdir()) == [
        "equity_drawdown.png",
        "price_GOOG.png",
    ]


def test_a_stored_run_opens_the_paper_gate(omoitrade, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    data = tmp_path / "goog.csv"
    data.write_bytes(GOOG_CSV.read_bytes())
    assert omoitrade("strategy", "add", str(EXAMPLES / "sma_cross.json")).code == 0
    assert omoitrade("strategy", "lifecycle", "sma_cross", "backtest").code == 0
    gated = omoitrade("strategy", "lifecycle", "sma_cross", "paper")
    assert gated.code == 1 and "no completed backtest" in gated.err
    stored = omoitrade(
        "backtest", str(EXAMPLES / "sma_cross.json"), "--data", str(data), "--store", "sma_cross"
    )
    assert stored.code == 0, stored.err
    assert "stored as backtest run" in stored.out and "version 1" in stored.out
    opened = omoitrade("strategy", "lifecycle", "sma_cross", "paper")
    assert opened.code == 0 and "is PAPER" in opened.out


def test_bad_inputs_get_one_line_each(omoitrade, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    strategy = str(EXAMPLES / "sma_cross.json")
    missing = omoitrade("backtest", strategy, "--data", str(tmp_path / "none.csv"))
    assert missing.code == 1 and missing.err.startswith("error: data: cannot read")
    assert len(missing.err.strip().splitlines()) == 1
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    bad = omoitrade("backtest", str(broken), "--data", str(GOOG_CSV))
    assert bad.code == 1 and len(bad.err.strip().splitlines()) == 1
    fill = omoitrade("backtest", strategy, "--data", str(GOOG_CSV), "--fill", "sideways")
    assert fill.err.strip() == "error: --fill: must be one of next-open, close, ohlc"
    dates = omoitrade("backtest", strategy, "--data", str(GOOG_CSV), "--from", "2030-01-01")
    assert dates.code == 1 and "no bars" in dates.err
