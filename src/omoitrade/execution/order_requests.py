"""What callers hand the order manager, and what it answers besides orders.

``OrderRequest`` (an order to make), ``PreTradeCheck`` (the risk gate it calls),
``OrderManagerConfig``, and the errors and notices it raises or publishes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from omoitrade.core.circuit_breaker import BreakerConfig, BreakerState
from omoitrade.core.errors import OmoiError
from omoitrade.execution.retry import RetryPolicy
from omoitrade.model.enums import OrderSide, OrderType, TimeInForce
from omoitrade.model.identifiers import (
    ClientOrderId,
    InstrumentId,
    PortfolioId,
    SignalId,
    StrategyId,
)
from omoitrade.model.orders import Order


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """What a caller asks for; the order manager makes the :class:`Order` from it."""

    portfolio_id: PortfolioId
    instrument_id: InstrumentId
    client_order_id: ClientOrderId
    side: OrderSide
    order_type: OrderType
    quantity: Decimal
    price: Decimal | None = None
    stop_price: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    signal_id: SignalId | None = None
    strategy_id: StrategyId | None = None  # for execution quality by strategy
    arrival_price: Decimal | None = None  # the mid at decision time (else the mid now)
    oco_group: str | None = None  # one-cancels-other with the orders sharing it

    def same_order(self, order: Order) -> bool:
        """Whether ``order`` is what this request asks for (for idempotent resubmits)."""
        return (
            order.portfolio_id == self.portfolio_id
            and order.instrument_id == self.instrument_id
            and order.side == self.side
            and order.order_type == self.order_type
            and order.quantity == self.quantity
            and order.price == self.price
            and order.stop_price == self.stop_price
            and order.time_in_force == self.time_in_force
            and order.signal_id == self.signal_id
            and order.oco_group == self.oco_group
        )


@dataclass(frozen=True, slots=True)
class PreTradeRejection:
    """Why a pre-trade check refused an order: a stable ``code`` and a human reason."""

    code: str
    reason: str


# The order as it would be, and the working order it changes (an amend) or None.
PreTradeCheck = Callable[[Order, Order | None], PreTradeRejection | None]


class AmendRefused(OmoiError):
    """An amend broke an instrument rule or a pre-trade check; the order is unchanged."""

    code = "amend-refused"


@dataclass(frozen=True, slots=True)
class OrderManagerConfig:
    """Retries, circuit breakers, and how long an unclear submit may stay unknown."""

    not_found_grace_ns: int = 2_000_000_000  # a targeted "not found" counts after this
    retry: RetryPolicy = field(
        default_factory=lambda: RetryPolicy(base_delay_ns=50_000_000, max_delay_ns=5_000_000_000)
    )
    breaker: BreakerConfig = field(default_factory=BreakerConfig)
    finished_memory: int = 100_000  # finished orders kept in memory for late reports
    # 0: the reports of a venue call are written when it returns. More: they wait for the
    # next write (a new order's) or this many ns, whichever comes first, so one commit
    # carries both (fewer disk syncs; their events are published after that commit).
    group_commit_ns: int = 0
    seed: int = 0  # of the retry jitter: the same seed, the same delays


@dataclass(frozen=True, slots=True)
class VenueCircuitChanged:
    """A venue's circuit breaker changed state (published on ``CIRCUIT_TOPIC``)."""

    venue: str
    old: BreakerState
    new: BreakerState
    reason: str


CIRCUIT_TOPIC = "execution.venue_circuit"
