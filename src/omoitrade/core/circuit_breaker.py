"""A circuit breaker: stop calling something that keeps failing, then probe it.

States (:class:`BreakerState`):

* CLOSED - calls go through. ``failure_threshold`` *consecutive* failures open
  the breaker (a success resets the count). Consecutive failures rather than a
  failure ratio over a window: the rule needs no window size, reacts at once to
  an outage and behaves the same whatever the call rate.
* OPEN - every call is refused until the cool-down has passed since opening.
* HALF_OPEN - up to ``trial_calls`` calls go through as trials. The first
  trial success closes the breaker (and resets the cool-down); a trial failure
  re-opens it with the cool-down multiplied by ``cool_down_multiplier``,
  capped at ``max_cool_down_ns``.

Time comes only from a :class:`~omoitrade.core.clock.Clock`, so a breaker on a
simulated clock behaves the same in every run. OPEN becomes HALF_OPEN lazily:
when :attr:`CircuitBreaker.state` or :meth:`CircuitBreaker.allow` is read at or
after :attr:`CircuitBreaker.half_open_at_ns`; a caller that wants to know the
moment can set an alarm at that time.

Every allowed call must be followed by :meth:`record_success` or
:meth:`record_failure` (count a call that never answers as a failure), or the
trial permits of HALF_OPEN stay taken. Outcomes reported while OPEN come from
calls allowed before it opened and change nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from omoitrade.core.clock import Clock
from omoitrade.core.errors import ValidationError

__all__ = ["BreakerConfig", "BreakerState", "ChangeCallback", "CircuitBreaker"]

_log = logging.getLogger("omoitrade.core.circuit_breaker")


class BreakerState(StrEnum):
    CLOSED = "CLOSED"
    OPEN = "OPEN"
    HALF_OPEN = "HALF_OPEN"


ChangeCallback = Callable[[BreakerState, BreakerState, str], object]
"""Called with ``(old, new, reason)`` after every state change; its result is ignored."""


@dataclass(frozen=True, slots=True)
class BreakerConfig:
    """When a breaker opens and for how long.

    ``cool_down_multiplier`` >= 1 grows the cool-down after each failed trial, up to
    ``max_cool_down_ns``; 1 keeps it constant.
    """

    failure_threshold: int = 5
    cool_down_ns: int = 5_000_000_000
    cool_down_multiplier: int = 2
    max_cool_down_ns: int = 60_000_000_000
    trial_calls: int = 1

    def __post_init__(self) -> None:
        for name in ("failure_threshold", "cool_down_ns", "cool_down_multiplier", "trial_calls"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValidationError(name, "must be an int >= 1", value)
        if not isinstance(self.max_cool_down_ns, int) or self.max_cool_down_ns < self.cool_down_ns:
            raise ValidationError("max_cool_down_ns", "must be an int >= cool_down_ns")


class CircuitBreaker:
    """A CLOSED / OPEN / HALF_OPEN breaker driven by a clock; see the module docstring."""

    def __init__(self, name: str, clock: Clock, config: BreakerConfig | None = None) -> None:
        if not isinstance(name, str) or not name:
            raise ValidationError("name", "must be a non-empty string", name)
        self.name = name
        self.config = config if config is not None else BreakerConfig()
        self._clock = clock
        self._state = BreakerState.CLOSED
        self._failures = 0  # consecutive failures while CLOSED
        self._cool_down_ns = self.config.cool_down_ns
        self._opened_at_ns: int | None = None
        self._trials_taken = 0
        self._callbacks: list[ChangeCallback] = []

    # -- reading -------------------------------------------------------------

    @property
    def state(self) -> BreakerState:
        """The current state (OPEN turns HALF_OPEN here once the cool-down has passed)."""
        self._maybe_half_open()
        return self._state

    @property
    def consecutive_failures(self) -> int:
        """Failures in a row counted while CLOSED."""
        return self._failures

    @property
    def cool_down_ns(self) -> int:
        """The cool-down of the current (or next) opening."""
        return self._cool_down_ns

    @property
    def half_open_at_ns(self) -> int | None:
        """When an OPEN breaker lets trials through; None unless OPEN."""
        if self._state is not BreakerState.OPEN or self._opened_at_ns is None:
            return None
        return self._opened_at_ns + self._cool_down_ns

    @property
    def trials_available(self) -> int:
        """Trial calls still allowed in HALF_OPEN (0 in the other states)."""
        if self.state is not BreakerState.HALF_OPEN:
            return 0
        return self.config.trial_calls - self._trials_taken

    # -- using ---------------------------------------------------------------

    def on_change(self, callback: ChangeCallback) -> None:
        """Call ``callback(old, new, reason)`` after every change; a raising one is logged."""
        self._callbacks.append(callback)

    def allow(self) -> bool:
        """Whether a call may go now; in HALF_OPEN a True takes one trial permit."""
        if self._state is BreakerState.CLOSED:  # every call while all is well: no detour
            return True
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.OPEN:
            return False
        if self._trials_taken >= self.config.trial_calls:
            return False
        self._trials_taken += 1
        return True

    def record_success(self) -> None:
        """A call succeeded: resets the failure count; a trial success closes the breaker."""
        if self._state is BreakerState.CLOSED:  # only OPEN changes with time
            self._failures = 0
            return
        state = self.state
        if state is BreakerState.CLOSED:
            self._failures = 0
        elif state is BreakerState.HALF_OPEN:
            self._cool_down_ns = self.config.cool_down_ns
            self._move(BreakerState.CLOSED, "trial call succeeded")

    def record_failure(self, reason: str = "") -> None:
        """A call failed: may open the breaker; a trial failure re-opens it for longer."""
        state = self.state
        detail = f": {reason}" if reason else ""
        if state is BreakerState.CLOSED:
            self._failures += 1
            if self._failures >= self.config.failure_threshold:
                self._open(f"{self._failures} consecutive failures{detail}")
        elif state is BreakerState.HALF_OPEN:
            grown = self._cool_down_ns * self.config.cool_down_multiplier
            self._cool_down_ns = min(grown, self.config.max_cool_down_ns)
            self._open(f"trial call failed{detail}")

    def trip(self, reason: str) -> None:
        """Open now (from any state) with the current cool-down, e.g. at an operator's request."""
        self._open(f"tripped: {reason}")

    def reset(self, reason: str = "reset") -> None:
        """Close now, forgetting failures and any grown cool-down."""
        self._failures = 0
        self._cool_down_ns = self.config.cool_down_ns
        if self._state is not BreakerState.CLOSED:
            self._move(BreakerState.CLOSED, reason)

    # -- internals -----------------------------------------------------------

    def _open(self, reason: str) -> None:
        self._opened_at_ns = self._clock.timestamp_ns()
        self._failures = 0
        if self._state is BreakerState.OPEN:
            return  # restarts the cool-down without reporting a non-change
        self._move(BreakerState.OPEN, reason)

    def _maybe_half_open(self) -> None:
        due = self.half_open_at_ns
        if due is not None and self._clock.timestamp_ns() >= due:
            self._move(BreakerState.HALF_OPEN, f"cool-down of {self._cool_down_ns} ns over")

    def _move(self, new: BreakerState, reason: str) -> None:
        old = self._state
        self._state = new
        self._trials_taken = 0
        if new is not BreakerState.OPEN:
            self._opened_at_ns = None
        _log.info("breaker %s: %s -> %s (%s)", self.name, old, new, reason)
        for callback in tuple(self._callbacks):
            try:
                callback(old, new, reason)
            except Exception:
                _log.exception("breaker %s: change callback failed", self.name)
