"""Where an optimization's trials run: in this process, in local worker processes (each
gets the strategy, bars and settings once), or on a Dask distributed cluster (the inputs
scattered to every worker once). The results never depend on where they ran."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from omoitrade.backtest.inputs import StrategySource
from omoitrade.backtest.runner import BacktestConfig
from omoitrade.backtest.search_space import MetricValue, Point, Window, metrics_of
from omoitrade.backtest.session import run_backtest
from omoitrade.core.errors import OmoiError, ValidationError
from omoitrade.model import Instrument
from omoitrade.model.market_data import Bar


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
