"""Time-windowed counters on the clock: order messages per second, duplicate orders, and the
repeated-execution throttle that disables a strategy until someone re-enables it."""

from __future__ import annotations

from bisect import insort
from collections import deque

from omoitrade.core.clock import Clock
from omoitrade.core.errors import ValidationError
from omoitrade.model.accounts import User
from omoitrade.model.events import StrategyReEnabled, StrategyThrottled
from omoitrade.model.identifiers import PortfolioId, StrategyId, parent_order_of
from omoitrade.model.orders import Order
from omoitrade.risk.config import SECOND_NS, ThrottleConfig
from omoitrade.risk.state import RESTRICT_ROLES, event_meta, require_role


def _expire(times: deque[int], now_ns: int, window_ns: int) -> None:
    """Drop the timestamps that are ``window_ns`` or more before ``now_ns``."""
    while times and times[0] <= now_ns - window_ns:
        times.popleft()


class OrderRateTracker:
    """Order messages (new orders, amends and cancels) per portfolio in the last second."""

    def __init__(self, window_ns: int = SECOND_NS) -> None:
        self._window_ns = window_ns
        self._sent: dict[PortfolioId, deque[int]] = {}

    def count(self, portfolio_id: PortfolioId, now_ns: int) -> int:
        times = self._sent.get(portfolio_id)
        if times is None:
            return 0
        _expire(times, now_ns, self._window_ns)
        return len(times)

    def record(self, portfolio_id: PortfolioId, now_ns: int) -> None:
        times = self._sent.get(portfolio_id)
        if times is None:
            times = self._sent[portfolio_id] = deque()
        else:
            _expire(times, now_ns, self._window_ns)  # bounded even if never counted
        times.append(now_ns)


OrderKey = tuple[object, ...]


def order_key(order: Order) -> OrderKey:
    """What makes two orders equal for the duplicate check."""
    return (
        order.portfolio_id,
        order.instrument_id,
        order.side,
        order.quantity,
        order.price,
        order.stop_price,
    )


class DuplicateDetector:
    """Remembers accepted orders; an equal one (side, instrument, size, prices) inside the
    window is a duplicate. Quantities and prices compare by value (``1.0 == 1``).

    Children of one parent order (an execution algorithm's slices: client order ids
    ``PARENT:N``) are not duplicates of each other: equal slices are the algorithm's plan.

    The latest time (and parent) of each key is kept in a dict (a lookup per check), and a
    queue in time order lets entries past the window be dropped as time moves on.
    """

    def __init__(self) -> None:
        self._latest: dict[OrderKey, tuple[int, str | None]] = {}
        self._queue: deque[tuple[int, OrderKey]] = deque()

    def is_duplicate(
        self, order: Order, now_ns: int, window_ns: int, key: OrderKey | None = None
    ) -> bool:
        """Whether an equal order was recorded less than ``window_ns`` ago; ``key``, when
        given, must be ``order_key(order)`` (saves building it again)."""
        seen = self._latest.get(order_key(order) if key is None else key)
        if seen is None or now_ns - seen[0] >= window_ns:
            return False
        parent = seen[1]
        return parent is None or parent != parent_order_of(order.client_order_id)

    def record(
        self, order: Order, now_ns: int, window_ns: int, key: OrderKey | None = None
    ) -> None:
        """Remember an accepted order; ``key`` as for :meth:`is_duplicate`."""
        queue, latest = self._queue, self._latest
        while queue and now_ns - queue[0][0] >= window_ns:
            at, old = queue.popleft()
            entry = latest.get(old)
            if entry is not None and entry[0] == at:
                del latest[old]
        if key is None:
            key = order_key(order)
        latest[key] = (now_ns, parent_order_of(order.client_order_id))
        queue.append((now_ns, key))


class ExecutionThrottle:
    """Disables a strategy after ``max_executions`` automated executions within ``window_ns``.

    A disabled strategy stays disabled until :meth:`enable` is called by a user who may
    trade (ADMIN, RISK_MANAGER or TRADER); after a restart, :meth:`replay` of the recorded
    events, oldest first, leaves each strategy as the last of them did, and
    :meth:`replay_execution` of the executions recorded among them (in the same order)
    counts again those still within the window.
    """

    def __init__(self, clock: Clock, max_executions: int, window_ns: int) -> None:
        settings = ThrottleConfig(max_executions, window_ns)  # checks them
        self._clock = clock
        self.max_executions: int = settings.max_executions
        self.window_ns: int = settings.window_ns
        self._executions: dict[StrategyId, deque[int]] = {}
        self._disabled: set[StrategyId] = set()

    def is_enabled(self, strategy_id: StrategyId) -> bool:
        return strategy_id not in self._disabled

    def record_execution(self, strategy_id: StrategyId) -> StrategyThrottled | None:
        """Count one automated execution; the event when this one disables the strategy."""
        now = self._clock.timestamp_ns()
        times = self._executions.setdefault(strategy_id, deque())
        times.append(now)
        _expire(times, now, self.window_ns)
        if strategy_id in self._disabled or len(times) < self.max_executions:
            return None
        self._disabled.add(strategy_id)
        return StrategyThrottled(
            **event_meta(self._clock),
            strategy_id=strategy_id,
            executions=len(times),
            window_ns=self.window_ns,
        )

    def executions(self, strategy_id: StrategyId) -> int:
        """The strategy's executions counted within the window before now."""
        times = self._executions.get(strategy_id)
        if times is None:
            return 0
        _expire(times, self._clock.timestamp_ns(), self.window_ns)
        return len(times)

    def replay_execution(self, strategy_id: StrategyId, at_ns: int) -> None:
        """Count again an execution recorded (before a restart) at ``at_ns``, if it is within
        the window before now. It neither disables the strategy nor makes an event: it was
        judged when it happened (its :class:`StrategyThrottled`, if any, is replayed by
        :meth:`replay`); the next execution counts on top of it."""
        if at_ns <= self._clock.timestamp_ns() - self.window_ns:
            return
        times = self._executions.setdefault(strategy_id, deque())
        if not times or times[-1] <= at_ns:
            times.append(at_ns)
        else:  # heard out of time order: kept in time order, for the expiry
            insort(times, at_ns)

    def replay(self, event: StrategyThrottled | StrategyReEnabled) -> None:
        """Apply a recorded event: :class:`StrategyThrottled` disables the strategy again,
        :class:`StrategyReEnabled` enables it, its executions replayed so far forgotten (as
        :meth:`enable` forgets them)."""
        if isinstance(event, StrategyThrottled):
            self._disabled.add(event.strategy_id)
        else:
            self._disabled.discard(event.strategy_id)
            self._executions.pop(event.strategy_id, None)

    def enable(
        self, strategy_id: StrategyId, user: User, reason: str = "re-enabled"
    ) -> StrategyReEnabled | None:
        """Re-enable a throttled strategy; its execution count starts afresh. Returns the
        event to record when it was disabled (publish it: ``RiskEngine.enable_strategy``)."""
        require_role(user, RESTRICT_ROLES, "re-enable a throttled strategy")
        if not reason.strip():
            raise ValidationError("reason", "must be a non-empty string", reason)
        self._executions.pop(strategy_id, None)
        if strategy_id not in self._disabled:
            return None
        self._disabled.discard(strategy_id)
        return StrategyReEnabled(
            **event_meta(self._clock), strategy_id=strategy_id, user_id=user.id, reason=reason
        )

    def disabled(self) -> frozenset[StrategyId]:
        return frozenset(self._disabled)
