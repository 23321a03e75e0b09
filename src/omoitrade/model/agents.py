"""Trading bots and the tasks they work on."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from omoitrade.core.errors import ValidationError
from omoitrade.model.enums import AgentRole, AgentStatus, TaskCategory, TaskStatus
from omoitrade.model.fields import normalize_fields, require_timestamp
from omoitrade.model.identifiers import (
    AgentId,
    InstrumentId,
    OrderId,
    PortfolioId,
    PositionId,
    StrategyId,
    TaskId,
)
from omoitrade.model.timestamps import require_utc


@dataclass(slots=True, eq=False)
class TradingAgent:
    """A bot with a role, the strategies and instruments it is assigned, and what it may do."""

    id: AgentId
    name: str
    agent_role: AgentRole
    registered_at: datetime
    status: AgentStatus = AgentStatus.IDLE
    assigned_strategies: list[StrategyId] = field(default_factory=list)
    assigned_instruments: list[InstrumentId] = field(default_factory=list)
    trading_permissions: dict[str, Any] = field(default_factory=dict)
    performance_metrics: dict[str, Any] = field(default_factory=dict)
    last_heartbeat_at: datetime | None = None

    def __post_init__(self) -> None:
        normalize_fields(self)
        if not self.name.strip():
            raise ValidationError("name", "must not be empty")
        require_utc("registered_at", self.registered_at)
        require_utc("last_heartbeat_at", self.last_heartbeat_at)

    def heartbeat(self, at: datetime) -> None:
        require_timestamp("at", at)
        self.last_heartbeat_at = at


@dataclass(slots=True, eq=False)
class TradingTask:
    """A unit of bot work; a higher ``priority`` is served first."""

    id: TaskId
    task_category: TaskCategory
    created_at: datetime
    priority: int = 0
    status: TaskStatus = TaskStatus.PENDING
    portfolio_id: PortfolioId | None = None
    agent_id: AgentId | None = None
    related_order_id: OrderId | None = None
    related_position_id: PositionId | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    execution_result: dict[str, Any] | None = None
    started_at: datetime | None = None
    completed_at: datetime | None = None

    def __post_init__(self) -> None:
        normalize_fields(self)
        if isinstance(self.priority, bool) or not isinstance(self.priority, int):
            raise ValidationError("priority", "must be an integer", self.priority)
        for name in ("created_at", "started_at", "completed_at"):
            require_utc(name, getattr(self, name))
