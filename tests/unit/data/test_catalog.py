"""The Parquet catalog: exact round trips, merging, range reads that open only what they need,
and writes that are all or nothing."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

from omoitrade.core.errors import ValidationError
from omoitrade.core.ids import IdGenerator
from omoitrade.data import parquet_files as files_module
from omoitrade.data.catalog import (
    ROW_GROUP_ROWS,
    BarSeries,
    CatalogError,
    ParquetCatalog,
    to_ns,
)
from omoitrade.model import Bar, BarId, Instrument, Timeframe
from omoitrade.testing.factories import make_instrument

BTC = make_instrument()  # BTC/USD on SIM
IDS = IdGenerator(lambda: 0, seed=11)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def bar(at: datetime, close: str = "42000.50", instrument: Instrument = BTC, **fields: Any) -> Bar:
    price = Decimal(close)
    values: dict[str, Any] = {
        "id": BarId.new(IDS),
        "instrument_id": instrument.id,
        "timestamp": at,
        "timeframe": Timeframe.D1,
        "open": price,
        "high": price + 10,
        "low": price - 10,
        "close": price,
        "volume": Decimal("1.25"),
    }
    return Bar(**(values | fields))


def days(first: datetime, count: int, close: str = "100.5") -> list[Bar]:
    return [bar(first + timedelta(days=i), close) for i in range(count)]


def stored_files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


@pytest.fixture
def catalog(tmp_path: Path) -> ParquetCatalog:
    return ParquetCatalog(tmp_path / "catalog")


def test_bars_round_trip_with_exact_decimals(catalog: ParquetCatalog) -> None:
    written = [
        bar(utc(2024, 1, 2), "42000.50", bid=Decimal("42000.49"), ask=Decimal("42000.51")),
        bar(
            utc(2024, 1, 3),
            "12345678901234567890.123456789012345678",
            volume=Decimal("0.000000000000000001"),
        ),
        bar(utc(2024, 1, 4), "0.00000001", low=Decimal("0.000000005"), volume=Decimal(0)),
    ]
    catalog.write_bars(BTC, Timeframe.D1, written)
    assert catalog.read_bars(BTC, Timeframe.D1) == written
    read = catalog.read_bars(BTC.id, Timeframe.D1)
    assert [str(b.close) for b in read] == [
        "42000.50".rstrip("0"),  # storage scale trims trailing zeros: equal value
        "12345678901234567890.123456789012345678",
        "1E-8",
    ]
    assert read[2].volume == 0 and str(read[2].volume) == "0"


def test_layout_is_exchange_symbol_timeframe_year(catalog: ParquetCatalog) -> None:
    catalog.write_bars(BTC, Timeframe.D1, [bar(utc(2023, 12, 31)), bar(utc(2024, 1, 1))])
    assert stored_files(catalog.root) == [
        "bars/exchange=SIM/symbol=BTC%2FUSD/timeframe=1d/2023.parquet",
        "bars/exchange=SIM/symbol=BTC%2FUSD/timeframe=1d/2024.parquet",
    ]
    schema = pq.read_schema(catalog.root / stored_files(catalog.root)[0])
    assert str(schema.field("close").type) == "decimal128(38, 18)"
    assert str(schema.field("timestamp").type) == "timestamp[us, tz=UTC]"


def test_writing_merges_and_replaces_bars_with_the_same_timestamp(
    catalog: ParquetCatalog,
) -> None:
    first = catalog.write_bars(BTC, Timeframe.D1, days(utc(2024, 1, 1), 5, "100"))
    assert (first.added, first.replaced) == (5, 0)
    update = days(utc(2024, 1, 4), 4, "200")  # Jan 4-5 replace, Jan 6-7 are new
    second = catalog.write_bars(BTC, Timeframe.D1, update)
    assert (second.added, second.replaced) == (2, 2)
    stored = catalog.read_bars(BTC, Timeframe.D1)
    assert [b.timestamp.day for b in stored] == [1, 2, 3, 4, 5, 6, 7]
    assert [b.close for b in stored] == [Decimal(100)] * 3 + [Decimal(200)] * 4
    assert [b.id for b in stored[3:]] == [b.id for b in update]


def test_range_reads_include_start_and_exclude_end_across_years(
    catalog: ParquetCatalog,
) -> None:
    catalog.write_bars(BTC, Timeframe.D1, days(utc(2023, 12, 25), 20))
    window = catalog.read_bars(BTC, Timeframe.D1, utc(2023, 12, 30), utc(2024, 1, 3))
    assert [b.timestamp for b in window] == [
        utc(2023, 12, 30),
        utc(2023, 12, 31),
        utc(2024, 1, 1),
        utc(2024, 1, 2),
    ]
    assert [b.timestamp for b in catalog.read_bars(BTC, Timeframe.D1, start=utc(2024, 1, 12))] == [
        utc(2024, 1, 12),
        utc(2024, 1, 13),
    ]
    assert len(catalog.read_bars(BTC, Timeframe.D1, end=utc(2023, 12, 26))) == 1
    assert catalog.read_bars(BTC, Timeframe.H1) == []
    assert catalog.read_bars(make_instrument(symbol="ETH/USD"), Timeframe.D1) == []


def test_a_range_read_opens_only_the_years_it_needs(catalog: ParquetCatalog) -> None:
    catalog.write_bars(BTC, Timeframe.D1, days(utc(2022, 12, 30), 400))
    directory = catalog.directory("SIM", "BTC/USD", Timeframe.D1)
    assert sorted(p.name for p in directory.iterdir()) == [
        "2022.parquet",
        "2023.parquet",
        "2024.parquet",
    ]
    (directory / "2022.parquet").write_bytes(b"not parquet")  # any read of it would fail
    (directory / "2024.parquet").write_bytes(b"not parquet")
    year = catalog.read_bars(BTC.id, Timeframe.D1, utc(2023, 1, 1), utc(2024, 1, 1))
    assert len(year) == 365
    with pytest.raises(CatalogError, match=r"catalog file .*2024\.parquet is unreadable"):
        catalog.read_bars(BTC.id, Timeframe.D1, utc(2023, 12, 1), utc(2024, 1, 2))


def test_within_a_year_the_timestamp_statistics_allow_row_group_pruning(
    catalog: ParquetCatalog,
) -> None:
    start = utc(2024, 1, 1)
    count = ROW_GROUP_ROWS * 3 + 5
    stamps = np.arange(count, dtype=np.int64) * 60_000_000_000 + to_ns(start)
    price = [Decimal("1.5")] * count
    series = BarSeries(
        BTC.id,
        Timeframe.M1,
        [BarId.new(IDS) for _ in range(count)],
        stamps,
        price,
        price,
        price,
        price,
        price,
    )
    written = catalog.write_bars(BTC, Timeframe.M1, series)
    metadata = pq.read_metadata(written.files[0])
    assert metadata.num_row_groups == 4
    column = metadata.schema.names.index("timestamp")
    bounds = [metadata.row_group(i).column(column).statistics for i in range(4)]
    assert all(b.has_min_max for b in bounds)
    # sorted, non-overlapping row groups: a filter on time skips all but the ones it needs
    assert all(bounds[i].max < bounds[i + 1].min for i in range(3))
    week = catalog.read_series(
        BTC, Timeframe.M1, start + timedelta(minutes=10_000), start + timedelta(minutes=10_100)
    )
    assert len(week) == 100
    assert week.first == start + timedelta(minutes=10_000)


def test_list_shows_each_instrument_and_timeframe(catalog: ParquetCatalog) -> None:
    assert catalog.list() == []
    catalog.write_bars(BTC, Timeframe.D1, days(utc(2023, 12, 30), 5))
    aapl = make_instrument(symbol="AAPL")
    catalog.write_bars(aapl, Timeframe.D1, [bar(utc(2024, 3, 1), instrument=aapl)])
    entries = catalog.list()
    assert [(e.exchange, e.symbol, e.timeframe, e.count) for e in entries] == [
        ("SIM", "AAPL", Timeframe.D1, 1),
        ("SIM", "BTC/USD", Timeframe.D1, 5),
    ]
    assert (entries[1].first, entries[1].last) == (utc(2023, 12, 30), utc(2024, 1, 3))
    assert entries[1].instrument_id == BTC.id
    assert len(entries[1].files) == 2


def test_a_failed_rename_leaves_every_file_as_it_was(
    catalog: ParquetCatalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog.write_bars(BTC, Timeframe.D1, days(utc(2023, 12, 30), 5, "100"))
    before = {path: (catalog.root / path).read_bytes() for path in stored_files(catalog.root)}
    real_replace = os.replace
    calls = 0

    def replace_failing_the_second_time(source: Any, target: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise OSError("disk full")
        real_replace(source, target)

    monkeypatch.setattr(files_module.os, "replace", replace_failing_the_second_time)
    with pytest.raises(CatalogError, match=r"could not publish .*2024\.parquet: disk full"):
        catalog.write_bars(BTC, Timeframe.D1, days(utc(2023, 12, 31), 10, "200"))
    monkeypatch.undo()
    after = {path: (catalog.root / path).read_bytes() for path in stored_files(catalog.root)}
    assert after == before  # the 2023 file that was renamed first is back; no temp files
    assert [b.close for b in catalog.read_bars(BTC, Timeframe.D1)] == [Decimal(100)] * 5


def test_a_failure_while_writing_leaves_nothing_behind(
    catalog: ParquetCatalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_write = pq.write_table

    def write_half_then_fail(table: Any, where: Any, **options: Any) -> None:
        real_write(table.slice(0, 1), where, **options)
        raise OSError("device lost")

    monkeypatch.setattr(files_module.pq, "write_table", write_half_then_fail)
    with pytest.raises(CatalogError, match="device lost"):
        catalog.write_bars(BTC, Timeframe.D1, days(utc(2024, 1, 1), 3))
    assert [p for p in stored_files(catalog.root) if p.endswith("parquet") or ".tmp" in p] == []
    monkeypatch.undo()
    assert catalog.read_bars(BTC, Timeframe.D1) == []


def test_a_published_write_can_be_rolled_back(catalog: ParquetCatalog) -> None:
    catalog.write_bars(BTC, Timeframe.D1, days(utc(2024, 1, 1), 2, "100"))
    series = BarSeries.from_bars(BTC.id, Timeframe.D1, days(utc(2024, 1, 1), 3, "300"))
    with catalog.stage(BTC, series) as staged:
        assert [b.close for b in catalog.read_bars(BTC, Timeframe.D1)] == [Decimal(100)] * 2
        staged.publish()
        assert [b.close for b in catalog.read_bars(BTC, Timeframe.D1)] == [Decimal(300)] * 3
        staged.rollback()
    assert [b.close for b in catalog.read_bars(BTC, Timeframe.D1)] == [Decimal(100)] * 2
    assert len(stored_files(catalog.root)) == 1


def test_a_value_the_storage_type_cannot_hold_is_refused_and_nothing_written(
    catalog: ParquetCatalog,
) -> None:
    too_fine = bar(utc(2024, 1, 1), volume=Decimal("0.0000000000000000001"))
    with pytest.raises(ValidationError, match=r"volume: a value does not fit decimal\(38, 18\)"):
        catalog.write_bars(BTC, Timeframe.D1, [too_fine])
    assert [p for p in stored_files(catalog.root) if "parquet" in p] == []


def test_a_series_must_be_strictly_ascending_and_of_one_instrument() -> None:
    price = [Decimal(1)] * 2
    with pytest.raises(ValidationError, match="strictly ascending"):
        BarSeries(
            BTC.id,
            Timeframe.D1,
            [BarId.new(IDS), BarId.new(IDS)],
            np.array([2, 1], dtype=np.int64),
            price,
            price,
            price,
            price,
            price,
        )
    other = make_instrument(symbol="AAPL")
    with pytest.raises(ValidationError, match="all bars must be of instrument"):
        BarSeries.from_bars(BTC.id, Timeframe.D1, [bar(utc(2024, 1, 1), instrument=other)])


def test_a_series_slices_and_keeps_its_newest_bars(catalog: ParquetCatalog) -> None:
    catalog.write_bars(BTC, Timeframe.D1, days(utc(2024, 1, 1), 10))
    series = catalog.read_series(BTC, Timeframe.D1)
    tail = series.tail(3)
    assert [b.timestamp.day for b in tail.bars()] == [8, 9, 10]
    assert len(series.tail(0)) == 0 and len(series.tail(50)) == 10
    assert tail.ids[0] == series.ids[7]


def test_range_bounds_must_be_timezone_aware(catalog: ParquetCatalog) -> None:
    with pytest.raises(ValidationError, match="start: must be timezone-aware"):
        catalog.read_bars(BTC, Timeframe.D1, start=datetime(2024, 1, 1))
