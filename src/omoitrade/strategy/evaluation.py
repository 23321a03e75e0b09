"""Evaluating a strategy's entry and exit rules bar by bar with streaming indicators.

Rules use three-valued logic: a rule that needs a value not yet available (an indicator
warming up, no previous bar for a cross) is *unknown*; ``all`` / ``any`` / ``not`` carry
unknowns through, and an unknown entry or exit is treated as false.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from omoitrade.strategy.document import StrategyDocument
from omoitrade.strategy.indicators.base import StreamingIndicator
from omoitrade.strategy.indicators.registry import INDICATORS
from omoitrade.strategy.rules import (
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


def _walk(rule: Rule) -> Iterator[Rule]:
    yield rule
    if isinstance(rule, AllOf | AnyOf):
        for inner in rule.rules:
            yield from _walk(inner)
    elif isinstance(rule, Not):
        yield from _walk(rule.rule)


class RuleEvaluator:
    """Feeds each bar to one streaming instance per distinct indicator, then asks the rules."""

    def __init__(self, document: StrategyDocument) -> None:
        self.document = document
        rules = [document.entry_rules]
        if document.exit_rules is not None:
            rules.append(document.exit_rules)
        self._indicators: dict[Any, StreamingIndicator] = {}
        self._crossed: list[Operand] = []
        for rule in (r for top in rules for r in _walk(top)):
            operands = (rule.left, rule.right) if isinstance(rule, Compare | Cross) else ()
            for operand in operands:
                if isinstance(operand, Indicator) and operand.instance_key not in self._indicators:
                    spec = INDICATORS[operand.name]
                    self._indicators[operand.instance_key] = spec.create(**dict(operand.params))
                if isinstance(rule, Cross) and operand not in self._crossed:
                    self._crossed.append(operand)
        # each crossing's two operands by position in ``_crossed`` (looked up by the rule's
        # identity: operands hash by value, which is slow on every bar)
        self._cross_slots: dict[int, tuple[int, int]] = {
            id(rule): (self._crossed.index(rule.left), self._crossed.index(rule.right))
            for rule in (r for top in rules for r in _walk(top))
            if isinstance(rule, Cross)
        }
        self._bar: dict[str, float] = {}
        self._outputs: dict[Any, Any] = {}
        self._previous: list[float | None] = [None] * len(self._crossed)
        self._current: list[float | None] = list(self._previous)

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
        bar = (float(open_), float(high), float(low), float(close), float(volume))
        self._bar = dict(zip(("open", "high", "low", "close", "volume"), bar, strict=True))
        self._outputs = {key: ind.update_bar(*bar) for key, ind in self._indicators.items()}
        self._current = [self._value(operand) for operand in self._crossed]
        moment = timestamp if timestamp.tzinfo else timestamp.replace(tzinfo=UTC)
        enter = self._eval(self.document.entry_rules, position, moment) is True
        exit_rules = self.document.exit_rules
        exit_ = exit_rules is not None and self._eval(exit_rules, position, moment) is True
        self._previous = self._current
        return Decision(enter, exit_)

    def _value(self, operand: Operand) -> float | None:
        if isinstance(operand, Field):
            return self._bar[operand.name]
        if isinstance(operand, Constant):
            return operand.value
        output = self._outputs[operand.instance_key]
        if output is not None and isinstance(output, tuple):
            output = getattr(output, operand.output)
        if output is None or not math.isfinite(output):
            return None
        return float(output)

    def _eval(self, rule: Rule, position: PositionState, moment: datetime) -> bool | None:
        if isinstance(rule, AllOf):
            results = [self._eval(r, position, moment) for r in rule.rules]
            return False if False in results else (None if None in results else True)
        if isinstance(rule, AnyOf):
            results = [self._eval(r, position, moment) for r in rule.rules]
            return True if True in results else (None if None in results else False)
        if isinstance(rule, Not):
            inner = self._eval(rule.rule, position, moment)
            return None if inner is None else not inner
        if isinstance(rule, Compare):
            left, right = self._value(rule.left), self._value(rule.right)
            return None if left is None or right is None else _OPS[rule.op](left, right)
        if isinstance(rule, Cross):
            return self._cross(rule)
        if isinstance(rule, Position):
            return position.side == rule.state
        if isinstance(rule, BarsInTrade):
            return position.side != "flat" and _OPS[rule.op](
                position.bars_in_trade, rule.value.value
            )
        if isinstance(rule, UnrealizedPnl):
            pnl = float(position.unrealized_pnl_pct)
            return position.side != "flat" and _OPS[rule.op](pnl, rule.value.value)
        if isinstance(rule, Session):
            now = moment.astimezone(ZoneInfo(rule.tz)).time().replace(tzinfo=None)
            if rule.start < rule.end:
                return rule.start <= now < rule.end
            return now >= rule.start or now < rule.end
        assert isinstance(rule, Weekdays)
        return moment.astimezone(UTC).weekday() in rule.days

    def _cross(self, rule: Cross) -> bool | None:
        a, b = self._cross_slots[id(rule)]
        now_a, now_b = self._current[a], self._current[b]
        before_a, before_b = self._previous[a], self._previous[b]
        if None in (now_a, now_b, before_a, before_b):
            return None
        assert now_a is not None and now_b is not None
        assert before_a is not None and before_b is not None
        if rule.above:
            return now_a > now_b and before_a <= before_b
        return now_a < now_b and before_a >= before_b
