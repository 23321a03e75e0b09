"""The synthetic market: a seeded fair-value process for demos, paper trading and backtests.

Model. Each instrument's log price moves by correlated Brownian shocks (the
configured correlation matrix, factored by Cholesky) with the exact
log-normal step ``x += (mu - sigma**2 / 2) dt + sigma sqrt(dt) Z``, so with
regimes and jumps off the path is a geometric Brownian motion sampled
without discretisation error. On top of that:

* Regimes: one market-wide Markov chain over TRENDING, RANGING and
  VOLATILE. Each step leaves the current regime with probability
  ``1 - exp(-dt / mean_duration)`` (so durations are geometric with the
  configured mean) for either other regime with equal odds. A regime
  multiplies volatility and volume, may add a directional drift
  (``trend_drift`` volatilities per year, its sign drawn per instrument on
  entry) and may pull the log price toward an anchor (``mean_reversion``,
  an Ornstein-Uhlenbeck step, exact for any ``dt``) that starts at the price
  on entry and moves with the drift and with jumps.
* Jumps: per instrument and step, ``N ~ Poisson(rate * dt)`` jumps whose log
  sizes are ``N(mean, stdev)`` scaled by the instrument's ``jump_scale``.
  A jump moves the level for good (in a ranging regime it moves the anchor).

Statistical sanity (checked in the unit tests). With regimes and jumps off,
log returns over ``dt`` are i.i.d. ``N((mu - sigma**2/2) dt, sigma**2 dt)``:
the annualised sample volatility converges to ``sigma``, the sample
correlation of log returns to the configured matrix and ``E[S_t] = S_0
exp(mu t)``. With regimes on, short-horizon variance is ``sigma**2`` times
the time-weighted mean of the squared volatility multipliers (the share of
time in a regime is proportional to its mean duration: about 0.96 with the
defaults); mean reversion lowers variance over horizons longer than its
half-life. With jumps, about ``rate * T`` jumps occur over ``T`` years.

Exactness. Floats live only inside the generator: every price leaving it is
an exact ``Decimal`` on the instrument's tick grid (half-even rounding,
clamped to at least one tick) and every volume a whole number of lots. The
same config and seed give the same path bit for bit on the same platform
(numpy's ``default_rng(seed)``, elementwise arithmetic only). Time comes
from the caller: ``step(dt_ns)`` and ``bars(..., start)``.
"""

from __future__ import annotations

import dataclasses
import gc
import hashlib
import math
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import cast

import numpy as np
import numpy.typing as npt

from omoitrade.core.errors import ValidationError
from omoitrade.core.ids import IdGenerator
from omoitrade.data.synthetic_config import (
    NANOS_PER_YEAR,
    JumpConfig,
    Regime,
    RegimeConfig,
    RegimeParams,
    SyntheticInstrument,
    SyntheticMarketConfig,
    demo_market_config,
)
from omoitrade.model import Bar, BarId, Instrument, InstrumentId, Timeframe
from omoitrade.model.timestamps import require_utc

__all__ = [
    "JumpConfig",
    "Regime",
    "RegimeConfig",
    "RegimeParams",
    "SyntheticInstrument",
    "SyntheticMarket",
    "SyntheticMarketConfig",
    "default_demo_market",
    "demo_market_config",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_REGIMES = (Regime.TRENDING, Regime.RANGING, Regime.VOLATILE)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SUBSTEPS_PER_CHUNK = 240_000  # bounds the memory of one bars() pass (a few MB per array)
_AR_BLOCK_GROWTH = 20.0  # largest log of phi**-L inside one block of the AR(1) filter
_MAX_UNITS = float(2**53)  # the largest tick or lot count a float holds exactly
_MAX_LOG_PRICE = 700.0  # exp() stays finite below ~709.78
_MIN_LEAVE_PROBABILITY = 1e-15  # below this a regime switch within one call is ignored
_SHORT_RUN = 16  # fewer steps than this are mixed in one numpy call, not row by row
_NEUTRAL = RegimeParams(mean_duration=timedelta.max)  # the one regime when switching is off


@dataclass(frozen=True, slots=True)
class _Segment:
    """Steps ``start..end`` of one call spent in one regime."""

    start: int
    end: int
    regime: int
    directions: FloatArray  # sign of the regime's trend per instrument
    fresh: bool  # entered within this call: the mean-reversion anchor restarts at the price


class SyntheticMarket:
    """Correlated GBM fair values with regimes and jumps; one seeded path per market.

    ``step`` and ``bars`` both advance the same path: bars continue from the
    current fair values and leave the market at the last bar's close.
    ``regime`` is global (one chain for the whole market), ``None`` when the
    config switches regimes off. Bar ids come from ``ids``; by default from
    an ``IdGenerator`` seeded with the config's seed whose clock reads the
    bar's timestamp, so ids are time-ordered and reproducible.
    """

    def __init__(self, config: SyntheticMarketConfig, ids: IdGenerator | None = None) -> None:
        self._config = config
        specs = config.instruments
        self._instruments = tuple(spec.instrument for spec in specs)
        self._ticks = tuple(instrument.tick_size for instrument in self._instruments)
        self._lots = tuple(instrument.lot_size for instrument in self._instruments)
        self._rng = np.random.default_rng(config.seed)
        self._factor = _correlation_factor(config.correlation_matrix())
        self._factor_rows: list[list[float]] = self._factor.tolist()
        self._drift = _floats(spec.drift for spec in specs)
        self._volatility = _floats(spec.volatility for spec in specs)
        self._jump_scale = _floats(spec.jump_scale for spec in specs)
        self._tick_size = _floats(float(tick) for tick in self._ticks)
        self._lot_size = _floats(float(lot) for lot in self._lots)
        self._volume_rate = _floats(float(spec.mean_volume_per_minute) for spec in specs)
        self._log_price = np.log(_floats(float(spec.initial_price) for spec in specs))
        regimes = config.regimes
        params = [regimes.params(r) for r in _REGIMES] if regimes else [_NEUTRAL]
        self._switching = regimes is not None
        self._regime = _REGIMES.index(regimes.initial) if regimes else 0
        self._vol_multiplier = _floats(p.volatility_multiplier for p in params)
        self._trend = _floats(p.trend_drift for p in params)
        self._kappa = _floats(p.mean_reversion for p in params)
        self._volume_multiplier = _floats(p.volume_multiplier for p in params)
        self._duration = _floats(p.mean_duration / timedelta(microseconds=1) for p in params)
        self._duration *= 1_000 / NANOS_PER_YEAR  # in years
        self._directions = np.zeros(len(specs))
        if self._trend[self._regime] > 0:
            self._directions = self._rng.choice((-1.0, 1.0), size=len(specs))
        self._deviation = np.zeros(len(specs))  # log price minus the mean-reversion anchor
        self._id_clock_ns = 0
        self._ids = ids or IdGenerator(lambda: self._id_clock_ns, seed=_id_seed(config))
        self._fair = self._fair_from(self._log_price)

    @property
    def config(self) -> SyntheticMarketConfig:
        return self._config

    @property
    def instruments(self) -> tuple[Instrument, ...]:
        return self._instruments

    @property
    def regime(self) -> Regime | None:
        """The current market-wide regime, or ``None`` when regimes are switched off."""
        return _REGIMES[self._regime] if self._switching else None

    def fair_values(self) -> dict[InstrumentId, Decimal]:
        """The current fair value of each instrument, on its tick grid."""
        return dict(self._fair)

    def step(self, dt_ns: int) -> dict[InstrumentId, Decimal]:
        """Advance every instrument by ``dt_ns`` nanoseconds; the new fair values."""
        if isinstance(dt_ns, bool) or not isinstance(dt_ns, int) or dt_ns <= 0:
            raise ValidationError("dt_ns", "must be a positive whole number of nanoseconds", dt_ns)
        path, _ = self._advance(1, dt_ns / NANOS_PER_YEAR)
        self._fair = self._fair_from(path[:, -1])
        return dict(self._fair)

    def bars(
        self, timeframe: Timeframe, count: int, start: datetime, substeps: int = 60
    ) -> dict[InstrumentId, list[Bar]]:
        """``count`` consecutive bars per instrument, the first starting at ``start`` (UTC).

        Each bar simulates ``substeps`` steps: open is the first, close the
        last, high and low the extremes; volume is whole lots; bid and ask are
        left empty. ``start`` must be aligned to the timeframe (a bar's
        timestamp is the start of its interval).
        """
        timeframe = _timeframe(timeframe)
        _require_count("count", count, minimum=0)
        _require_count("substeps", substeps, minimum=1)
        require_utc("start", start)
        start = start.astimezone(UTC)
        length = timedelta(microseconds=timeframe.nanos // 1_000)
        if (start - _EPOCH) % length:
            rule = f"must be aligned to a {timeframe.value} boundary"
            raise ValidationError("start", rule, start)
        dt = timeframe.nanos / substeps / NANOS_PER_YEAR
        minutes = timeframe.nanos / 60e9
        result: dict[InstrumentId, list[Bar]] = {i.id: [] for i in self._instruments}
        chunk = max(1, _SUBSTEPS_PER_CHUNK // substeps)
        with _collector_paused():
            for first in range(0, count, chunk):
                size = min(chunk, count - first)
                path, regimes = self._advance(size * substeps, dt)
                starts = np.arange(0, size * substeps, substeps)
                ends = starts + substeps - 1
                extremes = (
                    np.maximum.reduceat(path, starts, axis=1),
                    np.minimum.reduceat(path, starts, axis=1),
                )
                prices = [self._tick_counts(p) for p in (path[:, starts], *extremes, path[:, ends])]
                activity = self._volume_multiplier[regimes].reshape(size, substeps).mean(axis=1)
                volumes = self._lot_counts(minutes * activity, size)
                times = [start + (first + j) * length for j in range(size)]
                self._emit(result, timeframe, times, prices, volumes)
                self._fair = self._fair_from(path[:, -1])
        return result

    # -- the process ----------------------------------------------------------------------

    def _advance(self, n: int, dt: float) -> tuple[FloatArray, IntArray]:
        """Log prices after each of ``n`` steps of ``dt`` years, a row per instrument;
        the regime of each step."""
        shocks = self._correlated(self._rng.standard_normal((len(self._instruments), n)))
        jumps = self._jumps(n, dt)
        if self._switching:
            segments = self._regime_segments(n, dt)
        else:
            segments = [_Segment(0, n, 0, self._directions, fresh=False)]
        path = np.empty_like(shocks)
        regimes = np.empty(n, dtype=np.int64)
        level = self._log_price[:, None]
        for segment in segments:
            a, b, r = segment.start, segment.end, segment.regime
            regimes[a:b] = r
            volatility = self._volatility * self._vol_multiplier[r]
            trend = self._trend[r] * self._volatility * segment.directions
            drift = ((self._drift + trend - 0.5 * volatility * volatility) * dt)[:, None]
            noise = shocks[:, a:b] * (volatility * math.sqrt(dt))[:, None]
            if self._kappa[r] == 0:
                moves = noise + drift
                if jumps is not None:
                    moves += jumps[:, a:b]
                np.cumsum(moves, axis=1, out=moves)
                path[:, a:b] = moves + level
            else:  # an OU deviation around an anchor that drifts and jumps
                moves = np.zeros_like(noise) + drift
                if jumps is not None:
                    moves += jumps[:, a:b]
                deviation = np.zeros_like(level) if segment.fresh else self._deviation[:, None]
                anchor = (level - deviation) + np.cumsum(moves, axis=1)
                deviations = _ar1(noise, math.exp(-self._kappa[r] * dt), deviation)
                path[:, a:b] = anchor + deviations
                self._deviation = deviations[:, -1].copy()
            level = path[:, b - 1 : b]
        self._log_price = level[:, 0].copy()
        return path, regimes

    def _correlated(self, independent: FloatArray) -> FloatArray:
        """Rows of shocks with the configured correlation (row ``i`` mixes rows ``j``)."""
        if independent.shape[1] < _SHORT_RUN:  # step(): fewer numpy calls
            return np.asarray((self._factor[:, :, None] * independent).sum(axis=1))
        correlated = np.empty_like(independent)
        for i, weights in enumerate(self._factor_rows):
            row = independent[0] * weights[0]
            for j in range(1, len(weights)):
                if weights[j] != 0.0:  # the Cholesky factor is lower-triangular
                    row += independent[j] * weights[j]
            correlated[i] = row
        return correlated

    def _jumps(self, n: int, dt: float) -> FloatArray | None:
        """Jump sizes per step, or None without any jump.

        A Poisson total per instrument spread uniformly over the steps: the
        same law as a Poisson count per step, without a draw for every step.
        """
        config = self._config.jumps
        if config is None or config.rate_per_year == 0:
            return None
        jumps: FloatArray | None = None
        for column, scale in enumerate(self._jump_scale.tolist()):
            count = int(self._rng.poisson(config.rate_per_year * dt * n))
            if count == 0:
                continue
            steps = self._rng.integers(0, n, size=count)
            sizes = config.mean + config.stdev * self._rng.standard_normal(count)
            if jumps is None:
                jumps = np.zeros((len(self._instruments), n))
            np.add.at(jumps[column], steps, sizes * scale)
        return jumps

    def _regime_segments(self, n: int, dt: float) -> list[_Segment]:
        """Split ``n`` steps into regime spells; a switch happens before the step's move."""
        segments: list[_Segment] = []
        position, first = 0, True
        regime, directions = self._regime, self._directions
        while True:
            leave = -math.expm1(-dt / self._duration[regime])
            gap = int(self._rng.geometric(leave)) if leave > _MIN_LEAVE_PROBABILITY else n + 1
            end = position + gap - 1 if first else position + gap  # index of the switching step
            if min(end, n) > position:
                segments.append(_Segment(position, min(end, n), regime, directions, not first))
            if end >= n:
                break
            regime = (regime + 1 + int(self._rng.integers(2))) % len(_REGIMES)
            if self._trend[regime] > 0:
                directions = self._rng.choice((-1.0, 1.0), size=len(self._instruments))
            position, first = end, False
        self._regime, self._directions = regime, directions
        return segments

    # -- from floats to exact values -------------------------------------------------------

    def _tick_counts(self, log_prices: FloatArray) -> IntArray:
        """Prices as whole ticks, half to even, at least one tick."""
        tick_size = self._tick_size if log_prices.ndim == 1 else self._tick_size[:, None]
        ticks = np.rint(np.exp(np.minimum(log_prices, _MAX_LOG_PRICE)) / tick_size)
        return np.minimum(np.maximum(ticks, 1.0), _MAX_UNITS).astype(np.int64)

    def _lot_counts(self, minutes: FloatArray, size: int) -> IntArray:
        """Bar volumes in whole lots: mean rate x regime activity x lognormal noise."""
        sigma = self._config.volume_dispersion
        noise = np.exp(sigma * self._rng.standard_normal((len(self._instruments), size)))
        volume = self._volume_rate[:, None] * minutes * noise * math.exp(-0.5 * sigma * sigma)
        lots = np.floor(volume / self._lot_size[:, None])
        return np.minimum(lots, _MAX_UNITS).astype(np.int64)

    def _fair_from(self, log_prices: FloatArray) -> dict[InstrumentId, Decimal]:
        ticks = self._tick_counts(log_prices).tolist()
        return {
            instrument.id: Decimal(count) * tick
            for instrument, count, tick in zip(self._instruments, ticks, self._ticks, strict=True)
        }

    def _emit(
        self,
        result: dict[InstrumentId, list[Bar]],
        timeframe: Timeframe,
        times: Sequence[datetime],
        prices: Sequence[IntArray],
        volumes: IntArray,
    ) -> None:
        """Append one bar per instrument and time, ids in time order."""
        opens, highs, lows, closes = prices
        make = _trusted_bar if _bars_are_consistent(opens, highs, lows, closes) else Bar
        columns = []
        for i, (tick, lot) in enumerate(zip(self._ticks, self._lots, strict=True)):
            ohlc = _decimals(np.stack([p[i] for p in prices]), tick)
            columns.append((*ohlc, _decimals(volumes[i : i + 1], lot)[0]))
        series = [result[instrument.id] for instrument in self._instruments]
        ids = [instrument.id for instrument in self._instruments]
        for j, timestamp in enumerate(times):
            self._id_clock_ns = (timestamp - _EPOCH) // timedelta(microseconds=1) * 1_000
            for i, (o, h, lo, c, v) in enumerate(columns):
                bar_id = BarId(int=self._ids.next_int())
                series[i].append(
                    make(bar_id, ids[i], timestamp, timeframe, o[j], h[j], lo[j], c[j], v[j])
                )


def default_demo_market(
    instruments: Sequence[Instrument], seed: int = 0, ids: IdGenerator | None = None
) -> SyntheticMarket:
    """A market for the demo instruments (BTC/USD, AAPL, EUR/USD) with sensible parameters."""
    return SyntheticMarket(demo_market_config(instruments, seed), ids)


def _ar1(shocks: FloatArray, phi: float, initial: FloatArray) -> FloatArray:
    """``y[:, t] = phi * y[:, t-1] + shocks[:, t]`` from ``y[:, -1] = initial``, in blocks.

    Within a block ``y[t] = phi**(t+1) * (initial + sum(shocks[s] / phi**(s+1)))``;
    blocks are short enough that ``phi**-L`` stays far from overflow.
    """
    if phi >= 1.0:
        return initial + np.cumsum(shocks, axis=1)
    if phi <= 0.0:
        return shocks.copy()
    steps = shocks.shape[1]
    block = min(steps, int(_AR_BLOCK_GROWTH / -math.log(phi)))
    result = np.empty_like(shocks)
    if block <= 1:  # one step() or a pull so strong that each step nearly forgets the last
        level = initial[:, 0]
        for index in range(steps):
            level = result[:, index] = phi * level + shocks[:, index]
        return result
    powers = phi ** np.arange(1, block + 1, dtype=np.float64)
    level = initial
    for start in range(0, steps, block):
        part = shocks[:, start : start + block]
        scale = powers[: part.shape[1]]
        values = scale * (level + np.cumsum(part / scale, axis=1))
        result[:, start : start + part.shape[1]] = values
        level = values[:, -1:]
    return result


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cycle collector while building many acyclic objects (bars, ids, Decimals).

    Otherwise its generational passes re-scan the growing bar lists and cost
    about a third of the time of ``bars()``; nothing built here forms a cycle.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _decimals(counts: IntArray, step: Decimal) -> list[list[Decimal]]:
    """Rows of whole-step counts as exact Decimals, each distinct value built once."""
    distinct, positions = np.unique(counts, return_inverse=True)
    values = [Decimal(count) * step for count in distinct.tolist()]
    rows = cast("list[list[int]]", positions.reshape(counts.shape).tolist())
    return [[values[k] for k in row] for row in rows]


def _bars_are_consistent(
    opens: IntArray, highs: IntArray, lows: IntArray, closes: IntArray
) -> bool:
    """Whether the tick counts already satisfy every rule ``Bar`` checks on prices."""
    return bool(
        np.all(lows >= 1)
        and np.all(lows <= np.minimum(opens, closes))
        and np.all(highs >= np.maximum(opens, closes))
    )


_BAR_FIELDS: tuple[str, ...] = ("id", "instrument_id", "timestamp", "timeframe", "open", "high")
_BAR_FIELDS += ("low", "close", "volume", "bid", "ask")
_FAST_BARS = tuple(field.name for field in dataclasses.fields(Bar)) == _BAR_FIELDS


def _trusted_bar(
    bar_id: BarId,
    instrument_id: InstrumentId,
    timestamp: datetime,
    timeframe: Timeframe,
    open_: Decimal,
    high: Decimal,
    low: Decimal,
    close: Decimal,
    volume: Decimal,
) -> Bar:
    """A ``Bar`` from values already known valid, without re-running its checks.

    Building 300,000 validated bars costs seconds; the generator guarantees
    what ``Bar.__post_init__`` checks (exact Decimals, UTC start, prices of at
    least one tick, ``low <= open, close <= high``, whole lots), verified in bulk
    by :func:`_bars_are_consistent`. Should ``Bar`` gain a field, this falls
    back to the validating constructor.
    """
    if not _FAST_BARS:
        return Bar(bar_id, instrument_id, timestamp, timeframe, open_, high, low, close, volume)
    bar = object.__new__(Bar)
    setattr_ = object.__setattr__  # a frozen dataclass refuses plain assignment
    setattr_(bar, "id", bar_id)
    setattr_(bar, "instrument_id", instrument_id)
    setattr_(bar, "timestamp", timestamp)
    setattr_(bar, "timeframe", timeframe)
    setattr_(bar, "open", open_)
    setattr_(bar, "high", high)
    setattr_(bar, "low", low)
    setattr_(bar, "close", close)
    setattr_(bar, "volume", volume)
    setattr_(bar, "bid", None)
    setattr_(bar, "ask", None)
    return bar


def _correlation_factor(correlation: FloatArray) -> FloatArray:
    """A matrix ``A`` with ``A @ A.T == correlation``: Cholesky, or an eigen root if singular."""
    try:
        return np.asarray(np.linalg.cholesky(correlation), dtype=np.float64)
    except np.linalg.LinAlgError:  # positive semi-definite but singular (e.g. a 1.0 off-diagonal)
        values, vectors = np.linalg.eigh(correlation)
        return np.asarray(vectors * np.sqrt(np.clip(values, 0.0, None)), dtype=np.float64)


def _id_seed(config: SyntheticMarketConfig) -> int:
    """The default bar-id seed: the market seed mixed with the instruments, so that two
    markets with one seed but different instruments do not repeat each other's ids."""
    text = ":".join([str(config.seed), *(str(spec.instrument.id) for spec in config.instruments)])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def _floats(values: Iterable[float]) -> FloatArray:
    return np.array(list(values), dtype=np.float64)


def _timeframe(value: Timeframe | str) -> Timeframe:
    try:
        return Timeframe(value)
    except ValueError:
        allowed = ", ".join(t.value for t in Timeframe)
        raise ValidationError("timeframe", f"must be one of {allowed}", value) from None


def _require_count(name: str, value: int, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValidationError(name, f"must be a whole number of at least {minimum}", value)
