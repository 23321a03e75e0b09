"""Tests for the retry policy: exponential delays, jitter, retry_after and decisions."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from omoitrade.core.errors import ValidationError
from omoitrade.execution.retry import (
    RetryDecision,
    RetryPolicy,
    RetrySchedule,
    retry_after_ns,
    retry_decision,
)
from omoitrade.model.enums import DeliveryFailure, OrderSide, OrderType
from omoitrade.model.identifiers import AccountId, ClientOrderId, InstrumentId
from omoitrade.model.venue import CancelOrder, CommandFailed, SubmitOrder

MS = 1_000_000
SEC = 1_000_000_000
RETRY, QUERY_FIRST, GIVE_UP = RetryDecision.RETRY, RetryDecision.QUERY_FIRST, RetryDecision.GIVE_UP

policies = st.builds(
    RetryPolicy,
    max_attempts=st.integers(1, 20),
    base_delay_ns=st.integers(1, SEC),
    multiplier=st.floats(1.0, 10.0),
    max_delay_ns=st.integers(SEC, 100 * SEC),
    jitter=st.floats(0.0, 1.0),
)


def failed(failure: DeliveryFailure, retry_after: float | None = None) -> CommandFailed:
    command = CancelOrder(AccountId("acc"), ClientOrderId("c-1"), InstrumentId.of("SIM", "X/Y"))
    return CommandFailed(datetime(2026, 1, 1, tzinfo=UTC), command, failure, "boom", retry_after)


def test_ceiling_grows_exponentially_to_the_cap() -> None:
    policy = RetryPolicy(base_delay_ns=100 * MS, multiplier=2.0, max_delay_ns=1 * SEC)
    ceilings = [policy.ceiling_ns(n) for n in range(1, 8)]
    assert ceilings == [100 * MS, 200 * MS, 400 * MS, 800 * MS, SEC, SEC, SEC]
    assert policy.ceiling_ns(10**9) == SEC  # no overflow for absurd attempts


def test_no_jitter_gives_the_ceiling_exactly() -> None:
    policy = RetryPolicy(base_delay_ns=100 * MS, multiplier=3.0, max_delay_ns=SEC, jitter=0.0)
    rng = random.Random(1)
    assert [policy.delay_ns(n, rng) for n in (1, 2, 3)] == [100 * MS, 300 * MS, 900 * MS]


def test_equal_jitter_stays_in_the_upper_half() -> None:
    policy = RetryPolicy(base_delay_ns=SEC, max_delay_ns=SEC, jitter=0.5)
    rng = random.Random(7)
    delays = [policy.delay_ns(1, rng) for _ in range(500)]
    assert all(SEC // 2 <= d <= SEC for d in delays)
    assert min(delays) < 0.55 * SEC and max(delays) > 0.95 * SEC  # really spread


def test_full_jitter_spans_zero_to_ceiling() -> None:
    policy = RetryPolicy(base_delay_ns=SEC, max_delay_ns=SEC, jitter=1.0)
    rng = random.Random(7)
    delays = [policy.delay_ns(1, rng) for _ in range(500)]
    assert all(0 <= d <= SEC for d in delays)
    assert min(delays) < 0.05 * SEC and max(delays) > 0.95 * SEC


@given(policy=policies, attempt=st.integers(1, 200), seed=st.integers(0, 2**32))
def test_delay_within_jitter_bounds_and_cap(policy: RetryPolicy, attempt: int, seed: int) -> None:
    ceiling = policy.ceiling_ns(attempt)
    assert policy.base_delay_ns <= ceiling <= policy.max_delay_ns
    delay = policy.delay_ns(attempt, random.Random(seed))
    assert 0 <= delay <= ceiling <= policy.max_delay_ns
    assert delay >= ceiling * (1 - policy.jitter) - 1  # rounding of the floor


@given(policy=policies, attempt=st.integers(1, 50))
def test_ceiling_never_shrinks(policy: RetryPolicy, attempt: int) -> None:
    assert policy.ceiling_ns(attempt + 1) >= policy.ceiling_ns(attempt)


@given(policy=policies, seed=st.integers(0, 2**32))
def test_same_seed_same_delays(policy: RetryPolicy, seed: int) -> None:
    first = list(RetrySchedule(policy, random.Random(seed)).delays_ns())
    second = list(RetrySchedule(policy, random.Random(seed)).delays_ns())
    assert first == second
    assert len(first) == policy.max_attempts - 1


def test_retry_after_wins_when_longer_and_is_not_capped() -> None:
    policy = RetryPolicy(base_delay_ns=100 * MS, max_delay_ns=SEC, jitter=0.0)
    rng = random.Random(0)
    assert policy.delay_ns(1, rng, retry_after=2.5) == 2_500 * MS
    assert policy.delay_ns(1, rng, retry_after=0.05) == 100 * MS  # shorter: ours wins
    assert policy.delay_ns(1, rng, retry_after=None) == 100 * MS
    assert policy.delay_ns(1, rng, retry_after=30) == 30 * SEC


def test_retry_after_conversion() -> None:
    assert retry_after_ns(None) == 0
    assert retry_after_ns(0) == 0
    assert retry_after_ns(1.5) == 1_500 * MS
    assert retry_after_ns(1e-10) == 1  # rounded up, never to zero
    for bad in (-1, float("nan"), float("inf"), True, Decimal(1)):
        with pytest.raises(ValidationError):
            retry_after_ns(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("failure", "attempt", "expected"),
    [
        (DeliveryFailure.TRANSIENT, 1, RETRY),
        (DeliveryFailure.TRANSIENT, 2, RETRY),
        (DeliveryFailure.TRANSIENT, 3, GIVE_UP),  # max_attempts = 3
        (DeliveryFailure.TRANSIENT, 4, GIVE_UP),
        (DeliveryFailure.AMBIGUOUS, 1, QUERY_FIRST),
        (DeliveryFailure.AMBIGUOUS, 3, QUERY_FIRST),  # always ask, even when out of attempts
        (DeliveryFailure.PERMANENT, 1, GIVE_UP),
    ],
)
def test_decisions(failure: DeliveryFailure, attempt: int, expected: RetryDecision) -> None:
    assert retry_decision(failure, attempt, RetryPolicy(max_attempts=3)) is expected


def test_default_policy_decision() -> None:
    assert retry_decision(DeliveryFailure.TRANSIENT, 1) is RETRY
    assert retry_decision(DeliveryFailure.TRANSIENT, 5) is GIVE_UP


@given(attempt=st.integers(1, 100), max_attempts=st.integers(1, 100))
def test_transient_retries_exactly_below_max_attempts(attempt: int, max_attempts: int) -> None:
    decision = retry_decision(DeliveryFailure.TRANSIENT, attempt, RetryPolicy(max_attempts))
    assert (decision is RETRY) == (attempt < max_attempts)
    assert retry_decision(DeliveryFailure.PERMANENT, attempt) is GIVE_UP


def test_schedule_after_failure() -> None:
    policy = RetryPolicy(max_attempts=2, base_delay_ns=100 * MS, max_delay_ns=SEC, jitter=0.0)
    schedule = RetrySchedule(policy, random.Random(3))
    step = schedule.after_failure(failed(DeliveryFailure.TRANSIENT, retry_after=0.5), 1)
    assert (step.decision, step.delay_ns, step.attempt) == (RETRY, 500 * MS, 1)
    assert step.reason == "TRANSIENT failure: boom"
    step = schedule.after_failure(failed(DeliveryFailure.TRANSIENT), 2)
    assert (step.decision, step.delay_ns) == (GIVE_UP, 0)
    assert step.reason == "gave up after 2 attempts: boom"
    step = schedule.after_failure(failed(DeliveryFailure.AMBIGUOUS), 1)
    assert (step.decision, step.delay_ns) == (QUERY_FIRST, 0)
    step = schedule.after_failure(failed(DeliveryFailure.PERMANENT), 1)
    assert (step.decision, step.reason) == (GIVE_UP, "permanent failure: boom")


def test_only_retries_draw_random_numbers() -> None:
    policy = RetryPolicy(max_attempts=10)
    a = RetrySchedule(policy, random.Random(11))
    b = RetrySchedule(policy, random.Random(11))
    a.after_failure(failed(DeliveryFailure.AMBIGUOUS), 1)
    a.after_failure(failed(DeliveryFailure.PERMANENT), 1)
    assert a.after_failure(failed(DeliveryFailure.TRANSIENT), 1) == b.after_failure(
        failed(DeliveryFailure.TRANSIENT), 1
    )


def test_submit_command_is_accepted_too() -> None:
    command = SubmitOrder(
        AccountId("acc"),
        ClientOrderId("c-2"),
        InstrumentId.of("SIM", "X/Y"),
        OrderSide.BUY,
        OrderType.MARKET,
        Decimal(1),
    )
    report = CommandFailed(
        datetime(2026, 1, 1, tzinfo=UTC), command, DeliveryFailure.AMBIGUOUS, "timeout"
    )
    step = RetrySchedule(RetryPolicy(), random.Random(0)).after_failure(report, 1)
    assert step.decision is QUERY_FIRST


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_attempts": 0},
        {"base_delay_ns": 0},
        {"base_delay_ns": 10, "max_delay_ns": 9},
        {"multiplier": 0.5},
        {"multiplier": float("inf")},
        {"jitter": -0.1},
        {"jitter": 1.5},
        {"jitter": float("nan")},
        {"max_attempts": True},
    ],
)
def test_policy_is_validated(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValidationError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("attempt", [0, -1, True])
def test_attempt_is_validated(attempt: int) -> None:
    with pytest.raises(ValidationError):
        retry_decision(DeliveryFailure.TRANSIENT, attempt)
    with pytest.raises(ValidationError):
        RetryPolicy().delay_ns(attempt, random.Random(0))
