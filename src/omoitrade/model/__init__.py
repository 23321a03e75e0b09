"""The trading domain: instruments, market data, orders, trades, positions, portfolios,
signals, strategies, risk limits, bots and tasks, their lifecycles and events.

Pure: no I/O. Persistence maps these objects in ``omoitrade.store``.
"""

from omoitrade.model.accounts import Organization, User
from omoitrade.model.agents import TradingAgent, TradingTask
from omoitrade.model.enums import (
    AgentRole,
    AgentStatus,
    BreachAction,
    InstrumentType,
    LimitType,
    OrderSide,
    OrderStatus,
    OrderType,
    PositionSide,
    RiskProfile,
    SignalStatus,
    SignalType,
    StrategyStatus,
    StrategyType,
    TaskCategory,
    TaskStatus,
    Timeframe,
    TimeInForce,
    TradePhase,
    UserRole,
)
from omoitrade.model.identifiers import (
    AgentId,
    BarId,
    ClientOrderId,
    EventId,
    InstrumentId,
    OrderId,
    OrganizationId,
    PortfolioId,
    PositionId,
    RiskLimitId,
    SignalId,
    StrategyId,
    TaskId,
    TradeId,
    UserId,
    VenueOrderId,
    VenueTradeId,
)
from omoitrade.model.instruments import Instrument
from omoitrade.model.market_data import Bar, BookLevel, OrderBook, Quote, TradeTick
from omoitrade.model.orders import Order, OrderInvalid, check_order, order_violations
from omoitrade.model.portfolios import Portfolio
from omoitrade.model.positions import Position
from omoitrade.model.risk import RiskLimit
from omoitrade.model.signals import Signal
from omoitrade.model.strategies import Strategy
from omoitrade.model.trades import Trade

__all__ = [
    "AgentId",
    "AgentRole",
    "AgentStatus",
    "Bar",
    "BarId",
    "BookLevel",
    "BreachAction",
    "ClientOrderId",
    "EventId",
    "Instrument",
    "InstrumentId",
    "InstrumentType",
    "LimitType",
    "Order",
    "OrderBook",
    "OrderId",
    "OrderInvalid",
    "OrderSide",
    "OrderStatus",
    "OrderType",
    "Organization",
    "OrganizationId",
    "Portfolio",
    "PortfolioId",
    "Position",
    "PositionId",
    "PositionSide",
    "Quote",
    "RiskLimit",
    "RiskLimitId",
    "RiskProfile",
    "Signal",
    "SignalId",
    "SignalStatus",
    "SignalType",
    "Strategy",
    "StrategyId",
    "StrategyStatus",
    "StrategyType",
    "TaskCategory",
    "TaskId",
    "TaskStatus",
    "TimeInForce",
    "Timeframe",
    "Trade",
    "TradeId",
    "TradePhase",
    "TradeTick",
    "TradingAgent",
    "TradingTask",
    "User",
    "UserId",
    "UserRole",
    "VenueOrderId",
    "VenueTradeId",
    "check_order",
    "order_violations",
]
