"""The ``omoitrade`` command: the application, ``run`` and ``version``."""

from __future__ import annotations

import asyncio
import sys
from importlib.metadata import version

import typer
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from omoitrade.api.app import create_app
from omoitrade.cli.console import console, errors, safe_url
from omoitrade.cli.data import data_app
from omoitrade.cli.db import db_app
from omoitrade.cli.paper import run_session
from omoitrade.cli.sim_exchange import sim_exchange_app
from omoitrade.cli.strategy import strategy_app
from omoitrade.config import Settings
from omoitrade.core.clock import LiveClock
from omoitrade.core.errors import OmoiError
from omoitrade.runtime.demo import SIM_EXCHANGE, seed_demo
from omoitrade.runtime.paper import PaperMarket, PaperMarketConfig
from omoitrade.runtime.process import tune_gc
from omoitrade.store import Database
from omoitrade.store import migrate as migrations

app = typer.Typer(
    help="OmoiTrade: one engine for backtest, paper and live trading.", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(data_app, name="data")
app.add_typer(sim_exchange_app, name="sim-exchange")
app.add_typer(strategy_app, name="strategy")


@app.command("version")
def show_version() -> None:
    """Print the installed version."""
    console.print(version("omoitrade"))


@app.command("run")
def run(
    host: str | None = typer.Option(None, help="address to serve on (default OMOI_API_HOST)"),
    port: int | None = typer.Option(None, help="port to serve on (default OMOI_API_PORT)"),
    serve: bool = typer.Option(True, help="serve the API beside the market"),
    duration: float | None = typer.Option(None, help="stop after this many seconds"),
    seed: int = typer.Option(7, help="seed of the synthetic market"),
) -> None:
    """Set up, then run the paper market live in the terminal with the API beside it."""
    settings = Settings()
    url = settings.resolved_database_url()
    with console.status("migrating the database"):
        migrations.upgrade(url)
    database = Database(url)
    if seed_demo(database).created:
        console.print("created the demo desk: a paper portfolio and three instruments on SIM")
    host = host or settings.api_host
    port = port or settings.api_port
    console.print(_overview(database, host, port, serve))
    with database.transaction(write=False) as uow:
        instruments = uow.instruments.list(uow.instruments.table.c.exchange == SIM_EXCHANGE)
    market = PaperMarket(LiveClock(), instruments, PaperMarketConfig(seed=seed))
    api = create_app(settings, database, market) if serve else None
    tune_gc()
    try:
        asyncio.run(run_session(market, console, api, host, port, duration))
    except KeyboardInterrupt:
        console.print("stopped")
    finally:
        database.dispose()


def _overview(database: Database, host: str, port: int, serve: bool) -> Table:
    table = Table(title=f"OmoiTrade {version('omoitrade')}", show_header=True)
    table.add_column("component")
    table.add_column("state")
    table.add_row("database", f"{database.dialect} {safe_url(database.url)}")
    table.add_row("schema", f"revision {migrations.current_revision(database.engine)}")
    with database.transaction() as uow:
        table.add_row("instruments", str(uow.instruments.count()))
        table.add_row("portfolios", str(uow.portfolios.count()))
        table.add_row("orders", str(uow.orders.count()))
    api = f"http://{host}:{port}/api/docs (health: /api/v1/health)" if serve else "not started"
    table.add_row("API", api)
    return table


def main() -> None:
    """Entry point: errors become one clear line on stderr and a non-zero exit."""
    try:
        app()
    except OmoiError as error:
        errors.print(f"error: {error.message}", highlight=False)
        sys.exit(1)
    except SQLAlchemyError as error:
        errors.print(f"database error: {str(error).splitlines()[0]}", highlight=False)
        sys.exit(1)
