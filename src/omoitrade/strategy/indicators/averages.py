"""Moving averages: simple (SMA), exponential (EMA) and linearly weighted (WMA).

Conventions (those of the ``ta`` package, so both agree to rounding):

* SMA: the mean of the last ``period`` closes; first value on bar ``period``.
* EMA: ``alpha = 2 / (period + 1)``, seeded by the first close
  (``ema = close[0]``, then ``ema += alpha * (close - ema)``), i.e. pandas
  ``ewm(span=period, adjust=False)``; reported from bar ``period`` on.
* WMA: weights ``1..period`` (newest heaviest) over their sum ``period (period + 1) / 2``;
  first value on bar ``period``.

Warm-up: streaming ``value`` is ``None``, vectorized entries are NaN.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np
import numpy.typing as npt

from omoitrade.strategy.indicators.base import (
    CloseIndicator,
    FloatArray,
    RollingSum,
    as_series,
    nan_array,
    require_int,
    windows,
)


class Sma(CloseIndicator):
    """Simple moving average of the last ``period`` values."""

    __slots__ = ("_sum", "period")

    def __init__(self, period: int = 20) -> None:
        self.period = require_int("period", period)
        self._sum = RollingSum(period)

    @property
    def value(self) -> float | None:
        return self._sum.total / self.period if self._sum.full else None

    def update(self, close: float) -> float | None:
        rolling = self._sum
        return rolling.total / self.period if rolling.push(close) else None


class Ema(CloseIndicator):
    """Exponential moving average seeded by the first value, ``alpha = 2 / (period + 1)``.

    ``alpha`` may be given instead (``Ema(14, alpha=1 / 14)`` is Wilder's smoothing
    seeded by the first value); the warm-up is still ``period`` values.
    """

    __slots__ = ("_count", "_ema", "alpha", "period")

    def __init__(self, period: int = 20, alpha: float | None = None) -> None:
        self.period = require_int("period", period)
        self.alpha = 2.0 / (period + 1) if alpha is None else alpha
        self._ema = math.nan
        self._count = 0

    @property
    def value(self) -> float | None:
        return self._ema if self._count >= self.period else None

    def update(self, close: float) -> float | None:
        if self._count == 0:
            self._ema = close
        else:
            self._ema += self.alpha * (close - self._ema)
        self._count += 1
        return self.value


class Wma(CloseIndicator):
    """Linearly weighted moving average: weight ``k`` for the ``k``-th oldest of ``period``.

    Keeps the plain sum ``S`` and the weighted sum ``W``; a new value ``x`` makes
    ``W += period * x - S_old`` and ``S += x - leaving``. Both are recomputed from the
    window every ``period`` bars so they never drift.
    """

    __slots__ = ("_denominator", "_since_resync", "_sum", "_weighted", "_window", "period")

    def __init__(self, period: int = 9) -> None:
        self.period = require_int("period", period)
        self._window: deque[float] = deque()
        self._sum = 0.0
        self._weighted = 0.0
        self._since_resync = 0
        self._denominator = period * (period + 1) / 2.0

    @property
    def value(self) -> float | None:
        if len(self._window) < self.period:
            return None
        return self._weighted / self._denominator

    def update(self, close: float) -> float | None:
        window, period = self._window, self.period
        window.append(close)
        self._since_resync += 1
        if len(window) > period:
            leaving = window.popleft()
            self._weighted += period * close - self._sum
            self._sum += close - leaving
        else:
            self._weighted += len(window) * close
            self._sum += close
        if self._since_resync >= period:
            self._since_resync = 0
            self._sum = math.fsum(window)
            self._weighted = math.fsum(k * x for k, x in enumerate(window, start=1))
        return self.value


def sma(close: npt.ArrayLike, period: int = 20) -> FloatArray:
    """Vectorized :class:`Sma`."""
    values = as_series("close", close)
    require_int("period", period)
    out = nan_array(len(values))
    if len(values) >= period:
        out[period - 1 :] = windows(values, period).mean(axis=1)
    return out


def ema_recursion(values: FloatArray, alpha: float) -> FloatArray:
    """``e[0] = x[0]``, ``e[t] = e[t-1] + alpha (x[t] - e[t-1])``, with no warm-up masking."""
    out = np.empty(len(values))
    if len(values) == 0:
        return out
    current = float(values[0])
    out_list = [current]
    append = out_list.append
    for x in values[1:].tolist():
        current += alpha * (x - current)
        append(current)
    out[:] = out_list
    return out


def ema(close: npt.ArrayLike, period: int = 20) -> FloatArray:
    """Vectorized :class:`Ema` (the recursion runs in a tight loop: it is sequential)."""
    values = as_series("close", close)
    require_int("period", period)
    out = ema_recursion(values, 2.0 / (period + 1))
    out[: period - 1] = np.nan
    return out


def wma(close: npt.ArrayLike, period: int = 9) -> FloatArray:
    """Vectorized :class:`Wma`."""
    values = as_series("close", close)
    require_int("period", period)
    out = nan_array(len(values))
    if len(values) >= period:
        weights = np.arange(1, period + 1, dtype=np.float64)
        out[period - 1 :] = windows(values, period) @ weights / (period * (period + 1) / 2.0)
    return out
