"""``omoitrade backtest``: run a strategy over a data file and show, save and store it."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from omoitrade.backtest.inputs import StrategySource, instrument_for, load_bars, load_strategy
from omoitrade.backtest.report import write_html, write_png
from omoitrade.backtest.runner import BacktestConfig, BacktestRunner
from omoitrade.backtest.session import result_of
from omoitrade.backtest.storage import store_run, stored_source
from omoitrade.cli.console import console
from omoitrade.cli.data import catalog_root
from omoitrade.cli.options import day_option, decimal_option, fill_model_option, open_database
from omoitrade.config import Settings
from omoitrade.core.errors import ValidationError
from omoitrade.data.catalog import ParquetCatalog
from omoitrade.data.tick_catalog import TickCatalog
from omoitrade.data.tick_import import is_tick_file, read_trade_ticks
from omoitrade.model import Instrument
from omoitrade.model.enums import Timeframe
from omoitrade.model.market_data import Bar, TradeTick
from omoitrade.runtime.demo import SIM_EXCHANGE
from omoitrade.runtime.history import find_instrument
from omoitrade.runtime.history import load_bars as history_bars
from omoitrade.store import Database
from omoitrade.venues.sim.latency import LatencyModel

T = TypeVar("T")


def backtest(
    strategy: Annotated[Path, typer.Argument(help="strategy document (.json) or Python file")],
    data: Annotated[
        Path | None,
        typer.Option("--data", help="bars: CSV or Parquet file (else the catalog's)"),
    ] = None,
    instrument: Annotated[
        str | None,
        typer.Option(
            help="symbol of the data (default: from the file name); for the catalog, "
            "[EXCHANGE:]SYMBOL as imported with 'omoitrade data import'"
        ),
    ] = None,
    timeframe: Annotated[
        str | None,
        typer.Option(
            help="bar length: the catalog's, or built from ticks (default: the strategy's)"
        ),
    ] = None,
    ticks: Annotated[
        bool,
        typer.Option(
            "--ticks", help="from the catalog: the trades of --instrument (data import-ticks)"
        ),
    ] = False,
    cash: Annotated[str, typer.Option(help="initial cash")] = "100000",
    commission: Annotated[str, typer.Option(help="rate of each fill's value, both sides")] = "0",
    fill: Annotated[str, typer.Option(help="next-open | close | ohlc")] = "next-open",
    latency_ms: Annotated[
        int, typer.Option("--latency-ms", min=0, help="order and report latency, milliseconds")
    ] = 0,
    start: Annotated[str | None, typer.Option("--from", help="first day (YYYY-MM-DD)")] = None,
    end: Annotated[str | None, typer.Option("--to", help="last day (YYYY-MM-DD)")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="write all results")] = None,
    report: Annotated[Path | None, typer.Option(help="write the HTML report")] = None,
    png: Annotated[Path | None, typer.Option(help="write PNG charts into this folder")] = None,
    store: Annotated[
        str | None, typer.Option(help="record the run for this stored strategy (name or id)")
    ] = None,
) -> None:
    """Backtest STRATEGY over --data (or the catalog's bars, or with --ticks its trades, of
    --instrument) with a progress bar, then print a summary table."""
    config = BacktestConfig(
        initial_cash=decimal_option("cash", cash),
        commission=decimal_option("commission", commission),
        fill_model=fill_model_option(fill),
        latency=LatencyModel(order_ack_ns=latency_ms * 1_000_000, fill_ns=latency_ms * 1_000_000),
    )
    source = load_strategy(strategy)
    if store is not None:  # the stored version's content, or refused before the run
        source = _with_database(lambda database: stored_source(database, store, source))
    first, last = day_option("--from", start), day_option("--to", end)
    until = None if last is None else last + timedelta(days=1)
    trades: list[TradeTick] = []
    bars: list[Bar] = []
    if ticks and data is not None:
        raise ValidationError("--ticks", "reads the catalog: give --instrument, not --data")
    if data is not None and data.is_file() and is_tick_file(data):  # bars built from trades
        market = instrument_for(instrument or _symbol_of(data))
        trades = read_trade_ticks(data, market.id)
        trades = [t for t in trades if (first is None or t.timestamp >= first)]
        trades = [t for t in trades if (until is None or t.timestamp < until)]
        where = data.name
    elif ticks:
        market, trades = _catalog_ticks(instrument, first, until)
        where = f"the tick catalog ({market.exchange}:{market.symbol})"
    elif data is not None:
        market, bars = load_bars(data, instrument)  # by default the symbol in the file name
        bars = [b for b in bars if (first is None or b.timestamp >= first)]
        bars = [b for b in bars if (until is None or b.timestamp < until)]
        where = data.name
    else:
        market, bars = _catalog_bars(instrument, timeframe or _timeframe_of(source), first, until)
        where = f"the catalog ({market.exchange}:{market.symbol})"
    require_simulated(market)
    if trades:  # the strategies see bars built from the trades
        config = replace(config, tick_bars=Timeframe(timeframe or _timeframe_of(source)))
    source = source.trading([market])  # a rule document trades the data's instrument
    if not bars and not trades:
        kind = "trades" if ticks else "bars"
        raise ValidationError("data", f"no {kind} of {where} in the chosen dates")
    with Progress(
        TextColumn("[bold]backtest"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("ticks" if trades else "bars"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("data", total=len(trades) or len(bars))
        specs = [source.spec()]
        raw = BacktestRunner(specs, [market], bars, config, ticks=trades).run(
            lambda done, total: progress.update(task, completed=done, total=total)
        )
        result = result_of(raw, specs, [market], config)
    table = Table(title=f"{result.strategy} on {market.symbol}", show_header=False)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for label, value in result.summary_rows():
        table.add_row(label, value)
    console.print(table)
    for note in result.notes:  # a strategy paused by an error, say
        console.print(f"note: {note}", highlight=False, markup=False)
    written = []
    bars_by_instrument = {market.id: raw.bars[market.symbol]}  # (from ticks: built ones)
    if json_out is not None:
        written.append(result.write_json(json_out))
    if report is not None:
        written.append(write_html(result, bars_by_instrument, report))
    if png is not None:
        written.extend(write_png(result, bars_by_instrument, png))
    for path in written:
        console.print(f"wrote {path}", highlight=False)
    if store is not None:
        run = _with_database(lambda database: store_run(database, store, result, source))
        console.print(
            f"stored as backtest run {run.id} of {result.strategy} version {run.strategy_version}",
            highlight=False,
        )


def require_simulated(market: Instrument) -> None:
    """ValidationError unless the backtest's simulated exchange trades ``market`` (the
    orders of another exchange's instruments would have no venue to go to)."""
    if market.exchange != SIM_EXCHANGE:
        raise ValidationError(
            "--instrument",
            f"{market.exchange}:{market.symbol}: a backtest trades on {SIM_EXCHANGE} only",
        )


def _with_database(work: Callable[[Database], T]) -> T:
    """``work`` done on the configured database, closed after it."""
    database = open_database()
    try:
        return work(database)
    finally:
        database.dispose()


def _timeframe_of(source: StrategySource) -> str:
    if source.timeframe is None:
        raise ValidationError("--timeframe", "is required: the strategy names no timeframe")
    return source.timeframe.value


def _catalog_bars(
    instrument: str | None, timeframe: str, start: datetime | None, end: datetime | None
) -> tuple[Instrument, list[Bar]]:
    """The catalog's bars (and the database's newest) of an imported instrument."""
    try:
        frame = Timeframe(timeframe)
    except ValueError:
        allowed = ", ".join(t.value for t in Timeframe)
        raise ValidationError("--timeframe", f"must be one of {allowed}", timeframe) from None
    database = open_database()
    try:
        market = _imported(database, instrument)
        catalog = ParquetCatalog(catalog_root(Settings()))
        return market, history_bars(database, catalog, market.id, frame, start, end)
    finally:
        database.dispose()


def _catalog_ticks(
    instrument: str | None, start: datetime | None, end: datetime | None
) -> tuple[Instrument, list[TradeTick]]:
    """The tick catalog's trades of an imported instrument."""
    database = open_database()
    try:
        market = _imported(database, instrument)
    finally:
        database.dispose()
    return market, TickCatalog(catalog_root(Settings())).read_ticks(market, start, end)


def _imported(database: Database, instrument: str | None) -> Instrument:
    """The instrument ``[EXCHANGE:]SYMBOL`` named for the catalog."""
    if instrument is None:
        raise ValidationError("--data", "give a data file, or --instrument for the catalog")
    exchange, _, symbol = instrument.rpartition(":")
    return find_instrument(database, exchange or SIM_EXCHANGE, symbol)


def _symbol_of(path: Path) -> str:
    """The symbol in a data file's name (``goog_ticks.csv``: GOOG)."""
    return re.split(r"[^A-Za-z0-9]", path.name)[0].upper() or "DATA"
