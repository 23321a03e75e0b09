"""``omoitrade backtest``: a summary, files that repeat byte for byte, the run stored."""

from __future__ import annotations

import json
import os
from decimal import Decimal as D
from pathlib import Path

import pytest

from omoitrade.store import Database
from omoitrade.testing import factories as f
from omoitrade.testing.cli import CommandLine

backtesting = pytest.importorskip("backtesting")

EXAMPLES = Path(__file__).parents[3] / "examples" / "strategies"
GOOG_CSV = Path(backtesting.__file__).parent / "test" / "GOOG.csv"


def test_a_backtest_prints_a_summary_and_writes_the_same_json_twice(
    omoitrade: CommandLine, tmp_path: Path
) -> None:
    data = tmp_path / "goog.csv"
    data.write_bytes(GOOG_CSV.read_bytes())
    strategy = str(EXAMPLES / "sma_cross.json")
    first = omoitrade(
        "backtest", strategy, "--data", str(data), "--cash", "10000", "--commission", "0.002",
        "--json", str(tmp_path / "a.json"), "--report", str(tmp_path / "r.html"),
        "--png", str(tmp_path / "png"),
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    assert "63,341.19 USD" in first.stdout and "GOOG" in first.stdout
    again = omoitrade(
        "backtest", strategy, "--data", str(data), "--cash", "10000", "--commission", "0.002",
        "--json", str(tmp_path / "b.json"),
    )  # fmt: skip
    assert again.returncode == 0
    assert (tmp_path / "a.json").read_bytes() == (tmp_path / "b.json").read_bytes()
    result = json.loads((tmp_path / "a.json").read_text())
    assert len(result["trades"]) == 46
    html = (tmp_path / "r.html").read_text()
    assert '<script src="http' not in html and "sma_cross" in html
    assert sorted(p.name for p in (tmp_path / "png").iterdir()) == [
        "equity_drawdown.png",
        "price_GOOG.png",
    ]


def test_a_stored_run_opens_the_paper_gate(omoitrade: CommandLine, tmp_path: Path) -> None:
    data = tmp_path / "goog.csv"
    data.write_bytes(GOOG_CSV.read_bytes())
    assert omoitrade("strategy", "add", str(EXAMPLES / "sma_cross.json")).returncode == 0
    assert omoitrade("strategy", "lifecycle", "sma_cross", "backtest").returncode == 0
    gated = omoitrade("strategy", "lifecycle", "sma_cross", "paper")
    assert gated.returncode == 1 and "no completed backtest" in gated.stderr
    stored = omoitrade(
        "backtest", str(EXAMPLES / "sma_cross.json"), "--data", str(data), "--store", "sma_cross"
    )
    assert stored.returncode == 0, stored.stderr
    assert "stored as backtest run" in stored.stdout and "version 1" in stored.stdout
    opened = omoitrade("strategy", "lifecycle", "sma_cross", "paper")
    assert opened.returncode == 0 and "is PAPER" in opened.stdout


def test_bad_inputs_get_one_line_each(omoitrade: CommandLine, tmp_path: Path) -> None:
    strategy = str(EXAMPLES / "sma_cross.json")
    missing = omoitrade("backtest", strategy, "--data", str(tmp_path / "none.csv"))
    assert missing.returncode == 1 and missing.stderr.startswith("error: data: cannot read")
    assert len(missing.stderr.strip().splitlines()) == 1
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    bad = omoitrade("backtest", str(broken), "--data", str(GOOG_CSV))
    assert bad.returncode == 1 and len(bad.stderr.strip().splitlines()) == 1
    fill = omoitrade("backtest", strategy, "--data", str(GOOG_CSV), "--fill", "sideways")
    assert fill.stderr.strip() == "error: --fill: must be one of next-open, close, ohlc"
    dates = omoitrade("backtest", strategy, "--data", str(GOOG_CSV), "--from", "2030-01-01")
    assert dates.returncode == 1 and "no bars" in dates.stderr


def test_a_backtest_runs_on_the_catalogs_bars_after_an_import(
    omoitrade: CommandLine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMOI_DATA_DIR", str(tmp_path / "data"))
    database = Database(os.environ["OMOI_DATABASE_URL"])
    with database.transaction() as uow:
        uow.instruments.add(f.make_instrument(symbol="GOOG", lot_size=D(1), min_quantity=D(1)))
    database.dispose()
    imported = omoitrade("data", "import", str(GOOG_CSV), "-i", "GOOG", "-t", "1d")
    assert imported.returncode == 0, imported.stderr
    strategy = str(EXAMPLES / "sma_cross.json")
    ran = omoitrade(
        "backtest", strategy, "--instrument", "SIM:GOOG", "--cash", "10000",
        "--commission", "0.002", "--from", "2004-08-19", "--to", "2013-03-01",
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert "63,341.19 USD" in ran.stdout  # the same bars as the file: the same result
    unknown = omoitrade("backtest", strategy, "--instrument", "SIM:NOPE")
    assert unknown.returncode == 1 and len(unknown.stderr.strip().splitlines()) == 1
    neither = omoitrade("backtest", strategy)
    assert neither.stderr.strip() == (
        "error: --data: give a data file, or --instrument for the catalog"
    )


TRADES = (
    "timestamp,price,size\n"  # minute bars close at 100, 99, 103 (SMA 1 crosses SMA 2)
    "2024-01-01T00:00:10Z,100,1\n2024-01-01T00:01:10Z,99,1\n"
    "2024-01-01T00:02:10Z,103,1\n2024-01-01T00:03:10Z,104,1\n"
    "2024-01-01T00:04:10Z,101,1\n"
)


def fast_cross(folder: Path) -> Path:
    """The SMA crossover with SMA 1 over SMA 2, so five minute bars make a trade."""
    document = json.loads((EXAMPLES / "sma_cross.json").read_text())
    document["parameters"] = {"fast": 1, "slow": 2}
    strategy = folder / "fast.json"
    strategy.write_text(json.dumps(document))
    return strategy


def test_a_backtest_over_a_tick_file(omoitrade: CommandLine, tmp_path: Path) -> None:
    data = tmp_path / "xyz_ticks.csv"
    data.write_text(TRADES)
    strategy = fast_cross(tmp_path)
    out = tmp_path / "r.json"
    ran = omoitrade(
        "backtest", str(strategy), "--data", str(data), "--timeframe", "1m",
        "--cash", "1000", "--json", str(out),
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert "XYZ" in ran.stdout
    (entry, *_) = json.loads(out.read_text())["fills"]
    assert (entry["side"], entry["execution_price"]) == ("BUY", "104")  # at the next trade


def test_a_backtest_runs_on_the_tick_catalog_after_an_import(
    omoitrade: CommandLine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMOI_DATA_DIR", str(tmp_path / "data"))
    database = Database(os.environ["OMOI_DATABASE_URL"])
    with database.transaction() as uow:
        uow.instruments.add(f.make_instrument(symbol="XYZ", lot_size=D(1), min_quantity=D(1)))
    database.dispose()
    data = tmp_path / "xyz_ticks.csv"
    data.write_text(TRADES)
    imported = omoitrade("data", "import-ticks", str(data), "-i", "XYZ")
    assert imported.returncode == 0, imported.stderr
    assert "imported 5 trades" in imported.stdout and "5 new, 0 replaced" in imported.stdout
    again = omoitrade("data", "import-ticks", str(data), "-i", "XYZ")
    assert "0 new, 5 replaced" in again.stdout  # the same trade ids: nothing doubled
    listing = omoitrade("data", "list")
    assert "trade ticks" in listing.stdout and "2024-01-01 00:04:10" in listing.stdout
    strategy, out = fast_cross(tmp_path), tmp_path / "r.json"
    ran = omoitrade(
        "backtest", str(strategy), "--instrument", "XYZ", "--ticks", "--timeframe", "1m",
        "--cash", "1000", "--json", str(out),
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    (entry, *_) = json.loads(out.read_text())["fills"]
    assert (entry["side"], entry["execution_price"]) == ("BUY", "104")  # as from the file
    later = omoitrade(
        "backtest", str(strategy), "--instrument", "XYZ", "--ticks", "--from", "2024-01-02"
    )
    assert later.returncode == 1
    assert later.stderr.strip() == (
        "error: data: no trades of the tick catalog (SIM:XYZ) in the chosen dates"
    )
    both = omoitrade("backtest", str(strategy), "--ticks", "--data", str(data))
    assert both.stderr.strip() == "error: --ticks: reads the catalog: give --instrument, not --data"
