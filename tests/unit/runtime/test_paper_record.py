"""A paper record's P&L by currency, valued in the portfolio's base currency at the
latest FX rates; a currency without a rate to the base fails, naming the pair."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from omoitrade.model import Quote
from omoitrade.model.enums import InstrumentType
from omoitrade.portfolio.fx import FxRates, MissingFxRate
from omoitrade.runtime.paper_equity import PaperEquity
from omoitrade.runtime.paper_record import PaperRecord, fx_rate, in_base
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
    with pytest.raises(MissingFxRate):
        record.update(T0 + MINUTE, {}, "USD", rates(), {})
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
