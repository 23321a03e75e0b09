"""Trend strength: the average directional index (ADX) with its +DI and -DI lines.

Convention (Wilder's, as TA-Lib): from the second bar on, ``up = high - prev high``,
``down = prev low - low``; ``+DM = up`` if ``up > down`` and ``up > 0`` else ``0``,
``-DM`` likewise; true range as ATR. ``TR``, ``+DM`` and ``-DM`` are summed over their
first ``period`` values, then smoothed as ``s = s - s / period + x``. ``+DI = 100 +DM_s /
TR_s``, ``-DI = 100 -DM_s / TR_s``, ``DX = 100 |+DI - -DI| / (+DI + -DI)`` (``0`` when
both are zero). ADX is the mean of the first ``period`` DX values, then
``adx = (adx (period - 1) + dx) / period``. All three appear on bar ``2 period``.

This matches the ``ta`` package's ADX, which reports +DI and -DI earlier (from bar
``period``); here all three wait for the ADX.

Warm-up: streaming ``value`` is ``None``, vectorized entries are NaN.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from omoitrade.strategy.indicators.base import (
    FloatArray,
    StreamingIndicator,
    as_series,
    nan_array,
    require_int,
)
from omoitrade.strategy.indicators.volatility import true_range


class AdxValue(NamedTuple):
    """ADX with the +DI and -DI lines it comes from."""

    adx: float
    plus_di: float
    minus_di: float


def _directional(
    smoothed_plus: float, smoothed_minus: float, smoothed_range: float
) -> tuple[float, float, float]:
    """``(+DI, -DI, DX)`` from the smoothed sums."""
    scale = 100.0 / smoothed_range if smoothed_range > 0 else 0.0
    plus, minus = smoothed_plus * scale, smoothed_minus * scale
    total = plus + minus
    return plus, minus, (100.0 * abs(plus - minus) / total if total > 0 else 0.0)


class Adx(StreamingIndicator):
    """Average directional index with +DI and -DI."""

    __slots__ = (
        "_adx",
        "_close",
        "_count",
        "_high",
        "_low",
        "_minus",
        "_plus",
        "_range",
        "_value",
        "period",
    )

    def __init__(self, period: int = 14) -> None:
        self.period = require_int("period", period)
        self._count = 0
        self._high = self._low = self._close = math.nan
        self._plus = self._minus = self._range = 0.0
        self._adx = 0.0
        self._value: AdxValue | None = None

    @property
    def value(self) -> AdxValue | None:
        return self._value

    def update(self, high: float, low: float, close: float) -> AdxValue | None:
        count, period = self._count, self.period
        self._count += 1
        if count:
            up, down = high - self._high, self._low - low
            plus = up if up > down and up > 0 else 0.0
            minus = down if down > up and down > 0 else 0.0
            span = max(high - low, abs(high - self._close), abs(low - self._close))
            if count <= period:
                self._plus += plus
                self._minus += minus
                self._range += span
            else:
                self._plus += plus - self._plus / period
                self._minus += minus - self._minus / period
                self._range += span - self._range / period
        self._high, self._low, self._close = high, low, close
        if count < period:
            return None
        plus_di, minus_di, dx = _directional(self._plus, self._minus, self._range)
        if count < 2 * period - 1:
            self._adx += dx
            return None
        if count == 2 * period - 1:
            self._adx = (self._adx + dx) / period
        else:
            self._adx = (self._adx * (period - 1) + dx) / period
        self._value = AdxValue(self._adx, plus_di, minus_di)
        return self._value

    def update_bar(
        self, open_: float, high: float, low: float, close: float, volume: float
    ) -> AdxValue | None:
        return self.update(high, low, close)


def adx(
    high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike, period: int = 14
) -> dict[str, FloatArray]:
    """Vectorized :class:`Adx`: ``{"adx", "plus_di", "minus_di"}`` (smoothing in a loop)."""
    highs, lows, closes = as_series("high", high), as_series("low", low), as_series("close", close)
    require_int("period", period)
    length = len(closes)
    result = {name: nan_array(length) for name in AdxValue._fields}
    if length < 2 * period:
        return result
    up = np.diff(highs)
    down = -np.diff(lows)
    plus_dm = np.where((up > down) & (up > 0), up, 0.0).tolist()
    minus_dm = np.where((down > up) & (down > 0), down, 0.0).tolist()
    ranges = true_range(highs, lows, closes)[1:].tolist()
    s_plus = s_minus = s_range = 0.0
    for i in range(period):
        s_plus += plus_dm[i]
        s_minus += minus_dm[i]
        s_range += ranges[i]
    dx_values: list[float] = []
    di_values: list[tuple[float, float]] = []
    for i in range(period - 1, length - 1):
        if i >= period:
            s_plus += plus_dm[i] - s_plus / period
            s_minus += minus_dm[i] - s_minus / period
            s_range += ranges[i] - s_range / period
        plus_di, minus_di, dx = _directional(s_plus, s_minus, s_range)
        dx_values.append(dx)
        di_values.append((plus_di, minus_di))
    current = 0.0
    for dx in dx_values[:period]:
        current += dx
    current /= period
    smoothed = [current]
    for dx in dx_values[period:]:
        current = (current * (period - 1) + dx) / period
        smoothed.append(current)
    start = 2 * period - 1
    result["adx"][start:] = smoothed
    result["plus_di"][start:] = [p for p, _ in di_values[period - 1 :]]
    result["minus_di"][start:] = [m for _, m in di_values[period - 1 :]]
    return result
