"""``omoitrade optimize``: search a strategy's parameters over a data file (grid, random or
TPE), optionally walk-forward, with a progress bar and a results table; write every trial
as JSON and store the best parameters as a new strategy version on request."""

from __future__ import annotations

import json
import math
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from omoitrade.backtest.inputs import load_bars, load_strategy
from omoitrade.backtest.optimize import (
    DEFAULT_MAX_GRID,
    Constraint,
    Method,
    Objective,
    OptimizationResult,
    ParamSpace,
    SearchSettings,
    Trial,
)
from omoitrade.backtest.optimize import (
    optimize as run_optimization,
)
from omoitrade.backtest.runner import BacktestConfig
from omoitrade.backtest.walkforward import DEFAULT_RATIO, WalkForwardResult, walk_forward
from omoitrade.cli.backtest import require_simulated
from omoitrade.cli.console import console
from omoitrade.cli.options import decimal_option, fill_model_option
from omoitrade.cli.strategy import _service
from omoitrade.core.errors import ValidationError

_SHOWN = ("total_return_pct", "max_drawdown_pct", "trades")
_LABELS = {"total_return_pct": "return %", "max_drawdown_pct": "max dd %", "trades": "trades"}


def optimize(
    strategy: Annotated[Path, typer.Argument(help="strategy document (.json) or Python file")],
    data: Annotated[Path, typer.Option("--data", help="bars: CSV or Parquet file")],
    param: Annotated[
        list[str] | None,
        typer.Option("--param", help="NAME=START:STOP:STEP (stop included) or NAME=A,B,C; repeat"),
    ] = None,
    method: Annotated[str, typer.Option(help="grid | random | tpe")] = "grid",
    trials: Annotated[
        int | None, typer.Option(help="trials of random and tpe (default 100)")
    ] = None,
    metric: Annotated[str, typer.Option(help="the metric to optimize")] = "sharpe",
    minimize: Annotated[
        bool | None,
        typer.Option(
            "--minimize/--maximize",
            help="direction (default: the metric's own)",
            show_default=False,
        ),
    ] = None,
    constraint: Annotated[
        list[str] | None,
        typer.Option(help='METRIC OP NUMBER, e.g. "trades>=30" or "max_drawdown_pct<20"; repeat'),
    ] = None,
    workers: Annotated[
        int | None, typer.Option(help="local worker processes (default: one per CPU)")
    ] = None,
    dask_scheduler: Annotated[
        str | None, typer.Option("--dask-scheduler", help="run on a Dask cluster: tcp://HOST:PORT")
    ] = None,
    walk_forward_folds: Annotated[
        int | None,
        typer.Option("--walk-forward", help="walk-forward analysis with this many folds"),
    ] = None,
    anchored: Annotated[
        bool, typer.Option(help="walk-forward in-sample windows grow from the start")
    ] = False,
    in_sample_ratio: Annotated[
        float, typer.Option(help="walk-forward in-sample length over out-of-sample length")
    ] = DEFAULT_RATIO,
    seed: Annotated[int, typer.Option(help="seed of random and tpe")] = 0,
    batch: Annotated[
        int | None, typer.Option(help="tpe trials per batch (default: the number of workers)")
    ] = None,
    max_grid: Annotated[int, typer.Option(help="the largest grid to try")] = DEFAULT_MAX_GRID,
    instrument: Annotated[
        str | None,
        typer.Option(help="SYMBOL or EXCHANGE:SYMBOL of the data (default: the file name)"),
    ] = None,
    timeframe: Annotated[
        str | None, typer.Option(help="bar length of the data (default: guessed)")
    ] = None,
    cash: Annotated[str, typer.Option(help="initial cash")] = "100000",
    commission: Annotated[str, typer.Option(help="rate of each fill's value, both sides")] = "0",
    fill: Annotated[str, typer.Option(help="next-open | close | ohlc")] = "next-open",
    top: Annotated[int, typer.Option(help="rows of the results table")] = 10,
    json_out: Annotated[Path | None, typer.Option("--json", help="write every trial")] = None,
    save_best: Annotated[
        bool, typer.Option(help="store the best parameters as a new version of --strategy-id")
    ] = False,
    strategy_id: Annotated[
        str | None, typer.Option("--strategy-id", help="the stored strategy (name or id)")
    ] = None,
    author: Annotated[str, typer.Option(help="who makes the change (--save-best)")] = "cli",
) -> None:
    """Search STRATEGY's parameters over --data and print the best trials.

    Example: omoitrade optimize sma_cross.json --data goog.csv --param fast=5:50:5
    --param slow=10:200:10 --method tpe --trials 200 --constraint "trades>=30"
    """
    space = ParamSpace.parse(param or [])
    settings = SearchSettings(
        method=_method(method),
        trials=trials,
        objective=Objective(metric, minimize),
        constraints=tuple(Constraint.parse(c) for c in constraint or []),
        seed=seed,
        batch_size=batch,
        max_grid=max_grid,
    )
    config = BacktestConfig(
        initial_cash=decimal_option("cash", cash),
        commission=decimal_option("commission", commission),
        fill_model=fill_model_option(fill),
    )
    if save_best and strategy_id is None:
        raise ValidationError("--save-best", "give --strategy-id (the stored strategy)")
    original = load_strategy(strategy)
    original.check_names(space.names)
    if save_best and not original.is_document:
        raise ValidationError("--save-best", "stores rule documents, not Python strategies")
    market, bars = load_bars(data, instrument, timeframe)  # by default named after the file
    require_simulated(market)
    source = original.trading([market])  # a rule document trades the data's instrument
    evaluations = settings.evaluations(space)
    where = f"Dask {dask_scheduler}" if dask_scheduler else f"{workers or 'all'} worker(s)"
    console.print(
        f"{source.name} on {market.symbol} ({len(bars)} bars): {settings.method.value}, "
        f"{settings.objective.metric} ({settings.objective.direction}), {where}",
        highlight=False,
        markup=False,
    )
    total = evaluations * (walk_forward_folds or 1)
    with Progress(
        TextColumn("[bold]optimize"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("runs"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("runs", total=total)

        def advance(done: int, all_: int) -> None:
            progress.update(task, completed=done, total=all_)

        common: dict[str, Any] = {
            "config": config,
            "workers": workers,
            "dask_scheduler": dask_scheduler,
            "progress": advance,
        }
        if walk_forward_folds is not None:
            analysis = walk_forward(
                source,
                [market],
                bars,
                space,
                walk_forward_folds,
                settings,
                anchored=anchored,
                ratio=in_sample_ratio,
                **common,
            )
        else:
            result = run_optimization(source, [market], bars, space, settings, **common)
    if walk_forward_folds is not None:
        _show_walk_forward(analysis)
        document: dict[str, Any] = analysis.to_dict()
    else:
        _show(result, top)
        document = result.to_dict()
    if json_out is not None:
        try:
            json_out.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
        except OSError as error:
            raise ValidationError("--json", f"cannot write {json_out}: {error}") from None
        console.print(f"wrote {json_out}", highlight=False, markup=False)
    if save_best:
        assert strategy_id is not None
        if walk_forward_folds is not None:  # the latest in-sample window's best: trade next
            latest = analysis.latest
            best, where = latest.best, f"fold {latest.fold.number} of {len(analysis.folds)}"
            if best is None:
                raise ValidationError("--save-best", f"{where} has no feasible trial")
            outside = _format(latest.out_of_sample_value)
            how = f"walk-forward {where}, out-of-sample {outside}"
        else:
            best = result.best
            if best is None:
                raise ValidationError("--save-best", "no feasible trial: nothing to store")
            how = f"{settings.method.value}, trial {best.number}"
        service, _ = _service()
        try:
            stored = service.find(strategy_id)
            note = (
                f"optimized: {settings.objective.metric} {_format(best.value)} "
                f"over {data.name} ({how})"
            )
            version = service.change(
                stored.id, original.document_with(best.parameters), author, note
            )
        finally:
            service.database.dispose()
        console.print(
            f"stored {stored.name} version {version.version}: {_parameters(best)}",
            highlight=False,
            markup=False,
        )


def _show(result: OptimizationResult, top: int) -> None:
    metric = result.objective.metric
    extra = [name for name in _SHOWN if name != metric]
    ranked = result.ranked()
    table = Table(
        title=f"{result.strategy}: top {min(top, len(ranked))} of {len(ranked)} trials by {metric}",
    )
    table.add_column("#", justify="right")
    for name in result.space.names:
        table.add_column(name, justify="right")
    table.add_column(metric, justify="right")
    for name in extra:
        table.add_column(_LABELS[name], justify="right")
    table.add_column("note")
    for trial in ranked[:top]:
        note = trial.error or "; ".join(trial.broken)
        table.add_row(
            str(trial.number),
            *(_format(trial.parameters[n]) for n in result.space.names),
            _format(trial.value),
            *(_format(trial.metrics.get(name)) for name in extra),
            note,
        )
    console.print(table)
    failed = sum(1 for t in result.trials if t.error is not None)
    infeasible = sum(1 for t in result.trials if t.error is None and not t.feasible)
    counts = [f"{n} {what}" for n, what in ((failed, "failed"), (infeasible, "infeasible")) if n]
    if counts:
        console.print(", ".join(counts), highlight=False)
    best = result.best
    if best is None:
        console.print("best: none (no feasible trial with a value)", highlight=False)
    else:
        console.print(
            f"best: {_parameters(best)} ({metric} {_format(best.value)}, trial {best.number})",
            highlight=False,
            markup=False,
        )


def _show_walk_forward(analysis: WalkForwardResult) -> None:
    metric = analysis.metric
    kind = "anchored" if analysis.anchored else "rolling"
    table = Table(title=f"{analysis.strategy}: walk-forward ({kind}), {metric}")
    for name in ("fold", "in-sample", "out-of-sample", "best parameters"):
        table.add_column(name)
    for name in (f"IS {metric}", f"OOS {metric}", "OOS return %", "OOS trades"):
        table.add_column(name, justify="right")
    for fold in analysis.folds:
        best, oos = fold.best, fold.out_of_sample
        table.add_row(
            str(fold.fold.number),
            _span(fold.fold.in_sample.start, fold.fold.in_sample.end),
            _span(fold.fold.out_of_sample.start, fold.fold.out_of_sample.end),
            "-" if best is None else _parameters(best),
            _format(fold.in_sample_value),
            _format(fold.out_of_sample_value),
            "-" if oos is None else _format(oos.metrics.get("total_return_pct")),
            "-" if oos is None else _format(oos.metrics.get("trades")),
        )
    console.print(table)
    console.print(
        f"mean {metric}: in-sample {_format(analysis.mean_in_sample)}, out-of-sample "
        f"{_format(analysis.mean_out_of_sample)}; efficiency {_format(analysis.efficiency)}; "
        f"out-of-sample return {_format(analysis.out_of_sample_return_pct)}%",
        highlight=False,
        markup=False,
    )


def _span(start: Any, end: Any) -> str:
    return f"{start.date().isoformat()} .. {end.date().isoformat()}"


def _parameters(trial: Trial) -> str:
    return " ".join(f"{k}={_format(v)}" for k, v in trial.parameters.items())


def _format(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        return f"{value:.4g}" if abs(value) < 1 else f"{value:.2f}"
    return str(value)


def _method(text: str) -> Method:
    try:
        return Method(text)
    except ValueError:
        allowed = ", ".join(m.value for m in Method)
        raise ValidationError("--method", f"must be one of {allowed}", text) from None
