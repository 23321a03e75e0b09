"""Valid domain objects with sensible defaults; tests override only what they care about."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from omoitrade.core.approvals import ApprovalId, ApprovalRequest
from omoitrade.model import (
    AgentId,
    AgentRole,
    Bar,
    BarId,
    BreachAction,
    ClientOrderId,
    Instrument,
    InstrumentType,
    LimitType,
    Order,
    OrderId,
    OrderSide,
    OrderType,
    Organization,
    OrganizationId,
    Portfolio,
    PortfolioId,
    Position,
    PositionId,
    PositionSide,
    RiskLimit,
    RiskLimitId,
    Signal,
    SignalId,
    SignalType,
    Strategy,
    StrategyId,
    StrategyType,
    TaskCategory,
    TaskId,
    Timeframe,
    Trade,
    TradeId,
    TradingAgent,
    TradingTask,
    User,
    UserId,
    UserRole,
    VenueTradeId,
)
from omoitrade.model.enums import BacktestStatus, TradingMode
from omoitrade.model.identifiers import BacktestRunId, StrategyPerformanceId, StrategyVersionId
from omoitrade.model.strategy_versions import BacktestRun, StrategyPerformance, StrategyVersion

T0 = datetime(2024, 1, 2, 9, 30, tzinfo=UTC)


def make_instrument(**overrides: Any) -> Instrument:
    """BTC/USD on the simulated exchange: tick 0.01, lot 0.0001."""
    fields: dict[str, Any] = {
        "instrument_type": InstrumentType.SPOT,
        "base_currency": "BTC",
        "quote_currency": "USD",
        "tick_size": Decimal("0.01"),
        "lot_size": Decimal("0.0001"),
        "min_quantity": Decimal("0.0001"),
        "metadata": {"venue_symbol": "BTCUSD"},
    }
    exchange = overrides.pop("exchange", "SIM")
    symbol = overrides.pop("symbol", "BTC/USD")
    fields.update(overrides)
    return Instrument.create(exchange, symbol, **fields)


def make_organization(**overrides: Any) -> Organization:
    fields: dict[str, Any] = {
        "id": OrganizationId.new(),
        "name": "Acme Capital",
        "slug": "acme-capital",
        "created_at": T0,
    }
    return Organization(**(fields | overrides))


def make_user(organization: Organization, **overrides: Any) -> User:
    fields: dict[str, Any] = {
        "id": UserId.new(),
        "organization_id": organization.id,
        "email": "trader@acme.example",
        "display_name": "A. Trader",
        "role": UserRole.TRADER,
        "created_at": T0,
        "password_hash": "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
    }
    return User(**(fields | overrides))


def make_portfolio(organization: Organization, **overrides: Any) -> Portfolio:
    """A USD portfolio of 100,000.00 connected to the simulated exchange."""
    capital = overrides.pop("initial_capital", Decimal("100000.00"))
    fields: dict[str, Any] = {
        "id": PortfolioId.new(),
        "organization_id": organization.id,
        "name": "Main",
        "base_currency": "USD",
        "initial_capital": capital,
        "current_equity": capital,
        "cash": capital,
        "margin_available": capital,
        "created_at": T0,
        "connected_exchanges": ["SIM"],
    }
    return Portfolio(**(fields | overrides))


def make_order(portfolio_id: PortfolioId, instrument: Instrument, **overrides: Any) -> Order:
    """A GTC limit buy of 0.5 at 42000.00."""
    fields: dict[str, Any] = {
        "id": OrderId.new(),
        "portfolio_id": portfolio_id,
        "instrument_id": instrument.id,
        "client_order_id": ClientOrderId.random("c-"),
        "order_type": OrderType.LIMIT,
        "side": OrderSide.BUY,
        "quantity": Decimal("0.5"),
        "price": Decimal("42000.00"),
        "created_at": T0,
    }
    return Order(**(fields | overrides))


def make_trade(order: Order, **overrides: Any) -> Trade:
    fields: dict[str, Any] = {
        "id": TradeId.new(),
        "order_id": order.id,
        "instrument_id": order.instrument_id,
        "side": order.side,
        "execution_price": order.price or Decimal("42000.00"),
        "quantity": order.quantity,
        "exchange_trade_id": VenueTradeId.random("t-"),
        "executed_at": T0,
        "commission": Decimal("0.42"),
        "slippage": Decimal("-0.5"),
    }
    return Trade(**(fields | overrides))


def make_bar(instrument: Instrument, **overrides: Any) -> Bar:
    fields: dict[str, Any] = {
        "id": BarId.new(),
        "instrument_id": instrument.id,
        "timestamp": T0,
        "timeframe": Timeframe.M1,
        "open": Decimal("42000.00"),
        "high": Decimal("42100.50"),
        "low": Decimal("41950.25"),
        "close": Decimal("42050.75"),
        "volume": Decimal("12.3456"),
        "bid": Decimal("42050.50"),
        "ask": Decimal("42051.00"),
    }
    return Bar(**(fields | overrides))


def make_daily_bars(
    instrument: Instrument,
    rows: Iterable[tuple[object, object, object, object]],
    start: datetime = datetime(2024, 1, 1, tzinfo=UTC),
    volume: object = 1000,
) -> list[Bar]:
    """One daily bar per (open, high, low, close) row from ``start`` (text or numbers)."""
    bars = []
    for i, (open_, high, low, close) in enumerate(rows):
        o, h, lo, c = (Decimal(str(price)) for price in (open_, high, low, close))
        day = start + timedelta(days=i)
        bars.append(
            Bar(BarId.new(), instrument.id, day, Timeframe.D1, o, h, lo, c, Decimal(str(volume)))
        )
    return bars


_SMA_FAST = {"sma": {"period": 10}}
_SMA_SLOW = {"sma": {"period": 20}}


def make_strategy(portfolio_id: PortfolioId, **overrides: Any) -> Strategy:
    fields: dict[str, Any] = {
        "id": StrategyId.new(),
        "portfolio_id": portfolio_id,
        "name": "SMA cross",
        "strategy_type": StrategyType.TREND_FOLLOWING,
        "created_at": T0,
        "description": "SMA 10 / SMA 20 crossover, long only",
        "entry_rules": {"all": [{"crosses_above": [_SMA_FAST, _SMA_SLOW]}]},
        "exit_rules": {"any": [{"crosses_below": [_SMA_FAST, _SMA_SLOW]}]},
        "risk_parameters": {"sizing": {"percent_of_equity": 100}, "direction": "long_only"},
        "performance_metrics": {"sharpe": 1.25},
    }
    return Strategy(**(fields | overrides))


def make_signal(strategy_id: StrategyId, instrument: Instrument, **overrides: Any) -> Signal:
    fields: dict[str, Any] = {
        "id": SignalId.new(),
        "strategy_id": strategy_id,
        "instrument_id": instrument.id,
        "signal_type": SignalType.BUY,
        "strength": 0.75,
        "source": "strategy:sma-cross",
        "created_at": T0,
        "entry_price": Decimal("42000.00"),
        "stop_loss": Decimal("41000.00"),
        "take_profit": Decimal("44000.00"),
        "expiry_at": datetime(2024, 1, 2, 9, 35, tzinfo=UTC),
    }
    return Signal(**(fields | overrides))


def make_position(portfolio_id: PortfolioId, instrument: Instrument, **overrides: Any) -> Position:
    fields: dict[str, Any] = {
        "id": PositionId.new(),
        "portfolio_id": portfolio_id,
        "instrument_id": instrument.id,
        "opened_at": T0,
        "side": PositionSide.LONG,
        "quantity": Decimal("0.5"),
        "average_entry_price": Decimal("42000.00"),
        "current_price": Decimal("42100.00"),
        "unrealized_pnl": Decimal("50.00"),
        "realized_pnl": Decimal("12.34"),
        "margin_used": Decimal("0"),
    }
    return Position(**(fields | overrides))


def make_risk_limit(portfolio_id: PortfolioId, **overrides: Any) -> RiskLimit:
    fields: dict[str, Any] = {
        "id": RiskLimitId.new(),
        "portfolio_id": portfolio_id,
        "limit_type": LimitType.MAX_DAILY_LOSS,
        "limit_value": Decimal("2500.00"),
        "action_on_breach": BreachAction.HALT,
        "created_at": T0,
    }
    return RiskLimit(**(fields | overrides))


def make_agent(**overrides: Any) -> TradingAgent:
    fields: dict[str, Any] = {
        "id": AgentId.new(),
        "name": "executor-1",
        "agent_role": AgentRole.EXECUTOR,
        "registered_at": T0,
        "trading_permissions": {"can_trade": True, "max_order_size": "1.5"},
    }
    return TradingAgent(**(fields | overrides))


def make_task(**overrides: Any) -> TradingTask:
    fields: dict[str, Any] = {
        "id": TaskId.new(),
        "task_category": TaskCategory.ORDER_EXECUTION,
        "created_at": T0,
        "priority": 5,
        "payload": {"note": "rebalance to target"},
    }
    return TradingTask(**(fields | overrides))


def make_strategy_version(strategy: Strategy, **overrides: Any) -> StrategyVersion:
    document = {
        "name": strategy.name,
        "entry_rules": strategy.entry_rules,
        "exit_rules": strategy.exit_rules,
        "risk_parameters": strategy.risk_parameters,
    }
    fields: dict[str, Any] = {
        "id": StrategyVersionId.new(),
        "strategy_id": strategy.id,
        "version": 2,
        "document": document,
        "content_hash": "0" * 64,
        "author": "quant@example.com",
        "created_at": T0,
        "change_note": "wider stop",
        "diff": [{"op": "replace", "path": "risk_parameters.stop_loss", "old": 1, "new": 2}],
        "restored_from": 1,
    }
    return StrategyVersion(**(fields | overrides))


def make_backtest_run(strategy: Strategy, **overrides: Any) -> BacktestRun:
    fields: dict[str, Any] = {
        "id": BacktestRunId.new(),
        "strategy_id": strategy.id,
        "strategy_version": strategy.version,
        "started_at": T0,
        "status": BacktestStatus.COMPLETED,
        "parameters": {"data": "btc-1h.parquet", "cash": "100000"},
        "metrics": {"sharpe": 1.4, "max_drawdown": 0.12, "trades": 41},
        "finished_at": T0,
    }
    return BacktestRun(**(fields | overrides))


def make_strategy_performance(strategy: Strategy, **overrides: Any) -> StrategyPerformance:
    fields: dict[str, Any] = {
        "id": StrategyPerformanceId.new(),
        "strategy_id": strategy.id,
        "version": strategy.version,
        "mode": TradingMode.PAPER,
        "started_at": T0,
        "updated_at": T0,
        "metrics": {"sharpe": 1.1, "max_drawdown": 0.08, "days": 15},
    }
    return StrategyPerformance(**(fields | overrides))


def make_approval_request(**overrides: Any) -> ApprovalRequest:
    fields: dict[str, Any] = {
        "id": ApprovalId.new(),
        "gate": "high_value",
        "scope": "portfolio-1",
        "subject_type": "signal",
        "subject_id": "sig-1",
        "requested_action": "execute BUY 2 BTC-USD",
        "facts": {"notional": "84000", "threshold": "50000"},
        "requested_by": "strategy:sma-cross",
        "created_at": T0,
        "expires_at": T0.replace(hour=10),
    }
    return ApprovalRequest(**(fields | overrides))
