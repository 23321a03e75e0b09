"""The lifecycles of orders, signals, strategies and trades, as transition tables.

The tables are exactly the design's state diagrams; entities move only
through them (:meth:`TransitionTable.next_state` raises ``IllegalTransition``).
"""

from __future__ import annotations

from enum import StrEnum

from omoitrade.core.fsm import TransitionTable
from omoitrade.model.enums import OrderStatus, SignalStatus, StrategyStatus, TradePhase


class OrderTrigger(StrEnum):
    SUBMIT = "SUBMIT"
    AMEND = "AMEND"
    PARTIAL_FILL = "PARTIAL_FILL"
    FILL = "FILL"
    CANCEL = "CANCEL"
    REJECT = "REJECT"


class SignalTrigger(StrEnum):
    VALIDATE = "VALIDATE"
    REJECT = "REJECT"
    EXECUTE = "EXECUTE"
    EXPIRE = "EXPIRE"


class StrategyTrigger(StrEnum):
    START_BACKTEST = "START_BACKTEST"
    START_PAPER = "START_PAPER"
    GO_LIVE = "GO_LIVE"
    PAUSE = "PAUSE"
    RESUME = "RESUME"
    STOP = "STOP"


class PhaseTrigger(StrEnum):
    SIGNAL_ACCEPTED = "SIGNAL_ACCEPTED"  # signal -> validation
    RISK_APPROVED = "RISK_APPROVED"  # validation -> execution
    ORDER_FILLED = "ORDER_FILLED"  # execution -> management
    EXIT_TRIGGERED = "EXIT_TRIGGERED"  # management -> settlement
    POSITION_CLOSED = "POSITION_CLOSED"  # settlement -> signal
    ABANDONED = "ABANDONED"  # validation/execution -> signal: rejected, or no fill at all


_O, _OT = OrderStatus, OrderTrigger
ORDER_LIFECYCLE: TransitionTable[OrderStatus, OrderTrigger] = TransitionTable(
    "Order",
    {
        (_O.PENDING, _OT.SUBMIT): _O.SUBMITTED,
        (_O.PENDING, _OT.AMEND): _O.PENDING,
        (_O.PENDING, _OT.CANCEL): _O.CANCELLED,
        (_O.PENDING, _OT.REJECT): _O.REJECTED,
        (_O.SUBMITTED, _OT.AMEND): _O.SUBMITTED,
        (_O.SUBMITTED, _OT.PARTIAL_FILL): _O.PARTIAL,
        (_O.SUBMITTED, _OT.FILL): _O.FILLED,
        (_O.SUBMITTED, _OT.CANCEL): _O.CANCELLED,
        (_O.SUBMITTED, _OT.REJECT): _O.REJECTED,
        (_O.PARTIAL, _OT.AMEND): _O.PARTIAL,
        (_O.PARTIAL, _OT.PARTIAL_FILL): _O.PARTIAL,
        (_O.PARTIAL, _OT.FILL): _O.FILLED,
        (_O.PARTIAL, _OT.CANCEL): _O.CANCELLED,
    },
    initial=_O.PENDING,
    states=OrderStatus,
)

_S, _ST = SignalStatus, SignalTrigger
SIGNAL_LIFECYCLE: TransitionTable[SignalStatus, SignalTrigger] = TransitionTable(
    "Signal",
    {
        (_S.PENDING, _ST.VALIDATE): _S.VALIDATED,
        (_S.PENDING, _ST.REJECT): _S.REJECTED,
        (_S.PENDING, _ST.EXPIRE): _S.EXPIRED,
        (_S.VALIDATED, _ST.EXECUTE): _S.EXECUTED,
        (_S.VALIDATED, _ST.REJECT): _S.REJECTED,
    },
    initial=_S.PENDING,
    states=SignalStatus,
)

_G, _GT = StrategyStatus, StrategyTrigger
STRATEGY_LIFECYCLE: TransitionTable[StrategyStatus, StrategyTrigger] = TransitionTable(
    "Strategy",
    {
        (_G.DRAFT, _GT.START_BACKTEST): _G.BACKTESTING,
        (_G.BACKTESTING, _GT.START_PAPER): _G.PAPER,
        (_G.PAPER, _GT.GO_LIVE): _G.LIVE,
        (_G.LIVE, _GT.PAUSE): _G.PAUSED,
        (_G.PAUSED, _GT.RESUME): _G.LIVE,
        (_G.LIVE, _GT.STOP): _G.STOPPED,
        (_G.PAUSED, _GT.STOP): _G.STOPPED,
    },
    initial=_G.DRAFT,
    states=StrategyStatus,
)

_P, _PT = TradePhase, PhaseTrigger
TRADE_PHASES: TransitionTable[TradePhase, PhaseTrigger] = TransitionTable(
    "TradePhase",
    {
        (_P.SIGNAL, _PT.SIGNAL_ACCEPTED): _P.VALIDATION,
        (_P.VALIDATION, _PT.RISK_APPROVED): _P.EXECUTION,
        (_P.VALIDATION, _PT.ABANDONED): _P.SIGNAL,
        (_P.EXECUTION, _PT.ORDER_FILLED): _P.MANAGEMENT,
        (_P.EXECUTION, _PT.ABANDONED): _P.SIGNAL,
        (_P.MANAGEMENT, _PT.EXIT_TRIGGERED): _P.SETTLEMENT,
        (_P.SETTLEMENT, _PT.POSITION_CLOSED): _P.SIGNAL,
    },
    initial=_P.SIGNAL,
    states=TradePhase,
)
