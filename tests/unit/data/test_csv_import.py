"""Reading OHLCV files: column rules, time zones, exact numbers, one clear error per bad file."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from omoitrade.core.errors import ValidationError
from omoitrade.core.ids import IdGenerator
from omoitrade.data.catalog import BarSeries
from omoitrade.data.csv_import import DataFileError, read_ohlcv
from omoitrade.model import InstrumentId, Timeframe

FIXTURES = Path(__file__).parents[2] / "fixtures"
YAHOO = FIXTURES / "aapl_daily_yahoo.csv"
AAPL = InstrumentId.of("SIM", "AAPL")
HEADER = "Date,Open,High,Low,Close,Volume"


def read(path: Path, tz: str | None = None, seed: int = 7) -> BarSeries:
    return read_ohlcv(path, AAPL, Timeframe.D1, ids=IdGenerator(lambda: 0, seed=seed), tz=tz)


def write(tmp_path: Path, text: str, name: str = "prices.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def error_of(path: Path, tz: str | None = None) -> str:
    with pytest.raises(DataFileError) as caught:
        read(path, tz)
    return caught.value.message


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# --- files that import ---------------------------------------------------------------


def test_yahoo_finance_export_imports_every_row_exactly() -> None:
    series = read(YAHOO)
    bars = series.bars()
    assert len(bars) == 300
    first, last = bars[0], bars[-1]
    # 2023-01-03,124.179994,125.320000,123.490000,124.599994,123.752714,123832609
    assert first.timestamp == utc(2023, 1, 3)
    assert (first.open, first.high, first.low) == (
        Decimal("124.179994"),
        Decimal("125.320000"),
        Decimal("123.490000"),
    )
    assert first.close == Decimal("124.599994")  # Close, not Adj Close
    assert first.volume == Decimal(123832609)
    assert str(first.high) == "125.320000"  # the text as written, not a float's digits
    assert last.timestamp == utc(2024, 2, 26)
    assert [b.timestamp for b in bars] == sorted(b.timestamp for b in bars)
    assert all(b.instrument_id == AAPL and b.timeframe is Timeframe.D1 for b in bars)


def test_bar_ids_come_from_the_injected_generator() -> None:
    assert list(read(YAHOO, seed=3).ids) == list(read(YAHOO, seed=3).ids)
    assert list(read(YAHOO, seed=3).ids) != list(read(YAHOO, seed=4).ids)


def test_adj_close_is_used_only_when_there_is_no_close(tmp_path: Path) -> None:
    path = write(tmp_path, "Date,Open,High,Low,Adj Close,Volume\n2024-01-02,10,12,9,11.5,5\n")
    assert read(path).close == [Decimal("11.5")]


def test_column_names_are_matched_case_insensitively_with_short_forms(tmp_path: Path) -> None:
    text = "TIMESTAMP;O;H;L;C;Vol\n2024-01-02T09:30:00Z;10;12;9;11;5\n"
    bar = read(write(tmp_path, text)).bars()[0]
    assert (bar.timestamp, bar.open, bar.close, bar.volume) == (
        utc(2024, 1, 2, 9, 30),
        Decimal(10),
        Decimal(11),
        Decimal(5),
    )


def test_an_unnamed_first_column_is_a_pandas_index_of_dates(tmp_path: Path) -> None:
    path = write(tmp_path, ",Open,High,Low,Close,Volume\n2004-08-19,100,104.06,95.96,100.34,9\n")
    bar = read(path).bars()[0]
    assert (bar.timestamp, bar.open, bar.close) == (
        utc(2004, 8, 19),
        Decimal(100),
        Decimal("100.34"),
    )


def test_volume_is_optional_and_zero_when_absent(tmp_path: Path) -> None:
    path = write(tmp_path, "time,open,high,low,close\n2024-01-02,1.1,1.2,1.0,1.15\n")
    assert read(path).volume == [Decimal(0)]


def test_a_file_without_header_is_date_open_high_low_close_volume(tmp_path: Path) -> None:
    path = write(tmp_path, "2024-01-03,101,103,100,102,7\n2024-01-02,100,102,99,101,6\n")
    bars = read(path).bars()
    assert [b.timestamp for b in bars] == [utc(2024, 1, 2), utc(2024, 1, 3)]
    assert (bars[0].open, bars[0].high, bars[0].low, bars[0].close, bars[0].volume) == (
        Decimal(100),
        Decimal(102),
        Decimal(99),
        Decimal(101),
        Decimal(6),
    )


def test_epoch_milliseconds_are_recognised_by_magnitude(tmp_path: Path) -> None:
    text = (
        "timestamp,open,high,low,close,volume\n1704153600000,1,2,1,2,0\n1704240000000,2,3,2,3,0\n"
    )
    stamps = [b.timestamp for b in read(write(tmp_path, text)).bars()]
    assert stamps == [utc(2024, 1, 2), utc(2024, 1, 3)]


def test_epoch_seconds_are_recognised_by_magnitude(tmp_path: Path) -> None:
    path = write(tmp_path, "1704153600,1,2,1,2,0\n1704153660,2,3,2,3,0\n")
    assert [b.timestamp for b in read(path).bars()] == [utc(2024, 1, 2), utc(2024, 1, 2, 0, 1)]


def test_naive_times_are_utc_unless_a_zone_is_given(tmp_path: Path) -> None:
    path = write(tmp_path, f"{HEADER}\n2024-01-02 09:30,1,2,1,2,0\n2024-07-02 09:30,1,2,1,2,0\n")
    assert [b.timestamp for b in read(path).bars()] == [
        utc(2024, 1, 2, 9, 30),
        utc(2024, 7, 2, 9, 30),
    ]
    in_new_york = [b.timestamp for b in read(path, tz="America/New_York").bars()]
    assert in_new_york == [utc(2024, 1, 2, 14, 30), utc(2024, 7, 2, 13, 30)]  # EST, then EDT


def test_times_with_an_offset_are_converted_to_utc_whatever_the_zone(tmp_path: Path) -> None:
    text = f"{HEADER}\n2024-01-02T09:30:00-05:00,1,2,1,2,0\n2024-01-03T15:30:00+01:00,1,2,1,2,0\n"
    expected = [utc(2024, 1, 2, 14, 30), utc(2024, 1, 3, 14, 30)]
    path = write(tmp_path, text)
    assert [b.timestamp for b in read(path).bars()] == expected
    assert [b.timestamp for b in read(path, tz="Asia/Tokyo").bars()] == expected


def test_separate_date_and_time_columns_are_joined(tmp_path: Path) -> None:
    text = "Date,Time,Open,High,Low,Close\n2024-01-02,09:30,1,2,1,2\n2024-01-02,09:31,1,2,1,2\n"
    stamps = [b.timestamp for b in read(write(tmp_path, text), tz="Europe/Berlin").bars()]
    assert stamps == [utc(2024, 1, 2, 8, 30), utc(2024, 1, 2, 8, 31)]


def test_rows_are_sorted_by_time(tmp_path: Path) -> None:
    rows = "\n".join(f"2024-01-{day:02d},{day},{day + 1},{day},{day},1" for day in (5, 2, 9, 3))
    series = read(write(tmp_path, f"{HEADER}\n{rows}\n"))
    assert series.open == [Decimal(2), Decimal(3), Decimal(5), Decimal(9)]


def test_blank_lines_are_skipped_without_shifting_line_numbers(tmp_path: Path) -> None:
    text = f"{HEADER}\n\n2024-01-02,1,2,1,2,0\n\n2024-01-03,1,x,1,2,0\n"
    assert (
        error_of(write(tmp_path, text)) == 'prices.csv line 5, column "High": "x" is not a number'
    )


# --- files that are refused, each with its one line ------------------------------------


def test_a_bad_number_names_the_line_and_column(tmp_path: Path) -> None:
    rows = [f"2024-01-{day:02d},100,101,99,100.5,10" for day in range(2, 17)]
    rows.append("2024-01-17,100,abc,99,100.5,10")
    path = write(tmp_path, HEADER + "\n" + "\n".join(rows) + "\n")
    assert error_of(path) == 'prices.csv line 17, column "High": "abc" is not a number'


def test_a_missing_column_lists_the_columns_found(tmp_path: Path) -> None:
    path = write(tmp_path, "Date,Open,High,Low,Volume\n2024-01-02,1,2,1,5\n")
    assert error_of(path) == "prices.csv: no column for close; found: Date, Open, High, Low, Volume"


def test_a_low_above_open_or_close_is_refused(tmp_path: Path) -> None:
    rows = [f"2024-01-{day:02d},100,102,99,101,10" for day in range(2, 9)]
    rows.append("2024-01-09,101,103,101.5,102,10")
    path = write(tmp_path, HEADER + "\n" + "\n".join(rows) + "\n")
    assert error_of(path) == 'prices.csv line 9, column "Low": low 101.5 is above open/close'


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("2024-01-02,100,99.5,99,99.8,1", 'column "High": high 99.5 is below open/close'),
        ("2024-01-02,100,98,99,99.5,1", 'column "High": high 98 is below low 99'),
        ("2024-01-02,0,1,0,1,1", 'column "Open": open 0 is not positive'),
        ("2024-01-02,1,2,1,2,-3", 'column "Volume": volume -3 is negative'),
        ("2024-01-02,1,2,1,,3", 'column "Close": missing value'),
        ("2024-01-32,1,2,1,2,3", 'column "Date": "2024-01-32" is not a timestamp'),
        ("2024-01-02,1.0000000000000000001,2,1,2,3", "more than 18 decimal places"),
        ("2024-01-02,1,2,1,2,NaN", 'column "Volume": "NaN" is not a number'),
    ],
)
def test_each_broken_rule_is_one_line_naming_line_and_column(
    tmp_path: Path, row: str, message: str
) -> None:
    path = write(tmp_path, f"{HEADER}\n2024-01-01,1,2,1,2,3\n{row}\n")
    error = error_of(path)
    assert error.startswith("prices.csv line 3, ")
    assert error.endswith(message)
    assert "\n" not in error


def test_a_repeated_timestamp_names_both_lines(tmp_path: Path) -> None:
    text = f"{HEADER}\n2024-01-02,1,2,1,2,0\n2024-01-03,1,2,1,2,0\n2024-01-03,1,2,1,2,0\n"
    assert error_of(write(tmp_path, text)) == (
        "prices.csv line 4: timestamp 2024-01-03 repeats line 3"
    )


def test_the_first_bad_line_is_reported_whatever_the_kind_of_problem(tmp_path: Path) -> None:
    text = f"{HEADER}\n2024-01-02,1,2,1,2,0\n2024-01-03,1,6,5,2,0\n2024-01-04,1,x,1,2,0\n"
    assert error_of(write(tmp_path, text)) == (
        'prices.csv line 3, column "Low": low 5 is above open/close'
    )


def test_an_empty_file_is_refused(tmp_path: Path) -> None:
    assert error_of(write(tmp_path, "")) == "prices.csv: the file is empty"
    assert error_of(write(tmp_path, "\n\n")) == "prices.csv: the file is empty"


def test_a_header_without_rows_is_refused(tmp_path: Path) -> None:
    assert error_of(write(tmp_path, f"{HEADER}\n")) == (
        "prices.csv: the file has a header but no data rows"
    )


def test_a_row_with_extra_fields_is_refused(tmp_path: Path) -> None:
    text = f"{HEADER}\n2024-01-02,1,2,1,2,0\n2024-01-03,1,2,1,2,0,9\n"
    assert error_of(write(tmp_path, text)) == "prices.csv line 3: has 7 fields, expected 6"


def test_a_headerless_row_with_too_few_fields_is_refused(tmp_path: Path) -> None:
    assert "line 1: has 4 fields and no header" in error_of(write(tmp_path, "2024-01-02,1,2,1\n"))


def test_a_time_inside_a_daylight_saving_gap_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, f"{HEADER}\n2024-03-10 01:30,1,2,1,2,0\n2024-03-10 02:30,1,2,1,2,0\n")
    assert error_of(path, tz="America/New_York") == (
        'prices.csv line 3, column "Date": 2024-03-10 02:30 falls in a daylight-saving change '
        "in America/New_York (skipped or repeated)"
    )


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    assert error_of(tmp_path / "nowhere.csv") == "nowhere.csv: no such file"


def test_the_error_is_a_typed_validation_error() -> None:
    error = DataFileError("prices.csv", "line 3", "boom")
    assert isinstance(error, ValidationError)
    assert error.to_dict()["code"] == "data-file-invalid"


def test_an_unknown_time_zone_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="unknown time zone 'Mars/Olympus'"):
        read(write(tmp_path, f"{HEADER}\n2024-01-02,1,2,1,2,0\n"), tz="Mars/Olympus")


# --- Parquet -------------------------------------------------------------------------------


def test_parquet_with_typed_columns_imports_with_the_same_rules(tmp_path: Path) -> None:
    table = pa.table(
        {
            "Datetime": pa.array(
                [datetime(2024, 1, 3, 9, 30), datetime(2024, 1, 2, 9, 30)], pa.timestamp("ms")
            ),
            "Open": pa.array([Decimal("100.25"), Decimal("99.50")], pa.decimal128(10, 2)),
            "High": [101.1, 100.7],  # floats: their shortest text, never 101.09999999999999
            "Low": ["99.9", "99.1"],
            "Close": [100.5, 100.0],
            "Volume": pa.array([1200, 800], pa.int64()),
        }
    )
    path = tmp_path / "prices.parquet"
    pq.write_table(table, path)
    bars = read(path, tz="America/New_York").bars()
    assert [b.timestamp for b in bars] == [utc(2024, 1, 2, 14, 30), utc(2024, 1, 3, 14, 30)]
    assert (bars[0].open, bars[0].high, bars[0].low, bars[0].close, bars[0].volume) == (
        Decimal("99.50"),
        Decimal("100.7"),
        Decimal("99.1"),
        Decimal("100.0"),
        Decimal(800),
    )
    assert str(bars[1].high) == "101.1"


def test_parquet_errors_name_the_row(tmp_path: Path) -> None:
    table = pa.table(
        {
            "timestamp": pa.array([utc(2024, 1, 2), utc(2024, 1, 3)], pa.timestamp("us", "UTC")),
            "open": [1.0, 2.0],
            "high": [2.0, 1.5],
            "low": [1.0, 1.0],
            "close": [1.5, 1.8],
        }
    )
    path = tmp_path / "prices.parquet"
    pq.write_table(table, path)
    assert error_of(path) == 'prices.parquet row 2, column "high": high 1.5 is below open/close'


def test_parquet_without_a_close_column_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "prices.parquet"
    pq.write_table(
        pa.table({"time": [1704153600], "open": [1.0], "high": [1.0], "low": [1.0]}), path
    )
    assert error_of(path) == "prices.parquet: no column for close; found: time, open, high, low"


def test_a_file_that_is_not_parquet_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER, name="prices.parquet")
    assert error_of(path).startswith("prices.parquet: is not a readable Parquet file (")
