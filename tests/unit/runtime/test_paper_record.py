"""A paper record's P&L by currency, valued in the portfolio's base currency at the
latest FX rates; a currency without a rate to the base fails, naming the pair."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from omoitrade.core.clock import to_datetime
from omoitrade.model import Quote
from omoitrade.model.enums import InstrumentType
from omoitrade.portfolio.fx import FxRates, MissingFxRate
from omoitrade.runtime.paper_equity import PaperEquity
from omoitrade.runtime.paper_record import (
    BASE_CURRENCY_STEP,
    OLD_SHARPE,
    PaperRecord,
    fx_rate,
    in_base,
)
from omoitrade.strategy.lifecycle import GateRefused, GoLiveMinimums, go_live_facts
from omoitrade.testing import factories as f

AT = datetime(2024, 1, 2, 10, tzinfo=UTC)
MINUTE = 60_000_000_000
T0 = 1_704_189_600_000_000_000


def rates() -> FxRates:
    fx = FxRates()
    fx.set_rate("EUR", "USD", D("1.08"))  # one EUR is worth 1.08 USD
    return fx


def test_amounts_in_several_currencies_are_valued_in_the_base_at_the_latest_rate() -> None:
    fx = rates()
    assert in_base({"USD": D("108"), "EUR": D("10")}, "USD", fx) == D("118.80")
    assert in_base({"USD": D("108"), "EUR": D("10")}, "EUR", fx) == D("110")  # 108 / 1.08
    fx.set_rate("EUR", "USD", D("1.20"))  # the latest rate counts
    assert in_base({"EUR": D("10")}, "USD", fx) == D("12.00")
    assert in_base({}, "USD", fx) == 0


def test_a_currency_without_a_rate_fails_naming_the_pair() -> None:
    with pytest.raises(MissingFxRate) as raised:
        in_base({"USD": D("5"), "GBP": D("3")}, "USD", rates())
    assert (raised.value.from_currency, raised.value.to_currency) == ("GBP", "USD")
    assert "GBP and USD" in raised.value.message
    assert in_base({"USD": D("5"), "GBP": D("0")}, "USD", rates()) == D("5")  # nothing to value


def test_the_record_adds_a_point_in_the_base_or_nothing() -> None:
    record = PaperRecord.resume(D("1000"), "USD", MINUTE, {})
    record.settle("USD", D("10"))
    record.settle("EUR", D("5"))
    metrics = record.update(T0, {"EUR": D("-1")}, "USD", rates(), {})
    # 1000 + (10 + 5 x 1.08) realized + (-1 x 1.08) open
    assert record.equity.points == [(T0, D("1014.32"))]
    assert metrics["realized_pnl"] == "15.40" and metrics["currency"] == "USD"
    assert metrics["realized_pnl_by_currency"] == {"EUR": "5", "USD": "10"}
    assert metrics["trades_settled"] == 2 and metrics["pnl"] == "14.32"

    record.settle("GBP", D("1"))
    unvalued = record.update(T0 + MINUTE, {}, "USD", rates(), {})
    assert record.missing is not None and record.missing.from_currency == "GBP"
    assert unvalued["equity"] == "1014.32"  # the last valued figures
    assert record.equity.points == [(T0, D("1014.32"))]  # the curve unchanged

    again = PaperRecord.resume(D("1000"), "USD", MINUTE, metrics)  # the stored record
    assert again.realized == {"EUR": D("5"), "USD": D("10")}
    assert again.equity == PaperEquity(D("1000"), MINUTE, [(T0, D("1014.32"))])
    older = PaperRecord.resume(D("1000"), "USD", MINUTE, {"realized_pnl": "7"})
    assert older.realized == {"USD": D("7")}  # before P&L by currency: taken as the base's


def test_an_fx_instrument_s_quote_is_a_rate_other_instruments_are_not() -> None:
    eurusd = f.make_instrument(
        symbol="EUR/USD",
        instrument_type=InstrumentType.FOREX,
        base_currency="EUR",
        quote_currency="USD",
        metadata={"venue_symbol": "EURUSD"},
    )
    btcusd = f.make_instrument()
    quote = Quote(eurusd.id, AT, D("1.08490"), D("1.08510"), D("1000"), D("1000"))
    assert fx_rate(eurusd, quote) == ("EUR", "USD", D("1.08500"))
    assert fx_rate(btcusd, quote) is None
    assert fx_rate(None, quote) is None


def test_converted_money_is_rounded_to_the_base_currency_s_minor_unit() -> None:
    fx = FxRates()
    fx.set_rate("USD", "GBP", D("0.79"))  # one USD is worth 0.79 GBP
    assert fx.convert(D("10.00"), "GBP", "USD") == D("12.65822784810126582278481013")
    assert D("0.01") == BASE_CURRENCY_STEP
    assert str(in_base({"GBP": D("10.00")}, "USD", fx)) == "12.66"
    assert str(in_base({"USD": D("0.125")}, "USD", fx)) == "0.12"  # half even
    assert str(in_base({"USD": D("0.135")}, "USD", fx)) == "0.14"
    record = PaperRecord.resume(D("100000"), "USD", MINUTE, {})
    record.settle("GBP", D("10.00"))
    metrics = record.update(T0, {"GBP": D("10.00")}, "USD", fx, {})
    assert metrics["realized_pnl"] == "12.66"
    assert (metrics["equity"], metrics["pnl"]) == ("100025.32", "25.32")
    assert metrics["equity_curve"] == [[T0, "100025.32"]]
    assert metrics["realized_pnl_by_currency"] == {"GBP": "10.00"}  # as it was made


def test_without_a_rate_the_counts_are_written_the_base_figures_kept_and_marked() -> None:
    record = PaperRecord.resume(D("1000"), "USD", MINUTE, {})
    record.settle("USD", D("10"))
    record.signals = 3
    valued = record.update(T0, {}, "USD", rates(), {})
    assert "unvalued_since" not in valued and record.missing is None

    record.settle("GBP", D("2"))  # no GBP rate
    record.signals += 2
    position = {f.make_instrument().id: D("1")}
    unvalued = record.update(T0 + MINUTE, {"GBP": D("1")}, "USD", rates(), position)
    assert record.missing is not None
    assert (record.missing.from_currency, record.missing.to_currency) == ("GBP", "USD")
    # what needs no conversion is written
    assert (unvalued["signals"], unvalued["trades_settled"]) == (5, 2)
    assert unvalued["realized_pnl_by_currency"] == {"GBP": "2", "USD": "10"}
    assert unvalued["position"] == {str(k): "1" for k in position}
    # the base-currency figures and the curve are the last valued ones, marked
    changed = {"signals", "trades_settled", "realized_pnl_by_currency", "position"}
    marks = {"unvalued_since", "unvalued_pair"}
    assert {k: v for k, v in unvalued.items() if k not in changed | marks} == {
        k: v for k, v in valued.items() if k not in changed
    }
    since = to_datetime(T0 + MINUTE).isoformat()
    assert (unvalued["unvalued_since"], unvalued["unvalued_pair"]) == (since, "GBP/USD")
    assert record.equity.points == [(T0, D("1010"))]
    later = record.update(T0 + 2 * MINUTE, {}, "USD", rates(), {})
    assert later["unvalued_since"] == since  # since the first tick without the rate

    # a restart while the rate is still missing: the counts go on, the mark stays
    resumed = PaperRecord.resume(D("1000"), "USD", MINUTE, later)
    resumed.signals = 1
    again = resumed.update(T0 + 3 * MINUTE, {}, "USD", rates(), {})
    assert (again["signals"], again["unvalued_since"], again["equity"]) == (6, since, "1010.00")

    fx = rates()
    fx.set_rate("GBP", "USD", D("1.25"))  # the rate comes: valued again, the mark cleared
    cleared = resumed.update(T0 + 4 * MINUTE, {}, "USD", fx, {})
    assert resumed.missing is None and not marks & set(cleared)
    assert (cleared["realized_pnl"], cleared["equity"], cleared["signals"]) == (
        "12.50",
        "1012.50",
        6,
    )
    assert resumed.equity.points == [(T0, D("1010")), (T0 + 4 * MINUTE, D("1012.50"))]


def test_a_sharpe_recorded_before_daily_returns_is_not_available_to_the_gate() -> None:
    old = {  # the minute-based code's record: a Sharpe without ``sharpe_daily_returns``
        "sharpe": 25.3,
        "max_drawdown": 0.01,
        "paper_days": 15.0,
        "capital": "1000",
        "equity": "1001",
        "pnl": "1",
        "realized_pnl": "1",
        "currency": "USD",
        "signals": 2,
        "equity_curve": [[T0, "1001"]],
        "equity_step_ns": MINUTE,
    }
    record = PaperRecord.resume(D("1000"), "USD", MINUTE, old)
    assert record.stored["sharpe"] is None
    assert record.stored["sharpe_unavailable"] == OLD_SHARPE
    assert OLD_SHARPE == "recorded before Sharpe was computed from daily returns"
    record.settle("GBP", D("1"))  # no rate: the stored figures are written again
    metrics = record.update(T0 + MINUTE, {}, "USD", rates(), {})
    assert (metrics["sharpe"], metrics["sharpe_unavailable"]) == (None, OLD_SHARPE)
    strategy = f.make_strategy(f.make_portfolio(f.make_organization()).id)
    paper = f.make_strategy_performance(strategy, metrics=metrics)
    with pytest.raises(GateRefused, match=rf"sharpe is not available \({OLD_SHARPE}\)"):
        go_live_facts(strategy.version, paper, GoLiveMinimums(paper_days=1), f.T0)

    new = {**old, "sharpe": 1.5, "sharpe_daily_returns": 12}  # daily: kept
    kept = PaperRecord.resume(D("1000"), "USD", MINUTE, new)
    assert kept.stored["sharpe"] == 1.5 and "sharpe_unavailable" not in kept.stored
    unset = PaperRecord.resume(D("1000"), "USD", MINUTE, {**old, "sharpe": None})
    assert "sharpe_unavailable" not in unset.stored  # nothing reported, nothing to mark
