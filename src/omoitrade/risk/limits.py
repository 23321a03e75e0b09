"""Keeping :class:`RiskLimit` rows current: measuring, warning at a threshold, acting on breach.

Measured (on every update) are the limits on the portfolio's state: MAX_POSITION (largest
absolute position, or the one instrument's), MAX_GROSS_EXPOSURE (sum of absolute position
values at reference prices), MAX_DAILY_LOSS (equity lost since the first update of the UTC
day), MAX_DRAWDOWN (equity below its high-water mark) and MAX_ORDER_RATE (messages in the
last second). MAX_ORDER_SIZE and MAX_NOTIONAL bound single orders and are only checked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from omoitrade.core.clock import Clock
from omoitrade.model.enums import BreachAction, LimitType
from omoitrade.model.events import DomainEvent, RiskLimitBreached, RiskLimitWarning
from omoitrade.model.identifiers import InstrumentId, PortfolioId, RiskLimitId
from omoitrade.model.money import ZERO
from omoitrade.model.risk import EquityMarks, RiskLimit
from omoitrade.risk.state import TradingState, TradingStates, event_meta

MEASURED = frozenset(
    {
        LimitType.MAX_POSITION,
        LimitType.MAX_GROSS_EXPOSURE,
        LimitType.MAX_DAILY_LOSS,
        LimitType.MAX_DRAWDOWN,
        LimitType.MAX_ORDER_RATE,
    }
)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DAY_NS = 86_400 * 1_000_000_000


class EquityTracker:
    """Day-start equity and high-water mark per portfolio, rolled on the clock's UTC date."""

    def __init__(self) -> None:
        self._marks: dict[PortfolioId, EquityMarks] = {}
        # The UTC date of the last clock reading seen by observe_at, and the nanoseconds it
        # spans [start, end): building a datetime per update just to take its date is slow.
        self._today = _EPOCH.date()
        self._today_ns = (0, 0)

    def seed(self, portfolio_id: PortfolioId, marks: EquityMarks) -> None:
        """Restore marks after a restart (otherwise they start from the first equity seen)."""
        self._marks[portfolio_id] = marks

    def get(self, portfolio_id: PortfolioId) -> EquityMarks | None:
        return self._marks.get(portfolio_id)

    def observe_at(self, portfolio_id: PortfolioId, equity: Decimal, now_ns: int) -> EquityMarks:
        """:meth:`observe` at a clock reading in ns since the epoch (``Clock.timestamp_ns``):
        the same date as ``Clock.utc_now`` gives for it, worked out once per day."""
        start, end = self._today_ns
        if not start <= now_ns < end:
            # as Clock.utc_now builds it (microseconds, truncated), then its date
            self._today = (_EPOCH + timedelta(microseconds=now_ns // 1000)).date()
            start = now_ns // _DAY_NS * _DAY_NS
            self._today_ns = (start, start + _DAY_NS)
        return self._observe_on(portfolio_id, equity, self._today)

    def observe(self, portfolio_id: PortfolioId, equity: Decimal, now: datetime) -> EquityMarks:
        return self._observe_on(portfolio_id, equity, now.date())

    def _observe_on(self, portfolio_id: PortfolioId, equity: Decimal, today: date) -> EquityMarks:
        marks = self._marks.get(portfolio_id)
        if marks is None:
            marks = self._marks[portfolio_id] = EquityMarks(today, equity, equity)
        elif marks.day != today:
            marks.day, marks.day_start = today, equity
        if equity > marks.high_water_mark:  # (as max(): an equal value keeps the old mark)
            marks.high_water_mark = equity
        return marks


@dataclass(frozen=True, slots=True)
class PortfolioMeasures:
    """What the limits of one portfolio are measured against."""

    positions: Mapping[InstrumentId, Decimal]
    price_of: Callable[[InstrumentId], Decimal | None]
    equity: Decimal | None
    marks: EquityMarks | None
    order_rate: int


def measure(limit: RiskLimit, m: PortfolioMeasures) -> Decimal | None:
    """The limit's current value, or None when it is not measured or cannot be."""
    kind = limit.limit_type
    if kind is LimitType.MAX_POSITION:
        only = limit.instrument_id
        sizes = [abs(q) for i, q in m.positions.items() if only is None or only == i]
        return max(sizes, default=ZERO)
    if kind is LimitType.MAX_GROSS_EXPOSURE:
        total = ZERO
        for instrument_id, quantity in m.positions.items():
            only = limit.instrument_id
            if quantity == 0 or (only is not None and only != instrument_id):
                continue
            price = m.price_of(instrument_id)
            if price is None:
                return None
            total += abs(quantity) * price
        return total
    if kind in (LimitType.MAX_DAILY_LOSS, LimitType.MAX_DRAWDOWN):
        if m.equity is None or m.marks is None:
            return None
        if kind is LimitType.MAX_DAILY_LOSS:
            return m.marks.daily_loss(m.equity)
        return m.marks.drawdown(m.equity)
    if kind is LimitType.MAX_ORDER_RATE:
        return Decimal(m.order_rate)
    return None


_ACTION_STATE = {BreachAction.REDUCE: TradingState.REDUCING, BreachAction.HALT: TradingState.HALTED}


class LimitMonitor:
    """Observes measured values into limits; fires warnings once per crossing and runs the
    breach action (ALERT: the event only; REDUCE: REDUCING; HALT: HALTED)."""

    def __init__(self, states: TradingStates, clock: Clock, threshold: Decimal) -> None:
        self._states = states
        self._clock = clock
        self.threshold = threshold
        self._warned: set[RiskLimitId] = set()

    def observe(
        self, limits: Iterable[RiskLimit], measures: PortfolioMeasures
    ) -> list[DomainEvent]:
        events: list[DomainEvent] = []
        now = self._clock.utc_now()
        for limit in limits:
            value = measure(limit, measures)
            if value is None:
                continue
            started = limit.observe(value, now)
            events.extend(self._warning(limit))
            if started:
                events.extend(self._breach(limit))
        return events

    def _warning(self, limit: RiskLimit) -> list[DomainEvent]:
        if limit.utilization < self.threshold:
            self._warned.discard(limit.id)  # re-armed for the next crossing
            return []
        if limit.id in self._warned:
            return []
        self._warned.add(limit.id)
        return [
            RiskLimitWarning(
                **event_meta(self._clock),
                limit_id=limit.id,
                portfolio_id=limit.portfolio_id,
                limit_type=limit.limit_type,
                limit_value=limit.limit_value,
                current_value=limit.current_value,
                threshold=self.threshold,
                instrument_id=limit.instrument_id,
            )
        ]

    def _breach(self, limit: RiskLimit) -> list[DomainEvent]:
        events: list[DomainEvent] = [
            RiskLimitBreached(
                **event_meta(self._clock),
                limit_id=limit.id,
                portfolio_id=limit.portfolio_id,
                limit_type=limit.limit_type,
                limit_value=limit.limit_value,
                current_value=limit.current_value,
                action_on_breach=limit.action_on_breach,
                instrument_id=limit.instrument_id,
            )
        ]
        target = _ACTION_STATE.get(limit.action_on_breach)
        current = self._states.of(limit.portfolio_id)
        if target is not None and target.severity > current.severity:
            reason = f"{limit.limit_type} breached: {limit.current_value} > {limit.limit_value}"
            changed = self._states.change(limit.portfolio_id, target, reason, self._clock)
            if changed is not None:
                events.append(changed)
        return events
