"""Reading trade ticks (time, price, size, optionally the aggressor side) from a CSV or
Parquet file into validated, exact :class:`TradeTick` values, in time order.

Columns are found by name, case-insensitively: the time (``timestamp``, ``time``,
``datetime``, ``date``), the ``price`` (or ``last``), the ``size`` (or ``quantity``,
``qty``, ``volume``, ``amount``) and an optional ``side`` (``buy``/``sell``, ``b``/``s``).
Times follow the bar importer's rules (:func:`omoitrade.data.csv_import.parse_times`).
A problem is one :class:`DataFileError` naming the file, the line and the column.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from omoitrade.data.csv_import import DataFileError, parse_times, resolve_zone
from omoitrade.model.enums import OrderSide
from omoitrade.model.identifiers import InstrumentId, VenueTradeId
from omoitrade.model.market_data import TradeTick

TICK_COLUMNS: dict[str, tuple[str, ...]] = {
    "timestamp": ("timestamp", "datetime", "date time", "time", "date"),
    "price": ("price", "last", "p"),
    "size": ("size", "quantity", "qty", "volume", "amount", "v"),
    "side": ("side", "aggressor", "aggressor side", "taker side"),
}
_SIDES = {"buy": OrderSide.BUY, "b": OrderSide.BUY, "sell": OrderSide.SELL, "s": OrderSide.SELL}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def is_tick_file(path: Path) -> bool:
    """Whether the file's columns are a tick file's (a price, no open/high/low/close)."""
    names = {_canonical(n) for n in _read(Path(path)).columns}
    return "price" in names or "last" in names


def read_trade_ticks(
    path: Path, instrument_id: InstrumentId, *, tz: str | None = None
) -> list[TradeTick]:
    """The trades of a CSV or Parquet file, validated in full, in time order."""
    path = Path(path)
    zone = resolve_zone(tz)
    frame = _read(path)
    if frame.empty:
        raise DataFileError(path.name, None, "the file has no rows")
    found = {_canonical(n): n for n in frame.columns}
    columns: dict[str, str] = {}
    for key, aliases in TICK_COLUMNS.items():
        name = next((found[a] for a in aliases if a in found), None)
        if name is not None:
            columns[key] = name
    for key in ("timestamp", "price", "size"):
        if key not in columns:
            listed = ", ".join(str(n) for n in frame.columns)
            raise DataFileError(path.name, None, f"no column for {key}; found: {listed}")
    stamps, _, problem = parse_times(frame[columns["timestamp"]], zone)
    line = 2 if path.suffix.lower() not in (".parquet", ".pq") else 1
    unit = "line" if line == 2 else "row"
    if problem is not None:
        where = f'{unit} {problem[0] + line}, column "{columns["timestamp"]}"'
        raise DataFileError(path.name, where, problem[1])
    prices = _numbers(path, frame, columns["price"], line, unit, positive=True)
    sizes = _numbers(path, frame, columns["size"], line, unit, positive=False)
    sides: list[OrderSide | None] = [None] * len(frame)
    if "side" in columns:
        for row, raw in enumerate(frame[columns["side"]].astype(str)):
            text = raw.strip().lower()
            if text and text not in _SIDES:
                where = f'{unit} {row + line}, column "{columns["side"]}"'
                raise DataFileError(path.name, where, f'"{raw}" is not buy or sell')
            sides[row] = _SIDES.get(text)
    order = np.argsort(stamps, kind="stable").tolist()
    return [
        TradeTick(
            instrument_id,
            _EPOCH + timedelta(microseconds=int(stamps[i]) // 1000),
            prices[i],
            sizes[i],
            VenueTradeId(f"{path.stem}-{i + 1}"),
            sides[i],
        )
        for i in order
    ]


def _read(path: Path) -> Any:
    if not path.is_file():
        raise DataFileError(path.name, None, "no such file")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            table = pq.read_table(path)
            return table.to_pandas()
        return pd.read_csv(path, dtype=str, na_filter=False, skipinitialspace=True)
    except (pa.ArrowException, OSError, pd.errors.ParserError, UnicodeDecodeError) as error:
        reason = str(error).splitlines()[0]
        raise DataFileError(path.name, None, f"cannot be read ({reason})") from None
    except pd.errors.EmptyDataError:
        raise DataFileError(path.name, None, "the file is empty") from None


def _numbers(
    path: Path, frame: Any, column: str, line: int, unit: str, *, positive: bool
) -> list[Decimal]:
    """The column's exact numbers (equal texts share one Decimal); the first bad cell is
    a DataFileError naming its line."""
    known: dict[str, Decimal] = {}
    values = []
    for row, raw in enumerate(frame[column]):
        text = str(raw).strip()
        value = known.get(text)
        if value is None:
            try:
                value = known[text] = Decimal(text)
            except InvalidOperation:
                value = None
        if value is None or not value.is_finite() or (value <= 0 if positive else value < 0):
            rule = "a positive number" if positive else "a number >= 0"
            where = f'{unit} {row + line}, column "{column}"'
            raise DataFileError(path.name, where, f'"{text}" is not {rule}')
        values.append(value)
    return values


def _canonical(name: object) -> str:
    return " ".join(str(name).strip().lower().replace("_", " ").replace("-", " ").split())
