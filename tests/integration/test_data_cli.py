"""``omoitrade data`` run as a user runs it: a real process, a fresh data directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

YAHOO = Path(__file__).parents[1] / "fixtures" / "aapl_daily_yahoo.csv"


def omoitrade(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "COLUMNS": "200", "OMOI_DATA_DIR": str(data_dir)}
    environment.pop("OMOI_DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "omoitrade", *args],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


def catalog_files(data_dir: Path) -> list[Path]:
    root = data_dir / "catalog"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def test_import_on_a_fresh_machine_then_list_shows_it(tmp_path: Path) -> None:
    result = omoitrade(
        "data", "import", str(YAHOO), "--instrument", "AAPL", "--timeframe", "1d",
        "--tz", "America/New_York", data_dir=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "imported 300 1d bars of AAPL@SIM from aapl_daily_yahoo.csv" in result.stdout
    assert "2023-01-03 05:00 UTC" in result.stdout  # midnight in New York
    assert "300 new, 0 replaced" in result.stdout
    assert "exchange=SIM/symbol=AAPL/timeframe=1d" in result.stdout
    assert "the newest 300 bars in market_data" in result.stdout
    assert (tmp_path / "omoitrade.db").exists()
    assert [p.name for p in catalog_files(tmp_path)] == ["2023.parquet", "2024.parquet"]

    listing = omoitrade("data", "list", data_dir=tmp_path)
    assert listing.returncode == 0, listing.stderr
    row = next(line for line in listing.stdout.splitlines() if "AAPL" in line)
    assert row.split() == ["SIM", "AAPL", "1d", "300", "2023-01-03", "05:00", "2024-02-26", "05:00"]
    assert "(times in UTC)" in listing.stdout


def test_a_malformed_file_exits_1_with_one_line_and_stores_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "prices.csv"
    bad.write_text("Date,Open,High,Low,Close,Volume\n2024-01-02,1,2,1,2,3\n2024-01-03,1,4,3,2,3\n")
    result = omoitrade(
        "data", "import", str(bad), "-i", "AAPL", "-t", "1d", data_dir=tmp_path / "var"
    )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        'error: prices.csv line 3, column "Low": low 3 is above open/close'
    ]
    assert catalog_files(tmp_path / "var") == []
    listing = omoitrade("data", "list", data_dir=tmp_path / "var")
    assert "is empty" in listing.stdout


def test_an_unknown_instrument_exits_1_naming_the_known_ones(tmp_path: Path) -> None:
    result = omoitrade("data", "import", str(YAHOO), "-i", "MSFT", "-t", "1d", data_dir=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: unknown instrument MSFT on SIM; known symbols: AAPL, BTC/USD, EUR/USD"
    ]
    assert catalog_files(tmp_path) == []


def test_trade_ticks_import_on_a_fresh_machine_and_bad_files_store_nothing(
    tmp_path: Path,
) -> None:
    trades = tmp_path / "btc_trades.csv"
    trades.write_text(
        "time,price,qty,side\n"
        "2024-03-01T23:59:59.250Z,42000.5,0.25,buy\n"
        "2024-03-02T00:00:00.125Z,41999,0.0001,s\n"
    )
    result = omoitrade("data", "import-ticks", str(trades), "-i", "BTC/USD", data_dir=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "imported 2 trades of BTC/USD@SIM from btc_trades.csv" in result.stdout
    assert "2 new, 0 replaced" in result.stdout and "(2 day files)" in result.stdout
    names = [p.name for p in catalog_files(tmp_path)]
    assert names == ["2024-03-01.parquet", "2024-03-02.parquet"]
    listing = omoitrade("data", "list", data_dir=tmp_path)
    row = next(line for line in listing.stdout.splitlines() if "BTC/USD" in line)
    stamps = ["2024-03-01", "23:59:59", "2024-03-02", "00:00:00"]
    assert row.split() == ["SIM", "BTC/USD", "2", "2", *stamps]

    bad = tmp_path / "bad_trades.csv"
    bad.write_text("time,price,qty\n2024-03-03T00:00:00Z,42000,1\n2024-03-03T00:00:01Z,-1,1\n")
    refused = omoitrade("data", "import-ticks", str(bad), "-i", "BTC/USD", data_dir=tmp_path)
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines() == [
        'error: bad_trades.csv line 3, column "price": "-1" is not a positive number'
    ]
    unknown = omoitrade("data", "import-ticks", str(trades), "-i", "MSFT", data_dir=tmp_path)
    assert unknown.stderr.strip().splitlines() == [
        "error: unknown instrument MSFT on SIM; known symbols: AAPL, BTC/USD, EUR/USD"
    ]
    assert [p.name for p in catalog_files(tmp_path)] == names  # nothing more stored
