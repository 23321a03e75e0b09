"""``omoitrade sim-exchange``: the simulated exchange as a separate HTTP service."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer

from omoitrade.cli.console import console
from omoitrade.core.errors import ValidationError
from omoitrade.venues.sim import wire
from omoitrade.venues.sim.catalog import (
    DEFAULT_VENUE,
    ServiceConfig,
    default_instruments,
    load_instruments,
)
from omoitrade.venues.sim.service import serve as serve_exchange

sim_exchange_app = typer.Typer(
    help="The simulated exchange as a service with its own database.", no_args_is_help=True
)


@sim_exchange_app.command("serve")
def serve(
    db: Annotated[Path, typer.Option(help="the exchange's own SQLite file (created if missing)")],
    host: Annotated[str, typer.Option(help="address to serve on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to serve on")] = 8765,
    instruments: Annotated[
        Path | None, typer.Option(help="JSON list of instruments (default: BTC/USD, AAPL, EUR/USD)")
    ] = None,
    cash: Annotated[
        list[str] | None,
        typer.Option(help="starting cash of an account opened by its first order: CUR=AMOUNT"),
    ] = None,
    maker_fee: Annotated[str, typer.Option(help="maker fee rate, e.g. 0.0002")] = "0",
    taker_fee: Annotated[str, typer.Option(help="taker fee rate, e.g. 0.0005")] = "0",
    enforce_balances: Annotated[
        bool, typer.Option(help="reject orders an account cannot pay for")
    ] = False,
) -> None:
    """Serve the exchange stored in DB, replaying its journal first.

    The configuration is stored with the journal when DB is created; a restart
    must give the same options (or none that differ from the defaults used then).
    """
    listed = load_instruments(instruments) if instruments else default_instruments()
    config = ServiceConfig(
        venue=DEFAULT_VENUE,
        instruments=listed,
        starting_cash=_amounts(cash or ["USD=1000000"]),
        maker_fee=wire.parse_field("maker_fee", maker_fee, wire.decimal),
        taker_fee=wire.parse_field("taker_fee", taker_fee, wire.decimal),
        enforce_balances=enforce_balances,
    )
    console.print(f"simulated exchange {config.venue} on http://{host}:{port} (journal {db})")
    serve_exchange(db, host, port, config)


def _amounts(items: list[str]) -> dict[str, Decimal]:
    amounts: dict[str, Decimal] = {}
    for item in items:
        currency, separator, amount = item.partition("=")
        if not separator or not currency:
            raise ValidationError("cash", "must be CUR=AMOUNT", item)
        amounts[currency] = wire.parse_field("cash", amount, wire.decimal)
    return amounts
