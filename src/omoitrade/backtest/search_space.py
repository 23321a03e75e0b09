"""What an optimization searches and how it ranks: the parameter space, the methods, the
objective metric with its direction, and the constraints."""

from __future__ import annotations

import difflib
import math
import random
import re
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from itertools import product
from types import NoneType
from typing import Any

from omoitrade.backtest.metrics import Metrics
from omoitrade.core.errors import ValidationError

ParamValue = int | Decimal | float | bool | str
Point = dict[str, ParamValue]
MetricValue = int | float | None
Window = tuple[int, int]  # bar indices [start, stop)
Progress = Callable[[int, int], None]

DEFAULT_MAX_GRID = 10_000
DEFAULT_TRIALS = 100
MAX_VALUES = 1_000_000  # of one parameter

#: Metrics where lower is better (the rest: higher is better).
LOWER_IS_BETTER = frozenset({"volatility_pct", "total_fees", "gross_loss"})
#: Metrics where a smaller size is better, whichever sign they are written with.
SMALLER_SIZE_IS_BETTER = frozenset({"max_drawdown_pct", "max_drawdown"})
_NOT_RESULTS = frozenset({"periods_per_year", "risk_free_rate", "initial_cash"})


class Method(StrEnum):
    GRID = "grid"
    RANDOM = "random"
    TPE = "tpe"


def metric_names() -> tuple[str, ...]:
    """The numeric metrics of a run (fields of :class:`Metrics`), in their order."""
    hints = typing.get_type_hints(Metrics)
    numeric = {int, float, Decimal}
    names = []
    for f in fields(Metrics):
        kinds = set(typing.get_args(hints[f.name]) or (hints[f.name],)) - {NoneType}
        if kinds and kinds <= numeric and f.name not in _NOT_RESULTS:
            names.append(f.name)
    return tuple(names)


def _check_metric(name: str, what: str) -> None:
    names = metric_names()
    if name not in names:
        close = difflib.get_close_matches(name, names, n=1)
        hint = f"did you mean {close[0]}? " if close else "e.g. sharpe, trades; "
        raise ValidationError(
            what, f"unknown metric {name!r} ({hint}all are listed in docs/optimization.md)"
        )


def metrics_of(metrics: Metrics) -> dict[str, MetricValue]:
    """The numeric metrics as ints and floats (Decimals become floats; None stays)."""
    out: dict[str, MetricValue] = {}
    for name in metric_names():
        value = getattr(metrics, name)
        if value is None or isinstance(value, int):
            out[name] = value
        else:
            out[name] = float(value)
    return out


# --- the space --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Param:
    """One searched parameter: a range of numbers (``start + i * step``, ``count`` of them)
    or a list of ``choices``."""

    name: str
    count: int
    start: Decimal = Decimal(0)
    step: Decimal = Decimal(1)
    integer: bool = True
    choices: tuple[ParamValue, ...] = ()

    @classmethod
    def parse(cls, text: str) -> Param:
        """``name=start:stop[:step]`` (``stop`` included; step 1 by default for integers)
        or ``name=a,b,c`` (numbers, true/false, or words)."""
        name, sep, spec = text.partition("=")
        name, spec = name.strip(), spec.strip()
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name) or not spec:
            raise ValidationError(
                "param", f"{text!r} must be name=start:stop:step or name=a,b,c", text
            )
        if ":" in spec:
            return cls._range(name, text, spec)
        choices = tuple(_choice(part.strip()) for part in spec.split(","))
        if any(part.strip() == "" for part in spec.split(",")):
            raise ValidationError("param", f"{text!r} has an empty value", text)
        if len(set(map(value_key, choices))) != len(choices):
            raise ValidationError("param", f"{text!r} lists a value twice", text)
        return cls(name, len(choices), choices=choices)

    @classmethod
    def _range(cls, name: str, text: str, spec: str) -> Param:
        parts = [p.strip() for p in spec.split(":")]
        if len(parts) not in (2, 3):
            raise ValidationError("param", f"{text!r} must be name=start:stop:step", text)
        try:
            numbers = [Decimal(p) for p in parts]
        except InvalidOperation:
            raise ValidationError(
                "param", f"{text!r}: start, stop and step must be numbers", text
            ) from None
        if not all(n.is_finite() for n in numbers):
            raise ValidationError("param", f"{text!r}: numbers must be finite", text)
        pairs = zip(numbers, parts, strict=True)
        integer = all(n == n.to_integral_value() and "." not in p for n, p in pairs)
        if len(numbers) == 2:
            if not integer:
                raise ValidationError("param", f"{text!r}: give a step for decimals", text)
            numbers.append(Decimal(1))
        start, stop, step = numbers
        if step <= 0:
            raise ValidationError("param", f"{text!r}: the step must be positive", text)
        if stop < start:
            raise ValidationError("param", f"{text!r}: stop is below start", text)
        count = int((stop - start) / step) + 1
        if count > MAX_VALUES:
            raise ValidationError("param", f"{text!r} has over {MAX_VALUES:,} values", text)
        return cls(name, count, start, step, integer)

    def __len__(self) -> int:
        return self.count

    def value(self, index: int) -> ParamValue:
        if self.choices:
            return self.choices[index]
        value = self.start + index * self.step
        return int(value) if self.integer else value

    def values(self) -> list[ParamValue]:
        return [self.value(i) for i in range(self.count)]

    def __str__(self) -> str:
        if self.choices:
            return f"{self.name}={','.join(str(plain_value(c)) for c in self.choices)}"
        last = self.value(self.count - 1)
        return f"{self.name}={self.value(0)}:{last}:{plain_value(self.step)}"


def _choice(raw: str) -> ParamValue:
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    try:
        number = Decimal(raw)
    except InvalidOperation:
        return raw
    if not number.is_finite():
        return raw
    return int(number) if number == number.to_integral_value() and "." not in raw else number


def plain_value(value: Any) -> Any:
    """A value for JSON and display: Decimals as int or float, bools and words as given."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def value_key(value: Any) -> tuple[str, Any]:
    return (type(value).__name__, value)


@dataclass(frozen=True)
class ParamSpace:
    """The searched parameters, in the order given (the grid's order)."""

    params: tuple[Param, ...]

    def __post_init__(self) -> None:
        if not self.params:
            raise ValidationError("param", "give at least one --param to search")
        names = [p.name for p in self.params]
        for name in names:
            if names.count(name) > 1:
                raise ValidationError("param", f"{name} is given twice")

    @classmethod
    def parse(cls, texts: Sequence[str]) -> ParamSpace:
        return cls(tuple(Param.parse(t) for t in texts))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    @property
    def size(self) -> int:
        return math.prod(len(p) for p in self.params)

    def point(self, index: int) -> Point:
        """The combination at ``index`` of the grid (the last parameter varies fastest)."""
        values: list[ParamValue] = []
        for param in reversed(self.params):
            index, i = divmod(index, len(param))
            values.append(param.value(i))
        return dict(zip(self.names, reversed(values), strict=True))

    def grid(self, max_size: int = DEFAULT_MAX_GRID) -> list[Point]:
        if self.size > max_size:
            shape = " x ".join(str(len(p)) for p in self.params)
            raise ValidationError(
                "grid",
                f"{self.size:,} combinations ({shape}) is over the maximum of {max_size:,}: "
                "use coarser steps, --method random or tpe, or raise --max-grid",
            )
        return [dict(zip(self.names, v, strict=True)) for v in product(*self.values())]

    def values(self) -> list[list[ParamValue]]:
        return [p.values() for p in self.params]

    def sample(self, count: int, seed: int) -> list[Point]:
        """``count`` distinct combinations (all of them if fewer), drawn with ``seed``."""
        drawn = random.Random(seed).sample(range(self.size), min(count, self.size))
        return [self.point(i) for i in drawn]

    def suggest(self, trial: Any) -> Point:
        """A combination asked of an Optuna trial (ranges by index, lists by choice)."""
        point: Point = {}
        for p in self.params:
            if p.choices:
                index = int(trial.suggest_categorical(p.name, list(range(p.count))))
            else:
                index = int(trial.suggest_int(p.name, 0, p.count - 1))
            point[p.name] = p.value(index)
        return point

    def __str__(self) -> str:
        return " ".join(str(p) for p in self.params)


# --- what is optimized --------------------------------------------------------------------------
@dataclass(frozen=True)
class Objective:
    """The metric to optimize; ``minimize`` None takes the metric's own direction.
    Drawdowns are compared by their size, whichever sign they are written with."""

    metric: str = "sharpe"
    minimize: bool | None = None

    def __post_init__(self) -> None:
        _check_metric(self.metric, "metric")
        if self.minimize is None:
            lower = self.metric in LOWER_IS_BETTER | SMALLER_SIZE_IS_BETTER
            object.__setattr__(self, "minimize", lower)

    @property
    def direction(self) -> str:
        return "minimize" if self.minimize else "maximize"

    def score(self, value: float | None) -> float | None:
        """Higher is better: the value, its negative, or minus its size (drawdowns)."""
        if value is None or math.isnan(value):
            return None
        if self.metric in SMALLER_SIZE_IS_BETTER:
            value = abs(value)
        return -value if self.minimize else value


_CONSTRAINT = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(>=|<=|==|!=|>|<)\s*(\S+)\s*$")
_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}


@dataclass(frozen=True)
class Constraint:
    """``metric OP bound`` (``>=``, ``<=``, ``>``, ``<``, ``==``, ``!=``), e.g.
    ``max_drawdown_pct<20`` or ``trades>=30``. An undefined metric breaks it."""

    metric: str
    op: str
    bound: float

    def __post_init__(self) -> None:
        _check_metric(self.metric, "constraint")
        if self.op not in _OPERATORS:
            raise ValidationError("constraint", f"unknown operator {self.op!r}")

    @classmethod
    def parse(cls, text: str) -> Constraint:
        match = _CONSTRAINT.match(text)
        if not match:
            raise ValidationError(
                "constraint", f"{text!r} must be METRIC OP NUMBER, e.g. trades>=30", text
            )
        metric, op, raw = match.groups()
        try:
            bound = float(raw)
        except ValueError:
            raise ValidationError("constraint", f"{text!r}: {raw!r} is not a number") from None
        return cls(metric, op, bound)

    def broken(self, metrics: Mapping[str, MetricValue]) -> str | None:
        """Why ``metrics`` break the constraint, or None."""
        value = metrics.get(self.metric)
        if value is None:
            return f"{self.metric} is undefined"
        if _OPERATORS[self.op](float(value), self.bound):
            return None
        return f"{self.metric} {_number(value)} is not {self.op} {_number(self.bound)}"

    def violation(self, metrics: Mapping[str, MetricValue]) -> float:
        """How far ``metrics`` are from meeting it (0 when met; for Optuna's sampler)."""
        if self.broken(metrics) is None:
            return 0.0
        value = metrics.get(self.metric)
        if value is None or not math.isfinite(float(value)):
            return 1.0
        return max(abs(float(value) - self.bound), 1e-9)

    def __str__(self) -> str:
        return f"{self.metric}{self.op}{_number(self.bound)}"


def _number(value: float | int) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.6g}"
