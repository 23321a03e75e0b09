"""The enumerations of the trading domain, with the exact values of the specification."""

from __future__ import annotations

from enum import StrEnum


class InstrumentType(StrEnum):
    SPOT = "SPOT"
    FUTURES = "FUTURES"
    OPTIONS = "OPTIONS"
    PERPETUAL = "PERPETUAL"
    FOREX = "FOREX"
    EQUITY = "EQUITY"


class Timeframe(StrEnum):
    """Bar lengths; ``nanos`` gives the length in nanoseconds."""

    M1 = "1m"
    M5 = "5m"
    M15 = "15m"
    H1 = "1h"
    H4 = "4h"
    D1 = "1d"

    @property
    def nanos(self) -> int:
        return _TIMEFRAME_MINUTES[self] * 60 * 1_000_000_000


_TIMEFRAME_MINUTES = {
    Timeframe.M1: 1,
    Timeframe.M5: 5,
    Timeframe.M15: 15,
    Timeframe.H1: 60,
    Timeframe.H4: 240,
    Timeframe.D1: 1440,
}


class StrategyType(StrEnum):
    MOMENTUM = "MOMENTUM"
    MEAN_REVERSION = "MEAN_REVERSION"
    ARBITRAGE = "ARBITRAGE"
    MARKET_MAKING = "MARKET_MAKING"
    TREND_FOLLOWING = "TREND_FOLLOWING"
    CUSTOM = "CUSTOM"


class StrategyStatus(StrEnum):
    DRAFT = "DRAFT"
    BACKTESTING = "BACKTESTING"
    PAPER = "PAPER"
    LIVE = "LIVE"
    PAUSED = "PAUSED"
    STOPPED = "STOPPED"


class TradingMode(StrEnum):
    """Where a strategy version trades: its results are kept per mode."""

    BACKTEST = "BACKTEST"
    PAPER = "PAPER"
    LIVE = "LIVE"


class BacktestStatus(StrEnum):
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


class SignalType(StrEnum):
    BUY = "BUY"
    SELL = "SELL"
    HOLD = "HOLD"
    CLOSE = "CLOSE"


class SignalStatus(StrEnum):
    PENDING = "PENDING"
    VALIDATED = "VALIDATED"
    REJECTED = "REJECTED"
    EXECUTED = "EXECUTED"
    EXPIRED = "EXPIRED"


class OrderType(StrEnum):
    MARKET = "MARKET"
    LIMIT = "LIMIT"
    STOP = "STOP"
    STOP_LIMIT = "STOP_LIMIT"


class OrderSide(StrEnum):
    BUY = "BUY"
    SELL = "SELL"


class TimeInForce(StrEnum):
    GTC = "GTC"
    IOC = "IOC"
    FOK = "FOK"
    DAY = "DAY"


class OrderStatus(StrEnum):
    PENDING = "PENDING"
    SUBMITTED = "SUBMITTED"
    PARTIAL = "PARTIAL"
    FILLED = "FILLED"
    CANCELLED = "CANCELLED"
    REJECTED = "REJECTED"


class PositionSide(StrEnum):
    LONG = "LONG"
    SHORT = "SHORT"
    FLAT = "FLAT"


class RiskProfile(StrEnum):
    CONSERVATIVE = "CONSERVATIVE"
    MODERATE = "MODERATE"
    AGGRESSIVE = "AGGRESSIVE"


class LimitType(StrEnum):
    MAX_POSITION = "MAX_POSITION"
    MAX_NOTIONAL = "MAX_NOTIONAL"
    MAX_GROSS_EXPOSURE = "MAX_GROSS_EXPOSURE"
    MAX_DRAWDOWN = "MAX_DRAWDOWN"
    MAX_DAILY_LOSS = "MAX_DAILY_LOSS"
    MAX_ORDER_SIZE = "MAX_ORDER_SIZE"
    MAX_ORDER_RATE = "MAX_ORDER_RATE"


class BreachAction(StrEnum):
    ALERT = "ALERT"
    REDUCE = "REDUCE"
    HALT = "HALT"


class AgentRole(StrEnum):
    EXECUTOR = "EXECUTOR"
    ANALYZER = "ANALYZER"
    RISK_MONITOR = "RISK_MONITOR"
    GUARDIAN = "GUARDIAN"


class AgentStatus(StrEnum):
    """Where a trading bot is in its life: registered, working, unhealthy or gone."""

    IDLE = "IDLE"
    RUNNING = "RUNNING"
    DEGRADED = "DEGRADED"
    OFFLINE = "OFFLINE"
    TERMINATED = "TERMINATED"


class TaskCategory(StrEnum):
    SIGNAL_ANALYSIS = "SIGNAL_ANALYSIS"
    ORDER_EXECUTION = "ORDER_EXECUTION"
    RISK_CHECK = "RISK_CHECK"
    REBALANCE = "REBALANCE"


class TaskStatus(StrEnum):
    PENDING = "PENDING"
    ASSIGNED = "ASSIGNED"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


class UserRole(StrEnum):
    """What a person may do; enforced at the API edge."""

    ADMIN = "ADMIN"
    TRADER = "TRADER"
    RISK_MANAGER = "RISK_MANAGER"
    VIEWER = "VIEWER"


class TradePhase(StrEnum):
    """The five phases a trade passes through, from idea to settlement (the spec's phase ids)."""

    SIGNAL = "signal"
    VALIDATION = "validation"
    EXECUTION = "execution"
    MANAGEMENT = "management"
    SETTLEMENT = "settlement"


class ExecType(StrEnum):
    """What an execution report says happened to an order at its venue."""

    NEW = "NEW"  # accepted and working (resting, or waiting for its stop)
    TRIGGERED = "TRIGGERED"  # a stop was reached; the order is now live
    TRADE = "TRADE"  # a fill
    REPLACED = "REPLACED"  # amended
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"  # DAY at session end, or IOC/FOK remainder
    REJECTED = "REJECTED"
    STATUS = "STATUS"  # answer to a status query, nothing changed


class DeliveryFailure(StrEnum):
    """Why a command did not get a clear answer from its venue, and what that implies."""

    TRANSIENT = "TRANSIENT"  # not received (refused connection, 5xx, rate limit): resend
    AMBIGUOUS = "AMBIGUOUS"  # sent, no answer (timeout, disconnect): ask before resending
    PERMANENT = "PERMANENT"  # refused for good (bad credentials, malformed): never resend


class Liquidity(StrEnum):
    """Whether a fill added liquidity to the book (maker) or took it (taker)."""

    MAKER = "MAKER"
    TAKER = "TAKER"
