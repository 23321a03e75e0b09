"""Reading OHLCV files (CSV or Parquet) into validated, exact bars.

Columns are found by name, case-insensitively (see :data:`COLUMN_NAMES`); a
CSV without a header row is read as ``date, open, high, low, close, volume``.
Numbers are read as text and become exact ``Decimal`` values. Timestamps may
be ISO 8601 text (or any format pandas parses, month first), a date and a time
column, ``YYYYMMDD`` or epoch seconds/milliseconds/microseconds/nanoseconds
(told apart by magnitude). Naive times are UTC unless a zone is given; times
with an offset are converted to UTC. Rows are sorted by time.

Any problem is one :class:`DataFileError` naming the file, the line (1-based,
header included; ``row`` for Parquet) and the column of the first bad row.
"""

from __future__ import annotations

import csv
import re
import warnings
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from omoitrade.core.errors import ValidationError
from omoitrade.core.ids import IdGenerator
from omoitrade.data.catalog import BarSeries, Int64Array, StoredIds, decimals_of
from omoitrade.model import InstrumentId, Timeframe

#: Accepted column names (compared lower-cased, with spaces, ``_``, ``-`` and
#: ``<>`` ignored), in order of preference. ``adj close`` is used only when
#: there is no ``close``; ``date`` plus ``time`` columns are joined. Volume is
#: optional (0 when absent).
COLUMN_NAMES: dict[str, tuple[str, ...]] = {
    "timestamp": ("timestamp", "datetime", "date time", "open time", "date", "time"),
    "open": ("open", "o"),
    "high": ("high", "h"),
    "low": ("low", "l"),
    "close": ("close", "c", "adj close", "adjusted close"),
    "volume": ("volume", "vol", "v"),
}
HEADERLESS_ORDER = ("timestamp", "open", "high", "low", "close", "volume")
_FIELDS = HEADERLESS_ORDER[1:]  # the numeric columns, in the order they are checked
MAX_SCALE = 18  # decimal places the catalog stores exactly
MAX_DIGITS = 20  # integer digits the catalog stores

_SHORT = 19  # characters: a plain number this short fits decimal(38, 18)
_PLAIN_NUMBER = r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)$"  # no exponent
_AWARE = r"(?:\d:\d\d(?::\d\d(?:\.\d+)?)?)\s*(?:[zZ]|[+-]\d\d(?::?\d\d)?|UTC|GMT)$"
_EPOCH_UNITS = ((11, 1_000_000_000), (14, 1_000_000), (17, 1_000), (19, 1))
_MAX_NS = 2**63 - 1

Mask = npt.NDArray[np.bool_]
Found = tuple[int, str] | None  # (row position, reason) of the first problem


class DataFileError(ValidationError):
    """A data file that cannot be imported; the message names file, line and column."""

    code = "data-file-invalid"

    def __init__(self, source: str, where: str | None, problem: str) -> None:
        super().__init__(f"{source} {where}" if where else source, problem)
        self.source = source
        self.where = where
        self.problem = problem


def resolve_zone(tz: str | None) -> ZoneInfo | None:
    """The IANA time zone called ``tz`` (None stays None)."""
    if tz is None:
        return None
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError("tz", f"unknown time zone {tz!r} (use an IANA name)") from None


def read_ohlcv(
    path: Path,
    instrument_id: InstrumentId,
    timeframe: Timeframe,
    *,
    ids: IdGenerator,
    tz: str | None = None,
) -> BarSeries:
    """Bars from a CSV file, or a Parquet file when the name ends in ``.parquet``/``.pq``."""
    path = Path(path)
    if path.suffix.lower() in (".parquet", ".pq"):
        return read_parquet_bars(path, instrument_id, timeframe, ids=ids, tz=tz)
    return read_csv_bars(path, instrument_id, timeframe, ids=ids, tz=tz)


def read_csv_bars(
    path: Path,
    instrument_id: InstrumentId,
    timeframe: Timeframe,
    *,
    ids: IdGenerator,
    tz: str | None = None,
) -> BarSeries:
    """Bars from a CSV file, validated in full before anything is returned."""
    path = Path(path)
    zone = resolve_zone(tz)
    frame = _read_text_table(path)
    frame = frame[~(frame == "").all(axis=1)]  # blank lines
    if frame.empty:
        raise DataFileError(path.name, None, "the file is empty")
    lines = frame.index.to_numpy() + 1
    first = [str(cell).strip() for cell in frame.iloc[0]]
    if _is_header(first):
        names, frame, lines = first, frame.iloc[1:], lines[1:]
        if frame.empty:
            raise DataFileError(path.name, None, "the file has a header but no data rows")
        columns = _find_columns(path.name, names)
    else:
        if len(first) < len(HEADERLESS_ORDER) - 1:
            raise DataFileError(
                path.name,
                "line 1",
                f"has {len(first)} fields and no header; a file without a header needs "
                "date, open, high, low, close and optionally volume",
            )
        names = list(HEADERLESS_ORDER[: len(first)])
        columns = {name: [i] for i, name in enumerate(names)}
    values = {
        key: (
            " ".join(names[i] for i in indices),
            _joined([frame.iloc[:, i] for i in indices]),
        )
        for key, indices in columns.items()
    }
    source = _Source(path.name, "line", np.asarray(lines, dtype=np.int64), values)
    return _build(source, instrument_id, timeframe, ids, zone)


def read_parquet_bars(
    path: Path,
    instrument_id: InstrumentId,
    timeframe: Timeframe,
    *,
    ids: IdGenerator,
    tz: str | None = None,
) -> BarSeries:
    """Bars from a Parquet file, with the column rules and validation of CSV files."""
    path = Path(path)
    zone = resolve_zone(tz)
    if not path.is_file():
        raise DataFileError(path.name, None, "no such file")
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as error:
        reason = str(error).splitlines()[0]
        raise DataFileError(path.name, None, f"is not a readable Parquet file ({reason})") from None
    if table.num_rows == 0:
        raise DataFileError(path.name, None, "the file is empty")
    names = list(table.column_names)
    columns = _find_columns(path.name, names)
    values = {}
    for key, indices in columns.items():
        parts = [_parquet_column(path.name, names[i], table.column(i)) for i in indices]
        values[key] = (" ".join(names[i] for i in indices), _joined(parts))
    rows = np.arange(1, table.num_rows + 1, dtype=np.int64)
    source = _Source(path.name, "row", rows, values)
    return _build(source, instrument_id, timeframe, ids, zone)


@dataclass(frozen=True, slots=True)
class _Source:
    """Columns of one file by canonical name: (name in the file, values)."""

    name: str
    unit: str  # "line" or "row"
    numbers: Any  # file line (or row) number of each data row
    columns: dict[str, tuple[str, Any]]


@dataclass(frozen=True, slots=True, order=True)
class _Problem:
    position: int  # index of the data row; the earliest problem is reported
    rank: int  # column order, to break ties
    column: str | None = field(compare=False)
    text: str = field(compare=False)


def _build(
    source: _Source,
    instrument_id: InstrumentId,
    timeframe: Timeframe,
    ids: IdGenerator,
    zone: ZoneInfo | None,
) -> BarSeries:
    problems: list[_Problem] = []
    time_name, time_values = source.columns["timestamp"]
    stamps, time_ok, time_problem = parse_times(time_values, zone)
    if time_problem is not None:
        problems.append(_Problem(time_problem[0], 0, time_name, time_problem[1]))
    numbers: dict[str, list[Decimal | None]] = {}
    for rank, key in enumerate(_FIELDS, start=1):
        if key not in source.columns:
            numbers[key] = [Decimal(0)] * len(stamps)
            continue
        name, cells = source.columns[key]
        numbers[key], problem = _parse_numbers(cells)
        if problem is not None:
            problems.append(_Problem(problem[0], rank, name, problem[1]))
    problems += _check_bars(source, numbers)
    problems += _check_duplicates(source, stamps, time_ok)
    if problems:
        first = min(problems)
        line = int(source.numbers[first.position])
        where = f"{source.unit} {line}" + (f', column "{first.column}"' if first.column else "")
        raise DataFileError(source.name, where, first.text)
    order = np.argsort(stamps, kind="stable").tolist()
    columns = {key: cast(list[Decimal], numbers[key]) for key in _FIELDS}  # no None left
    in_order = {key: [values[i] for i in order] for key, values in columns.items()}
    return BarSeries(instrument_id, timeframe, _new_ids(ids, len(order)), stamps[order], **in_order)


def _new_ids(ids: IdGenerator, count: int) -> StoredIds:
    """``count`` new bar ids, kept as bytes until a Bar needs one (cheaper for big files)."""
    raw = [ids.next_int().to_bytes(16, "big") for _ in range(count)]
    return StoredIds(pa.array(raw, type=pa.binary(16)))


def _read_text_table(path: Path) -> Any:
    """Every cell of a CSV file as text, one row per physical line (blank lines kept)."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            sample = handle.readline()
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter if sample else ","
    except csv.Error:
        delimiter = ","
    except FileNotFoundError:
        raise DataFileError(path.name, None, "no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise DataFileError(path.name, None, f"cannot be read ({error})") from None
    try:
        return pd.read_csv(
            path,
            sep=delimiter,
            header=None,
            dtype=str,
            na_filter=False,
            skip_blank_lines=False,
            encoding="utf-8-sig",
        )
    except pd.errors.EmptyDataError:
        raise DataFileError(path.name, None, "the file is empty") from None
    except pd.errors.ParserError as error:
        found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(error))
        if found is None:
            raise DataFileError(path.name, None, f"is not valid CSV ({error})") from None
        expected, line, saw = found.groups()
        raise DataFileError(
            path.name, f"line {line}", f"has {saw} fields, expected {expected}"
        ) from None


def _canonical(name: str) -> str:
    return re.sub(r"[\s_\-]+", " ", name.strip().strip("<>").lower()).strip()


def _is_header(cells: list[str]) -> bool:
    """A first row is a header unless its first cell reads as a time."""
    if any(_canonical(cell) in _ALL_NAMES for cell in cells):
        return True
    first = cells[0] if cells else ""
    if re.fullmatch(r"\d+(?:\.\d+)?", first):
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            pd.Timestamp(first)
        except (ValueError, TypeError, OverflowError):
            return True
    return first.lower() in ("now", "today")


_ALL_NAMES = {name for names in COLUMN_NAMES.values() for name in names}


def _find_columns(source: str, names: list[str]) -> dict[str, list[int]]:
    """Canonical column -> indices in the file (two for a separate date and time)."""
    position: dict[str, int] = {}
    for index, name in enumerate(names):
        position.setdefault(_canonical(str(name)), index)
    found: dict[str, list[int]] = {}
    for key, aliases in COLUMN_NAMES.items():
        for alias in aliases:
            if alias in position:
                found[key] = [position[alias]]
                break
    if found.get("timestamp") == [position.get("date")] and "time" in position:
        found["timestamp"] = [position["date"], position["time"]]
    if "timestamp" not in found and names and not str(names[0]).strip():
        found["timestamp"] = [0]  # an unnamed first column: a pandas index of dates
    _require_columns(source, found, names)
    return found


def _require_columns(source: str, found: dict[str, list[int]], names: list[str]) -> None:
    for key in HEADERLESS_ORDER[:-1]:  # volume is optional
        if key not in found:
            label = "date/time" if key == "timestamp" else key
            listed = ", ".join(str(name) for name in names) or "nothing"
            raise DataFileError(source, None, f"no column for {label}; found: {listed}")


def _joined(parts: list[Any]) -> Any:
    """One column as is; a date and a time column joined with a space."""
    if len(parts) == 1:
        return parts[0].reset_index(drop=True)
    texts = [part.astype(str).str.strip().reset_index(drop=True) for part in parts]
    return texts[0].str.cat(texts[1:], sep=" ")


def _parquet_column(source: str, name: str, column: pa.ChunkedArray) -> Any:
    """A Parquet column as pandas values: timestamps stay typed, everything else is text."""
    kind = column.type
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        if pa.types.is_date(kind):
            column = column.cast(pa.timestamp("us"))
        return column.to_pandas()
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return column.to_pandas().fillna("")
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        # floats become their shortest round-trip text: 185.64, not 185.639999999999986
        return column.cast(pa.string()).to_pandas().fillna("")
    raise DataFileError(source, f'column "{name}"', f"has type {kind}, not numbers or text")


def parse_times(values: Any, zone: ZoneInfo | None) -> tuple[Int64Array, Mask, Found]:
    """(ns since the epoch, valid mask, first problem) for a time column."""
    localized = zone is not None
    if pd.api.types.is_datetime64_any_dtype(values):  # a typed Parquet column
        text = values.astype(str)
        empty = values.isna().to_numpy()
        localized &= values.dt.tz is None
        parsed = values.dt.tz_convert("UTC") if values.dt.tz is not None else None
        stamps, ok = _nanos(parsed if parsed is not None else _localize(values, zone))
    else:
        text = values.astype(str).str.strip()
        empty = (text == "").to_numpy()
        present = text[~empty]
        digits = len(present) > 0 and str(present.iloc[0]).replace(".", "", 1).isdigit()
        if digits and present.str.fullmatch(r"(?:19|20)\d{6}").all():  # YYYYMMDD
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                naive = pd.to_datetime(text, format="%Y%m%d", errors="coerce")
            stamps, ok = _nanos(_localize(naive, zone))
        elif digits and present.str.fullmatch(r"\d+(?:\.\d+)?").all():
            localized = False
            stamps, ok = _epoch_times(text.tolist(), present)
        else:
            stamps, ok = _nanos(_text_times(text, zone))
    ok &= ~empty
    found: list[tuple[int, str]] = []
    if empty.any():
        found.append((int(np.flatnonzero(empty)[0]), "missing value"))
    bad = ~ok & ~empty
    if bad.any():
        position = int(np.flatnonzero(bad)[0])
        raw = str(text.iloc[position])
        if localized and _parses(raw):
            reason = f"{raw} falls in a daylight-saving change in {zone} (skipped or repeated)"
        else:
            reason = f'"{raw}" is not a timestamp'
        found.append((position, reason))
    finer = ok & (stamps % 1000 != 0)
    if finer.any():
        position = int(np.flatnonzero(finer)[0])
        found.append((position, f'"{text.iloc[position]}" is finer than a microsecond'))
        ok &= ~finer
    return stamps, ok, min(found) if found else None


def _text_times(text: Any, zone: ZoneInfo | None) -> Any:
    """Timestamps from text as UTC; naive ones are wall-clock times in ``zone`` (or UTC)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
        retry = (parsed.isna() & (text != "")).to_numpy()
        if retry.any():  # not ISO 8601: let pandas work out the format (month first)
            parsed[retry] = pd.to_datetime(text[retry], format="mixed", utc=True, errors="coerce")
    if zone is not None:
        naive = ~text.str.contains(_AWARE, regex=True).to_numpy()
        if naive.any():
            parsed[naive] = _localize(parsed[naive].dt.tz_localize(None), zone)
    return parsed


def _localize(wall: Any, zone: ZoneInfo | None) -> Any:
    """Naive wall-clock times in ``zone`` (UTC if None) as UTC; DST gaps/overlaps become NaT."""
    if zone is None:
        return wall.dt.tz_localize("UTC")
    local = wall.dt.tz_localize(zone, ambiguous="NaT", nonexistent="NaT")
    return local.dt.tz_convert("UTC")


def _nanos(parsed: Any) -> tuple[Int64Array, Mask]:
    """Aware pandas times as ns since the epoch, and which were not NaT."""
    moments = parsed.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[ns]")
    ok = ~np.isnat(moments)
    stamps = np.where(ok, moments.astype(np.int64), 0).astype(np.int64)
    return stamps, ok


def _parses(raw: str) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return not pd.isna(pd.to_datetime(raw, errors="coerce", format="mixed"))


def _epoch_times(texts: list[str], present: Any) -> tuple[Int64Array, Mask]:
    """Epoch numbers as ns; the unit follows from the largest value's digit count."""
    digits = int(present.str.split(".").str[0].str.len().max())
    scale = next((factor for limit, factor in _EPOCH_UNITS if digits <= limit), 0)
    stamps = np.zeros(len(texts), dtype=np.int64)
    ok = np.zeros(len(texts), dtype=bool)
    if scale == 0:
        return stamps, ok
    for index, raw in enumerate(texts):
        if raw:
            nanos = int(raw) * scale if "." not in raw else int(Decimal(raw) * scale)
            if nanos < _MAX_NS:
                stamps[index], ok[index] = nanos, True
    return stamps, ok


def _parse_numbers(values: Any) -> tuple[list[Decimal | None], Found]:
    """Exact Decimals from text; the first bad cell as (row position, reason).

    Arrow checks the text's shape for the whole column at once; Python's
    Decimal then reads the valid cells exactly.
    """
    text = pc.utf8_trim_whitespace(pa.array(values.tolist(), type=pa.string()).fill_null(""))
    plain = pc.match_substring_regex(text, _PLAIN_NUMBER).to_numpy(zero_copy_only=False)
    long = pc.greater(pc.utf8_length(text), _SHORT).to_numpy(zero_copy_only=False)
    strings = text.to_numpy(zero_copy_only=False)
    fast = plain & ~long
    if fast.all():
        return list(decimals_of(strings)), None
    result: list[Decimal | None] = [None] * len(strings)
    problem: Found = None
    for position in range(len(strings)):
        if fast[position]:
            result[position] = Decimal(strings[position])
            continue
        parsed = _number(strings[position])
        if isinstance(parsed, Decimal):
            result[position] = parsed
        elif problem is None:
            problem = (position, parsed)
    return result, problem


def _number(raw: str) -> Decimal | str:
    """``raw`` as a Decimal the catalog holds exactly, or the reason it is not one."""
    try:
        number = Decimal(raw)
    except InvalidOperation:
        return "missing value" if raw == "" else f'"{raw}" is not a number'
    # Decimal also reads "NaN", "Infinity", "1_000" and non-ASCII digits: not numbers here
    if not (number.is_finite() and raw.isascii()) or "_" in raw:
        return f'"{raw}" is not a number'
    if len(raw) <= _SHORT and "e" not in raw and "E" not in raw:
        return number  # too short to exceed the catalog's scale or size
    exponent = number.as_tuple().exponent
    assert isinstance(exponent, int)  # finite
    if exponent < -MAX_SCALE and number != number.quantize(Decimal(1).scaleb(-MAX_SCALE)):
        return f'"{raw}" has more than {MAX_SCALE} decimal places'
    if number.adjusted() >= MAX_DIGITS:
        return f'"{raw}" is too large (more than {MAX_DIGITS} integer digits)'
    return number


def _check_bars(source: _Source, numbers: dict[str, list[Decimal | None]]) -> list[_Problem]:
    """The first row whose prices are not positive or not a consistent bar."""
    names = {key: source.columns[key][0] if key in source.columns else key for key in numbers}
    rank = {key: i for i, key in enumerate(_FIELDS, start=1)}
    rows = zip(*(numbers[key] for key in _FIELDS), strict=True)
    for position, (o, h, lo, c, v) in enumerate(rows):
        try:
            if 0 < lo <= o <= h and lo <= c <= h and v >= 0:
                continue
        except TypeError:  # a cell that did not parse (None), reported already
            continue
        found = _bar_problem(o, h, lo, c, v)
        if found is not None:
            key, text = found
            return [_Problem(position, rank[key], names[key], text)]
    return []


def _bar_problem(
    o: Decimal, h: Decimal, lo: Decimal, c: Decimal, v: Decimal
) -> tuple[str, str] | None:
    for key, value in (("open", o), ("high", h), ("low", lo), ("close", c)):
        if value <= 0:
            return key, f"{key} {value} is not positive"
    if v < 0:
        return "volume", f"volume {v} is negative"
    if h < lo:
        return "high", f"high {h} is below low {lo}"
    if h < o or h < c:
        return "high", f"high {h} is below open/close"
    if lo > o or lo > c:
        return "low", f"low {lo} is above open/close"
    return None


def _check_duplicates(source: _Source, stamps: Int64Array, ok: Any) -> list[_Problem]:
    """The first row (in file order) whose timestamp an earlier row already has."""
    positions = np.flatnonzero(ok)
    if len(positions) < 2:
        return []
    order = positions[np.argsort(stamps[positions], kind="stable")]
    same = np.flatnonzero(stamps[order][1:] == stamps[order][:-1])
    if len(same) == 0:
        return []
    pairs = [(int(order[i + 1]), int(order[i])) for i in same]
    later, earlier = min(pairs)
    raw = _display_time(source, later)
    line = int(source.numbers[earlier])
    return [_Problem(later, 0, None, f"timestamp {raw} repeats {source.unit} {line}")]


def _display_time(source: _Source, position: int) -> str:
    values = source.columns["timestamp"][1]
    return str(values.iloc[position]).strip()
