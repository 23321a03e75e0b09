"""Dispersion and range: rolling std, rolling z-score, Bollinger bands, ATR, highest/lowest.

Conventions:

* Rolling std: over the last ``period`` values with ``ddof`` (default ``0``, the
  population std the ``ta`` package uses for Bollinger bands; ``ddof=1`` is pandas'
  sample std). First value on bar ``period``.
* Rolling z-score: ``(x - mean) / std`` over the last ``period`` values, the newest
  included, same ``ddof``. A flat window (std no more than ``1e-12`` of the mean's size)
  scores ``0``.
* Bollinger bands: ``middle`` = SMA(``period``), ``upper``/``lower`` = middle +/-
  ``width`` x population std (``ddof=0``, as ``ta``).
* ATR: true range ``max(high - low, |high - prev close|, |low - prev close|)`` (just
  ``high - low`` on the first bar), averaged over the first ``period`` bars, then
  Wilder's smoothing ``atr = (atr (period - 1) + tr) / period`` (as ``ta``). First value on
  bar ``period``.
* Highest/lowest: the highest high / lowest low of the last ``period`` bars (the streaming
  classes take any one series).

Warm-up: streaming ``value`` is ``None``, vectorized entries are NaN.
"""

from __future__ import annotations

import math
from collections import deque
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from omoitrade.core.errors import ValidationError
from omoitrade.strategy.indicators.base import (
    CloseIndicator,
    FloatArray,
    RollingExtreme,
    StreamingIndicator,
    as_series,
    nan_array,
    require_int,
    require_non_negative,
    windows,
)

FLAT = 1e-12  # a std this small relative to the mean counts as a flat window


class BollingerValue(NamedTuple):
    """Upper band, middle (SMA) and lower band."""

    upper: float
    middle: float
    lower: float


def _require_ddof(ddof: int, period: int) -> int:
    require_int("ddof", ddof, minimum=0)
    if ddof >= period:
        raise ValidationError("ddof", "must be below period", ddof)
    return ddof


class RollingMoments:
    """Mean and std of the last ``period`` values, O(1) per update.

    Sums of ``x - shift`` and its square, with ``shift`` near the mean so the variance
    formula does not cancel; every ``period`` updates the shift moves to the current mean
    and the sums are recomputed from the window (amortised O(1), no drift).
    """

    __slots__ = ("_ddof", "_period", "_s1", "_s2", "_shift", "_since_resync", "_window")

    def __init__(self, period: int, ddof: int) -> None:
        self._period = period
        self._ddof = ddof
        self._window: deque[float] = deque()
        self._shift = 0.0
        self._s1 = 0.0
        self._s2 = 0.0
        self._since_resync = 0

    @property
    def full(self) -> bool:
        return len(self._window) == self._period

    def push(self, value: float) -> None:
        window = self._window
        if not window:
            self._shift = value
        window.append(value)
        delta = value - self._shift
        self._s1 += delta
        self._s2 += delta * delta
        if len(window) > self._period:
            gone = window.popleft() - self._shift
            self._s1 -= gone
            self._s2 -= gone * gone
        self._since_resync += 1
        if self._since_resync >= self._period:
            self._since_resync = 0
            self._shift = math.fsum(window) / len(window)
            deltas = [x - self._shift for x in window]
            self._s1 = math.fsum(deltas)
            self._s2 = math.fsum(d * d for d in deltas)

    def mean(self) -> float:
        return self._shift + self._s1 / len(self._window)

    def std(self) -> float:
        n = len(self._window)
        variance = (self._s2 - self._s1 * self._s1 / n) / (n - self._ddof)
        return math.sqrt(variance) if variance > 0 else 0.0


class RollingStd(CloseIndicator):
    """Standard deviation of the last ``period`` values."""

    __slots__ = ("_moments", "ddof", "period")

    def __init__(self, period: int = 20, ddof: int = 0) -> None:
        self.period = require_int("period", period, minimum=1)
        self.ddof = _require_ddof(ddof, period)
        self._moments = RollingMoments(period, ddof)

    @property
    def value(self) -> float | None:
        return self._moments.std() if self._moments.full else None

    def update(self, close: float) -> float | None:
        self._moments.push(close)
        return self.value


class ZScore(CloseIndicator):
    """How many rolling stds the newest value sits from the rolling mean."""

    __slots__ = ("_last", "_moments", "ddof", "period")

    def __init__(self, period: int = 20, ddof: int = 0) -> None:
        self.period = require_int("period", period, minimum=2)
        self.ddof = _require_ddof(ddof, period)
        self._moments = RollingMoments(period, ddof)
        self._last = 0.0

    @property
    def value(self) -> float | None:
        if not self._moments.full:
            return None
        mean, std = self._moments.mean(), self._moments.std()
        return 0.0 if std <= FLAT * abs(mean) or std == 0.0 else (self._last - mean) / std

    def update(self, close: float) -> float | None:
        self._last = close
        self._moments.push(close)
        return self.value


class BollingerBands(CloseIndicator):
    """SMA with bands ``width`` population stds above and below."""

    __slots__ = ("_moments", "period", "width")

    def __init__(self, period: int = 20, width: float = 2.0) -> None:
        self.period = require_int("period", period)
        self.width = require_non_negative("width", width)
        self._moments = RollingMoments(period, 0)

    @property
    def value(self) -> BollingerValue | None:
        if not self._moments.full:
            return None
        middle, spread = self._moments.mean(), self.width * self._moments.std()
        return BollingerValue(middle + spread, middle, middle - spread)

    def update(self, close: float) -> BollingerValue | None:
        self._moments.push(close)
        return self.value


class Atr(StreamingIndicator):
    """Average true range with Wilder's smoothing seeded by a simple average."""

    __slots__ = ("_atr", "_count", "_previous", "period")

    def __init__(self, period: int = 14) -> None:
        self.period = require_int("period", period)
        self._count = 0
        self._previous = math.nan
        self._atr = 0.0

    @property
    def value(self) -> float | None:
        return self._atr if self._count >= self.period else None

    def update(self, high: float, low: float, close: float) -> float | None:
        previous = self._previous
        span = high - low
        if self._count:
            span = max(span, abs(high - previous), abs(low - previous))
        self._previous = close
        self._count += 1
        period = self.period
        if self._count < period:
            self._atr += span
        elif self._count == period:
            self._atr = (self._atr + span) / period
        else:
            self._atr = (self._atr * (period - 1) + span) / period
        return self.value

    def update_bar(
        self, open_: float, high: float, low: float, close: float, volume: float
    ) -> float | None:
        return self.update(high, low, close)


class Highest(CloseIndicator):
    """Highest of the last ``period`` values (fed highs by ``update_bar``)."""

    __slots__ = ("_extreme", "_value", "period")

    def __init__(self, period: int = 20) -> None:
        self.period = require_int("period", period)
        self._extreme = RollingExtreme(period, highest=True)
        self._value: float | None = None

    @property
    def value(self) -> float | None:
        return self._value

    def update(self, close: float) -> float | None:
        extreme = self._extreme.push(close)
        if self._extreme.full:
            self._value = extreme
        return self._value

    def update_bar(
        self, open_: float, high: float, low: float, close: float, volume: float
    ) -> float | None:
        return self.update(high)


class Lowest(Highest):
    """Lowest of the last ``period`` values (fed lows by ``update_bar``)."""

    __slots__ = ()

    def __init__(self, period: int = 20) -> None:
        super().__init__(period)
        self._extreme = RollingExtreme(period, highest=False)

    def update_bar(
        self, open_: float, high: float, low: float, close: float, volume: float
    ) -> float | None:
        return self.update(low)


def _moments(values: FloatArray, period: int, ddof: int) -> tuple[FloatArray, FloatArray]:
    """Rolling mean and std over full windows (``len - period + 1`` of each)."""
    window = windows(values, period)
    mean = window.mean(axis=1)
    variance = ((window - mean[:, None]) ** 2).sum(axis=1) / (period - ddof)
    return mean, np.sqrt(variance)


def rolling_std(close: npt.ArrayLike, period: int = 20, ddof: int = 0) -> FloatArray:
    """Vectorized :class:`RollingStd`."""
    values = as_series("close", close)
    require_int("period", period)
    _require_ddof(ddof, period)
    out = nan_array(len(values))
    if len(values) >= period:
        out[period - 1 :] = _moments(values, period, ddof)[1]
    return out


def zscore(close: npt.ArrayLike, period: int = 20, ddof: int = 0) -> FloatArray:
    """Vectorized :class:`ZScore`."""
    values = as_series("close", close)
    require_int("period", period, minimum=2)
    _require_ddof(ddof, period)
    out = nan_array(len(values))
    if len(values) >= period:
        mean, std = _moments(values, period, ddof)
        flat = (std <= FLAT * np.abs(mean)) | (std == 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            out[period - 1 :] = np.where(flat, 0.0, (values[period - 1 :] - mean) / std)
    return out


def bollinger_bands(
    close: npt.ArrayLike, period: int = 20, width: float = 2.0
) -> dict[str, FloatArray]:
    """Vectorized :class:`BollingerBands`: ``{"upper", "middle", "lower"}``."""
    values = as_series("close", close)
    require_int("period", period)
    width = require_non_negative("width", width)
    middle, std = nan_array(len(values)), nan_array(len(values))
    if len(values) >= period:
        middle[period - 1 :], std[period - 1 :] = _moments(values, period, 0)
    return {"upper": middle + width * std, "middle": middle, "lower": middle - width * std}


def true_range(high: FloatArray, low: FloatArray, close: FloatArray) -> FloatArray:
    """Per-bar true range; the first bar's is ``high - low``."""
    span = high - low
    if len(close) > 1:
        previous = close[:-1]
        gaps = np.maximum(np.abs(high[1:] - previous), np.abs(low[1:] - previous))
        span[1:] = np.maximum(span[1:], gaps)
    return span


def atr(
    high: npt.ArrayLike, low: npt.ArrayLike, close: npt.ArrayLike, period: int = 14
) -> FloatArray:
    """Vectorized :class:`Atr` (the smoothing is sequential, so it runs in a loop)."""
    highs, lows, closes = as_series("high", high), as_series("low", low), as_series("close", close)
    require_int("period", period)
    ranges = true_range(highs, lows, closes)
    out = nan_array(len(closes))
    if len(closes) < period:
        return out
    current = math.fsum(ranges[:period].tolist()) / period
    smoothed = [current]
    for span in ranges[period:].tolist():
        current = (current * (period - 1) + span) / period
        smoothed.append(current)
    out[period - 1 :] = smoothed
    return out


def highest(high: npt.ArrayLike, period: int = 20) -> FloatArray:
    """Vectorized :class:`Highest`."""
    values = as_series("high", high)
    require_int("period", period)
    out = nan_array(len(values))
    if len(values) >= period:
        out[period - 1 :] = windows(values, period).max(axis=1)
    return out


def lowest(low: npt.ArrayLike, period: int = 20) -> FloatArray:
    """Vectorized :class:`Lowest`."""
    values = as_series("low", low)
    require_int("period", period)
    out = nan_array(len(values))
    if len(values) >= period:
        out[period - 1 :] = windows(values, period).min(axis=1)
    return out
