"""The strategy document: parsed into typed, immutable values with every problem reported.

``validate_document(data)`` returns a ``StrategyDocument`` or raises
``StrategyDocumentError`` listing each problem with its path and rule. The published JSON
Schema is in ``strategy.schema``; the format is described in ``docs/strategy-rules.md``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from omoitrade.core.errors import OmoiError
from omoitrade.model.enums import Timeframe
from omoitrade.strategy.rules import (
    ParamValue,
    Problem,
    Rule,
    RuleParser,
    rule_to_json,
)

NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
PARAMETER_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_TOP = ("name", "version", "description", "instruments", "timeframe", "parameters")
TOP_FIELDS = (*_TOP, "entry_rules", "exit_rules", "risk_parameters")
RISK_FIELDS = (
    "direction",
    "sizing",
    "stop_loss",
    "take_profit",
    "trailing_stop",
    "max_bars_in_trade",
)


class StrategyDocumentError(OmoiError):
    """A strategy document broke one or more rules; ``problems`` lists them all."""

    code = "invalid-strategy"

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in problems))


class Direction(StrEnum):
    LONG_ONLY = "long_only"
    SHORT_ONLY = "short_only"
    BOTH = "both"


@dataclass(frozen=True, slots=True)
class FixedQuantity:
    quantity: Decimal


@dataclass(frozen=True, slots=True)
class PercentOfEquity:
    percent: Decimal


@dataclass(frozen=True, slots=True)
class RiskPerTrade:
    """Size so that a stop ``atr_multiple`` ATRs away loses ``percent`` of equity."""

    percent: Decimal
    atr_multiple: Decimal
    atr_period: int = 14


@dataclass(frozen=True, slots=True)
class CappedKelly:
    """``fraction`` of the Kelly fraction ``W - (1 - W) / R``, capped at ``cap_percent``."""

    win_rate: Decimal
    payoff_ratio: Decimal
    fraction: Decimal = Decimal(1)
    cap_percent: Decimal = Decimal(25)


Sizing = FixedQuantity | PercentOfEquity | RiskPerTrade | CappedKelly


@dataclass(frozen=True, slots=True)
class PercentLevel:
    percent: Decimal


@dataclass(frozen=True, slots=True)
class AtrLevel:
    multiple: Decimal
    period: int = 14


@dataclass(frozen=True, slots=True)
class PriceLevel:
    price: Decimal


Level = PercentLevel | AtrLevel | PriceLevel


@dataclass(frozen=True, slots=True)
class RiskParameters:
    direction: Direction
    sizing: Sizing
    stop_loss: Level | None = None
    take_profit: Level | None = None
    trailing_stop: PercentLevel | AtrLevel | None = None
    max_bars_in_trade: int | None = None


@dataclass(frozen=True, slots=True)
class StrategyDocument:
    """A validated strategy: rules with parameters resolved, risk parameters in Decimal."""

    name: str
    version: int
    instruments: tuple[str, ...]
    timeframe: Timeframe
    parameters: tuple[tuple[str, ParamValue], ...]
    entry_rules: Rule
    exit_rules: Rule | None
    risk: RiskParameters
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The document as JSON data; ``validate_document`` gives back an equal document."""
        data: dict[str, Any] = {"name": self.name, "version": self.version}
        if self.description:
            data["description"] = self.description
        data["instruments"] = list(self.instruments)
        data["timeframe"] = self.timeframe.value
        data["parameters"] = dict(self.parameters)
        data["entry_rules"] = rule_to_json(self.entry_rules)
        if self.exit_rules is not None:
            data["exit_rules"] = rule_to_json(self.exit_rules)
        data["risk_parameters"] = _risk_to_json(self.risk)
        return data


def validate_document(data: Any) -> StrategyDocument:
    """``data`` (parsed JSON) as a document, or ``StrategyDocumentError`` with every problem."""
    problems: list[Problem] = []
    checker = _Checker(problems)
    if not isinstance(data, dict):
        raise StrategyDocumentError([Problem("", "the document must be a JSON object")])
    for key in sorted(set(data) - set(TOP_FIELDS)):
        checker.fail(key, f"unknown field (expected one of {list(TOP_FIELDS)})")
    for key in ("name", "version", "instruments", "timeframe", "entry_rules", "risk_parameters"):
        if key not in data:
            checker.fail(key, "is required")
    name = data.get("name")
    if "name" in data and not (isinstance(name, str) and NAME_PATTERN.match(name)):
        checker.fail("name", "must be 1-64 letters, digits, '_', '.' or '-'")
    version = data.get("version")
    if "version" in data and not (isinstance(version, int) and _is_int(version) and version >= 1):
        checker.fail("version", "must be an integer >= 1")
    description = data.get("description", "")
    if not isinstance(description, str):
        checker.fail("description", "must be a string")
    instruments = checker.instruments(data.get("instruments"))
    timeframe = data.get("timeframe")
    if "timeframe" in data and timeframe not in [t.value for t in Timeframe]:
        checker.fail("timeframe", f"must be one of {[t.value for t in Timeframe]}")
    parameters = checker.parameters(data.get("parameters", {}))
    rules = RuleParser(parameters, problems)
    entry = rules.rule(data["entry_rules"], "entry_rules") if "entry_rules" in data else None
    exit_ = rules.rule(data["exit_rules"], "exit_rules") if "exit_rules" in data else None
    risk = checker.risk(data["risk_parameters"]) if "risk_parameters" in data else None
    if problems:
        raise StrategyDocumentError(problems)
    assert entry is not None and risk is not None and isinstance(name, str)
    return StrategyDocument(
        name=name,
        version=int(version),  # type: ignore[arg-type]
        instruments=instruments,
        timeframe=Timeframe(str(timeframe)),
        parameters=tuple(parameters.items()),
        entry_rules=entry,
        exit_rules=exit_,
        risk=risk,
        description=str(description),
    )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class _Checker:
    """The checks of everything but the rules, recording problems instead of stopping."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems

    def fail(self, path: str, rule: str) -> None:
        self.problems.append(Problem(path, rule))

    def instruments(self, raw: Any) -> tuple[str, ...]:
        if raw is None:
            return ()
        if not isinstance(raw, list) or not raw:
            self.fail("instruments", "must be a non-empty list of instrument names")
            return ()
        for i, item in enumerate(raw):
            if not isinstance(item, str) or not item.strip():
                self.fail(f"instruments[{i}]", "must be a non-empty string")
            elif raw.index(item) != i:
                self.fail(f"instruments[{i}]", f'"{item}" is listed twice')
        return tuple(str(item) for item in raw)

    def parameters(self, raw: Any) -> dict[str, ParamValue]:
        if not isinstance(raw, dict):
            self.fail("parameters", "must be an object of name: number or true/false")
            return {}
        kept: dict[str, ParamValue] = {}
        for key, value in raw.items():
            if not PARAMETER_PATTERN.match(key):
                self.fail(
                    f"parameters.{key}",
                    "a name must be a letter or '_', then letters, digits or '_'",
                )
            elif isinstance(value, bool) or (
                isinstance(value, int | float) and value == value and abs(value) != float("inf")
            ):
                kept[key] = value
            else:
                self.fail(f"parameters.{key}", "must be a finite number or true/false")
        return kept

    def decimal(self, raw: Any, path: str, low: str, high: str | None = None) -> Decimal | None:
        """A positive decimal above ``low`` (and at most ``high``), written as a string or int."""
        bounds = f"> {low}" + (f" and <= {high}" if high else "")
        try:
            if isinstance(raw, bool) or not isinstance(raw, str | int):
                raise TypeError
            value = Decimal(raw)
        except (TypeError, InvalidOperation):
            self.fail(path, f'must be a decimal string such as "1.5", {bounds}')
            return None
        if not value.is_finite() or value <= Decimal(low) or (high and value > Decimal(high)):
            self.fail(path, f"must be {bounds}")
            return None
        return value

    def period(self, raw: Any, path: str) -> int | None:
        if not (_is_int(raw) and raw >= 1):
            self.fail(path, "must be an integer >= 1")
            return None
        return int(raw)

    def one_of(self, raw: Any, path: str, keys: tuple[str, ...]) -> tuple[str, Any] | None:
        if not isinstance(raw, dict) or len(raw) != 1:
            self.fail(path, f"must be an object with exactly one of {list(keys)}")
            return None
        ((key, body),) = raw.items()
        if key not in keys:
            self.fail(f"{path}.{key}", f"unknown kind (expected one of {list(keys)})")
            return None
        return key, body

    def fields(
        self, raw: Any, path: str, required: tuple[str, ...], optional: tuple[str, ...] = ()
    ) -> dict[str, Any] | None:
        if not isinstance(raw, dict):
            self.fail(path, f"must be an object with {list(required + optional)}")
            return None
        ok = True
        for key in sorted(set(raw) - set(required + optional)):
            self.fail(f"{path}.{key}", f"unknown field (expected {list(required + optional)})")
            ok = False
        for key in required:
            if key not in raw:
                self.fail(f"{path}.{key}", "is required")
                ok = False
        return raw if ok else None

    def sizing(self, raw: Any, path: str) -> Sizing | None:
        keys = ("fixed_quantity", "percent_of_equity", "risk_per_trade", "kelly")
        choice = self.one_of(raw, path, keys)
        if choice is None:
            return None
        key, body = choice
        where = f"{path}.{key}"
        if key == "fixed_quantity":
            quantity = self.decimal(body, where, "0")
            return None if quantity is None else FixedQuantity(quantity)
        if key == "percent_of_equity":
            percent = self.decimal(body, where, "0", "100")
            return None if percent is None else PercentOfEquity(percent)
        if key == "risk_per_trade":
            fields = self.fields(body, where, ("percent", "atr_multiple"), ("atr_period",))
            if fields is None:
                return None
            values = (
                self.decimal(fields["percent"], f"{where}.percent", "0", "100"),
                self.decimal(fields["atr_multiple"], f"{where}.atr_multiple", "0"),
                self.period(fields.get("atr_period", 14), f"{where}.atr_period"),
            )
            if None in values:
                return None
            return RiskPerTrade(*values)  # type: ignore[arg-type]
        fields = self.fields(body, where, ("win_rate", "payoff_ratio"), ("fraction", "cap_percent"))
        if fields is None:
            return None
        kelly = (
            self.decimal(fields["win_rate"], f"{where}.win_rate", "0", "1"),
            self.decimal(fields["payoff_ratio"], f"{where}.payoff_ratio", "0"),
            self.decimal(fields.get("fraction", "1"), f"{where}.fraction", "0", "1"),
            self.decimal(fields.get("cap_percent", "25"), f"{where}.cap_percent", "0", "100"),
        )
        return None if None in kelly else CappedKelly(*kelly)  # type: ignore[arg-type]

    def level(self, raw: Any, path: str, price: bool = True) -> Level | None:
        keys = ("percent", "atr_multiple", "price") if price else ("percent", "atr_multiple")
        if isinstance(raw, dict) and set(raw) == {"atr_multiple", "atr_period"}:
            multiple = self.decimal(raw["atr_multiple"], f"{path}.atr_multiple", "0")
            period = self.period(raw["atr_period"], f"{path}.atr_period")
            return None if multiple is None or period is None else AtrLevel(multiple, period)
        choice = self.one_of(raw, path, keys)
        if choice is None:
            return None
        key, body = choice
        value = self.decimal(body, f"{path}.{key}", "0", "100" if key == "percent" else None)
        if value is None:
            return None
        if key == "percent":
            return PercentLevel(value)
        return AtrLevel(value) if key == "atr_multiple" else PriceLevel(value)

    def risk(self, raw: Any) -> RiskParameters | None:
        fields = self.fields(raw, "risk_parameters", ("direction", "sizing"), RISK_FIELDS[2:])
        if fields is None:
            return None
        ok = True
        if fields["direction"] not in [d.value for d in Direction]:
            self.fail("risk_parameters.direction", f"must be one of {[d.value for d in Direction]}")
            ok = False
        sizing = self.sizing(fields["sizing"], "risk_parameters.sizing")
        levels: dict[str, Level | None] = {}
        for key in ("stop_loss", "take_profit", "trailing_stop"):
            if key in fields:
                levels[key] = self.level(
                    fields[key], f"risk_parameters.{key}", key != "trailing_stop"
                )
                ok = ok and levels[key] is not None
        hold = fields.get("max_bars_in_trade")
        if hold is not None and self.period(hold, "risk_parameters.max_bars_in_trade") is None:
            ok = False
        if not ok or sizing is None:
            return None
        trailing = levels.get("trailing_stop")
        assert not isinstance(trailing, PriceLevel)
        return RiskParameters(
            Direction(fields["direction"]),
            sizing,
            levels.get("stop_loss"),
            levels.get("take_profit"),
            trailing,
            hold,
        )


def _level_to_json(level: Level) -> dict[str, Any]:
    if isinstance(level, PercentLevel):
        return {"percent": str(level.percent)}
    if isinstance(level, PriceLevel):
        return {"price": str(level.price)}
    return {"atr_multiple": str(level.multiple), "atr_period": level.period}


def _risk_to_json(risk: RiskParameters) -> dict[str, Any]:
    sizing: dict[str, Any]
    match risk.sizing:
        case FixedQuantity(quantity):
            sizing = {"fixed_quantity": str(quantity)}
        case PercentOfEquity(percent):
            sizing = {"percent_of_equity": str(percent)}
        case RiskPerTrade(percent, multiple, period):
            sizing = {
                "risk_per_trade": {
                    "percent": str(percent),
                    "atr_multiple": str(multiple),
                    "atr_period": period,
                }
            }
        case CappedKelly(win_rate, payoff, fraction, cap):
            sizing = {
                "kelly": {
                    "win_rate": str(win_rate),
                    "payoff_ratio": str(payoff),
                    "fraction": str(fraction),
                    "cap_percent": str(cap),
                }
            }
    data: dict[str, Any] = {"direction": risk.direction.value, "sizing": sizing}
    for key in ("stop_loss", "take_profit", "trailing_stop"):
        level = getattr(risk, key)
        if level is not None:
            data[key] = _level_to_json(level)
    if risk.max_bars_in_trade is not None:
        data["max_bars_in_trade"] = risk.max_bars_in_trade
    return data
