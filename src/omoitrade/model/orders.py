"""Orders: what was asked of a venue, and how much of it has been done.

An order moves only through :data:`ORDER_LIFECYCLE`. Fills apply through the
order (:meth:`Order.apply_trade`, which checks that the trade is of this order):
``filled_quantity`` only grows and never passes ``quantity``;
``average_fill_price`` is the quantity-weighted mean of the fill prices (to 60
digits); FILLED, CANCELLED and REJECTED are terminal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Context, Decimal, DivisionByZero, InvalidOperation, Overflow
from typing import Any

from omoitrade.core.errors import ValidationError
from omoitrade.model.enums import OrderSide, OrderStatus, OrderType, TimeInForce
from omoitrade.model.fields import normalize_fields, require_timestamp
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
    EXACT,
    ZERO,
    require_non_negative,
    require_positive,
    to_decimal,
)
from omoitrade.model.state_machines import ORDER_LIFECYCLE, OrderTrigger
from omoitrade.model.timestamps import require_utc
from omoitrade.model.trades import Trade

_AVERAGE_PRECISION = 60  # digits of the average fill price, far beyond any venue's grid
_AVERAGE = Context(prec=_AVERAGE_PRECISION, traps=[InvalidOperation, DivisionByZero, Overflow])
_TERMINAL = ORDER_LIFECYCLE.terminal  # the lifecycle's terminal states (a frozenset)
_FILL, _PARTIAL_FILL = OrderTrigger.FILL, OrderTrigger.PARTIAL_FILL
_SUBMIT = OrderTrigger.SUBMIT
_FILLED = OrderStatus.FILLED
_ACKNOWLEDGEABLE = frozenset((OrderStatus.SUBMITTED, OrderStatus.PARTIAL))


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
    oco_group: str | None = None  # orders sharing it are one-cancels-other at the venue

    def __post_init__(self) -> None:
        normalize_fields(self)
        created = self.created_at
        if not (  # a new order's usual times, which require_utc passes at once
            type(created) is datetime
            and created.tzinfo is UTC
            and self.submitted_at is None
            and self.filled_at is None
            and self.updated_at is None
        ):
            for name in ("created_at", "submitted_at", "filled_at", "updated_at"):
                require_utc(name, getattr(self, name))
        if self.updated_at is None:
            self.updated_at = self.created_at
        group = self.oco_group
        if group is not None and not (isinstance(group, str) and 0 < len(group) <= 64):
            raise ValidationError("oco_group", "must be a text of 1 to 64 characters", group)

    # --- derived values -------------------------------------------------------------------
    @property
    def leaves_quantity(self) -> Decimal:
        """What is still to be filled while the order is open (zero once terminal)."""
        return ZERO if self.status in _TERMINAL else self.quantity - self.filled_quantity

    @property
    def is_terminal(self) -> bool:
        return self.status in _TERMINAL

    @property
    def is_open(self) -> bool:
        return self.status not in _TERMINAL  # read on every report: no detour

    # --- lifecycle ------------------------------------------------------------------------
    # Every mutator normalizes its arguments first (Decimals bounded and exact, timestamps
    # UTC, venue ids typed) and assigns the normalized values; a refused call changes nothing.
    def submit(self, at: datetime, exchange_order_id: VenueOrderId | str | None = None) -> None:
        """PENDING -> SUBMITTED: the order has been sent to its venue."""
        venue_id = None if exchange_order_id is None else _venue_order_id(exchange_order_id)
        self._move(_SUBMIT, at)
        self.submitted_at = at
        if venue_id is not None:
            self.exchange_order_id = venue_id

    def acknowledge(self, exchange_order_id: VenueOrderId | str, at: datetime) -> None:
        """Record the venue's id for a submitted order (no state change)."""
        venue_id = (  # an id of exactly its kind is taken as it is
            exchange_order_id
            if type(exchange_order_id) is VenueOrderId
            else _venue_order_id(exchange_order_id)
        )
        if type(at) is not datetime or at.tzinfo is not UTC:  # (else it passes at once)
            require_timestamp("at", at)
        if self.status not in _ACKNOWLEDGEABLE:
            raise ValidationError(
                "status", f"must be SUBMITTED or PARTIAL to acknowledge, is {self.status}"
            )
        if self.exchange_order_id is not None and self.exchange_order_id != venue_id:
            raise ValidationError(
                "exchange_order_id",
                f"already {self.exchange_order_id}, cannot become {venue_id}",
            )
        self.exchange_order_id = venue_id
        self.updated_at = at

    def apply_fill(
        self, quantity: Decimal, price: Decimal, commission: Decimal, at: datetime
    ) -> OrderStatus:
        """Add one fill; moves to PARTIAL or FILLED and returns the new status.

        A fill that would take ``filled_quantity`` past ``quantity`` is refused
        and changes nothing. Prefer :meth:`apply_trade`, which also checks that
        the execution belongs to this order.
        """
        quantity = to_decimal("fill.quantity", quantity)
        price = to_decimal("fill.price", price)
        commission = to_decimal("fill.commission", commission)
        require_timestamp("at", at)
        if quantity <= 0:
            raise ValidationError("fill.quantity", "must be greater than 0", quantity)
        if price <= 0:
            raise ValidationError("fill.price", "must be greater than 0", price)
        require_non_negative("fill.commission", commission)
        return self._fill(quantity, price, commission, at)

    def _fill(
        self, quantity: Decimal, price: Decimal, commission: Decimal, at: datetime
    ) -> OrderStatus:
        """Apply a fill whose values are checked (positive, exact, UTC)."""
        new_filled = EXACT.add(self.filled_quantity, quantity)  # never rounded
        trigger = _FILL if new_filled == self.quantity else _PARTIAL_FILL
        next_status = ORDER_LIFECYCLE.next_state(self.status, trigger)
        if new_filled > self.quantity:
            raise ValidationError(
                "fill.quantity",
                f"would fill {new_filled}, more than the order quantity {self.quantity}",
                quantity,
            )
        a = _AVERAGE
        previous = a.multiply(self.average_fill_price or ZERO, self.filled_quantity)
        average = a.divide(a.add(previous, a.multiply(price, quantity)), new_filled)
        commission = EXACT.add(self.commission, commission)
        # Kept at 60 digits (not rounded to the ambient 28), so that many fills do not
        # accumulate rounding: the average stays within 1e-50 (relative) of the exact mean.
        self.average_fill_price = average
        self.filled_quantity = new_filled
        self.commission = commission
        self.status = next_status
        self.updated_at = at
        if next_status is _FILLED:
            self.filled_at = at
        return next_status

    def apply_trade(self, trade: Trade) -> OrderStatus:
        """Apply an execution of this order (see :meth:`apply_fill`); returns the new status.

        The trade must be of this order, on its instrument and on its side.
        """
        if not isinstance(trade, Trade):
            raise ValidationError("trade", "must be a Trade", trade)
        # (the same id objects, usually: an identity test spares UUID's __eq__)
        if trade.order_id is not self.id and trade.order_id != self.id:
            raise ValidationError(
                "trade.order_id", f"must be {self.id}, the id of its order", trade.order_id
            )
        if (
            trade.instrument_id is not self.instrument_id
            and trade.instrument_id != self.instrument_id
        ):
            raise ValidationError(
                "trade.instrument_id",
                f"must be {self.instrument_id} like its order",
                trade.instrument_id,
            )
        if trade.side is not self.side:
            raise ValidationError("trade.side", f"must be {self.side} like its order", trade.side)
        # A Trade checked its own values when it was made (positive, exact, UTC).
        return self._fill(
            trade.quantity, trade.execution_price, trade.commission, trade.executed_at
        )

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
        require_timestamp("at", at)
        if quantity is not None:
            quantity = to_decimal("quantity", quantity)
        if price is not None:
            price = to_decimal("price", price)
        if stop_price is not None:
            stop_price = to_decimal("stop_price", stop_price)
        ORDER_LIFECYCLE.next_state(self.status, OrderTrigger.AMEND)
        for field, value in (("price", price), ("stop_price", stop_price)):
            if value is not None:
                require_positive(field, value)
        if quantity is not None and quantity <= self.filled_quantity:
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
        _require_reason(reason)
        self._move(OrderTrigger.CANCEL, at)
        self.cancel_reason = reason

    def reject(self, reason: str, at: datetime) -> None:
        _require_reason(reason)
        self._move(OrderTrigger.REJECT, at)
        self.reject_reason = reason

    def _move(self, trigger: OrderTrigger, at: datetime) -> None:
        if type(at) is not datetime or at.tzinfo is not UTC:  # (else it passes at once)
            require_timestamp("at", at)
        self.status = ORDER_LIFECYCLE.next_state(self.status, trigger)
        self.updated_at = at


def _venue_order_id(value: Any) -> VenueOrderId:
    try:
        return VenueOrderId(value)
    except ValidationError as error:
        raise ValidationError("exchange_order_id", error.rule, value) from None


def _require_reason(reason: object) -> None:
    if not isinstance(reason, str):
        raise ValidationError("reason", "must be a string", reason)


def order_violations(order: Order, instrument: Instrument) -> list[OrderInvalid]:
    """Every rule ``order`` breaks against ``instrument`` (empty when valid)."""
    found: list[OrderInvalid] = []
    instrument_id = order.instrument_id
    # (the same id object, usually: an identity test spares UUID's __eq__)
    if instrument_id is not instrument.id and instrument_id != instrument.id:
        found.append(
            OrderInvalid(
                "instrument_id", f"does not match the instrument {instrument}", instrument_id
            )
        )
    elif not instrument.is_active:
        found.append(
            OrderInvalid("instrument_id", f"instrument {instrument} is not active", instrument_id)
        )
    quantity = order.quantity
    for rule in instrument.quantity_rules(quantity):
        found.append(OrderInvalid("quantity", rule, quantity))
    order_type, price, stop_price = order.order_type, order.price, order.stop_price
    if price is None and stop_price is None and order_type not in _PRICED:
        return found  # a market order: no price to have, none given
    for field, needed, value in (
        ("price", order_type in _NEEDS_PRICE, price),
        ("stop_price", order_type in _NEEDS_STOP, stop_price),
    ):
        if needed and value is None:
            found.append(OrderInvalid(field, f"is required for a {order_type} order"))
        elif not needed and value is not None:
            found.append(OrderInvalid(field, f"must be empty for a {order_type} order", value))
        elif value is not None:
            price_rule = instrument.price_rule(value)
            if price_rule is not None:
                found.append(OrderInvalid(field, price_rule, value))
    return found


_NEEDS_PRICE = frozenset((OrderType.LIMIT, OrderType.STOP_LIMIT))
_NEEDS_STOP = frozenset((OrderType.STOP, OrderType.STOP_LIMIT))
_PRICED = _NEEDS_PRICE | _NEEDS_STOP


def check_order(order: Order, instrument: Instrument) -> None:
    """Raise the first :class:`OrderInvalid` that ``order`` breaks, if any."""
    violations = order_violations(order, instrument)
    if violations:
        raise violations[0]
