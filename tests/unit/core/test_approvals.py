"""Approval requests: decided by a person, by a policy, or by expiry; recorded each time."""

from __future__ import annotations

import pytest

from omoitrade.core.approvals import (
    EXPIRY_ACTOR,
    ApprovalDesk,
    ApprovalRequest,
    ApprovalStatus,
    NamedPolicy,
)
from omoitrade.core.clock import SimulatedClock
from omoitrade.core.errors import IllegalTransition, NotFound, ValidationError
from omoitrade.core.ids import IdGenerator

START_NS = 1_700_000_000_000_000_000
SECOND = 1_000_000_000


def make_desk(*policies: NamedPolicy) -> tuple[ApprovalDesk, SimulatedClock, list[ApprovalRequest]]:
    clock = SimulatedClock(START_NS)
    stored: list[ApprovalRequest] = []
    desk = ApprovalDesk(
        clock, IdGenerator(clock.timestamp_ns, seed=1), sink=stored.append, policies=list(policies)
    )
    return desk, clock, stored


def file(
    desk: ApprovalDesk, decided: list[ApprovalRequest], **overrides: object
) -> ApprovalRequest:
    values: dict[str, object] = {
        "gate": "high_value",
        "scope": "p1",
        "subject_type": "signal",
        "subject_id": "s1",
        "requested_action": "execute BUY 2 BTC",
        "facts": {"notional": "84000", "threshold": "50000"},
        "requested_by": "strategy:sma",
        "ttl_ns": 60 * SECOND,
        "on_decided": decided.append,
    }
    return desk.request(**(values | overrides))  # type: ignore[arg-type]


def test_a_request_waits_then_a_person_approves_it_with_a_reason() -> None:
    desk, clock, stored = make_desk()
    decided: list[ApprovalRequest] = []
    request = file(desk, decided)
    assert request.status is ApprovalStatus.PENDING
    assert desk.pending() == [request] and decided == []
    clock.advance_by(5 * SECOND)
    desk.approve(request.id, "risk@desk", "within mandate")
    assert request.status is ApprovalStatus.APPROVED
    assert (request.decided_by, request.decision_reason) == ("risk@desk", "within mandate")
    assert request.decided_at == clock.utc_now() and not request.auto
    assert decided == [request] and desk.pending() == []
    assert [r.status for r in stored] == [ApprovalStatus.APPROVED] * 2  # the same object, twice
    assert clock.timer_names() == []  # its expiry alarm went with it


def test_a_rejection_names_who_and_why_and_cannot_be_reversed() -> None:
    desk, _, _ = make_desk()
    decided: list[ApprovalRequest] = []
    request = file(desk, decided)
    desk.reject(request.id, "risk@desk", "too large for today")
    assert request.status is ApprovalStatus.REJECTED
    with pytest.raises(NotFound):
        desk.approve(request.id, "someone", "changed my mind")
    with pytest.raises(IllegalTransition):
        request.decide(True, "someone", "changed my mind", request.created_at)


def test_an_unanswered_request_expires_to_rejected_on_the_clock() -> None:
    desk, clock, _ = make_desk()
    decided: list[ApprovalRequest] = []
    request = file(desk, decided, ttl_ns=30 * SECOND)
    clock.advance_by(29 * SECOND)
    assert request.is_open
    clock.advance_by(1 * SECOND)
    assert request.status is ApprovalStatus.REJECTED
    assert (request.decided_by, request.decision_reason) == (EXPIRY_ACTOR, "expired unanswered")
    assert request.decided_at == request.expires_at
    assert decided == [request] and desk.pending() == []


def test_a_policy_approves_at_once_and_is_recorded_as_the_policy() -> None:
    small = NamedPolicy(
        "below-100k",
        lambda r: "notional below 100,000" if float(r.facts["notional"]) < 100_000 else None,
        scope="p1",
    )
    desk, clock, stored = make_desk(small)
    decided: list[ApprovalRequest] = []
    request = file(desk, decided)
    assert request.status is ApprovalStatus.APPROVED and request.auto
    assert request.decided_by == "policy:below-100k"
    assert request.decision_reason == "notional below 100,000"
    assert decided == [request] and stored == [request] and clock.timer_names() == []
    large = file(desk, decided, facts={"notional": "250000"})
    other_scope = file(desk, decided, scope="p2")
    assert large.is_open and other_scope.is_open


def test_decisions_need_an_actor_and_a_reason() -> None:
    desk, _, _ = make_desk()
    request = file(desk, [])
    with pytest.raises(ValidationError, match="reason"):
        desk.approve(request.id, "risk@desk", " ")
    with pytest.raises(ValidationError, match="actor"):
        desk.approve(request.id, "", "ok")
    assert request.is_open
    with pytest.raises(ValidationError, match="ttl_ns"):
        file(desk, [], ttl_ns=0)


def test_an_open_request_is_adopted_after_a_restart_and_still_expires() -> None:
    desk, clock, _ = make_desk()
    request = file(desk, [], ttl_ns=10 * SECOND)
    restarted, _, _ = make_desk()
    restarted.clock = clock
    clock.cancel_all()
    decided: list[ApprovalRequest] = []
    restarted.adopt(request, decided.append)
    assert restarted.pending() == [request]
    clock.advance_by(10 * SECOND)
    assert request.status is ApprovalStatus.REJECTED and decided == [request]
