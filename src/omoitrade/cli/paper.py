"""The live paper session of ``omoitrade run``: the market in the terminal, the API beside it."""

from __future__ import annotations

import asyncio
import contextlib
from decimal import Decimal

import uvicorn
from fastapi import FastAPI
from rich.console import Console
from rich.live import Live
from rich.table import Table

from omoitrade.runtime.paper import InstrumentView, PaperMarket


def market_table(market: PaperMarket, title: str) -> Table:
    """One row per instrument: bid/ask, spread, last trade, the minute bar, anomalies."""
    table = Table(title=title, title_justify="left")
    table.add_column("instrument", no_wrap=True)
    for heading in ("bid", "ask", "spread", "last", "1m close", "1m volume", "anomalies"):
        table.add_column(heading, justify="right", no_wrap=True)
    for view in market.views():
        table.add_row(*_cells(view))
    return table


def _cells(view: InstrumentView) -> list[str]:
    quote, trade, bar = view.quote, view.last_trade, view.bar
    spread = "-" if quote is None else str(quote.ask_price - quote.bid_price)
    return [
        view.instrument.symbol,
        _text(quote.bid_price if quote else None),
        _text(quote.ask_price if quote else None),
        spread,
        _text(trade.price if trade else None),
        _text(bar.close if bar else None),
        _text(bar.volume if bar else None),
        str(view.anomalies),
    ]


def _text(value: Decimal | None) -> str:
    return "-" if value is None else str(value)


async def run_session(
    market: PaperMarket,
    console: Console,
    app: FastAPI | None,
    host: str,
    port: int,
    duration_s: float | None,
) -> None:
    """Run the market on its live clock, redraw the table, serve the API; stop on Ctrl-C or time."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    if duration_s is not None:
        loop.call_later(duration_s, stop.set)
    market.start()
    clock_task = asyncio.create_task(market.clock.run(stop))  # type: ignore[attr-defined]
    server: uvicorn.Server | None = None
    server_task: asyncio.Task[None] | None = None
    if app is not None:
        server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
        server_task = asyncio.create_task(server.serve())
    title = "OmoiTrade paper market on SIM (Ctrl-C stops)"
    try:
        with Live(market_table(market, title), console=console, refresh_per_second=4) as live:
            while not stop.is_set() and not (server is not None and server.should_exit):
                live.update(market_table(market, title))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=0.25)
    finally:
        stop.set()
        market.stop()
        if server is not None and server_task is not None:
            server.should_exit = True
            await server_task
        await clock_task
