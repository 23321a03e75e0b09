"""One signal's trade: its orders by role, its fills, and what it has made or lost."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from omoitrade.model.enums import OrderSide, TradePhase
from omoitrade.model.identifiers import ClientOrderId, OrderId
from omoitrade.model.instruments import Instrument
from omoitrade.model.signals import Signal
from omoitrade.signals.plan import ExecutionPlan

ZERO = Decimal(0)


class Role(StrEnum):
    ENTRY = "e"
    STOP_LOSS = "sl"
    TAKE_PROFIT = "tp"
    EXIT = "x"


@dataclass(slots=True)
class SignalTrade:
    """The orders a signal made and their fills; signed quantities are the entry side's."""

    signal: Signal
    plan: ExecutionPlan
    instrument: Instrument
    side: OrderSide
    phase: TradePhase = TradePhase.SIGNAL
    roles: dict[ClientOrderId, Role] = field(default_factory=dict)
    order_ids: dict[OrderId, ClientOrderId] = field(default_factory=dict)
    working: set[ClientOrderId] = field(default_factory=set)  # exits still able to fill
    entry_quantity: Decimal = ZERO  # asked
    entered: Decimal = ZERO  # filled on entry
    entry_value: Decimal = ZERO  # quantity x price of the entry's fills
    exited: Decimal = ZERO  # filled on exits
    cash: Decimal = ZERO  # money in (sells) minus money out (buys)
    commission: Decimal = ZERO
    stop_price: Decimal | None = None  # the working stop loss's trigger
    target_price: Decimal | None = None  # the working take profit's limit
    cancelling: set[ClientOrderId] = field(default_factory=set)  # cancels we asked for
    best_price: Decimal | None = None  # for the trailing stop
    exit_reason: str | None = None
    exit_pending: bool = False  # a market exit waits for the protective orders to go
    entry_done: bool = False
    holding_alarm: str | None = None
    expiry_alarm: str | None = None  # cancels a resting limit entry at the signal's expiry
    # a cancel-replace (a venue that cannot amend): original -> its replacement, which takes
    # the original's role once the original's cancel is in
    replacing: dict[ClientOrderId, ClientOrderId] = field(default_factory=dict)
    version: int = 0  # numbers the client order ids of re-sent exits

    @property
    def exit_side(self) -> OrderSide:
        return OrderSide.SELL if self.side is OrderSide.BUY else OrderSide.BUY

    @property
    def open_quantity(self) -> Decimal:
        return self.entered - self.exited

    def client_id(self, role: Role) -> ClientOrderId:
        """The client order id of this signal's order in ``role`` (stable across restarts)."""
        suffix = role.value if role is Role.ENTRY else f"{role.value}{self.version}"
        cid = ClientOrderId(f"s-{self.signal.id}-{suffix}")
        self.roles[cid] = role
        return cid

    def apply_fill(
        self, role: Role, side: OrderSide, quantity: Decimal, price: Decimal, fee: Decimal
    ) -> None:
        value = quantity * price
        self.cash += value if side is OrderSide.SELL else -value
        self.commission += fee
        if role is Role.ENTRY:
            self.entered += quantity
            self.entry_value += value
        else:
            self.exited += quantity

    @property
    def realized_pnl(self) -> Decimal:
        """Net of commissions; final once the position is closed."""
        return self.cash - self.commission
