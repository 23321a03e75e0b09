"""Approval gates: a request for a person's decision, with facts, an expiry and a record.

A gate (say, "high value") stops some work and files an :class:`ApprovalRequest`
naming what it wants to do (``requested_action``) and why it asks (``facts``). A
person approves or rejects it with a reason; an unanswered request expires to
REJECTED on the clock. Auto-approval policies may decide a request at once; such a
decision is recorded as the policy's (``decided_by`` the policy name, ``auto``).

The :class:`ApprovalDesk` keeps the open requests, fires expiries from the clock,
tells each request's owner of the decision, and hands every change to a sink (the
store). It knows nothing of trading: gates and facts are named by its callers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from omoitrade.core.clock import Clock, TimeEvent, to_datetime, to_ns
from omoitrade.core.errors import Conflict, NotFound, ValidationError
from omoitrade.core.fsm import TransitionTable
from omoitrade.core.ids import IdGenerator, UuidIdentifier

EXPIRY_ACTOR = "system:expiry"


class ApprovalId(UuidIdentifier):
    """Identifies an approval request."""


class ApprovalStatus(StrEnum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"


class ApprovalTrigger(StrEnum):
    APPROVE = "approve"
    REJECT = "reject"


APPROVAL_LIFECYCLE: TransitionTable[ApprovalStatus, ApprovalTrigger] = TransitionTable(
    "ApprovalRequest",
    {
        (ApprovalStatus.PENDING, ApprovalTrigger.APPROVE): ApprovalStatus.APPROVED,
        (ApprovalStatus.PENDING, ApprovalTrigger.REJECT): ApprovalStatus.REJECTED,
    },
    initial=ApprovalStatus.PENDING,
    states=ApprovalStatus,
)


@dataclass(slots=True, eq=False)
class ApprovalRequest:
    """One decision asked of a person. ``scope`` groups requests (a portfolio, say) for
    listing and for policies; ``subject_type``/``subject_id`` name the thing waiting."""

    id: ApprovalId
    gate: str
    scope: str
    subject_type: str
    subject_id: str
    requested_action: str
    facts: dict[str, Any]
    requested_by: str
    created_at: datetime
    expires_at: datetime
    status: ApprovalStatus = ApprovalStatus.PENDING
    decided_by: str | None = None
    decided_at: datetime | None = None
    decision_reason: str | None = None
    auto: bool = False

    def __post_init__(self) -> None:
        for name in ("gate", "scope", "subject_type", "subject_id", "requested_action"):
            if not getattr(self, name):
                raise ValidationError(name, "must not be empty")
        if self.expires_at <= self.created_at:
            raise ValidationError("expires_at", "must be after created_at", self.expires_at)

    @property
    def is_open(self) -> bool:
        return self.status is ApprovalStatus.PENDING

    def decide(
        self, approve: bool, actor: str, reason: str, at: datetime, *, auto: bool = False
    ) -> None:
        """PENDING -> APPROVED or REJECTED, recording who, when and why."""
        if not actor:
            raise ValidationError("actor", "must name who decides")
        if not reason.strip():
            raise ValidationError("reason", "must say why")
        trigger = ApprovalTrigger.APPROVE if approve else ApprovalTrigger.REJECT
        self.status = APPROVAL_LIFECYCLE.next_state(self.status, trigger)
        self.decided_by, self.decided_at, self.decision_reason = actor, at, reason
        self.auto = auto


# A policy looks at a new request and returns the reason it approves it, or None.
AutoApprovalPolicy = Callable[[ApprovalRequest], str | None]
DecisionCallback = Callable[[ApprovalRequest], None]


@dataclass(frozen=True, slots=True)
class NamedPolicy:
    """An auto-approval policy for one scope ("*" for every scope) and gate ("*": all)."""

    name: str
    decide: AutoApprovalPolicy
    scope: str = "*"
    gate: str = "*"

    def applies_to(self, request: ApprovalRequest) -> bool:
        return self.scope in ("*", request.scope) and self.gate in ("*", request.gate)


@dataclass(slots=True)
class _Open:
    request: ApprovalRequest
    on_decided: DecisionCallback | None
    alarm: str


@dataclass(slots=True)
class ApprovalDesk:
    """Open approval requests: filed by gates, decided by people, policies or expiry."""

    clock: Clock
    ids: IdGenerator
    sink: Callable[[ApprovalRequest], None] | None = None  # every new or decided request
    policies: list[NamedPolicy] = field(default_factory=list)
    _open: dict[ApprovalId, _Open] = field(default_factory=dict)

    def request(
        self,
        *,
        gate: str,
        scope: str,
        subject_type: str,
        subject_id: str,
        requested_action: str,
        facts: dict[str, Any],
        requested_by: str,
        ttl_ns: int,
        on_decided: DecisionCallback | None = None,
    ) -> ApprovalRequest:
        """File a request; a matching policy may decide it at once (``on_decided`` runs
        then, before this returns). Otherwise it waits for a decision or ``ttl_ns``."""
        if ttl_ns <= 0:
            raise ValidationError("ttl_ns", "must be > 0", ttl_ns)
        now_ns = self.clock.timestamp_ns()
        request = ApprovalRequest(
            id=ApprovalId.new(self.ids),
            gate=gate,
            scope=scope,
            subject_type=subject_type,
            subject_id=subject_id,
            requested_action=requested_action,
            facts=facts,
            requested_by=requested_by,
            created_at=self.clock.utc_now(),
            expires_at=to_datetime(now_ns + ttl_ns),
        )
        for policy in self.policies:
            reason = policy.decide(request) if policy.applies_to(request) else None
            if reason is not None:
                request.decide(True, f"policy:{policy.name}", reason, request.created_at, auto=True)
                self._store(request)
                if on_decided is not None:
                    on_decided(request)
                return request
        alarm = f"approval-expiry-{request.id}"
        self._open[request.id] = _Open(request, on_decided, alarm)
        self.clock.set_alarm(alarm, now_ns + ttl_ns, self._expire)
        self._store(request)
        return request

    def adopt(self, request: ApprovalRequest, on_decided: DecisionCallback | None) -> None:
        """Take back an open request (after a restart) with its owner's callback; one past
        its expiry is rejected at the next clock poll."""
        if not request.is_open:
            raise Conflict(f"approval {request.id} is already {request.status}")
        alarm = f"approval-expiry-{request.id}"
        self._open[request.id] = _Open(request, on_decided, alarm)
        self.clock.set_alarm(alarm, to_ns(request.expires_at), self._expire)

    def approve(self, approval_id: ApprovalId, actor: str, reason: str) -> ApprovalRequest:
        return self._decide(approval_id, True, actor, reason)

    def reject(self, approval_id: ApprovalId, actor: str, reason: str) -> ApprovalRequest:
        return self._decide(approval_id, False, actor, reason)

    def pending(self, scope: str | None = None) -> list[ApprovalRequest]:
        """Open requests, oldest first (of one scope, or all)."""
        found = [o.request for o in self._open.values()]
        if scope is not None:
            found = [r for r in found if r.scope == scope]
        return sorted(found, key=lambda r: (r.created_at, str(r.id)))

    def get(self, approval_id: ApprovalId) -> ApprovalRequest:
        entry = self._open.get(approval_id)
        if entry is None:
            raise NotFound("open approval request", approval_id)
        return entry.request

    def pending_ids(self) -> Iterable[ApprovalId]:
        return self._open.keys()

    def _decide(
        self, approval_id: ApprovalId, approve: bool, actor: str, reason: str
    ) -> ApprovalRequest:
        entry = self._open.get(approval_id)
        if entry is None:
            raise NotFound("open approval request", approval_id)
        entry.request.decide(approve, actor, reason, self.clock.utc_now())
        del self._open[approval_id]
        if entry.alarm in self.clock.timer_names():
            self.clock.cancel(entry.alarm)
        self._store(entry.request)
        if entry.on_decided is not None:
            entry.on_decided(entry.request)
        return entry.request

    def _expire(self, event: TimeEvent) -> None:
        approval_id = ApprovalId.parse(event.name.removeprefix("approval-expiry-"))
        entry = self._open.pop(approval_id, None)
        if entry is None:
            return
        request = entry.request
        request.decide(False, EXPIRY_ACTOR, "expired unanswered", request.expires_at)
        self._store(request)
        if entry.on_decided is not None:
            entry.on_decided(request)

    def _store(self, request: ApprovalRequest) -> None:
        if self.sink is not None:
            self.sink(request)
