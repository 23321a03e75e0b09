"""Portfolio analytics: returns, Sharpe, Sortino, drawdown, exposure and P&L breakdowns.

Money stays Decimal (drawdown amounts, exposures, P&L sums); ratios that need
square roots and means (returns, Sharpe, Sortino) are floats, converted here at
the boundary and never fed back into accounting.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Protocol, TypeVar

import numpy as np
import numpy.typing as npt

from omoitrade.core.errors import ValidationError
from omoitrade.model.enums import InstrumentType
from omoitrade.model.identifiers import InstrumentId, StrategyId
from omoitrade.model.instruments import Instrument
from omoitrade.model.money import ZERO, to_decimal
from omoitrade.model.positions import Position
from omoitrade.model.timestamps import require_utc

#: Converts an amount from one currency to another (e.g. ``FxRates.convert``).
Converter = Callable[[Decimal, str, str], Decimal]
K = TypeVar("K")


@dataclass(frozen=True, slots=True)
class EquitySeries:
    """Equity over time: UTC timestamps, strictly increasing, each with a Decimal equity."""

    timestamps: tuple[datetime, ...]
    equity: tuple[Decimal, ...]

    def __post_init__(self) -> None:
        if len(self.timestamps) != len(self.equity):
            raise ValidationError("equity", "must have one value per timestamp")
        for at in self.timestamps:
            require_utc("timestamps", at)
        for earlier, later in zip(self.timestamps, self.timestamps[1:], strict=False):
            if later <= earlier:
                raise ValidationError("timestamps", "must be strictly increasing", later)
        for value in self.equity:
            to_decimal("equity", value)

    @classmethod
    def of(cls, points: Iterable[tuple[datetime, Decimal]]) -> EquitySeries:
        pairs = list(points)
        return cls(tuple(at for at, _ in pairs), tuple(value for _, value in pairs))

    def __len__(self) -> int:
        return len(self.equity)


def returns(series: EquitySeries) -> npt.NDArray[np.float64]:
    """Simple returns between consecutive points: ``equity[i] / equity[i - 1] - 1``.

    Equity must stay above zero at the start of every period.
    """
    values = series.equity
    out = np.empty(max(len(values) - 1, 0), dtype=np.float64)
    for i in range(1, len(values)):
        if values[i - 1] <= 0:
            raise ValidationError(
                "equity", "must be greater than 0 to compute returns", values[i - 1]
            )
        out[i - 1] = float(values[i] / values[i - 1] - 1)
    return out


def sharpe_ratio(
    period_returns: Sequence[float] | npt.NDArray[np.float64],
    periods_per_year: float,
    risk_free_rate: float = 0.0,
) -> float | None:
    """Annualized Sharpe ratio: mean excess return over its sample standard deviation,
    times ``sqrt(periods_per_year)``. ``risk_free_rate`` is per period. None when undefined
    (fewer than two returns or no variation)."""
    r = np.asarray(period_returns, dtype=np.float64) - risk_free_rate
    if r.size < 2:
        return None
    deviation = float(np.std(r, ddof=1))
    if deviation == 0 or not math.isfinite(deviation):
        return None
    return float(np.mean(r)) / deviation * math.sqrt(periods_per_year)


def sortino_ratio(
    period_returns: Sequence[float] | npt.NDArray[np.float64],
    periods_per_year: float,
    target: float = 0.0,
) -> float | None:
    """Annualized Sortino ratio: mean return above ``target`` over the downside deviation
    (root mean square of the shortfalls below ``target``, over all periods). None when
    there are no returns or no shortfall."""
    r = np.asarray(period_returns, dtype=np.float64) - target
    if r.size == 0:
        return None
    downside = math.sqrt(float(np.mean(np.minimum(r, 0.0) ** 2)))
    if downside == 0:
        return None
    return float(np.mean(r)) / downside * math.sqrt(periods_per_year)


@dataclass(frozen=True, slots=True)
class Drawdown:
    """The deepest fall from a peak, and the longest time spent below a peak.

    ``amount`` and ``fraction`` (of the peak) describe the deepest drawdown by
    fraction, from ``peak_at`` to ``trough_at``, recovered at ``recovered_at`` (None if
    equity never regained the peak). ``longest_duration`` is the longest stretch from a
    peak until equity regained it (or until the end of the series).
    """

    amount: Decimal
    fraction: Decimal
    peak_at: datetime | None
    trough_at: datetime | None
    recovered_at: datetime | None
    longest_duration: timedelta


def max_drawdown(series: EquitySeries) -> Drawdown:
    """The maximum drawdown of ``series`` (all zero for fewer than two points)."""
    best = Drawdown(ZERO, ZERO, None, None, None, timedelta(0))
    if not len(series):
        return best
    stamps, values = series.timestamps, series.equity
    peak, peak_at = values[0], stamps[0]
    deepest: tuple[Decimal, Decimal, datetime, datetime] | None = None
    deepest_peak_at: datetime | None = None
    recovered_at: datetime | None = None
    longest = timedelta(0)
    underwater = False
    for at, value in zip(stamps, values, strict=True):
        if value >= peak:
            if underwater:
                longest = max(longest, at - peak_at)
                underwater = False
                if recovered_at is None and deepest_peak_at == peak_at:
                    recovered_at = at
            peak, peak_at = value, at
            continue
        underwater = True
        amount = peak - value
        fraction = amount / peak if peak > 0 else Decimal(1)
        if deepest is None or fraction > deepest[1]:
            deepest = (amount, fraction, peak_at, at)
            deepest_peak_at, recovered_at = peak_at, None
    if underwater:
        longest = max(longest, stamps[-1] - peak_at)
    if deepest is None:
        return best
    return Drawdown(deepest[0], deepest[1], deepest[2], deepest[3], recovered_at, longest)


# --- exposure -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Exposure:
    """Gross (sum of absolute notionals) and net (signed sum) exposure in the base currency."""

    gross: Decimal = ZERO
    net: Decimal = ZERO

    def __add__(self, other: Exposure) -> Exposure:
        return Exposure(self.gross + other.gross, self.net + other.net)


@dataclass(frozen=True, slots=True)
class ExposureReport:
    total: Exposure
    by_instrument: dict[InstrumentId, Exposure]
    by_instrument_type: dict[InstrumentType, Exposure]


def exposure(
    positions: Iterable[Position],
    instruments: Mapping[InstrumentId, Instrument],
    base_currency: str,
    convert: Converter,
) -> ExposureReport:
    """Notional exposure (``signed quantity * current price``) by instrument and by type."""
    by_instrument: dict[InstrumentId, Exposure] = {}
    by_type: dict[InstrumentType, Exposure] = {}
    total = Exposure()
    for position in positions:
        if not position.quantity:
            continue
        instrument = instruments.get(position.instrument_id)
        if instrument is None:
            raise ValidationError("instruments", "must include every position's instrument")
        price = position.current_price or position.average_entry_price
        if price is None:
            raise ValidationError("current_price", "an open position must have a price")
        net = convert(position.signed_quantity * price, instrument.quote_currency, base_currency)
        item = Exposure(abs(net), net)
        by_instrument[instrument.id] = by_instrument.get(instrument.id, Exposure()) + item
        kind = instrument.instrument_type
        by_type[kind] = by_type.get(kind, Exposure()) + item
        total = total + item
    return ExposureReport(total, by_instrument, by_type)


# --- P&L breakdowns -------------------------------------------------------------------------
class PnlRecord(Protocol):
    """What a P&L breakdown needs of a record (``ledger.RealizedPnl`` has it)."""

    @property
    def strategy_id(self) -> StrategyId | None: ...
    @property
    def occurred_at(self) -> datetime: ...
    @property
    def currency(self) -> str: ...
    @property
    def realized_pnl(self) -> Decimal: ...
    @property
    def commission(self) -> Decimal: ...


@dataclass(frozen=True, slots=True)
class PnlSummary:
    """Realized P&L and commissions of a group of fills; ``net`` is after commissions."""

    realized_pnl: Decimal = ZERO
    commission: Decimal = ZERO
    fills: int = 0

    @property
    def net(self) -> Decimal:
        return self.realized_pnl - self.commission


def _group(
    records: Iterable[PnlRecord],
    key: Callable[[PnlRecord], K],
    base_currency: str,
    convert: Converter,
) -> dict[K, PnlSummary]:
    sums: dict[K, PnlSummary] = {}
    for record in records:
        k = key(record)
        old = sums.get(k, PnlSummary())
        sums[k] = PnlSummary(
            old.realized_pnl + convert(record.realized_pnl, record.currency, base_currency),
            old.commission + convert(record.commission, record.currency, base_currency),
            old.fills + 1,
        )
    return sums


def pnl_by_strategy(
    records: Iterable[PnlRecord], base_currency: str, convert: Converter
) -> dict[StrategyId | None, PnlSummary]:
    """Realized P&L and commissions per strategy (None: fills with no strategy)."""
    return _group(records, lambda r: r.strategy_id, base_currency, convert)


def pnl_by_day(
    records: Iterable[PnlRecord], base_currency: str, convert: Converter
) -> dict[date, PnlSummary]:
    """Realized P&L and commissions per UTC calendar day, in day order."""
    sums = _group(records, lambda r: r.occurred_at.date(), base_currency, convert)
    return dict(sorted(sums.items()))
