"""What every venue speaks: order commands in, execution reports and market data out.

:class:`VenueAdapter` is the protocol that the simulated exchange implements
first and real exchange adapters implement later. Commands are non-blocking:
their outcomes arrive through the report handler, in the venue's order, as
:class:`ExecutionReport` objects (a new order rejected is an ExecutionReport
with ``exec_type`` REJECTED) or, for a refused cancel or amend, as
:class:`CommandRejected`. Queries are ``async`` because a real venue
answers over the network. What a venue can do beyond the protocol's minimum is
declared in :class:`VenueCapabilities` (see :func:`capabilities_of`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import NamedTuple, Protocol, runtime_checkable

from omoitrade.model.enums import (
    DeliveryFailure,
    ExecType,
    Liquidity,
    OrderSide,
    OrderStatus,
    OrderType,
    TimeInForce,
)
from omoitrade.model.identifiers import (
    AccountId,
    ClientOrderId,
    InstrumentId,
    VenueOrderId,
    VenueTradeId,
)
from omoitrade.model.instruments import Instrument
from omoitrade.model.market_data import Bar, OrderBook, Quote, TradeTick
from omoitrade.model.money import ZERO

MarketData = Quote | TradeTick | OrderBook | Bar


@dataclass(frozen=True, slots=True)
class SubmitOrder:
    """Ask a venue to work a new order.

    Orders of one account sharing an ``oco_group`` are one-cancels-other: when
    one of them fills, the venue cancels the rest (a stop loss and a take
    profit around a position, say). Adapters of venues without native OCO
    emulate it.
    """

    account_id: AccountId
    client_order_id: ClientOrderId
    instrument_id: InstrumentId
    side: OrderSide
    order_type: OrderType
    quantity: Decimal
    time_in_force: TimeInForce = TimeInForce.GTC
    price: Decimal | None = None
    stop_price: Decimal | None = None
    post_only: bool = False
    oco_group: str | None = None


@dataclass(frozen=True, slots=True)
class AmendOrder:
    """Change the quantity and/or prices of a working order (None keeps the value)."""

    account_id: AccountId
    client_order_id: ClientOrderId
    instrument_id: InstrumentId
    quantity: Decimal | None = None
    price: Decimal | None = None
    stop_price: Decimal | None = None


@dataclass(frozen=True, slots=True)
class CancelOrder:
    """Stop working an order."""

    account_id: AccountId
    client_order_id: ClientOrderId
    instrument_id: InstrumentId


class ExecutionReport(NamedTuple):
    """The venue's account of one thing that happened to one order.

    ``order_status`` is the order's status at the venue after this report;
    ``filled_quantity`` is cumulative and ``leaves_quantity`` is what is still
    working (zero once the order is done). Fill fields (``last_*``,
    ``trade_id``, ``liquidity``, ``commission``) are set on TRADE reports.
    ``report_id`` increases by one with every report a venue emits.

    An immutable named tuple rather than a dataclass: a matching engine makes
    one or two per order operation, and a tuple is built several times faster.
    It equals only another ExecutionReport (never a bare tuple).
    """

    report_id: int
    exec_type: ExecType
    timestamp: datetime
    account_id: AccountId
    instrument_id: InstrumentId
    client_order_id: ClientOrderId
    venue_order_id: VenueOrderId | None
    side: OrderSide
    order_type: OrderType
    time_in_force: TimeInForce
    order_status: OrderStatus
    quantity: Decimal
    filled_quantity: Decimal
    leaves_quantity: Decimal
    price: Decimal | None = None
    stop_price: Decimal | None = None
    last_quantity: Decimal | None = None
    last_price: Decimal | None = None
    trade_id: VenueTradeId | None = None
    liquidity: Liquidity | None = None
    commission: Decimal = ZERO
    commission_currency: str | None = None
    reason: str | None = None

    def __eq__(self, other: object) -> bool:
        return type(other) is ExecutionReport and tuple.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return tuple.__hash__(self)


@dataclass(frozen=True, slots=True)
class CommandRejected:
    """A cancel or amend the venue refused (FIX's order-cancel-reject).

    ``order_status`` is the order's status at the venue when it is known, and
    None when the venue has no such working order.
    """

    report_id: int
    timestamp: datetime
    account_id: AccountId
    instrument_id: InstrumentId
    client_order_id: ClientOrderId
    command: str  # "CANCEL" or "AMEND"
    reason: str
    order_status: OrderStatus | None = None


@dataclass(frozen=True, slots=True)
class CommandFailed:
    """A command whose delivery to the venue failed before any report about it.

    ``failure`` says what the sender may do: resend a TRANSIENT one (after
    ``retry_after`` seconds if the venue said so), ask the venue about an
    AMBIGUOUS one before resending it (it may be working), never resend a
    PERMANENT one.
    """

    timestamp: datetime
    command: SubmitOrder | CancelOrder | AmendOrder
    failure: DeliveryFailure
    reason: str
    retry_after: float | None = None


VenueReport = ExecutionReport | CommandRejected | CommandFailed


@dataclass(frozen=True, slots=True)
class Balance:
    """One currency in an account: ``total`` = ``free`` + ``locked`` (held for working orders)."""

    currency: str
    total: Decimal
    free: Decimal
    locked: Decimal


@dataclass(frozen=True, slots=True)
class VenuePosition:
    """A net holding at a venue: positive long, negative short."""

    instrument_id: InstrumentId
    quantity: Decimal
    average_price: Decimal | None


@dataclass(frozen=True, slots=True)
class VenueCapabilities:
    """What a venue can do beyond submit and cancel.

    An adapter declares it as a ``capabilities`` attribute; one that declares nothing
    has the defaults. ``amend``: the venue changes a working order in place; without it
    the order manager amends by cancel-replace (docs/order-management.md).
    """

    amend: bool = True


DEFAULT_CAPABILITIES = VenueCapabilities()


def capabilities_of(venue: object) -> VenueCapabilities:
    """The capabilities ``venue`` declares, or the defaults when it declares none."""
    declared = getattr(venue, "capabilities", None)
    return declared if isinstance(declared, VenueCapabilities) else DEFAULT_CAPABILITIES


ReportHandler = Callable[[VenueReport], object]  # whatever a handler returns is ignored
MarketDataHandler = Callable[[MarketData], object]


@runtime_checkable
class VenueAdapter(Protocol):
    """A place to trade. Every venue adapter implements exactly this (and may declare
    its :class:`VenueCapabilities` as ``capabilities``)."""

    @property
    def venue(self) -> str:
        """The venue's code, as in ``Instrument.exchange`` (e.g. ``SIM``)."""
        ...

    def instruments(self) -> list[Instrument]:
        """Everything tradable at the venue."""
        ...

    def submit(self, command: SubmitOrder) -> None: ...

    def cancel(self, command: CancelOrder) -> None: ...

    def amend(self, command: AmendOrder) -> None: ...

    def on_report(self, handler: ReportHandler) -> None:
        """Deliver every execution report and command rejection to ``handler``, in order."""
        ...

    def on_market_data(self, handler: MarketDataHandler) -> None:
        """Deliver quotes, trade ticks, book snapshots and bars to ``handler``."""
        ...

    async def order_status(
        self, account_id: AccountId, client_order_id: ClientOrderId
    ) -> ExecutionReport | None:
        """The order's latest state as a STATUS report (working or finished), or None if
        the venue has never accepted it (a targeted query, for an ambiguous outcome)."""
        ...

    async def open_orders(self, account_id: AccountId) -> list[ExecutionReport]:
        """The account's working orders, as STATUS reports."""
        ...

    async def fills_since(self, account_id: AccountId, since: datetime) -> list[ExecutionReport]:
        """The account's TRADE reports at or after ``since``, oldest first."""
        ...

    async def balances(self, account_id: AccountId) -> list[Balance]: ...

    async def positions(self, account_id: AccountId) -> list[VenuePosition]: ...


__all__ = [
    "AmendOrder",
    "Balance",
    "CancelOrder",
    "CommandFailed",
    "CommandRejected",
    "DeliveryFailure",
    "ExecType",
    "ExecutionReport",
    "Liquidity",
    "MarketData",
    "MarketDataHandler",
    "ReportHandler",
    "SubmitOrder",
    "VenueAdapter",
    "VenueCapabilities",
    "VenuePosition",
    "VenueReport",
    "capabilities_of",
]
