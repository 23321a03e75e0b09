"""Execution quality: what each order cost against its arrival price and its limit, and how fast.

The order manager tells :class:`ExecutionQuality` when an order was sent
(:meth:`~ExecutionQuality.order_submitted`, with the arrival price: the mid at
decision time), acknowledged and filled. Reports are computed on demand.

Sign convention: slippage is positive when it cost us, for buys and sells alike.
With ``s = +1`` for a buy and ``-1`` for a sell, a fill of ``q`` at ``p`` against a
reference ``r`` (arrival price or limit) costs ``s * (p - r) * q`` in quote currency
and ``s * (p - r) / r * 10_000`` basis points. A buy above arrival or a sell below
it is a cost; a negative figure is an improvement. Against the limit the figure is
normally zero or negative (a limit order fills at its limit or better).
An order's slippage uses its volume-weighted average fill price. Without an
arrival price the arrival slippage is None (unknown), never zero.

Latencies are in microseconds (exact Decimals) from the first sending: resends
do not restart the clock. Times come from the clock unless ``at_ns`` is given.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from decimal import Context, Decimal
from typing import Literal

from omoitrade.core.clock import Clock
from omoitrade.core.errors import Conflict, NotFound, ValidationError
from omoitrade.model.enums import OrderSide
from omoitrade.model.identifiers import InstrumentId, OrderId, StrategyId
from omoitrade.model.instruments import Instrument
from omoitrade.model.money import EXACT, ZERO, require_positive, to_decimal

__all__ = ["ExecutionQuality", "FillQuality", "GroupBy", "OrderQuality", "QualityAggregate"]

GroupBy = Literal["strategy", "venue", "instrument"]

_BPS = Decimal(10_000)
_DIVIDE = Context(prec=28)  # quotients (bps, means) to 28 significant digits


@dataclass(frozen=True, slots=True)
class FillQuality:
    """One fill with its slippage against the arrival price and the limit (None if unknown)."""

    price: Decimal
    quantity: Decimal
    at_ns: int
    slippage_bps: Decimal | None
    slippage_cost: Decimal | None
    limit_slippage_bps: Decimal | None
    limit_slippage_cost: Decimal | None


@dataclass(frozen=True, slots=True)
class OrderQuality:
    """The execution quality of one order; figures are None when unknown or not yet there."""

    order_id: OrderId
    strategy_id: StrategyId | None
    venue: str
    instrument_id: InstrumentId
    quote_currency: str
    side: OrderSide
    quantity: Decimal
    arrival_price: Decimal | None
    limit_price: Decimal | None
    submitted_ns: int
    acknowledged_ns: int | None
    first_fill_ns: int | None
    last_fill_ns: int | None
    filled_quantity: Decimal
    average_price: Decimal | None
    slippage_bps: Decimal | None
    slippage_cost: Decimal | None
    limit_slippage_bps: Decimal | None
    limit_slippage_cost: Decimal | None
    ack_latency_us: Decimal | None
    first_fill_latency_us: Decimal | None
    last_fill_latency_us: Decimal | None
    fills: tuple[FillQuality, ...]


@dataclass(frozen=True, slots=True)
class QualityAggregate:
    """Execution quality of a group of orders (one strategy, venue or instrument).

    ``orders`` counts every order, ``filled_orders`` those with a fill and
    ``measured_orders`` those with a fill and an arrival price: the slippage
    statistics (each order weighing the same) are over the measured ones and None
    without any. ``slippage_cost`` is summed per quote currency. The 95th
    percentile is by nearest rank. Latency means are over the orders that have one.
    """

    key: Hashable
    orders: int
    filled_orders: int
    measured_orders: int
    mean_slippage_bps: Decimal | None
    median_slippage_bps: Decimal | None
    p95_slippage_bps: Decimal | None
    slippage_cost: dict[str, Decimal]
    mean_ack_latency_us: Decimal | None
    mean_first_fill_latency_us: Decimal | None
    mean_last_fill_latency_us: Decimal | None


@dataclass(slots=True)
class _Record:
    order_id: OrderId
    instrument: Instrument
    side: OrderSide
    quantity: Decimal
    strategy_id: StrategyId | None
    arrival_price: Decimal | None
    limit_price: Decimal | None
    submitted_ns: int
    acknowledged_ns: int | None = None
    fills: list[tuple[Decimal, Decimal, int]] = field(default_factory=list)
    filled: Decimal = ZERO


class ExecutionQuality:
    """Records orders and fills; reports per order and aggregates per group."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._records: dict[OrderId, _Record] = {}

    def order_submitted(
        self,
        order_id: OrderId,
        instrument: Instrument,
        side: OrderSide,
        quantity: Decimal,
        *,
        arrival_price: Decimal | None,
        limit_price: Decimal | None = None,
        strategy_id: StrategyId | None = None,
        at_ns: int | None = None,
    ) -> None:
        """An order was first sent; ``arrival_price`` is the mid when it was decided (or None)."""
        if order_id in self._records:
            raise Conflict(f"execution quality: order {order_id} is already recorded")
        if not isinstance(side, OrderSide):
            raise ValidationError("side", "must be an OrderSide", side)
        quantity = _positive("quantity", quantity)
        arrival = None if arrival_price is None else _positive("arrival_price", arrival_price)
        limit = None if limit_price is None else _positive("limit_price", limit_price)
        self._records[order_id] = _Record(
            order_id, instrument, side, quantity, strategy_id, arrival, limit, self._now(at_ns)
        )

    def knows(self, order_id: OrderId) -> bool:
        """Whether ``order_id`` was recorded (an order from before a restart is not)."""
        return order_id in self._records

    def order_acknowledged(self, order_id: OrderId, at_ns: int | None = None) -> None:
        """The venue accepted the order; only the first acknowledgement counts."""
        record = self._record(order_id)
        at = self._after_submit(record, at_ns)
        if record.acknowledged_ns is None:
            record.acknowledged_ns = at

    def fill(
        self, order_id: OrderId, price: Decimal, quantity: Decimal, at_ns: int | None = None
    ) -> None:
        """One fill of ``quantity`` at ``price``; refused if it would overfill the order."""
        record = self._record(order_id)
        price = _positive("price", price)
        quantity = _positive("quantity", quantity)
        at = self._after_submit(record, at_ns)
        filled = EXACT.add(record.filled, quantity)
        if filled > record.quantity:
            raise ValidationError(
                "quantity", f"would fill {filled} of an order for {record.quantity}", quantity
            )
        record.filled = filled
        record.fills.append((price, quantity, at))

    # --- the order manager's hot path --------------------------------------------------------
    # The same effects as the checked methods, for values the order manager has already
    # validated: a sent order's side, quantity and limit (the instrument rules passed), and a
    # fill's price and quantity (its Trade checked them). The arrival price is still checked.
    def trusted_order_submitted(
        self,
        order_id: OrderId,
        instrument: Instrument,
        side: OrderSide,
        quantity: Decimal,
        *,
        arrival_price: Decimal | None,
        limit_price: Decimal | None,
        strategy_id: StrategyId | None,
    ) -> None:
        """:meth:`order_submitted` now, trusting ``side``, ``quantity`` and ``limit_price``."""
        records = self._records
        if order_id in records:
            raise Conflict(f"execution quality: order {order_id} is already recorded")
        arrival = None if arrival_price is None else _positive("arrival_price", arrival_price)
        records[order_id] = _Record(
            order_id,
            instrument,
            side,
            quantity,
            strategy_id,
            arrival,
            limit_price,
            self._clock.timestamp_ns(),
            None,
            [],  # (given: cheaper than the default factory)
            ZERO,
        )

    def acknowledged_if_known(self, order_id: OrderId) -> None:
        """:meth:`order_acknowledged` now, if ``order_id`` is recorded."""
        record = self._records.get(order_id)
        if record is not None:
            at = self._clock.timestamp_ns()
            if at < record.submitted_ns:
                raise ValidationError("at_ns", "must not be before the order was submitted", at)
            if record.acknowledged_ns is None:
                record.acknowledged_ns = at

    def trusted_fill(self, order_id: OrderId, price: Decimal, quantity: Decimal) -> None:
        """:meth:`fill` now, if ``order_id`` is recorded, without re-checking the values."""
        record = self._records.get(order_id)
        if record is None:
            return
        at = self._clock.timestamp_ns()
        if at < record.submitted_ns:
            raise ValidationError("at_ns", "must not be before the order was submitted", at)
        filled = EXACT.add(record.filled, quantity)
        if filled > record.quantity:
            raise ValidationError(
                "quantity", f"would fill {filled} of an order for {record.quantity}", quantity
            )
        record.filled = filled
        record.fills.append((price, quantity, at))

    def order_report(self, order_id: OrderId) -> OrderQuality:
        """The quality of one order so far; NotFound if it was never submitted here."""
        return _report(self._record(order_id))

    def reports(self) -> list[OrderQuality]:
        """Every order's report, in submission order."""
        return [_report(record) for record in self._records.values()]

    def aggregate(self, by: GroupBy) -> dict[Hashable, QualityAggregate]:
        """Aggregates keyed by strategy id (None for orders without one), venue or instrument id."""
        keys: dict[str, Callable[[OrderQuality], Hashable]] = {
            "strategy": lambda r: r.strategy_id,
            "venue": lambda r: r.venue,
            "instrument": lambda r: r.instrument_id,
        }
        if by not in keys:
            raise ValidationError("by", "must be strategy, venue or instrument", by)
        groups: dict[Hashable, list[OrderQuality]] = {}
        for report in self.reports():
            groups.setdefault(keys[by](report), []).append(report)
        return {key: _aggregate(key, reports) for key, reports in groups.items()}

    def forget(self, order_id: OrderId) -> None:
        """Drop an order's record (to bound memory); NotFound if there is none."""
        self._record(order_id)
        del self._records[order_id]

    def _record(self, order_id: OrderId) -> _Record:
        record = self._records.get(order_id)
        if record is None:
            raise NotFound("order", order_id)
        return record

    def _now(self, at_ns: int | None) -> int:
        if at_ns is None:
            return self._clock.timestamp_ns()
        if not isinstance(at_ns, int) or isinstance(at_ns, bool):
            raise ValidationError("at_ns", "must be an int", at_ns)
        return at_ns

    def _after_submit(self, record: _Record, at_ns: int | None) -> int:
        at = self._now(at_ns)
        if at < record.submitted_ns:
            raise ValidationError("at_ns", "must not be before the order was submitted", at)
        return at


def _positive(name: str, value: Decimal) -> Decimal:
    value = to_decimal(name, value)
    require_positive(name, value)
    return value


def _cost(side: OrderSide, price: Decimal, reference: Decimal, quantity: Decimal) -> Decimal:
    if side is OrderSide.BUY:
        return EXACT.multiply(EXACT.subtract(price, reference), quantity)
    return EXACT.multiply(EXACT.subtract(reference, price), quantity)


def _bps(cost: Decimal, reference: Decimal, quantity: Decimal) -> Decimal:
    return _DIVIDE.divide(EXACT.multiply(cost, _BPS), EXACT.multiply(reference, quantity))


def _versus(
    side: OrderSide, reference: Decimal | None, fills: Iterable[tuple[Decimal, Decimal]]
) -> tuple[Decimal | None, Decimal | None]:
    """(bps, cost) of fills against ``reference``; (None, None) without reference or fills."""
    pairs = list(fills)
    if reference is None or not pairs:
        return None, None
    cost = _total(_cost(side, price, reference, size) for price, size in pairs)
    return _bps(cost, reference, _total(size for _, size in pairs)), cost


def _micros(start_ns: int, end_ns: int | None) -> Decimal | None:
    return None if end_ns is None else Decimal(end_ns - start_ns).scaleb(-3)


def _report(r: _Record) -> OrderQuality:
    fills = tuple(
        FillQuality(
            price,
            quantity,
            at,
            *_versus(r.side, r.arrival_price, [(price, quantity)]),
            *_versus(r.side, r.limit_price, [(price, quantity)]),
        )
        for price, quantity, at in r.fills
    )
    pairs = [(price, quantity) for price, quantity, _ in r.fills]
    bps, cost = _versus(r.side, r.arrival_price, pairs)
    limit_bps, limit_cost = _versus(r.side, r.limit_price, pairs)
    average = None
    if pairs:
        notional = _total(EXACT.multiply(p, q) for p, q in pairs)
        average = _DIVIDE.divide(notional, r.filled)
    first = r.fills[0][2] if r.fills else None
    last = r.fills[-1][2] if r.fills else None
    return OrderQuality(
        order_id=r.order_id,
        strategy_id=r.strategy_id,
        venue=r.instrument.exchange,
        instrument_id=r.instrument.id,
        quote_currency=r.instrument.quote_currency,
        side=r.side,
        quantity=r.quantity,
        arrival_price=r.arrival_price,
        limit_price=r.limit_price,
        submitted_ns=r.submitted_ns,
        acknowledged_ns=r.acknowledged_ns,
        first_fill_ns=first,
        last_fill_ns=last,
        filled_quantity=r.filled,
        average_price=average,
        slippage_bps=bps,
        slippage_cost=cost,
        limit_slippage_bps=limit_bps,
        limit_slippage_cost=limit_cost,
        ack_latency_us=_micros(r.submitted_ns, r.acknowledged_ns),
        first_fill_latency_us=_micros(r.submitted_ns, first),
        last_fill_latency_us=_micros(r.submitted_ns, last),
        fills=fills,
    )


def _mean(values: list[Decimal]) -> Decimal | None:
    if not values:
        return None
    return _DIVIDE.divide(_total(values), len(values))


def _total(values: Iterable[Decimal]) -> Decimal:
    total = ZERO
    for value in values:
        total = EXACT.add(total, value)
    return total


def _median(ordered: list[Decimal]) -> Decimal | None:
    if not ordered:
        return None
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return _DIVIDE.divide(EXACT.add(ordered[middle - 1], ordered[middle]), 2)


def _p95(ordered: list[Decimal]) -> Decimal | None:
    """Nearest rank: the smallest value with at least 95% of the values at or below it."""
    if not ordered:
        return None
    return ordered[-(-95 * len(ordered) // 100) - 1]


def _aggregate(key: Hashable, reports: list[OrderQuality]) -> QualityAggregate:
    measured = sorted(r.slippage_bps for r in reports if r.slippage_bps is not None)
    costs: dict[str, Decimal] = {}
    for r in reports:
        if r.slippage_cost is not None:
            costs[r.quote_currency] = EXACT.add(costs.get(r.quote_currency, ZERO), r.slippage_cost)

    def latencies(pick: Callable[[OrderQuality], Decimal | None]) -> list[Decimal]:
        return [value for r in reports if (value := pick(r)) is not None]

    return QualityAggregate(
        key=key,
        orders=len(reports),
        filled_orders=sum(1 for r in reports if r.fills),
        measured_orders=len(measured),
        mean_slippage_bps=_mean(measured),
        median_slippage_bps=_median(measured),
        p95_slippage_bps=_p95(measured),
        slippage_cost=costs,
        mean_ack_latency_us=_mean(latencies(lambda r: r.ack_latency_us)),
        mean_first_fill_latency_us=_mean(latencies(lambda r: r.first_fill_latency_us)),
        mean_last_fill_latency_us=_mean(latencies(lambda r: r.last_fill_latency_us)),
    )
