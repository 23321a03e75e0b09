"""Latency through the clock: zero delay runs at once; delays run at their deadlines, in order."""

from __future__ import annotations

import pytest

from omoitrade.core.clock import SimulatedClock
from omoitrade.core.errors import ValidationError
from omoitrade.venues.sim.latency import DelayLine, LatencyModel


def test_zero_delay_runs_at_once() -> None:
    ran: list[str] = []
    DelayLine(SimulatedClock(0), "x").after(0, lambda: ran.append("now"))
    assert ran == ["now"]


def test_delayed_actions_run_at_their_deadlines_in_order() -> None:
    clock = SimulatedClock(1_000)
    line = DelayLine(clock, "ack")
    ran: list[tuple[str, int]] = []
    line.after(500, lambda: ran.append(("b", clock.timestamp_ns())))
    line.after(200, lambda: ran.append(("a", clock.timestamp_ns())))
    line.after(500, lambda: ran.append(("c", clock.timestamp_ns())))
    clock.advance_to(1_300)
    assert ran == [("a", 1_200)]
    clock.advance_to(2_000)
    assert ran == [("a", 1_200), ("b", 1_500), ("c", 1_500)]


def test_negative_latency_is_refused() -> None:
    with pytest.raises(ValidationError, match="fill_ns: must not be negative"):
        LatencyModel(fill_ns=-1)


def test_call_with_zero_delay_calls_at_once_with_its_argument() -> None:
    seen: list[str] = []
    DelayLine(SimulatedClock(0), "x").call(0, seen.append, "now")
    assert seen == ["now"]


def test_call_with_a_delay_shares_the_lines_alarms_and_order() -> None:
    clock = SimulatedClock(1_000)
    line = DelayLine(clock, "ack")
    seen: list[tuple[str, int]] = []
    line.after(300, lambda: seen.append(("after", clock.timestamp_ns())))
    line.call(300, lambda tag: seen.append((tag, clock.timestamp_ns())), "call")
    assert clock.timer_names() == ["ack-1", "ack-2"]  # one sequence of alarm names
    clock.advance_to(1_300)
    assert seen == [("after", 1_300), ("call", 1_300)]
