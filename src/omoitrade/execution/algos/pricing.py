"""How a child is priced: a market order, or a limit relative to the quote.

The reference is the near touch (the bid for a buy: passive), the mid (rounded to the
passive side) or the far touch (the ask for a buy: it crosses); ``offset_ticks`` moves
the price by whole ticks, positive toward more aggressive (up for a buy, down for a
sell). A parent's limit caps every child's price; a parent with a limit never sends a
market child: that child becomes a limit at the parent's limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from enum import StrEnum

from omoitrade.model.enums import OrderSide, OrderType
from omoitrade.model.instruments import Instrument
from omoitrade.model.market_data import Quote
from omoitrade.model.money import round_to_step


class PriceReference(StrEnum):
    MARKET = "MARKET"  # a market order (no quote needed)
    NEAR_TOUCH = "NEAR_TOUCH"  # join the best price on our side
    MID = "MID"
    FAR_TOUCH = "FAR_TOUCH"  # take the best price on the other side


@dataclass(frozen=True, slots=True)
class ChildPricing:
    """Where children are priced; see the module docstring."""

    reference: PriceReference = PriceReference.FAR_TOUCH
    offset_ticks: int = 0


MARKET_PRICING = ChildPricing(PriceReference.MARKET)


def child_terms(
    pricing: ChildPricing,
    instrument: Instrument,
    side: OrderSide,
    quote: Quote | None,
    limit: Decimal | None,
) -> tuple[OrderType, Decimal | None] | None:
    """(order type, price) of a child now, or None when it cannot be priced (no quote)."""
    if pricing.reference is PriceReference.MARKET:
        return (OrderType.MARKET, None) if limit is None else (OrderType.LIMIT, limit)
    if quote is None:
        return None if limit is None else (OrderType.LIMIT, limit)
    buy = side is OrderSide.BUY
    if pricing.reference is PriceReference.MID:
        rounding = ROUND_FLOOR if buy else ROUND_CEILING
        base = round_to_step(quote.mid, instrument.tick_size, rounding)
    elif (pricing.reference is PriceReference.NEAR_TOUCH) == buy:
        base = quote.bid_price
    else:
        base = quote.ask_price
    shift = instrument.tick_size * pricing.offset_ticks
    price = base + shift if buy else base - shift
    if limit is not None:
        price = min(price, limit) if buy else max(price, limit)
    if price <= 0:
        return None
    return OrderType.LIMIT, price
