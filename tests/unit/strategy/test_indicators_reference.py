"""Streaming and vectorized indicators against each other and against ``ta`` / pandas."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import ta
from indicator_checks import Bars, assert_same, first_value, stream

from omoitrade.strategy.indicators import INDICATORS


def frame(bars: Bars) -> tuple[pd.Series, pd.Series, pd.Series, pd.Series]:
    return pd.Series(bars.high), pd.Series(bars.low), pd.Series(bars.close), pd.Series(bars.volume)


def compute(name: str, bars: Bars, **params: object) -> object:
    spec = INDICATORS[name]
    return spec.compute(bars.open, bars.high, bars.low, bars.close, bars.volume, **params)


def masked(reference: pd.Series, start: int) -> np.ndarray:
    """The reference with NaN before ``start`` (where it reports zeros or earlier values)."""
    values: np.ndarray = reference.to_numpy(dtype=np.float64).copy()
    values[:start] = np.nan
    return values


CASES: list[tuple[str, dict[str, object]]] = [
    ("sma", {}), ("sma", {"period": 1}), ("sma", {"period": 50}),
    ("ema", {}), ("ema", {"period": 3}), ("wma", {}), ("wma", {"period": 30}),
    ("rsi", {}), ("rsi", {"period": 2}),
    ("macd", {}), ("macd", {"fast": 5, "slow": 35, "signal": 5}),
    ("bbands", {}), ("bbands", {"period": 10, "width": 1.5}), ("atr", {}), ("atr", {"period": 5}),
    ("stddev", {}), ("stddev", {"ddof": 1, "period": 7}), ("zscore", {}), ("zscore", {"ddof": 1}),
    ("highest", {}), ("lowest", {"period": 5}), ("roc", {}), ("returns", {}),
    ("returns", {"period": 5, "log": True}), ("stoch", {}), ("stoch", {"period": 5, "smooth": 1}),
    ("obv", {}), ("vwap", {}), ("vwap", {"period": 60}), ("adx", {}), ("adx", {"period": 5}),
]  # fmt: skip


@pytest.mark.parametrize(("name", "params"), CASES)
def test_streaming_matches_vectorized(bars: Bars, name: str, params: dict[str, object]) -> None:
    vectorized = compute(name, bars, **params)
    streamed = stream(INDICATORS[name].create(**params), bars)
    if isinstance(vectorized, dict):
        assert isinstance(streamed, dict)
        assert tuple(vectorized) == INDICATORS[name].outputs == tuple(streamed)
        for output in vectorized:
            assert_same(streamed[output], vectorized[output])
    else:
        assert_same(streamed, vectorized)


@pytest.mark.parametrize("period", [1, 5, 20, 50])
def test_sma_matches_ta(bars: Bars, period: int) -> None:
    assert_same(compute("sma", bars, period=period), ta.trend.sma_indicator(frame(bars)[2], period))


@pytest.mark.parametrize("period", [2, 12, 26, 50])
def test_ema_matches_ta(bars: Bars, period: int) -> None:
    assert_same(compute("ema", bars, period=period), ta.trend.ema_indicator(frame(bars)[2], period))


@pytest.mark.parametrize("period", [2, 9, 30])
def test_wma_matches_ta(bars: Bars, period: int) -> None:
    assert_same(compute("wma", bars, period=period), ta.trend.wma_indicator(frame(bars)[2], period))


@pytest.mark.parametrize("period", [2, 14, 30])
def test_rsi_matches_ta(bars: Bars, period: int) -> None:
    assert_same(compute("rsi", bars, period=period), ta.momentum.rsi(frame(bars)[2], period))


@pytest.mark.parametrize(("fast", "slow", "signal"), [(12, 26, 9), (5, 35, 5), (3, 10, 16)])
def test_macd_matches_ta(bars: Bars, fast: int, slow: int, signal: int) -> None:
    ours = compute("macd", bars, fast=fast, slow=slow, signal=signal)
    assert isinstance(ours, dict)
    ref = ta.trend.MACD(frame(bars)[2], window_slow=slow, window_fast=fast, window_sign=signal)
    start = slow + signal - 2
    assert first_value(ours["macd"]) == start
    assert first_value(ref.macd_signal().to_numpy()) == start
    assert_same(ours["macd"], masked(ref.macd(), start))
    assert_same(ours["signal"], ref.macd_signal())
    assert_same(ours["hist"], ref.macd_diff())


@pytest.mark.parametrize(("period", "width"), [(20, 2.0), (10, 1.5), (5, 3.0)])
def test_bollinger_matches_ta(bars: Bars, period: int, width: float) -> None:
    ours = compute("bbands", bars, period=period, width=width)
    assert isinstance(ours, dict)
    ref = ta.volatility.BollingerBands(frame(bars)[2], window=period, window_dev=width)
    assert_same(ours["upper"], ref.bollinger_hband())
    assert_same(ours["middle"], ref.bollinger_mavg())
    assert_same(ours["lower"], ref.bollinger_lband())


@pytest.mark.parametrize("period", [1, 5, 14, 30])
def test_atr_matches_ta(bars: Bars, period: int) -> None:
    high, low, close, _ = frame(bars)
    reference = ta.volatility.average_true_range(high, low, close, period)  # zeros in warm-up
    assert_same(compute("atr", bars, period=period), masked(reference, period - 1))


def exact_std(close: pd.Series, period: int, ddof: int) -> pd.Series:
    """Rolling std, two-pass per window: pandas' own online ``rolling().std()`` loses about
    1e-7 relative on tight windows of prices near 42,000, too much for a 1e-9 reference."""
    return close.rolling(period).apply(lambda window: np.std(window, ddof=ddof), raw=True)


def test_pandas_rolling_std_is_not_exact_enough_here(bars: Bars) -> None:
    close = frame(bars)[2]
    online, exact = close.rolling(2).std(ddof=0), exact_std(close, 2, 0)
    assert not np.allclose(online[1:], exact[1:], rtol=1e-9, atol=0)
    assert np.allclose(online[1:], exact[1:], rtol=1e-3, atol=0)


@pytest.mark.parametrize(("period", "ddof"), [(20, 0), (7, 1), (2, 0), (100, 1)])
def test_rolling_std_matches_pandas(bars: Bars, period: int, ddof: int) -> None:
    reference = exact_std(frame(bars)[2], period, ddof)
    assert_same(compute("stddev", bars, period=period, ddof=ddof), reference)


@pytest.mark.parametrize(("period", "ddof"), [(20, 0), (7, 1), (100, 0)])
def test_zscore_matches_pandas(bars: Bars, period: int, ddof: int) -> None:
    close = frame(bars)[2]
    reference = (close - close.rolling(period).mean()) / exact_std(close, period, ddof)
    assert_same(compute("zscore", bars, period=period, ddof=ddof), reference)


@pytest.mark.parametrize("period", [1, 5, 20])
def test_highest_lowest_match_ta_donchian(bars: Bars, period: int) -> None:
    high, low, close, _ = frame(bars)
    channel = ta.volatility.DonchianChannel(high, low, close, window=period)
    assert_same(compute("highest", bars, period=period), channel.donchian_channel_hband())
    assert_same(compute("lowest", bars, period=period), channel.donchian_channel_lband())


@pytest.mark.parametrize("period", [1, 12, 40])
def test_rate_of_change_matches_ta(bars: Bars, period: int) -> None:
    assert_same(compute("roc", bars, period=period), ta.momentum.roc(frame(bars)[2], period))


def test_returns_match_ta_and_pandas(bars: Bars) -> None:
    close = frame(bars)[2]
    assert_same(compute("returns", bars), ta.others.daily_return(close) / 100.0)
    assert_same(compute("returns", bars, log=True), ta.others.daily_log_return(close) / 100.0)
    assert_same(compute("returns", bars, period=10), close.pct_change(10))
    assert_same(compute("returns", bars, period=10, log=True), np.log(close).diff(10))


@pytest.mark.parametrize(("period", "smooth"), [(14, 3), (5, 1), (30, 7)])
def test_stochastic_matches_ta(bars: Bars, period: int, smooth: int) -> None:
    high, low, close, _ = frame(bars)
    ours = compute("stoch", bars, period=period, smooth=smooth)
    assert isinstance(ours, dict)
    ref = ta.momentum.StochasticOscillator(high, low, close, window=period, smooth_window=smooth)
    start = period + smooth - 2
    assert_same(ours["k"], masked(ref.stoch(), start))
    assert_same(ours["d"], ref.stoch_signal())


def test_obv_matches_ta_without_unchanged_closes(bars: Bars) -> None:
    assert np.all(np.diff(bars.close) != 0)  # ta adds volume on an unchanged close
    _, _, close, volume = frame(bars)
    assert_same(compute("obv", bars), ta.volume.on_balance_volume(close, volume))


@pytest.mark.parametrize("period", [1, 14, 60])
def test_vwap_matches_ta(bars: Bars, period: int) -> None:
    high, low, close, volume = frame(bars)
    reference = ta.volume.volume_weighted_average_price(high, low, close, volume, window=period)
    assert_same(compute("vwap", bars, period=period), reference)


@pytest.mark.parametrize("period", [2, 5, 14, 30])
def test_adx_matches_ta(bars: Bars, period: int) -> None:
    high, low, close, _ = frame(bars)
    ours = compute("adx", bars, period=period)
    assert isinstance(ours, dict)
    ref = ta.trend.ADXIndicator(high, low, close, window=period)
    start = 2 * period - 1
    assert first_value(ours["adx"]) == start
    assert_same(ours["adx"], masked(ref.adx(), start))
    assert_same(ours["plus_di"], masked(ref.adx_pos(), start))
    assert_same(ours["minus_di"], masked(ref.adx_neg(), start))
