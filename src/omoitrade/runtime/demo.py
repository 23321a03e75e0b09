"""The demo tenant that ``omoitrade run`` starts with on an empty database.

One organization, one paper portfolio and three instruments on the simulated
exchange with their real-world grids: a crypto pair, an equity and an FX pair.
Seeding is idempotent and recorded in the audit log.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from omoitrade.core.ids import IdGenerator
from omoitrade.model import (
    Organization,
    OrganizationId,
    Portfolio,
    PortfolioId,
)
from omoitrade.store import Database
from omoitrade.venues.sim.catalog import DEFAULT_VENUE, default_instruments

SIM_EXCHANGE = DEFAULT_VENUE  # the simulated exchange, with its built-in instruments
DEMO_SLUG = "demo"


@dataclass(frozen=True, slots=True)
class DemoSeed:
    """What seeding found or created."""

    created: bool
    organization_id: OrganizationId
    portfolio_id: PortfolioId
    instruments: int


def seed_demo(database: Database, initial_capital: Decimal = Decimal("100000.00")) -> DemoSeed:
    """Create the demo tenant unless it exists; returns what is there."""
    clock = database.clock
    ids = IdGenerator(clock.timestamp_ns)
    now = clock.utc_now()
    with database.transaction() as uow:
        existing = uow.organizations.by_slug(DEMO_SLUG)
        if existing is not None:
            portfolio = uow.portfolios.for_organization(existing.id)[0]
            return DemoSeed(False, existing.id, portfolio.id, uow.instruments.count())
        organization = Organization(
            id=OrganizationId.new(ids), name="Demo Desk", slug=DEMO_SLUG, created_at=now
        )
        portfolio = Portfolio.open(
            id=PortfolioId.new(ids),
            organization_id=organization.id,
            name="Paper",
            base_currency="USD",
            initial_capital=initial_capital,
            at=now,
        )
        portfolio.connected_exchanges = [SIM_EXCHANGE]
        candidates = default_instruments(SIM_EXCHANGE)
        instruments = [
            instrument
            for instrument in candidates
            if uow.instruments.by_symbol(SIM_EXCHANGE, instrument.symbol) is None
        ]
        uow.organizations.add(organization)
        uow.portfolios.add(portfolio)
        uow.instruments.add_all(instruments)
        uow.audit.record(
            "system",
            "demo.seed",
            "Organization",
            organization.id,
            {"portfolio": str(portfolio.id), "instruments": [i.symbol for i in instruments]},
        )
        return DemoSeed(True, organization.id, portfolio.id, uow.instruments.count())
