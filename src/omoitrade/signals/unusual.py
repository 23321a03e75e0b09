"""A strategy's recent signals, to tell an unusual one (far from its history) from the rest."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field


@dataclass(slots=True)
class RollingStats:
    """Mean and standard deviation of the last ``window`` values (O(1) per value)."""

    window: int
    _values: deque[float] = field(default_factory=deque)
    _sum: float = 0.0
    _sum_sq: float = 0.0

    def add(self, value: float) -> None:
        values = self._values
        values.append(value)
        self._sum += value
        self._sum_sq += value * value
        if len(values) > self.window:
            old = values.popleft()
            self._sum -= old
            self._sum_sq -= old * old

    def __len__(self) -> int:
        return len(self._values)

    def deviation(self, value: float) -> float | None:
        """How many (sample) standard deviations ``value`` lies from the mean; None with
        fewer than two values or no spread at all."""
        n = len(self._values)
        if n < 2:
            return None
        mean = self._sum / n
        variance = max(self._sum_sq - n * mean * mean, 0.0) / (n - 1)
        if variance <= 1e-24 * max(mean * mean, 1.0):
            return None if value == mean else math.inf
        return abs(value - mean) / math.sqrt(variance)
