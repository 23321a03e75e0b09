"""Momentum: RSI, MACD, stochastic oscillator, rate of change and returns.

Conventions (those of the ``ta`` package unless said otherwise):

* RSI: changes ``d = close[t] - close[t-1]`` (``0`` for the first bar), gains and losses
  smoothed with Wilder's ``alpha = 1 / period`` seeded by that first zero change
  (pandas ``ewm(alpha=1/period, adjust=False)``); ``RSI = 100 - 100 / (1 + gain / loss)``,
  and ``100`` when the smoothed loss is zero. First value on bar ``period``.
* MACD: ``macd = EMA(fast) - EMA(slow)`` (EMAs seeded by the first close), ``signal`` =
  EMA(``signal``) of ``macd`` seeded by its first value, ``hist = macd - signal``. All
  three appear together, on bar ``slow + signal - 1``.
* Stochastic: ``k = 100 (close - lowest low) / (highest high - lowest low)`` over
  ``period`` bars (``50`` when the range is zero), ``d`` = SMA(``smooth``) of ``k``; both
  appear on bar ``period + smooth - 1``.
* Rate of change: ``100 (close[t] - close[t-period]) / close[t-period]``.
* Returns: ``close[t] / close[t-period] - 1`` (a fraction, not percent), or with
  ``log=True`` ``ln(close[t] / close[t-period])``. Both first appear on bar ``period + 1``.

Warm-up: streaming ``value`` is ``None``, vectorized entries are NaN.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections import deque
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from omoitrade.core.errors import ValidationError
from omoitrade.strategy.indicators.averages import Ema, Sma, ema_recursion, sma
from omoitrade.strategy.indicators.base import (
    CloseIndicator,
    FloatArray,
    RollingExtreme,
    StreamingIndicator,
    as_series,
    nan_array,
    require_int,
    windows,
)


class MacdValue(NamedTuple):
    """MACD line, its signal line and their difference."""

    macd: float
    signal: float
    hist: float


class StochasticValue(NamedTuple):
    """Stochastic %K and %D."""

    k: float
    d: float


def _rsi_from(gain: float, loss: float) -> float:
    return 100.0 if loss == 0.0 else 100.0 - 100.0 / (1.0 + gain / loss)


class Rsi(CloseIndicator):
    """Relative strength index with Wilder's smoothing (see the module for the seed)."""

    __slots__ = ("_count", "_gain", "_loss", "_previous", "period")

    def __init__(self, period: int = 14) -> None:
        self.period = require_int("period", period)
        self._count = 0
        self._previous = 0.0
        self._gain = 0.0
        self._loss = 0.0

    @property
    def value(self) -> float | None:
        if self._count < self.period:
            return None
        return _rsi_from(self._gain, self._loss)

    def update(self, close: float) -> float | None:
        if self._count:
            change = close - self._previous
            alpha = 1.0 / self.period
            self._gain += alpha * ((change if change > 0 else 0.0) - self._gain)
            self._loss += alpha * ((-change if change < 0 else 0.0) - self._loss)
        self._previous = close
        self._count += 1
        return self.value


class Macd(CloseIndicator):
    """Moving average convergence/divergence: macd, signal and histogram lines."""

    __slots__ = ("_fast", "_signal", "_slow", "_value", "fast", "signal", "slow")

    def __init__(self, fast: int = 12, slow: int = 26, signal: int = 9) -> None:
        self.fast = require_int("fast", fast)
        self.slow = require_int("slow", slow)
        self.signal = require_int("signal", signal)
        self._fast = Ema(fast)
        self._slow = Ema(slow)
        self._signal = Ema(signal)
        self._value: MacdValue | None = None

    @property
    def value(self) -> MacdValue | None:
        return self._value

    def update(self, close: float) -> MacdValue | None:
        fast = self._fast.update(close)
        slow = self._slow.update(close)
        if fast is None or slow is None:
            return None
        line = fast - slow
        signal = self._signal.update(line)
        if signal is not None:
            self._value = MacdValue(line, signal, line - signal)
        return self._value


class Stochastic(StreamingIndicator):
    """Stochastic oscillator %K and its SMA %D."""

    __slots__ = ("_d", "_highest", "_lowest", "_value", "period", "smooth")

    def __init__(self, period: int = 14, smooth: int = 3) -> None:
        self.period = require_int("period", period)
        self.smooth = require_int("smooth", smooth)
        self._highest = RollingExtreme(period, highest=True)
        self._lowest = RollingExtreme(period, highest=False)
        self._d = Sma(smooth)
        self._value: StochasticValue | None = None

    @property
    def value(self) -> StochasticValue | None:
        return self._value

    def update(self, high: float, low: float, close: float) -> StochasticValue | None:
        highest = self._highest.push(high)
        lowest = self._lowest.push(low)
        if not self._highest.full:
            return None
        span = highest - lowest
        k = 100.0 * (close - lowest) / span if span > 0 else 50.0
        d = self._d.update(k)
        if d is not None:
            self._value = StochasticValue(k, d)
        return self._value

    def update_bar(
        self, open_: float, high: float, low: float, close: float, volume: float
    ) -> StochasticValue | None:
        return self.update(high, low, close)


class _Lagged(CloseIndicator):
    """A close-only indicator of ``close[t]`` and ``close[t - period]``."""

    __slots__ = ("_value", "_window", "period")

    def __init__(self, period: int) -> None:
        self.period = require_int("period", period)
        self._window: deque[float] = deque(maxlen=period + 1)
        self._value: float | None = None

    @property
    def value(self) -> float | None:
        return self._value

    @abstractmethod
    def _compute(self, close: float, lagged: float) -> float:
        """The value from the close and the close ``period`` bars before."""

    def update(self, close: float) -> float | None:
        self._window.append(close)
        if len(self._window) > self.period:
            self._value = self._compute(close, self._window[0])
        return self._value


class RateOfChange(_Lagged):
    """Percent change over ``period`` bars."""

    __slots__ = ()

    def __init__(self, period: int = 12) -> None:
        super().__init__(period)

    def _compute(self, close: float, lagged: float) -> float:
        return 100.0 * (close - lagged) / lagged


class Returns(_Lagged):
    """Simple (``close / lagged - 1``) or log return over ``period`` bars."""

    __slots__ = ("log",)

    def __init__(self, period: int = 1, log: bool = False) -> None:
        super().__init__(period)
        if not isinstance(log, bool):
            raise ValidationError("log", "must be true or false", log)
        self.log = log

    def _compute(self, close: float, lagged: float) -> float:
        return math.log(close / lagged) if self.log else close / lagged - 1.0


def rsi(close: npt.ArrayLike, period: int = 14) -> FloatArray:
    """Vectorized :class:`Rsi`."""
    values = as_series("close", close)
    require_int("period", period)
    change = np.diff(values, prepend=values[:1])
    gain = ema_recursion(np.where(change > 0, change, 0.0), 1.0 / period)
    loss = ema_recursion(np.where(change < 0, -change, 0.0), 1.0 / period)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(loss == 0.0, 100.0, 100.0 - 100.0 / (1.0 + gain / loss))
    out[: period - 1] = np.nan
    return out


def macd(
    close: npt.ArrayLike, fast: int = 12, slow: int = 26, signal: int = 9
) -> dict[str, FloatArray]:
    """Vectorized :class:`Macd`: ``{"macd", "signal", "hist"}``."""
    values = as_series("close", close)
    for name, period in (("fast", fast), ("slow", slow), ("signal", signal)):
        require_int(name, period)
    start = max(fast, slow) - 1  # first bar with both EMAs
    line = ema_recursion(values, 2.0 / (fast + 1)) - ema_recursion(values, 2.0 / (slow + 1))
    signal_line = nan_array(len(values))
    if len(values) > start:
        signal_line[start:] = ema_recursion(line[start:], 2.0 / (signal + 1))
    ready = start + signal - 1
    line[:ready] = np.nan
    signal_line[:ready] = np.nan
    return {"macd": line, "signal": signal_line, "hist": line - signal_line}


def stochastic(
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    period: int = 14,
    smooth: int = 3,
) -> dict[str, FloatArray]:
    """Vectorized :class:`Stochastic`: ``{"k", "d"}``."""
    highs, lows, closes = as_series("high", high), as_series("low", low), as_series("close", close)
    require_int("period", period)
    require_int("smooth", smooth)
    k = nan_array(len(closes))
    if len(closes) >= period:
        highest = windows(highs, period).max(axis=1)
        lowest = windows(lows, period).min(axis=1)
        span = highest - lowest
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(span > 0, 100.0 * (closes[period - 1 :] - lowest) / span, 50.0)
        k[period - 1 :] = ratio
        d = nan_array(len(closes))
        d[period - 1 :] = sma(ratio, smooth)
    else:
        d = nan_array(len(closes))
    k[np.isnan(d)] = np.nan
    return {"k": k, "d": d}


def _lag(values: FloatArray, period: int) -> tuple[FloatArray, FloatArray]:
    return values[period:], values[:-period]


def rate_of_change(close: npt.ArrayLike, period: int = 12) -> FloatArray:
    """Vectorized :class:`RateOfChange`."""
    values = as_series("close", close)
    require_int("period", period)
    out = nan_array(len(values))
    if len(values) > period:
        now, then = _lag(values, period)
        out[period:] = 100.0 * (now - then) / then
    return out


def returns(close: npt.ArrayLike, period: int = 1, log: bool = False) -> FloatArray:
    """Vectorized :class:`Returns`."""
    values = as_series("close", close)
    require_int("period", period)
    if not isinstance(log, bool):
        raise ValidationError("log", "must be true or false", log)
    out = nan_array(len(values))
    if len(values) > period:
        now, then = _lag(values, period)
        out[period:] = np.log(now / then) if log else now / then - 1.0
    return out
