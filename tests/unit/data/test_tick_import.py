"""Trade ticks from CSV and Parquet files: exact, in time order, one clear error."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D
from pathlib import Path

import pandas as pd
import pytest

from omoitrade.data.csv_import import DataFileError
from omoitrade.data.tick_import import is_tick_file, read_trade_ticks
from omoitrade.model.enums import OrderSide
from omoitrade.model.identifiers import InstrumentId

X = InstrumentId.of("SIM", "X")


def write(tmp_path: Path, text: str, name: str = "ticks.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_ticks_are_read_exactly_and_sorted_by_time(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "Time,Last,Qty,Side\n"
        "2024-01-02T09:30:01Z,100.25,3,B\n"
        "2024-01-02T09:30:00.5Z,100.10,0.5,sell\n",
    )
    first, second = read_trade_ticks(path, X)
    assert (first.timestamp, first.price, first.size, first.aggressor_side) == (
        datetime(2024, 1, 2, 9, 30, 0, 500000, tzinfo=UTC),
        D("100.10"),
        D("0.5"),
        OrderSide.SELL,
    )
    assert (second.price, second.aggressor_side) == (D("100.25"), OrderSide.BUY)
    assert is_tick_file(path)


def test_a_parquet_file_of_ticks(tmp_path: Path) -> None:
    path = tmp_path / "t.parquet"
    frame = pd.DataFrame(
        {"timestamp": ["2024-01-02 09:30:00"], "price": ["42000.5"], "size": ["0.01"]}
    )
    frame.to_parquet(path)
    (tick,) = read_trade_ticks(path, X)
    assert (tick.price, tick.size, tick.aggressor_side) == (D("42000.5"), D("0.01"), None)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("time,price,size\n2024-01-02,100,1\n2024-01-03,x,1\n", 'line 3, column "price"'),
        ("time,price,size\n2024-01-02,100,-1\n", 'line 2, column "size"'),
        ("time,price,size\n2024-01-02,0,1\n", "is not a positive number"),
        ("time,price,size,side\n2024-01-02,1,1,up\n", '"up" is not buy or sell'),
        ("time,size\n2024-01-02,1\n", "no column for price"),
        ("time,price,size\nnot a time,1,1\n", 'line 2, column "time"'),
    ],
)
def test_a_bad_cell_is_one_error_naming_line_and_column(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(DataFileError, match=message):
        read_trade_ticks(write(tmp_path, text), X)


def test_a_bar_file_is_not_a_tick_file(tmp_path: Path) -> None:
    bars = write(tmp_path, "date,open,high,low,close\n2024-01-02,1,2,0.5,1.5\n", "bars.csv")
    assert not is_tick_file(bars)
    with pytest.raises(DataFileError, match="no such file"):
        read_trade_ticks(tmp_path / "none.csv", X)
