"""Technical indicators, each streaming (O(1) per bar) and vectorized (numpy), same values.

See ``docs/indicators.md`` for the conventions; ``INDICATORS`` lists them by name.
"""

from omoitrade.strategy.indicators.averages import Ema, Sma, Wma, ema, sma, wma
from omoitrade.strategy.indicators.base import StreamingIndicator
from omoitrade.strategy.indicators.momentum import (
    Macd,
    MacdValue,
    RateOfChange,
    Returns,
    Rsi,
    Stochastic,
    StochasticValue,
    macd,
    rate_of_change,
    returns,
    rsi,
    stochastic,
)
from omoitrade.strategy.indicators.registry import INDICATORS, IndicatorSpec, Param
from omoitrade.strategy.indicators.trend import Adx, AdxValue, adx
from omoitrade.strategy.indicators.volatility import (
    Atr,
    BollingerBands,
    BollingerValue,
    Highest,
    Lowest,
    RollingStd,
    ZScore,
    atr,
    bollinger_bands,
    highest,
    lowest,
    rolling_std,
    zscore,
)
from omoitrade.strategy.indicators.volume import Obv, Vwap, obv, vwap

__all__ = [
    "INDICATORS",
    "Adx",
    "AdxValue",
    "Atr",
    "BollingerBands",
    "BollingerValue",
    "Ema",
    "Highest",
    "IndicatorSpec",
    "Lowest",
    "Macd",
    "MacdValue",
    "Obv",
    "Param",
    "RateOfChange",
    "Returns",
    "RollingStd",
    "Rsi",
    "Sma",
    "Stochastic",
    "StochasticValue",
    "StreamingIndicator",
    "Vwap",
    "Wma",
    "ZScore",
    "adx",
    "atr",
    "bollinger_bands",
    "ema",
    "highest",
    "lowest",
    "macd",
    "obv",
    "rate_of_change",
    "returns",
    "rolling_std",
    "rsi",
    "sma",
    "stochastic",
    "vwap",
    "wma",
    "zscore",
]
