"""Walk-forward analysis: optimize on an in-sample window, run the best parameters on the
out-of-sample window that follows, fold after fold, so that overfitting shows as
out-of-sample results far below the in-sample ones.

The bars are cut by count (see :func:`split_folds`): ``folds`` out-of-sample windows of
equal length tile the end of the series, each after an in-sample window ``ratio`` times
as long. Rolling: the in-sample window keeps its length and moves forward by one
out-of-sample length per fold. Anchored: it always starts at the first bar and grows.

Each out-of-sample run starts flat with the initial cash, over its own window's bars only
(indicators warm up inside the window, as they would after going live).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from omoitrade.backtest.inputs import StrategySource
from omoitrade.backtest.optimize import (
    EvaluationInputs,
    OptimizationResult,
    ParamSpace,
    ProgressCounter,
    SearchSettings,
    Trial,
    make_trial,
    open_evaluator,
    search,
)
from omoitrade.backtest.runner import BacktestConfig
from omoitrade.backtest.search_space import Progress, Window
from omoitrade.core.errors import ValidationError
from omoitrade.model import Instrument
from omoitrade.model.market_data import Bar

DEFAULT_RATIO = 3.0  # in-sample length over out-of-sample length
MIN_WINDOW_BARS = 2


@dataclass(frozen=True)
class Span:
    """Bars ``[first, stop)`` of the series, from ``start`` to ``end`` (the first and last
    bar's times)."""

    first: int
    stop: int
    start: datetime
    end: datetime

    @property
    def bars(self) -> int:
        return self.stop - self.first

    @property
    def window(self) -> Window:
        return (self.first, self.stop)

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "bars": self.bars}


@dataclass(frozen=True)
class Fold:
    number: int  # from 1
    in_sample: Span
    out_of_sample: Span


def split_folds(
    times: Sequence[datetime],
    folds: int,
    *,
    anchored: bool = False,
    ratio: float = DEFAULT_RATIO,
) -> list[Fold]:
    """``folds`` in-sample/out-of-sample pairs over bars at ``times`` (ascending).

    With ``n`` bars, each out-of-sample window has ``floor(n / (ratio + folds))`` bars and
    the first in-sample window the rest before the first out-of-sample one, so that the
    last out-of-sample window ends at the last bar.
    """
    n = len(times)
    if folds < 1:
        raise ValidationError("walk-forward", "needs at least 1 fold", folds)
    if not ratio > 0 or not math.isfinite(ratio):
        raise ValidationError("in-sample-ratio", "must be a positive number", ratio)
    step = int(n // (ratio + folds))
    in_length = n - folds * step
    if step < MIN_WINDOW_BARS or in_length < MIN_WINDOW_BARS:
        raise ValidationError(
            "walk-forward",
            f"{n} bars are too few for {folds} folds with in-sample {ratio:g} times the "
            f"out-of-sample length (each window needs at least {MIN_WINDOW_BARS} bars)",
        )

    def span(first: int, stop: int) -> Span:
        return Span(first, stop, times[first], times[stop - 1])

    out = []
    for i in range(folds):
        oos_first = in_length + i * step
        is_first = 0 if anchored else i * step
        out.append(Fold(i + 1, span(is_first, oos_first), span(oos_first, oos_first + step)))
    return out


@dataclass(frozen=True)
class FoldResult:
    """One fold: its in-sample optimization and the best parameters' out-of-sample run
    (None when no in-sample trial was eligible)."""

    fold: Fold
    optimization: OptimizationResult
    out_of_sample: Trial | None

    @property
    def best(self) -> Trial | None:
        return self.optimization.best

    @property
    def in_sample_value(self) -> float | None:
        best = self.best
        return None if best is None else best.value

    @property
    def out_of_sample_value(self) -> float | None:
        return None if self.out_of_sample is None else self.out_of_sample.value

    def to_dict(self) -> dict[str, Any]:
        best = self.best
        oos = self.out_of_sample
        return {
            "fold": self.fold.number,
            "in_sample": self.fold.in_sample.to_dict(),
            "out_of_sample": self.fold.out_of_sample.to_dict(),
            "best_parameters": None if best is None else best.to_dict()["parameters"],
            "in_sample_value": self.in_sample_value,
            "out_of_sample_value": self.out_of_sample_value,
            "in_sample_metrics": None if best is None else best.to_dict()["metrics"],
            "out_of_sample_metrics": None if oos is None else oos.to_dict()["metrics"],
            "out_of_sample_error": None if oos is None else oos.error,
            "trials": [t.to_dict() for t in self.optimization.trials],
        }


@dataclass(frozen=True)
class WalkForwardResult:
    """Every fold and the totals: the out-of-sample return compounded over the folds,
    the mean in-sample and out-of-sample objective values, and the efficiency (mean
    out-of-sample over mean in-sample value, when the in-sample mean is positive)."""

    strategy: str
    settings: SearchSettings
    anchored: bool
    ratio: float
    folds: tuple[FoldResult, ...]

    @property
    def latest(self) -> FoldResult:
        """The last fold: its in-sample best is what one would trade next."""
        return self.folds[-1]

    @property
    def metric(self) -> str:
        return self.settings.objective.metric

    def _pairs(self) -> list[tuple[float, float]]:
        return [
            (f.in_sample_value, f.out_of_sample_value)
            for f in self.folds
            if f.in_sample_value is not None and f.out_of_sample_value is not None
        ]

    @property
    def mean_in_sample(self) -> float | None:
        pairs = self._pairs()
        return sum(p[0] for p in pairs) / len(pairs) if pairs else None

    @property
    def mean_out_of_sample(self) -> float | None:
        pairs = self._pairs()
        return sum(p[1] for p in pairs) / len(pairs) if pairs else None

    @property
    def efficiency(self) -> float | None:
        mean_is, mean_oos = self.mean_in_sample, self.mean_out_of_sample
        if mean_is is None or mean_oos is None or not mean_is > 0:
            return None
        return mean_oos / mean_is

    @property
    def out_of_sample_return_pct(self) -> float | None:
        """The folds' out-of-sample returns compounded, in percent (None without any)."""
        growth, any_run = 1.0, False
        for f in self.folds:
            oos = f.out_of_sample
            value = None if oos is None else oos.metrics.get("total_return_pct")
            if value is not None:
                growth *= 1.0 + float(value) / 100.0
                any_run = True
        return (growth - 1.0) * 100.0 if any_run else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy,
            "method": self.settings.method.value,
            "metric": self.metric,
            "direction": self.settings.objective.direction,
            "constraints": [str(c) for c in self.settings.constraints],
            "seed": self.settings.seed,
            "anchored": self.anchored,
            "in_sample_ratio": self.ratio,
            "mean_in_sample": self.mean_in_sample,
            "mean_out_of_sample": self.mean_out_of_sample,
            "efficiency": self.efficiency,
            "out_of_sample_return_pct": self.out_of_sample_return_pct,
            "folds": [f.to_dict() for f in self.folds],
        }


def walk_forward(
    source: StrategySource,
    instruments: Sequence[Instrument],
    bars: Sequence[Bar],
    space: ParamSpace,
    folds: int,
    settings: SearchSettings | None = None,
    *,
    anchored: bool = False,
    ratio: float = DEFAULT_RATIO,
    config: BacktestConfig | None = None,
    workers: int | None = None,
    dask_scheduler: Any = None,
    progress: Progress | None = None,
) -> WalkForwardResult:
    """Optimize on each fold's in-sample bars and run the best on its out-of-sample bars.

    ``bars`` are of one instrument (the folds are cut by bar count), in time order.
    """
    settings = settings or SearchSettings()
    source.check_names(space.names)
    source.check_instruments(instruments)
    if len({b.instrument_id for b in bars}) > 1:
        raise ValidationError("walk-forward", "runs over the bars of one instrument")
    inputs = EvaluationInputs(source, tuple(instruments), tuple(bars), config or BacktestConfig())
    plan = split_folds([b.timestamp for b in inputs.bars], folds, anchored=anchored, ratio=ratio)
    per_fold = settings.evaluations(space)
    counter = ProgressCounter(folds * (per_fold + 1), progress)
    results = []
    with open_evaluator(inputs, workers, dask_scheduler, per_fold) as evaluator:
        for fold in plan:
            found = search(evaluator, inputs, space, settings, fold.in_sample.window, counter)
            best = found.best
            oos = None
            if best is not None:
                task = (best.parameters, fold.out_of_sample.window)
                (outcome,) = evaluator.run([task], counter)
                oos = make_trial(best.number, best.parameters, outcome, settings)
            else:
                counter()
            results.append(FoldResult(fold, found, oos))
    return WalkForwardResult(source.name, settings, anchored, ratio, tuple(results))
