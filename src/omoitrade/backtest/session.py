"""One backtest from inputs to results: run the kernel, then turn what it did into round
trips, metrics and a :class:`BacktestResult` (what the CLI prints, the reports draw, the
optimizer ranks and the store keeps)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from omoitrade.backtest.metrics import compute_metrics
from omoitrade.backtest.results import BacktestResult
from omoitrade.backtest.runner import BacktestConfig, BacktestRunner, RawRun, StrategySpec
from omoitrade.backtest.trades import round_trips
from omoitrade.model import Instrument
from omoitrade.model.market_data import Bar, TradeTick


def run_backtest(
    strategies: Sequence[StrategySpec],
    instruments: Sequence[Instrument],
    bars: Mapping[Instrument, Sequence[Bar]] | Sequence[Bar] = (),
    config: BacktestConfig | None = None,
    *,
    ticks: Sequence[TradeTick] = (),
    progress: Callable[[int, int], None] | None = None,
) -> BacktestResult:
    """Run ``strategies`` over ``bars`` (or ``ticks``) and return everything they did,
    measured."""
    config = config or BacktestConfig()
    raw = BacktestRunner(strategies, instruments, bars, config, ticks=ticks).run(progress)
    return result_of(raw, strategies, instruments, config)


def result_of(
    raw: RawRun,
    strategies: Sequence[StrategySpec],
    instruments: Sequence[Instrument],
    config: BacktestConfig,
) -> BacktestResult:
    """The :class:`BacktestResult` of a finished run."""
    symbols = {i.id: i.symbol for i in instruments}
    by_instrument = {i.id: raw.bars[i.symbol] for i in instruments if raw.bars.get(i.symbol)}
    trades = round_trips(raw.fills, by_instrument, symbols)
    first = instruments[0]
    timeframe = raw.bars[first.symbol][0].timeframe if raw.bars.get(first.symbol) else None
    metrics = compute_metrics(
        raw.equity,
        trades,
        benchmark_bars=raw.bars.get(first.symbol),
        initial_cash=config.initial_cash,
        fills=raw.fills,
        timeframe=timeframe,
    )
    (currency,) = {i.quote_currency for i in instruments}
    spec = strategies[0]
    return BacktestResult(
        strategy=" + ".join(s.name for s in strategies),
        version=str(spec.version) if len(strategies) == 1 else None,
        parameters=_parameters(strategies),
        instruments=symbols,
        timeframe=timeframe,
        start=raw.equity.timestamps[0],
        end=raw.equity.timestamps[-1],
        initial_cash=config.initial_cash,
        currency=currency,
        settings=settings_of(config),
        orders=tuple(raw.orders),
        fills=tuple(raw.fills),
        trades=tuple(trades),
        equity_curve=raw.equity,
        metrics=metrics,
        notes=tuple(f"paused: {p}" for p in raw.paused),
    )


def settings_of(config: BacktestConfig) -> dict[str, Any]:
    """The run's settings as JSON values (for the results and the stored run)."""
    return {
        "initial_cash": str(config.initial_cash),
        "commission": str(config.commission),
        "maker_fee": None if config.maker_fee is None else str(config.maker_fee),
        "taker_fee": None if config.taker_fee is None else str(config.taker_fee),
        "fill_model": config.fill_model.value,
        "slippage": type(config.slippage).__name__,
        "participation_cap": (
            None if config.participation_cap is None else str(config.participation_cap)
        ),
        "latency_ns": {
            "order_ack": config.latency.order_ack_ns,
            "fill": config.latency.fill_ns,
            "market_data": config.latency.market_data_ns,
        },
        "seed": config.seed,
    }


def _parameters(strategies: Sequence[StrategySpec]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for spec in strategies:
        values = dict(spec.document.parameters) if spec.document is not None else spec.params
        for name, value in values.items():
            key = name if len(strategies) == 1 else f"{spec.name}.{name}"
            found[key] = value if isinstance(value, int | float | str | bool) else str(value)
    return found
