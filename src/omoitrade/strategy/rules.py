"""Entry and exit rules: the typed rule tree and its parser with exact error paths.

A rule is a JSON object with one key: ``all`` / ``any`` / ``not``, a comparison
(``>``, ``>=``, ``<``, ``<=``, ``==``), ``crosses_above`` / ``crosses_below``, a position
filter (``position``, ``bars_in_trade``, ``unrealized_pnl_pct``) or a time filter
(``session``, ``weekdays``). See ``docs/strategy-rules.md``.
"""

from __future__ import annotations

import difflib
import functools
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from omoitrade.core.errors import ValidationError
from omoitrade.strategy.indicators.registry import INDICATORS, Param

FIELDS = ("open", "high", "low", "close", "volume")
COMPARISONS = (">", ">=", "<", "<=", "==")
POSITIONS = ("flat", "long", "short")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CLOCK_PATTERN = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")

ParamValue = int | float | bool
Written = int | float | bool | str


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a document: where (``path``) and which rule it broke."""

    path: str
    rule: str

    def __str__(self) -> str:
        return f"{self.path}: {self.rule}" if self.path else self.rule


@dataclass(frozen=True, slots=True)
class Field:
    """A price field of the current bar."""

    name: str


@dataclass(frozen=True, slots=True)
class Constant:
    """A number, written literally or as a strategy parameter (``ref``, without the ``$``)."""

    value: float
    ref: str | None = None


@dataclass(frozen=True, slots=True)
class Indicator:
    """One output of an indicator with resolved parameters (``written``: as in the document)."""

    name: str
    output: str
    params: tuple[tuple[str, ParamValue], ...]
    written: tuple[tuple[str, Written], ...] = ()

    @property
    def instance_key(self) -> tuple[str, tuple[tuple[str, ParamValue], ...]]:
        """What identifies the streaming instance (outputs of one instance share it)."""
        return self.name, self.params


Operand = Field | Constant | Indicator


@dataclass(frozen=True, slots=True)
class AllOf:
    rules: tuple[Rule, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    rules: tuple[Rule, ...]


@dataclass(frozen=True, slots=True)
class Not:
    rule: Rule


@dataclass(frozen=True, slots=True)
class Compare:
    op: str
    left: Operand
    right: Operand


@dataclass(frozen=True, slots=True)
class Cross:
    """``left`` crosses above (or below) ``right`` on this bar."""

    above: bool
    left: Operand
    right: Operand


@dataclass(frozen=True, slots=True)
class Position:
    state: str


@dataclass(frozen=True, slots=True)
class BarsInTrade:
    op: str
    value: Constant


@dataclass(frozen=True, slots=True)
class UnrealizedPnl:
    """Unrealized profit or loss of the open position, in percent of its entry value."""

    op: str
    value: Constant


@dataclass(frozen=True, slots=True)
class Session:
    """Bars whose time of day (in ``tz``) is in [start, end); wraps past midnight if end < start."""

    start: time
    end: time
    tz: str = "UTC"


@dataclass(frozen=True, slots=True)
class Weekdays:
    days: tuple[int, ...]  # 0 = Monday


Rule = (
    AllOf
    | AnyOf
    | Not
    | Compare
    | Cross
    | Position
    | BarsInTrade
    | UnrealizedPnl
    | Session
    | Weekdays
)
RULE_KEYS: tuple[str, ...] = (
    *("all", "any", "not", *COMPARISONS, "crosses_above", "crosses_below", "position"),
    *("bars_in_trade", "unrealized_pnl_pct", "session", "weekdays"),
)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _param_rule(param: Param, value: Any) -> str:
    """The rule ``value`` breaks for ``param``, in the registry's terms."""
    if param.kind is bool:
        return "must be true or false"
    word = "an integer" if param.kind is int else "a number"
    show = int if param.kind is int else float
    too_high = _is_number(value) and param.maximum is not None and value > param.maximum
    if too_high and param.maximum is not None:
        return f"must be {word} <= {show(param.maximum)}"
    if param.minimum is not None:
        return f"must be {word} >= {show(param.minimum)}"
    return f"must be {word}"


class RuleParser:
    """Parses rule trees against the strategy's parameters, collecting every problem."""

    def __init__(self, parameters: Mapping[str, ParamValue], problems: list[Problem]) -> None:
        self.parameters = parameters
        self.problems = problems
        self._handlers: dict[str, Callable[[Any, str], Rule | None]] = {
            "all": lambda body, path: self._group(body, path, AllOf),
            "any": lambda body, path: self._group(body, path, AnyOf),
            "not": self._not,
            "crosses_above": lambda body, path: self._pair(body, path, "crosses_above"),
            "crosses_below": lambda body, path: self._pair(body, path, "crosses_below"),
            "position": self._position,
            "bars_in_trade": lambda body, path: self._threshold(body, path, BarsInTrade),
            "unrealized_pnl_pct": lambda body, path: self._threshold(body, path, UnrealizedPnl),
            "session": self._session,
            "weekdays": self._weekdays,
        }
        for op in COMPARISONS:
            self._handlers[op] = functools.partial(self._pair, op=op)

    def fail(self, path: str, rule: str) -> None:
        self.problems.append(Problem(path, rule))

    def rule(self, data: Any, path: str) -> Rule | None:
        """The rule at ``path``, or ``None`` after recording why it is not one."""
        if not isinstance(data, dict):
            self.fail(path, f"must be a rule object, got {_type_name(data)}")
            return None
        if len(data) != 1:
            self.fail(path, f"must have exactly one rule key, got {sorted(map(str, data))}")
            return None
        ((key, body),) = data.items()
        handler = self._handlers.get(key)
        if handler is None:
            close = difflib.get_close_matches(str(key), RULE_KEYS, n=1)
            hint = f' (did you mean "{close[0]}"?)' if close else ""
            self.fail(path, f'unknown rule "{key}"{hint}')
            return None
        return handler(body, _join(path, key))

    def _group(self, body: Any, path: str, kind: type[AllOf] | type[AnyOf]) -> Rule | None:
        if not isinstance(body, list) or not body:
            self.fail(path, "must be a non-empty list of rules")
            return None
        rules = [self.rule(item, f"{path}[{i}]") for i, item in enumerate(body)]
        kept = tuple(r for r in rules if r is not None)
        return kind(kept) if len(kept) == len(rules) else None

    def _not(self, body: Any, path: str) -> Rule | None:
        inner = self.rule(body, path)
        return None if inner is None else Not(inner)

    def _pair(self, body: Any, path: str, op: str) -> Rule | None:
        if not isinstance(body, list) or len(body) != 2:
            self.fail(path, "must be a list of two operands")
            return None
        left, right = (self.operand(item, f"{path}[{i}]") for i, item in enumerate(body))
        if left is None or right is None:
            return None
        if op.startswith("crosses_"):
            return Cross(op == "crosses_above", left, right)
        return Compare(op, left, right)

    def _position(self, body: Any, path: str) -> Rule | None:
        if body not in POSITIONS:
            self.fail(path, f"must be one of {list(POSITIONS)}")
            return None
        return Position(str(body))

    def _threshold(
        self, body: Any, path: str, kind: type[BarsInTrade] | type[UnrealizedPnl]
    ) -> Rule | None:
        if not isinstance(body, dict) or len(body) != 1 or next(iter(body)) not in COMPARISONS:
            self.fail(path, f'must be one comparison such as {{">=": 5}} ({list(COMPARISONS)})')
            return None
        ((op, raw),) = body.items()
        value = self.constant(raw, _join(path, op))
        return None if value is None else kind(op, value)

    def _session(self, body: Any, path: str) -> Rule | None:
        if not isinstance(body, dict):
            self.fail(path, 'must be an object {"from": "HH:MM", "to": "HH:MM", "tz": "UTC"}')
            return None
        ok = True
        for key in sorted(set(body) - {"from", "to", "tz"}):
            self.fail(_join(path, key), 'unknown field (expected "from", "to", "tz")')
            ok = False
        bounds: list[time] = []
        for key in ("from", "to"):
            raw = body.get(key)
            match = CLOCK_PATTERN.match(raw) if isinstance(raw, str) else None
            if match is None:
                self.fail(_join(path, key), "must be a time of day HH:MM (00:00 to 23:59)")
                ok = False
            else:
                bounds.append(time(int(match[1]), int(match[2])))
        tz = body.get("tz", "UTC")
        try:
            if not isinstance(tz, str):
                raise TypeError(tz)
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError, TypeError, OSError):
            self.fail(_join(path, "tz"), f"unknown time zone {tz!r}")
            ok = False
        if ok and bounds[0] == bounds[1]:
            self.fail(path, '"from" and "to" must differ')
            ok = False
        return Session(bounds[0], bounds[1], tz) if ok else None

    def _weekdays(self, body: Any, path: str) -> Rule | None:
        if not isinstance(body, list) or not body:
            self.fail(path, f"must be a non-empty list of {list(WEEKDAYS)}")
            return None
        days: list[int] = []
        for i, day in enumerate(body):
            if day not in WEEKDAYS:
                self.fail(f"{path}[{i}]", f"must be one of {list(WEEKDAYS)}")
            elif WEEKDAYS.index(day) in days:
                self.fail(f"{path}[{i}]", f'"{day}" is listed twice')
            else:
                days.append(WEEKDAYS.index(day))
        return Weekdays(tuple(sorted(days))) if len(days) == len(body) else None

    def _resolve(self, raw: Any, path: str) -> tuple[bool, Any]:
        """``raw`` with a ``"$name"`` replaced by the parameter's value (False: undefined)."""
        if isinstance(raw, str) and raw.startswith("$"):
            if raw[1:] not in self.parameters:
                self.fail(path, f'"{raw}" is not defined in parameters')
                return False, None
            return True, self.parameters[raw[1:]]
        return True, raw

    def constant(self, raw: Any, path: str) -> Constant | None:
        """A number or a ``"$name"`` naming a numeric parameter."""
        found, value = self._resolve(raw, path)
        if not found:
            return None
        if not _is_number(value):
            via = f' ("{raw}" is {value!r})' if isinstance(raw, str) else ""
            self.fail(path, f"must be a finite number{via}")
            return None
        ref = raw[1:] if isinstance(raw, str) else None
        return Constant(float(value), ref)

    def operand(self, raw: Any, path: str) -> Operand | None:
        """A price field, an indicator reference, a number or a ``"$name"``."""
        if isinstance(raw, str) and not raw.startswith("$"):
            if raw in FIELDS:
                return Field(raw)
            self.fail(path, f'unknown operand "{raw}" (a price field {list(FIELDS)} or "$name")')
            return None
        if isinstance(raw, dict) and "field" in raw:
            if len(raw) != 1 or raw["field"] not in FIELDS:
                self.fail(path, f'must be {{"field": NAME}} with NAME one of {list(FIELDS)}')
                return None
            return Field(raw["field"])
        if isinstance(raw, dict) and "indicator" in raw:
            return self.indicator(raw, path)
        if isinstance(raw, dict):
            self.fail(path, 'an operand object needs an "indicator" or a "field" key')
            return None
        return self.constant(raw, path)

    def indicator(self, raw: dict[str, Any], path: str) -> Indicator | None:
        """An indicator reference checked against the registry."""
        name = raw["indicator"]
        spec = INDICATORS.get(name) if isinstance(name, str) else None
        if spec is None:
            self.fail(
                _join(path, "indicator"), f"unknown indicator {name!r} ({sorted(INDICATORS)})"
            )
            return None
        ok = True
        output = raw.get("output", spec.outputs[0] if len(spec.outputs) == 1 else None)
        if output not in spec.outputs:
            self.fail(_join(path, "output"), f"must be one of {list(spec.outputs)} for {name}")
            ok = False
        known = {p.name: p for p in spec.params}
        given: dict[str, ParamValue] = {}
        written: list[tuple[str, Written]] = []
        for key, value in raw.items():
            if key in ("indicator", "output"):
                continue
            where = _join(path, key)
            if key not in known:
                self.fail(where, f"unknown parameter of {name} (known: {sorted(known)})")
                ok = False
                continue
            found, resolved = self._resolve(value, where)
            try:
                given[key] = known[key].check(resolved) if found else resolved
            except ValidationError:
                via = f' ("{value}" is {resolved!r})' if isinstance(value, str) else ""
                self.fail(where, _param_rule(known[key], resolved) + via)
            ok = ok and found and key in given
            written.append((key, value))
        if not ok:
            return None
        try:
            spec.create(**given)
        except ValidationError as error:
            self.fail(path, f"{name}: {error.message}")
            return None
        params = tuple(sorted(spec.parameters(**given).items()))
        return Indicator(name, str(output), params, tuple(written))


def operand_to_json(operand: Operand) -> Any:
    """``operand`` as written in a document."""
    if isinstance(operand, Field):
        return operand.name
    if isinstance(operand, Constant):
        return f"${operand.ref}" if operand.ref else _plain(operand.value)
    body: dict[str, Any] = {"indicator": operand.name}
    if len(INDICATORS[operand.name].outputs) > 1:
        body["output"] = operand.output
    body.update(operand.written)
    return body


def rule_to_json(rule: Rule) -> Any:
    """``rule`` as written in a document (parses back to an equal rule)."""
    if isinstance(rule, AllOf | AnyOf):
        key = "all" if isinstance(rule, AllOf) else "any"
        return {key: [rule_to_json(r) for r in rule.rules]}
    if isinstance(rule, Not):
        return {"not": rule_to_json(rule.rule)}
    if isinstance(rule, Compare):
        return {rule.op: [operand_to_json(rule.left), operand_to_json(rule.right)]}
    if isinstance(rule, Cross):
        key = "crosses_above" if rule.above else "crosses_below"
        return {key: [operand_to_json(rule.left), operand_to_json(rule.right)]}
    if isinstance(rule, Position):
        return {"position": rule.state}
    if isinstance(rule, BarsInTrade | UnrealizedPnl):
        key = "bars_in_trade" if isinstance(rule, BarsInTrade) else "unrealized_pnl_pct"
        return {key: {rule.op: operand_to_json(rule.value)}}
    if isinstance(rule, Session):
        clock = "%H:%M"
        return {
            "session": {
                "from": rule.start.strftime(clock),
                "to": rule.end.strftime(clock),
                "tz": rule.tz,
            }
        }
    return {"weekdays": [WEEKDAYS[d] for d in rule.days]}


def _plain(value: float) -> int | float:
    return int(value) if value.is_integer() else value
