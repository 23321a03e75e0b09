"""``omoitrade optimize``: the results table, the JSON of every trial, walk-forward, storing
the best parameters as a new strategy version, and one clear line for bad inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from omoitrade.testing.cli import CommandLine

ROOT = Path(__file__).parents[3]
SMA = str(ROOT / "examples" / "strategies" / "sma_cross.json")
AAPL = str(ROOT / "tests" / "fixtures" / "aapl_daily_yahoo.csv")
GRID = ["--param", "fast=5,10", "--param", "slow=20,30", "--workers", "1"]


Omoitrade = CommandLine


def test_optimize_prints_the_best_trials_and_writes_every_trial(
    omoitrade: Omoitrade, tmp_path: Path
) -> None:
    out = tmp_path / "trials.json"
    args = ["optimize", SMA, "--data", AAPL, "--instrument", "AAPL", *GRID]
    done = omoitrade(*args, "--constraint", "trades>=5", "--json", str(out))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "sma_cross on AAPL (300 bars): grid, sharpe (maximize), 1 worker(s)"
    assert "sma_cross: top 4 of 4 trials by sharpe" in done.stdout
    for column in ("fast", "slow", "sharpe", "return %", "max dd %", "trades", "note"):
        assert column in done.stdout
    data = json.loads(out.read_text())
    assert [t["number"] for t in data["trials"]] == [0, 1, 2, 3]
    assert [t["parameters"] for t in data["trials"]] == [
        {"fast": 5, "slow": 20},
        {"fast": 5, "slow": 30},
        {"fast": 10, "slow": 20},
        {"fast": 10, "slow": 30},
    ]
    feasible = [t for t in data["trials"] if t["feasible"]]
    best = max(feasible, key=lambda t: t["value"])
    assert data["best"]["number"] == best["number"]
    params = " ".join(f"{k}={v}" for k, v in best["parameters"].items())
    assert f"best: {params} (sharpe" in done.stdout
    assert f"wrote {out}" in done.stdout
    again = omoitrade(*args, "--constraint", "trades>=5", "--json", str(tmp_path / "2.json"))
    assert again.returncode == 0 and (tmp_path / "2.json").read_text() == out.read_text()


def test_walk_forward_reports_in_sample_and_out_of_sample_per_fold(
    omoitrade: Omoitrade, tmp_path: Path
) -> None:
    out = tmp_path / "wf.json"
    args = ["optimize", SMA, "--data", AAPL, *GRID]  # the symbol from the file name
    done = omoitrade(*args, "--walk-forward", "2", "--anchored", "--json", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("sma_cross on AAPL (300 bars)")
    assert "walk-forward (anchored), sharpe" in done.stdout
    for column in ("in-sample", "out-of-sample", "IS sharpe", "OOS sharpe", "OOS return %"):
        assert column in done.stdout
    assert "efficiency" in done.stdout and "out-of-sample return" in done.stdout
    data = json.loads(out.read_text())
    assert data["anchored"] is True and [f["fold"] for f in data["folds"]] == [1, 2]
    first, second = data["folds"]
    assert (
        first["in_sample"]["start"] == second["in_sample"]["start"] == "2023-01-03T00:00:00+00:00"
    )
    assert first["out_of_sample"]["end"] < second["out_of_sample"]["start"]
    assert second["out_of_sample"]["end"] == "2024-02-26T00:00:00+00:00"


def test_save_best_stores_a_new_version_with_the_best_parameters(
    omoitrade: Omoitrade, tmp_path: Path
) -> None:
    added = omoitrade("strategy", "add", SMA)
    assert added.returncode == 0, added.stderr
    out = tmp_path / "trials.json"
    args = ["optimize", SMA, "--data", AAPL, "--instrument", "AAPL", *GRID, "--json", str(out)]
    done = omoitrade(*args, "--save-best", "--strategy-id", "sma_cross", "--author", "ann")
    assert done.returncode == 0, done.stderr
    best = json.loads(out.read_text())["best"]
    params = " ".join(f"{k}={v}" for k, v in best["parameters"].items())
    assert done.stdout.splitlines()[-1] == f"stored sma_cross version 2: {params}"
    history = omoitrade("strategy", "versions", "sma_cross")
    assert "optimized: sharpe" in history.stdout and "aapl_daily_yahoo.csv" in history.stdout
    assert "ann" in history.stdout
    for name, value in best["parameters"].items():
        if value != {"fast": 10, "slow": 20}[name]:
            assert f"parameters.{name}" in history.stdout
    missing_id = omoitrade(*args, "--save-best")
    assert missing_id.returncode == 1
    assert (
        missing_id.stderr.strip() == "error: --save-best: give --strategy-id (the stored strategy)"
    )


def test_save_best_after_a_walk_forward_stores_the_latest_folds_best(
    omoitrade: Omoitrade, tmp_path: Path
) -> None:
    assert omoitrade("strategy", "add", SMA).returncode == 0
    out = tmp_path / "wf.json"
    args = ["optimize", SMA, "--data", AAPL, "--instrument", "AAPL", *GRID, "--json", str(out)]
    done = omoitrade(
        *args, "--walk-forward", "2", "--save-best", "--strategy-id", "sma_cross"
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    latest = json.loads(out.read_text())["folds"][-1]
    params = " ".join(f"{k}={v}" for k, v in latest["best_parameters"].items())
    assert done.stdout.splitlines()[-1] == f"stored sma_cross version 2: {params}"
    history = omoitrade("strategy", "versions", "sma_cross")
    assert "walk-forward fold 2 of 2, out-of-sample" in " ".join(history.stdout.split())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--param", "fats=1,2"],
            "error: parameters: sma_cross has no parameter 'fats' (its parameters: fast, slow)",
        ),
        (
            ["--param", "fast=1:x"],
            "error: param: 'fast=1:x': start, stop and step must be numbers",
        ),
        (
            ["--param", "fast=1:5", "--data", "nope.csv"],
            "error: data: cannot read nope.csv: no such file",
        ),
        (
            ["--param", "fast=1:5", "--method", "annealing"],
            "error: --method: must be one of grid, random, tpe",
        ),
        (["--param", "fast=1:5", "--metric", "sharp"], "error: metric: unknown metric 'sharp'"),
        (
            ["--param", "fast=1:5", "--instrument", "XNAS:ACME"],
            "error: --instrument: XNAS:ACME: a backtest trades on SIM only",
        ),
        ([], "error: param: give at least one --param to search"),
    ],
)
def test_bad_inputs_are_one_line_and_exit_1(
    omoitrade: Omoitrade, args: list[str], message: str
) -> None:
    data = ["--data", AAPL] if "--data" not in args else []
    done = omoitrade("optimize", SMA, *data, "--instrument", "AAPL", "--workers", "1", *args)
    assert done.returncode == 1
    assert len(done.stderr.strip().splitlines()) == 1
    assert done.stderr.strip().startswith(message)


RANGES = ["--param", "fast=5:15:5", "--param", "slow=20:40:10"]  # a grid of 9


@pytest.mark.parametrize(("method", "trials"), [("random", 4), ("tpe", 5)])
def test_random_and_tpe_run_the_trials_asked_for_the_same_way_twice(
    omoitrade: Omoitrade, tmp_path: Path, method: str, trials: int
) -> None:
    args = ["optimize", SMA, "--data", AAPL, *RANGES, "--workers", "1", "--method", method]
    out, again = tmp_path / "1.json", tmp_path / "2.json"
    done = omoitrade(*args, "--trials", str(trials), "--json", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"sma_cross on AAPL (300 bars): {method}, sharpe (maximize)")
    data = json.loads(out.read_text())
    assert data["method"] == method and len(data["trials"]) == trials
    for trial in data["trials"]:
        assert trial["parameters"]["fast"] in (5, 10, 15)
        assert trial["parameters"]["slow"] in (20, 30, 40)
    assert omoitrade(*args, "--trials", str(trials), "--json", str(again)).returncode == 0
    assert again.read_text() == out.read_text()  # seeded: the same trials


def test_two_worker_processes_give_the_trials_of_one(omoitrade: Omoitrade, tmp_path: Path) -> None:
    args = ["optimize", SMA, "--data", AAPL, "--param", "fast=5,10", "--param", "slow=20,30"]
    one, two = tmp_path / "1.json", tmp_path / "2.json"
    assert omoitrade(*args, "--workers", "1", "--json", str(one)).returncode == 0
    done = omoitrade(*args, "--workers", "2", "--json", str(two))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].endswith("grid, sharpe (maximize), 2 worker(s)")
    assert two.read_text() == one.read_text()


def test_another_metric_ranks_the_trials_in_its_own_direction(
    omoitrade: Omoitrade, tmp_path: Path
) -> None:
    out = tmp_path / "trials.json"
    args = ["optimize", SMA, "--data", AAPL, *GRID, "--metric", "max_drawdown_pct"]
    done = omoitrade(*args, "--json", str(out))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0].endswith("grid, max_drawdown_pct (minimize), 1 worker(s)")
    assert "top 4 of 4 trials by max_drawdown_pct" in done.stdout
    data = json.loads(out.read_text())
    assert (data["metric"], data["direction"]) == ("max_drawdown_pct", "minimize")
    values = [t["value"] for t in data["trials"]]
    assert values == [t["metrics"]["max_drawdown_pct"] for t in data["trials"]]
    assert len(set(values)) > 1  # the trials differ, so the direction decides the best
    assert data["best"]["value"] == min(values)
    best = " ".join(f"{k}={v}" for k, v in data["best"]["parameters"].items())
    assert f"best: {best} (max_drawdown_pct" in done.stdout
