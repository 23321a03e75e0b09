"""Walk-forward analysis: the windows (rolling and anchored), the in-sample optimization and
the out-of-sample run of its best parameters, and the totals."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest
from test_optimize import BARS, SMA, T0, TINY, XYZ

from omoitrade.backtest.optimize import Constraint, SearchSettings
from omoitrade.backtest.session import run_backtest
from omoitrade.backtest.walkforward import Fold, split_folds, walk_forward
from omoitrade.core.errors import ValidationError

TIMES = [T0 + timedelta(days=i) for i in range(100)]


def spans(folds: list[Fold]) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    return [(f.in_sample.window, f.out_of_sample.window) for f in folds]


def test_rolling_windows_move_forward_and_the_last_ends_at_the_last_bar() -> None:
    folds = split_folds(TIMES, 4)  # 100 bars, in-sample 3x out-of-sample: 14 bars each
    assert spans(folds) == [
        ((0, 44), (44, 58)),
        ((14, 58), (58, 72)),
        ((28, 72), (72, 86)),
        ((42, 86), (86, 100)),
    ]
    assert [f.number for f in folds] == [1, 2, 3, 4]
    last = folds[-1]
    assert last.in_sample.start == T0 + timedelta(days=42)
    assert last.in_sample.end == T0 + timedelta(days=85)
    assert last.out_of_sample.start == T0 + timedelta(days=86)
    assert last.out_of_sample.end == TIMES[-1] and last.out_of_sample.bars == 14


def test_anchored_windows_grow_from_the_first_bar_over_the_same_out_of_sample_windows() -> None:
    anchored = split_folds(TIMES, 4, anchored=True)
    assert spans(anchored) == [
        ((0, 44), (44, 58)),
        ((0, 58), (58, 72)),
        ((0, 72), (72, 86)),
        ((0, 86), (86, 100)),
    ]
    assert all(f.in_sample.start == T0 for f in anchored)
    assert spans(split_folds(TIMES, 2, ratio=1)) == [((0, 34), (34, 67)), ((33, 67), (67, 100))]


def test_too_few_bars_or_a_bad_setting_is_one_clear_error() -> None:
    with pytest.raises(ValidationError, match="10 bars are too few for 5 folds"):
        split_folds(TIMES[:10], 5)
    with pytest.raises(ValidationError, match="at least 1 fold"):
        split_folds(TIMES, 0)
    with pytest.raises(ValidationError, match="positive number"):
        split_folds(TIMES, 2, ratio=0)


@pytest.mark.parametrize("anchored", [False, True])
def test_each_fold_optimizes_in_sample_and_runs_the_best_out_of_sample(anchored: bool) -> None:
    progress: list[tuple[int, int]] = []
    result = walk_forward(
        SMA,
        [XYZ],
        BARS,
        TINY,
        3,
        anchored=anchored,
        workers=1,
        progress=lambda done, total: progress.append((done, total)),
    )
    assert progress[-1] == (15, 15)  # 3 folds of 4 trials and 1 out-of-sample run
    expected = split_folds([b.timestamp for b in BARS], 3, anchored=anchored)
    assert [f.fold for f in result.folds] == expected
    for fold in result.folds:
        is_first, is_stop = fold.fold.in_sample.window
        oos_first, oos_stop = fold.fold.out_of_sample.window
        assert fold.optimization.start == BARS[is_first].timestamp
        assert fold.optimization.end == BARS[is_stop - 1].timestamp
        assert len(fold.optimization.trials) == 4
        best = fold.best
        assert best is not None and fold.out_of_sample is not None
        top = max(fold.optimization.trials, key=lambda t: -math.inf if t.value is None else t.value)
        assert best == top and fold.in_sample_value == best.value
        direct = run_backtest([SMA.spec(best.parameters)], [XYZ], BARS[oos_first:oos_stop])
        assert fold.out_of_sample.parameters == best.parameters
        assert fold.out_of_sample_value == direct.metrics.sharpe
        assert fold.out_of_sample.metrics["bars"] == oos_stop - oos_first
    pairs = [(f.in_sample_value, f.out_of_sample_value) for f in result.folds]
    assert result.mean_in_sample == pytest.approx(sum(p[0] for p in pairs) / 3)
    assert result.mean_out_of_sample == pytest.approx(sum(p[1] for p in pairs) / 3)
    growth = math.prod(1 + f.out_of_sample.metrics["total_return_pct"] / 100 for f in result.folds)
    assert result.out_of_sample_return_pct == pytest.approx((growth - 1) * 100)
    data = result.to_dict()
    assert data["anchored"] is anchored and len(data["folds"]) == 3
    assert data["folds"][0]["in_sample"]["start"] == BARS[0].timestamp.isoformat()
    assert {"in_sample_value", "out_of_sample_value", "best_parameters"} <= set(data["folds"][0])


def test_a_fold_without_a_feasible_trial_has_no_out_of_sample_run() -> None:
    settings = SearchSettings(constraints=(Constraint.parse("trades>=1000"),))
    result = walk_forward(SMA, [XYZ], BARS, TINY, 2, settings, workers=1)
    assert all(f.best is None and f.out_of_sample is None for f in result.folds)
    assert result.efficiency is None and result.out_of_sample_return_pct is None
