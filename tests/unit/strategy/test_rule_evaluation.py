"""Rules evaluated bar by bar: crossings on the crossing bar, warm-up, logic, filters."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
from indicator_checks import Bars

from omoitrade.strategy.document import validate_document
from omoitrade.strategy.evaluation import FLAT, Decision, PositionState, RuleEvaluator
from omoitrade.strategy.indicators.registry import INDICATORS

EXAMPLES = Path(__file__).parents[3] / "examples" / "strategies"
START = datetime(2024, 1, 1, tzinfo=UTC)  # a Monday
SMA = {"indicator": "sma", "period": "$fast"}
SLOW = {"indicator": "sma", "period": "$slow"}


def document(entry: Any, exit_: Any = None, **parameters: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "t",
        "version": 1,
        "instruments": ["SIM:X"],
        "timeframe": "1d",
        "parameters": {"fast": 2, "slow": 3, **parameters},
        "entry_rules": entry,
        "risk_parameters": {"direction": "both", "sizing": {"fixed_quantity": "1"}},
    }
    if exit_ is not None:
        data["exit_rules"] = exit_
    return data


def evaluator(entry: Any, exit_: Any = None, **parameters: Any) -> RuleEvaluator:
    return RuleEvaluator(validate_document(document(entry, exit_, **parameters)))


def run_closes(
    rules: RuleEvaluator, closes: list[float], position: PositionState = FLAT
) -> list[Decision]:
    return [
        rules.on_bar(c, c, c, c, 100, position, START + timedelta(days=i))
        for i, c in enumerate(closes)
    ]


def test_a_crossover_fires_exactly_on_the_crossing_bar() -> None:
    # sma2: -, 10, 10, 9.5,  8.5, 10,   13,    13.5, 11, 8.5
    # sma3: -, -,  10, 9.67, 9,   9.67, 11.33, 13,   12, 10
    closes = [10.0, 10, 10, 9, 8, 12, 14, 13, 9, 8]
    rules = evaluator(
        {"all": [{"crosses_above": [SMA, SLOW]}, {"position": "flat"}]},
        {"crosses_below": [SMA, SLOW]},
    )
    decisions = run_closes(rules, closes)
    assert [i for i, d in enumerate(decisions) if d.enter] == [5]
    # bar 3 crosses below too: equal on bar 2 (10 = 10), below on bar 3.
    assert [i for i, d in enumerate(decisions) if d.exit] == [3, 8]


def test_equal_then_above_is_a_cross_but_the_first_available_bar_is_not() -> None:
    rising = run_closes(evaluator({"crosses_above": [SMA, SLOW]}), [1.0, 2, 3, 4, 5])
    assert not any(d.enter for d in rising)  # above from the first bar both exist: no cross
    # sma2 = sma3 = 10 on bar 2, sma2 above on bar 3: a <= b before, a > b now.
    flat_then_up = run_closes(evaluator({"crosses_above": [SMA, SLOW]}), [10.0, 10, 10, 13])
    assert [d.enter for d in flat_then_up] == [False, False, False, True]


def test_crossings_match_the_vectorized_indicators_over_a_random_walk(bars: Bars) -> None:
    rules = evaluator({"crosses_above": [SMA, SLOW]}, {"crosses_below": [SMA, SLOW]}, fast=5)
    fast = np.asarray(INDICATORS["sma"].compute(close=bars.close, period=5))
    slow = np.asarray(INDICATORS["sma"].compute(close=bars.close, period=3))
    above = [i for i in range(1, len(bars)) if fast[i] > slow[i] and fast[i - 1] <= slow[i - 1]]
    below = [i for i in range(1, len(bars)) if fast[i] < slow[i] and fast[i - 1] >= slow[i - 1]]
    decisions = [
        rules.on_bar(*row, FLAT, START)
        for row in zip(bars.open, bars.high, bars.low, bars.close, bars.volume, strict=True)
    ]
    assert [i for i, d in enumerate(decisions) if d.enter] == above
    assert [i for i, d in enumerate(decisions) if d.exit] == below
    assert len(above) > 50


def test_one_indicator_instance_per_distinct_reference() -> None:
    sma_cross = validate_document(json.loads((EXAMPLES / "sma_cross.json").read_text()))
    assert RuleEvaluator(sma_cross).indicator_count == 2
    bands = validate_document(json.loads((EXAMPLES / "bollinger_breakout.json").read_text()))
    assert RuleEvaluator(bands).indicator_count == 1  # upper, lower, middle of one instance


def test_a_rule_needing_a_warming_indicator_is_false_even_under_not() -> None:
    sma3 = {"indicator": "sma", "period": 3}
    rules = evaluator({"not": {">": ["close", sma3]}})
    assert [d.enter for d in run_closes(rules, [5.0, 4, 3, 2, 9])] == [
        False, False, True, True, False
    ]  # fmt: skip


def test_all_and_any_treat_unknown_as_neither_true_nor_false() -> None:
    warming = {">": [{"indicator": "sma", "period": 3}, 0]}
    any_rule = evaluator({"any": [warming, {">": ["close", 5]}]})
    assert [d.enter for d in run_closes(any_rule, [10.0, 1])] == [True, False]
    all_rule = evaluator({"all": [warming, {">": ["close", 5]}]})
    assert [d.enter for d in run_closes(all_rule, [10.0, 10, 10])] == [False, False, True]
    not_all = evaluator({"not": {"all": [warming, {"<": ["close", 5]}]}})
    assert [d.enter for d in run_closes(not_all, [10.0])] == [True]  # all is False, known


def test_comparisons_read_price_fields_and_parameters() -> None:
    rules = evaluator({"all": [{">=": ["high", "$level"]}, {"<": [{"field": "low"}, 9]}]}, level=10)
    bar = rules.on_bar(Decimal("9.5"), Decimal("10"), Decimal("8"), Decimal("9"), 1, FLAT, START)
    assert bar.enter
    assert not rules.on_bar(9.5, 9.99, 8, 9, 1, FLAT, START).enter
    equal = evaluator({"==": ["open", "close"]})
    assert equal.on_bar(3, 4, 2, 3, 1, FLAT, START).enter
    assert not equal.on_bar(3, 4, 2, 3.5, 1, FLAT, START).enter


def test_multi_output_indicators_read_the_named_output() -> None:
    upper = {"indicator": "bbands", "output": "upper", "period": 3, "width": 1.0}
    lower = {"indicator": "bbands", "output": "lower", "period": 3, "width": 1.0}
    rules = evaluator({"crosses_above": ["close", upper]}, {"crosses_below": ["close", lower]})
    decisions = run_closes(rules, [10.0, 10, 10, 10, 20, 20, 0])
    assert [d.enter for d in decisions] == [False, False, False, False, True, False, False]
    assert [d.exit for d in decisions] == [False] * 6 + [True]


def test_position_filters() -> None:
    rules = evaluator(
        {"all": [{"position": "long"}, {"bars_in_trade": {">=": "$hold"}}]},
        {"unrealized_pnl_pct": {"<": -2}},
        hold=3,
    )

    def decide(position: PositionState) -> Decision:
        return rules.on_bar(1, 1, 1, 1, 1, position, START)

    assert not decide(FLAT).enter
    assert not decide(FLAT).exit  # no open position, no P&L
    assert not decide(PositionState("long", 2)).enter
    assert decide(PositionState("long", 3)).enter
    assert not decide(PositionState("short", 5)).enter
    assert decide(PositionState("short", 1, Decimal("-2.5"))).exit
    assert not decide(PositionState("short", 1, Decimal("-2"))).exit


def test_session_hours_in_a_time_zone() -> None:
    rules = evaluator({"session": {"from": "09:30", "to": "16:00", "tz": "America/New_York"}})

    def at(hour: int, minute: int) -> bool:
        moment = datetime(2024, 1, 2, hour, minute, tzinfo=UTC)  # New York is UTC-5
        return rules.on_bar(1, 1, 1, 1, 1, FLAT, moment).enter

    assert [at(14, 29), at(14, 30), at(20, 59), at(21, 0)] == [False, True, True, False]


def test_an_overnight_session_wraps_past_midnight_and_naive_times_are_utc() -> None:
    rules = evaluator({"session": {"from": "22:00", "to": "02:00"}})
    hours = [21, 22, 23, 0, 1, 2, 12]
    got = [rules.on_bar(1, 1, 1, 1, 1, FLAT, datetime(2024, 1, 2, h)).enter for h in hours]
    assert got == [False, True, True, True, True, False, False]


def test_weekdays() -> None:
    rules = evaluator({"weekdays": ["mon", "fri"]})
    days = [rules.on_bar(1, 1, 1, 1, 1, FLAT, START + timedelta(days=d)).enter for d in range(7)]
    assert days == [True, False, False, False, True, False, False]


def test_the_examples_run_over_a_random_walk(bars: Bars) -> None:
    counts = {}
    for path in sorted(EXAMPLES.glob("*.json")):
        rules = RuleEvaluator(validate_document(json.loads(path.read_text())))
        decisions = [
            rules.on_bar(*row, FLAT, START + timedelta(hours=i))
            for i, row in enumerate(
                zip(bars.open, bars.high, bars.low, bars.close, bars.volume, strict=True)
            )
        ]
        counts[path.stem] = sum(d.enter for d in decisions)
    assert counts["sma_cross"] > 10
    assert counts["bollinger_breakout"] > 10


def test_a_crossing_is_unknown_on_the_first_bar_even_between_constants() -> None:
    rules = evaluator({"not": {"crosses_above": [5, 3]}}, {"not": {"crosses_above": ["close", 5]}})
    decisions = run_closes(rules, [10.0, 10])
    assert [d.enter for d in decisions] == [False, True]  # unknown, then not crossing: known
    assert [d.exit for d in decisions] == [False, True]


def test_highest_reads_the_highs_beside_indicators_of_the_close() -> None:
    highest = {"indicator": "highest", "period": 2}
    rules = evaluator({"all": [{">=": ["close", highest]}, {">": [SMA, 0]}]})
    bars = [(1, 5, 1, 2), (2, 6, 2, 3), (3, 4, 3, 4)]
    got = [rules.on_bar(*bar, 1, FLAT, START).enter for bar in bars]
    assert got == [False, False, False]  # the close never reaches the highest high
    closes = evaluator({">=": ["close", {"indicator": "sma", "period": 1}]})
    assert [d.enter for d in run_closes(closes, [1.0, 2])] == [True, True]


def test_an_unknown_rule_beside_a_false_one_makes_all_false_in_either_order() -> None:
    warming = {">": [{"indicator": "sma", "period": 3}, 0]}
    for rules in ([warming, {"<": ["close", 5]}], [{"<": ["close", 5]}, warming]):
        negated = evaluator({"not": {"all": rules}}, {"not": {"any": rules}})
        decision = run_closes(negated, [10.0])[0]
        assert decision.enter  # all: False is known although one rule is unknown
        assert not decision.exit  # any: unknown (no rule is True), so not is unknown too
