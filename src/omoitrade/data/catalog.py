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
import os
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal, localcontext
from pathlib import Path
from types import TracebackType
from typing import Any, overload
from urllib.parse import quote, unquote

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from omoitrade.core.clock import to_datetime, to_ns
from omoitrade.core.errors import OmoiError, ValidationError
from omoitrade.model import Bar, BarId, Instrument, InstrumentId, Timeframe

DECIMAL = pa.decimal128(38, 18)
TIMESTAMP = pa.timestamp("us", tz="UTC")
_PRICES = ("open", "high", "low", "close", "volume")
SCHEMA = pa.schema(
    [pa.field("timestamp", TIMESTAMP, nullable=False)]
    + [pa.field(name, DECIMAL, nullable=False) for name in _PRICES]
    + [pa.field("bid", DECIMAL), pa.field("ask", DECIMAL)]
    + [pa.field("id", pa.binary(16), nullable=False)]
)
ROW_GROUP_ROWS = 8_192
FORMAT_VERSION = "1"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_COLUMNS = ("timestamps", "ids", *_PRICES, "bid", "ask")  # BarSeries' per-row fields
_ONE = Decimal(1)

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


class CatalogError(OmoiError):
    """A catalog file could not be read or written."""

    code = "catalog-error"


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


@dataclass(slots=True)
class _Replacement:
    temp: Path
    target: Path
    backup: Path
    had_old: bool = False
    done: bool = False


@dataclass(slots=True)
class StagedWrite:
    """Year files written beside their targets but not yet visible to readers.

    :meth:`publish` renames them into place, keeping the previous versions as
    hard-linked backups; :meth:`rollback` restores those; :meth:`finish` drops
    them. Used as a context manager, anything not finished is rolled back.
    """

    files: tuple[Path, ...]
    added: int
    replaced: int
    _items: list[_Replacement] = field(default_factory=list, repr=False)
    _state: str = "staged"

    def publish(self) -> None:
        """Make every staged file visible; on failure, undo the renames already made."""
        if self._state != "staged":
            raise ValidationError("StagedWrite", f"cannot publish when {self._state}")
        try:
            for item in self._items:
                if item.target.exists():
                    _link_or_copy(item.target, item.backup)
                    item.had_old = True
                os.replace(item.temp, item.target)
                item.done = True
        except BaseException as error:
            self.rollback()
            if isinstance(error, OSError):
                raise CatalogError(f"could not publish {item.target}: {error}") from error
            raise
        self._state = "published"
        for directory in {item.target.parent for item in self._items}:
            _fsync_directory(directory)

    def rollback(self) -> None:
        """Put back what was there before; remove staged files."""
        for item in self._items:
            if item.done:
                if item.had_old:
                    os.replace(item.backup, item.target)
                else:
                    item.target.unlink(missing_ok=True)
                item.done = False
            item.temp.unlink(missing_ok=True)
            item.backup.unlink(missing_ok=True)
        self._state = "rolled back"

    def finish(self) -> None:
        """Forget the previous versions: the write is final."""
        if self._state != "published":
            raise ValidationError("StagedWrite", f"cannot finish when {self._state}")
        for item in self._items:
            item.backup.unlink(missing_ok=True)
        self._state = "finished"

    def __enter__(self) -> StagedWrite:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._state in ("staged", "published"):
            self.rollback()


class ParquetCatalog:
    """Bars on disk under ``root``; see the module docstring for the layout."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def directory(self, exchange: str, symbol: str, timeframe: Timeframe) -> Path:
        """Where the year files of one instrument and timeframe live."""
        return (
            self.root
            / "bars"
            / f"exchange={_encode(exchange.upper())}"
            / f"symbol={_encode(symbol)}"
            / f"timeframe={Timeframe(timeframe).value}"
        )

    def stage(self, instrument: Instrument, series: BarSeries) -> StagedWrite:
        """Write merged year files for ``series`` beside their targets (see StagedWrite)."""
        if series.instrument_id != instrument.id:
            raise ValidationError("series", f"holds bars of another instrument than {instrument}")
        directory = self.directory(instrument.exchange, instrument.symbol, series.timeframe)
        table = _to_table(series)
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise CatalogError(f"could not create {directory}: {error}") from error
        years = pc.year(table["timestamp"]).to_numpy()
        staged = StagedWrite(files=(), added=0, replaced=0)
        token = uuid.uuid4().hex[:12]
        files: list[Path] = []
        try:
            for year in sorted({int(y) for y in years}):
                part = table.filter(pa.array(years == year))
                target = directory / f"{year}.parquet"
                merged, replaced = _merge(target, part)
                temp = directory / f".{year}.parquet.tmp-{token}"
                backup = directory / f".{year}.parquet.bak-{token}"
                staged._items.append(_Replacement(temp, target, backup))
                try:
                    _write_file(merged, temp, instrument, series.timeframe)
                except OSError as error:
                    raise CatalogError(f"could not write {target}: {error}") from error
                staged.replaced += replaced
                staged.added += part.num_rows - replaced
                files.append(target)
        except BaseException:
            staged.rollback()
            raise
        staged.files = tuple(files)
        return staged

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
        condition = _range_filter(start, end)
        tables = [_read_table(path, condition) for path in wanted]
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
            rows, firsts, lasts = zip(*(_summary(path) for path in files), strict=True)
            exchange, symbol, timeframe = (
                _decode(part.name)
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
            exchange, symbol = _decode(symbol_dir.parent.name), _decode(symbol_dir.name)
            if InstrumentId.of(exchange, symbol) == instrument_id:
                return symbol_dir / f"timeframe={Timeframe(timeframe).value}"
        return None


def _encode(value: str) -> str:
    return quote(value, safe="")


def _decode(segment: str) -> str:
    """The value of a ``key=value`` directory name."""
    return unquote(segment.split("=", 1)[1])


def _read_table(path: Path, condition: pc.Expression | None = None) -> pa.Table:
    """One year file, only the rows (and row groups) ``condition`` can match."""
    try:
        return pq.read_table(path, schema=SCHEMA, filters=condition, partitioning=None)
    except (pa.ArrowException, OSError) as error:
        raise CatalogError(f"catalog file {path} is unreadable: {error}") from error


def _summary(path: Path) -> tuple[int, int, int]:
    """(rows, first ns, last ns) of a year file, from its footer."""
    try:
        meta = pq.read_metadata(path)
    except (pa.ArrowException, OSError) as error:
        raise CatalogError(f"catalog file {path} is unreadable: {error}") from error
    extra = meta.metadata or {}
    return meta.num_rows, int(extra[b"omoitrade.first_ns"]), int(extra[b"omoitrade.last_ns"])


def _range_filter(start: datetime | None, end: datetime | None) -> pc.Expression | None:
    condition = None
    if start is not None:
        condition = pc.field("timestamp") >= pa.scalar(start, type=TIMESTAMP)
    if end is not None:
        upper = pc.field("timestamp") < pa.scalar(end, type=TIMESTAMP)
        condition = upper if condition is None else condition & upper
    return condition


def _decimal_array(values: Sequence[Decimal | None], name: str) -> pa.Array:
    try:
        return pa.array(values, type=DECIMAL)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
        raise ValidationError(
            name, f"a value does not fit decimal(38, 18), the catalog's column type ({error})"
        ) from None


def _to_table(series: BarSeries) -> pa.Table:
    none: list[Decimal | None] = [None] * len(series)
    stamps = pa.array(series.timestamps, type=pa.timestamp("ns", tz="UTC"))
    try:
        stamps = stamps.cast(TIMESTAMP)  # safe cast: refuses to drop sub-microsecond parts
    except pa.ArrowInvalid:
        raise ValidationError("timestamp", "must be whole microseconds") from None
    columns = [stamps]
    columns += [_decimal_array(getattr(series, name), name) for name in _PRICES]
    columns += [
        _decimal_array(series.bid or none, "bid"),
        _decimal_array(series.ask or none, "ask"),
    ]
    if isinstance(series.ids, StoredIds):
        columns.append(series.ids.array)
    else:
        columns.append(pa.array([bar_id.bytes for bar_id in series.ids], type=pa.binary(16)))
    return pa.Table.from_arrays(columns, schema=SCHEMA)


def _merge(target: Path, new: pa.Table) -> tuple[pa.Table, int]:
    """``new`` merged into the file at ``target``: new rows win on equal timestamps."""
    if not target.exists():
        return new, 0
    old = _read_table(target)
    clash = pc.is_in(old["timestamp"], value_set=new["timestamp"])
    replaced = int(pc.sum(clash).as_py() or 0)
    kept = old.filter(pc.invert(clash))
    merged = pa.concat_tables([kept, new]).sort_by("timestamp")
    return merged, replaced


def _write_file(table: pa.Table, path: Path, instrument: Instrument, timeframe: Timeframe) -> None:
    stamps = table["timestamp"].cast(pa.int64())
    metadata = {
        "omoitrade.format": FORMAT_VERSION,
        "omoitrade.exchange": instrument.exchange,
        "omoitrade.symbol": instrument.symbol,
        "omoitrade.timeframe": Timeframe(timeframe).value,
        "omoitrade.first_ns": str(int(pc.min(stamps).as_py()) * 1000),
        "omoitrade.last_ns": str(int(pc.max(stamps).as_py()) * 1000),
    }
    table = table.replace_schema_metadata(metadata)
    pq.write_table(
        table, path, row_group_size=ROW_GROUP_ROWS, compression="zstd", write_statistics=True
    )
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _to_series(instrument_id: InstrumentId, timeframe: Timeframe, table: pa.Table) -> BarSeries:
    micros = table["timestamp"].cast(pa.int64()).to_numpy()
    columns: dict[str, Any] = {name: _exact(table[name]) for name in _PRICES}
    for name in ("bid", "ask"):
        stored = table[name].null_count < table.num_rows
        columns[name] = _decimals(table[name]) if stored else None
    return BarSeries(
        instrument_id,
        timeframe,
        ids=StoredIds(table["id"].combine_chunks()),
        timestamps=np.asarray(micros, dtype=np.int64) * 1000,
        **columns,
    )


def _decimals(column: pa.ChunkedArray) -> list[Decimal | None]:
    """A nullable decimal column (bid, ask: rarely stored) as trimmed Decimals."""
    with localcontext() as context:
        context.prec = 40
        return [None if value is None else _trim(value) for value in column.to_pylist()]


def decimals_of(texts: Iterable[str]) -> list[Decimal]:
    """Decimals of number texts; equal texts share one object (prices repeat: a million
    bars hold a few thousand distinct prices, and each Decimal costs ~100 bytes)."""
    known: dict[str, Decimal] = {}
    values = []
    for text in texts:
        value = known.get(text)
        if value is None:
            value = known[text] = Decimal(text)
        values.append(value)
    return values


def _exact(column: pa.ChunkedArray) -> list[Decimal]:
    """Decimals without the storage scale's trailing zeros (100.500000000000000000 -> 100.5).

    Arrow formats the text and trims the zeros (much faster than converting
    each value in Python); it writes zero and values below 1e-6 in exponent
    form, which are trimmed here instead.
    """
    raw = pc.cast(column, pa.string())
    text = pc.utf8_rtrim(pc.utf8_rtrim(raw, characters="0"), characters=".")
    values = decimals_of(text.to_numpy(zero_copy_only=False))
    exponent_form = pc.match_substring(raw, "E").to_numpy(zero_copy_only=False)
    if exponent_form.any():
        with localcontext() as context:
            context.prec = 40  # wider than decimal128's 38 digits: trimming never rounds
            for index in np.flatnonzero(exponent_form):
                values[index] = _trim(Decimal(raw[int(index)].as_py()))
    return values


def _trim(value: Decimal) -> Decimal:
    if value == value.to_integral_value():
        return value.quantize(_ONE)
    return value.normalize()


def _link_or_copy(source: Path, destination: Path) -> None:
    try:
        os.link(source, destination)
    except OSError:  # a file system without hard links
        destination.write_bytes(source.read_bytes())


def _fsync_directory(directory: Path) -> None:
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:  # not possible on every platform
        return
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
