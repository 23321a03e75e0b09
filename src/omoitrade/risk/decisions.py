"""Stable rejection reason codes, the verdict of a check and the typed errors of the risk layer."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from omoitrade.core.errors import Conflict, OmoiError


class ReasonCode(StrEnum):
    """Why the risk engine refused an order; the values are stable (clients match on them)."""

    ORDER_SIZE = "risk.order_size"
    NOTIONAL = "risk.notional"
    PRICE_COLLAR = "risk.price_collar"
    POSITION_LIMIT = "risk.position_limit"
    GROSS_EXPOSURE = "risk.gross_exposure"
    NET_EXPOSURE = "risk.net_exposure"
    BUYING_POWER = "risk.buying_power"
    MAX_OPEN_ORDERS = "risk.max_open_orders"
    ORDER_RATE = "risk.order_rate"
    DAILY_LOSS = "risk.daily_loss"
    DRAWDOWN = "risk.drawdown"
    RESTRICTED_INSTRUMENT = "risk.restricted_instrument"
    DUPLICATE_ORDER = "risk.duplicate_order"
    TRADING_HALTED = "risk.trading_halted"
    REDUCE_ONLY = "risk.reduce_only"
    STRATEGY_THROTTLED = "risk.strategy_throttled"
    # fail-closed: the check could not be evaluated
    NO_REFERENCE_PRICE = "risk.no_reference_price"
    UNKNOWN_ACCOUNT = "risk.unknown_account"
    MISSING_LIMIT_DATA = "risk.missing_limit_data"
    CHECK_FAILED = "risk.check_failed"


@dataclass(frozen=True, slots=True)
class Rejection:
    """One broken rule: its stable ``code`` and a human ``message``."""

    code: ReasonCode
    message: str

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


@dataclass(frozen=True, slots=True)
class RiskDecision:
    """The verdict on an order, amend or cancel: approved exactly when nothing was broken."""

    rejections: tuple[Rejection, ...] = ()

    @property
    def approved(self) -> bool:
        return not self.rejections

    @property
    def codes(self) -> tuple[ReasonCode, ...]:
        return tuple(rejection.code for rejection in self.rejections)

    @property
    def reason(self) -> str | None:
        """The first rejection as ``"code: message"`` (for ``Order.reject``), None if approved."""
        return str(self.rejections[0]) if self.rejections else None


APPROVED = RiskDecision()


class RiskPermissionDenied(OmoiError):
    """A user tried a risk control their role does not allow (e.g. lifting the kill switch)."""

    code = "risk-permission-denied"


class KillSwitchEngagedError(Conflict):
    """Trading cannot be resumed by a state change while the kill switch is engaged."""

    code = "kill-switch-engaged"


class RiskDataMissing(OmoiError):
    """An analytic (exposure, VaR) lacks the data it needs: a price or a return series."""

    code = "risk-data-missing"
