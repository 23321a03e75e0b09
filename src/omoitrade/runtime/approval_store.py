"""Approval requests in the store: the desk's sink, decisions taken by other processes,
and what happens to open requests when the process restarts.

- :meth:`ApprovalStore.save` is the desk's sink: every new or decided request is written;
  a decided row is never overwritten (the first decision stored wins).
- :func:`decide_in_store` is how another process (the ``omoitrade approvals`` command)
  decides a request: in the store, audited, with its actor.
- :meth:`ApprovalStore.poll` (every second on the clock, see :meth:`start_polling`)
  applies such decisions to the running desk: the owner's callback runs as if decided here.
- :meth:`ApprovalStore.adopt_pending` at start-up: a signal that waited for a person when
  the process stopped must not trade hours later, so it is rejected ("the process
  restarted"); other requests (a strategy's go-live) are adopted again with their owner's
  callback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from omoitrade.core.approvals import ApprovalDesk, ApprovalId, ApprovalRequest, ApprovalStatus
from omoitrade.core.clock import Clock, TimeEvent
from omoitrade.core.errors import Conflict, NotFound, ValidationError
from omoitrade.store import Database, UnitOfWork

_log = logging.getLogger("omoitrade.runtime.approval_store")

RESTART_ACTOR = "system:restart"
RESTART_REASON = "the process restarted"
POLL_TIMER = "approvals-poll"
SECOND_NS = 1_000_000_000

# subject type -> the callback of a request adopted after a restart (None: no owner)
OwnerCallbacks = dict[str, Callable[[ApprovalRequest], None]]


@dataclass(frozen=True, slots=True)
class AdoptionResult:
    """What start-up did with the requests still open in the store."""

    rejected: list[ApprovalRequest]
    adopted: list[ApprovalRequest]


class ApprovalStore:
    """The store side of one process's approval desk."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.desk: ApprovalDesk | None = None
        self.conflicts: list[str] = []  # decisions that lost a race (for alerts)

    def attach(self, desk: ApprovalDesk) -> None:
        """Become ``desk``'s sink."""
        self.desk = desk
        desk.sink = self.save

    # --- the sink -----------------------------------------------------------------------------
    def save(self, request: ApprovalRequest) -> None:
        """Write a new or decided request; a decision already stored is kept."""
        with self.database.transaction() as uow:
            stored = uow.approvals.find(request.id, for_update=True)
            if stored is None:
                uow.approvals.add(request)
                if not request.is_open:
                    _audit_decision(uow, request)
                return
            if stored.status is not ApprovalStatus.PENDING:
                if stored.status is not request.status:
                    message = (
                        f"approval {request.id}: {request.status} by {request.decided_by} "
                        f"came after {stored.status} by {stored.decided_by}; the first stands"
                    )
                    _log.warning(message)
                    self.conflicts.append(message)
                return
            uow.approvals.update(request)
            if not request.is_open:
                _audit_decision(uow, request)

    # --- decisions from elsewhere -------------------------------------------------------------
    def poll(self) -> list[ApprovalRequest]:
        """Apply decisions stored by another process to the desk's open requests."""
        desk = self.desk
        if desk is None:
            return []
        open_ids = list(desk.pending_ids())
        if not open_ids:
            return []
        with self.database.transaction(write=False) as uow:
            found = [uow.approvals.find(approval_id) for approval_id in open_ids]
        applied = []
        for stored in found:
            if stored is None or stored.is_open:
                continue
            try:
                request = desk.get(stored.id)
            except NotFound:  # decided here meanwhile (say, expiry): the store kept the first
                continue
            actor = stored.decided_by or "unknown"
            reason = stored.decision_reason or "decided elsewhere"
            if stored.status is ApprovalStatus.APPROVED:
                request = desk.approve(stored.id, actor, reason)
            else:
                request = desk.reject(stored.id, actor, reason)
            applied.append(request)
        return applied

    def start_polling(self, clock: Clock, interval_ns: int = SECOND_NS) -> None:
        clock.set_timer(POLL_TIMER, interval_ns, self._on_timer)

    def stop_polling(self, clock: Clock) -> None:
        if POLL_TIMER in clock.timer_names():
            clock.cancel(POLL_TIMER)

    def _on_timer(self, _: TimeEvent) -> None:
        try:
            self.poll()
        except Exception:  # a database hiccup must not stop the clock; next second retries
            _log.exception("polling approval decisions failed")

    # --- start-up -----------------------------------------------------------------------------
    def adopt_pending(self, owners: OwnerCallbacks) -> AdoptionResult:
        """Reject open signal requests (the process restarted); adopt the others."""
        desk = self.desk
        if desk is None:
            raise Conflict("the approval store has no desk to adopt requests into")
        with self.database.transaction(write=False) as uow:
            pending = uow.approvals.pending()
        rejected, adopted = [], []
        now = desk.clock.utc_now()
        for request in pending:
            if request.subject_type == "signal":
                request.decide(False, RESTART_ACTOR, RESTART_REASON, now)
                self.save(request)
                rejected.append(request)
            else:
                desk.adopt(request, owners.get(request.subject_type))
                adopted.append(request)
        return AdoptionResult(rejected, adopted)


def decide_in_store(
    database: Database, approval_id: str, *, approve: bool, actor: str, reason: str
) -> ApprovalRequest:
    """Decide a request in the store (another process's desk applies it when it polls).

    Raises ValidationError for a malformed id, an empty actor or reason; NotFound for an
    unknown request; Conflict for one already decided.
    """
    if not reason.strip():
        raise ValidationError("reason", "must say why")
    if not actor.strip():
        raise ValidationError("actor", "must name who decides")
    try:
        key = ApprovalId.parse(approval_id)
    except (ValueError, ValidationError):
        raise ValidationError("id", "is not an approval id", approval_id) from None
    with database.transaction() as uow:
        request = uow.approvals.find(key, for_update=True)
        if request is None:
            raise NotFound("approval request", approval_id)
        if not request.is_open:
            raise Conflict(
                f"approval {request.id} is already {request.status} "
                f"(by {request.decided_by}: {request.decision_reason})"
            )
        now = database.clock.utc_now()
        if now >= request.expires_at:
            raise Conflict(f"approval {request.id} expired at {request.expires_at.isoformat()}")
        request.decide(approve, actor, reason, now)
        uow.approvals.update(request)
        _audit_decision(uow, request)
    return request


def _audit_decision(uow: UnitOfWork, request: ApprovalRequest) -> None:
    uow.audit.record(
        request.decided_by or "unknown",
        "approval.approved" if request.status is ApprovalStatus.APPROVED else "approval.rejected",
        "approval_request",
        request.id,
        {
            "gate": request.gate,
            "subject_type": request.subject_type,
            "subject_id": request.subject_id,
            "reason": request.decision_reason,
            "auto": request.auto,
        },
    )
