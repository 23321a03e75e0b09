"""The validation gates on their own: unusual signals, high value, and the rolling stats."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from omoitrade.core.ids import IdGenerator
from omoitrade.model.enums import OrderSide
from omoitrade.model.identifiers import InstrumentId, PortfolioId, StrategyId
from omoitrade.model.orders import Order
from omoitrade.signals.plan import ExecutionPlan, SettingsBook, SignalSettings
from omoitrade.signals.unusual import RollingStats
from omoitrade.signals.validation import HIGH_VALUE, UNUSUAL, Validator
from omoitrade.testing import factories as f

BTC = f.make_instrument()


class Prices:
    """A market view with fixed prices and limit usage."""

    def __init__(self, price: str, usage: Sequence[tuple[str, float]] = ()) -> None:
        self._price, self._usage = D(price), list(usage)

    def price(self, instrument_id: InstrumentId) -> D | None:
        return self._price

    def equity(self, portfolio_id: PortfolioId) -> D | None:
        return D("1000000")

    def limit_usage(self, portfolio_id: PortfolioId) -> Sequence[tuple[str, float]]:
        return self._usage


def passes(order: Order, strategy_id: StrategyId | None) -> tuple[str, str] | None:
    return None


def validator(settings: SignalSettings, market: Prices | None = None) -> Validator:
    return Validator(
        passes, market or Prices("42000.00"), SettingsBook(settings), IdGenerator(seed=1)
    )


PLAN = ExecutionPlan(PortfolioId.new(), quantity=D("0.5"))
STRATEGY = StrategyId.new()


def signal(strength: float = 0.5, entry: str = "42000.00", n: int = 0):  # type: ignore[no-untyped-def]
    return f.make_signal(
        STRATEGY,
        BTC,
        strength=strength,
        entry_price=D(entry),
        stop_loss=None,
        take_profit=None,
        created_at=f.T0 + timedelta(seconds=n),
        expiry_at=f.T0 + timedelta(seconds=n + 60),
    )


def test_a_signal_far_from_the_strategys_history_wants_an_approval() -> None:
    v = validator(SignalSettings(unusual_min_history=20))
    for n in range(20):
        usual = signal(0.5 + 0.01 * (n % 5), f"{42000 + 10 * (n % 7)}.00", n)
        assert v.judge(usual, PLAN, BTC, OrderSide.BUY).approval_gates == ()
    strong = v.judge(signal(0.95, "42030.00", 21), PLAN, BTC, OrderSide.BUY)
    assert strong.approval_gates == (UNUSUAL,)
    assert "strength 0.95 is" in strong.result["gates"][UNUSUAL]["reason"]
    far = v.judge(signal(0.52, "47000.00", 22), PLAN, BTC, OrderSide.BUY)
    assert far.approval_gates == (UNUSUAL,)
    assert "price 47000.00 is" in far.result["gates"][UNUSUAL]["reason"]


def test_nothing_is_unusual_before_enough_history() -> None:
    v = validator(SignalSettings(unusual_min_history=20))
    for n in range(19):
        v.judge(signal(0.5, n=n), PLAN, BTC, OrderSide.BUY)
    verdict = v.judge(signal(1.0, "90000.00", 30), PLAN, BTC, OrderSide.BUY)
    assert verdict.approval_gates == ()
    assert "fewer than 20 earlier signals" in verdict.result["gates"][UNUSUAL]["reason"]


def test_high_value_is_notional_above_the_portfolios_threshold() -> None:
    v = validator(SignalSettings(high_value_notional=D("21000")))
    at = v.judge(signal(entry="42000.00"), PLAN, BTC, OrderSide.BUY)
    above = v.judge(signal(entry="42000.02", n=1), PLAN, BTC, OrderSide.BUY)
    assert at.approval_gates == () and above.approval_gates == (HIGH_VALUE,)
    assert above.result["gates"][HIGH_VALUE] == {
        "passed": False,
        "notional": "21000.010",
        "threshold": "21000",
    }


def test_limit_usage_at_the_alert_level_is_reported_and_may_pause() -> None:
    market = Prices("42000.00", [("max_position", 0.79), ("max_daily_loss", 0.8)])
    quiet = validator(SignalSettings(), market).judge(signal(), PLAN, BTC, OrderSide.BUY)
    assert quiet.pause_reason is None
    assert quiet.result["gates"]["risk_limit_usage"]["limits"] == {"max_daily_loss": 0.8}
    pausing = validator(SignalSettings(pause_strategy_on_limit_alert=True), market)
    verdict = pausing.judge(signal(), PLAN, BTC, OrderSide.BUY)
    assert verdict.pause_reason == "risk limits nearly full: max_daily_loss at 80%"


@given(st.lists(st.floats(-1e6, 1e6), min_size=3, max_size=60), st.floats(-1e6, 1e6))
def test_rolling_stats_agree_with_the_statistics_module(values: list[float], probe: float) -> None:
    stats = RollingStats(window=25)
    for value in values:
        stats.add(value)
    kept = values[-25:]
    spread = statistics.stdev(kept)
    got = stats.deviation(probe)
    if spread < 1e-6:
        return  # a (numerically) constant window: covered below
    assert got is not None
    assert math.isclose(
        got, abs(probe - statistics.fmean(kept)) / spread, rel_tol=1e-6, abs_tol=1e-6
    )


def test_a_constant_history_makes_any_other_value_unusual() -> None:
    stats = RollingStats(window=5)
    for _ in range(5):
        stats.add(0.5)
    assert stats.deviation(0.5) is None and stats.deviation(0.51) == math.inf


def test_a_strategys_first_signal_in_another_instrument_is_judged_on_strength_alone() -> None:
    v = validator(SignalSettings(unusual_min_history=3))
    for n in range(3):
        v.judge(signal(0.5 + 0.01 * n, n=n), PLAN, BTC, OrderSide.BUY)
    eth = f.make_instrument(symbol="ETH/USD", base_currency="ETH")
    first = f.make_signal(
        STRATEGY,
        eth,
        strength=0.51,
        entry_price=D("3000.00"),
        stop_loss=None,
        take_profit=None,
    )
    gate = v.judge(first, PLAN, eth, OrderSide.BUY).result["gates"][UNUSUAL]
    assert gate == {"passed": True, "sigma": 3.0, "strength_deviation": 0.0}


@pytest.mark.parametrize(
    ("asked", "minimum", "sized"),
    [
        ("0.00019", "0.0001", "0.0001"),  # floored to whole lots
        ("2.5", "0.0001", "2.5"),
        ("0.00009", "0.0001", "0"),  # less than one lot
        ("0.0005", "0.001", "0"),  # under the instrument's minimum
    ],
)
def test_a_plan_sizes_in_whole_lots_and_never_below_the_minimum(
    asked: str, minimum: str, sized: str
) -> None:
    plan = ExecutionPlan(PortfolioId.new(), quantity=D(asked))
    got = plan.size(D("42000"), D("0.0001"), D(minimum))
    assert str(got) == sized


def test_a_sizer_that_asks_for_nothing_or_less_sizes_to_zero() -> None:
    for asked in ("0", "-1"):
        plan = ExecutionPlan(PortfolioId.new(), sizer=lambda price, a=asked: D(a))
        assert plan.size(D("42000"), D("0.0001"), D("0.0001")) == 0


def test_rolling_stats_keep_their_precision_for_large_values_close_together() -> None:
    stats = RollingStats(window=3)
    close = [1_000_000.0, 1_000_000.00001, 1_000_000.00002]  # a sum of squares: inf here
    for value in close:
        stats.add(value)
    exact = abs(close[0] - statistics.fmean(close)) / statistics.stdev(close)
    assert math.isclose(stats.deviation(close[0]) or 0.0, exact, rel_tol=1e-9)
    long_run = RollingStats(window=50)
    prices = [100_000.0 + 0.01 * ((n * 7919) % 97) for n in range(20_000)]
    for price in prices:
        long_run.add(price)
    kept = prices[-50:]
    exact = abs(100_000.5 - statistics.fmean(kept)) / statistics.stdev(kept)
    assert math.isclose(long_run.deviation(100_000.5) or 0.0, exact, rel_tol=1e-9)


def test_a_constant_window_after_evictions_still_knows_its_own_value() -> None:
    stats = RollingStats(window=4)
    for value in (0.3, 0.7, 0.1, *[0.2] * 7):
        stats.add(value)
    assert stats.deviation(0.2) is None and stats.deviation(0.21) == math.inf
