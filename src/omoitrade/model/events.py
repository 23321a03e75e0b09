"""Domain events: immutable facts about what happened, published on the bus and stored.

Each event class names its bus ``topic`` and the field holding the id of the
thing it is about (``stream_field``), which keys its stream in the event store.
:func:`event_to_json` / :func:`event_from_json` round-trip every event exactly:
Decimals travel as strings, timestamps as ISO 8601 UTC, ids as UUID text.
"""

from __future__ import annotations

import json
import math
import typing
from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar, TypeVar
from uuid import UUID

from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticValidationError

from omoitrade.core.approvals import ApprovalId
from omoitrade.core.errors import ValidationError
from omoitrade.model.enums import (
    BreachAction,
    LimitType,
    OrderSide,
    OrderType,
    PositionSide,
    SignalType,
    StrategyStatus,
    TimeInForce,
    TradePhase,
)
from omoitrade.model.fields import normalize_fields, slot_builder
from omoitrade.model.identifiers import (
    ClientOrderId,
    EventId,
    InstrumentId,
    OrderId,
    PortfolioId,
    PositionId,
    RiskLimitId,
    SignalId,
    StrategyId,
    TradeId,
    UserId,
    VenueOrderId,
    VenueTradeId,
)
from omoitrade.model.timestamps import require_utc

EVENT_TYPES: dict[str, type[DomainEvent]] = {}
_CHECKED: dict[type, tuple[str, ...]] = {}  # per event class: its time and float fields


def _time_and_float_fields(cls: type) -> tuple[str, ...]:
    """The fields that may hold a datetime or a float (by their declared types)."""
    hints = typing.get_type_hints(cls)
    return tuple(
        f.name
        for f in fields(cls)
        if {datetime, float} & set(typing.get_args(hints[f.name]) or (hints[f.name],))
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class DomainEvent:
    """Base of all domain events: an id and the moment it happened."""

    event_id: EventId
    occurred_at: datetime

    topic: ClassVar[str] = "events"
    stream_field: ClassVar[str] = "event_id"

    def __post_init__(self) -> None:
        normalize_fields(self)  # typed ids, exact Decimals, enums, JSON-only dicts
        cls = type(self)
        names = _CHECKED.get(cls)
        if names is None:
            names = _CHECKED[cls] = _time_and_float_fields(cls)
        for name in names:
            value = getattr(self, name)
            if isinstance(value, datetime):
                require_utc(name, value)
            elif isinstance(value, float) and not math.isfinite(value):
                raise ValidationError(name, "must be finite", value)

    @property
    def stream_id(self) -> UUID:
        """The id of the entity this event belongs to."""
        stream_id: UUID = getattr(self, self.stream_field)
        return stream_id


# --- orders ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class OrderEvent(DomainEvent):
    order_id: OrderId
    stream_field: ClassVar[str] = "order_id"


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderSubmitted(OrderEvent):
    topic: ClassVar[str] = "events.order.submitted"
    client_order_id: ClientOrderId
    portfolio_id: PortfolioId
    instrument_id: InstrumentId
    side: OrderSide
    order_type: OrderType
    quantity: Decimal
    time_in_force: TimeInForce
    price: Decimal | None = None
    stop_price: Decimal | None = None
    signal_id: SignalId | None = None
    oco_group: str | None = None
    # the strategy that asked for the order (a cancel-replace's replacement: its original's);
    # None when none did, or when recorded before the field existed
    strategy_id: StrategyId | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderAccepted(OrderEvent):
    topic: ClassVar[str] = "events.order.accepted"
    exchange_order_id: VenueOrderId


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderRejected(OrderEvent):
    topic: ClassVar[str] = "events.order.rejected"
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderAmended(OrderEvent):
    topic: ClassVar[str] = "events.order.amended"
    quantity: Decimal
    price: Decimal | None = None
    stop_price: Decimal | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderFillEvent(OrderEvent):
    """A fill of an order, with the order's totals after it.

    It names the portfolio, instrument and side, so that positions are built
    from fill events alone.
    """

    portfolio_id: PortfolioId
    instrument_id: InstrumentId
    side: OrderSide
    trade_id: TradeId
    exchange_trade_id: VenueTradeId
    fill_quantity: Decimal
    fill_price: Decimal
    commission: Decimal
    filled_quantity: Decimal
    average_fill_price: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderPartiallyFilled(OrderFillEvent):
    topic: ClassVar[str] = "events.order.partially_filled"


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderFilled(OrderFillEvent):
    topic: ClassVar[str] = "events.order.filled"


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderCancelled(OrderEvent):
    topic: ClassVar[str] = "events.order.cancelled"
    reason: str


# --- signals --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class SignalEvent(DomainEvent):
    signal_id: SignalId
    stream_field: ClassVar[str] = "signal_id"


@dataclass(frozen=True, slots=True, kw_only=True)
class SignalCreated(SignalEvent):
    topic: ClassVar[str] = "events.signal.created"
    strategy_id: StrategyId
    instrument_id: InstrumentId
    signal_type: SignalType
    strength: float


@dataclass(frozen=True, slots=True, kw_only=True)
class SignalValidated(SignalEvent):
    topic: ClassVar[str] = "events.signal.validated"
    validation_result: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class SignalRejected(SignalEvent):
    topic: ClassVar[str] = "events.signal.rejected"
    validation_result: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class SignalExecuted(SignalEvent):
    topic: ClassVar[str] = "events.signal.executed"
    order_ids: tuple[OrderId, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class SignalExpired(SignalEvent):
    topic: ClassVar[str] = "events.signal.expired"


@dataclass(frozen=True, slots=True, kw_only=True)
class SignalAwaitingApproval(SignalEvent):
    """Validation stopped the signal at one or more gates; a person must decide."""

    topic: ClassVar[str] = "events.signal.awaiting_approval"
    approval_id: ApprovalId
    gates: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class SignalApprovalDecided(SignalEvent):
    topic: ClassVar[str] = "events.signal.approval_decided"
    approval_id: ApprovalId
    approved: bool
    decided_by: str
    reason: str
    auto: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class SignalExitTriggered(SignalEvent):
    """Management decided to leave the signal's position (``reason``: stop_loss,
    take_profit, trailing_stop, max_holding_time, exit_signal, ...)."""

    topic: ClassVar[str] = "events.signal.exit_triggered"
    reason: str
    order_ids: tuple[OrderId, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class SignalSettled(SignalEvent):
    """The signal's position closed: its realized P&L, attributed."""

    topic: ClassVar[str] = "events.signal.settled"
    strategy_id: StrategyId
    strategy_version: int
    instrument_id: InstrumentId
    realized_pnl: Decimal
    commission: Decimal
    agent: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TradePhaseChanged(DomainEvent):
    """A strategy's trade in one instrument moved to another phase.

    The phases form a cycle per strategy and instrument (settlement leads back
    to signal), so the stream is the strategy's; ``signal_id`` names the signal
    that started the current trade, when there is one.
    """

    topic: ClassVar[str] = "events.trade.phase_changed"
    stream_field: ClassVar[str] = "strategy_id"
    strategy_id: StrategyId
    instrument_id: InstrumentId
    from_phase: TradePhase
    to_phase: TradePhase
    signal_id: SignalId | None = None


# --- strategies, positions, risk ------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class StrategyStatusChanged(DomainEvent):
    topic: ClassVar[str] = "events.strategy.status_changed"
    stream_field: ClassVar[str] = "strategy_id"
    strategy_id: StrategyId
    version: int
    from_status: StrategyStatus
    to_status: StrategyStatus
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class StrategyVersionCreated(DomainEvent):
    """A change to a strategy made version ``version`` (a rollback names ``restored_from``)."""

    topic: ClassVar[str] = "events.strategy.version_created"
    stream_field: ClassVar[str] = "strategy_id"
    strategy_id: StrategyId
    version: int
    author: str
    content_hash: str
    change_note: str = ""
    restored_from: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionChanged(DomainEvent):
    """A position after a fill changed it."""

    topic: ClassVar[str] = "events.position.changed"
    stream_field: ClassVar[str] = "position_id"
    position_id: PositionId
    portfolio_id: PortfolioId
    instrument_id: InstrumentId
    side: PositionSide
    quantity: Decimal
    average_entry_price: Decimal | None
    realized_pnl: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionOpened(PositionChanged):
    topic: ClassVar[str] = "events.position.opened"


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionClosed(PositionChanged):
    topic: ClassVar[str] = "events.position.closed"


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskLimitBreached(DomainEvent):
    topic: ClassVar[str] = "events.risk.limit_breached"
    stream_field: ClassVar[str] = "limit_id"
    limit_id: RiskLimitId
    portfolio_id: PortfolioId
    limit_type: LimitType
    limit_value: Decimal
    current_value: Decimal
    action_on_breach: BreachAction
    instrument_id: InstrumentId | None = None


# --- market data ----------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class MarketDataAnomaly(DomainEvent):
    """A market-data update was held back from strategies; ``kind`` says why in one word."""

    topic: ClassVar[str] = "events.data.anomaly"
    stream_field: ClassVar[str] = "instrument_id"
    instrument_id: InstrumentId
    kind: str
    reason: str
    data_timestamp: datetime | None


# --- risk controls (appended by the risk engine) --------------------------------------------
@dataclass(frozen=True, slots=True, kw_only=True)
class RiskLimitWarning(DomainEvent):
    """A limit's use reached ``threshold`` (a fraction, 0.8 by default); once per crossing."""

    topic: ClassVar[str] = "events.risk.limit_warning"
    stream_field: ClassVar[str] = "limit_id"
    limit_id: RiskLimitId
    portfolio_id: PortfolioId
    limit_type: LimitType
    limit_value: Decimal
    current_value: Decimal
    threshold: Decimal
    instrument_id: InstrumentId | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TradingStateChanged(DomainEvent):
    """The trading state (ACTIVE, REDUCING, HALTED) of one portfolio, or of all when
    ``portfolio_id`` is None, changed; ``user_id`` is None when the system changed it."""

    topic: ClassVar[str] = "events.risk.trading_state_changed"
    portfolio_id: PortfolioId | None
    from_state: str
    to_state: str
    reason: str
    user_id: UserId | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class KillSwitchEngaged(DomainEvent):
    """Emergency stop: everything HALTED, every working order to be cancelled and, with
    ``flatten``, every position closed; ``user_id`` is None when the system engaged it."""

    topic: ClassVar[str] = "events.risk.kill_switch_engaged"
    reason: str
    flatten: bool
    user_id: UserId | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class KillSwitchReleased(DomainEvent):
    """An authorized user lifted the emergency stop."""

    topic: ClassVar[str] = "events.risk.kill_switch_released"
    stream_field: ClassVar[str] = "user_id"
    user_id: UserId
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StrategyThrottled(DomainEvent):
    """A strategy made ``executions`` automated executions within ``window_ns`` and is
    disabled until someone re-enables it."""

    topic: ClassVar[str] = "events.risk.strategy_throttled"
    stream_field: ClassVar[str] = "strategy_id"
    strategy_id: StrategyId
    executions: int
    window_ns: int


@dataclass(frozen=True, slots=True, kw_only=True)
class StrategyReEnabled(DomainEvent):
    """A user re-enabled a strategy the throttle had disabled, for ``reason``; its
    executions count afresh (replayed after :class:`StrategyThrottled`, in order)."""

    topic: ClassVar[str] = "events.risk.strategy_re_enabled"
    stream_field: ClassVar[str] = "strategy_id"
    strategy_id: StrategyId
    user_id: UserId
    reason: str


# --- assembling from checked values ---------------------------------------------------------
_E = TypeVar("_E", bound=DomainEvent)
_BUILDERS: dict[type, Callable[..., Any]] = {}  # per class: its generated builder


def assemble(cls: type[_E], **values: Any) -> _E:
    """An event built from values that are already checked, without checking them again.

    For producers on the hot path whose every value comes from a validated entity or an
    id generator (the order manager's events from its ``Order``, say): the constructor
    would only repeat those checks. A field without a default must be given, and an
    unknown one raises (TypeError). Everywhere else, call the class itself.
    """
    event: _E = assembler(cls)(**values)
    return event


def assembler(cls: type[_E]) -> Callable[..., _E]:
    """The function :func:`assemble` calls for ``cls`` (the same keywords): a producer on
    the hot path may keep it, and call it without looking it up each time."""
    builder = _BUILDERS.get(cls)
    if builder is None:
        builder = _BUILDERS[cls] = slot_builder(cls)
    return builder


# --- JSON -----------------------------------------------------------------------------------
def _register(base: type[DomainEvent]) -> None:
    """Index every event class of this module by name (slotted dataclasses are rebuilt
    classes, so only the ones bound at module level count)."""
    for cls in base.__subclasses__():
        if globals().get(cls.__name__) is cls:
            EVENT_TYPES[cls.__name__] = cls
        _register(cls)


_register(DomainEvent)


_ADAPTERS: dict[str, TypeAdapter[Any]] = {}


def _adapter(cls: type[DomainEvent]) -> TypeAdapter[Any]:
    adapter = _ADAPTERS.get(cls.__name__)
    if adapter is None:
        adapter = _ADAPTERS[cls.__name__] = TypeAdapter(cls)
    return adapter


def event_to_dict(event: DomainEvent) -> dict[str, Any]:
    """The event as JSON-safe data: ``{"type": class name, "data": fields}``."""
    data = _adapter(type(event)).dump_python(event, mode="json")
    return {"type": type(event).__name__, "data": data}


def event_from_dict(document: dict[str, Any]) -> DomainEvent:
    """Rebuild an event from :func:`event_to_dict` output; unknown types are refused."""
    name = document.get("type")
    cls = EVENT_TYPES.get(name) if isinstance(name, str) else None
    if cls is None:
        raise ValidationError("type", f"unknown event type {name!r}", name)
    try:
        event: DomainEvent = _adapter(cls).validate_python(document.get("data"))
    except PydanticValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "data"
        raise ValidationError(f"data.{where}", first["msg"], document.get("data")) from None
    return event


def event_to_json(event: DomainEvent) -> str:
    return json.dumps(event_to_dict(event), separators=(",", ":"), sort_keys=True)


def event_from_json(text: str) -> DomainEvent:
    return event_from_dict(json.loads(text))
