"""Latency of the simulated exchange, applied through the clock.

A command reaches the matching engine ``order_ack_ns`` after it was sent;
reports of fills reach the client ``fill_ns`` after they happened, other
reports ``order_ack_ns`` after; market data ``market_data_ns`` after. With
zero delays everything happens at once, in call order. With delays, delivery
is scheduled as clock alarms, so a backtest on a simulated clock sees them in
deterministic order (equal deadlines fire in the order they were set).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import count
from typing import TypeVar

from omoitrade.core.clock import Clock, TimeEvent
from omoitrade.core.errors import ValidationError

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class LatencyModel:
    """Fixed one-way delays in nanoseconds."""

    order_ack_ns: int = 0
    fill_ns: int = 0
    market_data_ns: int = 0

    def __post_init__(self) -> None:
        for name in ("order_ack_ns", "fill_ns", "market_data_ns"):
            if getattr(self, name) < 0:
                raise ValidationError(name, "must not be negative", getattr(self, name))


class DelayLine:
    """Runs callables after a delay on a clock, or at once when the delay is zero."""

    def __init__(self, clock: Clock, name: str) -> None:
        self._clock = clock
        self._name = name
        self._sequence = count(1)

    def after(self, delay_ns: int, action: Callable[[], None]) -> None:
        if delay_ns <= 0:
            action()
            return

        def fire(_: TimeEvent) -> None:
            action()

        alarm = f"{self._name}-{next(self._sequence)}"
        self._clock.set_alarm(alarm, self._clock.timestamp_ns() + delay_ns, fire)

    def call(self, delay_ns: int, function: Callable[[_T], None], argument: _T) -> None:
        """``function(argument)`` after ``delay_ns``, like :meth:`after`; with no delay it
        is called at once, without building a closure (the hot path of zero latency)."""
        if delay_ns <= 0:
            function(argument)
            return
        self.after(delay_ns, lambda: function(argument))
