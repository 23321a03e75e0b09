"""The live terminal view of ``omoitrade run``: the paper session, redrawn 4 times a second.

Quotes, strategies, recent signals with their phase, working orders, fills, positions
with unrealized P&L, the risk state, approvals waiting and alerts. The API may be served
beside it (``omoitrade run``); ``omoitrade run --tui`` is the view alone.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime
from decimal import Decimal

import uvicorn
from fastapi import FastAPI
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from omoitrade.core.clock import LiveClock
from omoitrade.runtime.paper_session import PaperSession
from omoitrade.runtime.paper_snapshot import SessionSnapshot

REFRESH_S = 0.25


def _text(value: Decimal | None) -> str:
    return "-" if value is None else str(value)


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


def _time(at: datetime) -> str:
    return at.strftime("%H:%M:%S")


def _table(title: str, *columns: str) -> Table:
    table = Table(title=title, title_justify="left", expand=True)
    for column in columns:
        table.add_column(column, no_wrap=True)
    return table


def session_view(snapshot: SessionSnapshot, title: str) -> Group:
    """The whole view: one table per panel."""
    quotes = _table("quotes", "instrument", "bid", "ask", "spread", "1m close", "1m volume")
    for symbol, quote, bar in snapshot.quotes:
        quotes.add_row(
            symbol,
            _text(quote.bid_price if quote else None),
            _text(quote.ask_price if quote else None),
            "-" if quote is None else str(quote.ask_price - quote.bid_price),
            _text(bar.close if bar else None),
            _text(bar.volume if bar else None),
        )
    risk = _table(
        "risk", "portfolio", "state", "equity", "cash", "unrealized", "realized", "limits"
    )
    for state in snapshot.risk:
        limits = ", ".join(
            f"{name} {usage:.0%}{' BREACHED' if breached else ''}"
            for name, usage, breached in state.limits
        )
        risk.add_row(
            state.portfolio,
            state.trading_state,
            _money(state.equity),
            _money(state.cash),
            _money(state.unrealized_pnl),
            _money(state.realized_pnl),
            limits or "none set",
        )
    strategies = _table("strategies", "name", "version", "state", "failure")
    for strategy in snapshot.strategies:
        strategies.add_row(
            strategy.name, str(strategy.version), strategy.state, strategy.failure or ""
        )
    signals = _table("recent signals", "time", "strategy", "instrument", "type", "status", "phase")
    for row in snapshot.signals[:8]:
        signal = row.signal
        signals.add_row(
            _time(signal.created_at),
            row.strategy,
            row.symbol,
            str(signal.signal_type),
            str(signal.status),
            row.phase,
        )
    orders = _table(
        "working orders", "instrument", "client order id", "side", "type", "qty", "price"
    )
    for symbol, order in snapshot.orders[:8]:
        orders.add_row(
            symbol,
            str(order.client_order_id),
            str(order.side),
            str(order.order_type),
            f"{order.filled_quantity}/{order.quantity}",
            _text(order.price if order.price is not None else order.stop_price),
        )
    fills = _table("fills", "time", "instrument", "side", "qty", "price")
    for fill in snapshot.fills[:8]:
        fills.add_row(
            _time(fill.at), fill.symbol, str(fill.side), str(fill.quantity), str(fill.price)
        )
    positions = _table("positions", "instrument", "side", "qty", "avg price", "mark", "unrealized")
    for held in snapshot.positions:
        p = held.position
        positions.add_row(
            held.symbol,
            str(p.side),
            str(p.quantity),
            _text(p.average_entry_price),
            _text(p.current_price),
            _money(p.unrealized_pnl),
        )
    approvals = _table("approvals waiting", "id", "gate", "action", "expires")
    for request in snapshot.approvals[:5]:
        approvals.add_row(
            str(request.id), request.gate, request.requested_action, _time(request.expires_at)
        )
    alerts = _table("alerts", "time", "kind", "text")
    for alert in snapshot.alerts[:6]:
        alerts.add_row(_time(alert.at), alert.kind, Text(alert.text, overflow="ellipsis"))
    header = Text(f"{title}  {snapshot.at.isoformat(timespec='seconds')}", style="bold")
    return Group(
        header, quotes, risk, strategies, signals, orders, fills, positions, approvals, alerts
    )


async def run_session(
    session: PaperSession,
    console: Console,
    app: FastAPI | None,
    host: str,
    port: int,
    duration_s: float | None,
) -> None:
    """Run the session on its live clock, redraw the view, serve the API if given; stop on
    Ctrl-C, at the end of ``duration_s``, or when the server stops."""
    clock = session.clock
    if not isinstance(clock, LiveClock):
        raise TypeError("the live view needs the session on a LiveClock")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    if duration_s is not None:
        loop.call_later(duration_s, stop.set)
    clock_task = asyncio.create_task(clock.run(stop))
    server: uvicorn.Server | None = None
    server_task: asyncio.Task[None] | None = None
    if app is not None:
        server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
        server_task = asyncio.create_task(server.serve())
    title = "OmoiTrade paper trading on SIM (Ctrl-C stops)"
    try:
        view = session_view(session.snapshot(), title)
        with Live(view, console=console, refresh_per_second=4) as live:
            while not stop.is_set() and not (server is not None and server.should_exit):
                live.update(session_view(session.snapshot(), title))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=REFRESH_S)
    finally:
        if not console.is_terminal:  # Live ends its last frame with a newline on terminals only
            console.line()
        stop.set()
        if server is not None and server_task is not None:
            server.should_exit = True
            await server_task
        await clock_task
