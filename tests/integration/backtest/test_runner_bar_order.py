"""Bars of several instruments make the same run in whatever order they are given."""

from __future__ import annotations

import json
import random
from decimal import Decimal as D

import pytest
from test_runner_sampling import EXAMPLES, OTHER, STOCK, bars, sma_cross

from omoitrade.backtest.runner import BacktestConfig, BacktestRunner, RawRun, StrategySpec
from omoitrade.core.errors import ValidationError
from omoitrade.strategy.document import validate_document

CONFIG = BacktestConfig(initial_cash=D(100_000), commission=D("0.001"))


def ten_at_a_time(symbol: str) -> StrategySpec:
    """The crossover trading 10 units: both instruments' strategies trade side by side."""
    raw = json.loads((EXAMPLES / "sma_cross.json").read_text())
    raw.update(instruments=[symbol], parameters={"fast": 2, "slow": 4})
    raw["risk_parameters"]["sizing"] = {"fixed_quantity": "10"}
    return StrategySpec(symbol, document=validate_document(raw))


def run_of(given: object) -> RawRun:
    both = [ten_at_a_time("SIM:XYZ"), ten_at_a_time("SIM:ABC")]
    return BacktestRunner(both, [STOCK, OTHER], given, CONFIG).run()  # type: ignore[arg-type]


def fingerprint(run: RawRun) -> list[tuple[object, ...]]:
    return [
        (x.instrument_id, x.executed_at, x.side, x.quantity, x.execution_price) for x in run.fills
    ]


def test_concatenated_shuffled_and_keyed_bars_give_the_interleaved_run() -> None:
    xyz, abc = bars(STOCK), bars(OTHER, 50)
    interleaved = run_of([bar for pair in zip(abc, xyz, strict=True) for bar in pair])
    assert {x.instrument_id for x in interleaved.fills} == {STOCK.id, OTHER.id}
    shuffled = xyz + abc
    random.Random(3).shuffle(shuffled)
    for given in (xyz + abc, abc + xyz, shuffled, {STOCK.id: xyz, OTHER.id: abc}):
        run = run_of(given)
        assert fingerprint(run) == fingerprint(interleaved)
        assert run.equity == interleaved.equity


def test_one_instruments_bars_out_of_order_are_run_in_time_order() -> None:
    ordered = BacktestRunner([sma_cross()], [STOCK], bars(STOCK), CONFIG).run()
    backwards = BacktestRunner([sma_cross()], [STOCK], bars(STOCK)[::-1], CONFIG).run()
    assert fingerprint(backwards) == fingerprint(ordered)
    assert backwards.equity == ordered.equity


def test_bars_of_an_instrument_not_given_are_refused() -> None:
    with pytest.raises(ValidationError, match="data of instruments not given"):
        BacktestRunner([sma_cross()], [STOCK], bars(STOCK) + bars(OTHER), CONFIG)
