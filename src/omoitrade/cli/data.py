"""``omoitrade data``: import historical bars and list the catalog."""

from __future__ import annotations

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
from omoitrade.model import Timeframe
from omoitrade.runtime.demo import SIM_EXCHANGE, seed_demo
from omoitrade.runtime.history import DEFAULT_RECENT, ImportSummary, import_file
from omoitrade.store import Database
from omoitrade.store import migrate as migrations

data_app = typer.Typer(
    help="Historical market data: import OHLCV files, list the catalog.", no_args_is_help=True
)


def catalog_root(settings: Settings) -> Path:
    """Where the Parquet catalog lives: DATA_DIR/catalog."""
    return settings.data_dir / "catalog"


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
    url = settings.resolved_database_url()
    with console.status("migrating the database"):
        migrations.upgrade(url)
    database = Database(url)
    try:
        seed_demo(database)
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
    finally:
        database.dispose()
    console.print(_summary(summary))


@data_app.command("list")
def data_list() -> None:
    """Show what the catalog holds: instruments, timeframes, bars and time range."""
    root = catalog_root(Settings())
    entries = ParquetCatalog(root).list()
    if not entries:
        console.print(f"the catalog at {escape(str(root))} is empty", highlight=False)
        return
    table = Table(title=f"catalog {escape(str(root))} (times in UTC)", box=box.SIMPLE_HEAD)
    for column in ("exchange", "symbol", "timeframe", "bars", "first", "last"):
        table.add_column(column, justify="right" if column == "bars" else "left", no_wrap=True)
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


def _summary(summary: ImportSummary) -> Table:
    title = (
        f"imported {summary.rows:,} {summary.timeframe.value} bars of "
        f"{escape(str(summary.instrument))} from {escape(summary.source.name)}"
    )
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column("what")
    table.add_column("value", overflow="fold")
    table.add_row("first", _when(summary.first))
    table.add_row("last", _when(summary.last))
    table.add_row("catalog", f"{summary.added:,} new, {summary.replaced:,} replaced")
    directory = summary.files[0].parent if summary.files else None
    table.add_row("stored in", escape(str(directory)) if directory else "-")
    table.add_row("database", f"the newest {summary.in_database:,} bars in market_data")
    return table


def _when(moment: datetime, zone: bool = True) -> str:
    return moment.strftime("%Y-%m-%d %H:%M" + (" UTC" if zone else ""))
