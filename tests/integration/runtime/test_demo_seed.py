"""The demo desk that `omoitrade run` starts with is created once and audited."""

from __future__ import annotations

from decimal import Decimal

from omoitrade.model import InstrumentType
from omoitrade.runtime.demo import SIM_EXCHANGE, seed_demo
from omoitrade.store import Database


def test_seeding_creates_the_demo_desk_once(database: Database) -> None:
    first = seed_demo(database)
    second = seed_demo(database)
    assert first.created and not second.created
    assert (second.organization_id, second.portfolio_id) == (
        first.organization_id,
        first.portfolio_id,
    )
    with database.transaction() as uow:
        assert uow.organizations.count() == 1
        portfolio = uow.portfolios.get(first.portfolio_id)
        assert portfolio.cash == portfolio.current_equity == Decimal("100000.00")
        assert portfolio.connected_exchanges == [SIM_EXCHANGE]
        assert uow.audit.verify() == 1
        assert [e.action for e in uow.audit.entries()] == ["demo.seed"]


def test_demo_instruments_carry_real_world_grids(database: Database) -> None:
    seed_demo(database)
    with database.transaction() as uow:
        fx = uow.instruments.by_symbol(SIM_EXCHANGE, "EUR/USD")
        equity = uow.instruments.by_symbol(SIM_EXCHANGE, "AAPL")
        crypto = uow.instruments.by_symbol(SIM_EXCHANGE, "BTC/USD")
    assert fx is not None and equity is not None and crypto is not None
    assert (fx.instrument_type, fx.tick_size, fx.lot_size) == (
        InstrumentType.FOREX,
        Decimal("0.00001"),
        Decimal("1000"),
    )
    assert (equity.tick_size, equity.lot_size) == (Decimal("0.01"), Decimal("1"))
    assert crypto.is_valid_quantity(Decimal("0.00001"))
