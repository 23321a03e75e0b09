"""The indicator registry: names, parameters with bounds, outputs and both forms."""

from __future__ import annotations

import numpy as np
import pytest
from indicator_checks import Bars

from omoitrade.core.errors import ValidationError
from omoitrade.strategy.indicators import INDICATORS, Macd, StreamingIndicator, macd

NAMES = {
    "sma", "ema", "wma", "rsi", "macd", "bbands", "atr", "stddev", "zscore", "highest",
    "lowest", "roc", "returns", "stoch", "obv", "vwap", "adx",
}  # fmt: skip
MULTI = {
    "macd": ("macd", "signal", "hist"),
    "bbands": ("upper", "middle", "lower"),
    "stoch": ("k", "d"),
    "adx": ("adx", "plus_di", "minus_di"),
}


def test_the_registry_lists_every_indicator_under_its_name() -> None:
    assert set(INDICATORS) == NAMES
    for name, spec in INDICATORS.items():
        assert spec.name == name
        assert spec.outputs == MULTI.get(name, ("value",))
        assert set(spec.inputs) <= {"open", "high", "low", "close", "volume"}


@pytest.mark.parametrize("name", sorted(NAMES))
def test_defaults_lie_within_their_bounds(name: str) -> None:
    spec = INDICATORS[name]
    for param in spec.params:
        assert isinstance(param.default, param.kind)
        assert param.minimum is None or param.default >= param.minimum
        assert param.maximum is None or param.default <= param.maximum
    assert spec.parameters() == {p.name: p.default for p in spec.params}
    assert isinstance(spec.create(), StreamingIndicator)


def test_parameters_fill_defaults_and_accept_ints_for_floats() -> None:
    assert INDICATORS["macd"].parameters(fast=5) == {"fast": 5, "slow": 26, "signal": 9}
    assert INDICATORS["bbands"].parameters(width=3) == {"period": 20, "width": 3.0}


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("sma", {"length": 3}),
        ("sma", {"period": 0}),
        ("sma", {"period": 3.0}),
        ("sma", {"period": True}),
        ("rsi", {"period": 1_000_000}),
        ("bbands", {"width": -1.0}),
        ("bbands", {"width": "2"}),
        ("returns", {"log": 1}),
        ("stddev", {"ddof": 2}),
        ("obv", {"period": 3}),
    ],
)
def test_bad_parameters_are_refused(name: str, params: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        INDICATORS[name].parameters(**params)
    with pytest.raises(ValidationError):
        INDICATORS[name].create(**params)


def test_compute_needs_the_arrays_it_reads(bars: Bars) -> None:
    with pytest.raises(ValidationError, match="volume"):
        INDICATORS["vwap"].compute(high=bars.high, low=bars.low, close=bars.close)
    result = INDICATORS["sma"].compute(close=bars.close, period=5)
    assert isinstance(result, np.ndarray) and len(result) == len(bars)


def test_registry_forms_are_the_plain_classes_and_functions(bars: Bars) -> None:
    spec = INDICATORS["macd"]
    assert isinstance(spec.create(fast=3), Macd)
    result = spec.compute(close=bars.close, fast=3, slow=8, signal=4)
    assert isinstance(result, dict)
    expected = macd(bars.close, 3, 8, 4)
    for output in spec.outputs:
        np.testing.assert_array_equal(result[output], expected[output])


def test_created_indicators_do_not_share_state() -> None:
    first, second = INDICATORS["sma"].create(period=2), INDICATORS["sma"].create(period=2)
    first.update_bar(1.0, 1.0, 1.0, 1.0, 1.0)
    first.update_bar(3.0, 3.0, 3.0, 3.0, 1.0)
    assert first.value == 2.0 and second.value is None
