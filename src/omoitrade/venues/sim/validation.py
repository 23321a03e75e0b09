"""Checks a venue makes before it accepts an order: the instrument's grid and the type's prices."""

from __future__ import annotations

from decimal import Decimal

from omoitrade.model.enums import OrderType
from omoitrade.model.instruments import Instrument
from omoitrade.model.venue import AmendOrder, SubmitOrder
from omoitrade.venues.sim.book import BookOrder

_NEEDS_PRICE = (OrderType.LIMIT, OrderType.STOP_LIMIT)
_NEEDS_STOP = (OrderType.STOP, OrderType.STOP_LIMIT)


def quantity_problem(quantity: Decimal, instrument: Instrument) -> str | None:
    """Why ``quantity`` is not tradable in ``instrument`` (the model's rule), or None."""
    rule = instrument.quantity_rule(quantity)
    return None if rule is None else f"quantity {quantity} {rule}"


def price_problem(name: str, price: Decimal, instrument: Instrument) -> str | None:
    """Why ``price`` is not a valid price of ``instrument`` (the model's rule), or None."""
    rule = instrument.price_rule(price)
    return None if rule is None else f"{name} {price} {rule}"


def submit_problem(command: SubmitOrder, instrument: Instrument) -> str | None:
    """The first reason to reject ``command`` at ``instrument``'s venue, or None."""
    if command.instrument_id != instrument.id:
        return f"order is for another instrument than {instrument}"
    if not instrument.is_active:
        return f"instrument {instrument} is not trading"
    problem = quantity_problem(command.quantity, instrument)
    if problem:
        return problem
    for name, value, needed in (
        ("price", command.price, command.order_type in _NEEDS_PRICE),
        ("stop price", command.stop_price, command.order_type in _NEEDS_STOP),
    ):
        if needed and value is None:
            return f"a {command.order_type} order needs a {name}"
        if not needed and value is not None:
            return f"a {command.order_type} order takes no {name}"
        if value is not None and (problem := price_problem(name, value, instrument)):
            return problem
    if command.post_only and command.order_type is not OrderType.LIMIT:
        return "only LIMIT orders can be post-only"
    return None


def finite_problem(command: SubmitOrder | AmendOrder) -> str | None:
    """Which of the command's quantity and prices is not a finite number, or None."""
    values = (
        ("quantity", command.quantity),
        ("price", command.price),
        ("stop price", command.stop_price),
    )
    for name, value in values:
        if value is not None and not value.is_finite():
            return f"{name} {value} is not a finite number"
    return None


def amend_problem(order: BookOrder, c: AmendOrder, instrument: Instrument) -> str | None:
    """Why amend ``c`` cannot apply to the working ``order``, or None."""
    if problem := finite_problem(c):
        return problem
    if c.quantity is not None:
        if problem := quantity_problem(c.quantity, instrument):
            return problem
        if c.quantity <= order.filled:
            return f"quantity {c.quantity} must exceed the filled quantity {order.filled}"
    if c.price is not None:
        if order.price is None:
            return f"a {order.order_type} order takes no price"
        if problem := price_problem("price", c.price, instrument):
            return problem
    if c.stop_price is not None:
        if order.stop_price is None:
            return f"a {order.order_type} order takes no stop price"
        if order.triggered:
            return "the stop price of a triggered order cannot change"
        return price_problem("stop price", c.stop_price, instrument)
    return None
