"""Checks a venue makes before it accepts an order: the instrument's grid and the type's prices."""

from __future__ import annotations

from decimal import Decimal

from omoitrade.model.enums import OrderType
from omoitrade.model.instruments import Instrument
from omoitrade.model.venue import SubmitOrder

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
