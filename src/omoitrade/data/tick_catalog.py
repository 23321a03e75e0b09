"""The historical trade-tick catalog: Parquet files, one per instrument and UTC day.

Layout (beside the bar catalog, same directory naming)::

    root/ticks/exchange=SIM/symbol=BTC%2FUSD/2024-03-01.parquet

Each row is one trade: ``timestamp`` (``timestamp[us, UTC]``), ``price`` and ``size``
(``decimal128(38, 18)``, exact), the venue's ``trade_id`` and the aggressor ``side``
(``BUY``/``SELL``, or null). Rows are in time order; trades at the same microsecond keep
the order they were written in. A trade id names one trade within its day: writing a
trade whose id is stored already replaces it, so importing a file again changes nothing.
Writes are all-or-nothing (see :class:`~omoitrade.data.parquet_files.StagedWrite`).
"""

from __future__ import annotations

import builtins
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from omoitrade.core.clock import to_datetime
from omoitrade.core.errors import ValidationError
from omoitrade.data.parquet_files import (
    DECIMAL,
    TIMESTAMP,
    StagedWrite,
    decimal_array,
    exact_decimals,
    file_summary,
    path_segment,
    range_filter,
    read_parquet,
    segment_value,
    stage_parts,
)
from omoitrade.model import Instrument, InstrumentId
from omoitrade.model.enums import OrderSide
from omoitrade.model.identifiers import VenueTradeId
from omoitrade.model.market_data import TradeTick

TICK_SCHEMA = pa.schema(
    [
        pa.field("timestamp", TIMESTAMP, nullable=False),
        pa.field("price", DECIMAL, nullable=False),
        pa.field("size", DECIMAL, nullable=False),
        pa.field("trade_id", pa.string(), nullable=False),
        pa.field("side", pa.string()),
    ]
)
TICK_FORMAT_VERSION = "1"
_DAY_FILES = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9].parquet"
_SIDES = {side.value: side for side in OrderSide}


@dataclass(frozen=True, slots=True)
class TickEntry:
    """What the tick catalog holds for one instrument."""

    exchange: str
    symbol: str
    first: datetime
    last: datetime
    count: int
    files: tuple[Path, ...]

    @property
    def instrument_id(self) -> InstrumentId:
        return InstrumentId.of(self.exchange, self.symbol)


class TickCatalog:
    """Trade ticks on disk under ``root``; see the module docstring for the layout."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def directory(self, exchange: str, symbol: str) -> Path:
        """Where the day files of one instrument live."""
        return (
            self.root
            / "ticks"
            / f"exchange={path_segment(exchange.upper())}"
            / f"symbol={path_segment(symbol)}"
        )

    def stage(self, instrument: Instrument, ticks: Sequence[TradeTick]) -> StagedWrite:
        """Write merged day files for ``ticks`` beside their targets (see StagedWrite)."""
        if not ticks:
            raise ValidationError("ticks", "must not be empty")
        table = _to_table(instrument, ticks)
        days = pc.strftime(table["timestamp"], format="%Y-%m-%d").to_numpy(zero_copy_only=False)
        parts = [(day, table.filter(pa.array(days == day))) for day in sorted(set(days))]
        metadata = {
            "omoitrade.format": TICK_FORMAT_VERSION,
            "omoitrade.exchange": instrument.exchange,
            "omoitrade.symbol": instrument.symbol,
        }
        directory = self.directory(instrument.exchange, instrument.symbol)
        return stage_parts(directory, parts, TICK_SCHEMA, "trade_id", metadata)

    def write_ticks(self, instrument: Instrument, ticks: Sequence[TradeTick]) -> StagedWrite:
        """Merge ``ticks`` into the catalog, all or nothing; returns what was written."""
        with self.stage(instrument, ticks) as staged:
            staged.publish()
            staged.finish()
        return staged

    def read_ticks(
        self,
        instrument: Instrument | InstrumentId,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> list[TradeTick]:
        """Stored trades with ``start <= timestamp < end``, in time order."""
        for name, bound in (("start", start), ("end", end)):
            if bound is not None and bound.tzinfo is None:
                raise ValidationError(name, "must be timezone-aware", bound)
        instrument_id = instrument.id if isinstance(instrument, Instrument) else instrument
        first_day = start.astimezone(UTC).date() if start is not None else None
        last_day = (end - timedelta(microseconds=1)).astimezone(UTC).date() if end else None
        wanted = [
            path
            for day, path in self._day_files(instrument)
            if (first_day is None or day >= first_day) and (last_day is None or day <= last_day)
        ]
        condition = range_filter(start, end)
        tables = [read_parquet(path, TICK_SCHEMA, condition) for path in wanted]
        table = pa.concat_tables(tables) if tables else TICK_SCHEMA.empty_table()
        return _to_ticks(instrument_id, table)

    def list(self) -> list[TickEntry]:
        """Every instrument with stored trades: first and last trade, and how many."""
        entries = []
        for directory in sorted((self.root / "ticks").glob("exchange=*/symbol=*")):
            files = sorted(directory.glob(_DAY_FILES))
            if not files:
                continue
            rows, firsts, lasts = zip(*(file_summary(path) for path in files), strict=True)
            exchange, symbol = segment_value(directory.parent.name), segment_value(directory.name)
            first, last = to_datetime(min(firsts)), to_datetime(max(lasts))
            entries.append(TickEntry(exchange, symbol, first, last, sum(rows), tuple(files)))
        return entries

    def _day_files(self, instrument: Instrument | InstrumentId) -> builtins.list[tuple[date, Path]]:
        if isinstance(instrument, Instrument):
            directory: Path | None = self.directory(instrument.exchange, instrument.symbol)
        else:
            directory = next(
                (
                    found
                    for found in (self.root / "ticks").glob("exchange=*/symbol=*")
                    if InstrumentId.of(segment_value(found.parent.name), segment_value(found.name))
                    == instrument
                ),
                None,
            )
        if directory is None or not directory.is_dir():
            return []
        return [(date.fromisoformat(p.stem), p) for p in sorted(directory.glob(_DAY_FILES))]


def _to_table(instrument: Instrument, ticks: Sequence[TradeTick]) -> pa.Table:
    """The ticks as rows, in time order (stable); every tick must be of ``instrument``,
    with a trade id not repeated in ``ticks``."""
    others = [t for t in ticks if t.instrument_id != instrument.id]
    if others:
        raise ValidationError("ticks", f"hold trades of another instrument than {instrument}")
    ids = [str(t.trade_id) for t in ticks]
    repeated = [trade_id for trade_id, count in Counter(ids).items() if count > 1]
    if repeated:
        raise ValidationError("ticks", f"repeat the trade id {repeated[0]}")
    stamps = pa.array([t.timestamp for t in ticks], type=TIMESTAMP)  # aware, UTC
    columns = [
        stamps,
        decimal_array([t.price for t in ticks], "price"),
        decimal_array([t.size for t in ticks], "size"),
        pa.array(ids, type=pa.string()),
        pa.array([None if t.aggressor_side is None else t.aggressor_side.value for t in ticks]),
    ]
    return pa.Table.from_arrays(columns, schema=TICK_SCHEMA).sort_by("timestamp")


def _to_ticks(instrument_id: InstrumentId, table: pa.Table) -> list[TradeTick]:
    micros = np.asarray(table["timestamp"].cast(pa.int64()).to_numpy(), dtype=np.int64)
    prices = exact_decimals(table["price"])
    sizes = exact_decimals(table["size"])
    ids = table["trade_id"].to_pylist()
    sides = table["side"].to_pylist()
    return [
        TradeTick(
            instrument_id,
            to_datetime(int(stamp) * 1000),
            price,
            size,
            VenueTradeId(trade_id),
            None if side is None else _SIDES[side],
        )
        for stamp, price, size, trade_id, side in zip(
            micros.tolist(), prices, sizes, ids, sides, strict=True
        )
    ]
