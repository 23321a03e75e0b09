"""Parameter optimization: the space, the methods, the objective and constraints, failed
trials, and the same trials in one process, in worker processes and on Dask."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path

import pytest

from omoitrade.backtest.inputs import instrument_for, load_strategy
from omoitrade.backtest.optimize import (
    Constraint,
    Method,
    Objective,
    OptimizationResult,
    Param,
    ParamSpace,
    SearchSettings,
    metric_names,
    optimize,
)
from omoitrade.backtest.session import run_backtest
from omoitrade.core.errors import ValidationError
from omoitrade.model.enums import Timeframe
from omoitrade.model.identifiers import BarId
from omoitrade.model.market_data import Bar

EXAMPLES = Path(__file__).parents[3] / "examples" / "strategies"
XYZ = instrument_for("SIM:XYZ")
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def wave(n: int = 120) -> list[Bar]:
    """Daily bars of a slow and a fast wave over a slight rise: SMA crossings trade it."""
    bars, previous = [], D("100.00")
    for i in range(n):
        level = 100 + 8 * math.sin(i / 5) + 3 * math.sin(i / 1.7) + 0.05 * i
        close = D(str(round(level, 2)))
        high, low = max(previous, close) + D("0.5"), min(previous, close) - D("0.5")
        bars.append(
            Bar(
                BarId(int=i + 1),
                XYZ.id,
                T0 + timedelta(days=i),
                Timeframe.D1,
                previous,
                high,
                low,
                close,
                D(1000),
            )
        )
        previous = close
    return bars


BARS = wave()
SMA = load_strategy(EXAMPLES / "sma_cross.json").trading([XYZ])
BREAKOUT = load_strategy(EXAMPLES / "momentum_breakout.py")
TINY = ParamSpace.parse(["fast=3,2", "slow=8,5"])  # the best, (2, 5), is tried last


def run(
    space: ParamSpace = TINY, settings: SearchSettings | None = None, **kw: object
) -> OptimizationResult:
    kw.setdefault("workers", 1)
    return optimize(SMA, [XYZ], BARS, space, settings, **kw)  # type: ignore[arg-type]


def brute_force(metric: str) -> dict[tuple[int, int], float]:
    """Every combination of TINY run directly, without the optimizer."""
    found = {}
    for fast in (2, 3):
        for slow in (5, 8):
            spec = SMA.spec({"fast": fast, "slow": slow})
            value = getattr(run_backtest([spec], [XYZ], BARS).metrics, metric)
            found[(fast, slow)] = float(value)
    return found


def shape(result: OptimizationResult) -> list[tuple[int, dict[str, object], float | None, bool]]:
    return [(t.number, t.parameters, t.value, t.feasible) for t in result.trials]


# --- the space ----------------------------------------------------------------------------------
def test_a_range_includes_both_ends_and_a_list_keeps_its_order() -> None:
    assert Param.parse("fast=5:50:5").values() == [5, 10, 15, 20, 25, 30, 35, 40, 45, 50]
    assert Param.parse("n=1:3").values() == [1, 2, 3]
    assert Param.parse("k=0.5:2:0.5").values() == [D("0.5"), D("1.0"), D("1.5"), D("2.0")]
    assert Param.parse("k=1:10:4").values() == [1, 5, 9]
    assert Param.parse("x=3,1,2.5,true,ema").values() == [3, 1, D("2.5"), True, "ema"]
    space = ParamSpace.parse(["a=1:2", "b=x,y,z"])
    assert space.size == 6
    assert [space.point(i) for i in range(6)] == space.grid()


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("fast", "must be name=start:stop:step or name=a,b,c"),
        ("fast=", "must be name=start:stop:step or name=a,b,c"),
        ("9x=1:2", "must be name=start:stop:step or name=a,b,c"),
        ("fast=a:b:c", "start, stop and step must be numbers"),
        ("fast=1:2:3:4", "must be name=start:stop:step"),
        ("fast=5:1:1", "stop is below start"),
        ("fast=1:5:0", "the step must be positive"),
        ("fast=0.5:2", "give a step for decimals"),
        ("fast=1,,2", "has an empty value"),
        ("fast=1,2,1", "lists a value twice"),
        ("fast=0:1e9:1", "values"),
    ],
)
def test_a_bad_parameter_range_is_one_clear_error(text: str, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        Param.parse(text)


def test_a_parameter_given_twice_or_none_is_refused() -> None:
    with pytest.raises(ValidationError, match="fast is given twice"):
        ParamSpace.parse(["fast=1,2", "fast=3:4"])
    with pytest.raises(ValidationError, match="at least one --param"):
        ParamSpace.parse([])


def test_a_grid_over_the_maximum_is_refused_with_its_size() -> None:
    space = ParamSpace.parse(["fast=1:200", "slow=1:100"])
    with pytest.raises(ValidationError, match=r"20,000 combinations \(200 x 100\).*10,000"):
        run(space)
    assert len(ParamSpace.parse(["fast=2:3", "slow=5:6"]).grid(max_size=4)) == 4


# --- the search -------------------------------------------------------------------------------
def test_an_optimization_over_a_tiny_grid_returns_the_known_best() -> None:
    result = run()
    direct = brute_force("sharpe")
    assert max(direct, key=direct.__getitem__) == (2, 5)  # the known best of this series
    assert [t.parameters for t in result.trials] == [
        {"fast": 3, "slow": 8},
        {"fast": 3, "slow": 5},
        {"fast": 2, "slow": 8},
        {"fast": 2, "slow": 5},
    ]
    assert {(t.parameters["fast"], t.parameters["slow"]): t.value for t in result.trials} == direct
    assert result.best is not None
    assert result.best.parameters == {"fast": 2, "slow": 5} and result.best.number == 3
    assert [t.number for t in result.ranked()] == [3, 1, 2, 0]  # sharpe, highest first
    assert result.best.metrics["trades"] == 10 and "total_return_pct" in result.best.metrics


def test_the_objective_is_any_metric_in_its_own_direction_or_the_one_asked() -> None:
    returns = brute_force("total_return_pct")
    by_return = run(settings=SearchSettings(objective=Objective("total_return_pct")))
    assert by_return.best is not None
    assert tuple(by_return.best.parameters.values()) == max(returns, key=returns.__getitem__)
    lowest = run(settings=SearchSettings(objective=Objective("total_return_pct", minimize=True)))
    assert lowest.best is not None
    assert tuple(lowest.best.parameters.values()) == min(returns, key=returns.__getitem__)
    drawdowns = brute_force("max_drawdown_pct")
    shallow = run(settings=SearchSettings(objective=Objective("max_drawdown_pct")))
    assert Objective("max_drawdown_pct").direction == "minimize"
    assert shallow.best is not None
    assert tuple(shallow.best.parameters.values()) == min(
        drawdowns, key=lambda k: abs(drawdowns[k])
    )
    with pytest.raises(ValidationError, match="unknown metric 'sharp'"):
        Objective("sharp")
    assert {"sharpe", "max_drawdown_pct", "trades", "profit_factor"} <= set(metric_names())


def test_constraints_keep_infeasible_trials_out_of_the_best() -> None:
    settings = SearchSettings(constraints=(Constraint.parse("trades <= 9"),))
    result = run(settings=settings)
    infeasible = [t for t in result.trials if not t.feasible]
    assert {(t.parameters["fast"], t.parameters["slow"]) for t in infeasible} == {(3, 5), (2, 5)}
    assert infeasible[0].broken == ("trades 10 is not <= 9",)
    assert result.best is not None and result.best.parameters == {"fast": 2, "slow": 8}
    assert len(result.trials) == 4 and result.ranked()[-1].feasible is False
    nothing = run(settings=SearchSettings(constraints=(Constraint.parse("trades>=100"),)))
    assert nothing.best is None


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("trades", "must be METRIC OP NUMBER"),
        ("trade>=3", "unknown metric"),
        ("trades>=x", "not a number"),
    ],
)
def test_a_bad_constraint_is_one_clear_error(text: str, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        Constraint.parse(text)


def test_combinations_the_strategy_refuses_are_failed_trials_with_their_reason() -> None:
    result = run(ParamSpace.parse(["fast=0,2", "slow=5"]))
    failed, ok = result.trials
    assert failed.error is not None and "must be an integer >= 1" in failed.error
    assert failed.value is None and not failed.feasible
    assert ok.error is None and result.best == ok
    python = optimize(BREAKOUT, [XYZ], BARS, ParamSpace.parse(["entry_period=0,5"]), workers=1)
    assert python.trials[0].error == "entry_period: must be at least 1"
    assert python.trials[1].error is None and python.best == python.trials[1]


def test_an_unknown_parameter_or_another_instrument_is_refused_before_any_run() -> None:
    with pytest.raises(ValidationError, match="sma_cross has no parameter 'fats'"):
        run(ParamSpace.parse(["fats=1,2"]))
    with pytest.raises(ValidationError, match="trades SIM:BTC/USD, not SIM:XYZ"):
        optimize(load_strategy(EXAMPLES / "sma_cross.json"), [XYZ], BARS, TINY, workers=1)
    with pytest.raises(ValidationError, match="--trials is for random and tpe"):
        SearchSettings(trials=5)


def test_random_search_draws_distinct_combinations_reproducibly_with_its_seed() -> None:
    space = ParamSpace.parse(["fast=2:6", "slow=5:12"])
    first = run(space, SearchSettings(method=Method.RANDOM, trials=6, seed=7))
    again = run(space, SearchSettings(method=Method.RANDOM, trials=6, seed=7))
    other = run(space, SearchSettings(method=Method.RANDOM, trials=6, seed=8))
    assert shape(first) == shape(again)
    assert [t.parameters for t in first.trials] != [t.parameters for t in other.trials]
    assert len({tuple(t.parameters.values()) for t in first.trials}) == 6
    everything = run(TINY, SearchSettings(method=Method.RANDOM, trials=50, seed=1))
    assert len(everything.trials) == 4  # no more than the space holds


def test_tpe_is_reproducible_with_its_seed_and_respects_constraints() -> None:
    space = ParamSpace.parse(["fast=2:6", "slow=5:12"])
    settings = SearchSettings(
        method=Method.TPE, trials=8, seed=3, constraints=(Constraint.parse("trades>=9"),)
    )
    first, again = run(space, settings), run(space, settings)
    assert shape(first) == shape(again) and len(first.trials) == 8
    assert first.best is not None and first.best.feasible
    assert first.best.metrics["trades"] is not None and first.best.metrics["trades"] >= 9
    assert json.dumps(first.to_dict()) == json.dumps(again.to_dict())


def test_the_same_trials_with_one_and_two_worker_processes() -> None:
    space = ParamSpace.parse(["fast=2:4", "slow=5:7"])
    alone = run(space)
    progress: list[tuple[int, int]] = []
    pair = run(space, workers=2, progress=lambda done, total: progress.append((done, total)))
    assert alone.to_dict() == pair.to_dict()
    assert progress[-1] == (9, 9) and len(progress) == 9
    tpe = SearchSettings(method=Method.TPE, trials=6, seed=5, batch_size=2)
    assert run(space, tpe).to_dict() == run(space, tpe, workers=2).to_dict()
    python_space = ParamSpace.parse(["entry_period=3,5", "exit_period=2,4"])
    python_alone = optimize(BREAKOUT, [XYZ], BARS, python_space, workers=1)
    python_pair = optimize(BREAKOUT, [XYZ], BARS, python_space, workers=2)
    assert python_alone.to_dict() == python_pair.to_dict()


def test_a_dask_cluster_gives_the_same_trials_as_this_process() -> None:
    distributed = pytest.importorskip("distributed")
    python_space = ParamSpace.parse(["entry_period=3,5", "exit_period=2,4"])
    in_threads = distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None
    )
    with in_threads as cluster, distributed.Client(cluster) as client:
        threaded = run(workers=None, dask_scheduler=client)  # a Client of the caller's
    # a worker process: the inputs (the Python strategy as its text) are scattered to it
    in_a_process = distributed.LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, dashboard_address=None
    )
    with in_a_process as cluster:
        on_dask = run(workers=None, dask_scheduler=cluster.scheduler_address)
        python = optimize(
            BREAKOUT, [XYZ], BARS, python_space, dask_scheduler=cluster.scheduler_address
        )
    assert on_dask.to_dict() == run().to_dict() == threaded.to_dict()
    assert python.to_dict() == optimize(BREAKOUT, [XYZ], BARS, python_space, workers=1).to_dict()
    with pytest.raises(ValidationError, match="not both"):
        run(workers=2, dask_scheduler="tcp://127.0.0.1:1")


def test_the_json_of_a_result_holds_every_trial() -> None:
    data = json.loads(
        json.dumps(
            run(settings=SearchSettings(constraints=(Constraint.parse("trades<=9"),))).to_dict()
        )
    )
    assert data["method"] == "grid" and data["metric"] == "sharpe"
    assert data["constraints"] == ["trades<=9"] and data["space"] == ["fast=3,2", "slow=8,5"]
    assert [t["number"] for t in data["trials"]] == [0, 1, 2, 3]
    assert data["best"]["parameters"] == {"fast": 2, "slow": 8}
    assert data["trials"][3]["broken"] == ["trades 10 is not <= 9"]
