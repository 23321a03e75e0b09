"""A strategy's recent signals, to tell an unusual one (far from its history) from the rest."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

_NO_SPREAD = 1e-24  # a variance this small against the mean's square is a constant window


@dataclass(slots=True)
class RollingStats:
    """Mean and standard deviation of the last ``window`` values, O(1) per value.

    Welford's running mean and sum of squared deviations, with a value's exact removal
    when it leaves the window: no catastrophic cancellation for large values close
    together (a plain sum of squares loses them entirely around 1e6). The rounding that
    adding and removing still leaves is wiped every ``window`` values by recomputing both
    from the window itself (two passes, ``math.fsum``).
    """

    window: int
    _values: deque[float] = field(default_factory=deque)
    _mean: float = 0.0
    _m2: float = 0.0  # sum of squared deviations from the mean
    _since_exact: int = 0

    def add(self, value: float) -> None:
        values = self._values
        values.append(value)
        n = len(values)
        delta = value - self._mean
        self._mean += delta / n
        self._m2 += delta * (value - self._mean)
        if n > self.window:
            old = values.popleft()
            n -= 1
            mean = self._mean + (self._mean - old) / n
            self._m2 -= (old - self._mean) * (old - mean)
            self._mean = mean
        self._since_exact += 1
        if self._since_exact >= self.window:
            self._recompute()
        elif self._m2 < 0.0:
            self._m2 = 0.0

    def _recompute(self) -> None:
        values = self._values
        mean = math.fsum(values) / len(values)
        self._mean = mean
        self._m2 = math.fsum((v - mean) * (v - mean) for v in values)
        self._since_exact = 0

    def __len__(self) -> int:
        return len(self._values)

    def deviation(self, value: float) -> float | None:
        """How many (sample) standard deviations ``value`` lies from the mean; None with
        fewer than two values, or for a value equal to a window without spread (any other
        value is then infinitely far)."""
        n = len(self._values)
        if n < 2:
            return None
        mean = self._mean
        variance = self._m2 / (n - 1)
        if variance <= _NO_SPREAD * max(mean * mean, 1.0):
            same = abs(value - mean) <= 1e-12 * max(abs(mean), 1.0)
            return None if same else math.inf
        return abs(value - mean) / math.sqrt(variance)
