"""``omoitrade db``: schema migrations."""

from __future__ import annotations

import typer

from omoitrade.cli.console import console, safe_url
from omoitrade.config import Settings
from omoitrade.store import migrate as migrations

db_app = typer.Typer(help="Database schema migrations.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Option("head", help="target revision")) -> None:
    """Migrate the database schema up to REVISION (the newest by default)."""
    url = Settings().resolved_database_url()
    migrations.upgrade(url, revision)
    console.print(f"database at revision {migrations.current_revision(url)} ({safe_url(url)})")


@db_app.command("downgrade")
def db_downgrade(revision: str = typer.Argument(..., help="target revision, or 'base'")) -> None:
    """Migrate the database schema down to REVISION."""
    url = Settings().resolved_database_url()
    migrations.downgrade(url, revision)
    console.print(f"database at revision {migrations.current_revision(url)} ({safe_url(url)})")


@db_app.command("current")
def db_current() -> None:
    """Print the database's schema revision and the newest one the code knows."""
    url = Settings().resolved_database_url()
    console.print(
        f"current: {migrations.current_revision(url)}  head: {migrations.head_revision()}"
    )
