"""Tests for the circuit breaker: transitions, cool-down growth, callbacks and invariants."""

from __future__ import annotations

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from omoitrade.core.circuit_breaker import BreakerConfig, BreakerState, CircuitBreaker
from omoitrade.core.clock import SimulatedClock
from omoitrade.core.errors import ValidationError

SEC = 1_000_000_000
CLOSED, OPEN, HALF_OPEN = BreakerState.CLOSED, BreakerState.OPEN, BreakerState.HALF_OPEN


def make(
    threshold: int = 3,
    cool_down: int = 10 * SEC,
    multiplier: int = 2,
    max_cool_down: int = 35 * SEC,
    trials: int = 1,
) -> tuple[SimulatedClock, CircuitBreaker, list[tuple[BreakerState, BreakerState, str]]]:
    clock = SimulatedClock(1_000 * SEC)
    config = BreakerConfig(threshold, cool_down, multiplier, max_cool_down, trials)
    breaker = CircuitBreaker("test", clock, config)
    changes: list[tuple[BreakerState, BreakerState, str]] = []
    breaker.on_change(lambda old, new, reason: changes.append((old, new, reason)))
    return clock, breaker, changes


def test_starts_closed_and_allows() -> None:
    _, breaker, changes = make()
    assert breaker.state is CLOSED
    assert all(breaker.allow() for _ in range(100))
    assert changes == []


def test_opens_after_threshold_consecutive_failures() -> None:
    _, breaker, changes = make(threshold=3)
    breaker.record_failure("timeout")
    breaker.record_failure("timeout")
    assert breaker.state is CLOSED
    assert breaker.consecutive_failures == 2
    breaker.record_failure("timeout")
    assert breaker.state is OPEN
    assert not breaker.allow()
    assert changes == [(CLOSED, OPEN, "3 consecutive failures: timeout")]


def test_success_resets_the_failure_count() -> None:
    _, breaker, _ = make(threshold=3)
    for _ in range(10):
        breaker.record_failure()
        breaker.record_failure()
        breaker.record_success()
    assert breaker.state is CLOSED
    assert breaker.consecutive_failures == 0


def test_half_open_exactly_when_cool_down_is_over() -> None:
    clock, breaker, changes = make(threshold=1, cool_down=10 * SEC)
    breaker.record_failure()
    assert breaker.half_open_at_ns == 1_010 * SEC
    clock.advance_to(1_010 * SEC - 1)
    assert breaker.state is OPEN
    assert not breaker.allow()
    clock.advance_to(1_010 * SEC)
    assert breaker.state is HALF_OPEN
    assert breaker.half_open_at_ns is None
    assert changes[-1] == (OPEN, HALF_OPEN, f"cool-down of {10 * SEC} ns over")


def test_half_open_allows_only_the_trial_calls() -> None:
    clock, breaker, _ = make(threshold=1, trials=2)
    breaker.record_failure()
    clock.advance_by(10 * SEC)
    assert breaker.trials_available == 2
    assert breaker.allow()
    assert breaker.allow()
    assert not breaker.allow()
    assert breaker.trials_available == 0
    assert breaker.state is HALF_OPEN


def test_trial_success_closes_and_resets_cool_down() -> None:
    clock, breaker, changes = make(threshold=1)
    breaker.record_failure()
    clock.advance_by(10 * SEC)
    assert breaker.allow()
    breaker.record_failure()  # re-opens with 20 s
    clock.advance_by(20 * SEC)
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state is CLOSED
    assert breaker.cool_down_ns == 10 * SEC
    assert [(old, new) for old, new, _ in changes] == [
        (CLOSED, OPEN),
        (OPEN, HALF_OPEN),
        (HALF_OPEN, OPEN),
        (OPEN, HALF_OPEN),
        (HALF_OPEN, CLOSED),
    ]
    assert changes[-1][2] == "trial call succeeded"


def test_trial_failure_grows_cool_down_up_to_the_cap() -> None:
    clock, breaker, _ = make(threshold=1, cool_down=10 * SEC, multiplier=2, max_cool_down=35 * SEC)
    breaker.record_failure()
    seen = []
    for _ in range(4):
        seen.append(breaker.cool_down_ns)
        clock.advance_by(breaker.cool_down_ns - 1)
        assert breaker.state is OPEN
        clock.advance_by(1)
        assert breaker.allow()
        breaker.record_failure("still down")
    assert seen == [10 * SEC, 20 * SEC, 35 * SEC, 35 * SEC]
    assert breaker.state is OPEN


def test_outcomes_while_open_change_nothing() -> None:
    clock, breaker, changes = make(threshold=1)
    breaker.record_failure()
    opened_until = breaker.half_open_at_ns
    clock.advance_by(5 * SEC)
    breaker.record_success()
    breaker.record_failure()
    assert breaker.state is OPEN
    assert breaker.half_open_at_ns == opened_until
    assert len(changes) == 1


def test_trip_and_reset() -> None:
    clock, breaker, changes = make()
    breaker.trip("operator")
    assert breaker.state is OPEN
    assert changes == [(CLOSED, OPEN, "tripped: operator")]
    clock.advance_by(3 * SEC)
    breaker.trip("again")  # restarts the cool-down, no new change reported
    assert breaker.half_open_at_ns == clock.timestamp_ns() + 10 * SEC
    assert len(changes) == 1
    breaker.reset("operator")
    assert breaker.state is CLOSED
    assert changes[-1] == (OPEN, CLOSED, "operator")
    breaker.reset()
    assert len(changes) == 2


def test_failing_callback_is_logged_and_others_still_run(caplog: pytest.LogCaptureFixture) -> None:
    _, breaker, changes = make(threshold=1)

    def boom(old: BreakerState, new: BreakerState, reason: str) -> None:
        raise RuntimeError("boom")

    breaker.on_change(boom)
    seen: list[BreakerState] = []
    breaker.on_change(lambda old, new, reason: seen.append(new))
    breaker.record_failure()
    assert seen == [OPEN]
    assert len(changes) == 1
    assert "change callback failed" in caplog.text


@pytest.mark.parametrize(
    "kwargs",
    [
        {"failure_threshold": 0},
        {"cool_down_ns": 0},
        {"cool_down_multiplier": 0},
        {"trial_calls": 0},
        {"failure_threshold": True},
        {"cool_down_ns": 10, "max_cool_down_ns": 9},
    ],
)
def test_config_is_validated(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValidationError):
        BreakerConfig(**kwargs)


def test_name_is_required() -> None:
    with pytest.raises(ValidationError):
        CircuitBreaker("", SimulatedClock())


class BreakerMachine(RuleBasedStateMachine):
    """Random calls, outcomes and time steps against a small reference model."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = SimulatedClock(0)
        self.config = BreakerConfig(3, 10, 3, 100, 2)
        self.breaker = CircuitBreaker("prop", self.clock, self.config)
        self.changes: list[tuple[BreakerState, BreakerState, str]] = []
        self.breaker.on_change(lambda o, n, r: self.changes.append((o, n, r)))
        self.in_flight = 0  # allowed calls without an outcome yet
        self.allowed_in_half_open = 0
        self.opened_at: int | None = None

    @rule(step=st.integers(0, 40))
    def advance(self, step: int) -> None:
        self.clock.advance_by(step)

    @rule()
    def call(self) -> None:
        before = self.breaker.state
        allowed = self.breaker.allow()
        if before is CLOSED:
            assert allowed
        elif before is OPEN:
            assert not allowed
        if allowed:
            self.in_flight += 1
            if before is HALF_OPEN:
                self.allowed_in_half_open += 1

    @precondition(lambda self: self.in_flight > 0)
    @rule(ok=st.booleans())
    def outcome(self, ok: bool) -> None:
        self.in_flight -= 1
        before = self.breaker.state
        failures = self.breaker.consecutive_failures
        if ok:
            self.breaker.record_success()
        else:
            self.breaker.record_failure("x")
        after = self.breaker.state
        if before is HALF_OPEN:
            assert after is (CLOSED if ok else OPEN)
        elif before is CLOSED:
            opens = not ok and failures + 1 >= self.config.failure_threshold
            assert after is (OPEN if opens else CLOSED)
        else:
            assert after is OPEN

    @invariant()
    def consistent(self) -> None:
        state = self.breaker.state
        cool_down = self.breaker.cool_down_ns
        assert self.config.cool_down_ns <= cool_down <= self.config.max_cool_down_ns
        assert self.breaker.consecutive_failures < self.config.failure_threshold
        if state is OPEN:
            due = self.breaker.half_open_at_ns
            assert due is not None and self.clock.timestamp_ns() < due
        else:
            assert self.breaker.half_open_at_ns is None
        if state is CLOSED:
            assert cool_down == self.config.cool_down_ns
        # The reported changes chain: each starts where the last ended, never a self-loop.
        current = CLOSED
        for old, new, _ in self.changes:
            assert old is current and new is not old
            assert (old, new) in {
                (CLOSED, OPEN),
                (OPEN, HALF_OPEN),
                (HALF_OPEN, OPEN),
                (HALF_OPEN, CLOSED),
            }
            current = new
        assert current is state
        # A HALF_OPEN period never lets more than trial_calls through.
        if self.changes and self.changes[-1][1] is not HALF_OPEN:
            self.allowed_in_half_open = 0
        assert self.allowed_in_half_open <= self.config.trial_calls
        assert self.breaker.trials_available >= 0


BreakerMachine.TestCase.settings = settings(max_examples=200, stateful_step_count=60, deadline=None)
TestBreakerMachine = BreakerMachine.TestCase
