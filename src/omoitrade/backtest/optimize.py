"""Parameter optimization: run a strategy over a space of parameter values and rank the
runs by one metric, under constraints.

- :class:`ParamSpace`: one :class:`Param` per searched parameter, from ``name=start:stop:step``
  (both ends included; integers, or decimals when any part has a point) or ``name=a,b,c``.
- Methods (:class:`Method`): ``grid`` tries every combination (refused over ``max_grid``);
  ``random`` draws ``trials`` distinct combinations with a seeded generator; ``tpe`` asks
  Optuna's TPE sampler (seeded) in batches, telling it each batch's results.
- :class:`Objective`: a metric of :class:`~omoitrade.backtest.metrics.Metrics` (Sharpe by
  default), maximized or minimized (each metric knows its direction; drawdowns are
  minimized by their size). :class:`Constraint`: ``metric OP number``; a trial that breaks
  one is kept, infeasible, and never the best.
- Evaluation: in this process (one worker), in local worker processes (each gets the
  strategy, bars and settings once), or on a Dask distributed cluster (the inputs are
  scattered to every worker once). Trials are numbered in the order they are proposed and
  the results never depend on the number of workers (TPE's depend on its batch size, which
  defaults to the number of workers: give ``batch_size`` to fix it).

A combination the strategy refuses (a document that does not validate, a Python
parameter out of range) or a run that fails is a trial with its ``error``, not a crash.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from omoitrade.backtest.evaluators import (
    EvaluationInputs,
    Evaluator,
    Outcome,
    evaluate,
    open_evaluator,
)
from omoitrade.backtest.inputs import StrategySource
from omoitrade.backtest.runner import BacktestConfig
from omoitrade.backtest.search_space import (
    DEFAULT_MAX_GRID,
    DEFAULT_TRIALS,
    Constraint,
    Method,
    MetricValue,
    Objective,
    Param,
    ParamSpace,
    Point,
    Progress,
    Window,
    metric_names,
    plain_value,
    value_key,
)
from omoitrade.core.errors import ValidationError
from omoitrade.model import Instrument
from omoitrade.model.market_data import Bar


@dataclass(frozen=True)
class SearchSettings:
    """How to search: method, number of trials (random and TPE), objective, constraints,
    seed, TPE's batch size (default: the number of workers) and the largest grid."""

    method: Method = Method.GRID
    trials: int | None = None
    objective: Objective = field(default_factory=Objective)
    constraints: tuple[Constraint, ...] = ()
    seed: int = 0
    batch_size: int | None = None
    max_grid: int = DEFAULT_MAX_GRID

    def __post_init__(self) -> None:
        object.__setattr__(self, "method", Method(self.method))
        object.__setattr__(self, "constraints", tuple(self.constraints))
        if self.method is Method.GRID and self.trials is not None:
            raise ValidationError(
                "trials", "a grid tries every combination: --trials is for random and tpe"
            )
        if self.trials is not None and self.trials < 1:
            raise ValidationError("trials", "must be at least 1", self.trials)
        if self.batch_size is not None and self.batch_size < 1:
            raise ValidationError("batch_size", "must be at least 1", self.batch_size)
        if self.max_grid < 1:
            raise ValidationError("max_grid", "must be at least 1", self.max_grid)

    def evaluations(self, space: ParamSpace) -> int:
        """How many runs the search makes (at most)."""
        if self.method is Method.GRID:
            space.grid(self.max_grid)  # refuses a grid too large
            return space.size
        trials = self.trials or DEFAULT_TRIALS
        return min(trials, space.size) if self.method is Method.RANDOM else trials


# --- results ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Trial:
    """One combination tried: its metrics, objective ``value``, feasibility and error."""

    number: int
    parameters: Point
    value: float | None
    metrics: dict[str, MetricValue]
    feasible: bool
    broken: tuple[str, ...] = ()  # the constraints it breaks, why
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "parameters": {k: plain_value(v) for k, v in self.parameters.items()},
            "value": _json_float(self.value),
            "feasible": self.feasible,
            "broken": list(self.broken),
            "error": self.error,
            "metrics": {k: _json_float(v) for k, v in self.metrics.items()},
        }


def _json_float(value: MetricValue) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # "inf", "-inf", "nan": not JSON numbers
    return value


@dataclass(frozen=True)
class OptimizationResult:
    """Every trial, in trial order, and the best: the feasible trial with a value that
    scores highest (the earliest of equals)."""

    strategy: str
    space: ParamSpace
    settings: SearchSettings
    trials: tuple[Trial, ...]
    start: datetime  # the bars' first and last time
    end: datetime

    @property
    def objective(self) -> Objective:
        return self.settings.objective

    @property
    def best(self) -> Trial | None:
        ranked = self.ranked()
        return ranked[0] if ranked and _eligible(ranked[0], self.objective) else None

    def ranked(self) -> list[Trial]:
        """Best first: eligible trials by score, then infeasible ones with a value by
        score, then those without a value, then failures; equals by trial number."""

        def key(trial: Trial) -> tuple[int, float, int]:
            score = self.objective.score(trial.value)
            if trial.error is not None:
                return (3, 0.0, trial.number)
            if score is None:
                return (2, 0.0, trial.number)
            return (0 if trial.feasible else 1, -score, trial.number)

        return sorted(self.trials, key=key)

    def to_dict(self) -> dict[str, Any]:
        best = self.best
        return {
            "strategy": self.strategy,
            "method": self.settings.method.value,
            "metric": self.objective.metric,
            "direction": self.objective.direction,
            "constraints": [str(c) for c in self.settings.constraints],
            "space": [str(p) for p in self.space.params],
            "seed": self.settings.seed,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "best": None if best is None else best.to_dict(),
            "trials": [t.to_dict() for t in self.trials],
        }


def _eligible(trial: Trial, objective: Objective) -> bool:
    return trial.error is None and trial.feasible and objective.score(trial.value) is not None


# --- evaluation -------------------------------------------------------------------------------
def optimize(
    source: StrategySource,
    instruments: Sequence[Instrument],
    bars: Sequence[Bar],
    space: ParamSpace,
    settings: SearchSettings | None = None,
    *,
    config: BacktestConfig | None = None,
    workers: int | None = None,
    dask_scheduler: Any = None,
    progress: Progress | None = None,
) -> OptimizationResult:
    """Search ``space`` for the parameters of ``source`` that score best over ``bars``."""
    settings = settings or SearchSettings()
    source.check_names(space.names)
    source.check_instruments(instruments)
    inputs = EvaluationInputs(source, tuple(instruments), tuple(bars), config or BacktestConfig())
    if not inputs.bars:
        raise ValidationError("bars", "there are no bars to run over")
    evaluations = settings.evaluations(space)
    counter = ProgressCounter(evaluations, progress)
    with open_evaluator(inputs, workers, dask_scheduler, evaluations) as evaluator:
        return search(evaluator, inputs, space, settings, None, counter)


class ProgressCounter:
    """Counts finished evaluations for a ``progress(done, total)`` callback."""

    def __init__(self, total: int, progress: Progress | None) -> None:
        self.total, self.done, self.progress = total, 0, progress

    def __call__(self) -> None:
        self.done += 1
        if self.progress is not None:
            self.progress(self.done, self.total)


def search(
    evaluator: Evaluator,
    inputs: EvaluationInputs,
    space: ParamSpace,
    settings: SearchSettings,
    window: Window | None,
    counter: Callable[[], None],
) -> OptimizationResult:
    """One search over ``window`` of the inputs' bars (all of them with None)."""
    if settings.method is Method.TPE:
        trials = _tpe(evaluator, space, settings, window, counter)
    else:
        points = (
            space.grid(settings.max_grid)
            if settings.method is Method.GRID
            else space.sample(settings.trials or DEFAULT_TRIALS, settings.seed)
        )
        outcomes = evaluator.run([(p, window) for p in points], counter)
        trials = [
            make_trial(i, p, o, settings)
            for i, (p, o) in enumerate(zip(points, outcomes, strict=True))
        ]
    bars = inputs.bars if window is None else inputs.bars[window[0] : window[1]]
    return OptimizationResult(
        strategy=inputs.source.name,
        space=space,
        settings=settings,
        trials=tuple(trials),
        start=bars[0].timestamp,
        end=bars[-1].timestamp,
    )


def make_trial(number: int, parameters: Point, outcome: Outcome, settings: SearchSettings) -> Trial:
    metrics = outcome.metrics or {}
    if outcome.error is not None:
        return Trial(number, parameters, None, metrics, False, (), outcome.error)
    value = metrics.get(settings.objective.metric)
    broken = tuple(b for c in settings.constraints if (b := c.broken(metrics)) is not None)
    return Trial(
        number, parameters, None if value is None else float(value), metrics, not broken, broken
    )


def _tpe(
    evaluator: Evaluator,
    space: ParamSpace,
    settings: SearchSettings,
    window: Window | None,
    counter: Callable[[], None],
) -> list[Trial]:
    """Optuna's TPE, asked and told in batches; a combination asked again is not re-run.

    Every trial is told: a failed one, or one without a value, as breaking a constraint
    of its own, so that the sampler learns to stay away from it (as from infeasible ones).
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    constraints = settings.constraints
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Optuna's experimental-feature warnings
        sampler = optuna.samplers.TPESampler(
            seed=settings.seed, constraints_func=_optuna_constraints
        )
        study = optuna.create_study(direction="maximize", sampler=sampler)
    total = settings.trials or DEFAULT_TRIALS
    batch = settings.batch_size or evaluator.parallelism
    seen: dict[tuple[tuple[str, Any], ...], Outcome] = {}
    trials: list[Trial] = []
    while len(trials) < total:
        asked = [study.ask() for _ in range(min(batch, total - len(trials)))]
        points = [space.suggest(t) for t in asked]
        keys = [tuple((k, value_key(v)) for k, v in p.items()) for p in points]
        todo: dict[tuple[tuple[str, Any], ...], Point] = {}
        for key, point in zip(keys, points, strict=True):
            if key not in seen and key not in todo:
                todo[key] = point
        outcomes = evaluator.run([(p, window) for p in todo.values()], counter)
        seen.update(zip(todo, outcomes, strict=True))
        for _ in range(len(points) - len(todo)):
            counter()
        for asked_trial, point, key in zip(asked, points, keys, strict=True):
            trial = make_trial(len(trials), point, seen[key], settings)
            trials.append(trial)
            score = settings.objective.score(trial.value)
            usable = trial.error is None and score is not None
            violations = [c.violation(trial.metrics) for c in constraints]
            asked_trial.set_user_attr("constraints", [*violations, 0.0 if usable else 1.0])
            if score is None or trial.error is not None:
                score = 0.0
            study.tell(asked_trial, min(max(score, -_HUGE), _HUGE))  # finite for Optuna
    return trials


_HUGE = 1e300


def _optuna_constraints(trial: Any) -> list[float]:
    values: list[float] = trial.user_attrs.get("constraints", [])
    return values


__all__ = [
    "DEFAULT_MAX_GRID",
    "Constraint",
    "EvaluationInputs",
    "Evaluator",
    "Method",
    "Objective",
    "OptimizationResult",
    "Outcome",
    "Param",
    "ParamSpace",
    "SearchSettings",
    "Trial",
    "evaluate",
    "metric_names",
    "open_evaluator",
    "optimize",
    "search",
]
