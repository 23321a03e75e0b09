"""The published JSON Schema (draft 2020-12) of the strategy document.

Indicator names, parameters and bounds come from the indicator registry. The schema is
looser than ``validate_document``: it cannot follow ``$name`` references (see
docs/strategy-rules.md).
"""

from __future__ import annotations

from typing import Any

from omoitrade.model.enums import Timeframe
from omoitrade.strategy.document import NAME_PATTERN, PARAMETER_PATTERN, Direction
from omoitrade.strategy.indicators.registry import INDICATORS, Param
from omoitrade.strategy.rules import CLOCK_PATTERN, COMPARISONS, FIELDS, POSITIONS, WEEKDAYS


def _param_schema(param: Param) -> dict[str, Any]:
    ref = {"$ref": "#/$defs/parameter_ref"}
    if param.kind is bool:
        return {"anyOf": [{"type": "boolean"}, ref]}
    value: dict[str, Any] = {"type": "integer" if param.kind is int else "number"}
    if param.minimum is not None:
        value["minimum"] = param.minimum
    if param.maximum is not None:
        value["maximum"] = param.maximum
    return {"anyOf": [value, ref]}


def _one_key(key: str, value: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {key: value},
        "required": [key],
        "additionalProperties": False,
    }


def rule_schema_defs() -> dict[str, Any]:
    """The JSON Schema ``$defs`` of rules and operands (indicators from the registry)."""
    indicators = []
    for spec in INDICATORS.values():
        properties: dict[str, Any] = {
            "indicator": {"const": spec.name},
            "output": {"enum": list(spec.outputs)},
        }
        properties.update({p.name: _param_schema(p) for p in spec.params})
        required = ["indicator", "output"] if len(spec.outputs) > 1 else ["indicator"]
        indicators.append(
            {
                "type": "object",
                "title": spec.title,
                "properties": properties,
                "required": required,
                "additionalProperties": False,
            }
        )
    number = {"anyOf": [{"type": "number"}, {"$ref": "#/$defs/parameter_ref"}]}
    pair = {
        "type": "array",
        "prefixItems": [{"$ref": "#/$defs/operand"}] * 2,
        "minItems": 2,
        "maxItems": 2,
    }
    threshold = {
        "type": "object",
        "properties": {op: number for op in COMPARISONS},
        "minProperties": 1,
        "maxProperties": 1,
        "additionalProperties": False,
    }
    rules = {"type": "array", "items": {"$ref": "#/$defs/rule"}, "minItems": 1}
    clock = {"type": "string", "pattern": CLOCK_PATTERN.pattern}
    session = {
        "type": "object",
        "properties": {"from": clock, "to": clock, "tz": {"type": "string"}},
        "required": ["from", "to"],
        "additionalProperties": False,
    }
    days = {"type": "array", "items": {"enum": list(WEEKDAYS)}, "minItems": 1, "uniqueItems": True}
    bodies: dict[str, Any] = {"all": rules, "any": rules, "not": {"$ref": "#/$defs/rule"}}
    bodies.update({op: pair for op in (*COMPARISONS, "crosses_above", "crosses_below")})
    bodies.update(
        {
            "position": {"enum": list(POSITIONS)},
            "bars_in_trade": threshold,
            "unrealized_pnl_pct": threshold,
            "session": session,
            "weekdays": days,
        }
    )
    field_object = _one_key("field", {"enum": list(FIELDS)})
    return {
        "parameter_ref": {"type": "string", "pattern": r"^\$[A-Za-z_][A-Za-z0-9_]*$"},
        "indicator": {"oneOf": indicators},
        "operand": {
            "anyOf": [
                {"type": "number"},
                {"$ref": "#/$defs/parameter_ref"},
                {"enum": list(FIELDS)},
                field_object,
                {"$ref": "#/$defs/indicator"},
            ]
        },
        "rule": {"oneOf": [_one_key(key, body) for key, body in bodies.items()]},
    }


def _strict(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def strategy_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the strategy document."""
    decimal = {
        "type": ["string", "integer"],
        "pattern": r"^[0-9]+(\.[0-9]+)?$",
        "exclusiveMinimum": 0,
        "description": 'a positive decimal, written as a string such as "1.5"',
    }
    dec = {"$ref": "#/$defs/decimal"}
    period = {"type": "integer", "minimum": 1}
    atr = _strict({"atr_multiple": dec, "atr_period": period}, ["atr_multiple"])
    percent, price = _strict({"percent": dec}, ["percent"]), _strict({"price": dec}, ["price"])
    sizing = {
        "oneOf": [
            _strict({"fixed_quantity": dec}, ["fixed_quantity"]),
            _strict({"percent_of_equity": dec}, ["percent_of_equity"]),
            _strict(
                {
                    "risk_per_trade": _strict(
                        {"percent": dec, "atr_multiple": dec, "atr_period": period},
                        ["percent", "atr_multiple"],
                    )
                },
                ["risk_per_trade"],
            ),
            _strict(
                {
                    "kelly": _strict(
                        {"win_rate": dec, "payoff_ratio": dec, "fraction": dec, "cap_percent": dec},
                        ["win_rate", "payoff_ratio"],
                    )
                },
                ["kelly"],
            ),
        ]
    }
    risk = _strict(
        {
            "direction": {"enum": [d.value for d in Direction]},
            "sizing": sizing,
            "stop_loss": {"oneOf": [percent, atr, price]},
            "take_profit": {"oneOf": [percent, atr, price]},
            "trailing_stop": {"oneOf": [percent, atr]},
            "max_bars_in_trade": period,
        },
        ["direction", "sizing"],
    )
    parameter = {"type": ["number", "boolean"]}
    properties = {
        "name": {"type": "string", "pattern": NAME_PATTERN.pattern},
        "version": period,
        "description": {"type": "string"},
        "instruments": {
            "type": "array",
            "items": {"type": "string", "minLength": 1},
            "minItems": 1,
            "uniqueItems": True,
        },
        "timeframe": {"enum": [t.value for t in Timeframe]},
        "parameters": {
            "type": "object",
            "propertyNames": {"pattern": PARAMETER_PATTERN.pattern},
            "additionalProperties": parameter,
        },
        "entry_rules": {"$ref": "#/$defs/rule"},
        "exit_rules": {"$ref": "#/$defs/rule"},
        "risk_parameters": risk,
    }
    required = ["name", "version", "instruments", "timeframe", "entry_rules", "risk_parameters"]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://omoitrade.dev/schemas/strategy.json",
        "title": "OmoiTrade strategy",
        **_strict(properties, required),
        "$defs": {"decimal": decimal, **rule_schema_defs()},
    }
