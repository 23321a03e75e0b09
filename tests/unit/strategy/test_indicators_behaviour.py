"""Warm-up, hand-worked values, edge cases and long-run drift of the indicators."""

from __future__ import annotations

import math
from collections import deque

import numpy as np
import pytest
from indicator_checks import Bars, assert_same, first_value, random_walk_bars, stream

from omoitrade.core.errors import ValidationError
from omoitrade.strategy.indicators import (
    INDICATORS,
    Atr,
    BollingerBands,
    Ema,
    Highest,
    Lowest,
    Macd,
    Obv,
    Returns,
    RollingStd,
    Rsi,
    Sma,
    Stochastic,
    Vwap,
    Wma,
    ZScore,
    atr,
    ema,
    obv,
    rsi,
    sma,
    stochastic,
    vwap,
    wma,
    zscore,
)

# Index of the first value with default parameters (bars before it are the warm-up).
FIRST_VALUE = {
    "sma": 19, "ema": 19, "wma": 8, "rsi": 13, "macd": 33, "bbands": 19, "atr": 13,
    "stddev": 19, "zscore": 19, "highest": 19, "lowest": 19, "roc": 12, "returns": 1,
    "stoch": 15, "obv": 0, "vwap": 13, "adx": 27,
}  # fmt: skip


def test_every_indicator_has_a_warm_up_case() -> None:
    assert set(FIRST_VALUE) == set(INDICATORS)


@pytest.mark.parametrize("name", sorted(FIRST_VALUE))
def test_warm_up_is_none_then_nan_up_to_the_documented_bar(name: str) -> None:
    bars = random_walk_bars(60, seed=3)
    spec = INDICATORS[name]
    indicator = spec.create()
    assert indicator.value is None
    first = FIRST_VALUE[name]
    for index in range(len(bars)):
        value = indicator.update_bar(
            float(bars.open[index]),
            float(bars.high[index]),
            float(bars.low[index]),
            float(bars.close[index]),
            float(bars.volume[index]),
        )
        assert (value is None) == (index < first), index
    vectorized = spec.compute(bars.open, bars.high, bars.low, bars.close, bars.volume)
    for series in vectorized.values() if isinstance(vectorized, dict) else [vectorized]:
        assert first_value(series) == first
        assert not np.isnan(series[first:]).any()


def test_short_input_is_all_warm_up() -> None:
    bars = random_walk_bars(5)
    for name, spec in INDICATORS.items():
        result = spec.compute(bars.open, bars.high, bars.low, bars.close, bars.volume)
        for series in result.values() if isinstance(result, dict) else [result]:
            assert len(series) == 5
            assert np.isnan(series).all() == (name not in {"obv", "returns"})


def test_empty_input_gives_empty_output() -> None:
    empty = np.array([], dtype=np.float64)
    for spec in INDICATORS.values():
        result = spec.compute(empty, empty, empty, empty, empty)
        for series in result.values() if isinstance(result, dict) else [result]:
            assert len(series) == 0


def test_hand_worked_averages() -> None:
    prices = [1.0, 2.0, 3.0, 4.0, 6.0]
    np.testing.assert_allclose(sma(prices, 3), [np.nan, np.nan, 2.0, 3.0, 13 / 3])
    # alpha = 0.5, seeded by the first value: 1, 1.5, 2.25, 3.125, 4.5625
    np.testing.assert_allclose(ema(prices, 3), [np.nan, np.nan, 2.25, 3.125, 4.5625])
    np.testing.assert_allclose(wma(prices, 3), [np.nan, np.nan, 14 / 6, 20 / 6, 29 / 6])
    streaming = Wma(3)
    assert [streaming.update(p) for p in prices][2:] == pytest.approx([14 / 6, 20 / 6, 29 / 6])


def test_hand_worked_atr() -> None:
    high, low, close = [10.0, 12.0, 11.0, 15.0], [9.0, 10.0, 8.0, 13.0], [9.5, 11.0, 9.0, 14.0]
    # true ranges: 1 (first bar: high - low), 2.5, 3, 6; seed (1 + 2.5) / 2, then Wilder.
    expected = [np.nan, 1.75, (1.75 + 3) / 2, ((1.75 + 3) / 2 + 6) / 2]
    np.testing.assert_allclose(atr(high, low, close, 2), expected)
    streaming = Atr(2)
    assert [streaming.update(*bar) for bar in zip(high, low, close, strict=True)] == [
        None,
        *expected[1:],
    ]


def test_rsi_extremes_follow_ta() -> None:
    rising, falling, flat = np.arange(1.0, 31.0), np.arange(30.0, 0.0, -1.0), np.full(30, 5.0)
    assert rsi(rising, 14)[-1] == 100.0
    assert rsi(falling, 14)[-1] == 0.0
    assert rsi(flat, 14)[-1] == 100.0  # no losses at all counts as 100, as in ta
    streaming = Rsi(14)
    for price in falling:
        streaming.update(float(price))
    assert streaming.value == 0.0


def test_macd_histogram_is_macd_minus_signal() -> None:
    bars = random_walk_bars(200)
    indicator = Macd()
    for price in bars.close:
        value = indicator.update(float(price))
    assert value is not None
    assert value.hist == value.macd - value.signal


def test_stochastic_of_a_flat_range_is_fifty() -> None:
    flat = np.full(20, 7.0)
    result = stochastic(flat, flat, flat, 5, 3)
    assert result["k"][-1] == 50.0 and result["d"][-1] == 50.0
    indicator = Stochastic(5, 3)
    for _ in range(20):
        value = indicator.update(7.0, 7.0, 7.0)
    assert value == (50.0, 50.0)


def test_stochastic_at_the_high_is_a_hundred() -> None:
    rising = np.arange(1.0, 21.0)
    assert stochastic(rising + 0.5, rising - 0.5, rising + 0.5, 5, 1)["k"][-1] == 100.0


def test_zscore_of_a_flat_window_is_zero_even_after_movement() -> None:
    prices = [1.0, 5.0, 2.0, 9.0] + [3.0] * 10
    streaming = ZScore(4)
    values = [streaming.update(p) for p in prices]
    assert values[-1] == 0.0
    assert zscore(prices, 4)[-1] == 0.0
    assert zscore([1.0, 1.0, 1.0, 4.0], 4)[-1] == pytest.approx(
        math.sqrt(3)
    )  # 2.25 / sqrt(27 / 16)


def test_rolling_std_needs_ddof_below_period() -> None:
    with pytest.raises(ValidationError):
        RollingStd(1, ddof=1)
    assert RollingStd(2, ddof=1).update(3.0) is None


def test_bollinger_width_zero_collapses_the_bands() -> None:
    bands = BollingerBands(3, width=0.0)
    for price in (1.0, 4.0, 2.0):
        value = bands.update(price)
    assert value is not None and value.upper == value.middle == value.lower


def test_obv_leaves_unchanged_closes_alone() -> None:
    close = [10.0, 11.0, 11.0, 10.5, 10.5, 12.0]
    volume = [5.0, 3.0, 7.0, 2.0, 4.0, 1.0]
    expected = [5.0, 8.0, 8.0, 6.0, 6.0, 7.0]
    np.testing.assert_array_equal(obv(close, volume), expected)
    indicator = Obv()
    assert [indicator.update(c, v) for c, v in zip(close, volume, strict=True)] == expected


def test_vwap_of_a_window_without_volume_is_nan() -> None:
    ones = np.ones(4)
    volume = np.array([2.0, 0.0, 0.0, 0.0])
    assert math.isnan(vwap(ones, ones, ones, volume, 2)[-1])
    assert vwap(ones * 3, ones, ones * 2, volume, 2)[1] == 2.0
    indicator = Vwap(2)
    values = [indicator.update(1.0, 1.0, 1.0, v) for v in volume]
    assert values[1] == 1.0 and math.isnan(values[-1] or 0.0)


def test_returns_simple_and_log() -> None:
    simple, log = Returns(2), Returns(2, log=True)
    for price in (100.0, 50.0, 110.0):
        simple.update(price)
        log.update(price)
    assert simple.value == pytest.approx(0.1)
    assert log.value == pytest.approx(math.log(1.1))


def test_update_bar_feeds_highs_to_highest_and_lows_to_lowest() -> None:
    bars = Bars(
        *(np.array(x) for x in ([1.0] * 3, [5.0, 9.0, 4.0], [0.5, 0.1, 0.3], [1.0] * 3, [1.0] * 3))
    )
    highest, lowest = stream(Highest(2), bars), stream(Lowest(2), bars)
    np.testing.assert_array_equal(highest, [np.nan, 9.0, 9.0])
    np.testing.assert_array_equal(lowest, [np.nan, 0.1, 0.1])


def test_highest_forgets_values_that_left_the_window() -> None:
    indicator = Highest(3)
    values = [indicator.update(p) for p in (9.0, 8.0, 7.0, 6.0, 5.0, 10.0)]
    assert values == [None, None, 9.0, 8.0, 7.0, 10.0]


@pytest.mark.parametrize(
    ("make", "exact"),
    [
        (lambda: Sma(50), lambda w: math.fsum(w) / len(w)),
        (lambda: RollingStd(50), lambda w: float(np.std(w))),
        (lambda: Wma(50), lambda w: float(np.dot(w, np.arange(1, 51)) / (50 * 51 / 2))),
    ],
)
def test_no_drift_over_a_long_stream(make, exact) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(11)
    prices = 1e6 * np.exp(np.cumsum(rng.normal(0.0, 1e-3, 100_000)))
    indicator = make()
    window: deque[float] = deque(maxlen=50)
    for price in prices.tolist():
        indicator.update(price)
        window.append(price)
    assert indicator.value == pytest.approx(exact(list(window)), rel=1e-11)


def test_ema_warm_up_uses_its_period_even_with_a_custom_alpha() -> None:
    indicator = Ema(3, alpha=0.1)
    assert [indicator.update(x) for x in (1.0, 2.0)] == [None, None]
    assert indicator.update(3.0) == pytest.approx(1.0 + 0.1 + 0.1 * (3.0 - 1.1))


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "14", None])
def test_periods_must_be_whole_and_positive(bad: object) -> None:
    with pytest.raises(ValidationError):
        Sma(bad)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        sma([1.0, 2.0], bad)  # type: ignore[arg-type]


def test_inputs_must_be_one_dimensional() -> None:
    with pytest.raises(ValidationError):
        sma([[1.0, 2.0], [3.0, 4.0]], 2)


@pytest.mark.parametrize("name", ["sma", "wma", "stddev", "zscore", "bbands", "vwap"])
def test_rolling_sums_recover_after_a_huge_level(name: str) -> None:
    """Values near 1e12 then near 1 (noise 1e-3): adding and subtracting alone would leave
    rounding residue of the huge values in the sums; the periodic resync removes it."""
    rng = np.random.default_rng(5)
    prices = np.concatenate([1e12 * (1 + rng.normal(0, 1e-6, 40)), 1.0 + rng.normal(0.0, 1e-3, 40)])
    volume = rng.uniform(1.0, 2.0, len(prices))
    bars = Bars(prices, prices, prices, prices, volume)
    spec = INDICATORS[name]
    streamed = stream(spec.create(period=10), bars)
    vectorized = spec.compute(prices, prices, prices, prices, volume, period=10)
    for output in spec.outputs:
        expected = vectorized[output] if isinstance(vectorized, dict) else vectorized
        actual = streamed[output] if isinstance(streamed, dict) else streamed
        assert_same(actual[-20:], expected[-20:])
