"""The strategy document: every problem named by path and rule; valid documents round-trip."""

from __future__ import annotations

import copy
import json
from datetime import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omoitrade.model.enums import Timeframe
from omoitrade.strategy.document import (
    AtrLevel,
    CappedKelly,
    Direction,
    FixedQuantity,
    PercentOfEquity,
    PriceLevel,
    RiskPerTrade,
    StrategyDocumentError,
    validate_document,
)
from omoitrade.strategy.rules import (
    AllOf,
    BarsInTrade,
    Constant,
    Cross,
    Field,
    Indicator,
    Not,
    Session,
    Weekdays,
)
from omoitrade.strategy.schema import strategy_schema

EXAMPLES = sorted((Path(__file__).parents[3] / "examples" / "strategies").glob("*.json"))

SMA_CROSS: dict[str, Any] = {
    "name": "sma_cross",
    "version": 1,
    "instruments": ["SIM:BTC/USD"],
    "timeframe": "1d",
    "parameters": {"fast": 10, "slow": 20},
    "entry_rules": {
        "all": [
            {
                "crosses_above": [
                    {"indicator": "sma", "period": "$fast"},
                    {"indicator": "sma", "period": "$slow"},
                ]
            },
            {"position": "flat"},
        ]
    },
    "exit_rules": {
        "any": [
            {
                "crosses_below": [
                    {"indicator": "sma", "period": "$fast"},
                    {"indicator": "sma", "period": "$slow"},
                ]
            }
        ]
    },
    "risk_parameters": {"direction": "long_only", "sizing": {"percent_of_equity": "100"}},
}


def problems(data: Any) -> list[str]:
    with pytest.raises(StrategyDocumentError) as raised:
        validate_document(data)
    return [str(p) for p in raised.value.problems]


def with_entry(rule: Any, **parameters: Any) -> dict[str, Any]:
    data = copy.deepcopy(SMA_CROSS)
    data["entry_rules"] = rule
    data["parameters"].update(parameters)
    return data


def with_risk(**risk: Any) -> dict[str, Any]:
    data = copy.deepcopy(SMA_CROSS)
    data["risk_parameters"].update(risk)
    return data


def test_the_suggested_document_parses_to_typed_values() -> None:
    document = validate_document(SMA_CROSS)
    assert document.name == "sma_cross"
    assert document.timeframe is Timeframe.D1
    assert document.parameters == (("fast", 10), ("slow", 20))
    fast = Indicator("sma", "value", (("period", 10),), (("period", "$fast"),))
    slow = Indicator("sma", "value", (("period", 20),), (("period", "$slow"),))
    assert isinstance(document.entry_rules, AllOf)
    assert document.entry_rules.rules[0] == Cross(True, fast, slow)
    assert document.risk.direction is Direction.LONG_ONLY
    assert document.risk.sizing == PercentOfEquity(Decimal("100"))
    assert document.risk.stop_loss is None


def test_indicator_parameters_are_filled_with_registry_defaults() -> None:
    macd = {"indicator": "macd", "output": "signal", "fast": 8}
    document = validate_document(with_entry({">": [macd, 0]}))
    rule = document.entry_rules
    assert rule.left == Indicator(  # type: ignore[union-attr]
        "macd", "signal", (("fast", 8), ("signal", 9), ("slow", 26)), (("fast", 8),)
    )
    assert rule.right == Constant(0.0)  # type: ignore[union-attr]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_is_valid_matches_the_schema_and_round_trips(path: Path) -> None:
    data = json.loads(path.read_text())
    document = validate_document(data)
    assert document.name == path.stem
    jsonschema.validate(data, strategy_schema())
    again = validate_document(json.loads(json.dumps(document.to_dict())))
    assert again == document
    jsonschema.validate(document.to_dict(), strategy_schema())


def test_the_examples_cover_the_three_strategies() -> None:
    assert [p.name for p in EXAMPLES] == [
        "bollinger_breakout.json",
        "rsi_mean_reversion.json",
        "sma_cross.json",
    ]


def test_the_example_risk_parameters_are_decimal() -> None:
    bollinger = validate_document(json.loads(EXAMPLES[0].read_text()))
    assert bollinger.risk.sizing == RiskPerTrade(Decimal("1"), Decimal("2"), 14)
    assert bollinger.risk.stop_loss == AtrLevel(Decimal("2"), 14)
    rsi = validate_document(json.loads(EXAMPLES[1].read_text()))
    kelly = CappedKelly(Decimal("0.55"), Decimal("1.2"), Decimal("0.5"), Decimal("20"))
    assert rsi.risk.sizing == kelly
    assert rsi.risk.max_bars_in_trade == 40
    assert Session(time(9, 30), time(16, 0), "America/New_York") in rsi.entry_rules.rules  # type: ignore[union-attr]
    assert Weekdays((0, 1, 2, 3, 4)) in rsi.entry_rules.rules  # type: ignore[union-attr]


def test_the_schema_is_a_valid_draft_2020_12_schema_naming_every_indicator() -> None:
    schema = strategy_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    names = [v["properties"]["indicator"]["const"] for v in schema["$defs"]["indicator"]["oneOf"]]
    assert "sma" in names and "macd" in names and "bbands" in names
    assert json.loads(json.dumps(schema)) == schema


def test_the_schema_rejects_what_the_validator_rejects() -> None:
    validator = jsonschema.Draft202012Validator(strategy_schema())
    bad = with_entry({"crosess_above": ["close", 1]})
    assert not validator.is_valid(bad)
    assert not validator.is_valid(with_entry({">": [{"indicator": "sma", "period": 0}, 1]}))


def test_all_problems_are_reported_together_with_paths_and_rules() -> None:
    data = {
        "name": "x y",
        "version": 0,
        "instruments": [],
        "timeframe": "2d",
        "parameters": {"fast": 10},
        "entry_rules": {
            "all": [
                {
                    "crosses_above": [
                        {"indicator": "sma", "period": "$slow"},
                        {"indicator": "sma", "period": 0},
                    ]
                },
                {"position": "flatt"},
                {"crosess_above": []},
            ]
        },
        "risk_parameters": {"direction": "up", "sizing": {"percent_of_equity": "100.5"}},
        "extra": 1,
    }
    assert problems(data) == [
        "extra: unknown field (expected one of ['name', 'version', 'description', "
        "'instruments', 'timeframe', 'parameters', 'entry_rules', 'exit_rules', "
        "'risk_parameters'])",
        "name: must be 1-64 letters, digits, '_', '.' or '-'",
        "version: must be an integer >= 1",
        "instruments: must be a non-empty list of instrument names",
        "timeframe: must be one of ['1m', '5m', '15m', '1h', '4h', '1d']",
        'entry_rules.all[0].crosses_above[0].period: "$slow" is not defined in parameters',
        "entry_rules.all[0].crosses_above[1].period: must be an integer >= 1",
        "entry_rules.all[1].position: must be one of ['flat', 'long', 'short']",
        'entry_rules.all[2]: unknown rule "crosess_above" (did you mean "crosses_above"?)',
        "risk_parameters.direction: must be one of ['long_only', 'short_only', 'both']",
        "risk_parameters.sizing.percent_of_equity: must be > 0 and <= 100",
    ]


def test_each_problem_carries_path_and_rule_separately() -> None:
    with pytest.raises(StrategyDocumentError) as raised:
        validate_document(with_entry({"all": [{">": ["close", "$missing"]}]}))
    (problem,) = raised.value.problems
    assert problem.path == "entry_rules.all[0].>[1]"
    assert problem.rule == '"$missing" is not defined in parameters'
    assert raised.value.code == "invalid-strategy"


def test_missing_required_fields_are_each_named() -> None:
    assert problems({"name": "x"}) == [
        "version: is required",
        "instruments: is required",
        "timeframe: is required",
        "entry_rules: is required",
        "risk_parameters: is required",
    ]
    assert problems([1, 2]) == ["the document must be a JSON object"]


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("close", "entry_rules: must be a rule object, got str"),
        ({}, "entry_rules: must have exactly one rule key, got []"),
        ({">": [1]}, "entry_rules.>: must be a list of two operands"),
        ({"all": []}, "entry_rules.all: must be a non-empty list of rules"),
        ({"not": {"xyz": 1}}, 'entry_rules.not: unknown rule "xyz"'),
        ({">": ["closing", 1]}, 'entry_rules.>[0]: unknown operand "closing" '
         "(a price field ['open', 'high', 'low', 'close', 'volume'] or \"$name\")"),
        ({">": [{"field": "hi"}, 1]}, "entry_rules.>[0]: must be {\"field\": NAME} with NAME "
         "one of ['open', 'high', 'low', 'close', 'volume']"),
        ({">": [{"period": 3}, 1]},
         'entry_rules.>[0]: an operand object needs an "indicator" or a "field" key'),
        ({">": ["close", True]}, "entry_rules.>[1]: must be a finite number"),
        ({">": [{"indicator": "smaa"}, 1]}, "entry_rules.>[0].indicator: unknown indicator 'smaa'"),
        ({">": [{"indicator": "sma", "length": 3}, 1]},
         "entry_rules.>[0].length: unknown parameter of sma (known: ['period'])"),
        ({">": [{"indicator": "sma", "period": 2.5}, 1]},
         "entry_rules.>[0].period: must be an integer >= 1"),
        ({">": [{"indicator": "sma", "period": 200000}, 1]},
         "entry_rules.>[0].period: must be an integer <= 100000"),
        ({">": [{"indicator": "bbands"}, 1]},
         "entry_rules.>[0].output: must be one of ['upper', 'middle', 'lower'] for bbands"),
        ({">": [{"indicator": "bbands", "output": "upper", "width": -1}, 1]},
         "entry_rules.>[0].width: must be a number >= 0.0"),
        ({">": [{"indicator": "rsi", "output": "signal"}, 1]},
         "entry_rules.>[0].output: must be one of ['value'] for rsi"),
        ({">": [{"indicator": "returns", "log": 1}, 1]},
         "entry_rules.>[0].log: must be true or false"),
        ({"bars_in_trade": 5}, "entry_rules.bars_in_trade: must be one comparison such as"),
        ({"bars_in_trade": {"=>": 5}}, "entry_rules.bars_in_trade: must be one comparison such as"),
        ({"unrealized_pnl_pct": {"<": "x"}}, "entry_rules.unrealized_pnl_pct.<: must be a finite"),
        ({"session": {"from": "9:30", "to": "16:00"}},
         "entry_rules.session.from: must be a time of day HH:MM (00:00 to 23:59)"),
        ({"session": {"from": "09:30", "to": "24:00"}}, "entry_rules.session.to: must be a time"),
        ({"session": {"from": "09:30", "to": "09:30"}},
         'entry_rules.session: "from" and "to" must differ'),
        ({"session": {"from": "09:30", "to": "10:00", "tz": "Mars/Base"}},
         "entry_rules.session.tz: unknown time zone 'Mars/Base'"),
        ({"session": {"from": "09:30", "to": "10:00", "tz": "America"}},
         "entry_rules.session.tz: unknown time zone 'America'"),
        ({"session": {"from": "09:30", "to": "10:00", "tz": 5}},
         "entry_rules.session.tz: unknown time zone 5"),
        ({"session": {"from": "09:30", "to": "10:00", "zone": "UTC"}},
         'entry_rules.session.zone: unknown field (expected "from", "to", "tz")'),
        ({"weekdays": ["mon", "mon"]}, 'entry_rules.weekdays[1]: "mon" is listed twice'),
        ({"weekdays": ["monday"]}, "entry_rules.weekdays[0]: must be one of ['mon', 'tue',"),
        ({"weekdays": []}, "entry_rules.weekdays: must be a non-empty list of"),
    ],
)  # fmt: skip
def test_a_malformed_rule_is_named_by_path_and_rule(rule: Any, expected: str) -> None:
    (problem,) = problems(with_entry(rule))
    assert problem.startswith(expected)


def test_a_parameter_must_resolve_to_a_value_valid_where_it_is_used() -> None:
    data = with_entry(
        {">": [{"indicator": "sma", "period": "$width"}, "$flag"]}, width=2.5, flag=True
    )
    assert problems(data) == [
        'entry_rules.>[0].period: must be an integer >= 1 ("$width" is 2.5)',
        'entry_rules.>[1]: must be a finite number ("$flag" is True)',
    ]


def test_parameter_names_and_values_are_checked() -> None:
    data = copy.deepcopy(SMA_CROSS)
    data["parameters"] = {"1x": 3, "ok": "10", "fast": 10, "slow": 20}
    assert problems(data) == [
        "parameters.1x: a name must be a letter or '_', then letters, digits or '_'",
        "parameters.ok: must be a finite number or true/false",
    ]


def test_problems_in_both_rule_trees_are_reported() -> None:
    data = with_entry({"position": "up"})
    data["exit_rules"] = {"any": [{"<": ["close", "$nope"]}, {"not": []}]}
    assert problems(data) == [
        "entry_rules.position: must be one of ['flat', 'long', 'short']",
        'exit_rules.any[0].<[1]: "$nope" is not defined in parameters',
        "exit_rules.any[1].not: must be a rule object, got list",
    ]


@pytest.mark.parametrize(
    ("risk", "expected"),
    [
        ({"sizing": {"fixed_quantity": 1.5}},
         'risk_parameters.sizing.fixed_quantity: must be a decimal string such as "1.5", > 0'),
        ({"sizing": {"fixed_quantity": "0"}}, "risk_parameters.sizing.fixed_quantity: must be > 0"),
        ({"sizing": {"fixed": "1"}}, "risk_parameters.sizing.fixed: unknown kind (expected one of"),
        ({"sizing": {}}, "risk_parameters.sizing: must be an object with exactly one of"),
        ({"sizing": {"risk_per_trade": {"percent": "1"}}},
         "risk_parameters.sizing.risk_per_trade.atr_multiple: is required"),
        ({"sizing": {"risk_per_trade": {"percent": "1", "atr_multiple": "2", "atr_period": 0}}},
         "risk_parameters.sizing.risk_per_trade.atr_period: must be an integer >= 1"),
        ({"sizing": {"kelly": {"win_rate": "1.5", "payoff_ratio": "2"}}},
         "risk_parameters.sizing.kelly.win_rate: must be > 0 and <= 1"),
        ({"stop_loss": {"percent": "150"}},
         "risk_parameters.stop_loss.percent: must be > 0 and <= 100"),
        ({"stop_loss": {"percent": "1", "price": "2"}},
         "risk_parameters.stop_loss: must be an object with exactly one of"),
        ({"take_profit": {"price": "abc"}}, "risk_parameters.take_profit.price: must be a decimal"),
        ({"trailing_stop": {"price": "10"}},
         "risk_parameters.trailing_stop.price: unknown kind "
         "(expected one of ['percent', 'atr_multiple'])"),
        ({"max_bars_in_trade": 0}, "risk_parameters.max_bars_in_trade: must be an integer >= 1"),
        ({"leverage": 2}, "risk_parameters.leverage: unknown field"),
    ],
)  # fmt: skip
def test_malformed_risk_parameters_are_named_by_path_and_rule(risk: Any, expected: str) -> None:
    (problem,) = problems(with_risk(**risk))
    assert problem.startswith(expected)


def test_every_risk_parameter_kind_parses() -> None:
    data = with_risk(
        direction="short_only",
        sizing={"fixed_quantity": "0.25"},
        stop_loss={"price": "95.50"},
        take_profit={"atr_multiple": "3"},
        trailing_stop={"percent": "2.5"},
        max_bars_in_trade=10,
    )
    risk = validate_document(data).risk
    assert risk.direction is Direction.SHORT_ONLY
    assert risk.sizing == FixedQuantity(Decimal("0.25"))
    assert risk.stop_loss == PriceLevel(Decimal("95.50"))
    assert risk.take_profit == AtrLevel(Decimal("3"), 14)
    assert validate_document(validate_document(data).to_dict()) == validate_document(data)


def test_rules_of_every_kind_round_trip() -> None:
    rule = {
        "any": [
            {"not": {"position": "long"}},
            {"bars_in_trade": {">=": "$hold"}},
            {"unrealized_pnl_pct": {"<": -2.5}},
            {"==": [{"field": "open"}, "high"]},
            {"<=": ["low", {"indicator": "stoch", "output": "d", "period": 5}]},
            {"session": {"from": "22:00", "to": "02:00"}},
            {"weekdays": ["fri", "mon"]},
        ]
    }
    document = validate_document(with_entry(rule, hold=5))
    assert document.entry_rules.rules[0] == Not(  # type: ignore[union-attr]
        validate_document(with_entry({"position": "long"})).entry_rules
    )
    assert document.entry_rules.rules[1] == BarsInTrade(">=", Constant(5.0, "hold"))  # type: ignore[union-attr]
    assert document.entry_rules.rules[3].left == Field("open")  # type: ignore[union-attr]
    assert document.entry_rules.rules[6] == Weekdays((0, 4))  # type: ignore[union-attr]
    assert validate_document(document.to_dict()) == document


def test_the_document_is_immutable() -> None:
    document = validate_document(SMA_CROSS)
    with pytest.raises(AttributeError):
        document.name = "other"  # type: ignore[misc]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
    | st.sampled_from(["close", "$fast", "$nope", "sma", "flat", "09:30", "1", "mon", ">"]),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(
        st.sampled_from(["all", "any", "not", ">", "crosses_above", "indicator", "period",
                         "output", "field", "session", "from", "weekdays", "percent", "x"]),
        inner,
        max_size=3,
    ),
    max_leaves=12,
)  # fmt: skip


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, inner in value.items():
            found += _paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += _paths(inner, (*prefix, index))
    return found


@settings(max_examples=300, deadline=None)
@given(data=st.data(), replacement=json_values)
def test_any_mutation_of_an_example_is_a_document_or_a_listed_problem(
    data: st.DataObject, replacement: Any
) -> None:
    document = json.loads(data.draw(st.sampled_from(EXAMPLES)).read_text())
    path = data.draw(st.sampled_from(_paths(document)[1:]))
    target = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = replacement
    try:
        validate_document(document)
    except StrategyDocumentError as error:
        assert error.problems
        assert all(p.rule for p in error.problems)
