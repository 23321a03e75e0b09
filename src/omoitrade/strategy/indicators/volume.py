"""Volume: on-balance volume (OBV) and rolling volume-weighted average price (VWAP).

Conventions:

* OBV (as TA-Lib): starts at the first bar's volume, then adds the volume of a bar that
  closes up, subtracts it for one that closes down, and leaves it for an unchanged close.
  (The ``ta`` package, the test reference, also adds it on an unchanged close.) No warm-up.
* VWAP (as ``ta``): over the last ``period`` bars, ``sum(typical x volume) / sum(volume)``
  with ``typical = (high + low + close) / 3``; NaN when those bars have no volume. First
  value on bar ``period``. A rolling window, not a session VWAP that resets daily.

Warm-up: streaming ``value`` is ``None``, vectorized entries are NaN.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from omoitrade.strategy.indicators.base import (
    FloatArray,
    RollingSum,
    StreamingIndicator,
    as_series,
    nan_array,
    require_int,
    windows,
)


class Obv(StreamingIndicator):
    """On-balance volume."""

    __slots__ = ("_obv", "_previous")

    def __init__(self) -> None:
        self._obv: float | None = None
        self._previous = 0.0

    @property
    def value(self) -> float | None:
        return self._obv

    def update(self, close: float, volume: float) -> float:
        if self._obv is None:
            self._obv = volume
        elif close > self._previous:
            self._obv += volume
        elif close < self._previous:
            self._obv -= volume
        self._previous = close
        return self._obv

    def update_bar(
        self, open_: float, high: float, low: float, close: float, volume: float
    ) -> float:
        return self.update(close, volume)


class Vwap(StreamingIndicator):
    """Volume-weighted average of the typical price over the last ``period`` bars."""

    __slots__ = ("_traded", "_volume", "period")

    def __init__(self, period: int = 14) -> None:
        self.period = require_int("period", period)
        self._traded = RollingSum(period)
        self._volume = RollingSum(period)

    @property
    def value(self) -> float | None:
        if not self._volume.full:
            return None
        volume = self._volume.total
        return self._traded.total / volume if volume > 0 else math.nan

    def update(self, high: float, low: float, close: float, volume: float) -> float | None:
        self._traded.push((high + low + close) / 3.0 * volume)
        self._volume.push(volume)
        return self.value

    def update_bar(
        self, open_: float, high: float, low: float, close: float, volume: float
    ) -> float | None:
        return self.update(high, low, close, volume)


def obv(close: npt.ArrayLike, volume: npt.ArrayLike) -> FloatArray:
    """Vectorized :class:`Obv`."""
    closes, volumes = as_series("close", close), as_series("volume", volume)
    if len(closes) == 0:
        return nan_array(0)
    signed = volumes.copy()
    signed[1:] *= np.sign(np.diff(closes))
    return np.cumsum(signed)


def vwap(
    high: npt.ArrayLike,
    low: npt.ArrayLike,
    close: npt.ArrayLike,
    volume: npt.ArrayLike,
    period: int = 14,
) -> FloatArray:
    """Vectorized :class:`Vwap`."""
    highs, lows, closes = as_series("high", high), as_series("low", low), as_series("close", close)
    volumes = as_series("volume", volume)
    require_int("period", period)
    out = nan_array(len(closes))
    if len(closes) >= period:
        traded = windows((highs + lows + closes) / 3.0 * volumes, period).sum(axis=1)
        total = windows(volumes, period).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[period - 1 :] = np.where(total > 0, traded / total, np.nan)
    return out
