"""What the signal pipeline needs from the rest of the system, as protocols it defines.

The runtime implements them over the order manager, the risk engine, the ledger and
the market data caches; tests may implement them over the same real components.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Protocol

from omoitrade.model.enums import OrderSide, OrderType
from omoitrade.model.identifiers import (
    ClientOrderId,
    InstrumentId,
    PortfolioId,
    SignalId,
    StrategyId,
)
from omoitrade.model.orders import Order


class OrderPort(Protocol):
    """Places, changes and cancels orders through the order manager (risk checks apply)."""

    def place(
        self,
        portfolio_id: PortfolioId,
        instrument_id: InstrumentId,
        client_order_id: ClientOrderId,
        side: OrderSide,
        order_type: OrderType,
        quantity: Decimal,
        *,
        price: Decimal | None = None,
        stop_price: Decimal | None = None,
        signal_id: SignalId | None = None,
        strategy_id: StrategyId | None = None,
        oco_group: str | None = None,
    ) -> Order:
        """Submit an order; ``oco_group`` makes it one-cancels-other at the venue with
        the orders sharing the group (a stop loss and a take profit)."""
        ...

    def amend(
        self,
        portfolio_id: PortfolioId,
        client_order_id: ClientOrderId,
        *,
        quantity: Decimal | None = None,
        stop_price: Decimal | None = None,
    ) -> None: ...

    def cancel(
        self, portfolio_id: PortfolioId, client_order_id: ClientOrderId, reason: str
    ) -> None: ...


class RiskPreview(Protocol):
    """The risk engine's verdict on an order that is not sent (nothing is counted):
    None when it would pass, else ``(reason code, reason)``."""

    def __call__(self, order: Order, strategy_id: StrategyId | None) -> tuple[str, str] | None: ...


class MarketView(Protocol):
    """Prices and equity as the trading node knows them now."""

    def price(self, instrument_id: InstrumentId) -> Decimal | None:
        """The reference price (last or mid), None before the first quote."""
        ...

    def equity(self, portfolio_id: PortfolioId) -> Decimal | None: ...

    def limit_usage(self, portfolio_id: PortfolioId) -> Sequence[tuple[str, float]]:
        """Each risk limit's name and the fraction of it in use (0.8 = 80%)."""
        ...


class StrategyControl(Protocol):
    def pause(self, strategy_id: StrategyId, reason: str) -> None: ...
