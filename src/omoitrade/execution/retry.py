"""When and how to resend a command whose delivery to a venue failed.

:func:`retry_decision` turns a :class:`~omoitrade.model.enums.DeliveryFailure`
into what the order manager does next:

* TRANSIENT (the venue did not get it: refused connection, timeout before
  sending, rate limit, 5xx on a cancel) -> RETRY, until ``max_attempts``
  attempts have been made, then GIVE_UP.
* AMBIGUOUS (sent, no answer: the order may be working) -> QUERY_FIRST,
  always: ask the venue by client order id before anything is resent. If the
  venue has never seen the order, the failure was in effect TRANSIENT: ask
  again with TRANSIENT and the same attempt count.
* PERMANENT (refused for good) -> GIVE_UP, never resent.

Delays are exponential with jitter: the ceiling of retry ``n`` is
``min(max_delay, base_delay * multiplier ** (n - 1))`` and the delay is drawn
uniformly from ``[ceiling * (1 - jitter), ceiling]``. ``jitter = 1`` is "full
jitter" (``[0, ceiling]``), ``jitter = 0.5`` "equal jitter" (half fixed, half
random), ``jitter = 0`` none. A venue's ``retry_after`` wins when it is longer
(and is not capped). Randomness comes from a seeded ``random.Random`` passed
in, so a backtest draws the same delays in every run.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

from omoitrade.core.errors import ValidationError
from omoitrade.model.enums import DeliveryFailure
from omoitrade.model.venue import CommandFailed

__all__ = [
    "DEFAULT_POLICY",
    "RetryDecision",
    "RetryPolicy",
    "RetrySchedule",
    "RetryStep",
    "retry_after_ns",
    "retry_decision",
]

_NS_PER_SECOND = 1_000_000_000


def _require_attempt(attempt: int) -> None:
    if not isinstance(attempt, int) or isinstance(attempt, bool) or attempt < 1:
        raise ValidationError("attempt", "must be an int >= 1", attempt)


def _finite_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


class RetryDecision(StrEnum):
    RETRY = "RETRY"  # resend after the delay
    QUERY_FIRST = "QUERY_FIRST"  # ask the venue for the order's status before any resend
    GIVE_UP = "GIVE_UP"  # do not resend; the command failed


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently to resend (times in nanoseconds).

    ``max_attempts`` counts every sending, the first one included: 5 means the
    first send and up to 4 retries.
    """

    max_attempts: int = 5
    base_delay_ns: int = 100_000_000
    multiplier: float = 2.0
    max_delay_ns: int = 10_000_000_000
    jitter: float = 1.0

    def __post_init__(self) -> None:
        for name in ("max_attempts", "base_delay_ns", "max_delay_ns"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValidationError(name, "must be an int >= 1", value)
        if self.max_delay_ns < self.base_delay_ns:
            raise ValidationError("max_delay_ns", "must be >= base_delay_ns", self.max_delay_ns)
        if not _finite_number(self.multiplier) or self.multiplier < 1:
            raise ValidationError("multiplier", "must be a finite number >= 1", self.multiplier)
        if not _finite_number(self.jitter) or not 0 <= self.jitter <= 1:
            raise ValidationError("jitter", "must be between 0 and 1", self.jitter)

    def ceiling_ns(self, attempt: int) -> int:
        """The longest delay after the ``attempt``-th sending failed (attempt >= 1)."""
        _require_attempt(attempt)
        growth = (attempt - 1) * math.log(self.multiplier)
        if growth >= math.log(self.max_delay_ns / self.base_delay_ns):
            return self.max_delay_ns  # also keeps the power below from overflowing
        return min(round(self.base_delay_ns * self.multiplier ** (attempt - 1)), self.max_delay_ns)

    def delay_ns(self, attempt: int, rng: random.Random, retry_after: float | None = None) -> int:
        """The wait before resending after the ``attempt``-th sending failed.

        Drawn from ``[ceiling * (1 - jitter), ceiling]``; ``retry_after`` (seconds,
        as a venue gives it) replaces the draw when it is longer.
        """
        ceiling = self.ceiling_ns(attempt)
        floor = round(ceiling * (1 - self.jitter))
        delay = floor + round((ceiling - floor) * rng.random())
        return max(delay, retry_after_ns(retry_after))

    def decide(self, failure: DeliveryFailure, attempt: int) -> RetryDecision:
        """What to do after the ``attempt``-th sending failed with ``failure``."""
        _require_attempt(attempt)
        if failure is DeliveryFailure.PERMANENT:
            return RetryDecision.GIVE_UP
        if failure is DeliveryFailure.AMBIGUOUS:
            return RetryDecision.QUERY_FIRST
        if failure is DeliveryFailure.TRANSIENT:
            return RetryDecision.RETRY if attempt < self.max_attempts else RetryDecision.GIVE_UP
        raise ValidationError("failure", "must be a DeliveryFailure", failure)


DEFAULT_POLICY = RetryPolicy()


def retry_decision(
    failure: DeliveryFailure, attempt: int, policy: RetryPolicy = DEFAULT_POLICY
) -> RetryDecision:
    """RETRY, QUERY_FIRST or GIVE_UP after the ``attempt``-th sending failed (see module doc)."""
    return policy.decide(failure, attempt)


def retry_after_ns(retry_after: float | None) -> int:
    """A venue's ``retry_after`` (seconds, None when not given) in whole nanoseconds, rounded up."""
    if retry_after is None:
        return 0
    if not _finite_number(retry_after) or retry_after < 0:
        raise ValidationError("retry_after", "must be a finite number >= 0", retry_after)
    return math.ceil(retry_after * _NS_PER_SECOND)


@dataclass(frozen=True, slots=True)
class RetryStep:
    """The answer to one failure: what to do, and after how long when it is RETRY."""

    decision: RetryDecision
    delay_ns: int
    attempt: int
    reason: str


class RetrySchedule:
    """A policy bound to a seeded ``random.Random``: one per order manager (or backtest)."""

    def __init__(self, policy: RetryPolicy, rng: random.Random) -> None:
        self.policy = policy
        self._rng = rng

    def delay_ns(self, attempt: int, retry_after: float | None = None) -> int:
        """See :meth:`RetryPolicy.delay_ns`."""
        return self.policy.delay_ns(attempt, self._rng, retry_after)

    def delays_ns(self) -> Iterator[int]:
        """The delays of every retry the policy allows, in order (max_attempts - 1 of them)."""
        for attempt in range(1, self.policy.max_attempts):
            yield self.delay_ns(attempt)

    def after_failure(self, report: CommandFailed, attempt: int) -> RetryStep:
        """The next step after the ``attempt``-th sending of ``report.command`` failed.

        A delay is drawn only for RETRY (it is 0 otherwise), so the random stream
        depends only on the retries actually made.
        """
        decision = self.policy.decide(report.failure, attempt)
        if decision is RetryDecision.RETRY:
            delay = self.delay_ns(attempt, report.retry_after)
            reason = f"{report.failure} failure: {report.reason}"
        elif decision is RetryDecision.QUERY_FIRST:
            delay = 0
            reason = f"outcome unknown, query the venue first: {report.reason}"
        else:
            delay = 0
            permanent = report.failure is DeliveryFailure.PERMANENT
            kind = "permanent failure" if permanent else f"gave up after {attempt} attempts"
            reason = f"{kind}: {report.reason}"
        return RetryStep(decision, delay, attempt, reason)
