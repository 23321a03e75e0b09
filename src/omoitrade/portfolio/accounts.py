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

    __slots__ = ("balances", "base_currency", "books", "pnl", "portfolio_id")

    def __init__(self, portfolio_id: PortfolioId, base_currency: str) -> None:
        self.portfolio_id = portfolio_id
        self.base_currency = base_currency
        self.balances: dict[str, CurrencyBalance] = {}
        self.books: dict[InstrumentId, PositionBook] = {}
        self.pnl: list[RealizedPnl] = []

    def balance(self, currency: str) -> CurrencyBalance:
        balance = self.balances.get(currency)
        if balance is None:
            balance = self.balances[currency] = CurrencyBalance(currency)
        return balance
