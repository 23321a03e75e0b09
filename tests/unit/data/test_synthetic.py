"""Tests for the synthetic market: determinism, grids, bar shape and the statistics of the path."""

from __future__ import annotations

import dataclasses
import math
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from itertools import pairwise

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omoitrade.core.errors import ValidationError
from omoitrade.core.ids import IdGenerator
from omoitrade.data import synthetic
from omoitrade.data.synthetic import (
    JumpConfig,
    Regime,
    RegimeConfig,
    RegimeParams,
    SyntheticInstrument,
    SyntheticMarket,
    SyntheticMarketConfig,
    default_demo_market,
)
from omoitrade.model import Bar, Instrument, InstrumentId, InstrumentType, Timeframe
from omoitrade.runtime.demo import SIM_EXCHANGE
from omoitrade.venues.sim.catalog import default_instruments

D = Decimal
START = datetime(2024, 1, 1, tzinfo=UTC)
MINUTES_PER_YEAR = 365 * 24 * 60
NEVER = timedelta(days=1_000_000)  # a regime that never ends within a test
DEMO = default_instruments(SIM_EXCHANGE)
BTC, AAPL, EURUSD = DEMO
CORRELATION = ((1.0, 0.3, 0.1), (0.3, 1.0, -0.4), (0.1, -0.4, 1.0))


def make_instrument(symbol: str = "TEST", tick: str = "0.01", lot: str = "1") -> Instrument:
    return Instrument.create(
        "SIM",
        symbol,
        instrument_type=InstrumentType.SPOT,
        base_currency="XXX",
        quote_currency="USD",
        tick_size=D(tick),
        lot_size=D(lot),
        min_quantity=D(lot),
    )


def plain_config(
    *,
    seed: int = 11,
    volatilities: tuple[float, float, float] = (0.6, 0.25, 0.07),
    correlation: tuple[tuple[float, ...], ...] | None = CORRELATION,
    regimes: RegimeConfig | None = None,
    jumps: JumpConfig | None = None,
) -> SyntheticMarketConfig:
    """The demo instruments as plain GBM unless regimes or jumps are given."""
    prices = (D("42000.00"), D("190.00"), D("1.08500"))
    specs = tuple(
        SyntheticInstrument(instrument=i, initial_price=p, drift=0.05, volatility=v)
        for i, p, v in zip(DEMO, prices, volatilities, strict=True)
    )
    return SyntheticMarketConfig(
        instruments=specs, correlation=correlation, regimes=regimes, jumps=jumps, seed=seed
    )


def closes(bars: dict[InstrumentId, list[Bar]]) -> np.ndarray:
    """Close prices as floats, one column per instrument (tests only)."""
    return np.array([[float(bar.close) for bar in series] for series in bars.values()]).T


def log_returns(bars: dict[InstrumentId, list[Bar]]) -> np.ndarray:
    return np.diff(np.log(closes(bars)), axis=0)


def single_regime(regime: Regime, params: RegimeParams) -> RegimeConfig:
    """Regimes on, but the chain starts in ``regime`` and never leaves it."""
    return dataclasses.replace(
        RegimeConfig(
            trending=RegimeParams(mean_duration=NEVER),
            ranging=RegimeParams(mean_duration=NEVER),
            volatile=RegimeParams(mean_duration=NEVER),
        ),
        **{regime.value.lower(): params},
        initial=regime,
    )


# -- determinism --------------------------------------------------------------------------


def test_same_seed_and_config_give_identical_bars_and_fair_values() -> None:
    first = default_demo_market(DEMO, seed=5)
    second = default_demo_market(DEMO, seed=5)

    steps_first = [first.step(1_000_000_000) for _ in range(50)]
    steps_second = [second.step(1_000_000_000) for _ in range(50)]
    bars_first = first.bars(Timeframe.M1, 300, START)
    bars_second = second.bars(Timeframe.M1, 300, START)

    assert steps_first == steps_second
    assert bars_first == bars_second
    assert first.fair_values() == second.fair_values()
    assert first.regime == second.regime


def test_different_seeds_give_different_paths() -> None:
    first = default_demo_market(DEMO, seed=5).bars(Timeframe.M1, 50, START)
    second = default_demo_market(DEMO, seed=6).bars(Timeframe.M1, 50, START)

    assert [b.close for b in first[BTC.id]] != [b.close for b in second[BTC.id]]


def test_bar_ids_come_from_the_injected_generator_deterministically() -> None:
    def make_ids() -> IdGenerator:
        return IdGenerator(lambda: 1_700_000_000_000_000_000, seed=3)

    first = default_demo_market(DEMO, seed=1, ids=make_ids()).bars(Timeframe.M5, 20, START)
    second = default_demo_market(DEMO, seed=1, ids=make_ids()).bars(Timeframe.M5, 20, START)

    ids = [bar.id for series in first.values() for bar in series]
    assert ids == [bar.id for series in second.values() for bar in series]
    assert len(set(ids)) == len(ids)


def test_markets_sharing_a_seed_but_not_instruments_do_not_share_bar_ids() -> None:
    first = default_demo_market(DEMO, seed=1).bars(Timeframe.M1, 10, START)
    second = default_demo_market(DEMO[:2], seed=1).bars(Timeframe.M1, 10, START)

    first_ids = {bar.id for series in first.values() for bar in series}
    assert first_ids.isdisjoint(bar.id for series in second.values() for bar in series)


def test_default_bar_ids_are_time_ordered_by_bar_timestamp() -> None:
    bars = default_demo_market(DEMO, seed=1).bars(Timeframe.H1, 30, START)

    for series in bars.values():
        assert all(a.id < b.id for a, b in pairwise(series))
        assert series[0].id.bytes[:6] == int(START.timestamp() * 1000).to_bytes(6, "big")


# -- grids and bar shape ------------------------------------------------------------------


def test_fair_values_are_positive_and_on_the_tick_grid() -> None:
    market = default_demo_market(DEMO, seed=2)
    instruments = {i.id: i for i in DEMO}

    for _ in range(500):
        last = market.step(60_000_000_000)
        for instrument_id, price in last.items():
            assert type(price) is Decimal
            assert instruments[instrument_id].is_valid_price(price)
    assert market.fair_values() == last


def test_default_demo_market_starts_at_the_demo_prices() -> None:
    market = default_demo_market(DEMO, seed=0)

    assert market.fair_values() == {
        BTC.id: D("42000.00"),
        AAPL.id: D("190.00"),
        EURUSD.id: D("1.08500"),
    }
    assert market.config.correlation is not None
    assert market.config.correlation[0][1] == 0.3
    assert [s.volatility for s in market.config.instruments] == [0.60, 0.25, 0.07]


def test_default_demo_market_refuses_an_unknown_symbol() -> None:
    with pytest.raises(ValidationError) as caught:
        default_demo_market([*DEMO, make_instrument("DOGE/USD")], seed=0)

    assert caught.value.field == "instruments"
    assert "DOGE/USD" in caught.value.rule


def test_bars_are_on_tick_with_consistent_ohlc_and_volume_in_whole_lots() -> None:
    market = default_demo_market(DEMO, seed=3)
    bars = market.bars(Timeframe.M15, 500, START, substeps=30)
    instruments = {i.id: i for i in DEMO}

    for instrument_id, series in bars.items():
        instrument = instruments[instrument_id]
        assert len(series) == 500
        for bar in series:
            assert bar.instrument_id == instrument_id
            for price in (bar.open, bar.high, bar.low, bar.close):
                assert instrument.is_valid_price(price)
            assert bar.low <= min(bar.open, bar.close)
            assert bar.high >= max(bar.open, bar.close)
            assert bar.volume >= 0
            assert instrument.floor_quantity(bar.volume) == bar.volume
    assert sum(bar.volume > 0 for bar in bars[AAPL.id]) > 450


def test_bars_pass_the_bar_validation_and_equal_their_validated_copy() -> None:
    bars = default_demo_market(DEMO, seed=4).bars(Timeframe.M1, 200, START)

    for series in bars.values():
        for bar in series:
            assert dataclasses.replace(bar) == bar  # runs Bar.__post_init__ again


def test_bar_timestamps_are_interval_starts_spaced_by_the_timeframe() -> None:
    start = datetime(2024, 3, 1, 4, 0, tzinfo=UTC)
    bars = default_demo_market(DEMO, seed=1).bars(Timeframe.H4, 12, start, substeps=8)

    for series in bars.values():
        assert [bar.timestamp for bar in series] == [
            start + timedelta(hours=4 * i) for i in range(12)
        ]
        assert all(bar.timeframe is Timeframe.H4 for bar in series)
        assert all(bar.timestamp.tzinfo is UTC for bar in series)


def test_bars_continue_from_the_current_fair_values_and_leave_the_market_at_the_close() -> None:
    market = SyntheticMarket(plain_config())
    before = market.step(60_000_000_000)
    bars = market.bars(Timeframe.M1, 10, START, substeps=60)

    for instrument_id, series in bars.items():
        assert abs(math.log(series[0].open / before[instrument_id])) < 0.01
        assert market.fair_values()[instrument_id] == series[-1].close


def test_zero_bars_is_an_empty_list_per_instrument() -> None:
    assert default_demo_market(DEMO, seed=1).bars(Timeframe.M1, 0, START) == {
        i.id: [] for i in DEMO
    }


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"start": datetime(2024, 1, 1)}, "start"),
        ({"start": datetime(2024, 1, 1, tzinfo=timezone(timedelta(hours=1)))}, "start"),
        ({"start": datetime(2024, 1, 1, 0, 0, 30, tzinfo=UTC)}, "start"),
        ({"count": -1}, "count"),
        ({"substeps": 0}, "substeps"),
        ({"timeframe": "2m"}, "timeframe"),
    ],
)
def test_bars_refuse_bad_arguments_naming_the_field(
    arguments: dict[str, object], field: str
) -> None:
    call: dict[str, object] = {"timeframe": Timeframe.M1, "count": 5, "start": START} | arguments
    with pytest.raises(ValidationError) as caught:
        default_demo_market(DEMO, seed=1).bars(**call)  # type: ignore[arg-type]
    assert caught.value.field == field


@pytest.mark.parametrize("dt_ns", [0, -5, 1.5, True])
def test_step_refuses_a_non_positive_or_non_integer_interval(dt_ns: object) -> None:
    with pytest.raises(ValidationError) as caught:
        default_demo_market(DEMO, seed=1).step(dt_ns)  # type: ignore[arg-type]
    assert caught.value.field == "dt_ns"


def test_a_price_that_would_round_to_zero_is_clamped_to_one_tick() -> None:
    penny = make_instrument("PENNY", tick="0.01")
    spec = SyntheticInstrument(instrument=penny, initial_price=D("0.02"), drift=-50, volatility=3)
    market = SyntheticMarket(SyntheticMarketConfig(instruments=(spec,), seed=1))

    bars = market.bars(Timeframe.H1, 200, START)[penny.id]

    assert bars[-1].close == D("0.01")
    assert all(bar.low >= D("0.01") for bar in bars)


# -- statistics ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def plain_returns() -> np.ndarray:
    """One-step log returns of 10,000 minutes of plain correlated GBM (seeded)."""
    market = SyntheticMarket(plain_config())
    return log_returns(market.bars(Timeframe.M1, 10_000, START, substeps=1))


def test_sample_correlation_of_log_returns_matches_the_configured_matrix(
    plain_returns: np.ndarray,
) -> None:
    np.testing.assert_allclose(np.corrcoef(plain_returns.T), np.array(CORRELATION), atol=0.04)


def test_annualised_sample_volatility_matches_the_configured_volatility(
    plain_returns: np.ndarray,
) -> None:
    annualised = plain_returns.std(axis=0, ddof=1) * math.sqrt(MINUTES_PER_YEAR)
    np.testing.assert_allclose(annualised, [0.6, 0.25, 0.07], rtol=0.05)


def test_a_perfectly_correlated_singular_matrix_is_accepted_and_moves_together() -> None:
    ones = ((1.0, 1.0, 0.0), (1.0, 1.0, 0.0), (0.0, 0.0, 1.0))
    market = SyntheticMarket(plain_config(correlation=ones, volatilities=(0.3, 0.3, 0.3)))
    returns = log_returns(market.bars(Timeframe.M1, 2_000, START, substeps=1))

    assert np.corrcoef(returns.T)[0, 1] > 0.99


def test_all_three_regimes_occur_with_roughly_their_configured_mean_durations() -> None:
    durations = {Regime.TRENDING: 2.0, Regime.RANGING: 4.0, Regime.VOLATILE: 1.0}  # hours
    regimes = RegimeConfig(
        trending=RegimeParams(mean_duration=timedelta(hours=2), trend_drift=10.0),
        ranging=RegimeParams(mean_duration=timedelta(hours=4), mean_reversion=5000.0),
        volatile=RegimeParams(mean_duration=timedelta(hours=1), volatility_multiplier=2.0),
    )
    market = SyntheticMarket(plain_config(regimes=regimes))
    path = []
    for _ in range(9_000):  # 750 hours in 5-minute steps
        market.step(300_000_000_000)
        path.append(market.regime)

    spells: dict[Regime | None, list[int]] = {regime: [] for regime in durations}
    length = 1
    for previous, current in pairwise(path):
        if current == previous:
            length += 1
            continue
        spells[previous].append(length)
        length = 1
    for regime, hours in durations.items():
        observed = spells[regime][1:]  # the first spell started before the run
        assert len(observed) > 80, regime
        mean_hours = sum(observed) / len(observed) * 5 / 60
        assert mean_hours == pytest.approx(hours, rel=0.25), regime


def test_long_steps_in_a_strongly_mean_reverting_regime_stay_on_the_grid() -> None:
    ranging = single_regime(Regime.RANGING, RegimeParams(mean_duration=NEVER, mean_reversion=1e6))
    market = SyntheticMarket(plain_config(regimes=ranging))
    instruments = {i.id: i for i in DEMO}

    for _ in range(5):
        for instrument_id, price in market.step(86_400_000_000_000).items():
            assert instruments[instrument_id].is_valid_price(price)
    assert abs(math.log(market.fair_values()[BTC.id] / D("42000"))) < 0.1


@pytest.mark.parametrize("phi", [0.0, 1e-12, 0.5, 0.999, 0.99999, 1.0])
def test_blocked_ar1_filter_equals_the_plain_recursion(phi: float) -> None:
    shocks = np.random.default_rng(1).standard_normal((2, 30_000)) * 1e-3  # phi=0.999: two blocks
    initial = np.array([[0.01], [-0.02]])

    expected = np.empty_like(shocks)
    level = initial[:, 0]
    for index in range(shocks.shape[1]):
        level = expected[:, index] = phi * level + shocks[:, index]
    np.testing.assert_allclose(synthetic._ar1(shocks, phi, initial), expected, rtol=0, atol=1e-12)


def test_regime_is_none_when_regimes_are_switched_off() -> None:
    market = SyntheticMarket(plain_config(regimes=None))
    market.step(1_000_000_000)

    assert market.regime is None


def test_volatile_regime_multiplies_the_volatility() -> None:
    volatile = single_regime(
        Regime.VOLATILE, RegimeParams(mean_duration=NEVER, volatility_multiplier=2.0)
    )
    market = SyntheticMarket(plain_config(regimes=volatile))
    returns = log_returns(market.bars(Timeframe.M1, 10_000, START, substeps=1))

    assert market.regime is Regime.VOLATILE
    annualised = returns.std(axis=0, ddof=1) * math.sqrt(MINUTES_PER_YEAR)
    np.testing.assert_allclose(annualised, [1.2, 0.5, 0.14], rtol=0.06)


def test_ranging_regime_keeps_the_price_near_its_anchor() -> None:
    kappa = math.log(2) / (30 / MINUTES_PER_YEAR)  # half-life 30 minutes
    ranging = single_regime(Regime.RANGING, RegimeParams(mean_duration=NEVER, mean_reversion=kappa))
    market = SyntheticMarket(plain_config(regimes=ranging))
    prices = closes(market.bars(Timeframe.M5, 2_000, START, substeps=50))

    minutes = 2_000 * 5
    moves = np.abs(np.log(prices / prices[0]))
    stationary = np.array([0.6, 0.25, 0.07]) / math.sqrt(2 * kappa)  # sd of the OU deviation
    drift = 0.05 * minutes / MINUTES_PER_YEAR
    assert np.all(moves.max(axis=0) < 6 * stationary + drift)
    free = 0.6 * math.sqrt(minutes / MINUTES_PER_YEAR)  # what plain GBM would wander (1 sd)
    assert moves[:, 0].max() < free / 4


def test_trending_regime_adds_a_directional_drift() -> None:
    trending = single_regime(Regime.TRENDING, RegimeParams(mean_duration=NEVER, trend_drift=50.0))
    market = SyntheticMarket(plain_config(regimes=trending, volatilities=(0.2, 0.2, 0.2)))
    prices = closes(market.bars(Timeframe.H1, 400, START, substeps=60))

    years = 400 * 60 / MINUTES_PER_YEAR
    moves = np.abs(np.log(prices[-1] / prices[0]))
    assert np.all(moves > 0.5 * 50 * 0.2 * years)  # noise alone: 0.2 * sqrt(years) ~ 0.04


def test_count_of_large_moves_matches_the_jump_rate() -> None:
    rate = 365 * 24.0  # one jump per hour per instrument
    jumps = JumpConfig(rate_per_year=rate, mean=0.0, stdev=0.05)
    market = SyntheticMarket(plain_config(jumps=jumps, volatilities=(0.1, 0.1, 0.1)))
    returns = log_returns(market.bars(Timeframe.M5, 4_000, START, substeps=5))

    # Diffusion over 5 minutes is ~0.03%: a move beyond 2% is jumps. Over a bar the number of
    # jumps is Poisson(rate * dt) and n jumps sum to N(0, n * 0.05**2).
    mean_jumps = rate * 5 / MINUTES_PER_YEAR
    large = sum(
        math.exp(-mean_jumps)
        * mean_jumps**n
        / math.factorial(n)
        * math.erfc(0.02 / (0.05 * math.sqrt(n)) / math.sqrt(2))
        for n in range(1, 12)
    )
    expected = returns.shape[0] * large
    counts = (np.abs(returns) > 0.02).sum(axis=0)
    assert np.all(np.abs(counts - expected) < 0.2 * expected), (counts, expected)


def test_jumps_are_off_with_a_zero_rate_or_none() -> None:
    for jumps in (None, JumpConfig(rate_per_year=0.0)):
        market = SyntheticMarket(plain_config(jumps=jumps, volatilities=(0.1, 0.1, 0.1)))
        returns = log_returns(market.bars(Timeframe.M1, 2_000, START, substeps=1))
        assert np.abs(returns).max() < 0.005


# -- configuration ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("correlation", "rule"),
    [
        (((1.0, 0.3, 0.1), (0.2, 1.0, 0.0), (0.1, 0.0, 1.0)), "symmetric"),
        (((1.0, 0.3, 0.1), (0.3, 0.9, 0.0), (0.1, 0.0, 1.0)), "unit diagonal"),
        (((1.0, 0.9, -0.9), (0.9, 1.0, 0.9), (-0.9, 0.9, 1.0)), "positive semi-definite"),
        (((1.0, 0.3), (0.3, 1.0)), "3x3"),
        (((1.0, 1.5, 0.0), (1.5, 1.0, 0.0), (0.0, 0.0, 1.0)), "between -1 and 1"),
        (((1.0, math.nan, 0.0), (math.nan, 1.0, 0.0), (0.0, 0.0, 1.0)), "finite"),
        (((1.0, "x", 0.0), ("x", 1.0, 0.0), (0.0, 0.0, 1.0)), "numbers"),
    ],
)
def test_invalid_correlation_matrices_are_refused_naming_the_field(
    correlation: tuple[tuple[object, ...], ...], rule: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        plain_config(correlation=correlation)  # type: ignore[arg-type]
    assert caught.value.field == "correlation"
    assert rule in caught.value.rule


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: SyntheticInstrument(instrument=BTC, initial_price=D(0)), "initial_price"),
        (lambda: SyntheticInstrument(instrument=BTC, initial_price=1.5), "initial_price"),  # type: ignore[arg-type]
        (
            lambda: SyntheticInstrument(instrument=BTC, initial_price=D(1), volatility=-0.1),
            "volatility",
        ),
        (lambda: SyntheticInstrument(instrument=BTC, initial_price=D(1), drift=math.inf), "drift"),
        (lambda: RegimeParams(mean_duration=timedelta(0)), "mean_duration"),
        (
            lambda: RegimeParams(mean_duration=NEVER, volatility_multiplier=-1),
            "volatility_multiplier",
        ),
        (lambda: RegimeConfig(initial="SIDEWAYS"), "initial"),  # type: ignore[arg-type]
        (lambda: RegimeParams(mean_duration=NEVER, trend_drift=-1), "trend_drift"),
        (lambda: RegimeParams(mean_duration=NEVER, mean_reversion=-1), "mean_reversion"),
        (
            lambda: SyntheticInstrument(instrument=BTC, initial_price=D(1), jump_scale=-1),
            "jump_scale",
        ),
        (lambda: JumpConfig(rate_per_year=-1), "rate_per_year"),
        (lambda: JumpConfig(stdev=-0.1), "stdev"),
        (lambda: SyntheticMarketConfig(instruments=()), "instruments"),
        (lambda: plain_config(seed=-1), "seed"),
        (
            lambda: SyntheticMarketConfig(
                instruments=(
                    SyntheticInstrument(instrument=BTC, initial_price=D(1)),
                    SyntheticInstrument(instrument=BTC, initial_price=D(2)),
                )
            ),
            "instruments",
        ),
    ],
)
def test_invalid_configuration_is_refused_naming_the_field(build: object, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        build()  # type: ignore[operator]
    assert caught.value.field == field


def test_configs_are_frozen() -> None:
    config = plain_config()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.seed = 3  # type: ignore[misc]


# -- property: any sane config keeps prices positive and on the grid ----------------------

FAST_REGIMES = RegimeConfig(
    trending=RegimeParams(mean_duration=timedelta(minutes=3), trend_drift=40.0),
    ranging=RegimeParams(mean_duration=timedelta(minutes=5), mean_reversion=1e5),
    volatile=RegimeParams(mean_duration=timedelta(minutes=1), volatility_multiplier=4.0),
)


@st.composite
def market_configs(draw: st.DrawFn) -> SyntheticMarketConfig:
    count = draw(st.integers(1, 3))
    specs = []
    for index in range(count):
        tick = draw(st.sampled_from(["0.01", "0.00001", "0.25", "1", "5"]))
        lot = draw(st.sampled_from(["0.00001", "1", "1000"]))
        instrument = make_instrument(f"S{index}", tick=tick, lot=lot)
        specs.append(
            SyntheticInstrument(
                instrument=instrument,
                initial_price=D(tick) * draw(st.integers(1, 10**7)),
                drift=draw(st.floats(-2.0, 2.0)),
                volatility=draw(st.floats(0.0, 3.0)),
                jump_scale=draw(st.floats(0.0, 5.0)),
            )
        )
    return SyntheticMarketConfig(
        instruments=tuple(specs),
        regimes=draw(st.sampled_from([None, RegimeConfig(), FAST_REGIMES])),
        jumps=draw(st.sampled_from([None, JumpConfig(rate_per_year=50_000.0, stdev=0.2)])),
        seed=draw(st.integers(0, 2**32)),
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(config=market_configs())
def test_any_sane_config_gives_positive_prices_on_the_tick_grid(
    config: SyntheticMarketConfig,
) -> None:
    market = SyntheticMarket(config)
    instruments = {spec.instrument.id: spec.instrument for spec in config.instruments}

    bars = market.bars(Timeframe.M5, 40, START, substeps=10)
    for _ in range(20):
        for instrument_id, price in market.step(30_000_000_000).items():
            assert instruments[instrument_id].is_valid_price(price)
    for instrument_id, series in bars.items():
        instrument = instruments[instrument_id]
        for bar in series:
            assert all(
                instrument.is_valid_price(p) for p in (bar.open, bar.high, bar.low, bar.close)
            )
            assert bar.low <= min(bar.open, bar.close) <= max(bar.open, bar.close) <= bar.high
            assert instrument.floor_quantity(bar.volume) == bar.volume
