"""Orders: what was asked of a venue, and how much of it has been done.

An order moves only through :data:`ORDER_LIFECYCLE`. Fills apply through the
order: ``filled_quantity`` only grows and never passes ``quantity``;
``average_fill_price`` is the quantity-weighted mean of the fill prices;
FILLED, CANCELLED and REJECTED are terminal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, localcontext

from omoitrade.core.errors import ValidationError
from omoitrade.model.enums import OrderSide, OrderStatus, OrderType, TimeInForce
from omoitrade.model.fields import normalize_fields
from omoitrade.model.identifiers import (
    ClientOrderId,
    InstrumentId,
    OrderId,
    PortfolioId,
    SignalId,
    VenueOrderId,
)
from omoitrade.model.instruments import Instrument
from omoitrade.model.money import (
    ZERO,
    is_multiple,
    require_non_negative,
    require_positive,
    to_decimal,
)
from omoitrade.model.state_machines import ORDER_LIFECYCLE, OrderTrigger
from omoitrade.model.timestamps import require_utc

_AVERAGE_PRECISION = 60  # digits used while averaging fills, far beyond any venue's grid


class OrderInvalid(ValidationError):
    """An order breaks a rule of its instrument or of its type."""

    code = "order-invalid"


@dataclass(slots=True, eq=False)
class Order:
    """An instruction to buy or sell, known by ``id`` and by the caller's ``client_order_id``."""

    id: OrderId
    portfolio_id: PortfolioId
    instrument_id: InstrumentId
    client_order_id: ClientOrderId
    order_type: OrderType
    side: OrderSide
    quantity: Decimal
    created_at: datetime
    price: Decimal | None = None
    stop_price: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    signal_id: SignalId | None = None
    status: OrderStatus = OrderStatus.PENDING
    reject_reason: str | None = None
    cancel_reason: str | None = None
    exchange_order_id: VenueOrderId | None = None
    filled_quantity: Decimal = ZERO
    average_fill_price: Decimal | None = None
    commission: Decimal = ZERO
    submitted_at: datetime | None = None
    filled_at: datetime | None = None
    updated_at: datetime | None = None

    def __post_init__(self) -> None:
        normalize_fields(self)
        for name in ("created_at", "submitted_at", "filled_at", "updated_at"):
            require_utc(name, getattr(self, name))
        if self.updated_at is None:
            self.updated_at = self.created_at

    # --- derived values -------------------------------------------------------------------
    @property
    def leaves_quantity(self) -> Decimal:
        """What is still to be filled while the order is open (zero once terminal)."""
        return ZERO if self.is_terminal else self.quantity - self.filled_quantity

    @property
    def is_terminal(self) -> bool:
        return ORDER_LIFECYCLE.is_terminal(self.status)

    @property
    def is_open(self) -> bool:
        return not self.is_terminal

    # --- lifecycle ------------------------------------------------------------------------
    def submit(self, at: datetime, exchange_order_id: VenueOrderId | None = None) -> None:
        """PENDING -> SUBMITTED: the order has been sent to its venue."""
        self._move(OrderTrigger.SUBMIT, at)
        self.submitted_at = at
        if exchange_order_id is not None:
            self.exchange_order_id = exchange_order_id

    def acknowledge(self, exchange_order_id: VenueOrderId, at: datetime) -> None:
        """Record the venue's id for a submitted order (no state change)."""
        if self.status not in (OrderStatus.SUBMITTED, OrderStatus.PARTIAL):
            raise ValidationError(
                "status", f"must be SUBMITTED or PARTIAL to acknowledge, is {self.status}"
            )
        if self.exchange_order_id is not None and self.exchange_order_id != exchange_order_id:
            raise ValidationError(
                "exchange_order_id",
                f"already {self.exchange_order_id}, cannot become {exchange_order_id}",
            )
        self.exchange_order_id = exchange_order_id
        self.updated_at = at

    def apply_fill(
        self, quantity: Decimal, price: Decimal, commission: Decimal, at: datetime
    ) -> OrderStatus:
        """Add one fill; moves to PARTIAL or FILLED and returns the new status.

        A fill that would take ``filled_quantity`` past ``quantity`` is refused
        and changes nothing.
        """
        trigger = (
            OrderTrigger.FILL
            if self.filled_quantity + quantity == self.quantity
            else OrderTrigger.PARTIAL_FILL
        )
        next_status = ORDER_LIFECYCLE.next_state(self.status, trigger)
        if quantity <= 0:
            raise ValidationError("fill.quantity", "must be greater than 0", quantity)
        if price <= 0:
            raise ValidationError("fill.price", "must be greater than 0", price)
        require_non_negative("fill.commission", commission)
        new_filled = self.filled_quantity + quantity
        if new_filled > self.quantity:
            raise ValidationError(
                "fill.quantity",
                f"would fill {new_filled}, more than the order quantity {self.quantity}",
                quantity,
            )
        with localcontext() as ctx:
            ctx.prec = _AVERAGE_PRECISION
            previous = (self.average_fill_price or ZERO) * self.filled_quantity
            average = (previous + price * quantity) / new_filled
        self.average_fill_price = +average  # rounds to the ambient (28-digit) precision
        self.filled_quantity = new_filled
        self.commission += commission
        self.status = next_status
        self.updated_at = at
        if next_status is OrderStatus.FILLED:
            self.filled_at = at
        return next_status

    def amend(
        self,
        at: datetime,
        quantity: Decimal | None = None,
        price: Decimal | None = None,
        stop_price: Decimal | None = None,
    ) -> None:
        """Change quantity and/or prices of an open order; never below what is filled.

        Grid rules (tick, lot, minimum) need the instrument: the order manager
        re-runs :func:`check_order` on the amended order before sending it.
        """
        ORDER_LIFECYCLE.next_state(self.status, OrderTrigger.AMEND)
        for field, value in (("price", price), ("stop_price", stop_price)):
            if value is not None:
                require_positive(field, to_decimal(field, value))
        if quantity is not None and to_decimal("quantity", quantity) <= self.filled_quantity:
            raise ValidationError(
                "quantity", f"must exceed the filled quantity {self.filled_quantity}", quantity
            )
        if price is not None and self.price is None:
            raise ValidationError("price", f"cannot be set on a {self.order_type} order", price)
        if stop_price is not None and self.stop_price is None:
            raise ValidationError(
                "stop_price", f"cannot be set on a {self.order_type} order", stop_price
            )
        if quantity is not None:
            self.quantity = quantity
        if price is not None:
            self.price = price
        if stop_price is not None:
            self.stop_price = stop_price
        self.updated_at = at

    def cancel(self, reason: str, at: datetime) -> None:
        self._move(OrderTrigger.CANCEL, at)
        self.cancel_reason = reason

    def reject(self, reason: str, at: datetime) -> None:
        self._move(OrderTrigger.REJECT, at)
        self.reject_reason = reason

    def _move(self, trigger: OrderTrigger, at: datetime) -> None:
        self.status = ORDER_LIFECYCLE.next_state(self.status, trigger)
        self.updated_at = at


def order_violations(order: Order, instrument: Instrument) -> list[OrderInvalid]:
    """Every rule ``order`` breaks against ``instrument`` (empty when valid)."""
    found: list[OrderInvalid] = []

    def broken(field: str, rule: str, value: object = None) -> None:
        found.append(OrderInvalid(field, rule, value))

    if order.instrument_id != instrument.id:
        broken("instrument_id", f"does not match the instrument {instrument}", order.instrument_id)
    elif not instrument.is_active:
        broken("instrument_id", f"instrument {instrument} is not active", order.instrument_id)
    if order.quantity <= 0:
        broken("quantity", "must be greater than 0", order.quantity)
    else:
        if not is_multiple(order.quantity, instrument.lot_size):
            broken(
                "quantity",
                f"must be a multiple of the lot size {instrument.lot_size}",
                order.quantity,
            )
        if order.quantity < instrument.min_quantity:
            broken(
                "quantity",
                f"must be at least the minimum quantity {instrument.min_quantity}",
                order.quantity,
            )
    needs_price = order.order_type in (OrderType.LIMIT, OrderType.STOP_LIMIT)
    needs_stop = order.order_type in (OrderType.STOP, OrderType.STOP_LIMIT)
    for field, needed, value in (
        ("price", needs_price, order.price),
        ("stop_price", needs_stop, order.stop_price),
    ):
        if needed and value is None:
            broken(field, f"is required for a {order.order_type} order")
        elif not needed and value is not None:
            broken(field, f"must be empty for a {order.order_type} order", value)
        elif value is not None:
            if value <= 0:
                broken(field, "must be greater than 0", value)
            elif not is_multiple(value, instrument.tick_size):
                broken(field, f"must be a multiple of the tick size {instrument.tick_size}", value)
    return found


def check_order(order: Order, instrument: Instrument) -> None:
    """Raise the first :class:`OrderInvalid` that ``order`` breaks, if any."""
    violations = order_violations(order, instrument)
    if violations:
        raise violations[0]
