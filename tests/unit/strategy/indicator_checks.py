"""Helpers for the indicator tests: a real-shaped bar series, streaming runs, comparisons."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from omoitrade.strategy.indicators import StreamingIndicator

FloatArray = npt.NDArray[np.float64]
RTOL = 1e-9


@dataclass(frozen=True)
class Bars:
    """OHLCV columns of one instrument's bars."""

    open: FloatArray
    high: FloatArray
    low: FloatArray
    close: FloatArray
    volume: FloatArray

    def __len__(self) -> int:
        return len(self.close)


def random_walk_bars(count: int, seed: int = 7, start: float = 42_000.0) -> Bars:
    """Geometric random walk in 30 sub-steps per bar, volatility that clusters, tick 0.01.

    Open/close are the first/last sub-step, high/low the extremes, volume lognormal and
    larger on wide bars; prices are rounded to the tick, like real quotes.
    """
    rng = np.random.default_rng(seed)
    substeps = 30
    volatility = 0.002 * np.exp(np.cumsum(rng.normal(0.0, 0.05, count)) * 0.3)
    shocks = rng.normal(0.0, 1.0, (count, substeps)) * volatility[:, None] / np.sqrt(substeps)
    path = start * np.exp(np.cumsum(shocks.ravel())).reshape(count, substeps)
    path = np.round(path, 2)
    high, low = path.max(axis=1), path.min(axis=1)
    volume = np.round(rng.lognormal(3.0, 0.6, count) * (1 + (high - low) / path[:, -1] * 500), 4)
    return Bars(path[:, 0], high, low, path[:, -1], volume)


def stream(indicator: StreamingIndicator, bars: Bars) -> FloatArray | dict[str, FloatArray]:
    """Feed every bar through ``update_bar``; ``None`` becomes NaN, tuples become columns."""
    values: list[Any] = []
    for row in zip(bars.open, bars.high, bars.low, bars.close, bars.volume, strict=True):
        values.append(indicator.update_bar(*(float(x) for x in row)))
        assert indicator.value == values[-1] or _both_nan(indicator.value, values[-1])
    sample = next((v for v in values if v is not None), None)
    if isinstance(sample, tuple):
        fields: tuple[str, ...] = sample._fields  # type: ignore[attr-defined]
        return {
            name: np.array([np.nan if v is None else getattr(v, name) for v in values])
            for name in fields
        }
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def _both_nan(a: Any, b: Any) -> bool:
    return isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b)


def assert_same(actual: Any, expected: Any, rtol: float = RTOL) -> None:
    """Same NaN positions and values within ``rtol`` of the series' largest magnitude.

    Scaling by the largest magnitude keeps lines that cross zero (MACD histogram, returns)
    from failing on a relative error against a value that happens to be near zero.
    """
    actual = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected), "warm-up differs")
    finite = ~np.isnan(expected)
    assert finite.any(), "nothing to compare"
    scale = float(np.max(np.abs(expected[finite])))
    np.testing.assert_allclose(actual[finite], expected[finite], rtol=rtol, atol=rtol * scale)


def first_value(series: FloatArray) -> int:
    """The index of the first non-NaN entry."""
    return int(np.argmax(~np.isnan(series)))
