"""Strategies: entry and exit rules with risk parameters, versioned, with a governed lifecycle."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from omoitrade.core.errors import ValidationError
from omoitrade.model.enums import StrategyStatus, StrategyType
from omoitrade.model.fields import normalize_fields, require_timestamp
from omoitrade.model.identifiers import PortfolioId, StrategyId
from omoitrade.model.state_machines import STRATEGY_LIFECYCLE, StrategyTrigger
from omoitrade.model.timestamps import require_utc


@dataclass(slots=True, eq=False)
class Strategy:
    """A trading idea made precise. ``status`` moves only through :data:`STRATEGY_LIFECYCLE`."""

    id: StrategyId
    portfolio_id: PortfolioId
    name: str
    strategy_type: StrategyType
    created_at: datetime
    description: str = ""
    entry_rules: dict[str, Any] = field(default_factory=dict)
    exit_rules: dict[str, Any] = field(default_factory=dict)
    risk_parameters: dict[str, Any] = field(default_factory=dict)
    status: StrategyStatus = StrategyStatus.DRAFT
    version: int = 1
    performance_metrics: dict[str, Any] = field(default_factory=dict)
    updated_at: datetime | None = None

    def __post_init__(self) -> None:
        normalize_fields(self)
        if not self.name.strip():
            raise ValidationError("name", "must not be empty")
        if isinstance(self.version, bool) or not isinstance(self.version, int) or self.version < 1:
            raise ValidationError("version", "must be an integer >= 1", self.version)
        require_utc("created_at", self.created_at)
        require_utc("updated_at", self.updated_at)
        if self.updated_at is None:
            self.updated_at = self.created_at

    def apply(self, trigger: StrategyTrigger, at: datetime) -> StrategyStatus:
        """Move through the lifecycle; returns the previous status."""
        try:
            trigger = StrategyTrigger(trigger)
        except ValueError:
            allowed = ", ".join(member.value for member in StrategyTrigger)
            raise ValidationError("trigger", f"must be one of {allowed}", trigger) from None
        require_timestamp("at", at)
        previous = self.status
        self.status = STRATEGY_LIFECYCLE.next_state(self.status, trigger)
        self.updated_at = at
        return previous
