"""The ``omoitrade`` command: the application, ``run`` and ``version``."""

from __future__ import annotations

import asyncio
import signal
import sys
import threading
from collections.abc import Callable
from importlib.metadata import version

import typer
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from omoitrade.api.app import create_app
from omoitrade.backtest.qualification import PaperQualification
from omoitrade.cli.approvals import approvals_app
from omoitrade.cli.backtest import backtest
from omoitrade.cli.console import console, errors, safe_url
from omoitrade.cli.data import data_app
from omoitrade.cli.db import db_app
from omoitrade.cli.optimize import optimize
from omoitrade.cli.paper import run_session
from omoitrade.cli.sim_exchange import sim_exchange_app
from omoitrade.cli.strategy import strategy_app
from omoitrade.config import Settings
from omoitrade.core.clock import LiveClock
from omoitrade.core.errors import OmoiError
from omoitrade.runtime.paper_session import PaperSession, PaperSessionConfig
from omoitrade.runtime.process import tune_gc
from omoitrade.store import migrate as migrations

app = typer.Typer(
    help="OmoiTrade: one engine for backtest, paper and live trading.", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(data_app, name="data")
app.add_typer(sim_exchange_app, name="sim-exchange")
app.add_typer(strategy_app, name="strategy")
app.add_typer(approvals_app, name="approvals")
app.command("optimize")(optimize)
app.command("backtest")(backtest)

EXCHANGE_FILE = "sim-exchange.db"  # the simulated exchange's own file, in the data directory


@app.command("version")
def show_version() -> None:
    """Print the installed version."""
    console.print(version("omoitrade"))


@app.command("run")
def run(
    tui: bool = typer.Option(
        False,
        "--tui",
        help="the terminal view alone, without the API (the web dashboard of a later "
        "release will take over the default 'omoitrade run'; this view stays as --tui)",
    ),
    host: str | None = typer.Option(None, help="address to serve on (default OMOI_API_HOST)"),
    port: int | None = typer.Option(None, help="port to serve on (default OMOI_API_PORT)"),
    serve: bool = typer.Option(True, help="serve the API beside the session (not with --tui)"),
    duration: float | None = typer.Option(None, help="stop after this many seconds"),
    seed: int = typer.Option(7, help="seed of the synthetic market"),
) -> None:
    """Paper trading: the example strategies on the synthetic market, live in the terminal.

    Signals, orders, fills, positions and P&L are stored under the data directory
    (./var/ by default; the simulated exchange keeps its own file there). Ctrl-C stops
    cleanly; the next start resumes and reconciles. Approvals: 'omoitrade approvals'.
    Today the default also serves the API beside the view; a later web dashboard takes
    over the default, and this terminal view stays available as --tui.
    """
    settings = Settings()
    url = settings.resolved_database_url()
    serve = serve and not tui
    host = host or settings.api_host
    port = port or settings.api_port
    config = PaperSessionConfig(
        database_url=url,
        exchange_path=settings.data_dir / EXCHANGE_FILE,
        seed=seed,
        qualify=PaperQualification(seed=seed),  # examples are backtested before PAPER
    )
    session = PaperSession(LiveClock(), config)
    try:  # Ctrl-C while it starts stops it too (what was written is resumed next time)
        with console.status("migrating the database, resuming the session"):
            session.start()
        if session.seed.created:
            console.print("created the demo desk: a paper portfolio and three instruments on SIM")
        console.print(_overview(session, host, port, serve))
        api = create_app(settings, session.database, session.market) if serve else None
        tune_gc()
        asyncio.run(run_session(session, console, api, host, port, duration))
    except KeyboardInterrupt:
        console.print("stopping")
    finally:
        _uninterrupted(session.stop)
    console.print("stopped; the session resumes from the store on the next start")


def _uninterrupted(action: Callable[[], None]) -> None:
    """Run ``action`` with Ctrl-C ignored: a second Ctrl-C must not cut the stop short
    (strategies' records, prices, the order journal and the risk state are written then)."""
    if threading.current_thread() is not threading.main_thread():
        action()
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        action()
    finally:
        signal.signal(signal.SIGINT, previous)


def _overview(session: PaperSession, host: str, port: int, serve: bool) -> Table:
    database = session.database
    table = Table(title=f"OmoiTrade {version('omoitrade')}", show_header=True)
    table.add_column("component")
    table.add_column("state")
    table.add_row("database", f"{database.dialect} {safe_url(database.url)}")
    table.add_row("schema", f"revision {migrations.current_revision(database.engine)}")
    table.add_row("exchange", f"SIM, its own file {session.config.exchange_path}")
    with database.transaction(write=False) as uow:
        table.add_row("instruments", str(uow.instruments.count()))
        table.add_row("portfolios", str(uow.portfolios.count()))
        table.add_row("orders", str(uow.orders.count()))
    names = ", ".join(r.context.name for r in session.strategies.values()) or "none"
    table.add_row("strategies", names)
    differences = len(session.reconciliation)
    table.add_row("reconciliation", "clean" if not differences else f"{differences} difference(s)")
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
