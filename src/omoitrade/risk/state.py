"""Trading states per portfolio and globally, and who may change them.

The effective state of a portfolio is the stricter of its own and the global one:
ACTIVE lets every order through the checks, REDUCING only orders that shrink a
position, HALTED nothing but cancels.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any

from omoitrade.core.clock import Clock
from omoitrade.model.accounts import User
from omoitrade.model.enums import UserRole
from omoitrade.model.events import TradingStateChanged
from omoitrade.model.identifiers import EventId, PortfolioId
from omoitrade.risk.decisions import RiskPermissionDenied


class TradingState(StrEnum):
    ACTIVE = "ACTIVE"
    REDUCING = "REDUCING"
    HALTED = "HALTED"

    @property
    def severity(self) -> int:
        return _SEVERITY[self]


_SEVERITY = {TradingState.ACTIVE: 0, TradingState.REDUCING: 1, TradingState.HALTED: 2}

RESTRICT_ROLES = frozenset({UserRole.ADMIN, UserRole.RISK_MANAGER, UserRole.TRADER})
"""Roles that may tighten a state or engage the kill switch (anyone who can trade)."""

RESUME_ROLES = frozenset({UserRole.ADMIN, UserRole.RISK_MANAGER})
"""Roles that may loosen a state or release the kill switch."""


def require_role(user: User, roles: frozenset[UserRole], action: str) -> None:
    """Raise :class:`RiskPermissionDenied` unless ``user`` is active and holds one of ``roles``."""
    if not user.is_active:
        raise RiskPermissionDenied(f"{action}: user {user.id} is not active")
    if user.role not in roles:
        allowed = ", ".join(sorted(roles))
        raise RiskPermissionDenied(
            f"{action}: role {user.role} is not allowed (allowed: {allowed})"
        )


def event_meta(clock: Clock) -> dict[str, Any]:
    """A fresh event id and the clock's now, the fields every event starts with."""
    return {"event_id": EventId.new(), "occurred_at": clock.utc_now()}


class TradingStates:
    """The global state and each portfolio's own (ACTIVE unless set)."""

    def __init__(self) -> None:
        self._global = TradingState.ACTIVE
        self._portfolios: dict[PortfolioId, TradingState] = {}

    def of(self, portfolio_id: PortfolioId | None) -> TradingState:
        """The state of one scope: a portfolio's own, or the global one for None."""
        if portfolio_id is None:
            return self._global
        return self._portfolios.get(portfolio_id, TradingState.ACTIVE)

    def effective(self, portfolio_id: PortfolioId) -> TradingState:
        """The stricter of the portfolio's own state and the global one."""
        own = self._portfolios.get(portfolio_id)
        if own is None:  # ACTIVE, never stricter than the global state
            return self._global
        return own if own.severity >= self._global.severity else self._global

    def scopes(self) -> Iterable[tuple[PortfolioId | None, TradingState]]:
        yield None, self._global
        yield from self._portfolios.items()

    def change(
        self,
        portfolio_id: PortfolioId | None,
        to_state: TradingState,
        reason: str,
        clock: Clock,
        user: User | None = None,
    ) -> TradingStateChanged | None:
        """Move one scope to ``to_state``; the event, or None when it is already there."""
        from_state = self.of(portfolio_id)
        if from_state is to_state:
            return None
        self.apply(portfolio_id, to_state)
        return TradingStateChanged(
            **event_meta(clock),
            portfolio_id=portfolio_id,
            from_state=from_state.value,
            to_state=to_state.value,
            reason=reason,
            user_id=None if user is None else user.id,
        )

    def apply(self, portfolio_id: PortfolioId | None, state: TradingState) -> None:
        """Set a scope's state without an event (used when replaying history)."""
        if portfolio_id is None:
            self._global = state
        elif state is TradingState.ACTIVE:
            self._portfolios.pop(portfolio_id, None)
        else:
            self._portfolios[portfolio_id] = state
