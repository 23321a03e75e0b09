"""Clocks: the only place the system learns what time it is.

Nothing above this module calls ``datetime.now()`` or ``time.time()``. Every
component asks a :class:`Clock` instead, so the same code runs against two
kinds of time:

* :class:`SimulatedClock` moves only when told. A backtest steps it from one
  data point to the next, and timers and alarms fire at exactly their
  deadlines, in a fixed order. Two runs over the same data therefore produce
  the same events, byte for byte - the foundation of reproducible backtests.
* :class:`LiveClock` reads the wall clock and fires timers from an asyncio
  loop (:meth:`LiveClock.run`) or on demand (:meth:`LiveClock.fire_due`).

Both share one scheduler: a heap of deadlines keyed by ``(deadline, sequence)``
where the sequence is the order in which the timers were set, so timers with
equal deadlines always fire in the order they were set.

Timestamps are ``int`` nanoseconds since the Unix epoch, UTC. The core is
single-threaded: clocks are not thread-safe.
"""

from __future__ import annotations

import abc
import asyncio
import heapq
import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from omoitrade.core.errors import Conflict, NotFound, ValidationError

__all__ = ["Clock", "LiveClock", "SimulatedClock", "TimeEvent", "TimerCallback"]

_log = logging.getLogger("omoitrade.core.clock")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_datetime(ns: int) -> datetime:
    """Nanoseconds since the epoch as an aware UTC datetime (microsecond precision)."""
    return _EPOCH + timedelta(microseconds=ns // 1000)


def to_ns(moment: datetime) -> int:
    """An aware datetime as nanoseconds since the epoch, exactly."""
    if moment.tzinfo is None:
        raise ValidationError("timestamp", "must be timezone-aware", moment)
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000


# Compact the heap once this many cancelled entries linger in it (and they are
# at least half of it).
_COMPACT_THRESHOLD = 64


@dataclass(frozen=True, slots=True)
class TimeEvent:
    """One delivery of a timer or alarm.

    ``scheduled_ns`` is when it was due; ``fired_ns`` is the clock's time when it
    was delivered (equal to ``scheduled_ns`` on a simulated clock unless the
    deadline was already in the past when the clock moved).
    """

    name: str
    scheduled_ns: int
    fired_ns: int


TimerCallback = Callable[[TimeEvent], None]


def _require_int(field: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValidationError(field, "must be an int", value)
    return value


class _Timer:
    """A registered timer or alarm (an alarm is a timer without an interval)."""

    __slots__ = ("callback", "cancelled", "interval_ns", "name", "next_ns", "seq", "stop_ns")

    def __init__(
        self,
        name: str,
        seq: int,
        next_ns: int,
        interval_ns: int | None,
        stop_ns: int | None,
        callback: TimerCallback,
    ) -> None:
        self.name = name
        self.seq = seq
        self.next_ns = next_ns
        self.interval_ns = interval_ns
        self.stop_ns = stop_ns
        self.callback = callback
        self.cancelled = False

    def following_ns(self) -> int | None:
        """The deadline after ``next_ns``, or None when this timer is finished."""
        if self.interval_ns is None:
            return None
        following = self.next_ns + self.interval_ns
        if self.stop_ns is not None and following > self.stop_ns:
            return None
        return following


class _Schedule:
    """Timers by name plus a heap of ``(deadline, seq, timer)``.

    Cancelled timers are dropped lazily when they reach the top of the heap.
    A timer keeps the sequence number it was set with for all its deadlines,
    so equal deadlines always resolve in set order.
    """

    def __init__(self) -> None:
        self._timers: dict[str, _Timer] = {}
        self._heap: list[tuple[int, int, _Timer]] = []
        self._seq = itertools.count()
        self._stale = 0

    def add(
        self,
        name: str,
        first_ns: int,
        interval_ns: int | None,
        stop_ns: int | None,
        callback: TimerCallback,
    ) -> None:
        self.check_free(name)
        timer = _Timer(name, next(self._seq), first_ns, interval_ns, stop_ns, callback)
        self._timers[name] = timer
        heapq.heappush(self._heap, (first_ns, timer.seq, timer))

    def check_free(self, name: str) -> None:
        if name in self._timers:
            raise Conflict(f"timer {name} is already set")

    def cancel(self, name: str) -> None:
        timer = self._timers.pop(name, None)
        if timer is None:
            raise NotFound("timer", name)
        self._discard(timer)

    def cancel_all(self) -> None:
        self._timers.clear()
        self._heap.clear()
        self._stale = 0

    def names(self) -> list[str]:
        return sorted(self._timers)

    def _discard(self, timer: _Timer) -> None:
        timer.cancelled = True
        self._stale += 1
        if self._stale >= _COMPACT_THRESHOLD and self._stale * 2 >= len(self._heap):
            self._heap = [entry for entry in self._heap if not entry[2].cancelled]
            heapq.heapify(self._heap)
            self._stale = 0

    def _drop_cancelled_top(self) -> None:
        while self._heap and self._heap[0][2].cancelled:
            heapq.heappop(self._heap)
            self._stale -= 1

    def next_deadline_ns(self) -> int | None:
        self._drop_cancelled_top()
        return self._heap[0][0] if self._heap else None

    def pop_due(self, limit_ns: int) -> tuple[int, _Timer] | None:
        """Take the earliest ``(deadline, timer)`` due at or before ``limit_ns``.

        A repeating timer is already back in the heap for its next deadline (so
        its callback may cancel it); a finished one is already unregistered (so
        its callback may reuse the name).
        """
        self._drop_cancelled_top()
        if not self._heap or self._heap[0][0] > limit_ns:
            return None
        deadline, _, timer = heapq.heappop(self._heap)
        following = timer.following_ns()
        if following is None:
            del self._timers[timer.name]
        else:
            timer.next_ns = following
            heapq.heappush(self._heap, (following, timer.seq, timer))
        return deadline, timer


class Clock(abc.ABC):
    """Source of the current time and owner of named timers and alarms."""

    def __init__(self) -> None:
        self._schedule = _Schedule()

    @abc.abstractmethod
    def timestamp_ns(self) -> int:
        """Now, in nanoseconds since the Unix epoch, UTC."""

    def utc_now(self) -> datetime:
        """Now as a tz-aware UTC datetime (microsecond precision, truncated)."""
        return _EPOCH + timedelta(0, 0, self.timestamp_ns() // 1000)  # (positional: faster)

    # -- scheduling -----------------------------------------------------------

    def set_timer(
        self,
        name: str,
        interval_ns: int,
        callback: TimerCallback,
        start_ns: int | None = None,
        stop_ns: int | None = None,
    ) -> None:
        """Fire ``callback`` at start+interval, start+2*interval, ... up to and including stop.

        ``start_ns`` defaults to now; without ``stop_ns`` the timer repeats until
        cancelled. A timer whose stop comes before its first deadline never fires
        and is not registered.

        Raises ValidationError for a non-positive interval or a stop before the
        start, Conflict if ``name`` is already in use.
        """
        _require_name(name)
        if _require_int("interval_ns", interval_ns) <= 0:
            raise ValidationError("interval_ns", "must be > 0", interval_ns)
        start = self.timestamp_ns() if start_ns is None else _require_int("start_ns", start_ns)
        if stop_ns is not None and _require_int("stop_ns", stop_ns) < start:
            raise ValidationError("stop_ns", "must be >= start_ns", stop_ns)
        first = start + interval_ns
        if stop_ns is not None and first > stop_ns:
            self._schedule.check_free(name)
            return
        self._schedule.add(name, first, interval_ns, stop_ns, callback)
        self._schedule_changed()

    def set_alarm(self, name: str, at_ns: int, callback: TimerCallback) -> None:
        """Fire ``callback`` once at ``at_ns`` (if already past, at the next advance or poll).

        Raises Conflict if ``name`` is already in use.
        """
        _require_name(name)
        self._schedule.add(name, _require_int("at_ns", at_ns), None, None, callback)
        self._schedule_changed()

    def cancel(self, name: str) -> None:
        """Cancel the timer or alarm called ``name``; NotFound if there is none."""
        self._schedule.cancel(name)

    def cancel_all(self) -> None:
        """Cancel every timer and alarm."""
        self._schedule.cancel_all()

    def timer_names(self) -> list[str]:
        """Names of the active timers and alarms, sorted."""
        return self._schedule.names()

    def next_deadline_ns(self) -> int | None:
        """The earliest pending deadline, or None when nothing is scheduled."""
        return self._schedule.next_deadline_ns()

    # -- hooks for subclasses -------------------------------------------------

    def _schedule_changed(self) -> None:
        """Called after a timer or alarm was added. Default: nothing."""
        return None

    @abc.abstractmethod
    def _time_for_delivery(self, deadline_ns: int) -> int:
        """Prepare the clock to deliver an event due at ``deadline_ns``; return the time."""

    def _fire_until(self, limit_ns: int) -> list[TimeEvent]:
        """Deliver, in (deadline, set order), everything due at or before ``limit_ns``.

        Timers set by callbacks are seen immediately: if due within the limit they
        fire in the same call. A callback that raises is logged; the rest still fire.
        """
        events: list[TimeEvent] = []
        while (due := self._schedule.pop_due(limit_ns)) is not None:
            deadline, timer = due
            fired_ns = self._time_for_delivery(deadline)
            event = TimeEvent(name=timer.name, scheduled_ns=deadline, fired_ns=fired_ns)
            events.append(event)
            try:
                timer.callback(event)
            except Exception:
                _log.exception(
                    "timer callback failed: name=%s scheduled_ns=%d fired_ns=%d",
                    event.name,
                    event.scheduled_ns,
                    event.fired_ns,
                )
        return events


def _require_name(name: Any) -> None:
    if not isinstance(name, str) or not name:
        raise ValidationError("name", "must be a non-empty string", name)


class SimulatedClock(Clock):
    """A clock that moves only when told: the clock of backtests and tests."""

    def __init__(self, start_ns: int = 0) -> None:
        super().__init__()
        self._now = _require_int("start_ns", start_ns)
        self._advancing = False
        self._utc_at = (self._now, to_datetime(self._now))  # the last utc_now, and when

    def utc_now(self) -> datetime:
        """The simulated now as a datetime (made once per moment: it is read often)."""
        now = self._now
        at, moment = self._utc_at
        if at != now:
            moment = _EPOCH + timedelta(0, 0, now // 1000)  # (to_datetime, inlined)
            self._utc_at = (now, moment)
        return moment

    def timestamp_ns(self) -> int:
        """The simulated now."""
        return self._now

    def set_time(self, ns: int) -> None:
        """Jump to ``ns`` without firing anything; refuses to go backwards."""
        self._check_move(ns)
        self._now = ns

    def advance_to(self, ns: int) -> list[TimeEvent]:
        """Move to ``ns``, firing everything due up to and including it.

        Before each callback the clock is set to the event's deadline (or left at
        now, if the deadline had already passed), so callbacks see the time they
        were due. Afterwards the clock stands at ``ns``. Returns the events fired.
        """
        heap = self._schedule._heap
        if (
            type(ns) is int  # (exactly int: a bool takes the checked path below)
            and ns >= self._now
            and not self._advancing
            and (not heap or heap[0][0] > ns)
        ):
            self._now = ns  # nothing due (a backtest's every bar): the move alone
            return []
        self._check_move(ns)
        self._advancing = True
        try:
            events = self._fire_until(ns)
        finally:
            self._advancing = False
        self._now = ns
        return events

    def advance_by(self, delta_ns: int) -> list[TimeEvent]:
        """Move forward by ``delta_ns`` (>= 0); see :meth:`advance_to`."""
        if _require_int("delta_ns", delta_ns) < 0:
            raise ValidationError("delta_ns", "must be >= 0", delta_ns)
        return self.advance_to(self._now + delta_ns)

    def _check_move(self, ns: int) -> None:
        _require_int("timestamp_ns", ns)
        if self._advancing:
            raise Conflict("clock: time cannot be moved from inside a timer callback")
        if ns < self._now:
            raise ValidationError("timestamp_ns", "must not go backwards", ns)

    def _time_for_delivery(self, deadline_ns: int) -> int:
        self._now = max(self._now, deadline_ns)
        return self._now


class LiveClock(Clock):
    """The wall clock; fires timers from :meth:`run` or on demand with :meth:`fire_due`."""

    def __init__(self) -> None:
        super().__init__()
        self._wakeup: asyncio.Event | None = None
        if type(self).timestamp_ns is LiveClock.timestamp_ns:
            # read on every order, several times: the builtins themselves, without a method
            # call (datetime.now reads the same wall clock and truncates to the microsecond)
            self.timestamp_ns = time.time_ns  # type: ignore[method-assign]
            if type(self).utc_now is Clock.utc_now:
                self.utc_now = partial(datetime.now, UTC)  # type: ignore[method-assign]

    def timestamp_ns(self) -> int:
        """Wall-clock now (``time.time_ns()``)."""
        return time.time_ns()

    def monotonic_ns(self) -> int:
        """A monotonic reading for measuring durations (not a timestamp)."""
        return time.monotonic_ns()

    def fire_due(self) -> list[TimeEvent]:
        """Fire everything due now, in (deadline, set order); returns the events fired."""
        return self._fire_until(self.timestamp_ns())

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Fire timers as they fall due until ``stop`` is set (forever without one).

        Sleeps until the next deadline, waking early when a timer or alarm is set.
        Only one ``run`` may be active per clock.
        """
        if self._wakeup is not None:
            raise Conflict("clock: run is already active")
        stop = asyncio.Event() if stop is None else stop
        wakeup = self._wakeup = asyncio.Event()
        try:
            while not stop.is_set():
                self.fire_due()
                if stop.is_set():
                    break
                wakeup.clear()
                deadline = self.next_deadline_ns()
                timeout = None if deadline is None else max(0, deadline - self.timestamp_ns()) / 1e9
                await _wait_any(stop, wakeup, timeout)
        finally:
            self._wakeup = None

    def _schedule_changed(self) -> None:
        if self._wakeup is not None:
            self._wakeup.set()

    def _time_for_delivery(self, deadline_ns: int) -> int:
        return self.timestamp_ns()


async def _wait_any(first: asyncio.Event, second: asyncio.Event, timeout: float | None) -> None:
    """Return when either event is set or ``timeout`` seconds have passed."""
    waiters = [asyncio.ensure_future(first.wait()), asyncio.ensure_future(second.wait())]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)
