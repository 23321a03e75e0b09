"""Configuration of the synthetic market: instruments, correlation, regimes, jumps and seed.

Every object is a frozen dataclass validated on construction; a bad value is
refused with a :class:`~omoitrade.core.errors.ValidationError` naming the field.
Rates, drifts and volatilities are annual (a year is 365 days of continuous
trading: the synthetic market never closes). Prices and sizes are ``Decimal``;
the model parameters are floats because they only feed the float generator.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from omoitrade.core.errors import ValidationError
from omoitrade.model import Instrument
from omoitrade.model.money import require_non_negative, require_positive, to_decimal

NANOS_PER_YEAR = 365 * 86_400 * 1_000_000_000
_SYMMETRY_TOLERANCE = 1e-9
_PSD_TOLERANCE = 1e-10


class Regime(StrEnum):
    """The state of the market-wide Markov chain that shapes drift, volatility and volume."""

    TRENDING = "TRENDING"
    RANGING = "RANGING"
    VOLATILE = "VOLATILE"


def _require_finite(name: str, value: float, *, minimum: float | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValidationError(name, "must be a finite number", value)
    if minimum is not None and value < minimum:
        raise ValidationError(name, f"must be at least {minimum}", value)


@dataclass(frozen=True, slots=True)
class SyntheticInstrument:
    """One simulated instrument: where its price starts and how it moves.

    ``drift`` and ``volatility`` are the annual ``mu`` and ``sigma`` of the
    geometric Brownian motion. ``volume_per_minute`` is the mean traded size per
    minute in base units (100 lots by default). ``jump_scale`` multiplies the
    market's jump sizes for this instrument (a 1% jump for BTC is news; for
    EUR/USD it is a crisis).
    """

    instrument: Instrument
    initial_price: Decimal
    drift: float = 0.0
    volatility: float = 0.2
    volume_per_minute: Decimal | None = None
    jump_scale: float = 1.0

    def __post_init__(self) -> None:
        price = to_decimal("initial_price", self.initial_price)
        require_positive("initial_price", price)
        object.__setattr__(self, "initial_price", price)
        _require_finite("drift", self.drift)
        _require_finite("volatility", self.volatility, minimum=0.0)
        _require_finite("jump_scale", self.jump_scale, minimum=0.0)
        if self.volume_per_minute is None:
            volume = self.instrument.lot_size * 100
        else:
            volume = to_decimal("volume_per_minute", self.volume_per_minute)
            require_non_negative("volume_per_minute", volume)
        object.__setattr__(self, "volume_per_minute", volume)

    @property
    def mean_volume_per_minute(self) -> Decimal:
        assert self.volume_per_minute is not None  # filled in by __post_init__
        return self.volume_per_minute


@dataclass(frozen=True, slots=True)
class RegimeParams:
    """How one regime shapes the process, and how long it lasts on average.

    ``trend_drift`` is an annual log-drift added while the regime lasts, in
    units of the instrument's own volatility, with a random sign per
    instrument drawn on entry. ``mean_reversion`` is the annual speed ``kappa``
    pulling the log price toward an anchor that starts at the price on entry
    and moves with the drift (half-life ``ln 2 / kappa`` years).
    """

    mean_duration: timedelta
    volatility_multiplier: float = 1.0
    trend_drift: float = 0.0
    mean_reversion: float = 0.0
    volume_multiplier: float = 1.0

    def __post_init__(self) -> None:
        if not isinstance(self.mean_duration, timedelta) or self.mean_duration <= timedelta(0):
            rule = "must be a positive timedelta"
            raise ValidationError("mean_duration", rule, self.mean_duration)
        _require_finite("volatility_multiplier", self.volatility_multiplier, minimum=0.0)
        _require_finite("trend_drift", self.trend_drift, minimum=0.0)
        _require_finite("mean_reversion", self.mean_reversion, minimum=0.0)
        _require_finite("volume_multiplier", self.volume_multiplier, minimum=0.0)


_HALF_HOUR_IN_YEARS = 1800e9 / NANOS_PER_YEAR


@dataclass(frozen=True, slots=True)
class RegimeConfig:
    """The three regimes and where the chain starts.

    Leaving a regime goes to either of the other two with equal probability,
    so the long-run share of time in each regime is proportional to its mean
    duration (defaults: 4/13 trending, 8/13 ranging, 1/13 volatile).
    """

    trending: RegimeParams = RegimeParams(
        mean_duration=timedelta(hours=4), trend_drift=30.0, volume_multiplier=1.2
    )
    ranging: RegimeParams = RegimeParams(
        mean_duration=timedelta(hours=8),
        volatility_multiplier=0.75,
        mean_reversion=math.log(2) / _HALF_HOUR_IN_YEARS,
        volume_multiplier=0.8,
    )
    volatile: RegimeParams = RegimeParams(
        mean_duration=timedelta(hours=1), volatility_multiplier=2.0, volume_multiplier=2.0
    )
    initial: Regime = Regime.RANGING

    def __post_init__(self) -> None:
        for name in ("trending", "ranging", "volatile"):
            if not isinstance(getattr(self, name), RegimeParams):
                raise ValidationError(name, "must be RegimeParams", getattr(self, name))
        try:
            object.__setattr__(self, "initial", Regime(self.initial))
        except ValueError:
            raise ValidationError(
                "initial", "must be one of TRENDING, RANGING, VOLATILE", self.initial
            ) from None

    def params(self, regime: Regime) -> RegimeParams:
        return {
            Regime.TRENDING: self.trending,
            Regime.RANGING: self.ranging,
            Regime.VOLATILE: self.volatile,
        }[regime]


@dataclass(frozen=True, slots=True)
class JumpConfig:
    """Jumps: Poisson arrivals at ``rate_per_year`` per instrument, log sizes ~ N(mean, stdev)."""

    rate_per_year: float = 12.0
    mean: float = 0.0
    stdev: float = 0.01

    def __post_init__(self) -> None:
        _require_finite("rate_per_year", self.rate_per_year, minimum=0.0)
        _require_finite("mean", self.mean)
        _require_finite("stdev", self.stdev, minimum=0.0)


Matrix = tuple[tuple[float, ...], ...]


@dataclass(frozen=True, slots=True)
class SyntheticMarketConfig:
    """Everything the synthetic market needs; the same config and seed give the same path.

    ``correlation`` is the correlation matrix of the Brownian shocks, in the
    order of ``instruments`` (the identity when omitted). ``regimes=None``
    switches regimes off (plain GBM); ``jumps=None`` switches jumps off.
    ``volume_dispersion`` is the sigma of the lognormal bar-volume noise.
    """

    instruments: tuple[SyntheticInstrument, ...]
    correlation: Matrix | None = None
    regimes: RegimeConfig | None = field(default_factory=RegimeConfig)
    jumps: JumpConfig | None = field(default_factory=JumpConfig)
    seed: int = 0
    volume_dispersion: float = 0.5

    def __post_init__(self) -> None:
        instruments = tuple(self.instruments)
        if not instruments:
            raise ValidationError("instruments", "must not be empty")
        ids = [spec.instrument.id for spec in instruments]
        if len(set(ids)) != len(ids):
            raise ValidationError("instruments", "must not repeat an instrument")
        object.__setattr__(self, "instruments", instruments)
        if self.correlation is not None:
            object.__setattr__(
                self, "correlation", _validated_correlation(self.correlation, len(instruments))
            )
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValidationError("seed", "must be a non-negative integer", self.seed)
        _require_finite("volume_dispersion", self.volume_dispersion, minimum=0.0)

    def correlation_matrix(self) -> npt.NDArray[np.float64]:
        """The correlation as a float array (the identity when none was given)."""
        if self.correlation is None:
            return np.eye(len(self.instruments))
        return np.array(self.correlation, dtype=np.float64)


def _validated_correlation(value: Sequence[Sequence[float]], size: int) -> Matrix:
    """``value`` as a tuple matrix, or a ValidationError on the ``correlation`` field."""
    try:
        rows = tuple(tuple(float(x) for x in row) for row in value)
    except (TypeError, ValueError):
        raise ValidationError("correlation", "must be a square matrix of numbers") from None
    if len(rows) != size or any(len(row) != size for row in rows):
        raise ValidationError("correlation", f"must be {size}x{size}, one row per instrument")
    matrix = np.array(rows, dtype=np.float64)
    if not np.all(np.isfinite(matrix)):
        raise ValidationError("correlation", "must contain only finite numbers")
    if np.any(np.abs(matrix) > 1.0):
        raise ValidationError("correlation", "entries must be between -1 and 1")
    if not np.allclose(np.diag(matrix), 1.0, rtol=0.0, atol=_SYMMETRY_TOLERANCE):
        raise ValidationError("correlation", "must have a unit diagonal")
    if not np.allclose(matrix, matrix.T, rtol=0.0, atol=_SYMMETRY_TOLERANCE):
        raise ValidationError("correlation", "must be symmetric")
    smallest = float(np.linalg.eigvalsh(matrix).min())
    if smallest < -_PSD_TOLERANCE:
        raise ValidationError(
            "correlation",
            f"must be positive semi-definite (smallest eigenvalue {smallest:.3g})",
        )
    return rows


# symbol -> (initial price, annual drift, annual volatility, volume per minute, jump scale)
_DEMO_PARAMETERS: dict[str, tuple[str, float, float, str, float]] = {
    "BTC/USD": ("42000.00", 0.10, 0.60, "2", 2.0),
    "AAPL": ("190.00", 0.08, 0.25, "20000", 1.0),
    "EUR/USD": ("1.08500", 0.0, 0.07, "5000000", 0.3),
}
_DEMO_CORRELATIONS: dict[frozenset[str], float] = {
    frozenset(("BTC/USD", "AAPL")): 0.3,
    frozenset(("BTC/USD", "EUR/USD")): 0.1,
    frozenset(("AAPL", "EUR/USD")): 0.15,
}


def demo_market_config(instruments: Sequence[Instrument], seed: int = 0) -> SyntheticMarketConfig:
    """A sensible config for the demo instruments (BTC/USD, AAPL, EUR/USD), matched by symbol.

    BTC starts near 42,000 with 60% volatility, AAPL near 190 with 25%, EUR/USD
    near 1.0850 with 7%; modest positive correlations; default regimes; jumps
    about twice a month of about 1% (scaled per instrument).
    """
    specs = []
    for instrument in instruments:
        parameters = _DEMO_PARAMETERS.get(instrument.symbol)
        if parameters is None:
            known = ", ".join(_DEMO_PARAMETERS)
            raise ValidationError(
                "instruments", f"no demo parameters for {instrument.symbol} (known: {known})"
            )
        price, drift, volatility, volume, jump_scale = parameters
        specs.append(
            SyntheticInstrument(
                instrument=instrument,
                initial_price=instrument.round_price(Decimal(price)),
                drift=drift,
                volatility=volatility,
                volume_per_minute=instrument.floor_quantity(Decimal(volume)),
                jump_scale=jump_scale,
            )
        )
    symbols = [instrument.symbol for instrument in instruments]
    correlation = tuple(
        tuple(1.0 if a == b else _DEMO_CORRELATIONS.get(frozenset((a, b)), 0.0) for b in symbols)
        for a in symbols
    )
    return SyntheticMarketConfig(
        instruments=tuple(specs),
        correlation=correlation,
        jumps=JumpConfig(rate_per_year=24.0, mean=0.0, stdev=0.01),
        seed=seed,
    )
