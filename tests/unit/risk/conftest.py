"""A small world for risk tests: one portfolio, two instruments at 100.00, a simulated clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest

from omoitrade.core.bus import MessageBus
from omoitrade.core.clock import SimulatedClock
from omoitrade.model import (
    BreachAction,
    Instrument,
    LimitType,
    Order,
    OrderStatus,
    Organization,
    PortfolioId,
    RiskLimit,
    User,
    UserRole,
)
from omoitrade.model.events import DomainEvent
from omoitrade.risk import InMemoryRiskView, RiskConfig, RiskEngine
from omoitrade.testing.factories import (
    T0,
    make_instrument,
    make_order,
    make_organization,
    make_risk_limit,
    make_user,
)

D = Decimal
START_NS = int(T0.timestamp()) * 1_000_000_000


@dataclass
class World:
    clock: SimulatedClock
    bus: MessageBus
    view: InMemoryRiskView
    engine: RiskEngine
    portfolio_id: PortfolioId
    btc: Instrument
    eth: Instrument
    organization: Organization
    published: list[DomainEvent] = field(default_factory=list)

    def order(self, instrument: Instrument | None = None, **overrides: Any) -> Order:
        """A limit buy of 1 at 100.00 (unless overridden)."""
        fields: dict[str, Any] = {"quantity": D("1"), "price": D("100.00")}
        return make_order(self.portfolio_id, instrument or self.btc, **(fields | overrides))

    def working(self, instrument: Instrument | None = None, **overrides: Any) -> Order:
        """An order already working at the venue (added to the view)."""
        order = self.order(instrument, status=OrderStatus.SUBMITTED, **overrides)
        self.view.add_orders([order])
        return order

    def limit(
        self,
        limit_type: LimitType,
        value: str,
        action: BreachAction = BreachAction.HALT,
        instrument: Instrument | None = None,
    ) -> RiskLimit:
        """Add a limit row to the portfolio's loaded limits."""
        row = make_risk_limit(
            self.portfolio_id,
            limit_type=limit_type,
            limit_value=D(value),
            action_on_breach=action,
            instrument_id=None if instrument is None else instrument.id,
        )
        self.engine.set_limits(self.portfolio_id, [*self.engine.limits(self.portfolio_id), row])
        return row

    def configure(self, **settings: Any) -> None:
        self.engine.set_config(self.portfolio_id, RiskConfig(**settings))

    def user(self, role: UserRole, **overrides: Any) -> User:
        return make_user(self.organization, role=role, **overrides)

    def advance(self, nanos: int) -> None:
        self.clock.advance_by(nanos)


def build_world() -> World:
    clock = SimulatedClock(START_NS)
    bus = MessageBus()
    view = InMemoryRiskView()
    portfolio_id = PortfolioId.new()
    btc = make_instrument()
    eth = make_instrument(symbol="ETH/USD", base_currency="ETH")
    view.add_portfolio(portfolio_id, balance=D("1000000"), equity=D("100000"))
    view.set_price(btc.id, D("100.00"))
    view.set_price(eth.id, D("100.00"))
    engine = RiskEngine(view, clock, bus)
    engine.set_limits(portfolio_id, [])
    w = World(clock, bus, view, engine, portfolio_id, btc, eth, make_organization())
    bus.subscribe("events.*", w.published.append)
    return w


@pytest.fixture
def world() -> World:
    return build_world()


@pytest.fixture
def new_world() -> Callable[[], World]:
    """Builds a fresh world per call (for hypothesis tests)."""
    return build_world
