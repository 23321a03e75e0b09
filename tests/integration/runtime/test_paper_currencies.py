"""The paper record in the portfolio's base currency: P&L in another currency is valued at
the latest FX rate (the ledger's, kept from the FX instruments' quotes), rounded to the
base currency's cents, never added as it is; without a rate only what needs no conversion
is written (the counts, the P&L by currency), the rest stays as last valued, marked, and
an alert names the pair."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from test_paper_session import SECOND, T0, advance, config

from omoitrade.core.clock import SimulatedClock, to_datetime
from omoitrade.model.enums import TradingMode
from omoitrade.model.strategy_versions import StrategyPerformance
from omoitrade.portfolio.fx import MissingFxRate
from omoitrade.runtime.demo import seed_demo
from omoitrade.runtime.paper_record import OLD_SHARPE, in_base, open_pnl
from omoitrade.runtime.paper_session import PaperSession, PaperSessionConfig
from omoitrade.store import Database
from omoitrade.store import migrate as migrations
from omoitrade.strategy.lifecycle import GateRefused, GoLiveMinimums, go_live_facts
from omoitrade.testing import factories as f


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
    realized_eur = in_base({"USD": realized_usd}, "EUR", rates)  # rounded to the cent
    assert realized_eur == round(rates.convert(realized_usd, "USD", "EUR"), 2)
    assert Decimal(metrics["realized_pnl"]) == realized_eur != realized_usd
    for name in ("realized_pnl", "equity", "pnl"):
        assert Decimal(metrics[name]).as_tuple().exponent == -2, metrics[name]
    unrealized_eur = in_base(open_usd, "EUR", rates)
    capital = Decimal(metrics["capital"])
    assert Decimal(metrics["equity"]) == capital + realized_eur + unrealized_eur
    assert metrics["equity_curve"][-1][1] == metrics["equity"]


def session_in(
    settings: PaperSessionConfig, currency: str, at_ns: int, seconds: int
) -> tuple[PaperSession, SimulatedClock, dict[str, Any]]:
    """A session of the portfolio in ``currency`` from ``at_ns`` for ``seconds``, stopped:
    the session, its clock and the paper record it left."""
    set_base_currency(settings, currency)
    clock = SimulatedClock(at_ns)
    session = PaperSession(clock, settings)
    session.start()
    advance(clock, seconds)
    session.stop()
    return session, clock, paper_record(settings, session).metrics


def test_without_a_rate_the_counts_are_still_written_and_a_restart_keeps_them(
    tmp_path: Path,
) -> None:
    settings = config(tmp_path)
    demo_desk_in(settings, "EUR")
    _, clock, first = session_in(settings, "EUR", T0, 400)
    assert first["signals"] > 0 and first["currency"] == "EUR"
    assert Decimal(first["realized_pnl_by_currency"]["USD"]) != 0
    assert not {"unvalued_since", "unvalued_pair"} & set(first)

    # in GBP, no GBP rate is quoted on SIM: its USD P&L is never summed as GBP
    started = clock.timestamp_ns() + 5 * SECOND
    session, clock, second = session_in(settings, "GBP", started, 130)
    assert second["signals"] > first["signals"]  # counted and written all the same
    assert second["trades_settled"] >= first["trades_settled"]
    assert second["realized_pnl_by_currency"].keys() == {"USD"}
    figures = ("currency", "realized_pnl", "capital", "equity", "pnl", "sharpe")
    assert [second[k] for k in figures] == [first[k] for k in figures]  # as last valued
    assert second["equity_curve"] == first["equity_curve"]
    first_tick = started + settings.performance_interval_ns
    assert second["unvalued_since"] == to_datetime(first_tick).isoformat()
    assert second["unvalued_pair"] == "USD/GBP"
    alerts = [a.text for a in session.alerts if a.kind == "performance"]
    assert alerts == [  # once, not at each of the three ticks
        "quick: not valued: no FX rate for USD/GBP, its P&L in USD cannot be valued in GBP; "
        "its counts are recorded, its figures in GBP stay as last valued"
    ]
    try:
        in_base({"USD": Decimal(1)}, "GBP", session.node.ledger.rates)
    except MissingFxRate as error:
        assert (error.from_currency, error.to_currency) == ("USD", "GBP")
    else:
        raise AssertionError("valued without a rate")

    # back in EUR: the restart resumes from the record with the GBP session's counts
    session, clock, third = session_in(settings, "EUR", clock.timestamp_ns() + 5 * SECOND, 130)
    (running,) = session.strategies.values()
    assert running.record.stored["signals"] == second["signals"]
    assert third["signals"] == second["signals"] + running.record.signals
    assert third["trades_settled"] == second["trades_settled"] + running.record.settled
    assert not {"unvalued_since", "unvalued_pair"} & set(third)  # valued again: unmarked
    assert third["currency"] == "EUR" and len(third["equity_curve"]) > len(first["equity_curve"])
    assert not [a for a in session.alerts if a.kind == "performance"]


def test_a_stored_minute_based_sharpe_is_not_available_after_a_restart(
    tmp_path: Path,
) -> None:
    settings = config(tmp_path)
    demo_desk_in(settings, "EUR")
    session, clock, first = session_in(settings, "EUR", T0, 200)
    (running,) = session.strategies.values()
    old = {
        k: v for k, v in first.items() if k not in ("sharpe_daily_returns", "sharpe_unavailable")
    }
    session.service.record_performance(  # as the minute-based code wrote it
        running.context.strategy_id, TradingMode.PAPER, {**old, "sharpe": 25.3}, version=1
    )
    # not valued on the next start (no GBP rate): the stored figures are written again
    _, _, second = session_in(settings, "GBP", clock.timestamp_ns() + 5 * SECOND, 70)
    assert "unvalued_since" in second and "sharpe_daily_returns" not in second
    assert (second["sharpe"], second["sharpe_unavailable"]) == (None, OLD_SHARPE)
    paper = paper_record(settings, session)
    with pytest.raises(GateRefused, match=rf"sharpe is not available \({OLD_SHARPE}\)"):
        go_live_facts(1, paper, GoLiveMinimums(paper_days=0, max_drawdown=None), f.T0)
