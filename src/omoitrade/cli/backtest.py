"""``omoitrade backtest``: run a strategy over a data file and show, save and store it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from omoitrade.backtest.inputs import load_bars, load_strategy
from omoitrade.backtest.report import write_html, write_png
from omoitrade.backtest.runner import BacktestConfig
from omoitrade.backtest.session import run_backtest
from omoitrade.backtest.storage import store_run
from omoitrade.cli.console import console
from omoitrade.cli.options import day_option, decimal_option, fill_model_option, open_database
from omoitrade.core.errors import ValidationError


def backtest(
    strategy: Annotated[Path, typer.Argument(help="strategy document (.json) or Python file")],
    data: Annotated[Path, typer.Option("--data", help="bars: CSV or Parquet file")],
    instrument: Annotated[
        str | None, typer.Option(help="symbol of the data (default: from the file name)")
    ] = None,
    cash: Annotated[str, typer.Option(help="initial cash")] = "100000",
    commission: Annotated[str, typer.Option(help="rate of each fill's value, both sides")] = "0",
    fill: Annotated[str, typer.Option(help="next-open | close | ohlc")] = "next-open",
    start: Annotated[str | None, typer.Option("--from", help="first day (YYYY-MM-DD)")] = None,
    end: Annotated[str | None, typer.Option("--to", help="last day (YYYY-MM-DD)")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="write all results")] = None,
    report: Annotated[Path | None, typer.Option(help="write the HTML report")] = None,
    png: Annotated[Path | None, typer.Option(help="write PNG charts into this folder")] = None,
    store: Annotated[
        str | None, typer.Option(help="record the run for this stored strategy (name or id)")
    ] = None,
) -> None:
    """Backtest STRATEGY over --data with a progress bar, then print a summary table."""
    config = BacktestConfig(
        initial_cash=decimal_option("cash", cash),
        commission=decimal_option("commission", commission),
        fill_model=fill_model_option(fill),
    )
    source = load_strategy(strategy)
    market, bars = load_bars(data, instrument)  # by default the symbol in the file name
    source = source.trading([market])  # a rule document trades the data's instrument
    first, last = day_option("--from", start), day_option("--to", end)
    if first is not None:
        bars = [b for b in bars if b.timestamp >= first]
    if last is not None:
        bars = [b for b in bars if b.timestamp < last + timedelta(days=1)]
    if not bars:
        raise ValidationError("data", f"no bars of {data.name} in the chosen dates")
    with Progress(
        TextColumn("[bold]backtest"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("bars"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("bars", total=len(bars))
        result = run_backtest(
            [source.spec()],
            [market],
            bars,
            config,
            progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
    table = Table(title=f"{result.strategy} on {market.symbol}", show_header=False)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for label, value in result.summary_rows():
        table.add_row(label, value)
    console.print(table)
    written = []
    bars_by_instrument = {market.id: bars}
    if json_out is not None:
        written.append(result.write_json(json_out))
    if report is not None:
        written.append(write_html(result, bars_by_instrument, report))
    if png is not None:
        written.extend(write_png(result, bars_by_instrument, png))
    for path in written:
        console.print(f"wrote {path}", highlight=False)
    if store is not None:
        database = open_database()
        try:
            run = store_run(database, store, result)
        finally:
            database.dispose()
        console.print(
            f"stored as backtest run {run.id} of {result.strategy} version {run.strategy_version}",
            highlight=False,
        )
