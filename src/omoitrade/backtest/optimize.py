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

import difflib
import math
import multiprocessing
import os
import random
import re
import typing
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from itertools import product
from types import NoneType
from typing import Any, Protocol

from omoitrade.backtest.inputs import StrategySource
from omoitrade.backtest.metrics import Metrics
from omoitrade.backtest.runner import BacktestConfig
from omoitrade.backtest.session import run_backtest
from omoitrade.core.errors import OmoiError, ValidationError
from omoitrade.model import Instrument
from omoitrade.model.market_data import Bar

ParamValue = int | Decimal | float | bool | str
Point = dict[str, ParamValue]
MetricValue = int | float | None
Window = tuple[int, int]  # bar indices [start, stop)
Progress = Callable[[int, int], None]

DEFAULT_MAX_GRID = 10_000
DEFAULT_TRIALS = 100
MAX_VALUES = 1_000_000  # of one parameter

#: Metrics where lower is better (the rest: higher is better).
LOWER_IS_BETTER = frozenset({"volatility_pct", "total_fees", "gross_loss"})
#: Metrics where a smaller size is better, whichever sign they are written with.
SMALLER_SIZE_IS_BETTER = frozenset({"max_drawdown_pct", "max_drawdown"})
_NOT_RESULTS = frozenset({"periods_per_year", "risk_free_rate", "initial_cash"})


class Method(StrEnum):
    GRID = "grid"
    RANDOM = "random"
    TPE = "tpe"


def metric_names() -> tuple[str, ...]:
    """The numeric metrics of a run (fields of :class:`Metrics`), in their order."""
    hints = typing.get_type_hints(Metrics)
    numeric = {int, float, Decimal}
    names = []
    for f in fields(Metrics):
        kinds = set(typing.get_args(hints[f.name]) or (hints[f.name],)) - {NoneType}
        if kinds and kinds <= numeric and f.name not in _NOT_RESULTS:
            names.append(f.name)
    return tuple(names)


def _check_metric(name: str, what: str) -> None:
    names = metric_names()
    if name not in names:
        close = difflib.get_close_matches(name, names, n=1)
        hint = f"did you mean {close[0]}? " if close else "e.g. sharpe, trades; "
        raise ValidationError(
            what, f"unknown metric {name!r} ({hint}all are listed in docs/optimization.md)"
        )


def metrics_of(metrics: Metrics) -> dict[str, MetricValue]:
    """The numeric metrics as ints and floats (Decimals become floats; None stays)."""
    out: dict[str, MetricValue] = {}
    for name in metric_names():
        value = getattr(metrics, name)
        if value is None or isinstance(value, int):
            out[name] = value
        else:
            out[name] = float(value)
    return out


# --- the space --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Param:
    """One searched parameter: a range of numbers (``start + i * step``, ``count`` of them)
    or a list of ``choices``."""

    name: str
    count: int
    start: Decimal = Decimal(0)
    step: Decimal = Decimal(1)
    integer: bool = True
    choices: tuple[ParamValue, ...] = ()

    @classmethod
    def parse(cls, text: str) -> Param:
        """``name=start:stop[:step]`` (``stop`` included; step 1 by default for integers)
        or ``name=a,b,c`` (numbers, true/false, or words)."""
        name, sep, spec = text.partition("=")
        name, spec = name.strip(), spec.strip()
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) or not spec:
            raise ValidationError(
                "param", f"{text!r} must be name=start:stop:step or name=a,b,c", text
            )
        if ":" in spec:
            return cls._range(name, text, spec)
        choices = tuple(_choice(part.strip()) for part in spec.split(","))
        if any(part.strip() == "" for part in spec.split(",")):
            raise ValidationError("param", f"{text!r} has an empty value", text)
        if len(set(map(_key, choices))) != len(choices):
            raise ValidationError("param", f"{text!r} lists a value twice", text)
        return cls(name, len(choices), choices=choices)

    @classmethod
    def _range(cls, name: str, text: str, spec: str) -> Param:
        parts = [p.strip() for p in spec.split(":")]
        if len(parts) not in (2, 3):
            raise ValidationError("param", f"{text!r} must be name=start:stop:step", text)
        try:
            numbers = [Decimal(p) for p in parts]
        except InvalidOperation:
            raise ValidationError(
                "param", f"{text!r}: start, stop and step must be numbers", text
            ) from None
        if not all(n.is_finite() for n in numbers):
            raise ValidationError("param", f"{text!r}: numbers must be finite", text)
        pairs = zip(numbers, parts, strict=True)
        integer = all(n == n.to_integral_value() and "." not in p for n, p in pairs)
        if len(numbers) == 2:
            if not integer:
                raise ValidationError("param", f"{text!r}: give a step for decimals", text)
            numbers.append(Decimal(1))
        start, stop, step = numbers
        if step <= 0:
            raise ValidationError("param", f"{text!r}: the step must be positive", text)
        if stop < start:
            raise ValidationError("param", f"{text!r}: stop is below start", text)
        count = int((stop - start) / step) + 1
        if count > MAX_VALUES:
            raise ValidationError("param", f"{text!r} has over {MAX_VALUES:,} values", text)
        return cls(name, count, start, step, integer)

    def __len__(self) -> int:
        return self.count

    def value(self, index: int) -> ParamValue:
        if self.choices:
            return self.choices[index]
        value = self.start + index * self.step
        return int(value) if self.integer else value

    def values(self) -> list[ParamValue]:
        return [self.value(i) for i in range(self.count)]

    def __str__(self) -> str:
        if self.choices:
            return f"{self.name}={','.join(str(_plain(c)) for c in self.choices)}"
        last = self.value(self.count - 1)
        return f"{self.name}={self.value(0)}:{last}:{_plain(self.step)}"


def _choice(raw: str) -> ParamValue:
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    try:
        number = Decimal(raw)
    except InvalidOperation:
        return raw
    if not number.is_finite():
        return raw
    return int(number) if number == number.to_integral_value() and "." not in raw else number


def _plain(value: Any) -> Any:
    """A value for JSON and display: Decimals as int or float, bools and words as given."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _key(value: Any) -> tuple[str, Any]:
    return (type(value).__name__, value)


@dataclass(frozen=True)
class ParamSpace:
    """The searched parameters, in the order given (the grid's order)."""

    params: tuple[Param, ...]

    def __post_init__(self) -> None:
        if not self.params:
            raise ValidationError("param", "give at least one --param to search")
        names = [p.name for p in self.params]
        for name in names:
            if names.count(name) > 1:
                raise ValidationError("param", f"{name} is given twice")

    @classmethod
    def parse(cls, texts: Sequence[str]) -> ParamSpace:
        return cls(tuple(Param.parse(t) for t in texts))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    @property
    def size(self) -> int:
        return math.prod(len(p) for p in self.params)

    def point(self, index: int) -> Point:
        """The combination at ``index`` of the grid (the last parameter varies fastest)."""
        values: list[ParamValue] = []
        for param in reversed(self.params):
            index, i = divmod(index, len(param))
            values.append(param.value(i))
        return dict(zip(self.names, reversed(values), strict=True))

    def grid(self, max_size: int = DEFAULT_MAX_GRID) -> list[Point]:
        if self.size > max_size:
            shape = " x ".join(str(len(p)) for p in self.params)
            raise ValidationError(
                "grid",
                f"{self.size:,} combinations ({shape}) is over the maximum of {max_size:,}: "
                "use coarser steps, --method random or tpe, or raise --max-grid",
            )
        return [dict(zip(self.names, v, strict=True)) for v in product(*self.values())]

    def values(self) -> list[list[ParamValue]]:
        return [p.values() for p in self.params]

    def sample(self, count: int, seed: int) -> list[Point]:
        """``count`` distinct combinations (all of them if fewer), drawn with ``seed``."""
        drawn = random.Random(seed).sample(range(self.size), min(count, self.size))
        return [self.point(i) for i in drawn]

    def suggest(self, trial: Any) -> Point:
        """A combination asked of an Optuna trial (ranges by index, lists by choice)."""
        point: Point = {}
        for p in self.params:
            if p.choices:
                index = int(trial.suggest_categorical(p.name, list(range(p.count))))
            else:
                index = int(trial.suggest_int(p.name, 0, p.count - 1))
            point[p.name] = p.value(index)
        return point

    def __str__(self) -> str:
        return " ".join(str(p) for p in self.params)


# --- what is optimized --------------------------------------------------------------------------
@dataclass(frozen=True)
class Objective:
    """The metric to optimize; ``minimize`` None takes the metric's own direction.
    Drawdowns are compared by their size, whichever sign they are written with."""

    metric: str = "sharpe"
    minimize: bool | None = None

    def __post_init__(self) -> None:
        _check_metric(self.metric, "metric")
        if self.minimize is None:
            lower = self.metric in LOWER_IS_BETTER | SMALLER_SIZE_IS_BETTER
            object.__setattr__(self, "minimize", lower)

    @property
    def direction(self) -> str:
        return "minimize" if self.minimize else "maximize"

    def score(self, value: float | None) -> float | None:
        """Higher is better: the value, its negative, or minus its size (drawdowns)."""
        if value is None or math.isnan(value):
            return None
        if self.metric in SMALLER_SIZE_IS_BETTER:
            value = abs(value)
        return -value if self.minimize else value


_CONSTRAINT = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(>=|<=|==|!=|>|<)\s*(\S+)\s*$")
_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}


@dataclass(frozen=True)
class Constraint:
    """``metric OP bound`` (``>=``, ``<=``, ``>``, ``<``, ``==``, ``!=``), e.g.
    ``max_drawdown_pct<20`` or ``trades>=30``. An undefined metric breaks it."""

    metric: str
    op: str
    bound: float

    def __post_init__(self) -> None:
        _check_metric(self.metric, "constraint")
        if self.op not in _OPERATORS:
            raise ValidationError("constraint", f"unknown operator {self.op!r}")

    @classmethod
    def parse(cls, text: str) -> Constraint:
        match = _CONSTRAINT.match(text)
        if not match:
            raise ValidationError(
                "constraint", f"{text!r} must be METRIC OP NUMBER, e.g. trades>=30", text
            )
        metric, op, raw = match.groups()
        try:
            bound = float(raw)
        except ValueError:
            raise ValidationError("constraint", f"{text!r}: {raw!r} is not a number") from None
        return cls(metric, op, bound)

    def broken(self, metrics: Mapping[str, MetricValue]) -> str | None:
        """Why ``metrics`` break the constraint, or None."""
        value = metrics.get(self.metric)
        if value is None:
            return f"{self.metric} is undefined"
        if _OPERATORS[self.op](float(value), self.bound):
            return None
        return f"{self.metric} {_number(value)} is not {self.op} {_number(self.bound)}"

    def violation(self, metrics: Mapping[str, MetricValue]) -> float:
        """How far ``metrics`` are from meeting it (0 when met; for Optuna's sampler)."""
        if self.broken(metrics) is None:
            return 0.0
        value = metrics.get(self.metric)
        if value is None or not math.isfinite(float(value)):
            return 1.0
        return max(abs(float(value) - self.bound), 1e-9)

    def __str__(self) -> str:
        return f"{self.metric}{self.op}{_number(self.bound)}"


def _number(value: float | int) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.6g}"


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
            "parameters": {k: _plain(v) for k, v in self.parameters.items()},
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
@dataclass(frozen=True)
class EvaluationInputs:
    """What every evaluation needs, sent once to each worker."""

    source: StrategySource
    instruments: tuple[Instrument, ...]
    bars: tuple[Bar, ...]
    config: BacktestConfig


@dataclass(frozen=True)
class Outcome:
    """One run's metrics, or why there are none."""

    metrics: dict[str, MetricValue] | None
    error: str | None = None


def evaluate(inputs: EvaluationInputs, parameters: Point, window: Window | None) -> Outcome:
    """Run the strategy with ``parameters`` over the bars (or ``window`` of them)."""
    try:
        spec = inputs.source.spec(parameters)
    except OmoiError as error:
        return Outcome(None, error.message.replace("\n", "; "))
    bars = inputs.bars if window is None else inputs.bars[window[0] : window[1]]
    try:
        result = run_backtest([spec], inputs.instruments, bars, inputs.config)
    except OmoiError as error:
        return Outcome(None, error.message)
    except Exception as error:  # a failed run is a failed trial, not a failed search
        return Outcome(None, f"{type(error).__name__}: {error}")
    metrics = metrics_of(result.metrics)
    paused = [note for note in result.notes if note.startswith("paused")]
    return Outcome(metrics, paused[0] if paused else None)


_WORKER_INPUTS: EvaluationInputs | None = None


def _start_worker(inputs: EvaluationInputs) -> None:
    global _WORKER_INPUTS
    _WORKER_INPUTS = inputs


def _evaluate_in_worker(parameters: Point, window: Window | None) -> Outcome:
    assert _WORKER_INPUTS is not None, "the worker was not started with the inputs"
    return evaluate(_WORKER_INPUTS, parameters, window)


Task = tuple[Point, Window | None]


class Evaluator(Protocol):
    """Runs evaluations; results come back in the order of the tasks."""

    @property
    def parallelism(self) -> int: ...

    def run(self, tasks: Sequence[Task], done: Callable[[], None]) -> list[Outcome]: ...


class InProcess:
    """Evaluations one after another in this process."""

    parallelism = 1

    def __init__(self, inputs: EvaluationInputs) -> None:
        self.inputs = inputs

    def run(self, tasks: Sequence[Task], done: Callable[[], None]) -> list[Outcome]:
        outcomes = []
        for parameters, window in tasks:
            outcomes.append(evaluate(self.inputs, parameters, window))
            done()
        return outcomes


class LocalProcesses:
    """Evaluations in local worker processes, each started once with the inputs."""

    def __init__(self, inputs: EvaluationInputs, workers: int) -> None:
        self.parallelism = workers
        context = _process_context()
        self.pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=context,
            initializer=_start_worker,
            initargs=(inputs,),
        )

    def run(self, tasks: Sequence[Task], done: Callable[[], None]) -> list[Outcome]:
        futures = [self.pool.submit(_evaluate_in_worker, p, w) for p, w in tasks]
        for _ in as_completed(futures):
            done()
        return [f.result() for f in futures]

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


def _process_context() -> multiprocessing.context.BaseContext:
    """Worker processes forked from a clean server process that has this module loaded
    (no fork of a process with threads, as a progress bar has), else spawned."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    return context


class DaskCluster:
    """Evaluations on a Dask distributed cluster; the inputs are scattered to every
    worker once. ``scheduler`` is an address (``tcp://HOST:PORT``) or a ``Client``."""

    def __init__(self, inputs: EvaluationInputs, scheduler: Any) -> None:
        try:
            import distributed
        except ImportError:  # pragma: no cover - a dependency
            raise ValidationError("dask", "install dask[distributed] to use a cluster") from None
        self._dask: Any = distributed
        self.client: Any
        self._own = not isinstance(scheduler, self._dask.Client)
        if self._own:
            try:
                self.client = self._dask.Client(scheduler, timeout="10s")
            except (OSError, TimeoutError, ValueError) as error:
                raise ValidationError(
                    "dask-scheduler", f"cannot reach {scheduler}: {error}"
                ) from None
        else:
            self.client = scheduler
        threads = sum(self.client.nthreads().values())
        self.parallelism = max(int(threads), 1)
        self.inputs = self.client.scatter(inputs, broadcast=True, hash=False)

    def run(self, tasks: Sequence[Task], done: Callable[[], None]) -> list[Outcome]:
        futures = [self.client.submit(evaluate, self.inputs, p, w, pure=False) for p, w in tasks]
        for _ in self._dask.as_completed(futures):
            done()
        outcomes: list[Outcome] = self.client.gather(futures)
        return outcomes

    def close(self) -> None:
        if self._own:
            self.client.close()


@contextmanager
def open_evaluator(
    inputs: EvaluationInputs,
    workers: int | None = None,
    dask_scheduler: Any = None,
    evaluations: int | None = None,
) -> Iterator[Evaluator]:
    """The evaluator: Dask with ``dask_scheduler``; else ``workers`` local processes (by
    default one per CPU, at most one per evaluation); in this process with one worker."""
    if dask_scheduler is not None:
        if workers is not None:
            raise ValidationError("workers", "give --workers or --dask-scheduler, not both")
        cluster = DaskCluster(inputs, dask_scheduler)
        try:
            yield cluster
        finally:
            cluster.close()
        return
    if workers is not None and workers < 1:
        raise ValidationError("workers", "must be at least 1", workers)
    count = workers or os.cpu_count() or 1
    if evaluations is not None:
        count = min(count, max(evaluations, 1))
    if count == 1:
        yield InProcess(inputs)
        return
    pool = LocalProcesses(inputs, count)
    try:
        yield pool
    finally:
        pool.close()


# --- the search ---------------------------------------------------------------------------------
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
        keys = [tuple((k, _key(v)) for k, v in p.items()) for p in points]
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
