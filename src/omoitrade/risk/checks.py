"""The stateless pre-trade checks: each looks at one order in its context and names what it breaks.

Working orders count as if filled. A check that cannot be evaluated raises
:class:`Unavailable`, which the engine turns into a rejection (fail closed).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from omoitrade.model.enums import LimitType, OrderSide, OrderType
from omoitrade.model.identifiers import InstrumentId
from omoitrade.model.money import ZERO
from omoitrade.model.orders import Order
from omoitrade.model.risk import RiskLimit
from omoitrade.risk.config import RiskConfig
from omoitrade.risk.decisions import ReasonCode, Rejection


class Unavailable(Exception):
    """A check lacks data it needs; carries the fail-closed rejection."""

    def __init__(self, code: ReasonCode, message: str) -> None:
        super().__init__(message)
        self.rejection = Rejection(code, message)


@dataclass(slots=True)
class OrderContext:
    """An order (as it would be after an amend) and what the checks need to judge it."""

    order: Order
    config: RiskConfig
    limits: Sequence[RiskLimit]
    positions: Mapping[InstrumentId, Decimal]
    working: Sequence[Order]  # the portfolio's other open orders (never the order itself)
    price_of: Callable[[InstrumentId], Decimal | None]
    _prices: dict[InstrumentId, Decimal] = field(default_factory=dict)

    def reference_price(self, instrument_id: InstrumentId) -> Decimal:
        """The instrument's reference price; :class:`Unavailable` when there is none."""
        price = self._prices.get(instrument_id)
        if price is None:
            price = self.price_of(instrument_id)
            if price is None or price <= 0:
                raise Unavailable(
                    ReasonCode.NO_REFERENCE_PRICE, f"no reference price for {instrument_id}"
                )
            self._prices[instrument_id] = price
        return price

    def limits_for(self, limit_type: LimitType) -> list[RiskLimit]:
        """Limits of a type that apply to the order's instrument (or to every instrument)."""
        return [
            limit
            for limit in self.limits
            if limit.limit_type is limit_type
            and limit.instrument_id in (None, self.order.instrument_id)
        ]

    def position(self, instrument_id: InstrumentId) -> Decimal:
        return self.positions.get(instrument_id, ZERO)

    def working_total(self, instrument_id: InstrumentId, side: OrderSide) -> Decimal:
        return sum(
            (
                o.leaves_quantity
                for o in self.working
                if o.instrument_id == instrument_id and o.side is side
            ),
            ZERO,
        )

    def order_price(self, order: Order) -> Decimal:
        """What one unit of ``order`` costs at most: its limit, else its stop, else the market."""
        if order.price is not None:
            return order.price
        if order.stop_price is not None:
            return order.stop_price
        return self.reference_price(order.instrument_id)


def signed(side: OrderSide, quantity: Decimal) -> Decimal:
    return quantity if side is OrderSide.BUY else -quantity


def reduces_position(ctx: OrderContext) -> bool:
    """Whether the order, with the working orders on its side, only shrinks the position."""
    order = ctx.order
    position = ctx.position(order.instrument_id)
    if position == 0 or (position > 0) == (order.side is OrderSide.BUY):
        return False
    pending = ctx.working_total(order.instrument_id, order.side) + order.leaves_quantity
    return pending <= abs(position)


def _too_big(limit: RiskLimit, value: Decimal, what: str, code: ReasonCode) -> Rejection:
    where = f" in {limit.instrument_id}" if limit.instrument_id is not None else ""
    return Rejection(code, f"{what} {value} exceeds the limit {limit.limit_value}{where}")


def _grows_past(limit: RiskLimit, before: Decimal, after: Decimal) -> bool:
    """Breaks the limit: over it and bigger than without the order (reducing always passes)."""
    return after > limit.limit_value and after > before


# --- the checks -----------------------------------------------------------------------------
def check_restricted(ctx: OrderContext) -> list[Rejection]:
    if ctx.order.instrument_id in ctx.config.restricted_instruments:
        return [
            Rejection(ReasonCode.RESTRICTED_INSTRUMENT, f"{ctx.order.instrument_id} is restricted")
        ]
    return []


def check_order_size(ctx: OrderContext) -> list[Rejection]:
    return [
        _too_big(limit, ctx.order.quantity, "order quantity", ReasonCode.ORDER_SIZE)
        for limit in ctx.limits_for(LimitType.MAX_ORDER_SIZE)
        if ctx.order.quantity > limit.limit_value
    ]


def check_notional(ctx: OrderContext) -> list[Rejection]:
    limits = ctx.limits_for(LimitType.MAX_NOTIONAL)
    if not limits:
        return []
    notional = ctx.order.quantity * ctx.order_price(ctx.order)
    return [
        _too_big(limit, notional, "order notional", ReasonCode.NOTIONAL)
        for limit in limits
        if notional > limit.limit_value
    ]


def check_price_collar(ctx: OrderContext) -> list[Rejection]:
    collar = ctx.config.price_collar
    order = ctx.order
    prices = [("price", order.price), ("stop_price", order.stop_price)]
    if collar is None or all(value is None for _, value in prices):
        return []
    reference = ctx.reference_price(order.instrument_id)
    return [
        Rejection(
            ReasonCode.PRICE_COLLAR,
            f"{name} {value} is more than {collar:%} from the reference price {reference}",
        )
        for name, value in prices
        if value is not None and abs(value - reference) > collar * reference
    ]


def check_position(ctx: OrderContext) -> list[Rejection]:
    order = ctx.order
    before = ctx.position(order.instrument_id) + signed(
        order.side, ctx.working_total(order.instrument_id, order.side)
    )
    after = before + signed(order.side, order.leaves_quantity)
    return [
        _too_big(limit, abs(after), "position with working orders", ReasonCode.POSITION_LIMIT)
        for limit in ctx.limits_for(LimitType.MAX_POSITION)
        if _grows_past(limit, abs(before), abs(after))
    ]


def _extremes(ctx: OrderContext, include_order: bool) -> dict[InstrumentId, tuple[Decimal, ...]]:
    """Per instrument: the position if every working buy filled, and if every sell filled."""
    orders = [*ctx.working, ctx.order] if include_order else list(ctx.working)
    buys: dict[InstrumentId, Decimal] = {}
    sells: dict[InstrumentId, Decimal] = {}
    for o in orders:
        book = buys if o.side is OrderSide.BUY else sells
        book[o.instrument_id] = book.get(o.instrument_id, ZERO) + o.leaves_quantity
    instruments = {*ctx.positions, *buys, *sells}
    return {
        i: (ctx.position(i) + buys.get(i, ZERO), ctx.position(i) - sells.get(i, ZERO))
        for i in instruments
    }


def _gross(ctx: OrderContext, include_order: bool, only: InstrumentId | None) -> Decimal:
    total = ZERO
    for instrument_id, (high, low) in _extremes(ctx, include_order).items():
        if (only is not None and instrument_id != only) or (high == 0 and low == 0):
            continue
        total += max(abs(high), abs(low)) * ctx.reference_price(instrument_id)
    return total


def check_gross_exposure(ctx: OrderContext) -> list[Rejection]:
    found = []
    for limit in ctx.limits_for(LimitType.MAX_GROSS_EXPOSURE):
        before = _gross(ctx, False, limit.instrument_id)
        after = _gross(ctx, True, limit.instrument_id)
        if _grows_past(limit, before, after):
            found.append(_too_big(limit, after, "gross exposure", ReasonCode.GROSS_EXPOSURE))
    return found


def _net(ctx: OrderContext, include_order: bool) -> Decimal:
    long_side = short_side = ZERO
    for instrument_id, (high, low) in _extremes(ctx, include_order).items():
        if high == 0 and low == 0:
            continue
        price = ctx.reference_price(instrument_id)
        long_side += high * price
        short_side += low * price
    return max(abs(long_side), abs(short_side))


def check_net_exposure(ctx: OrderContext) -> list[Rejection]:
    bound = ctx.config.max_net_exposure
    if bound is None:
        return []
    before, after = _net(ctx, False), _net(ctx, True)
    if after > bound and after > before:
        return [
            Rejection(ReasonCode.NET_EXPOSURE, f"net exposure {after} exceeds the limit {bound}")
        ]
    return []


def _cost(ctx: OrderContext, orders: Sequence[Order]) -> Decimal:
    """Cash the orders tie up: every buy, and the part of the sells that would open a short."""
    total = ZERO
    sells: dict[InstrumentId, Decimal] = {}
    for o in orders:
        if o.side is OrderSide.BUY:
            total += o.leaves_quantity * ctx.order_price(o)
        else:
            sells[o.instrument_id] = sells.get(o.instrument_id, ZERO) + o.leaves_quantity
    for instrument_id, quantity in sells.items():
        opening = quantity - max(ctx.position(instrument_id), ZERO)
        if opening > 0:
            total += opening * ctx.reference_price(instrument_id)
    return total


def check_buying_power(ctx: OrderContext, balance: Decimal | None) -> list[Rejection]:
    if not ctx.config.check_buying_power:
        return []
    if balance is None:
        raise Unavailable(ReasonCode.UNKNOWN_ACCOUNT, "the account balance is not known")
    before = _cost(ctx, ctx.working)
    after = _cost(ctx, [*ctx.working, ctx.order])
    if after > balance and after > before:
        return [
            Rejection(
                ReasonCode.BUYING_POWER,
                f"orders need {after} with working orders, available {balance}",
            )
        ]
    return []


def check_open_orders(ctx: OrderContext) -> list[Rejection]:
    bound = ctx.config.max_open_orders
    if bound is not None and len(ctx.working) + 1 > bound:
        return [
            Rejection(
                ReasonCode.MAX_OPEN_ORDERS,
                f"{len(ctx.working) + 1} open orders would exceed the limit {bound}",
            )
        ]
    return []


def check_market_price(ctx: OrderContext) -> list[Rejection]:
    """A market order cannot be valued, nor its cost known, without a market price."""
    if ctx.order.order_type is OrderType.MARKET:
        ctx.reference_price(ctx.order.instrument_id)
    return []


STATELESS_CHECKS: tuple[Callable[[OrderContext], list[Rejection]], ...] = (
    check_market_price,
    check_restricted,
    check_order_size,
    check_notional,
    check_price_collar,
    check_position,
    check_gross_exposure,
    check_net_exposure,
)
