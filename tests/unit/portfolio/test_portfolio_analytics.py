"""Portfolio analytics: returns, Sharpe, Sortino, drawdown, exposure, P&L breakdowns."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omoitrade.core.errors import ValidationError
from omoitrade.model import (
    EventId,
    InstrumentType,
    OrderId,
    OrderSide,
    PortfolioId,
    StrategyId,
    TradeId,
    VenueTradeId,
)
from omoitrade.model.events import OrderFilled
from omoitrade.model.instruments import Instrument
from omoitrade.portfolio import (
    EquitySeries,
    Exposure,
    PortfolioLedger,
    max_drawdown,
    returns,
    sharpe_ratio,
    sortino_ratio,
)
from omoitrade.testing.factories import make_instrument

T = datetime(2024, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def series(*values: str) -> EquitySeries:
    return EquitySeries.of((T + i * DAY, D(v)) for i, v in enumerate(values))


def test_returns_are_simple_period_returns() -> None:
    assert returns(series("100", "110", "99")).tolist() == pytest.approx([0.10, -0.10])
    assert returns(series("100")).size == 0
    with pytest.raises(ValidationError):
        returns(series("0", "1"))


def test_sharpe_is_mean_over_sample_deviation_annualized() -> None:
    r = [0.01, 0.02, -0.01, 0.03]
    expected = np.mean(r) / np.std(r, ddof=1) * math.sqrt(252)
    assert sharpe_ratio(r, 252) == pytest.approx(expected)
    assert sharpe_ratio(r, 12, risk_free_rate=0.01) == pytest.approx(
        (np.mean(r) - 0.01) / np.std(r, ddof=1) * math.sqrt(12)
    )
    assert sharpe_ratio([0.01, 0.01], 252) is None  # no variation
    assert sharpe_ratio([0.01], 252) is None


def test_sortino_divides_by_downside_deviation_only() -> None:
    r = [0.02, -0.01, 0.03, -0.02]
    downside = math.sqrt((0.01**2 + 0.02**2) / 4)
    assert sortino_ratio(r, 252) == pytest.approx(np.mean(r) / downside * math.sqrt(252))
    assert sortino_ratio([0.01, 0.02], 252) is None  # nothing below target
    assert sortino_ratio([], 252) is None


def test_max_drawdown_value_fraction_and_duration() -> None:
    dd = max_drawdown(series("100", "120", "90", "100", "130", "117", "125"))
    assert (dd.amount, dd.fraction) == (D("30"), D("0.25"))
    assert (dd.peak_at, dd.trough_at, dd.recovered_at) == (T + DAY, T + 2 * DAY, T + 4 * DAY)
    assert dd.longest_duration == 3 * DAY  # 120 on day 1 regained on day 4
    rising = max_drawdown(series("1", "2", "3"))
    assert (rising.amount, rising.longest_duration, rising.peak_at) == (0, timedelta(0), None)
    open_ended = max_drawdown(series("10", "12", "11", "6", "7"))
    assert (open_ended.amount, open_ended.recovered_at) == (D("6"), None)
    assert open_ended.longest_duration == 3 * DAY


def test_a_series_must_be_ordered_utc_and_aligned() -> None:
    with pytest.raises(ValidationError):
        EquitySeries((T, T), (D(1), D(2)))
    with pytest.raises(ValidationError):
        EquitySeries((T,), ())
    with pytest.raises(ValidationError):
        EquitySeries((datetime(2024, 1, 1),), (D(1),))


@settings(max_examples=200)
@given(st.lists(st.integers(1, 10**6), min_size=1, max_size=40))
def test_drawdown_matches_a_brute_force_search(cents: list[int]) -> None:
    values = [D(c) / 100 for c in cents]
    dd = max_drawdown(EquitySeries.of((T + i * DAY, v) for i, v in enumerate(values)))
    deepest = max(
        (
            (values[i] - values[j]) / values[i]
            for i in range(len(values))
            for j in range(i, len(values))
        ),
        default=D(0),
    )
    assert dd.fraction == max(deepest, D(0))
    assert 0 <= dd.amount <= max(values) - min(values)


def fill(pid: PortfolioId, inst: Instrument, side: OrderSide, qty: str, price: str, fee: str,
         n: int, at: datetime) -> OrderFilled:  # fmt: skip
    return OrderFilled(
        event_id=EventId.new(), occurred_at=at, order_id=OrderId.new(), portfolio_id=pid,
        instrument_id=inst.id, side=side, trade_id=TradeId.new(),
        exchange_trade_id=VenueTradeId(f"T{n}"), fill_quantity=D(qty), fill_price=D(price),
        commission=D(fee), filled_quantity=D(qty), average_fill_price=D(price),
    )  # fmt: skip


def test_exposure_and_pnl_breakdowns_from_the_ledger() -> None:
    btc = make_instrument()
    es = make_instrument(symbol="ES", instrument_type=InstrumentType.FUTURES,
                         metadata={"margin_rate": "0.1"})  # fmt: skip
    sap = make_instrument(symbol="SAP", quote_currency="EUR", instrument_type=InstrumentType.EQUITY)
    ledger = PortfolioLedger()
    pid = PortfolioId.new()
    ledger.open_portfolio(pid, "USD", D("100000"))
    ledger.set_rate("EUR", "USD", D("1.5"))
    momentum, carry = StrategyId.new(), StrategyId.new()
    day2 = T + DAY
    ledger.apply_fill(fill(pid, btc, OrderSide.BUY, "2", "100", "1", 1, T), btc, momentum)
    ledger.apply_fill(fill(pid, es, OrderSide.SELL, "3", "50", "2", 2, T), es, carry)
    ledger.apply_fill(fill(pid, sap, OrderSide.BUY, "10", "20", "0.5", 3, T), sap)
    ledger.apply_fill(fill(pid, btc, OrderSide.SELL, "1", "110", "1", 4, day2), btc, momentum)
    ledger.apply_fill(fill(pid, es, OrderSide.BUY, "1", "40", "0", 5, day2), es, carry)

    report = ledger.exposure(pid)
    assert report.by_instrument == {
        btc.id: Exposure(D("110"), D("110")),  # 1 long at the last fill price 110
        es.id: Exposure(D("80"), D("-80")),  # 2 short at 40
        sap.id: Exposure(D("300.0"), D("300.0")),  # 10 * 20 EUR at 1.5
    }
    assert report.by_instrument_type[InstrumentType.SPOT] == Exposure(D("110"), D("110"))
    assert report.by_instrument_type[InstrumentType.FUTURES] == Exposure(D("80"), D("-80"))
    assert report.total == Exposure(D("490.0"), D("330.0"))

    by_strategy = ledger.pnl_by_strategy(pid)
    assert (by_strategy[momentum].realized_pnl, by_strategy[momentum].commission) == (10, 2)
    assert (by_strategy[carry].realized_pnl, by_strategy[carry].net) == (10, 8)
    assert by_strategy[None].commission == D("0.75")  # 0.5 EUR at 1.5
    assert by_strategy[momentum].fills == 2
    by_day = ledger.pnl_by_day(pid)
    assert list(by_day) == [date(2024, 1, 1), date(2024, 1, 2)]
    assert by_day[date(2024, 1, 1)].realized_pnl == 0
    assert by_day[date(2024, 1, 1)].commission == D("3.75")
    assert (by_day[date(2024, 1, 2)].realized_pnl, by_day[date(2024, 1, 2)].net) == (20, 19)
