"""Tests for the clocks: simulated (deterministic) and live (wall clock + asyncio)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omoitrade.core.clock import Clock, LiveClock, SimulatedClock, TimeEvent
from omoitrade.core.errors import Conflict, NotFound, ValidationError

MS = 1_000_000
SEC = 1_000_000_000


class Recorder:
    """A callback that remembers its events and the clock time it saw."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.events: list[TimeEvent] = []
        self.seen_ns: list[int] = []

    def __call__(self, event: TimeEvent) -> None:
        self.events.append(event)
        self.seen_ns.append(self.clock.timestamp_ns())


def noop(event: TimeEvent) -> None:
    pass


def names(events: list[TimeEvent]) -> list[str]:
    return [e.name for e in events]


# -- utc_now and TimeEvent ----------------------------------------------------


def test_utc_now_is_tz_aware_and_exact_to_the_microsecond() -> None:
    ns = 1_700_000_000_123_456_789
    clock = SimulatedClock(ns)

    now = clock.utc_now()

    assert now.tzinfo is not None
    assert now.utcoffset() == timedelta(0)
    assert now == datetime(2023, 11, 14, 22, 13, 20, 123456, tzinfo=UTC)
    assert now.microsecond == 123456


def test_simulated_utc_now_follows_every_move() -> None:
    clock = SimulatedClock(-1)
    assert clock.utc_now() == datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    first = clock.utc_now()
    assert clock.utc_now() is first  # one datetime per moment
    clock.advance_to(1_000)
    assert clock.utc_now() == datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC)
    clock.set_time(2_000_000)
    assert clock.utc_now() == datetime(1970, 1, 1, 0, 0, 0, 2000, tzinfo=UTC)
    clock.advance_by(1_000_000_000)
    assert clock.utc_now() == datetime(1970, 1, 1, 0, 0, 1, 2000, tzinfo=UTC)


def test_advancing_past_no_deadline_fires_nothing_and_keeps_later_timers() -> None:
    clock = SimulatedClock(0)
    fired: list[int] = []
    clock.set_alarm("later", 5_000, lambda e: fired.append(e.scheduled_ns))
    assert clock.advance_to(4_999) == []
    assert (clock.timestamp_ns(), fired) == (4_999, [])
    assert [e.name for e in clock.advance_to(5_000)] == ["later"]
    assert fired == [5_000]


def test_utc_now_truncates_sub_microsecond_nanoseconds() -> None:
    assert SimulatedClock(1_999).utc_now() == datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC)


@settings(max_examples=200, deadline=None)
@given(
    second=st.integers(min_value=0, max_value=4_102_444_800),  # up to 2100
    offset_ns=st.sampled_from([0, 1, 999, 1_000, 999_999_000, 999_999_999])
    | st.integers(min_value=0, max_value=999_999_999),
)
def test_utc_now_is_exact_around_second_boundaries(second: int, offset_ns: int) -> None:
    ns = second * 1_000_000_000 + offset_ns
    expected = datetime.fromtimestamp(second, UTC).replace(microsecond=offset_ns // 1_000)

    now = SimulatedClock(ns).utc_now()

    assert now == expected
    assert now.tzinfo is UTC and type(now) is datetime


def test_live_clock_utc_now_is_between_the_readings_around_it() -> None:
    clock = LiveClock()
    before = clock.timestamp_ns() // 1_000
    now = clock.utc_now()
    after = clock.timestamp_ns() // 1_000

    micros = (now - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    assert before <= micros <= after
    assert now.tzinfo is UTC


def test_time_event_is_frozen_with_slots() -> None:
    event = TimeEvent(name="x", scheduled_ns=1, fired_ns=2)

    with pytest.raises(dataclasses.FrozenInstanceError):
        event.name = "y"  # type: ignore[misc]
    assert not hasattr(event, "__dict__")


# -- simulated clock: moving time ----------------------------------------------


def test_simulated_clock_starts_at_given_time_and_moves_only_when_told() -> None:
    clock = SimulatedClock(42)
    assert clock.timestamp_ns() == 42

    clock.set_time(100)
    assert clock.timestamp_ns() == 100

    assert clock.advance_by(5) == []
    assert clock.timestamp_ns() == 105


def test_set_time_does_not_fire_timers() -> None:
    clock = SimulatedClock(0)
    rec = Recorder(clock)
    clock.set_alarm("a", 10, rec)

    clock.set_time(50)

    assert rec.events == []
    assert clock.timer_names() == ["a"]


@pytest.mark.parametrize("move", ["set_time", "advance_to"])
def test_going_backwards_raises_validation_error(move: str) -> None:
    clock = SimulatedClock(100)

    with pytest.raises(ValidationError) as info:
        getattr(clock, move)(99)

    assert info.value.field == "timestamp_ns"
    assert info.value.rule == "must not go backwards"
    assert clock.timestamp_ns() == 100


def test_advance_by_negative_delta_raises() -> None:
    clock = SimulatedClock(100)

    with pytest.raises(ValidationError) as info:
        clock.advance_by(-1)

    assert info.value.field == "delta_ns"


# -- simulated clock: timers and alarms ----------------------------------------


def test_timer_fires_at_each_interval_up_to_and_including_stop() -> None:
    clock = SimulatedClock(0)
    rec = Recorder(clock)
    clock.set_timer("t", 10, rec, start_ns=5, stop_ns=45)

    events = clock.advance_to(1_000)

    assert [e.scheduled_ns for e in events] == [15, 25, 35, 45]
    assert events == rec.events
    assert clock.timer_names() == []
    assert clock.timestamp_ns() == 1_000


def test_timer_fires_when_stop_is_exactly_a_deadline_and_start_defaults_to_now() -> None:
    clock = SimulatedClock(100)
    clock.set_timer("t", 10, noop, stop_ns=130)

    assert [e.scheduled_ns for e in clock.advance_to(200)] == [110, 120, 130]


def test_timer_without_stop_repeats_until_cancelled() -> None:
    clock = SimulatedClock(0)
    clock.set_timer("t", 10, noop)

    assert [e.scheduled_ns for e in clock.advance_to(35)] == [10, 20, 30]
    assert clock.next_deadline_ns() == 40

    clock.cancel("t")
    assert clock.advance_to(100) == []


def test_timer_fires_only_deadlines_within_each_advance() -> None:
    clock = SimulatedClock(0)
    clock.set_timer("t", 10, noop)

    assert [e.scheduled_ns for e in clock.advance_to(19)] == [10]
    assert [e.scheduled_ns for e in clock.advance_to(20)] == [20]
    assert clock.advance_to(29) == []


def test_timer_whose_stop_precedes_first_deadline_never_fires() -> None:
    clock = SimulatedClock(0)
    clock.set_timer("t", 10, noop, stop_ns=9)

    assert clock.advance_to(100) == []
    assert clock.timer_names() == []


def test_timer_stop_before_start_raises() -> None:
    clock = SimulatedClock(0)

    with pytest.raises(ValidationError) as info:
        clock.set_timer("t", 10, noop, start_ns=50, stop_ns=40)

    assert info.value.field == "stop_ns"


def test_alarm_fires_once_at_its_time_with_clock_set_to_deadline() -> None:
    clock = SimulatedClock(0)
    rec = Recorder(clock)
    clock.set_alarm("a", 30, rec)

    events = clock.advance_to(100)

    assert events == [TimeEvent(name="a", scheduled_ns=30, fired_ns=30)]
    assert rec.seen_ns == [30]
    assert clock.advance_to(200) == []
    assert clock.timer_names() == []


def test_callbacks_see_clock_equal_to_their_deadline() -> None:
    clock = SimulatedClock(0)
    rec = Recorder(clock)
    clock.set_timer("t", 7, rec, stop_ns=30)
    clock.set_alarm("a", 12, rec)

    clock.advance_to(50)

    assert rec.seen_ns == [7, 12, 14, 21, 28]
    assert rec.seen_ns == [e.scheduled_ns for e in rec.events]
    assert all(e.fired_ns == e.scheduled_ns for e in rec.events)
    assert clock.timestamp_ns() == 50


def test_alarm_in_the_past_fires_at_next_advance_with_clock_unchanged() -> None:
    clock = SimulatedClock(100)
    rec = Recorder(clock)
    clock.set_alarm("late", 40, rec)

    events = clock.advance_to(100)

    assert events == [TimeEvent(name="late", scheduled_ns=40, fired_ns=100)]
    assert rec.seen_ns == [100]


def test_equal_deadlines_fire_in_the_order_they_were_set() -> None:
    clock = SimulatedClock(0)
    for name in ["c", "a", "b"]:
        clock.set_alarm(name, 10, noop)
    clock.set_timer("t", 5, noop, stop_ns=10)

    assert [(e.name, e.scheduled_ns) for e in clock.advance_to(10)] == [
        ("t", 5),
        ("c", 10),
        ("a", 10),
        ("b", 10),
        ("t", 10),
    ]


def test_repeating_timers_keep_set_order_on_every_shared_deadline() -> None:
    clock = SimulatedClock(0)
    clock.set_timer("slow", 3, noop)
    clock.set_timer("fast", 2, noop)

    fired = [(e.scheduled_ns, e.name) for e in clock.advance_to(12)]

    assert fired == [
        (2, "fast"),
        (3, "slow"),
        (4, "fast"),
        (6, "slow"),
        (6, "fast"),
        (8, "fast"),
        (9, "slow"),
        (10, "fast"),
        (12, "slow"),
        (12, "fast"),
    ]


def test_callback_setting_an_alarm_within_the_window_fires_in_the_same_advance() -> None:
    clock = SimulatedClock(0)
    rec = Recorder(clock)

    def schedule_follow_up(event: TimeEvent) -> None:
        clock.set_alarm("follow-up", event.scheduled_ns + 5, rec)
        clock.set_alarm("beyond", 1_000, rec)

    clock.set_alarm("first", 10, schedule_follow_up)
    clock.set_alarm("later", 20, rec)

    events = clock.advance_to(100)

    assert [(e.name, e.scheduled_ns) for e in events] == [
        ("first", 10),
        ("follow-up", 15),
        ("later", 20),
    ]
    assert rec.seen_ns == [15, 20]
    assert clock.timer_names() == ["beyond"]


def test_callback_setting_a_timer_fires_it_within_the_same_advance() -> None:
    clock = SimulatedClock(0)

    def start_timer(event: TimeEvent) -> None:
        clock.set_timer("t", 10, noop)  # starts at the callback's now: 50

    clock.set_alarm("go", 50, start_timer)

    events = clock.advance_to(75)

    assert [(e.name, e.scheduled_ns) for e in events] == [("go", 50), ("t", 60), ("t", 70)]


def test_callback_cancelling_another_timer_prevents_it_firing() -> None:
    clock = SimulatedClock(0)
    clock.set_alarm("canceller", 10, lambda e: clock.cancel("victim"))
    clock.set_alarm("victim", 20, noop)

    assert names(clock.advance_to(100)) == ["canceller"]


def test_repeating_timer_can_cancel_itself_from_its_callback() -> None:
    clock = SimulatedClock(0)
    clock.set_timer("t", 10, lambda e: clock.cancel("t") if e.scheduled_ns >= 30 else None)

    assert [e.scheduled_ns for e in clock.advance_to(100)] == [10, 20, 30]
    assert clock.timer_names() == []


def test_alarm_callback_may_reuse_its_own_name() -> None:
    clock = SimulatedClock(0)

    def rearm(event: TimeEvent) -> None:
        if event.scheduled_ns < 30:
            clock.set_alarm("a", event.scheduled_ns + 10, rearm)

    clock.set_alarm("a", 10, rearm)

    assert [e.scheduled_ns for e in clock.advance_to(100)] == [10, 20, 30]


def test_moving_time_from_inside_a_callback_is_refused() -> None:
    clock = SimulatedClock(0)
    errors: list[Exception] = []

    def meddle(event: TimeEvent) -> None:
        try:
            clock.advance_to(50)
        except Conflict as exc:
            errors.append(exc)

    clock.set_alarm("a", 10, meddle)
    clock.advance_to(20)

    assert len(errors) == 1
    assert clock.timestamp_ns() == 20


# -- registry: cancel, names, validation ----------------------------------------


def test_cancel_removes_timer_and_it_does_not_fire() -> None:
    clock = SimulatedClock(0)
    clock.set_alarm("a", 10, noop)
    clock.set_timer("t", 5, noop)

    clock.cancel("a")

    assert clock.timer_names() == ["t"]
    assert names(clock.advance_to(10)) == ["t", "t"]


def test_cancelled_name_can_be_set_again() -> None:
    clock = SimulatedClock(0)
    clock.set_alarm("a", 10, noop)
    clock.cancel("a")
    clock.set_alarm("a", 20, noop)

    assert [e.scheduled_ns for e in clock.advance_to(100)] == [20]


def test_cancel_unknown_name_raises_not_found() -> None:
    clock = SimulatedClock(0)

    with pytest.raises(NotFound) as info:
        clock.cancel("ghost")

    assert info.value.kind == "timer"
    assert info.value.key == "ghost"


def test_cancel_all_clears_everything() -> None:
    clock = SimulatedClock(0)
    clock.set_alarm("a", 10, noop)
    clock.set_timer("t", 5, noop)

    clock.cancel_all()

    assert clock.timer_names() == []
    assert clock.next_deadline_ns() is None
    assert clock.advance_to(100) == []


def test_timer_names_are_sorted_and_next_deadline_skips_cancelled() -> None:
    clock = SimulatedClock(0)
    clock.set_alarm("b", 10, noop)
    clock.set_alarm("a", 30, noop)
    clock.set_timer("c", 20, noop)

    assert clock.timer_names() == ["a", "b", "c"]
    assert clock.next_deadline_ns() == 10
    clock.cancel("b")
    assert clock.next_deadline_ns() == 20


def test_many_cancellations_leave_the_schedule_consistent() -> None:
    clock = SimulatedClock(0)
    for i in range(500):
        clock.set_alarm(f"a{i}", 1_000 + i, noop)
    for i in range(0, 500, 2):
        clock.cancel(f"a{i}")

    events = clock.advance_to(10_000)

    assert [e.name for e in events] == [f"a{i}" for i in range(1, 500, 2)]


@pytest.mark.parametrize("kind", ["timer", "alarm"])
def test_duplicate_name_raises_conflict(kind: str) -> None:
    clock = SimulatedClock(0)
    clock.set_timer("x", 10, noop)

    with pytest.raises(Conflict):
        if kind == "timer":
            clock.set_timer("x", 5, noop)
        else:
            clock.set_alarm("x", 5, noop)


def test_duplicate_name_raises_conflict_even_for_a_timer_that_would_never_fire() -> None:
    clock = SimulatedClock(0)
    clock.set_alarm("x", 10, noop)

    with pytest.raises(Conflict):
        clock.set_timer("x", 10, noop, stop_ns=5)


@pytest.mark.parametrize("interval", [0, -5])
def test_non_positive_interval_raises_validation_error_naming_the_field(interval: int) -> None:
    clock = SimulatedClock(0)

    with pytest.raises(ValidationError) as info:
        clock.set_timer("t", interval, noop)

    assert info.value.field == "interval_ns"
    assert info.value.rule == "must be > 0"
    assert clock.timer_names() == []


def test_non_integer_timestamps_are_refused() -> None:
    clock = SimulatedClock(0)

    with pytest.raises(ValidationError) as info:
        clock.set_alarm("a", 1.5, noop)  # type: ignore[arg-type]

    assert info.value.field == "at_ns"


def test_empty_name_is_refused() -> None:
    with pytest.raises(ValidationError) as info:
        SimulatedClock(0).set_alarm("", 1, noop)

    assert info.value.field == "name"


# -- isolation and determinism -------------------------------------------------


def test_failing_callback_is_logged_and_isolated(caplog: pytest.LogCaptureFixture) -> None:
    clock = SimulatedClock(0)
    rec = Recorder(clock)

    def boom(event: TimeEvent) -> None:
        raise RuntimeError("boom")

    clock.set_timer("bad", 10, boom)
    clock.set_alarm("good", 10, rec)

    with caplog.at_level(logging.ERROR, logger="omoitrade.core.clock"):
        events = clock.advance_to(25)

    assert [(e.name, e.scheduled_ns) for e in events] == [
        ("bad", 10),
        ("good", 10),
        ("bad", 20),
    ]
    assert names(rec.events) == ["good"]
    assert clock.timer_names() == ["bad"]
    failures = [r for r in caplog.records if r.name == "omoitrade.core.clock"]
    assert len(failures) == 2
    assert all(r.levelno == logging.ERROR and r.exc_info for r in failures)
    assert "bad" in failures[0].getMessage()


def _scripted_run() -> list[TimeEvent]:
    clock = SimulatedClock(1_000)
    log: list[TimeEvent] = []

    def on_tick(event: TimeEvent) -> None:
        log.append(event)
        if event.scheduled_ns % 3 == 0:
            clock.set_alarm(f"echo-{event.scheduled_ns}", event.scheduled_ns + 4, log.append)

    clock.set_timer("tick", 7, on_tick, stop_ns=1_200)
    clock.set_timer("tock", 11, log.append)
    clock.set_alarm("once", 1_050, log.append)
    for target in [1_010, 1_010, 1_077, 1_150, 1_300]:
        log.extend(clock.advance_to(target))
    return log


def test_two_identical_simulated_runs_produce_identical_events() -> None:
    first = _scripted_run()
    second = _scripted_run()

    assert first == second
    assert len(first) > 20


# -- property: simulated clock matches a reference enumeration -------------------

START_NS = 1_000

timer_spec = st.tuples(
    st.integers(0, 3_000),  # start
    st.integers(50, 1_000),  # interval
    st.none() | st.integers(0, 6_000),  # stop offset from start
)
alarm_spec = st.integers(0, 6_000)
item_spec = st.one_of(
    st.tuples(st.just("timer"), timer_spec),
    st.tuples(st.just("alarm"), alarm_spec),
)


@settings(max_examples=200, deadline=None)
@given(
    items=st.lists(item_spec, max_size=8),
    steps=st.lists(st.integers(0, 2_000), min_size=1, max_size=8),
)
def test_simulated_clock_fires_exactly_the_enumerated_deadlines_in_order(
    items: list[tuple[str, object]], steps: list[int]
) -> None:
    clock = SimulatedClock(START_NS)
    targets: list[int] = []
    position = START_NS
    for step in steps:
        position += step
        targets.append(position)
    horizon = targets[-1]

    # Reference: every (deadline, set order, name) up to the horizon.
    expected_due: list[tuple[int, int, str]] = []
    for order, (kind, spec) in enumerate(items):
        name = f"{kind}{order}"
        if kind == "timer":
            start, interval, stop_offset = spec  # type: ignore[misc]
            stop = None if stop_offset is None else start + stop_offset
            clock.set_timer(name, interval, noop, start_ns=start, stop_ns=stop)
            deadline = start + interval
            limit = horizon if stop is None else min(stop, horizon)
            while deadline <= limit:
                expected_due.append((deadline, order, name))
                deadline += interval
        else:
            clock.set_alarm(name, spec, noop)  # type: ignore[arg-type]
            if spec <= horizon:  # type: ignore[operator]
                expected_due.append((spec, order, name))  # type: ignore[arg-type]
    expected_due.sort()

    expected: list[list[TimeEvent]] = []
    before = START_NS
    remaining = expected_due
    for target in targets:
        batch = [d for d in remaining if d[0] <= target]
        remaining = remaining[len(batch) :]
        expected.append(
            [TimeEvent(name=n, scheduled_ns=d, fired_ns=max(d, before)) for d, _, n in batch]
        )
        before = target

    fired = [clock.advance_to(target) for target in targets]

    for target, batch in zip(targets, fired, strict=True):
        deadlines = [e.scheduled_ns for e in batch]
        assert deadlines == sorted(deadlines)
        assert all(d <= target for d in deadlines)
        assert all(e.fired_ns >= e.scheduled_ns for e in batch)
    assert fired == expected
    assert clock.timestamp_ns() == horizon


# -- live clock ---------------------------------------------------------------


def test_live_timestamp_is_close_to_wall_clock() -> None:
    clock = LiveClock()

    before = time.time_ns()
    now = clock.timestamp_ns()
    after = time.time_ns()

    assert before <= now <= after
    assert abs(clock.utc_now() - datetime.now(UTC)) < timedelta(seconds=1)


def test_live_monotonic_ns_does_not_go_backwards() -> None:
    clock = LiveClock()
    first = clock.monotonic_ns()
    assert clock.monotonic_ns() >= first


def test_live_fire_due_fires_past_alarms_and_keeps_future_ones() -> None:
    clock = LiveClock()
    now = clock.timestamp_ns()
    clock.set_alarm("past", now - SEC, noop)
    clock.set_alarm("future", now + 3_600 * SEC, noop)

    events = clock.fire_due()

    assert names(events) == ["past"]
    assert events[0].fired_ns >= now
    assert clock.timer_names() == ["future"]


def test_live_alarm_fires_from_run_and_callback_stops_it() -> None:
    clock = LiveClock()
    fired: list[TimeEvent] = []

    async def main() -> None:
        stop = asyncio.Event()

        def on_alarm(event: TimeEvent) -> None:
            fired.append(event)
            stop.set()

        clock.set_alarm("soon", clock.timestamp_ns() + 20 * MS, on_alarm)
        await asyncio.wait_for(clock.run(stop), timeout=2)

    asyncio.run(main())

    assert len(fired) == 1
    assert fired[0].name == "soon"
    assert fired[0].fired_ns >= fired[0].scheduled_ns


def test_live_run_wakes_for_an_alarm_set_while_it_sleeps() -> None:
    clock = LiveClock()
    fired: list[TimeEvent] = []

    async def main() -> None:
        stop = asyncio.Event()

        def on_alarm(event: TimeEvent) -> None:
            fired.append(event)
            stop.set()

        runner = asyncio.create_task(clock.run(stop))
        await asyncio.sleep(0.01)  # run is now sleeping with nothing scheduled
        clock.set_alarm("late-comer", clock.timestamp_ns() + 20 * MS, on_alarm)
        await asyncio.wait_for(runner, timeout=2)

    asyncio.run(main())

    assert names(fired) == ["late-comer"]
    assert fired[0].fired_ns >= fired[0].scheduled_ns


def test_live_run_fires_repeating_timer_and_returns_when_stop_is_set() -> None:
    clock = LiveClock()
    fired: list[TimeEvent] = []

    async def main() -> None:
        stop = asyncio.Event()

        def on_tick(event: TimeEvent) -> None:
            fired.append(event)
            if len(fired) == 3:
                stop.set()

        clock.set_timer("tick", 5 * MS, on_tick)
        await asyncio.wait_for(clock.run(stop), timeout=2)

    asyncio.run(main())

    assert len(fired) == 3
    deadlines = [e.scheduled_ns for e in fired]
    assert deadlines == sorted(deadlines)
    assert all(e.fired_ns >= e.scheduled_ns for e in fired)


def test_live_run_refuses_a_second_concurrent_run() -> None:
    clock = LiveClock()

    async def main() -> None:
        stop = asyncio.Event()
        runner = asyncio.create_task(clock.run(stop))
        await asyncio.sleep(0)
        with pytest.raises(Conflict):
            await clock.run(stop)
        stop.set()
        await asyncio.wait_for(runner, timeout=2)

    asyncio.run(main())
