"""Evaluating a strategy's entry and exit rules bar by bar with streaming indicators.

Rules use three-valued logic: a rule that needs a value not yet available (an indicator
warming up, no previous bar for a cross) is *unknown*; ``all`` / ``any`` / ``not`` carry
unknowns through, and an unknown entry or exit is treated as false.

The rule trees are compiled once into closures over one list of operand values (this
bar's, then the previous bar's), so a bar costs the indicator updates and a few calls.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from math import isfinite
from typing import Any, cast
from zoneinfo import ZoneInfo

from omoitrade.strategy.document import StrategyDocument
from omoitrade.strategy.indicators.base import CloseIndicator, StreamingIndicator
from omoitrade.strategy.indicators.registry import INDICATORS
from omoitrade.strategy.rules import (
    FIELDS,
    AllOf,
    AnyOf,
    BarsInTrade,
    Compare,
    Constant,
    Cross,
    Field,
    Indicator,
    Not,
    Operand,
    Position,
    Rule,
    Session,
    UnrealizedPnl,
    Weekdays,
)

_OPS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
}
Number = Decimal | float | int


@dataclass(frozen=True, slots=True)
class PositionState:
    """The strategy's position as the rules see it."""

    side: str = "flat"  # "flat", "long" or "short"
    bars_in_trade: int = 0
    unrealized_pnl_pct: Decimal = Decimal(0)


FLAT = PositionState()


@dataclass(frozen=True, slots=True)
class Decision:
    """What the rules say on this bar."""

    enter: bool
    exit: bool


_DECISIONS = (
    (Decision(False, False), Decision(False, True)),
    (Decision(True, False), Decision(True, True)),
)
Check = Callable[[PositionState, datetime], bool | None]


def _walk(rule: Rule) -> Iterator[Rule]:
    yield rule
    if isinstance(rule, AllOf | AnyOf):
        for inner in rule.rules:
            yield from _walk(inner)
    elif isinstance(rule, Not):
        yield from _walk(rule.rule)


def _combined(
    decisive: bool, checks: Sequence[Check], position: PositionState, moment: datetime
) -> bool | None:
    """``all`` (``decisive`` False) or ``any`` (True) in three-valued logic: the first
    decisive answer wins; otherwise unknown if any check was, else the other answer."""
    unknown = False
    for check in checks:
        result = check(position, moment)
        if result is decisive:
            return decisive
        if result is None:
            unknown = True
    return None if unknown else not decisive


def _closes_only(indicator: StreamingIndicator) -> bool:
    """Whether ``update_bar`` just feeds the close to ``update``."""
    return type(indicator).update_bar is CloseIndicator.update_bar


class RuleEvaluator:
    """Feeds each bar to one streaming instance per distinct indicator, then asks the rules."""

    def __init__(self, document: StrategyDocument) -> None:
        self.document = document
        tops = [document.entry_rules]
        if document.exit_rules is not None:
            tops.append(document.exit_rules)
        self._indicators: dict[Any, StreamingIndicator] = {}
        slots: dict[Operand, int] = {}  # each distinct operand's place in ``_values``
        for rule in (r for top in tops for r in _walk(top)):
            for operand in (rule.left, rule.right) if isinstance(rule, Compare | Cross) else ():
                slots.setdefault(operand, len(slots))
                key = getattr(operand, "instance_key", None)
                if isinstance(operand, Indicator) and key not in self._indicators:
                    self._indicators[key] = INDICATORS[operand.name].create(**dict(operand.params))
        self._count = count = len(slots)
        # this bar's value of each operand, then the previous bar's (None: not available)
        self._values: list[float | None] = [None] * (2 * count)
        fields = {o.name for o in slots if isinstance(o, Field)}
        # the close alone when that is all the indicators and fields read (fewer conversions)
        whole = self._whole_bar = bool(fields - {"close"}) or not all(
            map(_closes_only, self._indicators.values())
        )
        # each instance's update, with the slots its outputs go to (output None: the value)
        targets: dict[Any, list[tuple[int, str | None]]] = {k: [] for k in self._indicators}
        self._fields: list[tuple[int, int]] = []  # (slot, index in the bar)
        for operand, slot in slots.items():
            if isinstance(operand, Constant):
                self._values[slot] = operand.value  # the previous: from the second bar on
            elif isinstance(operand, Field):
                self._fields.append((slot, FIELDS.index(operand.name)))
            else:
                several = len(INDICATORS[operand.name].outputs) > 1
                targets[operand.instance_key].append((slot, operand.output if several else None))
        self._feeds: list[tuple[Callable[..., Any], list[tuple[int, str | None]]]] = [
            (i.update_bar if whole else cast(CloseIndicator, i).update, targets[key])
            for key, i in self._indicators.items()
        ]
        # whether a rule reads the open position's P&L (its caller may skip working it out)
        self.reads_pnl = any(isinstance(r, UnrealizedPnl) for top in tops for r in _walk(top))
        self._entry = self._compile(document.entry_rules, slots)
        exit_rules = document.exit_rules
        self._exit = None if exit_rules is None else self._compile(exit_rules, slots)

    @property
    def indicator_count(self) -> int:
        """How many streaming indicator instances the rules need."""
        return len(self._indicators)

    def on_bar(
        self,
        open_: Number,
        high: Number,
        low: Number,
        close: Number,
        volume: Number,
        position: PositionState,
        timestamp: datetime,
    ) -> Decision:
        """Feed one closed bar; whether the entry and exit rules hold on it."""
        values, count = self._values, self._count
        bar: tuple[float, ...]
        if self._whole_bar:
            bar = (float(open_), float(high), float(low), float(close), float(volume))
            for slot, index in self._fields:
                values[slot] = bar[index]
        else:
            bar = (float(close),)
            for slot, _ in self._fields:
                values[slot] = bar[0]
        for update, targets in self._feeds:
            output = update(*bar)
            for slot, name in targets:
                value = output if name is None or output is None else getattr(output, name)
                values[slot] = None if value is None or not isfinite(value) else float(value)
        moment = timestamp if timestamp.tzinfo else timestamp.replace(tzinfo=UTC)
        enter = self._entry(position, moment) is True
        exit_ = self._exit is not None and self._exit(position, moment) is True
        values[count:] = values[:count]  # the previous values for the next bar
        return _DECISIONS[enter][exit_]

    def _compile(self, rule: Rule, slots: dict[Operand, int]) -> Check:
        """``rule`` as a function of the position and the bar's time."""
        if isinstance(rule, AllOf | AnyOf):
            checks = tuple(self._compile(r, slots) for r in rule.rules)
            if len(checks) == 1:
                return checks[0]  # one rule: all and any give its own answer
            return partial(_combined, not isinstance(rule, AllOf), checks)
        if isinstance(rule, Not):
            inner = self._compile(rule.rule, slots)

            def negated(position: PositionState, moment: datetime) -> bool | None:
                result = inner(position, moment)
                return None if result is None else not result

            return negated
        if isinstance(rule, Compare | Cross):
            return self._compare(rule, slots[rule.left], slots[rule.right])
        return _filter(rule)

    def _compare(self, rule: Compare | Cross, left: int, right: int) -> Check:
        values, count = self._values, self._count
        if isinstance(rule, Compare):
            op = _OPS[rule.op]

            def compare(position: PositionState, moment: datetime) -> bool | None:
                a, b = values[left], values[right]
                return None if a is None or b is None else op(a, b)

            return compare
        above = rule.above
        left_before, right_before = count + left, count + right

        def cross(position: PositionState, moment: datetime) -> bool | None:
            a, b = values[left], values[right]
            before_a, before_b = values[left_before], values[right_before]
            if a is None or b is None or before_a is None or before_b is None:
                return None
            if above:
                return a > b and before_a <= before_b
            return a < b and before_a >= before_b

        return cross


def _filter(rule: Rule) -> Check:
    """A position or time filter as a check."""
    if isinstance(rule, Position):
        state = rule.state
        return lambda position, moment: position.side == state
    if isinstance(rule, BarsInTrade | UnrealizedPnl):
        op, limit, bars = _OPS[rule.op], rule.value.value, isinstance(rule, BarsInTrade)

        def held(position: PositionState, moment: datetime) -> bool:
            value = position.bars_in_trade if bars else float(position.unrealized_pnl_pct)
            return position.side != "flat" and op(value, limit)

        return held
    if isinstance(rule, Session):
        zone, start, end = ZoneInfo(rule.tz), rule.start, rule.end

        def session(position: PositionState, moment: datetime) -> bool:
            now = moment.astimezone(zone).time().replace(tzinfo=None)
            return start <= now < end if start < end else (now >= start or now < end)

        return session
    assert isinstance(rule, Weekdays)
    days = rule.days
    return lambda position, moment: moment.astimezone(UTC).weekday() in days
