"""What the risk engine needs to know about the world, as a protocol the runtime implements.

The risk layer may not import the portfolio ledger or the order manager, so the runtime
adapts them to :class:`RiskView`. :class:`InMemoryRiskView` is a plain implementation
for tests, backtests and tools.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Protocol

from omoitrade.model.identifiers import InstrumentId, OrderId, PortfolioId
from omoitrade.model.money import ZERO
from omoitrade.model.orders import Order


class RiskView(Protocol):
    """Read-only answers about positions, working orders, balances and prices.

    Every method must answer from current state without blocking; ``None`` means
    "not known", which makes the checks that need the value reject (fail closed).
    """

    def has_portfolio(self, portfolio_id: PortfolioId) -> bool:
        """Whether the portfolio exists and its account is known."""
        ...

    def positions(self, portfolio_id: PortfolioId) -> Mapping[InstrumentId, Decimal]:
        """Signed position quantity per instrument (long > 0, short < 0; flat may be absent)."""
        ...

    def working_orders(self, portfolio_id: PortfolioId) -> Sequence[Order]:
        """The portfolio's open orders (their ``leaves_quantity`` is still to be filled)."""
        ...

    def reference_price(self, instrument_id: InstrumentId) -> Decimal | None:
        """The last trade price or the mid quote; None before the first one."""
        ...

    def available_balance(self, portfolio_id: PortfolioId) -> Decimal | None:
        """Cash (or margin) free to open positions, before working orders are reserved."""
        ...

    def equity(self, portfolio_id: PortfolioId) -> Decimal | None:
        """Marked-to-market equity (cash plus positions at current prices)."""
        ...


class InMemoryRiskView:
    """A :class:`RiskView` held in dictionaries; set what a scenario needs."""

    def __init__(self) -> None:
        self._portfolios: set[PortfolioId] = set()
        self._positions: dict[PortfolioId, dict[InstrumentId, Decimal]] = {}
        self._orders: dict[PortfolioId, dict[OrderId, Order]] = {}
        self._prices: dict[InstrumentId, Decimal] = {}
        self._balances: dict[PortfolioId, Decimal] = {}
        self._equity: dict[PortfolioId, Decimal] = {}

    # -- setting up --------------------------------------------------------------------------
    def add_portfolio(
        self,
        portfolio_id: PortfolioId,
        balance: Decimal | None = None,
        equity: Decimal | None = None,
    ) -> None:
        self._portfolios.add(portfolio_id)
        if balance is not None:
            self._balances[portfolio_id] = balance
        if equity is not None:
            self._equity[portfolio_id] = equity

    def set_position(
        self, portfolio_id: PortfolioId, instrument_id: InstrumentId, quantity: Decimal
    ) -> None:
        self._positions.setdefault(portfolio_id, {})[instrument_id] = quantity

    def set_price(self, instrument_id: InstrumentId, price: Decimal) -> None:
        self._prices[instrument_id] = price

    def set_balance(self, portfolio_id: PortfolioId, balance: Decimal) -> None:
        self._balances[portfolio_id] = balance

    def set_equity(self, portfolio_id: PortfolioId, equity: Decimal) -> None:
        self._equity[portfolio_id] = equity

    def forget(
        self,
        price_of: InstrumentId | None = None,
        balance_of: PortfolioId | None = None,
        equity_of: PortfolioId | None = None,
    ) -> None:
        """Make a price, balance or equity unknown again."""
        if price_of is not None:
            self._prices.pop(price_of, None)
        if balance_of is not None:
            self._balances.pop(balance_of, None)
        if equity_of is not None:
            self._equity.pop(equity_of, None)

    def add_orders(self, orders: Iterable[Order]) -> None:
        for order in orders:
            self._orders.setdefault(order.portfolio_id, {})[order.id] = order

    def remove_order(self, order: Order) -> None:
        self._orders.get(order.portfolio_id, {}).pop(order.id, None)

    # -- RiskView ----------------------------------------------------------------------------
    def has_portfolio(self, portfolio_id: PortfolioId) -> bool:
        return portfolio_id in self._portfolios

    def positions(self, portfolio_id: PortfolioId) -> Mapping[InstrumentId, Decimal]:
        return dict(self._positions.get(portfolio_id, {}))

    def working_orders(self, portfolio_id: PortfolioId) -> Sequence[Order]:
        return [o for o in self._orders.get(portfolio_id, {}).values() if o.is_open]

    def reference_price(self, instrument_id: InstrumentId) -> Decimal | None:
        return self._prices.get(instrument_id)

    def available_balance(self, portfolio_id: PortfolioId) -> Decimal | None:
        return self._balances.get(portfolio_id)

    def equity(self, portfolio_id: PortfolioId) -> Decimal | None:
        return self._equity.get(portfolio_id)


def position_of(view: RiskView, portfolio_id: PortfolioId, instrument_id: InstrumentId) -> Decimal:
    """The signed position in one instrument (zero when flat or absent)."""
    return view.positions(portfolio_id).get(instrument_id, ZERO)
