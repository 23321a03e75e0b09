"""Each strategy version's paper record as the paper session keeps it: its counts, its
P&L by quote currency (settled trades, and open trades at the current marks), valued in
the portfolio's base currency at the latest FX rates, and its equity curve's figures.

The rates are the ledger's (:class:`~omoitrade.portfolio.fx.FxRates`), kept up to date
by the session from the FX instruments' quotes (:func:`fx_rate`). A converted sum is
rounded (half even) to the base currency's minor unit, :data:`BASE_CURRENCY_STEP`. A P&L
in a currency with no rate to the base is never added as it is: :func:`in_base` raises
:class:`~omoitrade.portfolio.fx.MissingFxRate`, naming the pair. The record is still
written then, but only what needs no conversion (the counts, the P&L by currency, the
position) moves; the base-currency figures and the equity curve stay the last valued
ones, and ``unvalued_since`` and ``unvalued_pair`` say so until a rate is known again.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from omoitrade.core.clock import to_datetime
from omoitrade.model import Instrument, Quote
from omoitrade.model.enums import InstrumentType, OrderSide
from omoitrade.model.identifiers import InstrumentId, StrategyId
from omoitrade.model.money import round_to_step
from omoitrade.portfolio.fx import FxRates, MissingFxRate
from omoitrade.runtime.paper_equity import PaperEquity
from omoitrade.signals.trade import SignalTrade
from omoitrade.strategy.lifecycle import OLD_SHARPE

VersionKey = tuple[StrategyId, int]
#: The base currency's minor unit: converted sums are rounded to it (half even). No
#: currency precision is kept elsewhere; two decimals suit the portfolios' currencies.
BASE_CURRENCY_STEP = Decimal("0.01")
#: What an update without a rate still writes: nothing here needs a conversion.
UNCONVERTED = ("realized_pnl_by_currency", "signals", "trades_settled", "position")
UNVALUED = ("unvalued_since", "unvalued_pair")  # the marks of a record not valued now


def fx_rate(instrument: Instrument | None, quote: Quote) -> tuple[str, str, Decimal] | None:
    """An FX instrument's quote as a rate: one base currency is worth the mid in its quote
    currency (``EUR/USD`` at 1.0850: one EUR is worth 1.0850 USD); None for the others."""
    if instrument is None or instrument.instrument_type is not InstrumentType.FOREX:
        return None
    base, counter = instrument.base_currency, instrument.quote_currency
    if base == counter:
        return None
    return base, counter, quote.mid


def in_base(amounts: Mapping[str, Decimal], base: str, rates: FxRates) -> Decimal:
    """The sum of ``amounts`` (by currency) in ``base`` at the latest rates, rounded half
    even to :data:`BASE_CURRENCY_STEP`; raises MissingFxRate (naming the pair) for a
    non-zero amount in a currency without one."""
    total = Decimal(0)
    for currency, amount in sorted(amounts.items()):
        if amount:
            total += rates.convert(amount, currency, base)
    return round_to_step(total, BASE_CURRENCY_STEP)


def open_pnl(
    trades: Iterable[SignalTrade],
    key: VersionKey,
    price: Callable[[InstrumentId], Decimal | None],
) -> dict[str, Decimal]:
    """The P&L of a strategy version's open trades by quote currency, at the current
    marks (``price``; the entry price before the first mark), net of commissions."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for trade in trades:
        if (trade.signal.strategy_id, trade.plan.strategy_version) != key:
            continue
        currency = trade.instrument.quote_currency
        totals[currency] += trade.realized_pnl  # the cash so far
        held = trade.open_quantity
        if held:
            mark = price(trade.instrument.id)
            at = trade.entry_value / trade.entered if mark is None else mark
            totals[currency] += (held if trade.side is OrderSide.BUY else -held) * at
    return dict(totals)


@dataclass(slots=True)
class PaperRecord:
    """One strategy version's paper record: what was stored before this start (counts,
    realized P&L by currency, the equity curve) and what happened since; ``last`` is the
    record as last written (the stored one before the first update)."""

    equity: PaperEquity
    stored: dict[str, Any] = field(default_factory=dict)
    realized: dict[str, Decimal] = field(default_factory=dict)  # by currency, stored included
    signals: int = 0
    settled: int = 0
    last: dict[str, Any] = field(default_factory=dict)
    missing: MissingFxRate | None = None  # the last update's, when it could not value

    @classmethod
    def resume(
        cls, capital: Decimal, base_currency: str, step_ns: int, stored: Mapping[str, Any]
    ) -> PaperRecord:
        """The record stored (``metrics`` of the version's paper performance) continued.
        A record from before P&L was kept by currency has its realized P&L taken as in
        the base currency; one from before the Sharpe was over daily returns has its
        Sharpe not available (:data:`OLD_SHARPE`)."""
        stored = dict(stored)
        if stored.get("sharpe") is not None and "sharpe_daily_returns" not in stored:
            stored["sharpe"], stored["sharpe_unavailable"] = None, OLD_SHARPE
        by_currency = stored.get("realized_pnl_by_currency")
        if isinstance(by_currency, dict):
            realized = {str(c): Decimal(str(v)) for c, v in by_currency.items()}
        else:
            earlier = Decimal(str(stored.get("realized_pnl", "0")))
            realized = {base_currency: earlier} if earlier else {}
        equity = PaperEquity.resume(capital, step_ns, stored)
        return cls(equity, stored, realized, last=dict(stored))

    def settle(self, currency: str, pnl: Decimal) -> None:
        """A trade of this version settled with ``pnl`` in ``currency``."""
        self.settled += 1
        self.realized[currency] = self.realized.get(currency, Decimal(0)) + pnl

    def update(
        self,
        at_ns: int,
        open_trades: Mapping[str, Decimal],
        base: str,
        rates: FxRates,
        position: Mapping[InstrumentId, Decimal],
    ) -> dict[str, Any]:
        """The record's metrics now, with a point of the equity curve (the capital, the
        realized P&L and the open trades', in ``base``). When a P&L's currency has no
        rate to ``base`` (:attr:`missing` says which), only what needs no conversion
        moves: the base-currency figures and the curve are the last valued ones, marked
        ``unvalued_since`` (the first such update's time) and ``unvalued_pair``."""
        stored = self.stored
        unconverted = {
            "realized_pnl_by_currency": {c: str(v) for c, v in sorted(self.realized.items())},
            "signals": int(stored.get("signals", 0)) + self.signals,
            "trades_settled": int(stored.get("trades_settled", 0)) + self.settled,
            "position": {str(k): str(v) for k, v in position.items() if v != 0},
        }
        try:
            realized = in_base(self.realized, base, rates)
            unrealized = in_base(open_trades, base, rates)
        except MissingFxRate as missing:
            self.missing = missing
            last = {k: v for k, v in self.last.items() if k not in UNCONVERTED + UNVALUED}
            since = self.last.get("unvalued_since") or to_datetime(at_ns).isoformat()
            pair = f"{missing.from_currency}/{missing.to_currency}"
            metrics = {**last, **unconverted, "unvalued_since": since, "unvalued_pair": pair}
        else:
            self.missing = None
            self.equity.add(at_ns, self.equity.capital + realized + unrealized)
            metrics = {
                "realized_pnl": str(realized),
                **unconverted,
                "currency": base,
                **self.equity.metrics(),
            }
        self.last = metrics
        return metrics
