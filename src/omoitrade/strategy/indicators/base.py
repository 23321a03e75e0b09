"""Shared pieces of the indicators: the streaming base, parameter checks and rolling windows.

Every indicator works on floats. Bars carry ``Decimal`` prices, so a caller converts at
the boundary (``float(bar.close)``, ``float(bar.volume)``) and converts results back with
``Decimal(repr(value))`` if it needs exact numbers again.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections import deque
from typing import Any

import numpy as np
import numpy.typing as npt

from omoitrade.core.errors import ValidationError

FloatArray = npt.NDArray[np.float64]


class StreamingIndicator(ABC):
    """An indicator fed one bar at a time: ``update_bar`` for any bar, ``.value`` for the latest.

    Subclasses define ``update`` with the inputs they need (``update(close)``,
    ``update(high, low, close)``...) and ``update_bar`` to route a whole bar to it.
    ``value`` is ``None`` until the indicator has seen enough bars (its warm-up).
    """

    __slots__ = ()

    @property
    @abstractmethod
    def value(self) -> Any:
        """The latest value (``None`` while warming up)."""

    @abstractmethod
    def update_bar(self, open_: float, high: float, low: float, close: float, volume: float) -> Any:
        """Feed one whole bar; returns the new value (``None`` while warming up)."""


class CloseIndicator(StreamingIndicator):
    """A streaming indicator that reads only the close."""

    __slots__ = ()

    @abstractmethod
    def update(self, close: float) -> Any:
        """Feed one close; returns the new value (``None`` while warming up)."""

    def update_bar(self, open_: float, high: float, low: float, close: float, volume: float) -> Any:
        return self.update(close)


def require_int(name: str, value: int, minimum: int = 1) -> int:
    """``value`` if it is a whole number of at least ``minimum``, else a ValidationError."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValidationError(name, f"must be a whole number >= {minimum}", value)
    return value


def require_non_negative(name: str, value: float) -> float:
    """``value`` as a float if it is finite and at least zero, else a ValidationError."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise ValidationError(name, "must be a number >= 0", value)
    if not math.isfinite(value):
        raise ValidationError(name, "must be finite", value)
    return float(value)


def as_series(name: str, values: npt.ArrayLike) -> FloatArray:
    """``values`` as a one-dimensional float64 array (a copy only when needed)."""
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        raise ValidationError(name, "must be one-dimensional", array.shape)
    return array


def nan_array(length: int) -> FloatArray:
    """An array of ``length`` NaNs: the vectorized warm-up marker."""
    return np.full(length, np.nan)


def windows(values: FloatArray, period: int) -> FloatArray:
    """The ``len - period + 1`` trailing windows of ``values`` as a read-only 2-D view."""
    return np.lib.stride_tricks.sliding_window_view(values, period)


class RollingSum:
    """The sum of the last ``period`` values, O(1) per update.

    Keeps the window and, every ``period`` updates, recomputes the sum from it (amortised
    O(1)) so adding and subtracting never drifts. ``full`` once ``period`` values are in.
    """

    __slots__ = ("_period", "_since_resync", "_window", "total")

    def __init__(self, period: int) -> None:
        self._period = period
        self._window: deque[float] = deque()
        self._since_resync = 0
        self.total = 0.0

    @property
    def full(self) -> bool:
        return len(self._window) == self._period

    def push(self, value: float) -> bool:
        """Add ``value`` (the oldest leaves once the window is full); whether it is full."""
        window, period = self._window, self._period
        window.append(value)
        leaving = window.popleft() if len(window) > period else None
        self._since_resync += 1
        if self._since_resync >= period:
            self._since_resync = 0
            self.total = math.fsum(window)
        elif leaving is None:
            self.total += value
        else:
            self.total += value - leaving
        return len(window) == period


class RollingExtreme:
    """The highest (or lowest) of the last ``period`` values, amortised O(1) per update.

    A monotonic deque of (index, value): each value enters and leaves it once.
    """

    __slots__ = ("_count", "_highest", "_period", "_queue")

    def __init__(self, period: int, highest: bool) -> None:
        self._period = period
        self._highest = highest
        self._queue: deque[tuple[int, float]] = deque()
        self._count = 0

    @property
    def full(self) -> bool:
        return self._count >= self._period

    def push(self, value: float) -> float:
        """Add ``value``; returns the extreme of the (possibly still short) window."""
        queue = self._queue
        if self._highest:
            while queue and queue[-1][1] <= value:
                queue.pop()
        else:
            while queue and queue[-1][1] >= value:
                queue.pop()
        queue.append((self._count, value))
        self._count += 1
        if queue[0][0] <= self._count - 1 - self._period:
            queue.popleft()
        return queue[0][1]
