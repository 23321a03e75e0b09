"""A portfolio's state in the ledger and the records it keeps: snapshots and realized P&L."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from omoitrade.model.identifiers import InstrumentId, PortfolioId, StrategyId, TradeId
from omoitrade.portfolio.books import CurrencyBalance, PositionBook


@dataclass(frozen=True, slots=True)
class RealizedPnl:
    """The P&L one fill realized (by average cost) and the commission it paid.

    Amounts are in ``currency``, the instrument's quote currency.
    """

    portfolio_id: PortfolioId
    instrument_id: InstrumentId
    strategy_id: StrategyId | None
    trade_id: TradeId
    occurred_at: datetime
    currency: str
    realized_pnl: Decimal
    commission: Decimal

    @property
    def net_pnl(self) -> Decimal:
        return self.realized_pnl - self.commission


# the fields of a RealizedPnl, in order
_Noted = tuple[
    PortfolioId, InstrumentId, StrategyId | None, TradeId, datetime, str, Decimal, Decimal
]


@dataclass(frozen=True, slots=True)
class PortfolioSnapshot:
    """A portfolio's totals in its base currency at one moment."""

    portfolio_id: PortfolioId
    base_currency: str
    cash: Decimal
    equity: Decimal
    unrealized_pnl: Decimal
    realized_pnl: Decimal
    commission: Decimal
    margin_used: Decimal
    margin_available: Decimal


class PortfolioAccount:
    """One portfolio in the ledger: its balances per currency and its position books."""

    __slots__ = (
        "_noted",
        "_records",
        "balances",
        "base_currency",
        "books",
        "portfolio_id",
        "sole_balance",
    )

    def __init__(self, portfolio_id: PortfolioId, base_currency: str) -> None:
        self.portfolio_id = portfolio_id
        self.base_currency = base_currency
        self.balances: dict[str, CurrencyBalance] = {}
        self.books: dict[InstrumentId, PositionBook] = {}
        self._records: list[RealizedPnl] = []
        self._noted: list[_Noted] = []  # fields of records not built yet, in order
        # the base-currency balance while it is the only one: totals need no conversion
        self.sole_balance: CurrencyBalance | None = None

    @property
    def pnl(self) -> list[RealizedPnl]:
        """The realized P&L record of every applied fill, in order."""
        noted = self._noted
        if noted:
            self._records.extend([RealizedPnl(*fields) for fields in noted])
            noted.clear()
        return self._records

    def note_pnl(self, fields: _Noted) -> None:
        """Record a fill's :class:`RealizedPnl` given as its fields, in order.

        The record is built when :attr:`pnl` is read: fills come far more often
        than reports, and a tuple costs a tenth of a frozen dataclass.
        """
        self._noted.append(fields)

    def balance(self, currency: str) -> CurrencyBalance:
        balance = self.balances.get(currency)
        if balance is None:
            balances = self.balances
            balance = balances[currency] = CurrencyBalance(currency)
            only_base = len(balances) == 1 and currency == self.base_currency
            self.sole_balance = balance if only_base else None
        return balance
