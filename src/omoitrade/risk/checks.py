"""The stateless pre-trade checks: each looks at one order in its context and names what it breaks.

Working orders count as if filled. A check that cannot be evaluated raises
:class:`Unavailable`, which the engine turns into a rejection (fail closed). A check that
finds nothing returns :data:`PASS` (a shared empty tuple: nothing allocated per order).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from omoitrade.model.enums import LimitType, OrderSide, OrderType
from omoitrade.model.identifiers import InstrumentId, StrategyId
from omoitrade.model.money import ZERO
from omoitrade.model.orders import Order
from omoitrade.model.risk import RiskLimit
from omoitrade.risk.config import RiskConfig
from omoitrade.risk.decisions import ReasonCode, Rejection

PASS: tuple[Rejection, ...] = ()
"""What a check returns when the order breaks none of its rules."""
# enum members bound once, for the checks every order meets: cheaper than the class's
_BUY, _MARKET = OrderSide.BUY, OrderType.MARKET


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
    amend_of: Order | None = None  # the order as it stands, when ``order`` is an amend of it
    strategy_id: StrategyId | None = None
    # ``limits`` grouped by type in their order (the engine keeps one per portfolio), so
    # that ``limits_for`` reads only the rows of one type; None: group nothing, scan all.
    by_type: Mapping[LimitType, Sequence[RiskLimit]] | None = None
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
        rows = self.limits if self.by_type is None else self.by_type.get(limit_type, ())
        if not rows:
            return []
        order_instrument = self.order.instrument_id
        return [  # (``is None`` first: a UUID's == against None is a slow Python call)
            limit
            for limit in rows
            if limit.limit_type is limit_type
            and (limit.instrument_id is None or limit.instrument_id == order_instrument)
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
def check_restricted(ctx: OrderContext) -> Sequence[Rejection]:
    if ctx.order.instrument_id in ctx.config.restricted_instruments:
        return [
            Rejection(ReasonCode.RESTRICTED_INSTRUMENT, f"{ctx.order.instrument_id} is restricted")
        ]
    return PASS


def check_order_size(ctx: OrderContext) -> Sequence[Rejection]:
    return [
        _too_big(limit, ctx.order.quantity, "order quantity", ReasonCode.ORDER_SIZE)
        for limit in ctx.limits_for(LimitType.MAX_ORDER_SIZE)
        if ctx.order.quantity > limit.limit_value
    ]


def check_notional(ctx: OrderContext) -> Sequence[Rejection]:
    limits = ctx.limits_for(LimitType.MAX_NOTIONAL)
    if not limits:
        return PASS
    notional = ctx.order.quantity * ctx.order_price(ctx.order)
    return [
        _too_big(limit, notional, "order notional", ReasonCode.NOTIONAL)
        for limit in limits
        if notional > limit.limit_value
    ]


def check_price_collar(ctx: OrderContext) -> Sequence[Rejection]:
    collar = ctx.config.price_collar
    order = ctx.order
    if collar is None or (order.price is None and order.stop_price is None):
        return PASS
    prices = (("price", order.price), ("stop_price", order.stop_price))
    reference = ctx.reference_price(order.instrument_id)
    return [
        Rejection(
            ReasonCode.PRICE_COLLAR,
            f"{name} {value} is more than {collar:%} from the reference price {reference}",
        )
        for name, value in prices
        if value is not None and abs(value - reference) > collar * reference
    ]


def check_position(ctx: OrderContext) -> Sequence[Rejection]:
    limits = ctx.limits_for(LimitType.MAX_POSITION)
    if not limits:
        return PASS
    order = ctx.order
    before = ctx.position(order.instrument_id) + signed(
        order.side, ctx.working_total(order.instrument_id, order.side)
    )
    after = before + signed(order.side, order.leaves_quantity)
    return [
        _too_big(limit, abs(after), "position with working orders", ReasonCode.POSITION_LIMIT)
        for limit in limits
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


def check_gross_exposure(ctx: OrderContext) -> Sequence[Rejection]:
    found: list[Rejection] = []
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


def check_net_exposure(ctx: OrderContext) -> Sequence[Rejection]:
    bound = ctx.config.max_net_exposure
    if bound is None:
        return PASS
    before, after = _net(ctx, False), _net(ctx, True)
    if after > bound and after > before:
        return [
            Rejection(ReasonCode.NET_EXPOSURE, f"net exposure {after} exceeds the limit {bound}")
        ]
    return PASS


def _openings(ctx: OrderContext, total: Decimal, sells: Mapping[InstrumentId, Decimal]) -> Decimal:
    """``total`` plus the cash tied up by the part of the sells that would open a short."""
    for instrument_id, quantity in sells.items():
        opening = quantity - max(ctx.position(instrument_id), ZERO)
        if opening > 0:
            total += opening * ctx.reference_price(instrument_id)
    return total


def _costs(ctx: OrderContext) -> tuple[Decimal, Decimal]:
    """Cash the orders tie up (every buy, and the part of the sells that would open a
    short): the working orders', and theirs with the order's.

    One pass over the working orders serves both sums; the additions (and the prices
    looked up, so which one is missing first) come in the same order as summing the two
    order lists one after the other, so the results are the same to the last digit.
    """
    buys = ZERO
    sells: dict[InstrumentId, Decimal] = {}
    for o in ctx.working:
        if o.side is _BUY:
            buys += o.leaves_quantity * ctx.order_price(o)
        else:
            sells[o.instrument_id] = sells.get(o.instrument_id, ZERO) + o.leaves_quantity
    before = _openings(ctx, buys, sells)
    order = ctx.order
    if order.side is _BUY:
        return before, _openings(ctx, buys + order.leaves_quantity * ctx.order_price(order), sells)
    with_order = dict(sells)
    with_order[order.instrument_id] = sells.get(order.instrument_id, ZERO) + order.leaves_quantity
    return before, _openings(ctx, buys, with_order)


def check_buying_power(ctx: OrderContext, balance: Decimal | None) -> Sequence[Rejection]:
    if not ctx.config.check_buying_power:
        return PASS
    if balance is None:
        raise Unavailable(ReasonCode.UNKNOWN_ACCOUNT, "the account balance is not known")
    before, after = _costs(ctx)
    if after > balance and after > before:
        return [
            Rejection(
                ReasonCode.BUYING_POWER,
                f"orders need {after} with working orders, available {balance}",
            )
        ]
    return PASS


def check_open_orders(ctx: OrderContext) -> Sequence[Rejection]:
    bound = ctx.config.max_open_orders
    if bound is not None and len(ctx.working) + 1 > bound:
        return [
            Rejection(
                ReasonCode.MAX_OPEN_ORDERS,
                f"{len(ctx.working) + 1} open orders would exceed the limit {bound}",
            )
        ]
    return PASS


def check_market_price(ctx: OrderContext) -> Sequence[Rejection]:
    """A market order cannot be valued, nor its cost known, without a market price."""
    if ctx.order.order_type is _MARKET:
        ctx.reference_price(ctx.order.instrument_id)
    return PASS


Check = Callable[[OrderContext], Sequence[Rejection]]

STATELESS_CHECKS: tuple[Check, ...] = (
    check_market_price,
    check_restricted,
    check_order_size,
    check_notional,
    check_price_collar,
    check_position,
    check_gross_exposure,
    check_net_exposure,
)


def stateless_checks_for(
    config: RiskConfig, limit_types: Collection[LimitType]
) -> tuple[Check, ...]:
    """The :data:`STATELESS_CHECKS`, in order, less those that cannot find anything under
    ``config`` for a portfolio whose limits are all of ``limit_types``.

    Each one left out would return :data:`PASS` at once, before reading a price or a
    position, so leaving it out changes no decision; the engine works this out once per
    portfolio (and again when its limits or config change), not per order.
    """
    wanted: dict[Check, bool] = {
        check_market_price: True,  # depends on the order's type alone
        check_restricted: bool(config.restricted_instruments),
        check_order_size: LimitType.MAX_ORDER_SIZE in limit_types,
        check_notional: LimitType.MAX_NOTIONAL in limit_types,
        check_price_collar: config.price_collar is not None,
        check_position: LimitType.MAX_POSITION in limit_types,
        check_gross_exposure: LimitType.MAX_GROSS_EXPOSURE in limit_types,
        check_net_exposure: config.max_net_exposure is not None,
    }
    return tuple(check for check in STATELESS_CHECKS if wanted[check])
