"""Exposure report and one-day VaR against hand-computed examples."""

from __future__ import annotations

import math
from decimal import Decimal
from statistics import NormalDist, fmean, stdev

import pytest

from omoitrade.core.errors import ValidationError
from omoitrade.model import Instrument, InstrumentId, OrderSide, PortfolioId
from omoitrade.portfolio.fx import FxRates
from omoitrade.risk import (
    InMemoryRiskView,
    RiskDataMissing,
    VarMethod,
    historical_var,
    parametric_var,
)
from omoitrade.risk.var import exposure_report, portfolio_var
from omoitrade.testing.factories import T0, make_instrument

D = Decimal
A = InstrumentId.of("SIM", "A/USD")
B = InstrumentId.of("SIM", "B/USD")
# One instrument held for 1000: daily returns (i - 50) / 1000 give P&Ls -50, -49, ..., 49.
RAMP = [(i - 50) / 1000 for i in range(100)]


def test_historical_var_of_the_ramp() -> None:
    # 95%: k = ceil(100 * 0.05) = 5, the 5th worst P&L is -46; 99%: k = 1, the worst is -50.
    assert historical_var({A: D("1000")}, {A: RAMP}, D("0.95")) == D("46.00")
    assert historical_var({A: D("1000")}, {A: RAMP}, D("0.99")) == D("50.00")


def test_parametric_var_of_the_ramp() -> None:
    # mean P&L -0.5; sample variance of 0..99 is 100 * 101 / 12 = 841.67, sigma 29.0115;
    # 95%: 1.64485 * 29.0115 + 0.5 = 48.22; 99%: 2.32635 * 29.0115 + 0.5 = 67.99.
    assert parametric_var({A: D("1000")}, {A: RAMP}, D("0.95")) == D("48.22")
    assert parametric_var({A: D("1000")}, {A: RAMP}, D("0.99")) == D("67.99")


def test_a_short_position_loses_on_the_other_tail() -> None:
    # Short 1000: P&Ls are 50, 49, ..., -49; the 5th worst is -45.
    assert historical_var({A: D("-1000")}, {A: RAMP}, D("0.95")) == D("45.00")


def test_two_instruments_combine_through_their_covariance() -> None:
    other = [((i * 37) % 100 - 50) / 2000 for i in range(100)]
    pnl = [1000 * a - 500 * b for a, b in zip(RAMP, other, strict=True)]
    exposures = {A: D("1000"), B: D("-500")}
    returns = {A: RAMP, B: other}

    expected_historical = -sorted(pnl)[4]
    expected_parametric = NormalDist().inv_cdf(0.95) * stdev(pnl) - fmean(pnl)

    assert historical_var(exposures, returns, D("0.95")) == D(repr(expected_historical)).quantize(
        D("0.01")
    )
    assert math.isclose(
        float(parametric_var(exposures, returns, D("0.95"))), expected_parametric, abs_tol=0.005
    )


def test_engine_report_values_positions_at_reference_prices(world) -> None:
    world.view.set_position(world.portfolio_id, world.btc.id, D("10"))  # 10 * 100 = 1000

    report = world.engine.value_at_risk(world.portfolio_id, {world.btc.id: RAMP})

    assert report.get(VarMethod.HISTORICAL, D("0.95")) == D("46.00")
    assert report.get(VarMethod.HISTORICAL, D("0.99")) == D("50.00")
    assert report.get(VarMethod.PARAMETRIC, D("0.95")) == D("48.22")
    assert report.get(VarMethod.PARAMETRIC, D("0.99")) == D("67.99")


def test_flat_portfolio_has_no_var(world) -> None:
    report = world.engine.value_at_risk(world.portfolio_id, {})

    assert set(report.values.values()) == {D("0.00")}


def test_missing_data_is_refused(world) -> None:
    with pytest.raises(RiskDataMissing):
        historical_var({A: D("1")}, {}, D("0.95"))
    with pytest.raises(ValidationError):
        parametric_var({A: D("1"), B: D("1")}, {A: RAMP, B: RAMP[:-1]}, D("0.95"))
    with pytest.raises(ValidationError):
        historical_var({A: D("1")}, {A: [0.01]}, D("0.95"))
    with pytest.raises(ValidationError):
        historical_var({A: D("1")}, {A: RAMP}, D("1"))
    with pytest.raises(ValidationError):
        historical_var({A: D("1")}, {A: [*RAMP[:-1], float("nan")]}, D("0.95"))
    world.view.set_position(world.portfolio_id, A, D("1"))
    with pytest.raises(RiskDataMissing):
        world.engine.value_at_risk(world.portfolio_id, {A: RAMP})


def test_exposure_report(world) -> None:
    world.view.set_position(world.portfolio_id, world.btc.id, D("10"))
    world.view.set_position(world.portfolio_id, world.eth.id, D("-3"))
    world.working(world.btc, quantity=D("2"))
    world.working(world.eth, quantity=D("1.5"), side=OrderSide.SELL)

    report = world.engine.exposure_report(world.portfolio_id)

    assert (report.long, report.short, report.gross, report.net) == (
        D("1000.00"),
        D("300.00"),
        D("1300.00"),
        D("700.00"),
    )
    rows = {row.instrument_id: row for row in report.instruments}
    assert rows[world.btc.id].working_buy == D("2") and rows[world.btc.id].working_sell == 0
    assert rows[world.eth.id].value == D("-300.00") and rows[world.eth.id].working_sell == D("1.5")
    assert report.at == world.clock.utc_now()


def test_exposure_report_needs_every_price(world) -> None:
    world.view.set_position(world.portfolio_id, A, D("1"))

    with pytest.raises(RiskDataMissing):
        world.engine.exposure_report(world.portfolio_id)


class MultiCurrencyView(InMemoryRiskView):
    """A risk view that knows currencies, converting through FX rates as the ledger does."""

    def __init__(self, base: str, instruments: list[Instrument]) -> None:
        super().__init__()
        self.base = base
        self.quotes = {i.id: i.quote_currency for i in instruments}
        self.rates = FxRates()

    def base_currency(self, portfolio_id: PortfolioId) -> str:
        return self.base

    def quote_currency(self, instrument_id: InstrumentId) -> str | None:
        return self.quotes.get(instrument_id)

    def convert(self, amount: Decimal, from_currency: str, to_currency: str) -> Decimal:
        return self.rates.convert(amount, from_currency, to_currency)


def mixed_currencies() -> tuple[MultiCurrencyView, PortfolioId, Instrument, Instrument]:
    """A USD portfolio long 10 BTC/USD at 100.00 and short 2 SAP (EUR) at 150.00."""
    btc = make_instrument()
    sap = make_instrument(
        symbol="SAP", base_currency="SAP", quote_currency="EUR", lot_size=D("1"),
        min_quantity=D("1"),
    )  # fmt: skip
    view = MultiCurrencyView("USD", [btc, sap])
    portfolio_id = PortfolioId.new()
    view.add_portfolio(portfolio_id)
    view.set_position(portfolio_id, btc.id, D("10"))
    view.set_position(portfolio_id, sap.id, D("-2"))
    view.set_price(btc.id, D("100.00"))
    view.set_price(sap.id, D("150.00"))
    return view, portfolio_id, btc, sap


def test_exposure_converts_each_quote_currency_to_the_base_currency() -> None:
    view, portfolio_id, btc, sap = mixed_currencies()
    view.rates.set_rate("EUR", "USD", D("1.10"), T0)

    report = exposure_report(view, portfolio_id, T0)

    rows = {row.instrument_id: row for row in report.instruments}
    assert rows[btc.id].value == D("1000.00")
    assert rows[sap.id].value == D("-330.0000")  # -2 * 150.00 EUR * 1.10 USD/EUR
    assert rows[sap.id].price == D("150.00")  # the price stays in its quote currency
    assert (report.long, report.short, report.net) == (D("1000.00"), D("330"), D("670"))


def test_var_weights_positions_in_the_base_currency() -> None:
    view, portfolio_id, btc, sap = mixed_currencies()
    view.set_position(portfolio_id, btc.id, D("0"))
    view.set_position(portfolio_id, sap.id, D("10"))  # 1500 EUR = 1000 USD at 1 USD = 0.6667 EUR
    view.rates.set_rate("USD", "EUR", D("1.5"), T0)

    report = portfolio_var(view, portfolio_id, {sap.id: RAMP})

    # The ramp's P&Ls on 1000 USD: the same figures as one instrument held for 1000.
    assert report.get(VarMethod.HISTORICAL, D("0.95")) == D("46.00")
    assert report.get(VarMethod.PARAMETRIC, D("0.99")) == D("67.99")


def test_a_missing_rate_fails_closed_with_the_pair_named() -> None:
    view, portfolio_id, _, sap = mixed_currencies()

    with pytest.raises(RiskDataMissing, match="EUR and USD") as raised:
        exposure_report(view, portfolio_id, T0)
    assert str(sap.id) in str(raised.value)
    with pytest.raises(RiskDataMissing, match="EUR and USD"):
        portfolio_var(view, portfolio_id, {})


def test_an_instrument_of_unknown_currency_fails_closed() -> None:
    view, portfolio_id, _, _ = mixed_currencies()
    stranger = InstrumentId.of("SIM", "X/YZ")
    view.set_position(portfolio_id, stranger, D("1"))
    view.set_price(stranger, D("1.00"))
    view.rates.set_rate("EUR", "USD", D("1.10"), T0)

    with pytest.raises(RiskDataMissing, match="no quote currency"):
        exposure_report(view, portfolio_id, T0)
