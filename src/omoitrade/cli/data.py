"""``omoitrade data``: import historical bars and trade ticks, and list the catalog."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from omoitrade.cli.console import console
from omoitrade.config import Settings
from omoitrade.data.catalog import ParquetCatalog
from omoitrade.data.tick_catalog import TickCatalog
from omoitrade.model import Timeframe
from omoitrade.runtime.demo import SIM_EXCHANGE, seed_demo
from omoitrade.runtime.history import (
    DEFAULT_RECENT,
    ImportSummary,
    TickImportSummary,
    import_file,
    import_ticks,
)
from omoitrade.store import Database
from omoitrade.store import migrate as migrations

data_app = typer.Typer(
    help="Historical market data: import OHLCV or trade files, list the catalog.",
    no_args_is_help=True,
)


def catalog_root(settings: Settings) -> Path:
    """Where the Parquet catalog lives: DATA_DIR/catalog."""
    return settings.data_dir / "catalog"


@contextmanager
def _migrated(settings: Settings) -> Iterator[Database]:
    """The configured database, migrated and with the demo desk (whose instruments an
    import may name), closed afterwards."""
    url = settings.resolved_database_url()
    with console.status("migrating the database"):
        migrations.upgrade(url)
    database = Database(url)
    try:
        seed_demo(database)
        yield database
    finally:
        database.dispose()


@data_app.command("import")
def data_import(
    file: Annotated[Path, typer.Argument(help="a CSV or Parquet file of OHLCV bars")],
    instrument: Annotated[str, typer.Option("--instrument", "-i", help="symbol, e.g. AAPL")],
    timeframe: Annotated[
        Timeframe, typer.Option("--timeframe", "-t", case_sensitive=False, help="bar length")
    ],
    exchange: Annotated[str, typer.Option(help="exchange of the instrument")] = SIM_EXCHANGE,
    tz: Annotated[
        str | None,
        typer.Option("--tz", help="time zone of timestamps without an offset (default UTC)"),
    ] = None,
    recent: Annotated[
        int, typer.Option(min=0, help="how many of the newest bars to keep in the database too")
    ] = DEFAULT_RECENT,
) -> None:
    """Validate FILE and store its bars in the catalog (and the newest in the database)."""
    settings = Settings()
    with _migrated(settings) as database:
        catalog = ParquetCatalog(catalog_root(settings))
        with console.status(f"importing {escape(file.name)}") as status:
            summary = import_file(
                file,
                instrument,
                timeframe,
                database,
                catalog,
                exchange=exchange,
                tz=tz,
                recent=recent,
                progress=lambda text: status.update(escape(text)),
            )
    console.print(_summary(summary))


@data_app.command("import-ticks")
def data_import_ticks(
    file: Annotated[Path, typer.Argument(help="a CSV or Parquet file of trades")],
    instrument: Annotated[str, typer.Option("--instrument", "-i", help="symbol, e.g. AAPL")],
    exchange: Annotated[str, typer.Option(help="exchange of the instrument")] = SIM_EXCHANGE,
    tz: Annotated[
        str | None,
        typer.Option("--tz", help="time zone of timestamps without an offset (default UTC)"),
    ] = None,
) -> None:
    """Validate FILE's trades (time, price, size, optional side) and store them in the
    tick catalog, one file per day; importing a file again replaces its trades."""
    settings = Settings()
    with _migrated(settings) as database:
        catalog = TickCatalog(catalog_root(settings))
        with console.status(f"importing {escape(file.name)}"):
            summary = import_ticks(file, instrument, database, catalog, exchange=exchange, tz=tz)
    console.print(_tick_summary(summary))


@data_app.command("list")
def data_list() -> None:
    """Show what the catalog holds: bars per instrument and timeframe, and trade ticks per
    instrument, with counts and time ranges."""
    root = catalog_root(Settings())
    entries = ParquetCatalog(root).list()
    tick_entries = TickCatalog(root).list()
    if not entries and not tick_entries:
        console.print(f"the catalog at {escape(str(root))} is empty", highlight=False)
        return
    if entries:
        table = _listing(f"catalog {escape(str(root))} (times in UTC)", "timeframe", "bars")
        for entry in entries:
            table.add_row(
                escape(entry.exchange),
                escape(entry.symbol),
                entry.timeframe.value,
                f"{entry.count:,}",
                _when(entry.first, zone=False),
                _when(entry.last, zone=False),
            )
        console.print(table)
    if tick_entries:
        table = _listing(f"trade ticks in {escape(str(root))} (times in UTC)", "days", "trades")
        for tick_entry in tick_entries:
            table.add_row(
                escape(tick_entry.exchange),
                escape(tick_entry.symbol),
                f"{len(tick_entry.files):,}",
                f"{tick_entry.count:,}",
                _when(tick_entry.first, zone=False, seconds=True),
                _when(tick_entry.last, zone=False, seconds=True),
            )
        console.print(table)


def _listing(title: str, grouping: str, rows: str) -> Table:
    table = Table(title=title, box=box.SIMPLE_HEAD)
    for column in ("exchange", "symbol", grouping, rows, "first", "last"):
        table.add_column(column, justify="right" if column == rows else "left", no_wrap=True)
    return table


def _tick_summary(summary: TickImportSummary) -> Table:
    title = (
        f"imported {summary.rows:,} trades of {escape(str(summary.instrument))} "
        f"from {escape(summary.source.name)}"
    )
    days = f" ({len(summary.files)} day files)"
    return _import_table(title, summary, seconds=True, where_suffix=days)


def _summary(summary: ImportSummary) -> Table:
    title = (
        f"imported {summary.rows:,} {summary.timeframe.value} bars of "
        f"{escape(str(summary.instrument))} from {escape(summary.source.name)}"
    )
    table = _import_table(title, summary)
    table.add_row("database", f"the newest {summary.in_database:,} bars in market_data")
    return table


def _import_table(
    title: str,
    summary: ImportSummary | TickImportSummary,
    seconds: bool = False,
    where_suffix: str = "",
) -> Table:
    """What an import stored: its time range, new and replaced rows, and where."""
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column("what")
    table.add_column("value", overflow="fold")
    table.add_row("first", _when(summary.first, seconds=seconds))
    table.add_row("last", _when(summary.last, seconds=seconds))
    table.add_row("catalog", f"{summary.added:,} new, {summary.replaced:,} replaced")
    directory = summary.files[0].parent if summary.files else None
    table.add_row("stored in", f"{escape(str(directory))}{where_suffix}" if directory else "-")
    return table


def _when(moment: datetime, zone: bool = True, seconds: bool = False) -> str:
    form = "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    return moment.strftime(form + (" UTC" if zone else ""))
