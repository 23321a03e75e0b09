"""Algorithms that follow a schedule over ``[start, end]``: the base of TWAP and VWAP.

Every ``interval_ns`` from the start a slice sets the target to what the schedule asks
to be done by the next slice, cancels the working children and sends what is behind
that target (so an unfilled rest is re-sent at a fresh price: catch-up). At the end,
with ``complete_at_end`` the rest is sent as a market order (a limit at the parent's
limit, if it has one), again every interval until done; without it the parent EXPIRES.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import TypeVar

from omoitrade.core.clock import TimeEvent
from omoitrade.core.errors import ValidationError
from omoitrade.execution.algos.base import ExecutionAlgorithm
from omoitrade.execution.algos.params import AlgoParams, require_positive_int
from omoitrade.execution.algos.parent import AlgoTrigger
from omoitrade.execution.algos.pricing import MARKET_PRICING, ChildPricing
from omoitrade.execution.algos.schedule import Schedule, share_of
from omoitrade.model.money import EXACT, ZERO


@dataclass(frozen=True, slots=True, kw_only=True)
class ScheduleParams(AlgoParams):
    """Slices every ``interval_ns``; children priced by ``pricing``."""

    interval_ns: int
    pricing: ChildPricing = field(default_factory=ChildPricing)
    complete_at_end: bool = True

    def __post_init__(self) -> None:
        AlgoParams.__post_init__(self)
        require_positive_int("interval_ns", self.interval_ns)


S = TypeVar("S", bound=ScheduleParams)


class ScheduledAlgorithm(ExecutionAlgorithm[S]):
    """Slices toward a :class:`Schedule`; subclasses give its bucket weights."""

    @abc.abstractmethod
    def _weights(self) -> tuple[Decimal, ...]:
        """The schedule's bucket weights over the parent's horizon."""

    def _check(self) -> None:
        if self.parent.end_ns is None:
            raise ValidationError("end_ns", f"is required by {self.name}")
        self._schedule: Schedule | None = None
        self._target = ZERO
        self._finishing = False

    @property
    def schedule(self) -> Schedule | None:
        return self._schedule

    def _begin(self) -> None:
        end = self.parent.end_ns
        assert end is not None and self.started_ns is not None  # checked; set by start
        start = self.parent.start_ns if self.parent.start_ns is not None else self.started_ns
        if end <= self.started_ns:
            self._at_end(None)
            return
        self._schedule = Schedule(start, end, self._weights())
        self._slice(None)
        self._every("slices", self.params.interval_ns, self._slice, stop_ns=end - 1)
        self._alarm("end", end, self._at_end)

    def _slice(self, _: TimeEvent | None) -> None:
        assert self._schedule is not None and self.parent.end_ns is not None
        horizon = min(self._now() + self.params.interval_ns, self.parent.end_ns)
        self._target = self._share(self._schedule.fraction_at(horizon))
        self._replace_and_work("next slice")

    def _at_end(self, _: TimeEvent | None) -> None:
        self._cancel_timer(self._timer_name("slices"))
        if not self.params.complete_at_end:
            left = EXACT.subtract(self.parent.quantity, self.filled_quantity)
            self._stop(AlgoTrigger.EXPIRE, f"end time reached with {left} left")
            return
        self._finishing = True
        self._target = self.parent.quantity
        self._replace_and_work("end of schedule")
        self._every("finish", self.params.interval_ns, self._finish_slice)

    def _finish_slice(self, _: TimeEvent) -> None:
        self._replace_and_work("end of schedule")

    def _work(self) -> None:
        due = EXACT.subtract(
            EXACT.subtract(self._target, self.filled_quantity), self.children.working_quantity()
        )
        if due > ZERO:
            self._send_for(due, MARKET_PRICING if self._finishing else self.params.pricing)

    def _scheduled_quantity(self) -> Decimal | None:
        if self._schedule is None:
            return None
        return self._share(self._schedule.fraction_at(self._now()))

    def _share(self, fraction: Fraction) -> Decimal:
        """``fraction`` of the parent, in whole lots (all of it at 1)."""
        return share_of(self.parent.quantity, fraction, self.instrument.lot_size)
