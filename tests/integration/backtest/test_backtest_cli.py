"""``omoitrade backtest``: a summary, files that repeat byte for byte, the run stored."""

from __future__ import annotations

import io
import json
import os
import re
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from omoitrade.backtest.inputs import load_bars, load_strategy
from omoitrade.backtest.results import BacktestResult, iso
from omoitrade.backtest.storage import store_run
from omoitrade.core.errors import ValidationError
from omoitrade.model.market_data import Bar
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


AAPL = Path(__file__).parents[3] / "tests" / "fixtures" / "aapl_daily_yahoo.csv"


def run_json(omoitrade: CommandLine, out: Path, *args: str) -> dict[str, Any]:
    """``omoitrade backtest ARGS --json OUT``, which must succeed; the results written."""
    ran = omoitrade("backtest", *args, "--json", str(out))
    assert ran.returncode == 0, ran.stderr
    data: dict[str, Any] = json.loads(out.read_text())
    return data


def fills_at(result: dict[str, Any]) -> list[tuple[str, str, D]]:
    return [(x["executed_at"], x["side"], D(x["execution_price"])) for x in result["fills"]]


def aapl_bars() -> dict[str, Bar]:
    """The fixture's bars by their time as the JSON writes it, read as the CLI reads them."""
    _, series = load_bars(AAPL, "AAPL")
    return {iso(b.timestamp): b for b in series}


def test_a_python_strategy_file_backtests_and_trades(
    omoitrade: CommandLine, tmp_path: Path
) -> None:
    strategy = str(EXAMPLES / "momentum_breakout.py")
    result = run_json(omoitrade, tmp_path / "r.json", strategy, "--data", str(AAPL))
    assert result["strategy"] == "MomentumBreakout"
    assert result["parameters"] == {"entry_period": 20, "exit_period": 10, "quantity": "1"}
    assert len(result["trades"]) >= 3 and {x["side"] for x in result["fills"]} == {"BUY", "SELL"}
    bars = aapl_bars()
    assert all(price == bars[at].open for at, _, price in fills_at(result))  # next-open
    shown = omoitrade("backtest", strategy, "--data", str(AAPL))
    assert "MomentumBreakout on AAPL" in shown.stdout


def test_fill_close_trades_at_the_signal_bars_close_a_bar_before_next_open(
    omoitrade: CommandLine, tmp_path: Path
) -> None:
    strategy = str(EXAMPLES / "sma_cross.json")
    common = (strategy, "--data", str(AAPL))
    at_open = fills_at(run_json(omoitrade, tmp_path / "open.json", *common))
    at_close = fills_at(run_json(omoitrade, tmp_path / "close.json", *common, "--fill", "close"))
    bars = aapl_bars()
    times = list(bars)
    assert len(at_open) == len(at_close) >= 4
    for (open_at, open_side, open_price), (close_at, close_side, close_price) in zip(
        at_open, at_close, strict=True
    ):
        assert open_side == close_side
        assert close_price == bars[close_at].close  # at the close of the bar it decided on
        assert open_at == times[times.index(close_at) + 1]  # the same decision, next open
        assert open_price == bars[open_at].open


def test_fill_ohlc_fills_stops_and_targets_inside_the_bar(
    omoitrade: CommandLine, tmp_path: Path
) -> None:
    document = json.loads((EXAMPLES / "sma_cross.json").read_text())
    document["parameters"] = {"fast": 5, "slow": 10}
    document["risk_parameters"] |= {"stop_loss": {"percent": "2"}, "take_profit": {"percent": "3"}}
    strategy = tmp_path / "bracketed.json"
    strategy.write_text(json.dumps(document))
    common = (str(strategy), "--data", str(AAPL))
    bars = aapl_bars()
    at_open = fills_at(run_json(omoitrade, tmp_path / "open.json", *common))
    assert all(price == bars[at].open for at, _, price in at_open)  # exits wait for an open
    inside = fills_at(run_json(omoitrade, tmp_path / "ohlc.json", *common, "--fill", "ohlc"))
    exits = [(at, price) for at, side, price in inside if side == "SELL"]
    assert len(exits) >= 3
    assert all(bars[at].low <= price <= bars[at].high for at, _, price in inside)
    assert any(price != bars[at].open for at, price in exits)  # at a stop or target's price
    assert all(price == bars[at].open for at, side, price in inside if side == "BUY")


def test_the_instrument_option_names_the_data_files_instrument(
    omoitrade: CommandLine, tmp_path: Path
) -> None:
    strategy = str(EXAMPLES / "sma_cross.json")
    common = (strategy, "--data", str(AAPL))
    result = run_json(omoitrade, tmp_path / "r.json", *common, "--instrument", "SIM:ACME")
    assert list(result["instruments"].values()) == ["ACME"]
    assert {x["instrument_id"] for x in result["fills"]} == set(result["instruments"])
    assert len(result["fills"]) >= 4 and result["notes"] == []
    named = omoitrade("backtest", *common, "--instrument", "ACME")
    assert named.returncode == 0 and "sma_cross on ACME" in named.stdout
    elsewhere = omoitrade("backtest", *common, "--instrument", "XNAS:ACME")
    assert elsewhere.returncode == 1 and elsewhere.stdout == ""
    assert (
        elsewhere.stderr.strip() == "error: --instrument: XNAS:ACME: a backtest trades on SIM only"
    )


def test_the_progress_bar_follows_the_run_to_its_last_bar(
    omoitrade: CommandLine, monkeypatch: pytest.MonkeyPatch
) -> None:
    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, width=120, color_system=None)
    monkeypatch.setattr("omoitrade.cli.backtest.console", terminal)
    ran = omoitrade("backtest", str(EXAMPLES / "sma_cross.json"), "--data", str(AAPL))
    assert ran.returncode == 0, ran.stderr
    shown = screen.getvalue()
    assert re.search(r"backtest .*300/300 bars", shown)  # the callback moved it to the end
    assert "Final equity" in shown


def test_a_run_of_other_content_is_not_stored_and_the_gate_stays_shut(
    omoitrade: CommandLine, tmp_path: Path
) -> None:
    assert omoitrade("strategy", "add", str(EXAMPLES / "sma_cross.json")).returncode == 0
    assert omoitrade("strategy", "lifecycle", "sma_cross", "backtest").returncode == 0
    document = json.loads((EXAMPLES / "sma_cross.json").read_text())
    other = tmp_path / "other.json"
    other.write_text(json.dumps(document | {"parameters": {"fast": 5, "slow": 20}}))
    refused = omoitrade("backtest", str(other), "--data", str(AAPL), "--store", "sma_cross")
    assert refused.returncode == 1 and refused.stdout == ""  # refused before the run
    assert refused.stderr.strip() == (
        "error: --store: the backtested sma_cross is not sma_cross version 1 "
        "(it differs in parameters.fast): backtest that version to store its run"
    )
    python = str(EXAMPLES / "momentum_breakout.py")
    kind = omoitrade("backtest", python, "--data", str(AAPL), "--store", "sma_cross")
    assert kind.returncode == 1 and len(kind.stderr.strip().splitlines()) == 1
    assert "differs in kind" in kind.stderr
    gated = omoitrade("strategy", "lifecycle", "sma_cross", "paper")
    assert gated.returncode == 1 and "no completed backtest" in gated.stderr
    # the same content written otherwise (keys, spacing, its version field) is that version
    same = tmp_path / "same.json"
    same.write_text(json.dumps(dict(reversed(document.items())) | {"version": 9}, indent=4))
    stored = omoitrade("backtest", str(same), "--data", str(AAPL), "--store", "sma_cross")
    assert stored.returncode == 0, stored.stderr
    assert "stored as backtest run" in stored.stdout and "version 1" in stored.stdout
    assert omoitrade("strategy", "lifecycle", "sma_cross", "paper").returncode == 0


def test_a_python_strategy_is_stored_only_with_its_stored_code_and_parameters(
    omoitrade: CommandLine, tmp_path: Path
) -> None:
    source = EXAMPLES / "momentum_breakout.py"
    added = omoitrade(
        "strategy", "add", str(source), "--instrument", "SIM:AAPL", "--timeframe", "1d"
    )
    assert added.returncode == 0, added.stderr
    assert omoitrade("strategy", "lifecycle", "MomentumBreakout", "backtest").returncode == 0
    changed = tmp_path / "momentum_breakout.py"
    changed.write_text(source.read_text().replace("exit_period: int = 10", "exit_period: int = 5"))
    store = ("--data", str(AAPL), "--store", "MomentumBreakout")
    refused = omoitrade("backtest", str(changed), *store)
    assert refused.returncode == 1 and refused.stdout == ""
    assert refused.stderr.strip().startswith(
        "error: --store: the backtested MomentumBreakout is not MomentumBreakout version 1 "
        "(it differs in python.code)"
    )
    updated = omoitrade("strategy", "update", "MomentumBreakout", str(changed))
    assert updated.returncode == 0, updated.stderr  # version 2 keeps the stored parameters
    out = tmp_path / "r.json"
    stored = omoitrade("backtest", str(changed), *store, "--json", str(out))
    assert stored.returncode == 0, stored.stderr
    assert "of MomentumBreakout version 2" in stored.stdout
    ran = json.loads(out.read_text())["parameters"]  # the version's, not the file's defaults
    assert ran == {"entry_period": 20, "exit_period": 10, "quantity": "1"}
    again = omoitrade("backtest", str(source), *store)  # version 1's code is not version 2
    assert again.returncode == 1 and "(it differs in python.code)" in again.stderr
    database = Database(os.environ["OMOI_DATABASE_URL"])
    try:  # stored directly, a run of the file's defaults is not version 2 either
        with pytest.raises(ValidationError, match=r"differs in parameters\.exit_period\)"):
            store_run(
                database,
                "MomentumBreakout",
                BacktestResult.from_json(out.read_text()),
                load_strategy(changed),
            )
    finally:
        database.dispose()


def test_a_strategy_paused_by_an_error_is_noted_under_the_summary(
    omoitrade: CommandLine, tmp_path: Path
) -> None:
    failing = tmp_path / "failing.py"
    failing.write_text(
        "from omoitrade.strategy.base import Strategy\n\n\n"
        "class Failing(Strategy):\n"
        "    def on_bar(self, bar):\n"
        "        raise RuntimeError('no data feed today')\n"
    )
    ran = omoitrade("backtest", str(failing), "--data", str(AAPL))
    assert ran.returncode == 0, ran.stderr
    assert "note: paused: Failing: RuntimeError: no data feed today" in ran.stdout.splitlines()
