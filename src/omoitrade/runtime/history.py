"""Historical data: import files into the Parquet catalog and the database together.

The catalog keeps the full history; the ``market_data`` table keeps the most
recent bars of each import, so components that read the database (the API,
warm-up of indicators) find them without touching files.

An import is all or nothing. The order of the steps makes it so:

1. read and validate the whole file (nothing written yet);
2. stage the merged catalog files beside their targets (invisible to readers);
3. in one database transaction, upsert the recent bars, then publish the
   staged files (renames; the previous versions are kept as backups);
4. commit. If anything fails up to and including the commit, the transaction
   rolls back and the catalog's previous files are put back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from omoitrade.core.clock import to_ns
from omoitrade.core.errors import NotFound, ValidationError
from omoitrade.core.ids import IdGenerator
from omoitrade.data.catalog import ParquetCatalog
from omoitrade.data.csv_import import read_ohlcv
from omoitrade.data.tick_catalog import TickCatalog
from omoitrade.data.tick_import import read_trade_ticks
from omoitrade.model import Bar, Instrument, InstrumentId, Timeframe
from omoitrade.store import Database, UnitOfWork

DEFAULT_RECENT = 500

Progress = Callable[[str], None]


class UnknownInstrument(NotFound):
    """The symbol is not an instrument in the database; the message lists the known ones."""

    def __init__(self, exchange: str, symbol: str, known: list[str]) -> None:
        super().__init__("instrument", f"{symbol} on {exchange}")
        listed = ", ".join(known) if known else "none"
        self.message = f"unknown instrument {symbol} on {exchange}; known symbols: {listed}"
        self.args = (self.message,)


@dataclass(frozen=True, slots=True)
class ImportSummary:
    """What an import stored."""

    instrument: Instrument
    timeframe: Timeframe
    source: Path
    rows: int
    first: datetime
    last: datetime
    added: int  # bars new to the catalog
    replaced: int  # bars that replaced stored ones with the same timestamp
    files: tuple[Path, ...]  # catalog files written
    in_database: int  # recent bars upserted into market_data


def find_instrument(database: Database, exchange: str, symbol: str) -> Instrument:
    """The instrument ``symbol`` on ``exchange``; a unique case-insensitive match also counts."""
    exchange = exchange.upper()
    with database.transaction() as uow:
        found = uow.instruments.by_symbol(exchange, symbol)
        if found is not None:
            return found
        listed = [i for i in uow.instruments.list() if i.exchange.upper() == exchange]
    matches = [i for i in listed if i.symbol.upper() == symbol.upper()]
    if len(matches) == 1:
        return matches[0]
    raise UnknownInstrument(exchange, symbol, sorted(i.symbol for i in listed))


def import_file(
    path: Path,
    instrument: str | Instrument,
    timeframe: Timeframe,
    database: Database,
    catalog: ParquetCatalog,
    *,
    exchange: str = "SIM",
    tz: str | None = None,
    recent: int = DEFAULT_RECENT,
    ids: IdGenerator | None = None,
    progress: Progress | None = None,
) -> ImportSummary:
    """Import an OHLCV file (CSV or Parquet) for an instrument that exists in the database.

    ``instrument`` is a symbol on ``exchange`` (or an Instrument, checked to
    exist). The ``recent`` most recent bars of the file also go into the
    database; bars with a timestamp already stored are replaced, in both places.
    """
    if recent < 0:
        raise ValidationError("recent", "must not be negative", recent)
    report = progress or (lambda _text: None)
    timeframe = Timeframe(timeframe)
    path = Path(path)
    if isinstance(instrument, Instrument):
        resolved = find_instrument(database, instrument.exchange, instrument.symbol)
    else:
        resolved = find_instrument(database, exchange, instrument)
    report(f"reading {path.name}")
    ids = ids or IdGenerator(database.clock.timestamp_ns)
    series = read_ohlcv(path, resolved.id, timeframe, ids=ids, tz=tz)
    report(f"writing {len(series)} bars to the catalog")
    newest = series.tail(recent).bars()
    with catalog.stage(resolved, series) as staged:
        with database.transaction() as uow:
            report(f"storing the {len(newest)} most recent bars in the database")
            _upsert_bars(uow, newest)
            staged.publish()
        staged.finish()
    first, last = series.first, series.last
    assert first is not None and last is not None  # an empty file is refused when read
    return ImportSummary(
        instrument=resolved,
        timeframe=timeframe,
        source=path,
        rows=len(series),
        first=first,
        last=last,
        added=staged.added,
        replaced=staged.replaced,
        files=staged.files,
        in_database=len(newest),
    )


@dataclass(frozen=True, slots=True)
class TickImportSummary:
    """What a trade-tick import stored."""

    instrument: Instrument
    source: Path
    rows: int
    first: datetime
    last: datetime
    added: int  # trades new to the tick catalog
    replaced: int  # trades that replaced stored ones with the same trade id
    files: tuple[Path, ...]  # day files written


def import_ticks(
    path: Path,
    instrument: str,
    database: Database,
    catalog: TickCatalog,
    *,
    exchange: str = "SIM",
    tz: str | None = None,
) -> TickImportSummary:
    """Import a file of trades (CSV or Parquet; see ``data.tick_import``) into the tick
    catalog, for an instrument that exists in the database; all or nothing."""
    resolved = find_instrument(database, exchange, instrument)
    ticks = read_trade_ticks(Path(path), resolved.id, tz=tz)
    staged = catalog.write_ticks(resolved, ticks)
    return TickImportSummary(
        instrument=resolved,
        source=Path(path),
        rows=len(ticks),
        first=ticks[0].timestamp,
        last=ticks[-1].timestamp,
        added=staged.added,
        replaced=staged.replaced,
        files=staged.files,
    )


def load_bars(
    database: Database,
    catalog: ParquetCatalog,
    instrument_id: InstrumentId,
    timeframe: Timeframe,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[Bar]:
    """Bars with ``start <= timestamp < end`` from the catalog, plus database bars it lacks."""
    stored = catalog.read_series(instrument_id, timeframe, start, end)
    with database.transaction() as uow:
        recorded = uow.market_data.bars(instrument_id, timeframe, start, end)
    known = set(stored.timestamps.tolist())
    extra = [bar for bar in recorded if to_ns(bar.timestamp) not in known]
    if not extra:
        return stored.bars()
    merged = stored.bars() + extra
    return sorted(merged, key=lambda bar: bar.timestamp)


def _upsert_bars(uow: UnitOfWork, bars: list[Bar]) -> None:
    """Insert ``bars``, replacing stored bars of the same instrument, timeframe and time."""
    if not bars:
        return
    first, last = bars[0], bars[-1]
    stored = uow.market_data.bars(
        first.instrument_id,
        first.timeframe,
        first.timestamp,
        last.timestamp + timedelta(microseconds=1),
    )
    incoming = {bar.timestamp for bar in bars}
    for bar in stored:
        if bar.timestamp in incoming:
            uow.market_data.delete(bar.id)
    uow.market_data.add_all(bars)
