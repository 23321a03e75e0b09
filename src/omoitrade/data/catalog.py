"""The historical bar catalog: Parquet files, one per instrument, timeframe and year.

Layout (hive-style directory names, values percent-encoded so ``BTC/USD`` is a
single path segment)::

    root/bars/exchange=SIM/symbol=BTC%2FUSD/timeframe=1m/2024.parquet

Prices and volume are ``decimal128(38, 18)``: exact, up to 20 integer digits
and 18 decimal places. Timestamps are ``timestamp[us, UTC]``, sorted, unique,
in row groups of :data:`ROW_GROUP_ROWS`, so a range read opens only the years it
needs and, within a year, only the row groups whose statistics overlap.

Writes merge with what is stored (a bar replaces the stored bar with the same
timestamp) and are all-or-nothing: new year files are staged beside their
targets, then renamed into place; if any rename fails the ones already made
are undone (see :class:`StagedWrite`).
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, overload

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from omoitrade.core.clock import to_datetime, to_ns
from omoitrade.core.errors import ValidationError
from omoitrade.data.parquet_files import (
    DECIMAL,
    ROW_GROUP_ROWS,
    TIMESTAMP,
    CatalogError,
    StagedWrite,
    decimal_array,
    decimals_of,
    exact_decimals,
    file_summary,
    nullable_decimals,
    path_segment,
    range_filter,
    read_parquet,
    segment_value,
    stage_parts,
)
from omoitrade.model import Bar, BarId, Instrument, InstrumentId, Timeframe

__all__ = [
    "ROW_GROUP_ROWS",
    "BarSeries",
    "CatalogEntry",
    "CatalogError",
    "ParquetCatalog",
    "StagedWrite",
    "StoredIds",
    "decimals_of",
    "to_ns",
]

_PRICES = ("open", "high", "low", "close", "volume")
SCHEMA = pa.schema(
    [pa.field("timestamp", TIMESTAMP, nullable=False)]
    + [pa.field(name, DECIMAL, nullable=False) for name in _PRICES]
    + [pa.field("bid", DECIMAL), pa.field("ask", DECIMAL)]
    + [pa.field("id", pa.binary(16), nullable=False)]
)
FORMAT_VERSION = "1"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_COLUMNS = ("timestamps", "ids", *_PRICES, "bid", "ask")  # BarSeries' per-row fields

Int64Array = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True, eq=False)
class BarSeries:
    """Bars of one instrument and timeframe as columns, in strictly ascending time.

    The columnar form the importer produces and the catalog stores; building a
    :class:`Bar` per row is left to :meth:`bars`, for the rows that need it.
    """

    instrument_id: InstrumentId
    timeframe: Timeframe
    ids: Sequence[BarId]
    timestamps: Int64Array  # nanoseconds since the epoch, UTC
    open: list[Decimal]
    high: list[Decimal]
    low: list[Decimal]
    close: list[Decimal]
    volume: list[Decimal]
    bid: list[Decimal | None] | None = None
    ask: list[Decimal | None] | None = None

    def __post_init__(self) -> None:
        size = len(self.timestamps)
        lengths = [len(self.ids), len(self.open), len(self.high), len(self.low)]
        lengths += [len(self.close), len(self.volume)]
        lengths += [len(c) for c in (self.bid, self.ask) if c is not None]
        if any(length != size for length in lengths):
            raise ValidationError("BarSeries", "all columns must have the same length")
        if size > 1 and not bool(np.all(np.diff(self.timestamps) > 0)):
            raise ValidationError("BarSeries", "timestamps must be strictly ascending")

    def __len__(self) -> int:
        return len(self.timestamps)

    @property
    def first(self) -> datetime | None:
        return to_datetime(int(self.timestamps[0])) if len(self) else None

    @property
    def last(self) -> datetime | None:
        return to_datetime(int(self.timestamps[-1])) if len(self) else None

    def slice(self, start: int, stop: int | None = None) -> BarSeries:
        """The rows ``start:stop`` (Python slice semantics)."""
        part = builtins.slice(start, stop)
        columns = ((name, getattr(self, name)) for name in _COLUMNS)
        cut: dict[str, Any] = {k: None if v is None else v[part] for k, v in columns}
        return replace(self, **cut)

    def tail(self, count: int) -> BarSeries:
        """The ``count`` most recent bars."""
        return self.slice(max(len(self) - count, 0)) if count > 0 else self.slice(0, 0)

    def bars(self) -> list[Bar]:
        """One :class:`Bar` per row (validated by the model)."""
        nothing = [None] * len(self)
        rows = zip(
            self.ids, self.timestamps.tolist(), self.open, self.high, self.low, self.close,
            self.volume, self.bid or nothing, self.ask or nothing, strict=True,
        )  # fmt: skip
        return [
            Bar(i, self.instrument_id, to_datetime(t), self.timeframe, o, h, lo, c, v, b, a)
            for i, t, o, h, lo, c, v, b, a in rows
        ]

    @classmethod
    def from_bars(
        cls, instrument_id: InstrumentId, timeframe: Timeframe, bars: Sequence[Bar]
    ) -> BarSeries:
        """Bars of ``instrument_id`` and ``timeframe`` in any order; timestamps must be unique."""
        if any(b.instrument_id != instrument_id or b.timeframe != timeframe for b in bars):
            raise ValidationError(
                "bars", f"all bars must be of instrument {instrument_id} and {timeframe}"
            )
        ordered = sorted(bars, key=lambda bar: bar.timestamp)
        stamps = np.array([to_ns(bar.timestamp) for bar in ordered], dtype=np.int64)
        columns = {name: [getattr(bar, name) for bar in ordered] for name in _COLUMNS[2:]}
        ids = [bar.id for bar in ordered]
        return cls(instrument_id, timeframe, ids=ids, timestamps=stamps, **columns)


class StoredIds(Sequence[BarId]):
    """Bar ids read from a file, made into :class:`BarId` objects only when asked for."""

    __slots__ = ("array",)

    def __init__(self, array: pa.Array) -> None:
        self.array = array

    def __len__(self) -> int:
        return len(self.array)

    @overload
    def __getitem__(self, index: int) -> BarId: ...

    @overload
    def __getitem__(self, index: builtins.slice) -> StoredIds: ...

    def __getitem__(self, index: int | builtins.slice) -> BarId | StoredIds:
        if isinstance(index, builtins.slice):
            start, stop, step = index.indices(len(self.array))
            if step != 1:
                raise ValidationError("index", "only contiguous slices are supported")
            return StoredIds(self.array.slice(start, max(stop - start, 0)))
        return BarId(bytes=self.array[index].as_py())


@dataclass(frozen=True, slots=True)
class CatalogEntry:
    """What the catalog holds for one instrument and timeframe."""

    exchange: str
    symbol: str
    timeframe: Timeframe
    first: datetime
    last: datetime
    count: int
    files: tuple[Path, ...]

    @property
    def instrument_id(self) -> InstrumentId:
        return InstrumentId.of(self.exchange, self.symbol)


class ParquetCatalog:
    """Bars on disk under ``root``; see the module docstring for the layout."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def directory(self, exchange: str, symbol: str, timeframe: Timeframe) -> Path:
        """Where the year files of one instrument and timeframe live."""
        return (
            self.root
            / "bars"
            / f"exchange={path_segment(exchange.upper())}"
            / f"symbol={path_segment(symbol)}"
            / f"timeframe={Timeframe(timeframe).value}"
        )

    def stage(self, instrument: Instrument, series: BarSeries) -> StagedWrite:
        """Write merged year files for ``series`` beside their targets (see StagedWrite)."""
        if series.instrument_id != instrument.id:
            raise ValidationError("series", f"holds bars of another instrument than {instrument}")
        directory = self.directory(instrument.exchange, instrument.symbol, series.timeframe)
        table = _to_table(series)
        years = pc.year(table["timestamp"]).to_numpy()
        parts = [
            (str(year), table.filter(pa.array(years == year)))
            for year in sorted({int(y) for y in years})
        ]
        metadata = {
            "omoitrade.format": FORMAT_VERSION,
            "omoitrade.exchange": instrument.exchange,
            "omoitrade.symbol": instrument.symbol,
            "omoitrade.timeframe": Timeframe(series.timeframe).value,
        }
        return stage_parts(directory, parts, SCHEMA, "timestamp", metadata)

    def write_bars(
        self, instrument: Instrument, timeframe: Timeframe, bars: Sequence[Bar] | BarSeries
    ) -> StagedWrite:
        """Merge ``bars`` into the catalog, all or nothing; returns what was written."""
        series = (
            bars
            if isinstance(bars, BarSeries)
            else BarSeries.from_bars(instrument.id, timeframe, bars)
        )
        if series.timeframe != timeframe:
            raise ValidationError("bars", f"are {series.timeframe} bars, not {timeframe}")
        with self.stage(instrument, series) as staged:
            staged.publish()
            staged.finish()
        return staged

    def read_series(
        self,
        instrument: Instrument | InstrumentId,
        timeframe: Timeframe,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> BarSeries:
        """Stored bars with ``start <= timestamp < end``, in time order, as columns."""
        for name, bound in (("start", start), ("end", end)):
            if bound is not None and bound.tzinfo is None:
                raise ValidationError(name, "must be timezone-aware", bound)
        instrument_id = instrument.id if isinstance(instrument, Instrument) else instrument
        files = self._year_files(instrument, timeframe)
        first_year = start.year if start is not None else None
        last_year = (end - timedelta(microseconds=1)).year if end is not None else None
        wanted = [
            path
            for year, path in files
            if (first_year is None or year >= first_year)
            and (last_year is None or year <= last_year)
        ]
        condition = range_filter(start, end)
        tables = [read_parquet(path, SCHEMA, condition) for path in wanted]
        table = pa.concat_tables(tables) if tables else SCHEMA.empty_table()
        return _to_series(instrument_id, timeframe, table)

    def read_bars(
        self,
        instrument: Instrument | InstrumentId,
        timeframe: Timeframe,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[Bar]:
        """Stored bars with ``start <= timestamp < end``, in time order."""
        return self.read_series(instrument, timeframe, start, end).bars()

    def list(self) -> list[CatalogEntry]:
        """Every instrument and timeframe stored, with its first and last bar and count."""
        entries = []
        for directory in sorted((self.root / "bars").glob("exchange=*/symbol=*/timeframe=*")):
            files = sorted(directory.glob("[0-9][0-9][0-9][0-9].parquet"))
            if not files:
                continue
            rows, firsts, lasts = zip(*(file_summary(path) for path in files), strict=True)
            exchange, symbol, timeframe = (
                segment_value(part.name)
                for part in (directory.parent.parent, directory.parent, directory)
            )
            first, last = to_datetime(min(firsts)), to_datetime(max(lasts))
            entry = CatalogEntry(
                exchange, symbol, Timeframe(timeframe), first, last, sum(rows), tuple(files)
            )
            entries.append(entry)
        return entries

    def _year_files(
        self, instrument: Instrument | InstrumentId, timeframe: Timeframe
    ) -> builtins.list[tuple[int, Path]]:
        if isinstance(instrument, Instrument):
            directory: Path | None = self.directory(
                instrument.exchange, instrument.symbol, timeframe
            )
        else:
            directory = self._find_directory(instrument, timeframe)
        if directory is None or not directory.is_dir():
            return []
        return [
            (int(path.stem), path)
            for path in sorted(directory.glob("[0-9][0-9][0-9][0-9].parquet"))
        ]

    def _find_directory(self, instrument_id: InstrumentId, timeframe: Timeframe) -> Path | None:
        """The directory of an instrument known only by id (ids derive from exchange+symbol)."""
        for symbol_dir in (self.root / "bars").glob("exchange=*/symbol=*"):
            exchange, symbol = segment_value(symbol_dir.parent.name), segment_value(symbol_dir.name)
            if InstrumentId.of(exchange, symbol) == instrument_id:
                return symbol_dir / f"timeframe={Timeframe(timeframe).value}"
        return None


def _to_table(series: BarSeries) -> pa.Table:
    none: list[Decimal | None] = [None] * len(series)
    stamps = pa.array(series.timestamps, type=pa.timestamp("ns", tz="UTC"))
    try:
        stamps = stamps.cast(TIMESTAMP)  # safe cast: refuses to drop sub-microsecond parts
    except pa.ArrowInvalid:
        raise ValidationError("timestamp", "must be whole microseconds") from None
    columns = [stamps]
    columns += [decimal_array(getattr(series, name), name) for name in _PRICES]
    columns += [
        decimal_array(series.bid or none, "bid"),
        decimal_array(series.ask or none, "ask"),
    ]
    if isinstance(series.ids, StoredIds):
        columns.append(series.ids.array)
    else:
        columns.append(pa.array([bar_id.bytes for bar_id in series.ids], type=pa.binary(16)))
    return pa.Table.from_arrays(columns, schema=SCHEMA)


def _to_series(instrument_id: InstrumentId, timeframe: Timeframe, table: pa.Table) -> BarSeries:
    micros = table["timestamp"].cast(pa.int64()).to_numpy()
    columns: dict[str, Any] = {name: exact_decimals(table[name]) for name in _PRICES}
    for name in ("bid", "ask"):
        stored = table[name].null_count < table.num_rows
        columns[name] = nullable_decimals(table[name]) if stored else None
    return BarSeries(
        instrument_id,
        timeframe,
        ids=StoredIds(table["id"].combine_chunks()),
        timestamps=np.asarray(micros, dtype=np.int64) * 1000,
        **columns,
    )
