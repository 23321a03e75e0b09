"""The indicator registry: each name with its inputs, parameters, outputs and both forms.

A rule engine looks an indicator up by name (``INDICATORS["rsi"]``), checks and fills its
parameters (``spec.parameters(period=10)``), builds the streaming form (``spec.create``)
or computes the vectorized one over bar arrays (``spec.compute(open, high, ...)``).
Single-output indicators have the one output ``"value"``; the others return a
``NamedTuple`` (streaming) or a ``dict`` of arrays (vectorized) keyed by ``outputs``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy.typing as npt

from omoitrade.core.errors import ValidationError
from omoitrade.strategy.indicators import averages, momentum, trend, volatility, volume
from omoitrade.strategy.indicators.base import FloatArray, StreamingIndicator

INPUTS = ("open", "high", "low", "close", "volume")
VALUE = ("value",)

ParamValue = int | float | bool
Output = FloatArray | dict[str, FloatArray]


@dataclass(frozen=True, slots=True)
class Param:
    """One parameter: its name, type, default and inclusive bounds (``None``: unbounded)."""

    name: str
    kind: type[int] | type[float] | type[bool]
    default: ParamValue
    minimum: float | None = None
    maximum: float | None = None

    def check(self, value: Any) -> ParamValue:
        """``value`` if it has this parameter's type and bounds (ints pass as floats)."""
        if self.kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if type(value) is not self.kind:
            raise ValidationError(self.name, f"must be a {self.kind.__name__}", value)
        if self.minimum is not None and value < self.minimum:
            raise ValidationError(self.name, f"must be >= {self.minimum}", value)
        if self.maximum is not None and value > self.maximum:
            raise ValidationError(self.name, f"must be <= {self.maximum}", value)
        return value


@dataclass(frozen=True, slots=True)
class IndicatorSpec:
    """An indicator's description, its streaming class and its vectorized function."""

    name: str
    title: str
    inputs: tuple[str, ...]
    params: tuple[Param, ...]
    outputs: tuple[str, ...]
    streaming: Callable[..., StreamingIndicator]
    function: Callable[..., Output]

    def parameters(self, **params: Any) -> dict[str, ParamValue]:
        """The full checked parameter set: ``params`` over the defaults."""
        known = {p.name: p for p in self.params}
        unknown = sorted(set(params) - set(known))
        if unknown:
            raise ValidationError(self.name, f"unknown parameters {unknown}", unknown)
        return {name: p.check(params.get(name, p.default)) for name, p in known.items()}

    def create(self, **params: Any) -> StreamingIndicator:
        """A fresh streaming indicator with checked parameters."""
        return self.streaming(**self.parameters(**params))

    def compute(
        self,
        open_: npt.ArrayLike | None = None,
        high: npt.ArrayLike | None = None,
        low: npt.ArrayLike | None = None,
        close: npt.ArrayLike | None = None,
        volume: npt.ArrayLike | None = None,
        **params: Any,
    ) -> Output:
        """The vectorized form over bar arrays (those it does not read may be ``None``)."""
        given: Mapping[str, npt.ArrayLike | None] = {
            "open": open_,
            "high": high,
            "low": low,
            "close": close,
            "volume": volume,
        }
        arrays = []
        for name in self.inputs:
            array = given[name]
            if array is None:
                raise ValidationError(name, f"{self.name} needs the {name} array")
            arrays.append(array)
        return self.function(*arrays, **self.parameters(**params))


def _period(default: int, minimum: int = 1, name: str = "period") -> Param:
    return Param(name, int, default, minimum, 100_000)


_CLOSE = ("close",)
_HLC = ("high", "low", "close")

INDICATORS: dict[str, IndicatorSpec] = {
    spec.name: spec
    for spec in (
        IndicatorSpec(
            "sma",
            "Simple moving average",
            _CLOSE,
            (_period(20),),
            VALUE,
            averages.Sma,
            averages.sma,
        ),
        IndicatorSpec(
            "ema",
            "Exponential moving average",
            _CLOSE,
            (_period(20),),
            VALUE,
            averages.Ema,
            averages.ema,
        ),
        IndicatorSpec(
            "wma",
            "Weighted moving average",
            _CLOSE,
            (_period(9),),
            VALUE,
            averages.Wma,
            averages.wma,
        ),
        IndicatorSpec(
            "rsi",
            "Relative strength index",
            _CLOSE,
            (_period(14),),
            VALUE,
            momentum.Rsi,
            momentum.rsi,
        ),
        IndicatorSpec(
            "macd",
            "Moving average convergence/divergence",
            _CLOSE,
            (_period(12, name="fast"), _period(26, name="slow"), _period(9, name="signal")),
            momentum.MacdValue._fields,
            momentum.Macd,
            momentum.macd,
        ),
        IndicatorSpec(
            "bbands",
            "Bollinger bands",
            _CLOSE,
            (_period(20), Param("width", float, 2.0, 0.0, 100.0)),
            volatility.BollingerValue._fields,
            volatility.BollingerBands,
            volatility.bollinger_bands,
        ),
        IndicatorSpec(
            "atr",
            "Average true range",
            _HLC,
            (_period(14),),
            VALUE,
            volatility.Atr,
            volatility.atr,
        ),
        IndicatorSpec(
            "stddev",
            "Rolling standard deviation",
            _CLOSE,
            (_period(20), Param("ddof", int, 0, 0, 1)),
            VALUE,
            volatility.RollingStd,
            volatility.rolling_std,
        ),
        IndicatorSpec(
            "zscore",
            "Rolling z-score",
            _CLOSE,
            (_period(20, minimum=2), Param("ddof", int, 0, 0, 1)),
            VALUE,
            volatility.ZScore,
            volatility.zscore,
        ),
        IndicatorSpec(
            "highest",
            "Highest high",
            ("high",),
            (_period(20),),
            VALUE,
            volatility.Highest,
            volatility.highest,
        ),
        IndicatorSpec(
            "lowest",
            "Lowest low",
            ("low",),
            (_period(20),),
            VALUE,
            volatility.Lowest,
            volatility.lowest,
        ),
        IndicatorSpec(
            "roc",
            "Rate of change (percent)",
            _CLOSE,
            (_period(12),),
            VALUE,
            momentum.RateOfChange,
            momentum.rate_of_change,
        ),
        IndicatorSpec(
            "returns",
            "Returns (simple or log)",
            _CLOSE,
            (_period(1), Param("log", bool, False)),
            VALUE,
            momentum.Returns,
            momentum.returns,
        ),
        IndicatorSpec(
            "stoch",
            "Stochastic oscillator",
            _HLC,
            (_period(14), _period(3, name="smooth")),
            momentum.StochasticValue._fields,
            momentum.Stochastic,
            momentum.stochastic,
        ),
        IndicatorSpec(
            "obv", "On-balance volume", ("close", "volume"), (), VALUE, volume.Obv, volume.obv
        ),
        IndicatorSpec(
            "vwap",
            "Rolling volume-weighted average price",
            (*_HLC, "volume"),
            (_period(14),),
            VALUE,
            volume.Vwap,
            volume.vwap,
        ),
        IndicatorSpec(
            "adx",
            "Average directional index",
            _HLC,
            (_period(14),),
            trend.AdxValue._fields,
            trend.Adx,
            trend.adx,
        ),
    )
}
