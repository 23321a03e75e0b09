"""What the paper session's live view shows: a snapshot of quotes, signals, orders,
fills, positions, risk, strategies and alerts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from omoitrade.core.approvals import ApprovalRequest
from omoitrade.model import Bar, Quote
from omoitrade.model.enums import OrderSide
from omoitrade.model.orders import Order
from omoitrade.model.positions import Position
from omoitrade.model.signals import Signal


@dataclass(frozen=True, slots=True)
class SignalRow:
    signal: Signal
    strategy: str
    symbol: str
    phase: str


@dataclass(frozen=True, slots=True)
class FillRow:
    at: datetime
    symbol: str
    side: OrderSide
    quantity: Decimal
    price: Decimal
    client_order_id: str


@dataclass(frozen=True, slots=True)
class PositionRow:
    symbol: str
    position: Position


@dataclass(frozen=True, slots=True)
class RiskRow:
    portfolio: str
    trading_state: str
    equity: Decimal
    cash: Decimal
    unrealized_pnl: Decimal
    realized_pnl: Decimal
    limits: list[tuple[str, float, bool]]


@dataclass(frozen=True, slots=True)
class Alert:
    at: datetime
    kind: str
    text: str


@dataclass(frozen=True, slots=True)
class StrategyRow:
    name: str
    version: int
    state: str
    failure: str | None


@dataclass(frozen=True, slots=True)
class SessionSnapshot:
    """What the view shows, at one moment."""

    at: datetime
    quotes: list[tuple[str, Quote | None, Bar | None]]
    strategies: list[StrategyRow]
    signals: list[SignalRow]
    orders: list[tuple[str, Order]]
    fills: list[FillRow]
    positions: list[PositionRow]
    risk: list[RiskRow]
    approvals: list[ApprovalRequest]
    alerts: list[Alert]
