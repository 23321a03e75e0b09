"""Risk management: pre-trade checks, trading states, limits, kill switch, throttles and VaR.

The engine sees the world through :class:`RiskView`, which the runtime implements by
adapting the portfolio ledger and the order manager. See docs/risk.md.
"""

from omoitrade.model.risk import EquityMarks
from omoitrade.risk.config import RiskConfig
from omoitrade.risk.decisions import (
    APPROVED,
    KillSwitchEngagedError,
    ReasonCode,
    Rejection,
    RiskDataMissing,
    RiskDecision,
    RiskPermissionDenied,
)
from omoitrade.risk.engine import RiskEngine
from omoitrade.risk.kill_switch import KillSwitchStatus
from omoitrade.risk.state import RESTRICT_ROLES, RESUME_ROLES, TradingState
from omoitrade.risk.throttle import ExecutionThrottle
from omoitrade.risk.var import (
    ExposureReport,
    InstrumentExposure,
    VarMethod,
    VarReport,
    historical_var,
    parametric_var,
)
from omoitrade.risk.view import InMemoryRiskView, RiskView

__all__ = [
    "APPROVED",
    "RESTRICT_ROLES",
    "RESUME_ROLES",
    "EquityMarks",
    "ExecutionThrottle",
    "ExposureReport",
    "InMemoryRiskView",
    "InstrumentExposure",
    "KillSwitchEngagedError",
    "KillSwitchStatus",
    "ReasonCode",
    "Rejection",
    "RiskConfig",
    "RiskDataMissing",
    "RiskDecision",
    "RiskEngine",
    "RiskPermissionDenied",
    "RiskView",
    "TradingState",
    "VarMethod",
    "VarReport",
    "historical_var",
    "parametric_var",
]
