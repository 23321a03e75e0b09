"""The paper record in the portfolio's base currency: P&L in another currency is valued at
the latest FX rate (the ledger's, kept from the FX instruments' quotes), never added as it
is; without a rate the record is not written and an alert names the pair."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from test_paper_session import SECOND, T0, advance, config

from omoitrade.core.clock import SimulatedClock
from omoitrade.model.enums import TradingMode
from omoitrade.model.strategy_versions import StrategyPerformance
from omoitrade.portfolio.fx import MissingFxRate
from omoitrade.runtime.demo import seed_demo
from omoitrade.runtime.paper_record import in_base, open_pnl
from omoitrade.runtime.paper_session import PaperSession, PaperSessionConfig
from omoitrade.store import Database
from omoitrade.store import migrate as migrations


def demo_desk_in(settings: PaperSessionConfig, currency: str) -> None:
    """The demo desk, its paper portfolio valued in ``currency`` (the instruments stay
    quoted in USD)."""
    migrations.upgrade(settings.database_url)
    database = Database(settings.database_url, clock=SimulatedClock(T0))
    seed_demo(database)
    database.dispose()
    set_base_currency(settings, currency)


def set_base_currency(settings: PaperSessionConfig, currency: str) -> None:
    engine = sa.create_engine(settings.database_url)
    with engine.begin() as connection:
        connection.execute(sa.text("update portfolios set base_currency = :c"), {"c": currency})
    engine.dispose()


def paper_record(settings: PaperSessionConfig, session: PaperSession) -> StrategyPerformance:
    (running,) = session.strategies.values()
    database = Database(settings.database_url)
    with database.transaction(write=False) as uow:
        found = uow.strategy_performance.of(running.context.strategy_id, 1, TradingMode.PAPER)
    database.dispose()
    assert found is not None
    return found


def test_usd_pnl_of_a_eur_portfolio_is_valued_in_eur_at_the_latest_rate(
    tmp_path: Path,
) -> None:
    settings = config(tmp_path)
    demo_desk_in(settings, "EUR")
    clock = SimulatedClock(T0)
    session = PaperSession(clock, settings)
    session.start()
    assert session.portfolio.base_currency == "EUR"
    (eurusd,) = [i for i in session.instruments.values() if i.symbol == "EUR/USD"]
    advance(clock, 400)
    (risk,) = session.snapshot().risk  # the ledger values its USD holdings in EUR too
    assert risk.equity > 0
    rates = session.node.ledger.rates
    quote = session.market.pipeline.latest_quote(eurusd.id)
    assert quote is not None and rates.rate("EUR", "USD") == quote.mid  # the latest rate
    (running,) = session.strategies.values()
    key = (running.context.strategy_id, running.context.version)
    session.stop()  # writes the record at the stop, at the rate of now
    open_usd = open_pnl(session.pipeline.open_trades(), key, session.pipeline.market.price)

    metrics = paper_record(settings, session).metrics
    assert metrics["currency"] == "EUR" and metrics["trades_settled"] > 0
    assert set(metrics["realized_pnl_by_currency"]) == {"USD"}
    realized_usd = Decimal(metrics["realized_pnl_by_currency"]["USD"])
    assert realized_usd != 0
    realized_eur = rates.convert(realized_usd, "USD", "EUR")
    assert Decimal(metrics["realized_pnl"]) == realized_eur != realized_usd
    unrealized_eur = in_base(open_usd, "EUR", rates)
    capital = Decimal(metrics["capital"])
    assert Decimal(metrics["equity"]) == capital + realized_eur + unrealized_eur
    assert metrics["equity_curve"][-1][1] == metrics["equity"]


def test_without_a_rate_the_record_is_not_written_and_the_pair_is_named(
    tmp_path: Path,
) -> None:
    settings = config(tmp_path)
    demo_desk_in(settings, "EUR")
    clock = SimulatedClock(T0)
    session = PaperSession(clock, settings)
    session.start()
    advance(clock, 400)
    session.stop()
    before = paper_record(settings, session).metrics
    assert Decimal(before["realized_pnl_by_currency"]["USD"]) != 0

    set_base_currency(settings, "GBP")  # no GBP rate is quoted on SIM
    clock = SimulatedClock(clock.timestamp_ns() + 5 * SECOND)
    again = PaperSession(clock, settings)
    again.start()
    advance(clock, 130)
    again.stop()
    after = paper_record(settings, again).metrics
    assert after == before  # not written: its USD P&L is not summed as GBP
    alerts = [a.text for a in again.alerts if a.kind == "performance"]
    assert alerts == [  # once, not at each of the three ticks
        "quick: not recorded: no FX rate for USD/GBP, its P&L in USD cannot be valued in GBP"
    ]
    try:
        in_base({"USD": Decimal(1)}, "GBP", again.node.ledger.rates)
    except MissingFxRate as error:
        assert (error.from_currency, error.to_currency) == ("USD", "GBP")
    else:
        raise AssertionError("valued without a rate")
