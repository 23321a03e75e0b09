"""The emergency stop: everything HALTED until an authorized user releases it.

Engaging publishes :class:`KillSwitchEngaged` (the runtime cancels every working order
and, with ``flatten``, closes every position) and moves the global state to HALTED.
Anyone who may trade (or the system itself) may engage it; only ADMIN and
RISK_MANAGER users may release it. Both survive a restart through :meth:`KillSwitch.replay`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from omoitrade.core.clock import Clock
from omoitrade.core.errors import Conflict, ValidationError
from omoitrade.model.accounts import User
from omoitrade.model.events import DomainEvent, KillSwitchEngaged, KillSwitchReleased
from omoitrade.model.identifiers import UserId
from omoitrade.risk.state import (
    RESTRICT_ROLES,
    RESUME_ROLES,
    TradingState,
    TradingStates,
    event_meta,
    require_role,
)


@dataclass(frozen=True, slots=True)
class KillSwitchStatus:
    """Whether the kill switch is engaged, since when, by whom and why."""

    engaged: bool = False
    reason: str = ""
    user_id: UserId | None = None
    engaged_at: datetime | None = None
    flatten: bool = False


class KillSwitch:
    """Engage and release the emergency stop over a :class:`TradingStates`."""

    def __init__(self, states: TradingStates, clock: Clock) -> None:
        self._states = states
        self._clock = clock
        self.status = KillSwitchStatus()

    @property
    def engaged(self) -> bool:
        return self.status.engaged

    def engage(
        self, reason: str, user: User | None = None, flatten: bool = False
    ) -> list[DomainEvent]:
        """Halt everything; ``user`` None means the system. Engaging again is recorded again."""
        _require_reason(reason)
        if user is not None:
            require_role(user, RESTRICT_ROLES, "engage the kill switch")
        event = KillSwitchEngaged(
            **event_meta(self._clock),
            reason=reason,
            flatten=flatten,
            user_id=None if user is None else user.id,
        )
        halted = self._states.change(
            None, TradingState.HALTED, f"kill switch: {reason}", self._clock, user
        )
        self.replay(event)
        events: list[DomainEvent] = [event]
        if halted is not None:
            events.append(halted)
        return events

    def release(self, user: User, reason: str) -> list[DomainEvent]:
        """Lift the stop (global state back to ACTIVE); ADMIN or RISK_MANAGER only."""
        _require_reason(reason)
        require_role(user, RESUME_ROLES, "release the kill switch")
        if not self.status.engaged:
            raise Conflict("the kill switch is not engaged")
        event = KillSwitchReleased(**event_meta(self._clock), user_id=user.id, reason=reason)
        self.replay(event)
        events: list[DomainEvent] = [event]
        resumed = self._states.change(
            None, TradingState.ACTIVE, f"kill switch released: {reason}", self._clock, user
        )
        if resumed is not None:
            events.append(resumed)
        return events

    def replay(self, event: KillSwitchEngaged | KillSwitchReleased) -> None:
        """Apply a recorded event (the global state comes from its TradingStateChanged)."""
        if isinstance(event, KillSwitchEngaged):
            self.status = KillSwitchStatus(
                engaged=True,
                reason=event.reason,
                user_id=event.user_id,
                engaged_at=event.occurred_at,
                flatten=event.flatten,
            )
            self._states.apply(None, TradingState.HALTED)
        else:
            self.status = KillSwitchStatus()


def _require_reason(reason: object) -> None:
    if not isinstance(reason, str) or not reason.strip():
        raise ValidationError("reason", "must be a non-empty string", reason)
