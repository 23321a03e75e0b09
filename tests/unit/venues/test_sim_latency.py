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
