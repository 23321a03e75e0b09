"""Exposure report and one-day Value-at-Risk (historical and parametric) per portfolio.

Inside, the analytics run on numpy floats; amounts enter and leave as Decimals.
Values are in the portfolio's base currency: a view that is a :class:`CurrencyView`
converts each instrument's ``quantity * price`` from its quote currency at the latest
rate (as the ledger values equity), and a missing rate raises :class:`RiskDataMissing`;
a view that knows no currencies is taken to hold one currency. VaR is a positive loss
amount in that currency:

- historical: the one-day P&L series is ``sum_i exposure_i * return_i[t]``; VaR at
  confidence ``c`` is minus the ``k``-th worst P&L, ``k = ceil(n * (1 - c))``;
- parametric (variance-covariance, normal): ``z_c * sigma_p - mu_p`` with
  ``sigma_p = sqrt(w' S w)`` (``S`` the sample covariance, ddof 1) and ``mu_p = w' mu``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_CEILING, Decimal
from enum import StrEnum
from statistics import NormalDist
from typing import Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from omoitrade.core.errors import OmoiError, ValidationError
from omoitrade.model.enums import OrderSide
from omoitrade.model.identifiers import InstrumentId, PortfolioId
from omoitrade.model.money import ZERO
from omoitrade.risk.decisions import RiskDataMissing
from omoitrade.risk.view import RiskView

CONFIDENCES = (Decimal("0.95"), Decimal("0.99"))
_CENT = Decimal("0.01")


@runtime_checkable
class CurrencyView(Protocol):
    """What a :class:`RiskView` also answers when its instruments are quoted in several
    currencies: the runtime's view answers from the ledger and its FX rates."""

    def base_currency(self, portfolio_id: PortfolioId) -> str: ...

    def quote_currency(self, instrument_id: InstrumentId) -> str | None:
        """The instrument's quote currency; None when the instrument is not known."""
        ...

    def convert(self, amount: Decimal, from_currency: str, to_currency: str) -> Decimal:
        """``amount`` at the latest rate; raises (an OmoiError) when no rate is known."""
        ...


Valuation = Callable[[InstrumentId, Decimal], Decimal]


def _same(_: InstrumentId, value: Decimal) -> Decimal:
    return value


def base_valuation(view: RiskView, portfolio_id: PortfolioId) -> Valuation:
    """A value in an instrument's quote currency -> in the portfolio's base currency.

    Fails closed: an unknown quote currency or a missing rate raises RiskDataMissing.
    """
    if not isinstance(view, CurrencyView):
        return _same
    base = view.base_currency(portfolio_id)

    def in_base(instrument_id: InstrumentId, value: Decimal) -> Decimal:
        quote = view.quote_currency(instrument_id)
        if quote is None:
            raise RiskDataMissing(f"no quote currency known for {instrument_id}")
        if quote == base:
            return value
        try:
            return view.convert(value, quote, base)
        except OmoiError as error:
            raise RiskDataMissing(
                f"cannot value {instrument_id} in {base} (quoted in {quote}): {error}"
            ) from error

    return in_base


class VarMethod(StrEnum):
    HISTORICAL = "HISTORICAL"
    PARAMETRIC = "PARAMETRIC"


@dataclass(frozen=True, slots=True)
class InstrumentExposure:
    """One instrument: signed position, its price (quote currency), its value (base
    currency), and what working orders could add."""

    instrument_id: InstrumentId
    quantity: Decimal
    price: Decimal
    value: Decimal
    working_buy: Decimal
    working_sell: Decimal


@dataclass(frozen=True, slots=True)
class ExposureReport:
    """A portfolio's exposure at reference prices, in its base currency
    (``net`` = long - short)."""

    portfolio_id: PortfolioId
    at: datetime
    instruments: tuple[InstrumentExposure, ...]
    long: Decimal
    short: Decimal

    @property
    def gross(self) -> Decimal:
        return self.long + self.short

    @property
    def net(self) -> Decimal:
        return self.long - self.short


def exposure_report(view: RiskView, portfolio_id: PortfolioId, at: datetime) -> ExposureReport:
    """Positions and working orders per instrument; an unpriced instrument, or one whose
    value cannot be converted to the base currency, raises RiskDataMissing."""
    in_base = base_valuation(view, portfolio_id)
    positions = view.positions(portfolio_id)
    working: dict[InstrumentId, list[Decimal]] = {}
    for order in view.working_orders(portfolio_id):
        sides = working.setdefault(order.instrument_id, [ZERO, ZERO])
        sides[0 if order.side is OrderSide.BUY else 1] += order.leaves_quantity
    rows = []
    for instrument_id in sorted({*positions, *working}, key=str):
        price = view.reference_price(instrument_id)
        if price is None:
            raise RiskDataMissing(f"no reference price for {instrument_id}")
        quantity = positions.get(instrument_id, ZERO)
        buy, sell = working.get(instrument_id, [ZERO, ZERO])
        value = in_base(instrument_id, quantity * price)
        rows.append(InstrumentExposure(instrument_id, quantity, price, value, buy, sell))
    long = sum((r.value for r in rows if r.value > 0), ZERO)
    short = -sum((r.value for r in rows if r.value < 0), ZERO)
    return ExposureReport(portfolio_id, at, tuple(rows), long, short)


def _matrix(
    exposures: Mapping[InstrumentId, Decimal], returns: Mapping[InstrumentId, Sequence[float]]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Weights (exposures) and a returns matrix (one row per day) over held instruments."""
    held = [i for i, value in sorted(exposures.items(), key=lambda kv: str(kv[0])) if value != 0]
    if not held:
        return np.zeros(0), np.zeros((0, 0))
    missing = [i for i in held if i not in returns]
    if missing:
        raise RiskDataMissing(f"no return series for {', '.join(map(str, missing))}")
    lengths = {len(returns[i]) for i in held}
    if len(lengths) > 1:
        raise ValidationError("returns", "series must be of equal length", sorted(lengths))
    if lengths and lengths.pop() < 2:
        raise ValidationError("returns", "need at least 2 observations")
    weights = np.array([float(exposures[i]) for i in held], dtype=np.float64)
    matrix = np.array([list(returns[i]) for i in held], dtype=np.float64).T
    if not np.all(np.isfinite(matrix)):
        raise ValidationError("returns", "must be finite")
    return weights, matrix.reshape(-1, len(held))


def _check_confidence(confidence: Decimal) -> None:
    if not Decimal("0.5") <= confidence < 1:
        raise ValidationError("confidence", "must be in [0.5, 1)", confidence)


def _money(value: float) -> Decimal:
    return Decimal(repr(value)).quantize(_CENT)


def historical_var(
    exposures: Mapping[InstrumentId, Decimal],
    returns: Mapping[InstrumentId, Sequence[float]],
    confidence: Decimal,
) -> Decimal:
    """Minus the ``ceil(n (1 - c))``-th worst one-day P&L of today's exposures."""
    _check_confidence(confidence)
    weights, matrix = _matrix(exposures, returns)
    if weights.size == 0:
        return ZERO.quantize(_CENT)
    pnl = np.sort(matrix @ weights)
    k = int((len(pnl) * (1 - confidence)).to_integral_value(ROUND_CEILING))
    return _money(-float(pnl[max(k, 1) - 1]))


def parametric_var(
    exposures: Mapping[InstrumentId, Decimal],
    returns: Mapping[InstrumentId, Sequence[float]],
    confidence: Decimal,
) -> Decimal:
    """``z_c * sigma_p - mu_p`` under a normal one-day P&L."""
    _check_confidence(confidence)
    weights, matrix = _matrix(exposures, returns)
    if weights.size == 0:
        return ZERO.quantize(_CENT)
    covariance = np.atleast_2d(np.cov(matrix, rowvar=False, ddof=1))
    sigma = math.sqrt(max(float(weights @ covariance @ weights), 0.0))
    mu = float(matrix.mean(axis=0) @ weights)
    z = NormalDist().inv_cdf(float(confidence))
    return _money(z * sigma - mu)


@dataclass(frozen=True, slots=True)
class VarReport:
    """One-day VaR of a portfolio by method and confidence."""

    portfolio_id: PortfolioId
    values: Mapping[tuple[VarMethod, Decimal], Decimal]

    def get(self, method: VarMethod, confidence: Decimal) -> Decimal:
        return self.values[(method, confidence)]


def portfolio_var(
    view: RiskView,
    portfolio_id: PortfolioId,
    returns: Mapping[InstrumentId, Sequence[float]],
    confidences: Sequence[Decimal] = CONFIDENCES,
) -> VarReport:
    """Both methods at each confidence, on the positions valued at reference prices in
    the base currency (see :func:`base_valuation`)."""
    in_base = base_valuation(view, portfolio_id)
    exposures: dict[InstrumentId, Decimal] = {}
    for instrument_id, quantity in view.positions(portfolio_id).items():
        if quantity == 0:
            continue
        price = view.reference_price(instrument_id)
        if price is None:
            raise RiskDataMissing(f"no reference price for {instrument_id}")
        exposures[instrument_id] = in_base(instrument_id, quantity * price)
    values = {}
    for confidence in confidences:
        values[(VarMethod.HISTORICAL, confidence)] = historical_var(exposures, returns, confidence)
        values[(VarMethod.PARAMETRIC, confidence)] = parametric_var(exposures, returns, confidence)
    return VarReport(portfolio_id, values)
